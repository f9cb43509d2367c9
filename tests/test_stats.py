"""Table 2 cells, Figure 3's tests (against scipy, statsmodels and enumeration), the AUC
bootstrap and the paired statistics (known answers, coverage on simulated studies)."""

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from sklearn.metrics import roc_auc_score
from statsmodels.stats.oneway import anova_oneway

from ggcam.data.layout import CLASS_NAMES
from ggcam.metrics.classification import auc
from ggcam.stats import (
    TABLE2_CLASSES,
    anova,
    bootstrap_auc_ci,
    format_cell,
    hierarchical_bootstrap_ci,
    hierarchical_bootstrap_mean_ci,
    holm,
    kruskal_test,
    mann_whitney_test,
    median_std,
    paired_differences,
    paired_predictions,
    paired_summary,
    precision_recall_table,
    sign_flip_test,
    welch_anova,
)

PR = [f"{m}_{c}" for c in ("normal", "chf", "pneumonia") for m in ("precision", "recall")]


def make_runs(n=5, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for network, shift in (("resnet50", 0.0), ("efficientnet_v2_s", 0.02)):
        for variant, gain in (("standard", 0.0), ("ggcam", 0.06), ("ggcam-legacy", 0.03)):
            for s in range(n):
                row = {"network": network, "variant": variant, "seed": s}
                row["auc_ovo"] = 0.72 + shift + gain + rng.normal(0, 0.02 + gain / 3)
                row["interp_chf"] = rng.integers(0, 11) / 10
                row.update({c: rng.uniform(0.4, 0.7) for c in PR})
                rows.append(row)
    return pd.DataFrame(rows)


# ---- median ± std ---------------------------------------------------------------------------


def test_median_std_values():
    runs = make_runs()
    out = median_std(runs, "auc_ovo")
    assert list(out.columns) == ["network", "variant", "median", "std", "n", "cell"]
    assert len(out) == 6 and out["n"].tolist() == [5] * 6
    sel = runs[(runs.network == "resnet50") & (runs.variant == "ggcam")]["auc_ovo"]
    row = out[(out.network == "resnet50") & (out.variant == "ggcam")].iloc[0]
    assert row["median"] == pytest.approx(np.median(sel))
    assert row["std"] == pytest.approx(sel.std(ddof=1))
    assert row["cell"] == f"{np.median(sel):.3f} ± {sel.std(ddof=1):.3f}"


def test_median_std_hand_case_nan_and_single_run():
    runs = pd.DataFrame({"network": ["a"] * 4 + ["b"], "variant": ["x"] * 5,
                         "m": [0.6, 0.7, 0.8, np.nan, 0.5]})
    out = median_std(runs, "m")
    # a: values 0.6, 0.7, 0.8 (NaN dropped): median 0.7, std √(((−.1)² + 0 + .1²)/2) = 0.1
    assert out.loc[0, "median"] == pytest.approx(0.7) and out.loc[0, "std"] == pytest.approx(0.1)
    assert out.loc[0, "n"] == 3 and out.loc[0, "cell"] == "0.700 ± 0.100"
    assert np.isnan(out.loc[1, "std"]) and out.loc[1, "cell"] == "0.500 (n = 1)"
    assert median_std(runs, "m", by="network", digits=2).loc[0, "cell"] == "0.70 ± 0.10"
    assert format_cell(0.5, 0.1, 0) == "n/a"


def test_median_std_errors():
    runs = make_runs()
    with pytest.raises(ValueError, match=r"no column\(s\) \['auc'\]"):
        median_std(runs, "auc")
    with pytest.raises(ValueError, match=r"no column\(s\) \['net'\]"):
        median_std(runs, "auc_ovo", by=("net",))
    with pytest.raises(ValueError, match="DataFrame"):
        median_std(runs.to_dict(), "auc_ovo")


def test_precision_recall_table_layout():
    runs = make_runs()
    t = precision_recall_table(runs)
    assert t.shape == (6, 6)
    assert t.index.names == ["network", "variant"]
    assert t.columns.tolist() == [(c, m) for c in ("Normal", "CHF", "pneumonia")
                                  for m in ("precision", "recall")]
    cells = median_std(runs, "recall_chf").set_index(["network", "variant"])["cell"]
    assert t[("CHF", "recall")].equals(cells.rename(("CHF", "recall")))
    with pytest.raises(ValueError, match="precision_normal"):
        precision_recall_table(runs.drop(columns="precision_normal"))


# ---- ANOVA and rank tests -------------------------------------------------------------------


def enumerated_kruskal_p(groups):
    """Exact permutation p of H: every assignment of the pooled values to the groups."""
    pooled = np.concatenate(groups)
    sizes = [len(g) for g in groups]
    observed = sps.kruskal(*groups).statistic
    hs = []
    idx = np.arange(pooled.size)
    for first in itertools.combinations(idx, sizes[0]):
        rest = np.setdiff1d(idx, first)
        if len(sizes) == 2:
            hs.append(sps.kruskal(pooled[list(first)], pooled[rest]).statistic)
            continue
        for second in itertools.combinations(rest, sizes[1]):
            third = np.setdiff1d(rest, second)
            hs.append(sps.kruskal(pooled[list(first)], pooled[list(second)], pooled[third]).statistic)
    return np.mean(np.array(hs) >= observed * (1 - 1e-12))


def test_table2_classes_follow_class_names():
    assert list(TABLE2_CLASSES.values()) == list(CLASS_NAMES)
    assert list(TABLE2_CLASSES) == ["normal", "chf", "pneumonia"]


def test_kruskal_exact_three_groups_with_ties_equals_enumeration():
    groups = [np.array([0.1, 0.3, 0.3]), np.array([0.3, 0.5]), np.array([0.6, 0.7, 0.7])]
    res = kruskal_test(groups)
    assert res.method == "exact"  # 8! / (3! 2! 3!) = 560 assignments
    assert res.statistic == pytest.approx(sps.kruskal(*groups).statistic)
    assert res.pvalue == pytest.approx(enumerated_kruskal_p(groups), rel=1e-12)


def test_rank_tests_hand_case_and_methods():
    # [1,2,3] vs [4,5,6]: U = 0, the most extreme of C(6,3) = 20 splits, both tails: 2/20
    assert mann_whitney_test([1, 2, 3], [4, 5, 6]) == (0.0, pytest.approx(0.1), "exact")
    assert kruskal_test([[1, 2, 3], [4, 5, 6]]).pvalue == pytest.approx(0.1)
    rng = np.random.default_rng(0)
    big = [rng.normal(size=12), rng.normal(0.5, 1, size=11)]
    kw = kruskal_test(big)
    assert kw.method == "asymptotic" and kw.pvalue == pytest.approx(sps.kruskal(*big).pvalue)
    mw = mann_whitney_test(*big)
    assert mw.method == "asymptotic"
    assert mw.pvalue == pytest.approx(sps.mannwhitneyu(*big, method="asymptotic").pvalue)
    # 3 groups of 8: 24!/(8!)³ ≈ 9.6e9 assignments → Monte Carlo, deterministic by seed
    three = [rng.normal(size=8), rng.normal(size=8), rng.normal(1, 1, size=8)]
    mc = kruskal_test(three, seed=1)
    assert mc.method == "permutation" and mc == kruskal_test(three, seed=1)
    assert mc.pvalue == pytest.approx(sps.kruskal(*three).pvalue, abs=0.03)


def test_mann_whitney_ties_exact_permutation():
    x, y = np.array([0.1, 0.2, 0.2, 0.4]), np.array([0.2, 0.4, 0.5, 0.6, 0.6])
    res = mann_whitney_test(x, y)
    assert res.method == "exact"  # C(9, 4) = 126 splits, enumerated
    pooled = np.concatenate([x, y])
    u = lambda a, b: (a[:, None] > b[None, :]).sum() + 0.5 * (a[:, None] == b[None, :]).sum()
    us = np.array([u(pooled[list(c)], np.delete(pooled, c))
                   for c in itertools.combinations(range(9), 4)])
    u0 = u(x, y)
    want = min(1.0, 2 * min(np.mean(us >= u0 - 1e-9), np.mean(us <= u0 + 1e-9)))
    assert res.statistic == u0 and res.pvalue == pytest.approx(want, rel=1e-12)




def test_anova_equals_scipy_and_statsmodels():
    runs = make_runs(n=6)
    out = anova(runs, "auc_ovo")
    assert out["network"].tolist() == ["resnet50", "efficientnet_v2_s"]
    assert out["F"].dtype == np.float64 and (out["note"] == "").all()
    for _, row in out.iterrows():
        part = runs[runs.network == row["network"]]
        a = part.loc[part.variant == "standard", "auc_ovo"].to_numpy()
        b = part.loc[part.variant == "ggcam", "auc_ovo"].to_numpy()
        f, p = sps.f_oneway(a, b)
        assert row["F"] == pytest.approx(f, rel=1e-9) and row["p"] == pytest.approx(p, rel=1e-9)
        welch = anova_oneway([a, b], use_var="unequal")
        assert row["welch_F"] == pytest.approx(welch.statistic, rel=1e-9)
        assert row["welch_p"] == pytest.approx(welch.pvalue, rel=1e-9)
        assert row["kruskal_H"] == pytest.approx(sps.kruskal(a, b).statistic)
        # 6 runs per arm < SMALL_N: exact p over all C(12, 6) = 924 splits
        assert row["rank_method"] == "exact"
        assert row["kruskal_p"] == pytest.approx(enumerated_kruskal_p([a, b]), rel=1e-12)
        mw = sps.mannwhitneyu(a, b, method="exact")  # no ties: scipy's exact distribution
        assert row["mannwhitney_U"] == mw.statistic
        assert row["mannwhitney_p"] == pytest.approx(mw.pvalue, rel=1e-12)
        assert row["mannwhitney_p"] == pytest.approx(row["kruskal_p"], rel=1e-12)  # 2 groups
        assert row["n_standard"] == 6 and row["n_ggcam"] == 6
        assert row["median_ggcam"] == pytest.approx(np.median(b))


def test_anova_three_levels_and_no_split():
    runs = make_runs()
    levels = ("standard", "ggcam", "ggcam-legacy")
    out = anova(runs, "auc_ovo", by=None, levels=None)
    assert len(out) == 1 and "network" not in out.columns
    groups = [runs.loc[runs.variant == v, "auc_ovo"] for v in levels]
    assert out.loc[0, "F"] == pytest.approx(sps.f_oneway(*groups).statistic)
    welch = anova_oneway(groups, use_var="unequal")
    assert out.loc[0, "welch_p"] == pytest.approx(welch.pvalue)
    assert [c for c in out.columns if c.startswith("n_")] == [f"n_{v}" for v in levels]


def test_welch_anova_hand_case():
    # groups [1,2,3] and [2,4,6]: means 2, 4; variances 1, 4; w = 3, 3/4; W = 3.75
    # x̄_w = (6 + 3)/3.75 = 2.4; A = 3·0.16 + 0.75·2.56 = 2.4 (k − 1 = 1)
    # T = (1 − 0.8)²/2 + (1 − 0.2)²/2 = 0.02 + 0.32 = 0.34; B = 1 (k = 2) → F = 2.4
    # df2 = 3 / (3·0.34) = 2.941...
    f, p = welch_anova([np.array([1.0, 2, 3]), np.array([2.0, 4, 6])])
    assert f == pytest.approx(2.4)
    assert p == pytest.approx(sps.f.sf(2.4, 1, 3 / (3 * 0.34)))
    with pytest.raises(ValueError, match="variance > 0"):
        welch_anova([np.array([1.0, 1.0]), np.array([2.0, 3.0])])


def test_anova_too_few_runs_gives_note_and_none():
    runs = make_runs(n=3)
    runs = runs.drop(runs[(runs.network == "resnet50") & (runs.variant == "ggcam")].index[1:])
    with pytest.warns(UserWarning, match="n too small: ggcam has 1"):
        out = anova(runs, "auc_ovo")
    res = out.set_index("network")
    assert res.loc["resnet50", "p"] is None and res.loc["resnet50", "kruskal_p"] is None
    assert res.loc["resnet50", "note"].startswith("n too small")
    assert res.loc["resnet50", "n_ggcam"] == 1
    assert isinstance(res.loc["efficientnet_v2_s", "p"], float)
    assert res.loc["efficientnet_v2_s", "note"] == ""
    with pytest.warns(UserWarning, match="ggcam has 0"):
        out = anova(runs[runs.variant == "standard"], "auc_ovo")
    assert out["p"].tolist() == [None, None]


def test_anova_zero_variance_gives_note():
    runs = pd.DataFrame({"network": ["r"] * 6, "variant": ["standard"] * 3 + ["ggcam"] * 3,
                         "m": [0.5, 0.5, 0.5, 0.7, 0.7, 0.7]})
    with pytest.warns(UserWarning, match="zero variance"):
        out = anova(runs, "m")
    assert out.loc[0, "p"] is None and out.loc[0, "welch_p"] is None
    # exact: the observed split is the most extreme of C(6, 3) = 20, in either direction
    assert out.loc[0, "kruskal_p"] == pytest.approx(2 / 20)
    same = runs.assign(m=0.5)
    with pytest.warns(UserWarning, match="all values identical"):
        out = anova(same, "m")
    assert out.loc[0, "kruskal_p"] is None
    assert "zero variance within every group" in out.loc[0, "note"]
    # one group constant, the other not: ANOVA runs, Welch does not
    mixed = runs.assign(m=[0.5, 0.5, 0.5, 0.6, 0.7, 0.8])
    with pytest.warns(UserWarning, match="Welch"):
        out = anova(mixed, "m")
    assert out.loc[0, "p"] == pytest.approx(sps.f_oneway([0.5] * 3, [0.6, 0.7, 0.8]).pvalue)
    assert out.loc[0, "welch_p"] is None


def test_anova_errors():
    with pytest.raises(ValueError, match=r"no column\(s\) \['auc'\]"):
        anova(make_runs(), "auc")


# ---- bootstrap ------------------------------------------------------------------------------


def _scores(seed=0, n=45):
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1, 2], n // 3)
    z = rng.normal(size=(n, 3)) + 1.5 * np.eye(3)[y]
    return y, z


