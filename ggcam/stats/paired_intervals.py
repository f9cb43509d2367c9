"""Hierarchical bootstrap intervals of a paired Δ between two arms: seeds first, then each
seed's test images (``hierarchical_bootstrap_ci`` for ΔAUC, ``hierarchical_bootstrap_mean_ci``
for per-image scores). ``ggcam.stats.paired`` names them too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ggcam.metrics.classification import MULTI_CLASS, auc, class_probabilities
from ggcam.metrics.resampled_auc import resample_weights, resampled_auc
from ggcam.stats.checks import check_level, check_n_boot, make_rng

if TYPE_CHECKING:
    from numpy.typing import ArrayLike


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
    n_boot = check_n_boot(n_boot)
    check_level(ci, "ci")
    rng = make_rng(seed)
    picks = rng.integers(0, n_seeds, (n_boot, n_seeds))
    reps = np.empty((n_boot, n_seeds))
    for j in range(n_seeds):
        where = picks == j
        reps[where] = draw(j, int(where.sum()), rng)
    low, high = np.quantile(reps.mean(axis=1), [(1 - ci) / 2, (1 + ci) / 2])
    return PairedCI(float(point), float(low), float(high), n_seeds)


def _per_seed_items(per_seed, form: str, size: int):
    """``per_seed.items()``, each item checked to be a tuple of ``size`` (``form`` names them)."""
    if not isinstance(per_seed, Mapping) or not per_seed:
        raise ValueError(f"per_seed must be a non-empty {{seed: {form}}}")
    for key, item in per_seed.items():
        if len(item) != size:
            raise ValueError(f"per_seed[{key!r}] must be {form}")
        yield key, item


def hierarchical_bootstrap_ci(
    per_seed: Mapping[Any, Sequence[ArrayLike]], n_boot: int = 2000, ci: float = 0.95,
    seed: int | np.random.Generator = 0, multi_class: str = "ovo",
    from_logits: bool | None = None,
) -> PairedCI:
    """Hierarchical bootstrap interval of a paired ΔAUC = AUC(b) − AUC(a), seeds then images.

    Each replicate resamples the seeds with replacement, then, within each drawn seed, its
    test images with replacement and stratified by class (both arms on the same resample);
    the statistic is the mean over the drawn seeds of AUC(b) − AUC(a) (``metrics.auc``).
    The resampled AUCs are ``metrics.resampled_auc`` (equal to ``metrics.auc`` to rounding),
    all replicates of a seed at once.

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
    arms = []
    for key, item in _per_seed_items(per_seed, "(labels, scores_a, scores_b)", 3):
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
        idx = np.zeros((m, y.size), dtype=np.intp)
        for r in range(m):  # the same draws, in the same order, as one scikit-learn call each
            idx[r] = np.concatenate([rng.choice(ix, size=ix.size) for ix in by_class])
        weights = resample_weights(idx, y.size)  # all m resamples' AUCs in one pass
        return resampled_auc(y, pb, weights, multi_class) - resampled_auc(y, pa, weights, multi_class)

    point = np.mean([delta(y, pa, pb, slice(None)) for y, pa, pb, _ in arms])
    return _hierarchical(draw, len(arms), point, n_boot, ci, seed)


def hierarchical_bootstrap_mean_ci(
    per_seed: Mapping[Any, Sequence[ArrayLike]], n_boot: int = 2000, ci: float = 0.95,
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
    diffs = []
    for key, item in _per_seed_items(per_seed, "(values_a, values_b)", 2):
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
