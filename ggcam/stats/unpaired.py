"""Statistics over training runs: Table 2, Figure 3's tests, AUC intervals; paired comparisons.

The runs table has one row per training run, with the columns the sweep writes to
``results/<profile>/runs.csv``: network, variant, seed, auc_ovo, auc_ovr, precision_<class>,
recall_<class> (class in normal, chf, pneumonia), interp_chf, interp_pneumonia,
interp3x3_chf, interp3x3_pneumonia, cc, kl, sim, nss, auc_judd.

Every test comes from SciPy or statsmodels; this module only arranges the data:

* ``median_std`` / ``precision_recall_table``: Table 2's "median ± std" (ddof = 1; one run
  reads "0.649 (n = 1)"). NaN values of a metric are dropped and ``n`` counts those used.
* ``anova``: the paper's one-way ANOVA (Figure 3), with Welch's ANOVA, Kruskal-Wallis and
  Mann-Whitney beside it. Rank tests are exact (or Monte-Carlo permutation) p-values when a
  group has fewer than ``SMALL_N`` runs. A test that cannot run gets p = None (never NaN)
  and the row's ``note`` says why, repeated as a ``UserWarning``.
* ``bootstrap_auc_ci``: one run's test AUC with a class-stratified percentile bootstrap.
* Paired comparisons live in ``ggcam.stats.paired``, equivalence in
  ``ggcam.stats.equivalence``; ``ggcam.stats`` names them all.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats as sps

from ggcam.metrics.classification import MULTI_CLASS, auc, class_probabilities
from ggcam.metrics.resampled_auc import resample_weights, resampled_auc
from ggcam.stats.checks import N_PERMUTATIONS, as_tuple, check_columns, check_level, check_n_boot, make_rng
from ggcam.study import CLASS_KEYS

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from torch import Tensor

__all__ = [
    "MAX_EXACT", "N_PERMUTATIONS", "SMALL_N", "TABLE2_CLASSES", "TABLE2_METRICS", "TEST_COLUMNS",
    "BootstrapCI", "RankTest", "anova", "bootstrap_auc_ci", "format_cell", "kruskal_test",
    "mann_whitney_test", "median_std", "precision_recall_table", "welch_anova",
]

TABLE2_CLASSES = CLASS_KEYS  # runs column suffix → class name
TABLE2_METRICS = ("precision", "recall")
TEST_COLUMNS = ("F", "p", "welch_F", "welch_p", "kruskal_H", "kruskal_p",
                "mannwhitney_U", "mannwhitney_p")
SMALL_N = 10  # a group with fewer runs gets exact / permutation rank-test p-values
MAX_EXACT = 100_000  # enumerate every relabelling up to this many, else Monte Carlo


# ---- Table 2 --------------------------------------------------------------------------------


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
    by = as_tuple(by)
    check_columns(runs, (*by, metric))
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
    by = as_tuple(by)
    cols = [f"{m}_{c}" for c in TABLE2_CLASSES for m in TABLE2_METRICS]
    check_columns(runs, (*by, *cols))
    parts = {}
    for c, name in TABLE2_CLASSES.items():
        for m in TABLE2_METRICS:
            parts[(name, m)] = median_std(runs, f"{m}_{c}", by, digits).set_index(list(by))["cell"]
    table = pd.DataFrame(parts)
    table.columns = pd.MultiIndex.from_tuples(table.columns, names=["class", "metric"])
    return table


# ---- between-group tests (Figure 3) ---------------------------------------------------------


def welch_anova(groups: Sequence[np.ndarray]) -> tuple[float, float]:
    """Welch's heteroscedastic one-way ANOVA (Welch 1951): F and its p-value.

    ``statsmodels.stats.oneway.anova_oneway(groups, use_var="unequal")``. Needs >= 2 groups,
    each with n_i >= 2 and s_i > 0.
    """
    from statsmodels.stats.oneway import anova_oneway  # slow import, only when needed

    if len(groups) < 2 or any(len(g) < 2 or np.ptp(g) == 0 for g in groups):
        raise ValueError("welch_anova needs >= 2 groups, each with >= 2 values and variance > 0")
    res = anova_oneway([np.asarray(g, dtype=float) for g in groups], use_var="unequal")
    return float(res.statistic), float(res.pvalue)


class RankTest(NamedTuple):
    statistic: float  # H (Kruskal-Wallis) or U of the first group (Mann-Whitney)
    pvalue: float
    method: str  # "exact", "permutation" (Monte Carlo) or "asymptotic"


def _relabellings(sizes) -> int:
    """Distinct assignments of the pooled values to groups of these sizes: N! / Π n_i!."""
    count, left = 1, int(sum(sizes))
    for n in sizes:
        count *= math.comb(left, int(n))
        left -= int(n)
    return count


def _permutation_plan(sizes, seed) -> tuple[float, str, np.random.Generator]:
    exact = _relabellings(sizes) <= MAX_EXACT
    return (np.inf if exact else N_PERMUTATIONS), ("exact" if exact else "permutation"), make_rng(seed)


def kruskal_test(groups: Sequence[np.ndarray], seed: int | np.random.Generator = 0) -> RankTest:
    """Kruskal-Wallis H; a permutation p-value when a group has fewer than ``SMALL_N`` values.

    The permutation test (``scipy.stats.permutation_test``) relabels the pooled midranks;
    it uses Σ R_i² / n_i (R_i the rank sum of group i), which given the pooled values is an
    increasing affine function of H (tie correction included), so its p-value is H's. Every
    relabelling is enumerated up to ``MAX_EXACT``, else ``N_PERMUTATIONS`` random ones.
    """
    data = [np.asarray(g, dtype=float) for g in groups]
    h = float(sps.kruskal(*data).statistic)
    sizes = [x.size for x in data]
    if min(sizes) >= SMALL_N:
        return RankTest(h, float(sps.kruskal(*data).pvalue), "asymptotic")
    ranks = sps.rankdata(np.concatenate(data))
    parts = np.split(ranks, np.cumsum(sizes)[:-1])
    n_resamples, method, rng = _permutation_plan(sizes, seed)

    def rank_sum_squares(*samples, axis=-1):
        return sum(s.sum(axis=axis) ** 2 / s.shape[axis] for s in samples)

    res = sps.permutation_test(parts, rank_sum_squares, permutation_type="independent",
                               vectorized=True, n_resamples=n_resamples,
                               alternative="greater", rng=rng)
    return RankTest(h, float(res.pvalue), method)


def mann_whitney_test(x: ArrayLike, y: ArrayLike, seed: int | np.random.Generator = 0) -> RankTest:
    """Two-sided Mann-Whitney U (``scipy.stats.mannwhitneyu``), exact when a group is small.

    Below ``SMALL_N`` values in a group: ``method="exact"`` without ties, a permutation
    p-value (``scipy.stats.PermutationMethod``, exact up to ``MAX_EXACT`` relabellings)
    with ties; otherwise the normal approximation.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if min(x.size, y.size) >= SMALL_N:
        res = sps.mannwhitneyu(x, y, method="asymptotic")
        return RankTest(float(res.statistic), float(res.pvalue), "asymptotic")
    pooled = np.concatenate([x, y])
    if np.unique(pooled).size == pooled.size:
        res = sps.mannwhitneyu(x, y, method="exact")
        return RankTest(float(res.statistic), float(res.pvalue), "exact")
    n_resamples, method, rng = _permutation_plan((x.size, y.size), seed)
    perm = sps.PermutationMethod(n_resamples=n_resamples, rng=rng)
    res = sps.mannwhitneyu(x, y, method=perm)
    return RankTest(float(res.statistic), float(res.pvalue), method)


