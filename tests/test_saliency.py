"""Saliency-benchmark metrics between Ω^Y and Ψ: hand-computed 3×3 cases and properties."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from ggcam.metrics.saliency import (
    EPS,
    attention_agreement,
    auc_judd,
    cc,
    fixation_map,
    kl_div,
    nss,
    sim,
)

RAMP = np.arange(1.0, 10.0).reshape(3, 3)  # [[1, 2, 3], [4, 5, 6], [7, 8, 9]]


def delta(r, c, shape=(3, 3)):
    a = np.zeros(shape)
    a[r, c] = 1.0
    return a


# ---- CC -------------------------------------------------------------------------------------


def test_cc_hand_3x3():
    # p = δ(0,0), q = δ(0,0) + δ(0,1); p̄ = 1/9, q̄ = 2/9
    # Σ(p−p̄)(q−q̄) = Σpq − 9p̄q̄ = 1 − 2/9 = 7/9
    # Σ(p−p̄)² = 1 − 1/9 = 8/9,  Σ(q−q̄)² = 2 − 4/9 = 14/9
    # CC = (7/9) / √(8/9 · 14/9) = 7/√112 = √7/4
    q = delta(0, 0) + delta(0, 1)
    assert cc(delta(0, 0), q) == pytest.approx(math.sqrt(7) / 4, abs=1e-12)
    assert cc(delta(0, 0), q) == pytest.approx(np.corrcoef(delta(0, 0).ravel(), q.ravel())[0, 1])


def test_cc_identical_and_opposite():
    assert cc(RAMP, RAMP) == pytest.approx(1.0)
    assert cc(RAMP, 3 * RAMP + 2) == pytest.approx(1.0)
    assert cc(RAMP, -RAMP) == pytest.approx(-1.0)


def test_cc_constant_map_is_zero_with_warning():
    with pytest.warns(UserWarning, match="constant"):
        assert cc(np.ones((3, 3)), RAMP) == 0.0
    with pytest.warns(UserWarning, match="constant"):
        assert cc(RAMP, np.zeros((3, 3))) == 0.0


# ---- KL -------------------------------------------------------------------------------------


def test_kl_hand_3x3():
    # P = ½ on (0,0), (0,1); Q = δ(0,0): KL = 1·log(ε + 1/(½ + ε)) ≈ log 2
    two = delta(0, 0) + delta(0, 1)
    assert kl_div(two, delta(0, 0)) == pytest.approx(math.log(2), abs=1e-12)
    # P uniform 1/9, Q = δ: KL = log 9
    assert kl_div(np.ones((3, 3)), delta(1, 1)) == pytest.approx(math.log(9), abs=1e-12)
    # P = δ(0,0), Q = ½ on (0,0), (0,1): ½ log(ε + ½/1) + ½ log(ε + ½/ε); the ε term wins
    want = 0.5 * math.log(EPS + 0.5 / (1 + EPS)) + 0.5 * math.log(EPS + 0.5 / EPS)
    assert kl_div(delta(0, 0), two) == pytest.approx(want, rel=1e-12)
    assert want == pytest.approx(17.33, abs=0.01)


def test_kl_identical_is_zero_and_scale_free():
    assert kl_div(RAMP, RAMP) == pytest.approx(0.0, abs=1e-12)
    assert kl_div(5 * RAMP, RAMP) == pytest.approx(0.0, abs=1e-12)


def test_kl_rejects_negative_and_warns_on_zero_map():
    with pytest.raises(ValueError, match="sal must be non-negative"):
        kl_div(RAMP - 5, RAMP)
    with pytest.raises(ValueError, match="ref must be non-negative"):
        kl_div(RAMP, RAMP - 5)
    with pytest.warns(UserWarning, match="all-zero"):
        assert kl_div(RAMP, np.zeros((3, 3))) == 0.0  # Q = 0: every term is 0


# ---- SIM ------------------------------------------------------------------------------------


def test_sim_hand_3x3():
    # sal [2, 1, 0, ...] → min-max [1, ½, 0, ...] → /1.5 → P = [2/3, 1/3, 0, ...]
    # ref [0, 1, 1, 0, ...] → Q = [0, ½, ½, 0, ...]
    # SIM = min(2/3, 0) + min(1/3, ½) + min(0, ½) = 1/3
    sal = np.zeros((3, 3))
    sal[0, :2] = [2, 1]
    ref = delta(0, 1) + delta(0, 2)
    assert sim(sal, ref) == pytest.approx(1 / 3, abs=1e-12)


def test_sim_identical_disjoint_affine():
    assert sim(RAMP, RAMP) == pytest.approx(1.0)
    assert sim(2 * RAMP + 3, RAMP) == pytest.approx(1.0)  # min-max first
    assert sim(delta(0, 0), delta(2, 2)) == 0.0


def test_sim_constant_map_is_uniform():
    # uniform P = 1/9 everywhere; Q = δ → SIM = 1/9
    with pytest.warns(UserWarning, match="uniform"):
        assert sim(np.full((3, 3), 4.0), delta(1, 1)) == pytest.approx(1 / 9)


# ---- NSS ------------------------------------------------------------------------------------


def test_nss_hand_3x3():
    # sal = 3·δ(1,1): μ = 1/3, Σ(x−μ)² = 9 − 9·(1/9) = 8, std (ddof 1) = √(8/8) = 1
    # z(1,1) = 3 − 1/3 = 8/3, z(0,0) = −1/3
    sal = 3 * delta(1, 1)
    assert nss(sal, [(1, 1)]) == pytest.approx(8 / 3)
    assert nss(sal, [(1, 1), (0, 0)]) == pytest.approx((8 / 3 - 1 / 3) / 2)
    assert nss(sal, delta(1, 1).astype(bool)) == pytest.approx(8 / 3)
    # a repeated cell counts once, as in the benchmark's binary fixation map
    assert nss(sal, [(1, 1), (1, 1), (0, 0)]) == pytest.approx(7 / 6)


def test_nss_constant_and_empty():
    with pytest.warns(UserWarning, match="constant"):
        assert nss(np.ones((3, 3)), [(0, 0)]) == 0.0
    with pytest.raises(ValueError, match="no fixations"):
        nss(RAMP, np.zeros((3, 3), dtype=bool))
    with pytest.raises(ValueError, match="no fixations"):
        nss(RAMP, [])


# ---- AUC-Judd -------------------------------------------------------------------------------


def test_auc_judd_hand_3x3():
    # values 1..9, fixations on 9 (2,2) and 5 (1,1); 7 other cells
    # threshold 9: tp 1/2, fp 0/7; threshold 5: tp 1, fp |{6, 7, 8}|/7 = 3/7
    # (0,0) (0,½) (3/7,1) (1,1): area = 0 + 3/7·¾ + 4/7·1 = 25/28
    assert auc_judd(RAMP, [(2, 2), (1, 1)]) == pytest.approx(25 / 28, abs=1e-12)


def test_auc_judd_ties_grouped():
    # sal 1 on (0,0), (0,1), fixation (0,0): one threshold 1 with tp 1, fp 1/8
    # (0,0) (1/8,1) (1,1): area = 1/8·½ + 7/8 = 15/16
    sal = delta(0, 0) + delta(0, 1)
    assert auc_judd(sal, [(0, 0)]) == pytest.approx(15 / 16)
    assert auc_judd(np.ones((3, 3)), [(0, 0), (2, 1)]) == pytest.approx(0.5)


def _benchmark_loop(s, f):
    """The benchmark's curve, written as its loop (one threshold per fixated cell)."""
    s, f = s.ravel(), f.ravel()
    th = np.sort(s[f])[::-1]
    tp, fp = [0.0], [0.0]
    for i, t in enumerate(th, start=1):
        tp.append(i / th.size)
        fp.append(((s >= t).sum() - i) / (s.size - th.size))
    tp.append(1.0)
    fp.append(1.0)
    return np.trapezoid(tp, fp)


