"""Table 2 cells, Figure 3's ANOVA (against scipy and statsmodels) and the AUC bootstrap."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from sklearn.metrics import roc_auc_score
from statsmodels.stats.oneway import anova_oneway

from ggcam.metrics import auc
from ggcam.stats import (
    anova,
    bootstrap_auc_ci,
    format_cell,
    median_std,
    precision_recall_table,
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


# ---- ANOVA ----------------------------------------------------------------------------------


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
        h, kp = sps.kruskal(a, b)
        assert row["kruskal_H"] == pytest.approx(h) and row["kruskal_p"] == pytest.approx(kp)
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
    assert out.loc[0, "kruskal_p"] == pytest.approx(sps.kruskal([0.5] * 3, [0.7] * 3).pvalue)
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
    rng = np.random.default_rng(7)
    reps = []
    for _ in range(40):
        idx = np.concatenate([rng.choice(np.flatnonzero(y == c), size=15) for c in range(3)])
        reps.append(roc_auc_score(y[idx], p[idx], multi_class="ovo"))
    assert ci.low == pytest.approx(np.quantile(reps, 0.025))
    assert ci.high == pytest.approx(np.quantile(reps, 0.975))
    assert ci.auc == pytest.approx(auc(y, z)) and ci.level == 0.95 and ci.n_boot == 40
    assert ci.low <= ci.auc <= ci.high


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