def test_bootstrap_matches_reference_loop():
    y, z = _scores()
    ci = bootstrap_auc_ci(y, z, n_boot=40, seed=7)
    e = np.exp(z - z.max(1, keepdims=True))
    p = e / e.sum(1, keepdims=True)
    # scipy.stats.bootstrap draws integers(0, n_c, (n_boot, n_c)) for each sample (class) in turn
    rng = np.random.default_rng(7)
    draws = [np.flatnonzero(y == c)[rng.integers(0, 15, (40, 15))] for c in range(3)]
    reps = [roc_auc_score(y[idx], p[idx], multi_class="ovo")
            for idx in np.concatenate(draws, axis=1)]
    assert ci.low == pytest.approx(np.quantile(reps, 0.025), abs=1e-12)
    assert ci.high == pytest.approx(np.quantile(reps, 0.975), abs=1e-12)
    assert ci.auc == pytest.approx(auc(y, z)) and ci.level == 0.95 and ci.n_boot == 40
    assert ci.low <= ci.auc <= ci.high


def test_bootstrap_single_image_class_is_held_fixed():
    y, z = _scores()
    y[30:44] = 1  # class 2 keeps one image (44)
    ci = bootstrap_auc_ci(y, z, n_boot=30, seed=2)
    assert ci.low <= ci.auc <= ci.high and ci.low < ci.high
    one_each = bootstrap_auc_ci(np.array([0, 1, 2]), np.eye(3), n_boot=5)
    assert one_each == (1.0, 1.0, 1.0, 0.95, 5)


