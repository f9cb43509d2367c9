"""Array helpers the metric modules share: ``to_numpy`` (array-like or tensor to NumPy),
``select_labels`` (checked labels Y) and ``fixation_map`` (fixations as a bool map).

``ggcam.metrics.saliency`` names all three too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, DTypeLike
    from torch import Tensor


def to_numpy(x: ArrayLike | Tensor, dtype: DTypeLike = np.float64) -> np.ndarray:
    """A NumPy copy of an array-like or a torch tensor (detached, moved to the CPU)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def select_labels(labels: ArrayLike | Tensor, n: int, k: int) -> np.ndarray:
    """Check labels Y (N,) are integers in [0, K) and return them as an int array."""
    y = to_numpy(labels, dtype=None)
    if y.shape != (n,):
        raise ValueError(f"labels must have shape ({n},), got {y.shape}")
    if y.size and (not np.all(y == np.round(y)) or y.min() < 0 or y.max() >= k):
        raise ValueError(f"labels must be integers in [0, {k}), got values {np.unique(y)}")
    return y.astype(int)


def fixation_map(fixations: ArrayLike | Tensor, shape: tuple[int, int]) -> np.ndarray:
    """A boolean (h, w) fixation map from a boolean map or (row, col) cells.

    Args:
        fixations: bool (h, w) array, or a sequence / (M, 2) array of integer (row, col).
        shape: (h, w) of the saliency map.

    Returns:
        bool array of shape (h, w).
    """
    h, w = shape
    f = to_numpy(fixations, dtype=None)
    if f.dtype == bool:
        if f.shape != (h, w):
            raise ValueError(f"fixation map must have shape {(h, w)}, got {f.shape}")
        return f.copy()
    if f.size == 0:
        f = np.zeros((0, 2))
    elif f.shape == (2,):
        f = f.reshape(1, 2)  # one (row, col)
    if f.ndim != 2 or f.shape[1] != 2 or not np.issubdtype(f.dtype, np.number):
        raise ValueError(
            f"fixations must be a bool {(h, w)} map or (M, 2) (row, col) cells, got {f.shape}"
        )
    if not np.all(f == np.round(f)):
        raise ValueError("fixation cells must be integers (row, col)")
    f = f.astype(int)
    bad = (f[:, 0] < 0) | (f[:, 0] >= h) | (f[:, 1] < 0) | (f[:, 1] >= w)
    if bad.any():
        raise ValueError(f"fixation cells {f[bad].tolist()} lie outside the {h}×{w} grid")
    out = np.zeros((h, w), dtype=bool)
    out[f[:, 0], f[:, 1]] = True
    return out
