"""TOST against a hand computation, its interval's coverage and size at the margin, the
interval-inclusion form, the exclusion sentence, the "learned" bar, and the coverage of the
hierarchical bootstrap on simulated studies of independent replicates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

import ggcam.stats
from ggcam.stats.equivalence import (
    Equivalence,
    Learned,
    excludes,
    exclusion_sentence,
    learned,
    learned_reason,
    tost,
    tost_from_interval,
)
from ggcam.stats.paired import hierarchical_bootstrap_mean_ci

DELTAS = [0.01, 0.03, -0.02, 0.04, 0.02]


def test_tost_hand_case_t_and_df():
    # mean = 0.08/5 = 0.016; squared deviations 36e-6 + 196e-6 + 1296e-6 + 576e-6 + 16e-6
    # = 2120e-6, s² = 2120e-6/4 = 530e-6, se = √(530e-6/5); df = 5 − 1 = 4
    mean, se, df = 0.016, math.sqrt(530e-6 / 5), 4
    t_lower, t_upper = (mean + 0.05) / se, (mean - 0.05) / se  # 6.4105..., −3.3024...
    half = sps.t.ppf(0.95, df) * se  # the 90% interval for α = 0.05
    res = tost(DELTAS, margin=0.05)
    assert isinstance(res, Equivalence) and res.n == 5 and res.margin == 0.05
    expected = [mean, mean - half, mean + half, sps.t.sf(t_lower, df), sps.t.cdf(t_upper, df)]
    np.testing.assert_allclose([res.estimate, res.low, res.high, res.p_lower, res.p_upper],
                               expected, rtol=1e-12, atol=1e-12)
    assert res.p == pytest.approx(sps.t.cdf(t_upper, df), rel=1e-12)  # max: the upper test
    assert res.p == pytest.approx(0.014933484, abs=1e-8)
    assert res.equivalent is True and -0.05 < res.low and res.high < 0.05

    narrow = tost(DELTAS, margin=0.03)  # the interval's upper end 0.0379 passes +0.03
    assert narrow.p == pytest.approx(sps.t.cdf((mean - 0.03) / se, df), rel=1e-12)
    assert narrow.equivalent is False and narrow.high > 0.03
    # α = 0.025 uses the 95% interval
    wide = tost(DELTAS, margin=0.05, alpha=0.025)
    assert wide.high == pytest.approx(mean + sps.t.ppf(0.975, df) * se, rel=1e-12)
    assert wide.equivalent is True  # p = 0.0149 < 0.025


def test_tost_decision_equals_interval_inclusion():
    rng = np.random.default_rng(3)
    seen = set()
    for _ in range(300):
        d = rng.normal(rng.uniform(-0.05, 0.05), rng.uniform(0.005, 0.05), rng.integers(2, 12))
        res = tost(d, margin=0.04)
        assert res.equivalent == tost_from_interval(res.low, res.high, 0.04)
        assert res.p == max(res.p_lower, res.p_upper)
        seen.add(res.equivalent)
    assert seen == {True, False}


def test_tost_errors():
    with pytest.raises(ValueError, match="margin must be a finite number > 0, got 0.0"):
        tost(DELTAS, 0)
    with pytest.raises(ValueError, match="margin must be a finite number > 0, got -0.1"):
        tost(DELTAS, -0.1)
    with pytest.raises(ValueError, match=r"NaN/inf at positions \[1\]"):
        tost([0.01, np.nan, 0.02], 0.05)
    with pytest.raises(ValueError, match="at least 2 replicates' deltas, got 1"):
        tost([0.01], 0.05)
    with pytest.raises(ValueError, match="1-D array.*shape \\(2, 2\\)"):
        tost([[0.01, 0.02], [0.03, 0.04]], 0.05)
    with pytest.raises(ValueError, match="all equal"):
        tost([0.01, 0.01, 0.01], 0.05)
    with pytest.raises(ValueError, match="alpha must lie in \\(0, 1\\), got 5"):
        tost(DELTAS, 0.05, alpha=5)
    with pytest.raises(ValueError, match="alpha must be < 0.5"):
        tost(DELTAS, 0.05, alpha=0.5)


def test_tost_interval_coverage_and_size_at_margin():
    """2000 studies of 10 replicates: the 90% interval covers the true mean ~90% of the
    time, and with the true mean on the margin TOST declares equivalence ~α = 5% of the time."""
    rng = np.random.default_rng(7)
    studies = 2000
    covered = rejected = 0
    for _ in range(studies):
        res = tost(rng.normal(0.02, 0.03, 10), margin=0.05)
        covered += res.low <= 0.02 <= res.high
        rejected += tost(rng.normal(0.03, 0.01, 10), margin=0.03).equivalent  # on the margin
    assert 0.87 <= covered / studies <= 0.93  # ± 3 standard errors of 0.90
    assert 0.035 <= rejected / studies <= 0.065  # ± 3 standard errors of 0.05


def test_tost_from_interval_and_excludes():
    assert tost_from_interval(-0.02, 0.03, 0.05) is True
    assert tost_from_interval(-0.02, 0.05, 0.05) is False  # an end on the margin is not inside
    assert tost_from_interval(-0.06, 0.01, 0.05) is False
    assert excludes(-0.01, 0.03, 0.055) is True
    assert excludes(0.06, 0.09, 0.055) is True  # excluded from below too (two-sided)
    assert excludes(-0.01, 0.055, 0.055) is False  # closed interval
    assert excludes(-0.01, 0.06, 0.055) is False
    with pytest.raises(ValueError, match=r"ci_low, ci_high must be finite with low <= high, "
                                         r"got \(0.03, -0.02\)"):
        tost_from_interval(0.03, -0.02, 0.05)
    with pytest.raises(ValueError, match="margin must be a finite number > 0"):
        tost_from_interval(-0.02, 0.03, np.nan)
    with pytest.raises(ValueError, match=r"got \(nan, 0.03\)"):
        excludes(np.nan, 0.03, 0.055)
    with pytest.raises(ValueError, match="effect must be finite, got inf"):
        excludes(-0.01, 0.03, np.inf)


def test_exclusion_sentence():
    assert exclusion_sentence(-0.01, 0.03) == "this study can exclude a gain of +0.055 (the paper's)"
    assert (exclusion_sentence(-0.01, 0.06)
            == "this study cannot exclude a gain of +0.055 (the paper's)")
    assert exclusion_sentence(-0.01, 0.055).startswith("this study cannot")  # high = effect
    # one-sided: an interval wholly above the gain does not exclude it
    assert exclusion_sentence(0.06, 0.09).startswith("this study cannot exclude")
    assert (exclusion_sentence(-0.01, 0.03, effect=0.1, label="Table 2's")
            == "this study can exclude a gain of +0.1 (Table 2's)")
    assert exclusion_sentence(-0.01, 0.03, label=None) == "this study can exclude a gain of +0.055"
    assert (exclusion_sentence(-0.01, 0.03, effect=-0.02, label="")
            == "this study can exclude a loss of -0.02")
    with pytest.raises(ValueError, match="effect must be a finite non-zero number, got 0.0"):
        exclusion_sentence(-0.01, 0.03, effect=0)
    with pytest.raises(ValueError, match=r"low, high must be finite with low <= high"):
        exclusion_sentence(0.03, -0.01)


def test_learned_rejects_one_class_predictor():
    """AUC 0.547 (interval 0.512–0.58) with 91% of predictions in one class does not pass."""
    confusion = np.array([[97, 2, 1],  # rows: true normal, chf, pneumonia; columns: predicted
                          [88, 8, 4],
                          [88, 2, 10]])
    assert confusion[:, 0].sum() / confusion.sum() == pytest.approx(0.91)
    recalls = dict(zip(["normal", "chf", "pneumonia"], np.diag(confusion) / confusion.sum(1)))
    res = learned_reason(0.512, recalls)
    assert isinstance(res, Learned) and res.learned is False
    assert res.reason == "chf has recall 0.08, below 0.1"  # pneumonia at 0.10 = the floor passes
    assert learned(0.512, recalls) is False
    assert learned(0.512, recalls, min_recall=0.05) is True  # only the recall floor stopped it


def test_learned_values_and_reasons():
    ok = learned_reason(0.61, [0.7, 0.4, 0.35])
    assert ok == (True, "the AUC interval's lower bound 0.61 is above 0.5 and every class has "
                        "recall at least 0.1")
    assert learned(0.61, np.array([0.7, 0.4, 0.35])) is True
    chance = learned_reason(0.5, [0.7, 0.4, 0.35])  # on chance is not above it
    assert chance == (False, "the AUC interval's lower bound 0.5 is not above 0.5")
    both = learned_reason(0.45, [0.98, 0.0, 0.02])
    assert both.learned is False
    assert both.reason == ("the AUC interval's lower bound 0.45 is not above 0.5; class 1 has "
                           "recall 0, below 0.1; class 2 has recall 0.02, below 0.1")
    assert learned(0.51, [0.1, 0.1]) is True  # the recall floor is inclusive


def test_learned_errors():
    with pytest.raises(ValueError, match=r"recalls must lie in \[0, 1\], got \{'class 1': 1.2\}"):
        learned(0.6, [0.5, 1.2])
    with pytest.raises(ValueError, match=r"recalls must lie in \[0, 1\], got \{'chf': nan\}"):
        learned(0.6, {"normal": 0.5, "chf": np.nan})
    with pytest.raises(ValueError, match=r"recalls must lie in \[0, 1\], got \{'class 0': -0.1\}"):
        learned_reason(0.6, [-0.1])
    with pytest.raises(ValueError, match="at least one class, got none"):
        learned(0.6, [])
    with pytest.raises(ValueError, match=r"shape \(K,\), got shape \(2, 2\)"):
        learned(0.6, [[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(ValueError, match=r"auc_low must lie in \[0, 1\], got nan"):
        learned(np.nan, [0.5, 0.5])
    with pytest.raises(ValueError, match=r"min_recall must lie in \[0, 1\], got 10.0"):
        learned(0.6, [0.5, 0.5], min_recall=10)


def test_hierarchical_mean_ci_coverage_independent_replicates():
    """200 studies × 10 independent replicates × 40 images: Δ_ij = 0.02 + u_j + e_ij with
    replicate effect u_j ~ N(0, 0.03²) and per-image noise e_ij ~ N(0, 0.1²); the 95%
    interval covers the true 0.02 in 88–99% of studies (too narrow or too wide both fail)."""
    rng = np.random.default_rng(11)
    true, studies = 0.02, 200
    covered, widths = 0, []
    for study in range(studies):
        per_seed = {}
        for j in range(10):
            a = rng.normal(0.6, 0.1, 40)
            per_seed[j] = (a, a + true + rng.normal(0, 0.03) + rng.normal(0, 0.1, 40))
        ci = hierarchical_bootstrap_mean_ci(per_seed, n_boot=400, seed=study)
        covered += ci.low <= true <= ci.high
        widths.append(ci.high - ci.low)
    assert 0.88 <= covered / studies <= 0.99
    # the interval's scale: 2·1.96·√((0.03² + 0.1²/40)/10) ≈ 0.044; a bootstrap that ignored
    # the replicate effect would be about half as wide
    assert 0.03 <= np.median(widths) <= 0.06


def test_public_names_exported():
    for name in ("Equivalence", "Learned", "tost", "tost_from_interval", "excludes",
                 "exclusion_sentence", "learned", "learned_reason"):
        assert name in ggcam.stats.__all__ and hasattr(ggcam.stats, name)