def test_auc_judd_equals_benchmark_loop_without_ties():
    rng = np.random.default_rng(3)
    for _ in range(5):
        s = rng.normal(size=(6, 5))
        f = rng.random((6, 5)) < 0.3
        f[0, 0] = True
        f[5, 4] = False
        assert auc_judd(s, f) == pytest.approx(_benchmark_loop(s, f), abs=1e-12)
        assert auc_judd(np.exp(s), f) == pytest.approx(auc_judd(s, f))  # monotone invariance


def test_auc_judd_errors():
    with pytest.raises(ValueError, match="every cell is fixated"):
        auc_judd(RAMP, np.ones((3, 3), dtype=bool))
    with pytest.raises(ValueError, match="no fixations"):
        auc_judd(RAMP, np.zeros((3, 3), dtype=bool))


# ---- inputs ---------------------------------------------------------------------------------


def test_fixation_map_checks():
    assert fixation_map([(0, 1)], (2, 3)).tolist() == [[False, True, False], [False] * 3]
    assert fixation_map(np.array([1, 2]), (2, 3))[1, 2]  # a single (row, col)
    with pytest.raises(ValueError, match="outside the 2×3 grid"):
        fixation_map([(2, 0)], (2, 3))
    with pytest.raises(ValueError, match="outside"):
        fixation_map([(0, -1)], (2, 3))
    with pytest.raises(ValueError, match="integers"):
        fixation_map([(0.5, 1)], (2, 3))
    with pytest.raises(ValueError, match="fixation map must have shape"):
        fixation_map(np.zeros((3, 3), dtype=bool), (2, 3))
    with pytest.raises(ValueError, match=r"\(M, 2\)"):
        fixation_map([(0, 1, 2)], (2, 3))


def test_map_shape_and_nan_errors():
    with pytest.raises(ValueError, match=r"ref must have shape \(3, 3\)"):
        cc(RAMP, np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"sal must have shape \(h, w\)"):
        sim(np.ones(9), RAMP)
    with pytest.raises(ValueError, match="NaN"):
        kl_div(np.full((3, 3), np.nan), RAMP)


