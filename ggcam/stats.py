"""Statistics over training runs: Table 2's "median ± std", Figure 3's ANOVA, AUC intervals.

The runs table has one row per training run, with the columns the sweep writes to
``results/<profile>/runs.csv``: network, variant, seed, auc_ovo, auc_ovr, precision_<class>,
recall_<class> (class in normal, chf, pneumonia), interp_chf, interp_pneumonia,
interp3x3_chf, interp3x3_pneumonia, cc, kl, sim, nss, auc_judd.

Conventions:

* std is the sample standard deviation (ddof = 1); with one run it is NaN and the cell reads
  "0.649 (n = 1)". Missing values (NaN) of a metric are dropped before any statistic, and
  ``n`` counts the values used.
* ``anova`` never raises for too few runs: a test that cannot run gets p = None (never a
  NaN p-value) and the row's ``note`` says why ("n too small: ...", "zero variance ...");
  a ``UserWarning`` repeats the note.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats as sps

from .metrics import _auc_checked, _check_scores

TABLE2_CLASSES = {"normal": "Normal", "chf": "CHF", "pneumonia": "pneumonia"}  # column: title
TABLE2_METRICS = ("precision", "recall")
TEST_COLUMNS = ("F", "p", "welch_F", "welch_p", "kruskal_H", "kruskal_p")


def _check_columns(runs: pd.DataFrame, columns) -> None:
    if not isinstance(runs, pd.DataFrame):
        raise ValueError(f"runs must be a pandas DataFrame, got {type(runs).__name__}")
    missing = [c for c in columns if c not in runs.columns]
    if missing:
        raise ValueError(f"runs has no column(s) {missing}; it has {list(runs.columns)}")


def _as_tuple(by) -> tuple[str, ...]:
    return (by,) if isinstance(by, str) else tuple(by)


def format_cell(median: float, std: float, n: int, digits: int = 3) -> str:
    """Table 2's cell text: "0.649 ± 0.042", or "0.649 (n = 1)" when std is undefined."""
    if n == 0:
        return "n/a"
    if n == 1 or not np.isfinite(std):
        return f"{median:.{digits}f} (n = {n})"
    return f"{median:.{digits}f} ± {std:.{digits}f}"


def median_std(
    runs: pd.DataFrame, metric: str, by: Sequence[str] | str = ("network", "variant"),
    digits: int = 3,
) -> pd.DataFrame:
    """Median and sample std (ddof = 1) of ``metric`` per group, the cells of Table 2.

    Args:
        runs: one row per training run.
        metric: column to summarise.
        by: grouping columns; groups keep their order of first appearance.
        digits: decimals in the ``cell`` text.

    Returns:
        DataFrame with the ``by`` columns, ``median``, ``std``, ``n`` and ``cell``
        ("0.649 ± 0.042"). NaN values are dropped; a group left with n = 1 has std NaN and
        cell "0.649 (n = 1)", one with n = 0 has median NaN and cell "n/a".
    """
    by = _as_tuple(by)
    _check_columns(runs, (*by, metric))
    rows = []
    for key, group in runs.groupby(list(by), sort=False):
        x = pd.to_numeric(group[metric], errors="raise").dropna().to_numpy(dtype=float)
        med = float(np.median(x)) if x.size else float("nan")
        sd = float(np.std(x, ddof=1)) if x.size > 1 else float("nan")
        rows.append({**dict(zip(by, key)), "median": med, "std": sd, "n": int(x.size),
                     "cell": format_cell(med, sd, x.size, digits)})
    return pd.DataFrame(rows, columns=[*by, "median", "std", "n", "cell"])


