"""Localisation on the Ω grid: where does the peak of Ω^Y fall, and how often by chance?

* ``peak_hits``: the rule behind eq. 12 and the pointing game: the first maximum of a map
  (row-major) lies in a mask, or within ``tolerance`` cells of it (Chebyshev distance, so
  tolerance 1 is the 3×3 neighbourhood).
* ``pointing_game``: Ω^Y against the true findings (Zhang et al., "Top-down neural attention
  by excitation backprop", ECCV 2016). Their 15-pixel tolerance is at image resolution; on a
  coarse Ω grid the tolerance is a number of cells instead.
* ``mask_chance``: the hit rate of a peak placed uniformly at random: the share of cells
  within ``tolerance`` of the mask. The chance baseline of eq. 12 and of the pointing game.
* ``centre_prior_agreement``: the mean training Ψ scored as if it were a model's map, with the
  same CC/KL/SIM/NSS/AUC-Judd as ``attention_agreement``: the bar a network must clear to
  claim it attends like the radiologist rather than to where radiologists look on average.

Masks are boolean (or 0/1) arrays of shape (N, h, w), or (h, w) shared by every image.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd
from scipy.ndimage import maximum_filter

from ggcam.metrics.arrays import select_labels, to_numpy
from ggcam.metrics.saliency import attention_agreement

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from torch import Tensor

__all__ = [
    "PointingGame",
    "bool_masks",
    "centre_prior_agreement",
    "mask_chance",
    "near_mask",
    "peak_cells",
    "peak_hits",
    "pointing_game",
]


def _tolerance(tolerance) -> int:
    if isinstance(tolerance, bool) or int(tolerance) != tolerance or tolerance < 0:
        raise ValueError(f"tolerance must be an integer >= 0, got {tolerance!r}")
    return int(tolerance)


def bool_masks(masks: ArrayLike | Tensor, shape: tuple[int, int, int], name: str = "masks") -> np.ndarray:
    """Check boolean or 0/1 masks of shape (N, h, w), broadcasting a shared (h, w) mask.

    Args:
        masks: bool or 0/1, shape (N, h, w) or (h, w).
        shape: (N, h, w) expected.
        name: what the error messages call the argument.

    Returns:
        bool array of shape (N, h, w) (a read-only view when broadcast).
    """
    n, h, w = shape
    m = to_numpy(masks, dtype=None)
    if m.shape == (h, w):
        m = np.broadcast_to(m, (n, h, w))
    if m.shape != (n, h, w):
        raise ValueError(f"{name} must be {(n, h, w)} or {(h, w)}, got {m.shape}")
    if m.dtype != bool:
        if not np.isin(m, (0, 1)).all():
            raise ValueError(f"{name} must be boolean or 0/1")
        m = m.astype(bool)
    return m


def near_mask(masks: ArrayLike | Tensor, tolerance: int = 0) -> np.ndarray:
    """Cells within Chebyshev distance ``tolerance`` of a mask cell (a (2r+1)² dilation).

    Args:
        masks: bool, shape (N, h, w) or (h, w).
        tolerance: r >= 0; 0 returns the masks themselves.

    Returns:
        bool array of the shape of ``masks``.
    """
    r = _tolerance(tolerance)
    m = to_numpy(masks, dtype=None).astype(bool)
    if m.ndim not in (2, 3):
        raise ValueError(f"masks must have shape (N, h, w) or (h, w), got {m.shape}")
    if r == 0:
        return m.copy()
    size = (2 * r + 1,) * 2 if m.ndim == 2 else (1, 2 * r + 1, 2 * r + 1)
    return maximum_filter(m, size=size, mode="constant", cval=False)


def peak_cells(maps: ArrayLike | Tensor) -> np.ndarray:
    """(row, col) of each map's first maximum in row-major order (NumPy's argmax rule).

    Args:
        maps: shape (N, h, w), finite.

    Returns:
        int array of shape (N, 2).
    """
    m = to_numpy(maps)
    if m.ndim != 3:
        raise ValueError(f"maps must have shape (N, h, w), got {m.shape}")
    if not np.isfinite(m).all():
        raise ValueError("maps contain NaN or infinite values")
    flat = m.reshape(m.shape[0], -1).argmax(axis=1)
    return np.stack(np.divmod(flat, m.shape[2]), axis=1)


def peak_hits(maps: ArrayLike | Tensor, masks: ArrayLike | Tensor, tolerance: int = 0) -> np.ndarray:
    """Per image: does the peak of the map lie within ``tolerance`` cells of the mask?

    Args:
        maps: shape (N, h, w).
        masks: bool or 0/1, shape (N, h, w) or (h, w).
        tolerance: r >= 0 cells (Chebyshev, clipped at the grid border); 0 is strict.

    Returns:
        bool array of shape (N,).
    """
    r = _tolerance(tolerance)
    cells = peak_cells(maps)
    near = near_mask(bool_masks(masks, to_numpy(maps).shape), r)
    return near[np.arange(len(cells)), cells[:, 0], cells[:, 1]]


def mask_chance(masks: ArrayLike | Tensor, tolerance: int = 0) -> np.ndarray | float:
    """Chance hit rate of a uniformly random peak: the share of cells within ``tolerance``.

    Args:
        masks: bool or 0/1, shape (N, h, w) or (h, w).
        tolerance: r >= 0, as in ``peak_hits``.

    Returns:
        float for one (h, w) mask, else a float array of shape (N,).
    """
    m = to_numpy(masks, dtype=None)
    if m.ndim not in (2, 3):
        raise ValueError(f"masks must have shape (N, h, w) or (h, w), got {m.shape}")
    single = m.ndim == 2
    m = bool_masks(m, (1, *m.shape) if single else m.shape)
    share = near_mask(m, tolerance).mean(axis=(1, 2))
    return float(share[0]) if single else share


class PointingGame(NamedTuple):
    hits: np.ndarray  # bool (N,); False where not valid
    valid: np.ndarray  # bool (N,): the image has at least one true-finding cell
    rate: float | None  # mean of hits over valid images; None when none is valid
    chance: float | None  # mean mask_chance over valid images (random-peak hit rate)


def pointing_game(
    cams: ArrayLike | Tensor, labels: ArrayLike | Tensor, truth_masks: ArrayLike | Tensor,
    tolerance: int = 1,
) -> PointingGame:
    """Pointing game of Ω^Y against the true findings, with its chance baseline.

    An image is a hit when the first maximum of Ω^Y (Y its label) lies in a true-finding cell
    or within ``tolerance`` cells of one. Images whose mask is empty (every Normal image, or
    a finding that falls outside the grid) are not scored: ``valid`` is False there.

    Args:
        cams: Ω, shape (N, K, h, w).
        labels: Y, shape (N,), integers in [0, K).
        truth_masks: bool or 0/1, shape (N, h, w): the Ω cells covered by each image's findings.
        tolerance: r >= 0 cells; 0 is strict, 1 the 3×3 neighbourhood (default).

    Returns:
        PointingGame(hits, valid, rate, chance); no NaN anywhere. ``rate`` and ``chance``
        are None, with a ``UserWarning``, when no image is valid.
    """
    omega = to_numpy(cams)
    if omega.ndim != 4:
        raise ValueError(f"cams must have shape (N, K, h, w), got {omega.shape}")
    n, k, h, w = omega.shape
    y = select_labels(labels, n, k)
    truth = bool_masks(truth_masks, (n, h, w), "truth_masks")
    valid = truth.any(axis=(1, 2))
    hits = peak_hits(omega[np.arange(n), y], truth, tolerance) & valid
    if not valid.any():
        warnings.warn("pointing_game: no image has a true-finding cell; rate is None", stacklevel=2)
        return PointingGame(hits, valid, None, None)
    chance = float(mask_chance(truth[valid], tolerance).mean())
    return PointingGame(hits, valid, float(hits[valid].mean()), chance)


def centre_prior_agreement(
    gaze_maps_train: ArrayLike | Tensor, gaze_maps_test: ArrayLike | Tensor,
    fixations: Sequence[ArrayLike] | np.ndarray | Tensor | None = None,
    transform: str | None = "minmax",
) -> pd.DataFrame:
    """The centre-prior baseline: the mean training Ψ scored against each test Ψ.

    The prior P = mean_i Ψ_i over the training images is passed to ``attention_agreement``
    as every test image's map, so its CC, KL, SIM (and, with fixations, NSS and AUC-Judd)
    are on the same scale as a model's.

    Args:
        gaze_maps_train: Ψ of the training images, shape (M, h, w), non-negative.
        gaze_maps_test: Ψ of the test images, shape (N, h, w), non-negative.
        fixations: None, or per test image a bool (h, w) map or (row, col) cells.
        transform: applied to P as to Ω^Y ("minmax", "sigmoid" or None).

    Returns:
        ``attention_agreement``'s DataFrame, one row per test image, without ``label``.
    """
    train = to_numpy(gaze_maps_train)
    test = to_numpy(gaze_maps_test)
    if train.ndim != 3 or len(train) == 0:
        raise ValueError(f"gaze_maps_train must have shape (M, h, w), M >= 1, got {train.shape}")
    if test.ndim != 3 or test.shape[1:] != train.shape[1:]:
        raise ValueError(f"gaze_maps_test must have shape (N, {train.shape[1]}, "
                         f"{train.shape[2]}), got {test.shape}")
    prior = np.broadcast_to(train.mean(axis=0), (len(test), 1, *train.shape[1:]))
    table = attention_agreement(prior, np.zeros(len(test), dtype=int), test, fixations, transform)
    return table.drop(columns="label")
