"""Algorithm 1: the visual heat map Ψ from gaze coordinates, exact and fast.

Algorithm 1 histograms the M gaze points at image resolution, blurs with a Gaussian,
resamples to the Ω grid and normalises to [0, 1]. Histogram, blur and area resampling are
all linear, so the exact average of the blurred image over an Ω cell is a sum over points of
separable Gaussian integrals, i.e. differences of the normal CDF (erf). That costs
O(M·(h + w)) plus one (h×M)·(M×w) product, instead of blurring a 3056×2544 array.

The grid placement (which image pixel lands in which cell) is ``ggcam.geometry``'s rule.
``reference_heatmap`` is the literal, slow version the tests compare against.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import ndimage
from scipy.special import ndtr

from ggcam.geometry import GridGeometry, block_mean, grid_geometry, pad_to_canvas

RESAMPLE_MODES = ("area", "stride")
NORMALIZE_MODES = ("max", "sum", None)


def sigma_from_kernel_size(kernel_size: int) -> float:
    """σ that OpenCV's ``GaussianBlur(ksize=B, sigma=0)`` uses: 0.3((B−1)/2 − 1) + 0.8.

    An even B is made odd first (B + 1), as the released code does: B = 500 gives σ = 75.5 px.
    """
    if isinstance(kernel_size, bool) or int(kernel_size) != kernel_size or kernel_size < 3:
        raise ValueError(f"kernel_size must be an integer >= 3, got {kernel_size!r}")
    b = int(kernel_size)
    b = b + 1 if b % 2 == 0 else b
    return 0.3 * ((b - 1) / 2 - 1) + 0.8


def _resolve_sigma(sigma, kernel_size) -> tuple[float, int | None]:
    """σ in pixels and, for a kernel size, the truncation radius (B − 1)/2 of the odd B."""
    if (sigma is None) == (kernel_size is None):
        raise ValueError(
            f"give exactly one of sigma and kernel_size, got sigma={sigma!r}, "
            f"kernel_size={kernel_size!r}"
        )
    if kernel_size is not None:
        s = sigma_from_kernel_size(kernel_size)
        b = int(kernel_size)
        return s, ((b + 1 if b % 2 == 0 else b) - 1) // 2
    if not (isinstance(sigma, (int, float, np.floating, np.integer)) and math.isfinite(sigma)
            and sigma > 0):
        raise ValueError(f"sigma must be a finite number > 0 (pixels), got {sigma!r}")
    return float(sigma), None


def _valid_points(xy, weights, image_shape) -> tuple[np.ndarray, np.ndarray, int]:
    """Pixel indices (col, row) and weights of the points inside the image, and the dropped count."""
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"xy must have shape (M, 2) as (x, y), got {xy.shape}")
    if not np.isfinite(xy).all():
        bad = xy[~np.isfinite(xy).all(axis=1)][0]
        raise ValueError(f"xy has non-finite coordinates, e.g. {bad.tolist()}")
    if weights is None:
        w = np.ones(len(xy))
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (len(xy),):
            raise ValueError(f"weights must have shape ({len(xy)},), got {w.shape}")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError(f"weights must be finite and >= 0, got min {np.nanmin(w)!r}")
    H0, W0 = image_shape
    inside = (xy[:, 0] >= 0) & (xy[:, 0] < W0) & (xy[:, 1] >= 0) & (xy[:, 1] < H0)
    # Step 1-2 of Algorithm 1: one histogram bin per image pixel.
    pix = np.floor(xy[inside]).astype(np.int64)
    return pix, w[inside], int((~inside).sum())


def _normalize(psi: np.ndarray, normalize) -> np.ndarray:
    if normalize == "max":
        peak = psi.max()
        return psi / peak if peak > 0 else psi
    if normalize == "sum":
        total = psi.sum()
        return psi / total if total > 0 else psi
    return psi


def _check_modes(resample, normalize, align: str = "receptive-field") -> None:
    if resample not in RESAMPLE_MODES:
        raise ValueError(f"resample must be one of {RESAMPLE_MODES}, got {resample!r}")
    if resample == "stride" and align != "receptive-field":
        # The released code keeps every c-th canvas pixel: the receptive-field centres. A
        # "block" form of it would be neither the released code nor the old area rule.
        raise ValueError(f"resample='stride' (the released code's every c-th pixel) lands on "
                         f"the receptive-field centres and has no align={align!r} form; compare "
                         "alignments with resample='area'")
    if normalize not in NORMALIZE_MODES:
        raise ValueError(f"normalize must be one of {NORMALIZE_MODES}, got {normalize!r}")


def _cell_integrals(centres: np.ndarray, edges: np.ndarray, extent: int, sigma: float) -> np.ndarray:
    """∫ over each cell ∩ [0, extent] of N(t; centre, σ): shape (M, n_cells)."""
    e = np.clip(edges, 0, extent)
    cdf = ndtr((e[None, :] - centres[:, None]) / sigma)
    return np.diff(cdf, axis=1)


def _sampled_kernel(sigma: float, radius: int) -> np.ndarray:
    d = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-(d**2) / (2 * sigma**2))
    return g / g.sum()


def _stride_weights(pix: np.ndarray, positions: np.ndarray, extent: int, sigma: float,
                    radius: int) -> np.ndarray:
    """Blurred-image value factor at integer ``positions`` from points at pixels ``pix``.

    The kernel is OpenCV's: sampled, truncated at ``radius``, normalised, with its default
    BORDER_REFLECT_101 (a point at p also acts from −p and 2(extent−1)−p).
    """
    if radius >= extent:
        raise ValueError(
            f"resample='stride' needs a kernel radius ({radius} px) smaller than the image side "
            f"({extent} px)"
        )
    g = _sampled_kernel(sigma, radius)
    out = np.zeros((len(pix), len(positions)))
    inside = (positions >= 0) & (positions < extent)
    images = [pix, -pix, 2 * (extent - 1) - pix]
    seen = []
    for k in images:
        # Reflections that coincide with the point itself (p = 0 or p = extent − 1) count once.
        dup = np.zeros(len(pix), dtype=bool)
        for s in seen:
            dup |= s == k
        seen.append(k)
        d = positions[None, :] - k[:, None]
        ok = (np.abs(d) <= radius) & inside[None, :] & ~dup[:, None]
        out[ok] += g[d[ok] + radius]
    return out


def gaze_heatmap(xy: ArrayLike, image_shape: tuple[int, int], out_shape: tuple[int, int], *,
                 sigma: float | None = None, kernel_size: int | None = None,
                 weights: ArrayLike | None = None, resample: str = "area",
                 normalize: str | None = "max", return_dropped: bool = False,
                 align: str = "receptive-field") -> np.ndarray | tuple[np.ndarray, int]:
    """Visual heat map Ψ on the Ω grid (Algorithm 1).

    Args:
        xy: gaze points, shape (M, 2), as (x = column, y = row) in image pixels.
        image_shape: (H0, W0) of the image the points refer to.
        out_shape: (h, w) of the Ω grid; placement as in ``ggcam.geometry``.
        sigma: blur standard deviation in image pixels, or
        kernel_size: the released code's B, converted with OpenCV's rule (B=500 → σ=75.5).
        weights: optional (M,) non-negative weight per point (e.g. fixation duration).
        resample: ``"area"`` (default): the exact mean of the blurred image over each cell,
            zero boundary (blur mass leaving the image is lost). ``"stride"``: the released
            code, which blurs with OpenCV's truncated kernel and reflect-101 border, centre-pads
            and keeps every c-th pixel of the canvas.
        normalize: ``"max"`` (divide by the peak, Algorithm 1 step 5), ``"sum"`` or ``None``.
        return_dropped: also return how many points fell outside the image.
        align: ``"receptive-field"`` (default): cells centred where the network's Ω cells look;
            ``"block"``: the earlier rule, half a cell off (``ggcam.geometry``).

    Returns:
        Ψ, float32 of shape (h, w) (and the dropped count). No valid point gives all zeros.
    """
    _check_modes(resample, normalize, align)
    s, radius = _resolve_sigma(sigma, kernel_size)
    geom = grid_geometry(image_shape, out_shape, align)
    pix, w, dropped = _valid_points(xy, weights, geom.image_shape)
    h, wd = geom.grid_shape
    H0, W0 = geom.image_shape
    c = geom.cell
    if resample == "area":
        row_edges, col_edges = geom.row_edges(), geom.col_edges()
        # The histogram bin of pixel p is the unit interval [p, p+1): its mass sits at p + 0.5.
        rows = _cell_integrals(pix[:, 1] + 0.5, row_edges, H0, s)
        cols = _cell_integrals(pix[:, 0] + 0.5, col_edges, W0, s)
        psi = (rows * w[:, None]).T @ cols / (c * c)
    else:
        radius = radius if radius is not None else int(round(4 * s))
        rows = _stride_weights(pix[:, 1], np.arange(h) * c - geom.top, H0, s, radius)
        cols = _stride_weights(pix[:, 0], np.arange(wd) * c - geom.left, W0, s, radius)
        psi = (rows * w[:, None]).T @ cols
    psi = _normalize(psi, normalize).astype(np.float32)
    return (psi, dropped) if return_dropped else psi


def reference_heatmap(xy: ArrayLike, image_shape: tuple[int, int], out_shape: tuple[int, int], *,
                      sigma: float | None = None, kernel_size: int | None = None,
                      weights: ArrayLike | None = None, resample: str = "area",
                      normalize: str | None = "max", align: str = "receptive-field") -> np.ndarray:
    """Algorithm 1 done literally at full resolution (slow; the tests' reference).

    Histogram → ``scipy.ndimage`` blur → resample → normalise. ``"area"`` blurs with a zero
    boundary (truncated at 6σ, where the tail is below float32 resolution); ``"stride"`` with
    OpenCV's truncated kernel and reflect-101 border (scipy's ``mode="mirror"``).
    """
    _check_modes(resample, normalize, align)
    s, radius = _resolve_sigma(sigma, kernel_size)
    geom: GridGeometry = grid_geometry(image_shape, out_shape, align)
    pix, w, _ = _valid_points(xy, weights, geom.image_shape)
    hist = np.zeros(geom.image_shape)
    np.add.at(hist, (pix[:, 1], pix[:, 0]), w)
    if resample == "area":
        blurred = ndimage.gaussian_filter(hist, s, mode="constant", cval=0.0, truncate=6.0)
        psi = block_mean(blurred, geom)
    else:
        radius = radius if radius is not None else int(round(4 * s))
        g = _sampled_kernel(s, radius)
        blurred = ndimage.correlate1d(hist, g, axis=0, mode="mirror")
        blurred = ndimage.correlate1d(blurred, g, axis=1, mode="mirror")
        psi = pad_to_canvas(blurred, geom)[:: geom.cell, :: geom.cell]
    return _normalize(psi, normalize).astype(np.float32)