def precision_recall_table(
    runs: pd.DataFrame, by: Sequence[str] | str = ("network", "variant"), digits: int = 3
) -> pd.DataFrame:
    """Table 2: "median ± std" of precision and recall per class, one row per network+variant.

    Args:
        runs: with columns ``precision_normal, recall_normal, precision_chf, recall_chf,
            precision_pneumonia, recall_pneumonia`` and the ``by`` columns.

    Returns:
        DataFrame of strings indexed by ``by``, columns a MultiIndex (class, metric) with
        classes "Normal", "CHF", "pneumonia" and metrics "precision", "recall".
    """
    by = _as_tuple(by)
    cols = [f"{m}_{c}" for c in TABLE2_CLASSES for m in TABLE2_METRICS]
    _check_columns(runs, (*by, *cols))
    parts = {}
    for c, name in TABLE2_CLASSES.items():
        for m in TABLE2_METRICS:
            parts[(name, m)] = median_std(runs, f"{m}_{c}", by, digits).set_index(list(by))["cell"]
    table = pd.DataFrame(parts)
    table.columns = pd.MultiIndex.from_tuples(table.columns, names=["class", "metric"])
    return table


def welch_anova(groups: Sequence[np.ndarray]) -> tuple[float, float]:
    """Welch's heteroscedastic one-way ANOVA (Welch 1951): F and its p-value.

    With w_i = n_i / s_i², W = Σ w_i, x̄_w = Σ w_i x̄_i / W and
    T = Σ (1 − w_i / W)² / (n_i − 1):
    F = [Σ w_i (x̄_i − x̄_w)² / (k − 1)] / [1 + 2 (k − 2) T / (k² − 1)],
    on (k − 1, (k² − 1) / (3 T)) degrees of freedom. Needs n_i >= 2 and s_i > 0.
    """
    k = len(groups)
    n = np.array([len(g) for g in groups], dtype=float)
    mean = np.array([np.mean(g) for g in groups])
    var = np.array([np.var(g, ddof=1) for g in groups])
    if k < 2 or (n < 2).any() or any(np.ptp(g) == 0 for g in groups):
        raise ValueError("welch_anova needs >= 2 groups, each with >= 2 values and variance > 0")
    w = n / var
    big_w = w.sum()
    grand = np.sum(w * mean) / big_w
    t = np.sum((1 - w / big_w) ** 2 / (n - 1))
    f = (np.sum(w * (mean - grand) ** 2) / (k - 1)) / (1 + 2 * (k - 2) * t / (k**2 - 1))
    return float(f), float(sps.f.sf(f, k - 1, (k**2 - 1) / (3 * t)))


