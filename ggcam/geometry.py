"""How an image of any size lies on the Ω grid, and hence on the network input.

One rule, used for the gaze map, the masks and the images alike, so the three line up:

* The cell size in image pixels is c = max(⌈H0/h⌉, ⌈W0/w⌉) for an H0×W0 image and an h×w grid.
* The image is centre-padded with zeros to the canvas (h·c)×(w·c): ``top = (h·c − H0) // 2``
  rows above, ``left = (w·c − W0) // 2`` columns to the left. The network input is the canvas
  resampled by s/c (s = 32, the network's stride), so canvas pixel c·i is input pixel s·i.
* **Alignment** (design.md, "Ω-grid alignment"). In torchvision ResNets and EfficientNets
  every downsampling is a 3×3/pad-1 (7×7/pad-3) convolution or pooling, so the receptive field
  of Ω cell (i, j) is centred on input pixel (s·i, s·j): the *corner* of the s×s block, not
  its centre (``tests/test_geometry.py`` measures it by backpropagation). With
  ``align="receptive-field"`` (the default) cell (i, j) covers canvas pixels
  [c·i − c/2, c·i + c/2) × [c·j − c/2, c·j + c/2), centred where the network looks; the
  released code's "every c-th canvas pixel" sampling lands on the same centres. With
  ``align="block"`` (the rule before, kept for comparison) it covers [c·i, c·(i+1)), half a
  cell off. In image pixels: rows [i·c − top − shift, (i+1)·c − top − shift) with
  ``shift = c // 2`` or 0; rows are y, columns are x.

For the paper's data (3056×2544 DICOMs, a 48×40 grid) c = 64: the image is padded to
3072×2560 exactly as in the released code, and the 1536×1280 network input is that canvas
halved, i.e. "downsampled so that the heights and widths are halved" (section 4.1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

STRIDE = 32  # input pixels per Ω cell of every supported network (ResNet, EfficientNet)
ALIGNMENTS = ("receptive-field", "block")


@dataclass(frozen=True)
class GridGeometry:
    image_shape: tuple[int, int]  # (H0, W0), image pixels
    grid_shape: tuple[int, int]  # (h, w), Ω cells
    cell: int  # c, image pixels per cell side
    top: int  # zero rows above the image in the padded canvas
    left: int  # zero columns left of the image
    align: str = "receptive-field"  # cells centred on the receptive fields, or "block"

    @property
    def canvas_shape(self) -> tuple[int, int]:
        return self.grid_shape[0] * self.cell, self.grid_shape[1] * self.cell

    @property
    def shift(self) -> int:
        """Canvas pixels by which cell edges sit before the block edges c·i (c // 2 or 0)."""
        return self.cell // 2 if self.align == "receptive-field" else 0

    def row_edges(self) -> np.ndarray:
        """Image-row edges of the h cells, (h + 1,); they may lie outside [0, H0]."""
        return np.arange(self.grid_shape[0] + 1) * self.cell - self.top - self.shift

    def col_edges(self) -> np.ndarray:
        """Image-column edges of the w cells, (w + 1,)."""
        return np.arange(self.grid_shape[1] + 1) * self.cell - self.left - self.shift

    def cell_of(self, xy: np.ndarray) -> np.ndarray:
        """(row, col) of the Ω cell holding each image point ``xy`` (M, 2) given as (x, y).

        A point belongs to the cell of its pixel; a pixel outside every cell (possible at the
        far edge with receptive-field alignment) gets a row or column of −1 or h (w).
        """
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        rows = np.floor((np.floor(xy[:, 1]) + self.top + self.shift) / self.cell).astype(int)
        cols = np.floor((np.floor(xy[:, 0]) + self.left + self.shift) / self.cell).astype(int)
        return np.stack([rows, cols], axis=1)


def input_cells(
    xy: np.ndarray, stride: int, grid_shape: tuple[int, int], align: str = "receptive-field"
) -> np.ndarray:
    """Unique (row, col) Ω cells of points given in network-input pixels (x, y), inside the grid.

    The network-input twin of ``GridGeometry.cell_of``: cell (i, j) covers input pixels
    [s·i − s/2, s·i + s/2) with receptive-field alignment, [s·i, s·(i+1)) with block alignment.
    """
    if align not in ALIGNMENTS:
        raise ValueError(f"align must be one of {ALIGNMENTS}, got {align!r}")
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    shift = stride / 2 if align == "receptive-field" else 0.0
    cells = np.floor((xy[:, ::-1] + shift) / stride).astype(int)
    h, w = grid_shape
    inside = (cells[:, 0] >= 0) & (cells[:, 0] < h) & (cells[:, 1] >= 0) & (cells[:, 1] < w)
    return np.unique(cells[inside], axis=0).reshape(-1, 2)


def _shape2(name: str, shape) -> tuple[int, int]:
    try:
        a, b = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair of positive ints, got {shape!r}") from None
    if a < 1 or b < 1 or (a, b) != tuple(shape):
        raise ValueError(f"{name} must be a pair of positive ints, got {shape!r}")
    return a, b


def grid_geometry(
    image_shape: Sequence[int], grid_shape: Sequence[int], align: str = "receptive-field"
) -> GridGeometry:
    """The placement of an ``image_shape`` (H0, W0) image on a ``grid_shape`` (h, w) Ω grid."""
    H0, W0 = _shape2("image_shape", image_shape)
    h, w = _shape2("grid_shape", grid_shape)
    if align not in ALIGNMENTS:
        raise ValueError(f"align must be one of {ALIGNMENTS}, got {align!r}")
    cell = max(math.ceil(H0 / h), math.ceil(W0 / w))
    return GridGeometry((H0, W0), (h, w), cell, (h * cell - H0) // 2, (w * cell - W0) // 2, align)


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
    """Average of the zero-padded image over each Ω cell: (H0, W0) → (h, w), float64.

    The cells are the geometry's (``row_edges``/``col_edges``): with receptive-field alignment
    the canvas is shifted by c // 2, so the first cells reach into the padding above/left.
    """
    h, w = geometry.grid_shape
    c, s = geometry.cell, geometry.shift
    canvas = pad_to_canvas(np.asarray(image, dtype=np.float64), geometry)
    if s:
        # Cell i covers canvas [c·i − s, c·(i+1) − s): prepend s zero rows/columns, drop the tail.
        canvas = np.pad(canvas, [(0, 0)] * (canvas.ndim - 2) + [(s, 0), (s, 0)])
        canvas = canvas[..., : h * c, : w * c]
    return canvas.reshape(*canvas.shape[:-2], h, c, w, c).mean(axis=(-3, -1))