def test_bootstrap_deterministic_and_stratified():
    y, z = _scores()
    y[0] = 1  # class 0 now has 14 images; also keep a class with a single image:
    y[1:15] = 0
    y[15] = 2
    y[16:30] = 1
    a = bootstrap_auc_ci(y, z, n_boot=30, seed=3, multi_class="ovr", level=0.8)
    b = bootstrap_auc_ci(y, z, n_boot=30, seed=np.random.default_rng(3), multi_class="ovr",
                         level=0.8)
    assert a == b


def test_bootstrap_errors():
    y, z = _scores()
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_auc_ci(y, z, n_boot=0)
    with pytest.raises(ValueError, match="level"):
        bootstrap_auc_ci(y, z, level=1.5)
    with pytest.raises(ValueError, match="multi_class"):
        bootstrap_auc_ci(y, z, multi_class="both")
    with pytest.raises(ValueError, match="missing"):
        bootstrap_auc_ci(np.zeros(45, dtype=int), z)


def test_no_runtime_warnings_on_normal_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        anova(make_runs(), "interp_chf")
        median_std(make_runs(), "interp_chf")


# ---- paired statistics ----------------------------------------------------------------------


def test_sign_flip_hand_cases_and_enumeration():
    # 2³ sign patterns of [1, 2, 3]: means ±2 only for +++ and −−−, so p = 2/8
    assert sign_flip_test([1, 2, 3]) == pytest.approx(0.25)
    assert sign_flip_test([1.0, -1.0]) == pytest.approx(1.0)
    assert sign_flip_test([0.0, 0.0, 0.0]) == pytest.approx(1.0)
    d = np.random.default_rng(0).normal(0.4, 1, size=9)
    signs = np.array(list(itertools.product([-1, 1], repeat=9)))
    want = np.mean(np.abs((signs * d).mean(1)) >= abs(d.mean()) * (1 - 1e-12))
    assert sign_flip_test(d) == pytest.approx(want, rel=1e-12)
    # beyond max_exact: Monte Carlo, close to the exact answer and deterministic by seed
    d12 = np.random.default_rng(1).normal(0.3, 1, size=12)
    exact = sign_flip_test(d12)
    assert sign_flip_test(d12, seed=3, max_exact=10) == pytest.approx(exact, abs=0.02)
    with pytest.raises(ValueError, match="non-empty finite"):
        sign_flip_test([1.0, np.nan])


