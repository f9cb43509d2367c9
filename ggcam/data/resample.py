"""Putting an original-resolution image on the network input, by ``ggcam.geometry``'s rule.

The image is centre-padded to the canvas (h·c, w·c) and that canvas is area-resampled to the
input (h·s, w·s), s being the network stride, so canvas pixel c·i is input pixel s·i on both
axes (the factor c/s is the same). Ω cell (i, j) looks at the receptive field centred on input
pixel (s·i, s·j); ``ggcam.geometry`` places the gaze map's and the masks' cell (i, j) on the
same centre, so image, gaze map and masks line up. Each output pixel is the exact
area-weighted mean of the canvas pixels it overlaps, computed as two sparse matrix products
without materialising the zero padding; for an integer
factor that is the block mean (3056×2544 → 1536×1280: pad to 3072×2560 and halve), and it
is 3-6× faster than padding and reshaping.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import sparse

from ggcam.geometry import GridGeometry


@lru_cache(maxsize=64)
def area_matrix(n_canvas: int, n_out: int, first: int, n_in: int) -> sparse.csr_matrix:
    """(n_out, n_in) weights of canvas pixels [first, first + n_in) in each output pixel.

    Output pixel i covers canvas [i·r, (i+1)·r) with r = n_canvas / n_out; a canvas pixel p
    contributes |[p, p+1) ∩ that interval| / r.
    """
    r = n_canvas / n_out
    p = np.arange(n_in) + first
    lo = np.floor(p / r).astype(np.int64)  # first output touched by pixel p
    hi = np.minimum(np.floor((p + 1) / r - 1e-12).astype(np.int64), n_out - 1)
    rows, cols, vals = [], [], []
    for k in range(int((hi - lo).max(initial=0)) + 1):
        out = lo + k
        ok = out <= hi
        overlap = np.minimum(p + 1, (out + 1) * r) - np.maximum(p, out * r)
        ok &= overlap > 0
        rows.append(out[ok])
        cols.append(np.flatnonzero(ok))
        vals.append(overlap[ok] / r)
    return sparse.csr_matrix((np.concatenate(vals).astype(np.float32),
                              (np.concatenate(rows), np.concatenate(cols))), shape=(n_out, n_in))


def to_input(image: np.ndarray, geometry: GridGeometry, stride: int) -> np.ndarray:
    """float32 (H0, W0) image → float32 (h·stride, w·stride) network input.

    Args:
        image: (H0, W0), the geometry's image shape.
        geometry: ``grid_geometry(image.shape, (h, w))``.
        stride: input pixels per Ω cell.
    """
    if image.shape != geometry.image_shape:
        raise ValueError(f"image has shape {image.shape}, geometry expects {geometry.image_shape}")
    h, w = geometry.grid_shape
    c = geometry.cell
    image = np.asarray(image, dtype=np.float32)
    H0, W0 = geometry.image_shape
    ay = area_matrix(h * c, h * stride, geometry.top, H0)
    ax = area_matrix(w * c, w * stride, geometry.left, W0)
    rows = ay @ image  # (h·s, W0)
    return np.ascontiguousarray((ax @ rows.T).T, dtype=np.float32)


def points_to_input(xy: np.ndarray, geometry: GridGeometry, stride: int) -> np.ndarray:
    """Image pixel points (M, 2) as (x, y) → network-input coordinates, float32 (M, 2).

    Pixel p spans [p, p + 1) in both spaces; an image pixel's centre p + 0.5 is mapped, so
    ``floor`` of the result is the input pixel holding it.
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    shift = np.array([geometry.left, geometry.top], dtype=np.float64)
    return ((xy + 0.5 + shift) * (stride / geometry.cell)).astype(np.float32)
