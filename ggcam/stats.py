"""Statistics over training runs: Table 2, Figure 3's tests, AUC intervals, paired comparisons.

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
* Paired comparisons (the study's arms share a split per seed): ``paired_differences``,
  ``sign_flip_test``, ``hierarchical_bootstrap_ci`` (ΔAUC; seeds, then test images) and
  ``hierarchical_bootstrap_mean_ci`` (per-image scores), ``holm``, and ``paired_summary``,
  which puts them in one tidy table.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats as sps

from .data.layout import CLASS_NAMES
from .metrics import MULTI_CLASS, auc, class_probabilities

TABLE2_CLASSES = {name.lower(): name for name in CLASS_NAMES}  # runs column part: title
TABLE2_METRICS = ("precision", "recall")
TEST_COLUMNS = ("F", "p", "welch_F", "welch_p", "kruskal_H", "kruskal_p",
                "mannwhitney_U", "mannwhitney_p")
SMALL_N = 10  # a group with fewer runs gets exact / permutation rank-test p-values
MAX_EXACT = 100_000  # enumerate every relabelling up to this many, else Monte Carlo
N_PERMUTATIONS = 9_999  # Monte-Carlo relabellings beyond MAX_EXACT


def _check_columns(runs: pd.DataFrame, columns) -> None:
    if not isinstance(runs, pd.DataFrame):
        raise ValueError(f"runs must be a pandas DataFrame, got {type(runs).__name__}")
    missing = [c for c in columns if c not in runs.columns]
    if missing:
        raise ValueError(f"runs has no column(s) {missing}; it has {list(runs.columns)}")


def _as_tuple(by) -> tuple[str, ...]:
    return () if by is None else (by,) if isinstance(by, str) else tuple(by)


def _rng(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _check_level(level: float, name: str) -> None:
    if not 0 < level < 1:
        raise ValueError(f"{name} must lie in (0, 1), got {level!r}")


def _check_n_boot(n_boot) -> int:
    if isinstance(n_boot, bool) or int(n_boot) != n_boot or n_boot < 1:
        raise ValueError(f"n_boot must be an integer >= 1, got {n_boot!r}")
    return int(n_boot)


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
    return (np.inf if exact else N_PERMUTATIONS), ("exact" if exact else "permutation"), _rng(seed)


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


def mann_whitney_test(x, y, seed: int | np.random.Generator = 0) -> RankTest:
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
    y_true, scores, n_boot: int = 1000, seed: int | np.random.Generator = 0,
    multi_class: str = "ovo", level: float = 0.95, from_logits: bool | None = None,
) -> BootstrapCI:
    """Percentile bootstrap interval of a run's test AUC, resampling within each class.

    ``scipy.stats.bootstrap`` with one sample per class (``paired=False`` resamples each
    independently), so every class stays present and the class mix is fixed. A class with
    a single image is the same in every replicate and is held fixed (SciPy needs >= 2).
    Each replicate is one scikit-learn AUC, ~3 ms for K = 3 (~3 s for the default n_boot).

    Args:
        y_true: labels (N,); scores: (N, K) probabilities or logits (see ``metrics.auc``).
        n_boot: replicates (>= 1).
        seed: seed of ``np.random.default_rng``, or a Generator.
        multi_class: "ovo" or "ovr".
        level: interval coverage in (0, 1).

    Returns:
        BootstrapCI(auc, low, high, level, n_boot), bounds at the (1 ± level)/2 quantiles.
    """
    n_boot = _check_n_boot(n_boot)
    _check_level(level, "level")
    if multi_class not in MULTI_CLASS:
        raise ValueError(f"multi_class must be 'ovo' or 'ovr', got {multi_class!r}")
    y, s = class_probabilities(y_true, scores, from_logits)
    point = auc(y, s, multi_class, from_logits=False)
    by_class = [np.flatnonzero(y == c) for c in range(s.shape[1])]
    free = tuple(ix for ix in by_class if ix.size > 1)
    fixed = np.concatenate([ix for ix in by_class if ix.size == 1] + [np.zeros(0, int)])
    if not free:  # one image per class: every replicate is the test set itself
        return BootstrapCI(point, point, point, level, n_boot)

    def statistic(*parts):
        idx = np.concatenate([fixed, *parts]).astype(np.intp)
        return auc(y[idx], s[idx], multi_class, from_logits=False)

    res = sps.bootstrap(free, statistic, n_resamples=n_boot, vectorized=False, paired=False,
                        confidence_level=level, method="percentile", rng=_rng(seed))
    ci = res.confidence_interval
    return BootstrapCI(point, float(ci.low), float(ci.high), level, n_boot)


# ---- paired comparisons ---------------------------------------------------------------------


def paired_differences(
    runs: pd.DataFrame, metric: str, a: str, b: str, by: Sequence[str] | str | None = "network",
) -> pd.DataFrame:
    """Per-seed differences metric[b] − metric[a] between two variants, matched on seed.

    Runs are matched on ``seed`` and the ``by`` columns (one seed fixes the split, so both
    arms saw the same test images). Seeds present in one arm only, or with a NaN metric, are
    dropped with a ``UserWarning`` naming them.

    Returns:
        DataFrame with the ``by`` columns, ``seed``, ``value_a``, ``value_b``, ``diff``,
        sorted by ``by`` and seed.
    """
    keys = [*_as_tuple(by), "seed"]
    _check_columns(runs, [*keys, "variant", metric])
    arms = {}
    for name in (a, b):
        arm = runs.loc[runs["variant"] == name, [*keys, metric]]
        dup = arm[keys].duplicated()
        if dup.any():
            raise ValueError(f"variant {name!r} has more than one run for {keys} = "
                             f"{arm.loc[dup, keys].to_numpy().tolist()}")
        arms[name] = arm.rename(columns={metric: f"value_{'a' if name == a else 'b'}"})
    both = arms[a].merge(arms[b], on=keys, how="outer", indicator=True)
    bad = (both["_merge"] != "both") | both[["value_a", "value_b"]].isna().any(axis=1)
    if bad.any():
        warnings.warn(f"paired_differences({metric}, {a!r} vs {b!r}): dropped unmatched or "
                      f"missing runs {both.loc[bad, keys].to_numpy().tolist()}", stacklevel=2)
    out = both.loc[~bad, [*keys, "value_a", "value_b"]].sort_values(keys, ignore_index=True)
    return out.assign(diff=out["value_b"] - out["value_a"])


def sign_flip_test(diffs, seed: int | np.random.Generator = 0, max_exact: int = 16) -> float:
    """Two-sided sign-flip permutation p-value for mean(diffs) = 0.

    Under the null each paired difference is as likely positive as negative, so the p-value
    is the share of the 2^n sign patterns whose |mean| is at least the observed one
    (``scipy.stats.permutation_test(..., permutation_type="samples")``). Exact for
    n <= ``max_exact``; beyond, ``N_PERMUTATIONS`` random patterns.

    Args:
        diffs: paired differences, shape (n,), n >= 1, finite.

    Returns:
        p in (0, 1]; e.g. diffs [1, 2, 3] give 2/8 = 0.25. One pair gives p = 1: its two sign
        patterns have the same |mean|, so one seed can never show an effect.
    """
    d = np.asarray(diffs, dtype=float)
    if d.ndim != 1 or d.size == 0 or not np.isfinite(d).all():
        raise ValueError(f"diffs must be a non-empty finite 1-D array, got shape {d.shape}")
    if d.size == 1:
        return 1.0
    n_resamples = np.inf if d.size <= max_exact else N_PERMUTATIONS
    res = sps.permutation_test((d,), np.mean, permutation_type="samples", vectorized=True,
                               n_resamples=n_resamples, alternative="two-sided", rng=_rng(seed))
    return float(min(res.pvalue, 1.0))


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjustment (``statsmodels ... multipletests(method="holm")``).

    Args:
        pvalues: raw p-values in [0, 1]; None or NaN entries are left out of the family.

    Returns:
        float array of adjusted p-values, NaN where the input was missing.
    """
    p = np.array([np.nan if v is None else v for v in pvalues], dtype=float)
    ok = np.isfinite(p)
    if ((p[ok] < 0) | (p[ok] > 1)).any():
        raise ValueError(f"p-values must lie in [0, 1], got {p[ok].tolist()}")
    out = np.full(p.shape, np.nan)
    if ok.any():
        from statsmodels.stats.multitest import multipletests

        out[ok] = multipletests(p[ok], method="holm")[1]
    return out