def test_holm_known_values():
    # sorted p: 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → monotone: 0.03, 0.06, 0.06
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
    out = holm([0.02, None, np.nan, 0.5])
    np.testing.assert_allclose(out[[0, 3]], [0.04, 0.5])
    assert np.isnan(out[[1, 2]]).all()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        holm([0.2, 1.5])


def paired_runs():
    rows = []
    for network in ("resnet18", "efficientnet_b0"):
        for s in range(6):
            base = 0.7 + 0.01 * s
            for variant, gain in (("standard", 0.0), ("ggcam", 0.02 + 0.002 * s),
                                  ("ggcam-stable", -0.01 + 0.004 * s)):
                rows.append({"network": network, "variant": variant, "seed": s,
                             "auc_ovo": base + gain})
    return pd.DataFrame(rows)


def test_paired_differences_matches_and_drops_unmatched():
    runs = paired_runs()
    runs = runs.drop(runs[(runs.network == "resnet18") & (runs.variant == "ggcam")
                          & (runs.seed == 5)].index)
    runs.loc[(runs.network == "resnet18") & (runs.seed == 0) & (runs.variant == "standard"),
             "auc_ovo"] = np.nan
    with pytest.warns(UserWarning, match=r"dropped unmatched or missing runs \[\['resnet18', 0\]"):
        d = paired_differences(runs, "auc_ovo", "standard", "ggcam")
    assert list(d.columns) == ["network", "seed", "value_a", "value_b", "diff"]
    r = d[d.network == "resnet18"]
    assert r["seed"].tolist() == [1, 2, 3, 4]
    np.testing.assert_allclose(r["diff"], [0.022, 0.024, 0.026, 0.028])
    assert (d.network == "efficientnet_b0").sum() == 6
    dup = pd.concat([runs, runs.iloc[[3]]])
    with pytest.raises(ValueError, match="more than one run"):
        paired_differences(dup, "auc_ovo", "standard", "ggcam")


