"""The maps a network's Ω^Y must beat, and whether any map can beat them at an input size.

* ``mean_prior_maps``: the mean training Ψ for every image (the "mean-gaze prior").
* ``best_fixed_location`` + ``fixed_location_maps``: one input pixel fitted on the training
  images' findings, as everyone's map.
* ``random_peak_chance``: a uniformly random peak (and, for energy and AUROC, a uniform map).
* ``oracle_maps``: the true findings averaged onto the Ω grid: the best a grid map can do.
* ``dynamic_range`` / ``passes_dynamic_range``: does the oracle beat the best fixed location
  by a margin? (``ggcam.experiment.design_checks`` picks the study's input size with it.)

Scored with ``ggcam.metrics.image_localisation``; masks are bool (N, H, W) in input pixels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.ndimage import distance_transform_edt

from ggcam.geometry import block_mean, grid_geometry
from ggcam.metrics.arrays import to_numpy
from ggcam.metrics.checks import (
    class_labels,
    map_stack,
    mask_stack,
    non_negative,
    pair,
    positive_count,
    stride_of,
)
from ggcam.metrics.image_localisation import METRICS, mean_scores, upsample_maps
from ggcam.study import CLASS_NAMES

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from torch import Tensor


def _near(masks: np.ndarray, tolerance_px: float) -> np.ndarray:
    """bool (N, H, W): pixels within ``tolerance_px`` of a mask pixel (empty mask: none)."""
    near = np.zeros(masks.shape, dtype=bool)
    for i in np.flatnonzero(masks.any(axis=(1, 2))):
        near[i] = distance_transform_edt(~masks[i]) <= tolerance_px
    return near


def random_peak_chance(masks: ArrayLike | Tensor, tolerance_px: float = 0.0) -> np.ndarray:
    """Per image: the pointing hit rate of a uniformly random peak pixel, i.e. the share of
    pixels within ``tolerance_px`` of the mask. (The uniform map's energy inside is the mask's
    area share, ``masks.mean((1, 2))``; its inside AUROC is 0.5.)

    Returns:
        float (N,); NaN where the mask is empty (not scored).
    """
    k = mask_stack("masks", masks)
    out = _near(k, non_negative(tolerance_px)).mean(axis=(1, 2))
    out[~k.any(axis=(1, 2))] = np.nan
    return out


def mean_prior_maps(train_maps: ArrayLike | Tensor, n: int) -> np.ndarray:
    """The mean-gaze prior: mean_i Ψ_i over training maps (M, h, w), as n maps (n, h, w)."""
    return np.repeat(map_stack("train_maps", train_maps).mean(axis=0)[None], positive_count(n), axis=0)


def best_fixed_location(train_masks: ArrayLike | Tensor,
                        tolerance_px: float = 0.0) -> tuple[int, int]:
    """The input pixel (row, col) with the highest pointing hit rate over the training masks
    (N, H, W) with a finding (first in row-major order among ties). Fit on training images
    only and evaluate on test images, through ``fixed_location_maps``.
    """
    k = mask_stack("train_masks", train_masks)
    scored = k.any(axis=(1, 2))
    if not scored.any():
        raise ValueError("train_masks: no training image has a finding to fit a location on")
    rate = _near(k[scored], non_negative(tolerance_px)).mean(axis=0)
    row, col = np.unravel_index(int(rate.argmax()), rate.shape)
    return int(row), int(col)


def fixed_location_maps(location, n: int, input_shape, sigma_px: float = 16.0) -> np.ndarray:
    """n copies of a Gaussian exp(−d² / 2σ²) centred on input pixel ``location`` (row, col),
    shape (n, H, W), already in input space (score them without ``upsample_maps``).

    Its peak is ``location`` itself, and its inside AUROC is that of the distance to it
    (any σ); only ``energy_inside`` depends on σ (default: half a 32-pixel cell).
    """
    H, W = pair("input_shape", input_shape)
    r, c = (int(v) for v in location)
    if not (0 <= r < H and 0 <= c < W):
        raise ValueError(f"location must lie in input_shape {(H, W)}, got {tuple(location)}")
    if not non_negative(sigma_px, "sigma_px") > 0:
        raise ValueError(f"sigma_px must be > 0, got {sigma_px!r}")
    d2 = (np.arange(H)[:, None] - r) ** 2 + (np.arange(W)[None, :] - c) ** 2
    return np.repeat(np.exp(-d2 / (2.0 * sigma_px**2))[None], positive_count(n), axis=0)


def oracle_maps(masks: ArrayLike | Tensor, grid_shape) -> np.ndarray:
    """The truth masks (N, H, W) averaged onto the Ω grid: (N, h, w), the covered share of each
    cell's receptive-field block [s·i − s/2, s·i + s/2) (``ggcam.geometry.block_mean``).
    Upsampled like any map, it is the best attention supervision on this grid can give."""
    k = mask_stack("masks", masks)
    stride_of(pair("grid_shape", grid_shape), k.shape[1:])
    return block_mean(k.astype(np.float64), grid_geometry(k.shape[1:], grid_shape))


def _baselines(k, train, prior, input_shape, grid_shape, tol, sigma_px) -> dict[str, dict]:
    """The scores of one class's test masks k (n, H, W): oracle, best fixed, [mean prior,]
    random, fitting on that class's training masks ``train`` and maps ``prior`` (or None)."""
    n = len(k)
    fixed = fixed_location_maps(best_fixed_location(train, tol), n, input_shape, sigma_px)
    out = {"oracle": mean_scores(upsample_maps(oracle_maps(k, grid_shape), input_shape), k, tol),
           "best fixed": mean_scores(fixed, k, tol)}
    if prior is not None:
        out["mean prior"] = mean_scores(upsample_maps(mean_prior_maps(prior, n), input_shape), k, tol)
    out["random"] = dict(zip(METRICS, (float(random_peak_chance(k, tol).mean()),
                                       float(k.mean(axis=(1, 2)).mean()), 0.5)))
    return out


