"""How an image lies on the Ω grid (``ggcam.geometry``)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from ggcam import GridGeometry, grid_geometry
from ggcam.geometry import block_mean, pad_to_canvas


def test_paper_geometry():
    # 3056×2544 DICOM on a 48×40 grid: c = max(⌈3056/48⌉, ⌈2544/40⌉) = 64, the
    # canvas is 3072×2560 (the released code's padding) with 8 zero rows/columns before.
    g = grid_geometry((3056, 2544), (48, 40))
    assert g == GridGeometry(image_shape=(3056, 2544), grid_shape=(48, 40), cell=64, top=8, left=8)
    assert g.canvas_shape == (3072, 2560)
    # The network input 1536×1280 is that canvas halved.
    assert (g.canvas_shape[0] // 2, g.canvas_shape[1] // 2) == (1536, 1280)


@pytest.mark.parametrize(
    "image, grid, cell, top, left",
    [
        ((2544, 3056), (48, 40), 77, 576, 12),  # landscape on a portrait grid: ⌈3056/40⌉ = 77
        ((1000, 1500), (48, 40), 38, 412, 10),  # max(⌈1000/48⌉ = 21, ⌈1500/40⌉ = 38)
        ((97, 83), (7, 6), 14, 0, 0),  # ⌈97/7⌉ = ⌈83/6⌉ = 14: canvas 98×84, 0 before
        ((101, 77), (5, 4), 21, 2, 3),  # canvas 105×84
        ((64, 64), (2, 2), 32, 0, 0),
        ((1, 1), (3, 3), 1, 1, 1),
    ],
)
def test_cell_rule(image, grid, cell, top, left):
    g = grid_geometry(image, grid)
    assert (g.cell, g.top, g.left) == (cell, top, left)
    H, W = g.canvas_shape
    assert (H, W) == (grid[0] * cell, grid[1] * cell)
    assert H >= image[0] and W >= image[1]
    # Centred: the padding after is the padding before or one more.
    assert H - image[0] - top in (top, top + 1) and W - image[1] - left in (left, left + 1)
    # c is the smallest cell that fits: one less does not.
    assert grid[0] * (cell - 1) < image[0] or grid[1] * (cell - 1) < image[1]


def test_cell_of_paper_geometry_block_alignment():
    g = grid_geometry((3056, 2544), (48, 40), align="block")
    xy = np.array([
        [0.0, 0.0],  # → canvas (8, 8): cell (0, 0)
        [55.0, 55.0],  # canvas 63: still cell 0
        [55.99, 55.99],  # pixel 55 (floor)
        [56.0, 56.0],  # canvas 64: cell 1
        [2543.0, 3055.0],  # last pixel: canvas (3063, 2551) → (47, 39)
        [1000.0, 2000.0],  # x = column 1000 → (2008 // 64, 1008 // 64) = (31, 15)
    ])
    np.testing.assert_array_equal(
        g.cell_of(xy), [[0, 0], [0, 0], [0, 0], [1, 1], [47, 39], [31, 15]]
    )
    assert g.cell_of(np.array([1000.0, 2000.0])).tolist() == [[31, 15]]  # one point, any shape


def test_cell_of_agrees_with_padding_and_block_mean():
    # The same rule in three places: the cell of a pixel is where block_mean puts its value.
    rng = np.random.default_rng(0)
    cases = [((101, 77), (5, 4)), ((2544 // 8, 3056 // 8), (12, 10)), ((60, 90), (4, 6))]
    for image, grid in cases:
        g = grid_geometry(image, grid)
        for _ in range(5):
            y, x = int(rng.integers(image[0])), int(rng.integers(image[1]))
            img = np.zeros(image)
            img[y, x] = 1.0
            canvas = pad_to_canvas(img, g)
            assert canvas[y + g.top, x + g.left] == 1.0 and canvas.sum() == 1.0
            cells = block_mean(img, g)
            assert cells.shape == grid
            got = np.unravel_index(cells.argmax(), grid)
            assert tuple(g.cell_of(np.array([[x + 0.5, y + 0.5]]))[0]) == got
            assert cells.max() == pytest.approx(1.0 / g.cell**2)


def test_cell_of_paper_geometry_receptive_field_alignment():
    g = grid_geometry((3056, 2544), (48, 40))  # c = 64, top = left = 8, shift = 32
    xy = np.array([
        [0.0, 0.0],  # canvas (8, 8): within 32 px of cell (0, 0)'s centre (0, 0)
        [23.0, 23.0],  # canvas 31: still cell 0
        [24.0, 24.0],  # canvas 32: cell 1, centred at canvas 64
        [2543.0, 3055.0],  # canvas (3063, 2551): centre of cell 48 is 3072 → past the grid
        [1000.0, 2000.0],  # canvas (2008, 1008) → ((2008 + 32) // 64, (1008 + 32) // 64)
    ])
    np.testing.assert_array_equal(
        g.cell_of(xy), [[0, 0], [0, 0], [1, 1], [48, 40], [31, 16]]
    )


def test_block_mean_values():
    img = np.arange(12.0).reshape(3, 4)  # 3×4 on a 2×2 grid: c = 2, canvas 4×4, top 0, left 0
    g = grid_geometry((3, 4), (2, 2), align="block")
    assert (g.cell, g.top, g.left) == (2, 0, 0)
    # Cells: rows {0,1} × cols {0,1} = (0+1+4+5)/4; rows {2, pad} × cols {2,3} = (10+11)/4.
    np.testing.assert_allclose(block_mean(img, g), [[2.5, 4.5], [4.25, 5.25]])
    assert block_mean(img, g).sum() * 4 == img.sum()


def test_pad_to_canvas_keeps_leading_axes():
    g = grid_geometry((5, 3), (2, 2))  # c = 3, canvas 6×6, top 0, left 1
    stack = np.ones((2, 5, 3))
    out = pad_to_canvas(stack, g)
    assert out.shape == (2, 6, 6)
    assert out[:, 0:5, 1:4].sum() == 30 and out.sum() == 30


@pytest.mark.parametrize(
    "image, grid, needle",
    [((0, 5), (2, 2), "(0, 5)"), ((5, 5), (2, -1), "(2, -1)"), ((5,), (2, 2), "(5,)"),
     ((5, 5, 5), (2, 2), "(5, 5, 5)"), ((5.5, 5), (2, 2), "(5.5, 5)"), (None, (2, 2), "None")],
)
def test_bad_shapes(image, grid, needle):
    with pytest.raises(ValueError, match=re.escape(needle)):
        grid_geometry(image, grid)


def test_pad_to_canvas_rejects_a_wrong_image():
    g = grid_geometry((5, 3), (2, 2))
    with pytest.raises(ValueError, match=re.escape("(5, 3)")):
        pad_to_canvas(np.zeros((3, 5)), g)


def test_block_mean_receptive_field_cells():
    img = np.arange(16.0).reshape(4, 4)  # c = 2, shift 1: cell i covers canvas [2i − 1, 2i + 1)
    g = grid_geometry((4, 4), (2, 2))
    # Cell (0, 0) covers canvas rows/cols {−1, 0}: only pixel (0, 0) is inside, value 0.
    # Cell (1, 1) covers rows/cols {1, 2}: pixels 5, 6, 9, 10.
    np.testing.assert_allclose(block_mean(img, g), [[0 / 4, (1 + 2) / 4], [(4 + 8) / 4, 30 / 4]])