class PairedCI(NamedTuple):
    estimate: float  # mean over seeds of the per-seed difference b − a
    low: float  # lower percentile bound
    high: float  # upper percentile bound
    n_seeds: int  # seeds in the comparison


def _hierarchical(draw, n_seeds: int, point: float, n_boot, ci, seed) -> PairedCI:
    """Percentile interval of the mean over resampled seeds of per-seed Δs.

    ``draw(j, m, rng)`` returns m independent Δs of seed j, each on its own resample of its
    test images. Replicate b draws n_seeds seeds with replacement; a seed drawn twice gets two
    independent image resamples.
    """
    n_boot = _check_n_boot(n_boot)
    _check_level(ci, "ci")
    rng = _rng(seed)
    picks = rng.integers(0, n_seeds, (n_boot, n_seeds))
    reps = np.empty((n_boot, n_seeds))
    for j in range(n_seeds):
        where = picks == j
        reps[where] = draw(j, int(where.sum()), rng)
    low, high = np.quantile(reps.mean(axis=1), [(1 - ci) / 2, (1 + ci) / 2])
    return PairedCI(float(point), float(low), float(high), n_seeds)


def hierarchical_bootstrap_ci(
    per_seed: Mapping, n_boot: int = 2000, ci: float = 0.95,
    seed: int | np.random.Generator = 0, multi_class: str = "ovo",
    from_logits: bool | None = None,
) -> PairedCI:
    """Hierarchical bootstrap interval of a paired ΔAUC = AUC(b) − AUC(a), seeds then images.

    Each replicate resamples the seeds with replacement, then, within each drawn seed, its
    test images with replacement and stratified by class (both arms on the same resample);
    the statistic is the mean over the drawn seeds of AUC(b) − AUC(a) (``metrics.auc``).
    The cost is n_boot × n_seeds × 2 scikit-learn AUCs (~3 ms each for K = 3).

    Args:
        per_seed: {seed: (labels (N,), scores_a (N, K), scores_b (N, K))}, both arms'
            logits or probabilities on the same test images, row-aligned
            (``paired_predictions`` builds it from the stored predictions).
        n_boot: replicates; ci: coverage in (0, 1); seed: seed or Generator.
        multi_class, from_logits: as in ``metrics.auc``.

    Returns:
        PairedCI(estimate, low, high, n_seeds); estimate on the full test sets.
    """
    if multi_class not in MULTI_CLASS:
        raise ValueError(f"multi_class must be 'ovo' or 'ovr', got {multi_class!r}")
    if not isinstance(per_seed, Mapping) or not per_seed:
        raise ValueError("per_seed must be a non-empty {seed: (labels, scores_a, scores_b)}")
    arms = []
    for key, item in per_seed.items():
        if len(item) != 3:
            raise ValueError(f"per_seed[{key!r}] must be (labels, scores_a, scores_b)")
        shape_a, shape_b = tuple(np.shape(item[1])), tuple(np.shape(item[2]))
        if shape_a != shape_b:
            raise ValueError(f"per_seed[{key!r}]: scores_a {shape_a} and scores_b {shape_b} "
                             "must cover the same images and classes")
        y, pa = class_probabilities(item[0], item[1], from_logits)
        _, pb = class_probabilities(item[0], item[2], from_logits)
        arms.append((y, pa, pb, [np.flatnonzero(y == c) for c in range(pa.shape[1])]))

    def delta(y, pa, pb, idx):
        return auc(y[idx], pb[idx], multi_class, False) - auc(y[idx], pa[idx], multi_class, False)

    def draw(j, m, rng):
        y, pa, pb, by_class = arms[j]
        out = np.empty(m)
        for r in range(m):
            idx = np.concatenate([rng.choice(ix, size=ix.size) for ix in by_class])
            out[r] = delta(y, pa, pb, idx)
        return out

    point = np.mean([delta(y, pa, pb, slice(None)) for y, pa, pb, _ in arms])
    return _hierarchical(draw, len(arms), point, n_boot, ci, seed)