def anova(
    runs: pd.DataFrame, metric: str, groups: str = "variant", by: str | None = "network",
    levels: Sequence[str] | None = ("standard", "ggcam"), seed: int = 0,
) -> pd.DataFrame:
    """Figure 3's test: one-way ANOVA of ``metric`` between variants, for each network.

    Beside the paper's ANOVA (``scipy.stats.f_oneway``, the same as statsmodels' OLS +
    ``anova_lm`` the released code used) come Welch's ANOVA (unequal variances),
    Kruskal-Wallis (``kruskal_test``) and, for two levels, Mann-Whitney (``mann_whitney_test``).
    The rank tests' p-values are exact or permutation ones when a group has < ``SMALL_N`` runs.

    Args:
        runs: one row per training run.
        metric: column tested, e.g. "auc_ovo" or "interp_chf".
        groups: column defining the groups compared.
        by: column splitting the table (one test per value), or None for a single test.
        levels: the groups compared, in this order (default standard vs GG-CAM); None
            takes every group present.
        seed: seed of the Monte-Carlo permutations (only used beyond ``MAX_EXACT``).

    Returns:
        one row per ``by`` value: ``by``, ``metric``, ``n_<level>`` and ``median_<level>``
        per level, ``F``, ``p``, ``welch_F``, ``welch_p``, ``kruskal_H``, ``kruskal_p``,
        ``mannwhitney_U``, ``mannwhitney_p``, ``rank_method`` ("exact", "permutation" or
        "asymptotic": how the rank-test p-values were computed) and ``note``. A test column
        is float64 when every row's test ran; otherwise it is of object dtype and holds None
        where the test could not run, and ``note`` explains ("" when every test ran).
    """
    check_columns(runs, [c for c in (groups, by, metric) if c is not None])
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
        row.update(_tests(names, data, seed))
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
    return frame[[c for c in frame.columns if c != "note"] + ["note"]]