def test_hierarchical_mean_ci_coverage_on_simulated_studies():
    """200 studies, 8 seeds × 30 images, true Δ = 0.05 with seed-to-seed spread 0.03."""
    rng = np.random.default_rng(1)
    covered = 0
    for study in range(200):
        per_seed = {}
        for s in range(8):
            a = rng.normal(0.5, 0.1, 30)
            per_seed[s] = (a, a + 0.05 + rng.normal(0, 0.03) + rng.normal(0, 0.1, 30))
        ci = hierarchical_bootstrap_mean_ci(per_seed, n_boot=400, seed=study)
        covered += ci.low <= 0.05 <= ci.high
    assert 0.85 <= covered / 200 <= 0.99


def test_hierarchical_mean_ci_values_and_nan_images():
    per_seed = {0: ([0.0, 1.0, np.nan], [1.0, 1.0, 0.0]), 1: ([0.0, 0.0], [0.5, 0.5])}
    ci = hierarchical_bootstrap_mean_ci(per_seed, n_boot=200)
    # seed 0: diffs [1, 0] (the NaN image left out) → ½; seed 1: [½, ½] → ½; estimate ½
    assert ci.estimate == pytest.approx(0.5) and ci.n_seeds == 2
    assert 0.0 <= ci.low <= 0.5 <= ci.high <= 1.0
    with pytest.raises(ValueError, match="no image scored in both arms"):
        hierarchical_bootstrap_mean_ci({0: ([np.nan], [1.0])})
    with pytest.raises(ValueError, match="ci must lie"):
        hierarchical_bootstrap_mean_ci(per_seed, ci=95)


