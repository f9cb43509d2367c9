"""Tests between groups of runs (Figure 3's beside the paper's ANOVA): Welch's ANOVA,
Kruskal-Wallis and Mann-Whitney, the rank tests exact or by permutation for small groups.

Every test comes from SciPy or statsmodels; ``ggcam.stats.unpaired.anova`` arranges them in a
table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from scipy import stats as sps

from ggcam.stats.checks import N_PERMUTATIONS, make_rng

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

SMALL_N = 10  # a group with fewer runs gets exact / permutation rank-test p-values
MAX_EXACT = 100_000  # enumerate every relabelling up to this many, else Monte Carlo


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