def hierarchical_bootstrap_mean_ci(
    per_seed: Mapping, n_boot: int = 2000, ci: float = 0.95,
    seed: int | np.random.Generator = 0,
) -> PairedCI:
    """Hierarchical bootstrap interval of a paired Δ of per-image scores, seeds then images.

    As ``hierarchical_bootstrap_ci`` with the per-seed statistic mean(b) − mean(a) over the
    resampled images: for per-image scores such as pointing-game hits or CC.

    Args:
        per_seed: {seed: (values_a (N,), values_b (N,))} on the same test images; an image
            with NaN in either arm (e.g. a pointing-game image that is not valid) is left out.

    Returns:
        PairedCI(estimate, low, high, n_seeds).
    """
    if not isinstance(per_seed, Mapping) or not per_seed:
        raise ValueError("per_seed must be a non-empty {seed: (values_a, values_b)}")
    diffs = []
    for key, item in per_seed.items():
        if len(item) != 2:
            raise ValueError(f"per_seed[{key!r}] must be (values_a, values_b)")
        va, vb = (np.asarray(v, dtype=float) for v in item)
        if va.ndim != 1 or va.shape != vb.shape:
            raise ValueError(f"per_seed[{key!r}]: values must be two (N,) arrays, got "
                             f"{va.shape} and {vb.shape}")
        d = (vb - va)[np.isfinite(va) & np.isfinite(vb)]
        if d.size == 0:
            raise ValueError(f"per_seed[{key!r}] has no image scored in both arms")
        diffs.append(d)

    def draw(j, m, rng):
        d = diffs[j]
        return d[rng.integers(0, d.size, (m, d.size))].mean(axis=1)

    point = np.mean([d.mean() for d in diffs])
    return _hierarchical(draw, len(diffs), point, n_boot, ci, seed)


