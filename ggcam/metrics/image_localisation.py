"""Localisation in image space: Ω^Y upsampled to the network input (``upsample_maps``) and
scored against the findings' pixels (``pointing_hits``, ``energy_inside``, ``inside_auroc``;
``mean_scores`` and ``localisation_table`` average them). The constant maps every network must
beat on the same images (mean-gaze prior, best fixed location, random peak) and the oracle live
in ``ggcam.metrics.baselines``, with the dynamic-range check. The grid-level scores
(``ggcam.metrics.localisation``) barely separate a good map from a constant one on a coarse grid.

``upsample_maps`` is not ``ggcam.viz.maps.upsample_bilinear``: that one (``align_corners=
False``) puts cell i at input pixel s·i + s/2 − ½, half a cell off its receptive field.

Masks are bool (or 0/1) arrays (N, H, W) in network-input pixels. An image whose mask is all
False (every Normal image) is **not scored**: per-image outputs hold NaN there, by design,
and every mean is over scored images only.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from ggcam.geometry import STRIDE, grid_geometry
from ggcam.metrics.checks import class_labels, map_stack, mask_stack, non_negative, pair, stride_of
from ggcam.study import CLASS_NAMES

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from torch import Tensor

RELEASE_SHAPE = (3056, 2544)  # EGD-CXR's usual DICOM size (H0, W0), portrait
POINTING_PX = 15.0  # pointing-game tolerance at image resolution (Zhang et al., ECCV 2016)
METRICS = ("pointing", "energy inside", "inside AUROC")

__all__ = ["METRICS", "energy_inside", "inside_auroc", "localisation_table", "mean_scores",
           "pointing_hits", "tolerance_at", "upsample_maps"]


def _checked(up, masks) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maps (N, H, W) float, masks (N, H, W) bool and scored (N,) bool (mask not empty)."""
    m = map_stack("up", up)
    k = mask_stack("masks", masks, m.shape)
    return m, k, k.any(axis=(1, 2))


def _interp(n: int, s: int) -> np.ndarray:
    """(n·s, n) bilinear weights: output pixel p samples the grid at p / s, clamped to [0, n−1]."""
    pos = np.clip(np.arange(n * s) / s, 0, n - 1)
    lo = np.floor(pos).astype(int)
    a = np.zeros((n * s, n))
    np.add.at(a, (np.arange(n * s), lo), 1 - (pos - lo))
    np.add.at(a, (np.arange(n * s), np.minimum(lo + 1, n - 1)), pos - lo)
    return a


def upsample_maps(maps: ArrayLike | Tensor, input_shape) -> np.ndarray:
    """Ω maps (N, h, w) → (N, H, W) on the network input, receptive-field aligned.

    Cell (i, j)'s value lands exactly on input pixel (s·i, s·j), s = H / h = W / w (32 for the
    study's networks), and is interpolated bilinearly in between; rows below s·(h−1) and
    columns right of s·(w−1) repeat the last centre's value. The maximum of the result is
    therefore always at a cell centre.
    """
    m = map_stack("maps", maps)
    H, W = pair("input_shape", input_shape)
    s = stride_of(m.shape[1:], (H, W))
    return (_interp(m.shape[1], s) @ m) @ _interp(m.shape[2], s).T


