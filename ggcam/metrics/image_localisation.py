"""Localisation in image space: Ω^Y upsampled to the network input (``upsample_maps``) and
scored against the findings' pixels (``pointing_hits``, ``energy_inside``, ``inside_auroc``),
beside constant maps on the same images: the mean training Ψ (``mean_prior_maps``), one pixel
fitted on training masks (``best_fixed_location``, ``fixed_location_maps``), a random peak
(``random_peak_chance``), and the oracle (``oracle_maps``: the mask averaged onto the grid, the
best any grid map can do). ``dynamic_range`` asks whether the oracle beats the fixed pixel at
an input size at all; the grid-level scores (``ggcam.metrics.localisation``) barely separate a
good map from a constant one on a coarse grid.

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
from scipy.ndimage import distance_transform_edt
from scipy.stats import rankdata

from ggcam.geometry import STRIDE, block_mean, grid_geometry
from ggcam.metrics.localisation import bool_masks
from ggcam.metrics.saliency import to_numpy
from ggcam.study import CLASS_NAMES

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from torch import Tensor

RELEASE_SHAPE = (3056, 2544)  # EGD-CXR's usual DICOM size (H0, W0), portrait
POINTING_PX = 15.0  # pointing-game tolerance at image resolution (Zhang et al., ECCV 2016)
METRICS = ("pointing", "energy inside", "inside AUROC")

__all__ = [
    "METRICS", "best_fixed_location", "dynamic_range", "energy_inside", "fixed_location_maps",
    "inside_auroc", "localisation_table", "mean_prior_maps", "oracle_maps",
    "passes_dynamic_range", "pointing_hits", "random_peak_chance", "tolerance_at",
    "upsample_maps",
]


def _pair(name: str, shape) -> tuple[int, int]:
    try:
        a, b = (int(s) for s in shape)
        ok = a >= 1 and b >= 1 and (a, b) == tuple(shape)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a pair of positive ints, got {shape!r}")
    return a, b


def _stride(grid: tuple[int, int], input_shape: tuple[int, int]) -> int:
    (h, w), (H, W) = grid, input_shape
    if H % h or W % w or H // h != W // w:
        raise ValueError(f"input_shape {(H, W)} must be grid {(h, w)} times one integer stride")
    return H // h


def _tol(value, name: str = "tolerance_px") -> float:
    if isinstance(value, bool) or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _count(n) -> int:
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    return int(n)


def _stack(name: str, x) -> np.ndarray:
    a = to_numpy(x)
    if a.ndim != 3 or len(a) == 0:
        raise ValueError(f"{name} must have shape (N, rows, cols), N >= 1, got {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


def _masks(name: str, x, shape=None) -> np.ndarray:
    """bool (N, H, W) masks (0/1 accepted); ``shape`` (N, H, W) if it is known already."""
    a = to_numpy(x, dtype=None)
    if shape is None and (a.ndim != 3 or len(a) == 0):
        raise ValueError(f"{name} must have shape (N, H, W), N >= 1, got {a.shape}")
    return bool_masks(a, a.shape if shape is None else shape, name)


def _checked(up, masks) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maps (N, H, W) float, masks (N, H, W) bool and scored (N,) bool (mask not empty)."""
    m = _stack("up", up)
    k = _masks("masks", masks, m.shape)
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
    m = _stack("maps", maps)
    H, W = _pair("input_shape", input_shape)
    s = _stride(m.shape[1:], (H, W))
    return (_interp(m.shape[1], s) @ m) @ _interp(m.shape[2], s).T