def _score_columns(frame: pd.DataFrame) -> list[str]:
    """Score columns, logits first: ``logit_0, ...`` (the results store), ``logit0`` or ``p0``."""
    for prefix in ("logit_", "logit", "p"):
        cols = [c for c in frame.columns if re.fullmatch(rf"{prefix}\d+", str(c))]
        if cols:
            return sorted(cols, key=lambda c: int(c[len(prefix):]))
    raise ValueError(f"predictions have no score columns logit_0.. / p0..; {list(frame.columns)}")


def paired_predictions(
    predictions: pd.DataFrame, a: str, b: str, network: str | None = None,
    image: str = "dicom_id",
) -> dict:
    """``hierarchical_bootstrap_ci``'s input from stored test predictions of two variants.

    Args:
        predictions: one row per run × test image, with ``variant``, ``seed``, ``image``,
            ``label`` and score columns ``logit_0, logit_1, ...`` (the results store's; or
            ``p0, ...``), and ``network`` when ``network`` is given: the store's per-run
            prediction files concatenated with their run's network, variant and seed.
        a, b: the variants compared (Δ = b − a).
        network: keep only this network's runs.
        image: column identifying a test image; the arms are aligned on it per seed.

    Returns:
        {seed: (labels, scores_a, scores_b)}, images sorted by ``image``. Seeds missing an
        arm are dropped with a warning.
    """
    need = ["variant", "seed", image, "label"] + (["network"] if network is not None else [])
    _check_columns(predictions, need)
    if network is not None:
        predictions = predictions[predictions["network"] == network]
    cols = _score_columns(predictions)
    out, missing = {}, []
    for s, part in predictions.groupby("seed", sort=True):
        arm_a, arm_b = (part[part["variant"] == v].set_index(image) for v in (a, b))
        if arm_a.empty or arm_b.empty:
            missing.append(s)
            continue
        if set(arm_a.index) != set(arm_b.index) or not arm_a.index.is_unique:
            raise ValueError(f"seed {s}: {a!r} and {b!r} must hold the same test images once")
        arm_a = arm_a.sort_index()  # the result does not depend on the stored row order
        arm_b = arm_b.loc[arm_a.index]
        if (arm_a["label"].to_numpy() != arm_b["label"].to_numpy()).any():
            raise ValueError(f"seed {s}: labels of {a!r} and {b!r} disagree")
        out[s] = (arm_a["label"].to_numpy(), arm_a[cols].to_numpy(float),
                  arm_b[cols].to_numpy(float))
    if missing:
        warnings.warn(f"paired_predictions({a!r} vs {b!r}): seeds {missing} lack an arm; "
                      "dropped", stacklevel=2)
    return out


