"""Ω-grid alignment, measured: where does Ω cell (i, j) look in the input? (design.md)

The receptive-field centre of a cell is measured by backpropagation (the centre of mass of
|∂Ω_ij/∂x|) and compared with the geometry's cell centres: receptive-field alignment (the
default) must be the nearer one, within a few pixels, for both of the paper's networks.
"""

import numpy as np
import pytest
import torch

import ggcam
from ggcam.geometry import grid_geometry, input_cells

STRIDE = 32
INPUT = (320, 256)  # H, W: a 10×8 Ω grid


def measured_centre(model, cell) -> tuple[float, float]:
    """(row, col) centre of mass of |∂Ω[0, 0, i, j] / ∂x| over the input pixels."""
    x = torch.randn(1, 3, *INPUT, requires_grad=True)
    _, cams = model.forward_cams(x)
    cams[0, 0, cell[0], cell[1]].backward()
    g = x.grad.abs().sum(dim=(0, 1)).double()
    rows, cols = torch.meshgrid(torch.arange(INPUT[0]), torch.arange(INPUT[1]), indexing="ij")
    # Pixel p spans [p, p + 1): its centre is p + 0.5.
    return (float((g * (rows + 0.5)).sum() / g.sum()), float((g * (cols + 0.5)).sum() / g.sum()))


@pytest.mark.parametrize("arch", ["resnet50", "efficientnet_v2_s"])
def test_receptive_field_centres_match_the_geometry(arch, one_torch_thread):
    torch.manual_seed(0)
    model = ggcam.build_model(arch).eval()
    for cell in [(4, 3), (6, 5)]:
        r, c = measured_centre(model, cell)
        rf = (STRIDE * cell[0], STRIDE * cell[1])  # cells [s·i − s/2, s·i + s/2)
        block = (STRIDE * cell[0] + STRIDE / 2, STRIDE * cell[1] + STRIDE / 2)
        err_rf = np.hypot(r - rf[0], c - rf[1])
        err_block = np.hypot(r - block[0], c - block[1])
        assert err_rf < 8.0, f"{arch} cell {cell}: measured ({r:.1f}, {c:.1f}), geometry {rf}"
        assert err_rf < err_block / 2
        # input_cells puts the measured centre into that very cell.
        assert input_cells(np.array([[c, r]]), STRIDE, (10, 8)).tolist() == [list(cell)]


def test_gaze_at_a_receptive_field_centre_fills_its_cell():
    """A gaze point at the receptive-field centre of cell (i, j), blurred with a small σ,
    puts ≥ 90 % of Ψ's mass in cell (i, j) — for the paper's 3056×2544 images on 48×40."""
    image, grid = (3056, 2544), (48, 40)
    g = grid_geometry(image, grid)
    for i, j in [(10, 7), (30, 20), (47, 39)]:
        # Canvas pixel c·i is the cell centre; image pixel = canvas − padding.
        x, y = g.cell * j - g.left, g.cell * i - g.top
        if not (0 <= x < image[1] and 0 <= y < image[0]):
            continue
        psi = ggcam.gaze_heatmap(np.array([[x, y]], float), image, grid, sigma=8.0,
                                 normalize="sum")
        assert psi[i, j] >= 0.9, (i, j, psi[i, j])
        block = ggcam.gaze_heatmap(np.array([[x, y]], float), image, grid, sigma=8.0,
                                   normalize="sum", align="block")
        assert block[i, j] < 0.5  # the old rule splits it between four cells