def tolerance_at(input_shape, release_shape=RELEASE_SHAPE, px: float = POINTING_PX) -> float:
    """The pointing game's ``px`` release pixels in input pixels, at least 1 px.

    Input pixels per release pixel are s / c (``ggcam.geometry``: the release image on the
    input's Ω grid H/32 × W/32 has cells of c pixels, each s = 32 input pixels wide): 15 px is
    7.5 px at 1536×1280, 0.94 → 1 px at 192×160, 1.26 px at 256×224, 1.51 px at 320×256.
    """
    H, W = pair("input_shape", input_shape)
    if H % STRIDE or W % STRIDE:
        raise ValueError(f"input_shape must be multiples of {STRIDE}, got {(H, W)}")
    geom = grid_geometry(pair("release_shape", release_shape), (H // STRIDE, W // STRIDE))
    return max(1.0, non_negative(px, "px") * STRIDE / geom.cell)


def pointing_hits(up: ArrayLike | Tensor, masks: ArrayLike | Tensor,
                  tolerance_px: float = 0.0) -> np.ndarray:
    """Per image: is the first maximum (row-major) of ``up`` (N, H, W) within ``tolerance_px``
    of ``masks`` (N, H, W)? Euclidean distance between pixel centres; 0 means inside.

    Returns:
        float (N,): 1.0 hit, 0.0 miss, NaN where the mask is empty (not scored).
    """
    m, k, scored = _checked(up, masks)
    tol = non_negative(tolerance_px)
    rows, cols = np.divmod(m.reshape(len(m), -1).argmax(axis=1), m.shape[2])
    out = np.full(len(m), np.nan)
    for i in np.flatnonzero(scored):
        r, c = np.nonzero(k[i])
        out[i] = float(np.min((r - rows[i]) ** 2 + (c - cols[i]) ** 2) <= tol * tol)
    return out


def energy_inside(up: ArrayLike | Tensor, masks: ArrayLike | Tensor) -> np.ndarray:
    """Per image: E = Σ_mask u / Σ u, u = (m − min m) / (max m − min m) ∈ [0, 1].

    The share of the min-max scaled map's mass that lies in the mask. A constant map counts
    as uniform (u = 1: E = the mask's area share), with one ``UserWarning`` per call.

    Returns:
        float (N,) in [0, 1]; NaN where the mask is empty (not scored).
    """
    m, k, scored = _checked(up, masks)
    lo = m.min(axis=(1, 2), keepdims=True)
    span = m.max(axis=(1, 2), keepdims=True) - lo
    flat = (span == 0).ravel() & scored
    if flat.any():
        warnings.warn(f"energy_inside: {int(flat.sum())} constant map(s) scored as uniform",
                      stacklevel=2)
    u = np.where(span > 0, (m - lo) / np.where(span > 0, span, 1.0), 1.0)
    out = (u * k).sum(axis=(1, 2)) / u.sum(axis=(1, 2))
    out[~scored] = np.nan
    return out


def inside_auroc(up: ArrayLike | Tensor, masks: ArrayLike | Tensor) -> np.ndarray:
    """Per image: ROC area of map values inside (positives) against outside the mask.

    Mann-Whitney with mid-ranks for ties (= ``sklearn.metrics.roc_auc_score``), so a
    constant map scores 0.5. A mask covering every pixel has no negatives: NaN, with a warning.

    Returns:
        float (N,) in [0, 1]; NaN where the mask is empty (not scored).
    """
    m, k, scored = _checked(up, masks)
    out = np.full(len(m), np.nan)
    ranked = None  # (image, ranks): a baseline repeats one map, ranked once
    for i in np.flatnonzero(scored):
        pos = k[i].ravel()
        n_pos, n_neg = int(pos.sum()), int(pos.size - pos.sum())
        if n_neg == 0:
            warnings.warn(f"inside_auroc: image {i}'s mask covers every pixel; not scored",
                          stacklevel=2)
            continue
        if ranked is None or not np.array_equal(m[i], m[ranked[0]]):
            ranked = (i, rankdata(m[i].ravel()))
        out[i] = (ranked[1][pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return out


def mean_scores(up: np.ndarray, masks: np.ndarray, tol: float) -> dict[str, float]:
    """Means over the scored images of the three metrics (``METRICS`` keys)."""
    with warnings.catch_warnings():  # constant maps as uniform: the documented convention
        warnings.filterwarnings("ignore", "energy_inside: .* constant map", UserWarning)
        per = (pointing_hits(up, masks, tol), energy_inside(up, masks), inside_auroc(up, masks))
    return {name: float(np.nanmean(v)) for name, v in zip(METRICS, per)}


def localisation_table(maps, masks, labels, input_shape, tolerance_px: float) -> pd.DataFrame:
    """Per class with scored images: mean pointing, energy inside and inside AUROC of Ω^Y.

    Args:
        maps: Ω^Y of the true class, (N, h, w), any range. masks: bool (N, H, W), input
            pixels. labels: (N,) in 0 Normal, 1 CHF, 2 pneumonia. input_shape: (H, W).
        tolerance_px: pointing tolerance in input pixels (``tolerance_at``).

    Returns:
        columns class, images (scored), pointing, energy inside, inside AUROC; images with an
        empty mask are left out of every mean, and a class without one has no row.
    """
    up = upsample_maps(maps, input_shape)
    k = mask_stack("masks", masks, up.shape)
    y, scored = class_labels(labels, len(up), "labels"), k.any(axis=(1, 2))
    rows = []
    for c, name in enumerate(CLASS_NAMES):
        if (sel := scored & (y == c)).any():
            rows.append({"class": name, "images": int(sel.sum()),
                         **mean_scores(up[sel], k[sel], tolerance_px)})
    if not rows:
        warnings.warn("localisation_table: no image has a finding; the table is empty",
                      stacklevel=2)
    return pd.DataFrame(rows, columns=["class", "images", *METRICS])