def paired_summary(
    runs: pd.DataFrame, metric: str, comparisons: Sequence[tuple[str, str]],
    primary: tuple[str, str], by: str = "network", predictions: pd.DataFrame | None = None,
    n_boot: int = 2000, ci: float = 0.95, seed: int = 0,
) -> pd.DataFrame:
    """The paired comparisons of arms, one row per ``by`` value × comparison.

    For each comparison (a, b) and network: the per-seed differences metric[b] − metric[a]
    (``paired_differences``); their mean (``estimate``); an interval; the exact sign-flip
    p-value (``sign_flip_test``). The interval resamples the seeds (percentile bootstrap,
    ``hierarchical_bootstrap_mean_ci`` with one value per seed, so no image level) or, when
    ``predictions`` are given and ``metric`` is "auc_ovo"/"auc_ovr", seeds then test images
    (``hierarchical_bootstrap_ci``); its estimate then comes from the predictions too.

    The ``primary`` comparison, named before the sweep, is flagged ``primary = True`` and
    its p is not adjusted (``p_holm`` = ``p``); Holm's adjustment runs over every other row
    of the table together (all networks), the secondary family.

    Returns:
        DataFrame with ``by``, ``a``, ``b``, ``metric``, ``primary``, ``n_seeds``,
        ``estimate``, ``low``, ``high``, ``p``, ``p_holm``, ``interval`` ("seeds" or
        "seeds+images"). A comparison without any paired seed is absent, with a warning.
    """
    primary = tuple(primary)
    pairs = [primary] + [tuple(c) for c in comparisons if tuple(c) != primary]
    _check_columns(runs, [by, "variant", "seed", metric])
    use_images = predictions is not None and metric in ("auc_ovo", "auc_ovr")
    rows = []
    for key, part in runs.groupby(by, sort=False):
        for a, b in pairs:
            d = paired_differences(part, metric, a, b, by=None)
            if d.empty:
                warnings.warn(f"paired_summary: no paired seeds for {b!r} − {a!r} ({by} = "
                              f"{key})", stacklevel=2)
                continue
            if use_images:
                per_seed = paired_predictions(predictions, a, b, network=key)
                per_seed = {s: v for s, v in per_seed.items() if s in set(d["seed"])}
                res = hierarchical_bootstrap_ci(per_seed, n_boot, ci, seed, metric[-3:])
            else:
                per_seed = {s: ([0.0], [x]) for s, x in zip(d["seed"], d["diff"])}
                res = hierarchical_bootstrap_mean_ci(per_seed, n_boot, ci, seed)
            rows.append({by: key, "a": a, "b": b, "metric": metric, "primary": (a, b) == primary,
                         "n_seeds": res.n_seeds, "estimate": res.estimate, "low": res.low,
                         "high": res.high, "p": sign_flip_test(d["diff"].to_numpy(), seed),
                         "interval": "seeds+images" if use_images else "seeds"})
    table = pd.DataFrame(rows, columns=[by, "a", "b", "metric", "primary", "n_seeds",
                                        "estimate", "low", "high", "p", "interval"])
    table["p_holm"] = table["p"].astype(float)
    secondary = ~table["primary"].astype(bool)
    table.loc[secondary, "p_holm"] = holm(table.loc[secondary, "p"])
    return table[[by, "a", "b", "metric", "primary", "n_seeds", "estimate", "low", "high",
                  "p", "p_holm", "interval"]]
