"""Input checks shared by the image-space localisation metrics and their baselines: each
returns the checked array or number, or raises ``ValueError`` naming the argument and shape."""

from __future__ import annotations

import numpy as np

from ggcam.metrics.arrays import to_numpy
from ggcam.metrics.localisation import bool_masks
from ggcam.study import CLASS_NAMES


def pair(name: str, shape) -> tuple[int, int]:
    try:
        a, b = (int(s) for s in shape)
        ok = a >= 1 and b >= 1 and (a, b) == tuple(shape)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a pair of positive ints, got {shape!r}")
    return a, b


def stride_of(grid: tuple[int, int], input_shape: tuple[int, int]) -> int:
    (h, w), (H, W) = grid, input_shape
    if H % h or W % w or H // h != W // w:
        raise ValueError(f"input_shape {(H, W)} must be grid {(h, w)} times one integer stride")
    return H // h


def non_negative(value, name: str = "tolerance_px") -> float:
    if isinstance(value, bool) or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def positive_count(n) -> int:
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    return int(n)


def map_stack(name: str, x) -> np.ndarray:
    a = to_numpy(x)
    if a.ndim != 3 or len(a) == 0:
        raise ValueError(f"{name} must have shape (N, rows, cols), N >= 1, got {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


def mask_stack(name: str, x, shape=None) -> np.ndarray:
    """bool (N, H, W) masks (0/1 accepted); ``shape`` (N, H, W) if it is known already."""
    a = to_numpy(x, dtype=None)
    if shape is None and (a.ndim != 3 or len(a) == 0):
        raise ValueError(f"{name} must have shape (N, H, W), N >= 1, got {a.shape}")
    return bool_masks(a, a.shape if shape is None else shape, name)


def class_labels(labels, n: int, name: str) -> np.ndarray:
    y = to_numpy(labels, dtype=None)
    if y.shape != (n,) or not np.isin(y, range(len(CLASS_NAMES))).all():
        raise ValueError(f"{name} must be ({n},) ints in [0, {len(CLASS_NAMES)}), got {y.shape}")
    return y.astype(int)