def dynamic_range(masks_test, labels_test, masks_train, input_shape, grid_shape,
                  tolerance_px: float, margin: float = 0.1, *, labels_train,
                  train_maps=None, sigma_px: float = 16.0) -> pd.DataFrame:
    """Can any map on this grid beat a constant one? Per class and metric, on the test images
    with a finding: the oracle (``oracle_maps``), the best fixed location fitted on that
    class's training masks (``fixed_location_maps`` with ``sigma_px``), the class's mean
    training Ψ (``train_maps`` (M, h, w), if given) and a random peak / uniform map.

    Args:
        masks_test, masks_train: bool (N, H, W), (M, H, W), input pixels, H, W = input_shape.
        labels_test, labels_train: (N,), (M,) in 0 Normal, 1 CHF, 2 pneumonia; the fixed
            location and the prior are fitted per class (``labels_train`` is required).
        grid_shape: (h, w), input_shape / stride. tolerance_px: pointing tolerance, input px.
        margin: how much the oracle must beat the best fixed location by, on every row.

    Returns:
        columns class, metric, images, oracle, best fixed, [mean prior,] random,
        oracle - fixed, passes (oracle − best fixed ≥ ``margin``).
    """
    kt = mask_stack("masks_test", masks_test)
    ktr = mask_stack("masks_train", masks_train, (len(to_numpy(masks_train, None)), *kt.shape[1:]))
    yt = class_labels(labels_test, len(kt), "labels_test")
    ytr = class_labels(labels_train, len(ktr), "labels_train")
    if train_maps is not None and len(psi := map_stack("train_maps", train_maps)) != len(ktr):
        raise ValueError(f"train_maps must hold one map per training mask ({len(ktr)}), "
                         f"got {len(psi)}")
    if pair("input_shape", input_shape) != kt.shape[1:]:
        raise ValueError(f"input_shape {tuple(input_shape)} differs from the masks' {kt.shape[1:]}")
    stride_of(pair("grid_shape", grid_shape), kt.shape[1:])
    tol, margin, rows = non_negative(tolerance_px), non_negative(margin, "margin"), []
    for c, name in enumerate(CLASS_NAMES):
        sel = (yt == c) & kt.any(axis=(1, 2))
        if not sel.any():
            continue
        prior = None if train_maps is None else psi[ytr == c]
        found = _baselines(kt[sel], ktr[ytr == c], prior, input_shape, grid_shape, tol, sigma_px)
        for metric in METRICS:
            row = {"class": name, "metric": metric, "images": int(sel.sum()),
                   **{key: s[metric] for key, s in found.items()}}
            row["oracle - fixed"] = row["oracle"] - row["best fixed"]
            rows.append(dict(row, passes=bool(row["oracle - fixed"] >= margin)))
    return pd.DataFrame(rows)


def passes_dynamic_range(table: pd.DataFrame) -> bool:
    """True when every row of ``dynamic_range``'s table passes (an empty table is an error)."""
    if "passes" not in table.columns or table.empty:
        raise ValueError("table must be dynamic_range's, with rows; got columns "
                         f"{list(table.columns)}")
    return bool(table["passes"].all())
