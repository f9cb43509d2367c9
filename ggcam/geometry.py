"""How an image of any size lies on the Ω grid, and hence on the network input.

One rule, used for the gaze map, the masks and the images alike, so the three line up:

* The cell size in image pixels is c = max(⌈H0/h⌉, ⌈W0/w⌉) for an H0×W0 image and an h×w grid.
* The image is centre-padded with zeros to (h·c)×(w·c): ``top = (h·c − H0) // 2`` rows above,
  ``left = (w·c − W0) // 2`` columns to the left.
* Ω cell (i, j) covers image rows [i·c − top, (i+1)·c − top) and columns
  [j·c − left, (j+1)·c − left); rows are y, columns are x.

For the paper's data (3056×2544 DICOMs, a 48×40 grid) c = 64: the image is padded to
3072×2560 exactly as in the released code, and the 1536×1280 network input is that canvas
halved, i.e. "downsampled so that the heights and widths are halved" (section 4.1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GridGeometry:
    image_shape: tuple[int, int]  # (H0, W0), image pixels
    grid_shape: tuple[int, int]  # (h, w), Ω cells
    cell: int  # c, image pixels per cell side
    top: int  # zero rows above the image in the padded canvas
    left: int  # zero columns left of the image

    @property
    def canvas_shape(self) -> tuple[int, int]:
        return self.grid_shape[0] * self.cell, self.grid_shape[1] * self.cell

    def cell_of(self, xy: np.ndarray) -> np.ndarray:
        """(row, col) of the Ω cell holding each image point ``xy`` (M, 2) given as (x, y)."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        rows = np.floor((np.floor(xy[:, 1]) + self.top) / self.cell).astype(int)
        cols = np.floor((np.floor(xy[:, 0]) + self.left) / self.cell).astype(int)
        return np.stack([rows, cols], axis=1)


def _shape2(name: str, shape) -> tuple[int, int]:
    try:
        a, b = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair of positive ints, got {shape!r}") from None
    if a < 1 or b < 1 or (a, b) != tuple(shape):
        raise ValueError(f"{name} must be a pair of positive ints, got {shape!r}")
    return a, b


def grid_geometry(image_shape, grid_shape) -> GridGeometry:
    """The placement of an ``image_shape`` (H0, W0) image on a ``grid_shape`` (h, w) Ω grid."""
    H0, W0 = _shape2("image_shape", image_shape)
    h, w = _shape2("grid_shape", grid_shape)
    cell = max(math.ceil(H0 / h), math.ceil(W0 / w))
    return GridGeometry((H0, W0), (h, w), cell, (h * cell - H0) // 2, (w * cell - W0) // 2)


def pad_to_canvas(image: np.ndarray, geometry: GridGeometry) -> np.ndarray:
    """Zero-pad an (H0, W0) array to the canvas (h·c, w·c), image centred as documented."""
    if image.shape[-2:] != geometry.image_shape:
        raise ValueError(
            f"array has shape {image.shape[-2:]}, geometry expects {geometry.image_shape}"
        )
    H, W = geometry.canvas_shape
    H0, W0 = geometry.image_shape
    pads = [(0, 0)] * (image.ndim - 2) + [
        (geometry.top, H - H0 - geometry.top),
        (geometry.left, W - W0 - geometry.left),
    ]
    return np.pad(image, pads)


def block_mean(image: np.ndarray, geometry: GridGeometry) -> np.ndarray:
    """Average of the padded image over each Ω cell: (H0, W0) → (h, w), float64."""
    h, w = geometry.grid_shape
    c = geometry.cell
    canvas = pad_to_canvas(np.asarray(image, dtype=np.float64), geometry)
    return canvas.reshape(h, c, w, c).mean(axis=(1, 3))