def _classic_anova(values: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """One-way ANOVA by OLS on a categorical factor (statsmodels ``ols`` + ``anova_lm``)."""
    from statsmodels.formula.api import ols  # slow import, only when needed
    from statsmodels.stats.anova import anova_lm

    frame = pd.DataFrame({"y": values, "g": labels.astype(str)})
    table = anova_lm(ols("y ~ C(g)", data=frame).fit())
    return float(table.loc["C(g)", "F"]), float(table.loc["C(g)", "PR(>F)"])


def anova(
    runs: pd.DataFrame, metric: str, groups: str = "variant", by: str | None = "network",
    levels: Sequence[str] | None = ("standard", "ggcam"),
) -> pd.DataFrame:
    """Figure 3's test: one-way ANOVA of ``metric`` between variants, for each network.

    Alongside the paper's ANOVA (statsmodels OLS + ``anova_lm``, identical to
    ``scipy.stats.f_oneway``) come Welch's ANOVA (unequal variances) and Kruskal-Wallis.

    Args:
        runs: one row per training run.
        metric: column tested, e.g. "auc_ovo" or "interp_chf".
        groups: column defining the groups compared.
        by: column splitting the table (one test per value), or None for a single test.
        levels: the groups compared, in this order (default standard vs GG-CAM); None
            takes every group present.

    Returns:
        one row per ``by`` value: ``by``, ``metric``, ``n_<level>`` and ``median_<level>``
        per level, ``F``, ``p``, ``welch_F``, ``welch_p``, ``kruskal_H``, ``kruskal_p`` and
        ``note``. A test column is float64 when every row's test ran; otherwise it is of
        object dtype and holds None where the test could not run, and ``note`` explains
        ("" when every test of the row ran).
    """
    _check_columns(runs, [c for c in (groups, by, metric) if c is not None])
    out = []
    parts = [(None, runs)] if by is None else runs.groupby(by, sort=False)
    for key, part in parts:
        part = part.dropna(subset=[metric])
        names = list(levels) if levels is not None else list(pd.unique(part[groups]))
        data = [part.loc[part[groups] == g, metric].to_numpy(dtype=float) for g in names]
        row = {} if by is None else {by: key}
        row["metric"] = metric
        for g, x in zip(names, data):
            row[f"n_{g}"] = int(x.size)
        for g, x in zip(names, data):
            row[f"median_{g}"] = float(np.median(x)) if x.size else None
        row.update(_tests(names, data))
        if row["note"]:
            where = "" if by is None else f" ({by} = {key})"
            warnings.warn(f"anova of {metric}{where}: {row['note']}", stacklevel=2)
        out.append(row)
    frame = pd.DataFrame(out)
    for col in TEST_COLUMNS:
        values = [r[col] for r in out]
        # float64 when every test ran; object (floats and None) otherwise, never NaN
        dtype = object if any(v is None for v in values) else np.float64
        frame[col] = pd.Series(values, index=frame.index, dtype=dtype)
    return frame


def _tests(names: list[str], data: list[np.ndarray]) -> dict:
    res = dict.fromkeys(TEST_COLUMNS)
    small = [f"{g} has {x.size}" for g, x in zip(names, data) if x.size < 2]
    if len(names) < 2 or small:
        why = "fewer than 2 groups" if len(names) < 2 else ", ".join(small)
        res["note"] = f"n too small: {why} (need >= 2 runs per group)"
        return res
    notes = []
    constant = [np.ptp(x) == 0 for x in data]  # exact, unlike a rounded variance
    if all(constant):
        notes.append("ANOVA: zero variance within every group")
    else:
        values = np.concatenate(data)
        labels = np.repeat(np.arange(len(data)), [x.size for x in data])
        res["F"], res["p"] = _classic_anova(values, labels)
    if any(constant):
        notes.append("Welch: a group has zero variance")
    else:
        res["welch_F"], res["welch_p"] = welch_anova(data)
    if np.ptp(np.concatenate(data)) == 0:
        notes.append("Kruskal-Wallis: all values identical")
    else:
        h, p = sps.kruskal(*data)
        res["kruskal_H"], res["kruskal_p"] = float(h), float(p)
    res["note"] = "; ".join(notes)
    return res


class BootstrapCI(NamedTuple):
    auc: float  # AUC of the full test set
    low: float  # lower percentile bound
    high: float  # upper percentile bound
    level: float  # coverage, e.g. 0.95
    n_boot: int  # bootstrap replicates


def bootstrap_auc_ci(
    y_true, scores, n_boot: int = 1000, seed: int | np.random.Generator = 0,
    multi_class: str = "ovo", level: float = 0.95, from_logits: bool | None = None,
) -> BootstrapCI:
    """Percentile bootstrap interval of a run's test AUC, resampling within each class.

    Each replicate draws, for every class, as many images as it has with replacement from
    that class, so every class stays present and the class mix is fixed.

    Args:
        y_true: labels (N,); scores: (N, K) probabilities or logits (see ``metrics.auc``).
        n_boot: replicates (>= 1).
        seed: seed of ``np.random.default_rng``, or a Generator.
        multi_class: "ovo" or "ovr".
        level: interval coverage in (0, 1).

    Returns:
        BootstrapCI(auc, low, high, level, n_boot), bounds at the (1 ± level)/2 quantiles.
    """
    if isinstance(n_boot, bool) or int(n_boot) != n_boot or n_boot < 1:
        raise ValueError(f"n_boot must be an integer >= 1, got {n_boot!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    if multi_class not in ("ovo", "ovr"):
        raise ValueError(f"multi_class must be 'ovo' or 'ovr', got {multi_class!r}")
    y, s = _check_scores(y_true, scores, from_logits)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    by_class = [np.flatnonzero(y == c) for c in range(s.shape[1])]
    reps = np.empty(int(n_boot))
    for b in range(reps.size):
        idx = np.concatenate([rng.choice(ix, size=ix.size, replace=True) for ix in by_class])
        reps[b] = _auc_checked(y[idx], s[idx], multi_class)
    low, high = np.quantile(reps, [(1 - level) / 2, (1 + level) / 2])
    return BootstrapCI(_auc_checked(y, s, multi_class), float(low), float(high), level, int(n_boot))
