"""One run's test AUC with a class-stratified percentile bootstrap interval."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from scipy import stats as sps

from ggcam.metrics.classification import MULTI_CLASS, auc, class_probabilities
from ggcam.metrics.resampled_auc import resample_weights, resampled_auc
from ggcam.stats.checks import check_level, check_n_boot, make_rng

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from torch import Tensor


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