def tolerance_at(input_shape, release_shape=RELEASE_SHAPE, px: float = POINTING_PX) -> float:
    """The pointing game's ``px`` release pixels in input pixels, at least 1 px.

    Input pixels per release pixel are s / c (``ggcam.geometry``: the release image on the
    input's Ω grid H/32 × W/32 has cells of c pixels, each s = 32 input pixels wide): 15 px is
    7.5 px at 1536×1280, 0.94 → 1 px at 192×160, 1.26 px at 256×224, 1.51 px at 320×256.
    """
    H, W = _pair("input_shape", input_shape)
    if H % STRIDE or W % STRIDE:
        raise ValueError(f"input_shape must be multiples of {STRIDE}, got {(H, W)}")
    geom = grid_geometry(_pair("release_shape", release_shape), (H // STRIDE, W // STRIDE))
    return max(1.0, _tol(px, "px") * STRIDE / geom.cell)


def pointing_hits(up: ArrayLike | Tensor, masks: ArrayLike | Tensor,
                  tolerance_px: float = 0.0) -> np.ndarray:
    """Per image: is the first maximum (row-major) of ``up`` (N, H, W) within ``tolerance_px``
    of ``masks`` (N, H, W)? Euclidean distance between pixel centres; 0 means inside.

    Returns:
        float (N,): 1.0 hit, 0.0 miss, NaN where the mask is empty (not scored).
    """
    m, k, scored = _checked(up, masks)
    tol = _tol(tolerance_px)
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
    k = _masks("masks", masks)
    out = _near(k, _tol(tolerance_px)).mean(axis=(1, 2))
    out[~k.any(axis=(1, 2))] = np.nan
    return out


def mean_prior_maps(train_maps: ArrayLike | Tensor, n: int) -> np.ndarray:
    """The mean-gaze prior: mean_i Ψ_i over training maps (M, h, w), as n maps (n, h, w)."""
    return np.repeat(_stack("train_maps", train_maps).mean(axis=0)[None], _count(n), axis=0)


def best_fixed_location(train_masks: ArrayLike | Tensor,
                        tolerance_px: float = 0.0) -> tuple[int, int]:
    """The input pixel (row, col) with the highest pointing hit rate over the training masks
    (N, H, W) with a finding (first in row-major order among ties). Fit on training images
    only and evaluate on test images, through ``fixed_location_maps``.
    """
    k = _masks("train_masks", train_masks)
    scored = k.any(axis=(1, 2))
    if not scored.any():
        raise ValueError("train_masks: no training image has a finding to fit a location on")
    rate = _near(k[scored], _tol(tolerance_px)).mean(axis=0)
    row, col = np.unravel_index(int(rate.argmax()), rate.shape)
    return int(row), int(col)


def fixed_location_maps(location, n: int, input_shape, sigma_px: float = 16.0) -> np.ndarray:
    """n copies of a Gaussian exp(−d² / 2σ²) centred on input pixel ``location`` (row, col),
    shape (n, H, W), already in input space (score them without ``upsample_maps``).

    Its peak is ``location`` itself, and its inside AUROC is that of the distance to it
    (any σ); only ``energy_inside`` depends on σ (default: half a 32-pixel cell).
    """
    H, W = _pair("input_shape", input_shape)
    r, c = (int(v) for v in location)
    if not (0 <= r < H and 0 <= c < W):
        raise ValueError(f"location must lie in input_shape {(H, W)}, got {tuple(location)}")
    if not _tol(sigma_px, "sigma_px") > 0:
        raise ValueError(f"sigma_px must be > 0, got {sigma_px!r}")
    d2 = (np.arange(H)[:, None] - r) ** 2 + (np.arange(W)[None, :] - c) ** 2
    return np.repeat(np.exp(-d2 / (2.0 * sigma_px**2))[None], _count(n), axis=0)


def oracle_maps(masks: ArrayLike | Tensor, grid_shape) -> np.ndarray:
    """The truth masks (N, H, W) averaged onto the Ω grid: (N, h, w), the covered share of each
    cell's receptive-field block [s·i − s/2, s·i + s/2) (``ggcam.geometry.block_mean``).
    Upsampled like any map, it is the best attention supervision on this grid can give."""
    k = _masks("masks", masks)
    _stride(_pair("grid_shape", grid_shape), k.shape[1:])
    return block_mean(k.astype(np.float64), grid_geometry(k.shape[1:], grid_shape))


def _scores(up: np.ndarray, masks: np.ndarray, tol: float) -> dict[str, float]:
    """Means over the scored images of the three metrics (``METRICS`` keys)."""
    with warnings.catch_warnings():  # constant maps as uniform: the documented convention
        warnings.filterwarnings("ignore", "energy_inside: .* constant map", UserWarning)
        per = (pointing_hits(up, masks, tol), energy_inside(up, masks), inside_auroc(up, masks))
    return {name: float(np.nanmean(v)) for name, v in zip(METRICS, per)}


def _labels(labels, n: int, name: str) -> np.ndarray:
    y = to_numpy(labels, dtype=None)
    if y.shape != (n,) or not np.isin(y, range(len(CLASS_NAMES))).all():
        raise ValueError(f"{name} must be ({n},) ints in [0, {len(CLASS_NAMES)}), got {y.shape}")
    return y.astype(int)


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
    k = _masks("masks", masks, up.shape)
    y, scored = _labels(labels, len(up), "labels"), k.any(axis=(1, 2))
    rows = []
    for c, name in enumerate(CLASS_NAMES):
        if (sel := scored & (y == c)).any():
            rows.append({"class": name, "images": int(sel.sum()),
                         **_scores(up[sel], k[sel], tolerance_px)})
    if not rows:
        warnings.warn("localisation_table: no image has a finding; the table is empty",
                      stacklevel=2)
    return pd.DataFrame(rows, columns=["class", "images", *METRICS])


def _baselines(k, train, prior, input_shape, grid_shape, tol, sigma_px) -> dict[str, dict]:
    """The scores of one class's test masks k (n, H, W): oracle, best fixed, [mean prior,]
    random, fitting on that class's training masks ``train`` and maps ``prior`` (or None)."""
    n = len(k)
    fixed = fixed_location_maps(best_fixed_location(train, tol), n, input_shape, sigma_px)
    out = {"oracle": _scores(upsample_maps(oracle_maps(k, grid_shape), input_shape), k, tol),
           "best fixed": _scores(fixed, k, tol)}
    if prior is not None:
        out["mean prior"] = _scores(upsample_maps(mean_prior_maps(prior, n), input_shape), k, tol)
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
    kt = _masks("masks_test", masks_test)
    ktr = _masks("masks_train", masks_train, (len(to_numpy(masks_train, None)), *kt.shape[1:]))
    yt = _labels(labels_test, len(kt), "labels_test")
    ytr = _labels(labels_train, len(ktr), "labels_train")
    if train_maps is not None and len(psi := _stack("train_maps", train_maps)) != len(ktr):
        raise ValueError(f"train_maps must hold one map per training mask ({len(ktr)}), "
                         f"got {len(psi)}")
    if _pair("input_shape", input_shape) != kt.shape[1:]:
        raise ValueError(f"input_shape {tuple(input_shape)} differs from the masks' {kt.shape[1:]}")
    _stride(_pair("grid_shape", grid_shape), kt.shape[1:])
    tol, margin, rows = _tol(tolerance_px), _tol(margin, "margin"), []
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