def auc_study(n_seeds=3, n=30, gain=1.0, seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for s in range(n_seeds):
        y = np.repeat([0, 1, 2], n // 3)
        za = rng.normal(size=(n, 3)) + 0.5 * np.eye(3)[y]
        zb = za + gain * np.eye(3)[y] + 0.3 * rng.normal(size=(n, 3))
        out[s] = (y, za, zb)
    return out


def test_hierarchical_auc_ci_estimate_symmetry_and_null():
    per_seed = auc_study()
    ci = hierarchical_bootstrap_ci(per_seed, n_boot=30, seed=4)
    want = np.mean([roc_auc_score(y, softmax(zb), multi_class="ovo")
                    - roc_auc_score(y, softmax(za), multi_class="ovo")
                    for y, za, zb in per_seed.values()])
    assert ci.estimate == pytest.approx(want, abs=1e-12) and ci.n_seeds == 3
    assert 0 < ci.low <= ci.estimate <= ci.high  # a strong effect: the interval excludes 0
    swapped = hierarchical_bootstrap_ci({s: (y, zb, za) for s, (y, za, zb) in per_seed.items()},
                                        n_boot=30, seed=4)
    assert swapped.estimate == pytest.approx(-ci.estimate)
    assert (swapped.low, swapped.high) == (pytest.approx(-ci.high), pytest.approx(-ci.low))
    probs = {s: (y, softmax(za), softmax(zb)) for s, (y, za, zb) in per_seed.items()}
    assert hierarchical_bootstrap_ci(probs, n_boot=30, seed=4) == pytest.approx(ci)
    same = hierarchical_bootstrap_ci({s: (y, za, za) for s, (y, za, _) in per_seed.items()},
                                     n_boot=10)
    assert same == (0.0, 0.0, 0.0, 3)


def test_hierarchical_auc_ci_errors():
    per_seed = auc_study(n_seeds=1)
    y, za, zb = per_seed[0]
    with pytest.raises(ValueError, match=r"must be \(labels, scores_a, scores_b\)"):
        hierarchical_bootstrap_ci({0: (y, za)})
    with pytest.raises(ValueError, match="same images"):
        hierarchical_bootstrap_ci({0: (y, za, zb[:, :2])})
    with pytest.raises(ValueError, match="n_boot"):
        hierarchical_bootstrap_ci(per_seed, n_boot=0)


def softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def predictions_frame(per_seed, network="resnet18", arms=("standard", "ggcam"), prefix="p"):
    rows = []
    for s, (y, za, zb) in per_seed.items():
        for variant, z in zip(arms, (za, zb)):
            p = softmax(z) if prefix == "p" else z
            order = np.random.default_rng(s).permutation(len(y))  # stored order differs
            for i in order:
                rows.append({"network": network, "variant": variant, "seed": s,
                             "dicom_id": f"img{i}", "label": y[i],
                             **{f"{prefix}{k}": p[i, k] for k in range(3)}})
    return pd.DataFrame(rows)


def test_paired_predictions_aligns_images():
    per_seed = auc_study(n_seeds=2)
    preds = predictions_frame(per_seed)
    out = paired_predictions(preds, "standard", "ggcam", network="resnet18")
    assert sorted(out) == [0, 1]
    for s, (y, pa, pb) in out.items():
        assert auc(y, pb) - auc(y, pa) == pytest.approx(
            auc(per_seed[s][0], per_seed[s][2]) - auc(per_seed[s][0], per_seed[s][1]))
    stored = predictions_frame(per_seed, prefix="logit_")  # the results store's logit_<k>
    for s, (_, za, zb) in paired_predictions(stored, "standard", "ggcam").items():
        np.testing.assert_allclose(softmax(za), out[s][1])
        np.testing.assert_allclose(softmax(zb), out[s][2])
    with pytest.warns(UserWarning, match=r"seeds \[1\] lack an arm"):
        paired_predictions(preds.drop(preds[(preds.seed == 1) & (preds.variant == "ggcam")].index),
                           "standard", "ggcam")


def test_paired_summary_primary_holm_and_values():
    runs = paired_runs()
    comparisons = [("standard", "ggcam-stable"), ("ggcam", "ggcam-stable")]
    t = paired_summary(runs, "auc_ovo", comparisons, primary=("standard", "ggcam"), n_boot=200)
    assert list(t.columns) == ["network", "a", "b", "metric", "primary", "n_seeds", "estimate",
                               "low", "high", "p", "p_holm", "interval"]
    assert len(t) == 6 and t["primary"].sum() == 2 and (t["n_seeds"] == 6).all()
    first = t.iloc[0]
    assert (first["a"], first["b"], first["primary"]) == ("standard", "ggcam", True)
    # Δ per seed 0.02 + 0.002 s → mean 0.025; all 6 positive → p = 2 / 2⁶
    assert first["estimate"] == pytest.approx(0.025)
    assert first["p"] == pytest.approx(2 / 64) and first["p_holm"] == first["p"]
    assert 0.02 <= first["low"] <= 0.025 <= first["high"] <= 0.03
    sec = t[~t["primary"]]
    np.testing.assert_allclose(sec["p_holm"], holm(sec["p"]))
    d = paired_differences(runs[runs.network == "resnet18"], "auc_ovo", "ggcam", "ggcam-stable",
                           by=None)
    row = t[(t.network == "resnet18") & (t.a == "ggcam")].iloc[0]
    assert row["p"] == pytest.approx(sign_flip_test(d["diff"]))
    assert row["estimate"] == pytest.approx(d["diff"].mean()) and row["interval"] == "seeds"


def test_paired_summary_with_predictions_resamples_images():
    per_seed = auc_study(n_seeds=3)
    preds = predictions_frame(per_seed)
    runs = pd.DataFrame([{"network": "resnet18", "variant": v, "seed": s,
                          "auc_ovo": auc(y, z)}
                         for s, (y, za, zb) in per_seed.items()
                         for v, z in (("standard", za), ("ggcam", zb))])
    t = paired_summary(runs, "auc_ovo", [], primary=("standard", "ggcam"), predictions=preds,
                       n_boot=20)
    row = t.iloc[0]
    assert row["interval"] == "seeds+images" and row["n_seeds"] == 3
    assert row["estimate"] == pytest.approx(hierarchical_bootstrap_ci(per_seed, n_boot=1).estimate)
    want = hierarchical_bootstrap_ci(paired_predictions(preds, "standard", "ggcam"), n_boot=20)
    assert (row["estimate"], row["low"], row["high"]) == pytest.approx(want[:3])
    shuffled = preds.sample(frac=1.0, random_state=0)  # stored row order does not matter
    assert paired_summary(runs, "auc_ovo", [], primary=("standard", "ggcam"),
                          predictions=shuffled, n_boot=20).equals(t)
    assert row["p"] == pytest.approx(2 / 8)  # 3 positive differences


def test_sign_flip_with_one_pair_is_p_one():
    from ggcam.stats.paired import sign_flip_test

    assert sign_flip_test([0.3]) == 1.0