def test_torch_tensors_accepted():
    t = torch.tensor(RAMP, requires_grad=True)
    assert cc(t, RAMP) == pytest.approx(1.0)
    assert nss(t, torch.tensor([[1, 1]])) == pytest.approx(nss(RAMP, [(1, 1)]))


# ---- attention_agreement --------------------------------------------------------------------


def _batch():
    rng = np.random.default_rng(0)
    cams = rng.normal(size=(3, 3, 4, 5))
    gaze = rng.random((3, 4, 5))
    labels = np.array([2, 0, 1])
    cams[0, 2] = 4 * gaze[0] - 1  # Ω^Y an affine copy of Ψ for image 0
    return cams, labels, gaze


def test_attention_agreement_rows_match_pair_functions():
    cams, labels, gaze = _batch()
    fix = [[(0, 0), (3, 4)], np.eye(4, 5, dtype=bool), [(2, 2)]]
    df = attention_agreement(cams, labels, gaze, fixations=fix)
    assert list(df.columns) == ["image", "label", "cc", "kl", "sim", "nss", "auc_judd"]
    assert df["label"].tolist() == [2, 0, 1]
    for i in range(3):
        m = cams[i, labels[i]]
        s = (m - m.min()) / (m.max() - m.min())
        assert df.loc[i, "cc"] == pytest.approx(cc(s, gaze[i]))
        assert df.loc[i, "kl"] == pytest.approx(kl_div(s, gaze[i]))
        assert df.loc[i, "sim"] == pytest.approx(sim(s, gaze[i]))
        assert df.loc[i, "nss"] == pytest.approx(nss(m, fix[i]))  # affine invariant
        assert df.loc[i, "auc_judd"] == pytest.approx(auc_judd(m, fix[i]))
    assert df.loc[0, "cc"] == pytest.approx(1.0)
    assert df.loc[0, "sim"] == pytest.approx(1.0)


def test_attention_agreement_transforms_and_no_fixations():
    cams, labels, gaze = _batch()
    df = attention_agreement(torch.tensor(cams), torch.tensor(labels), gaze, transform="sigmoid",
                             alpha=2.0)
    assert list(df.columns) == ["image", "label", "cc", "kl", "sim"]
    s = 1 / (1 + np.exp(-2.0 * cams[1, 0]))
    assert df.loc[1, "kl"] == pytest.approx(kl_div(s, gaze[1]))
    pos = np.abs(cams)
    raw = attention_agreement(pos, labels, gaze, transform=None)
    assert raw.loc[2, "kl"] == pytest.approx(kl_div(pos[2, 1], gaze[2]))


def test_attention_agreement_constant_map_no_nan():
    cams, labels, gaze = _batch()
    cams[1, 0] = 7.0
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        df = attention_agreement(cams, labels, gaze, fixations=[[(0, 0)]] * 3)
    assert not df.isna().any().any()
    assert df.loc[1, "cc"] == 0.0 and df.loc[1, "nss"] == 0.0 and df.loc[1, "auc_judd"] == 0.5
    assert any("constant" in str(w.message) for w in seen)


def test_attention_agreement_images_without_fixations():
    cams, labels, gaze = _batch()
    fix = [[(0, 0)], [], np.ones((4, 5), dtype=bool)]
    with pytest.warns(UserWarning, match=r"images \[1, 2\] have no fixated cell"):
        df = attention_agreement(cams, labels, gaze, fixations=fix)
    assert np.isnan(df.loc[1, "nss"]) and np.isnan(df.loc[1, "auc_judd"])
    assert df.loc[2, "nss"] == pytest.approx(0.0, abs=1e-12) and np.isnan(df.loc[2, "auc_judd"])
    assert not df.loc[0].isna().any()


def test_attention_agreement_errors():
    cams, labels, gaze = _batch()
    with pytest.raises(ValueError, match="transform"):
        attention_agreement(cams, labels, gaze, transform="softplus")
    with pytest.raises(ValueError, match="alpha"):
        attention_agreement(cams, labels, gaze, transform="sigmoid", alpha=0)
    with pytest.raises(ValueError, match=r"cams must have shape \(N, K, h, w\)"):
        attention_agreement(cams[0], labels, gaze)
    with pytest.raises(ValueError, match=r"gaze must have shape \(3, 4, 5\)"):
        attention_agreement(cams, labels, gaze[:, :3])
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 3\)"):
        attention_agreement(cams, np.array([0, 1, 3]), gaze)
    with pytest.raises(ValueError, match=r"labels must have shape \(3,\)"):
        attention_agreement(cams, labels[:2], gaze)
    with pytest.raises(ValueError, match="one entry per image"):
        attention_agreement(cams, labels, gaze, fixations=[[(0, 0)]])
    assert isinstance(attention_agreement(cams[:0], labels[:0], gaze[:0]), pd.DataFrame)