def _tests(names: list[str], data: list[np.ndarray], seed: int) -> dict:
    res = {**dict.fromkeys(TEST_COLUMNS), "rank_method": None}
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
        f, p = sps.f_oneway(*data)
        res["F"], res["p"] = float(f), float(p)
    if any(constant):
        notes.append("Welch: a group has zero variance")
    else:
        res["welch_F"], res["welch_p"] = welch_anova(data)
    if np.ptp(np.concatenate(data)) == 0:
        notes.append("rank tests: all values identical")
    else:
        kw = kruskal_test(data, seed)
        res["kruskal_H"], res["kruskal_p"], res["rank_method"] = kw
        if len(data) == 2:
            mw = mann_whitney_test(*data, seed=seed)
            res["mannwhitney_U"], res["mannwhitney_p"] = mw.statistic, mw.pvalue
    res["note"] = "; ".join(notes)
    return res


# ---- one run's AUC --------------------------------------------------------------------------


class BootstrapCI(NamedTuple):
    auc: float  # AUC of the full test set
    low: float  # lower percentile bound
    high: float  # upper percentile bound
    level: float  # coverage, e.g. 0.95
    n_boot: int  # bootstrap replicates


def bootstrap_auc_ci(
    y_true: ArrayLike | Tensor, scores: ArrayLike | Tensor, n_boot: int = 1000,
    seed: int | np.random.Generator = 0,
    multi_class: str = "ovo", level: float = 0.95, from_logits: bool | None = None,
) -> BootstrapCI:
    """Percentile bootstrap interval of a run's test AUC, resampling within each class.

    ``scipy.stats.bootstrap`` with one sample per class (``paired=False`` resamples each
    independently), so every class stays present and the class mix is fixed. A class with
    a single image is the same in every replicate and is held fixed (SciPy needs >= 2).
    All replicates are scored at once by ``metrics.resampled_auc`` (equal to ``metrics.auc``
    to rounding; milliseconds for the default n_boot).

    Args:
        y_true: labels (N,); scores: (N, K) probabilities or logits (see ``metrics.auc``).
        n_boot: replicates (>= 1).
        seed: seed of ``np.random.default_rng``, or a Generator.
        multi_class: "ovo" or "ovr".
        level: interval coverage in (0, 1).

    Returns:
        BootstrapCI(auc, low, high, level, n_boot), bounds at the (1 ± level)/2 quantiles.
    """
    n_boot = check_n_boot(n_boot)
    check_level(level, "level")
    if multi_class not in MULTI_CLASS:
        raise ValueError(f"multi_class must be 'ovo' or 'ovr', got {multi_class!r}")
    y, s = class_probabilities(y_true, scores, from_logits)
    point = auc(y, s, multi_class, from_logits=False)
    by_class = [np.flatnonzero(y == c) for c in range(s.shape[1])]
    free = tuple(ix for ix in by_class if ix.size > 1)
    fixed = np.concatenate([ix for ix in by_class if ix.size == 1] + [np.zeros(0, int)])
    if not free:  # one image per class: every replicate is the test set itself
        return BootstrapCI(point, point, point, level, n_boot)

    def statistic(*parts, axis=-1):  # SciPy passes every resample at once: (..., n_c) per class
        batch = parts[0].shape[:-1]
        idx = np.concatenate([np.broadcast_to(fixed, (*batch, fixed.size)), *parts], axis=-1)
        idx = idx.astype(np.intp).reshape(-1, idx.shape[-1])
        out = resampled_auc(y, s, resample_weights(idx, y.size), multi_class)
        return out.reshape(batch)

    res = sps.bootstrap(free, statistic, n_resamples=n_boot, vectorized=True, paired=False,
                        confidence_level=level, method="percentile", rng=make_rng(seed))
    ci = res.confidence_interval
    return BootstrapCI(point, float(ci.low), float(ci.high), level, n_boot)
