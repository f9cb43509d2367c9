"""Page 03, Algorithm 1 and the grid: the geometry of each image size, Ψ against the literal
reference, the blur sweep, area against stride resampling, Ψ's point sets, where an Ω cell
looks and what the half-cell alignment shift does, the phantom's image sizes."""

from __future__ import annotations

import warnings

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ggcam.geometry import STRIDE, grid_geometry
from ggcam.study import NETWORK_LABELS
from ggcam.viz.figures.common import axis_off, show_map
from ggcam.viz.style import MAP_CMAP, STYLE, figure


def geometry_table(shapes, grids) -> pd.DataFrame:
    """``grid_geometry`` of each image size on each grid: cell, canvas, padding."""
    rows = []
    for shape in shapes:
        for grid in grids:
            g = grid_geometry(shape, grid)
            rows.append({"image (H0×W0)": f"{shape[0]}×{shape[1]}",
                         "grid (h×w)": f"{grid[0]}×{grid[1]}", "cell c (px)": g.cell,
                         "canvas (h·c × w·c)": f"{g.canvas_shape[0]}×{g.canvas_shape[1]}",
                         "padding top, left (px)": f"{g.top}, {g.left}"})
    return pd.DataFrame(rows)


def psi_figure(image, xy, psi, psi_reference) -> Figure:
    """The gaze points on the image, Ψ by ``gaze_heatmap`` and by ``reference_heatmap``."""
    fig = figure(6.4, 3.0)
    with mpl.rc_context(STYLE):
        axes = fig.subplots(1, 3)
        axes[0].imshow(image, cmap="gray")
        axes[0].scatter(xy[:, 0], xy[:, 1], s=2, color="red", alpha=0.5)
        axes[0].set_title("gaze samples $E_{1:M}$")
        axis_off(axes[0])
        show_map(axes[1], psi, "gaze_heatmap")
        show_map(axes[2], psi_reference, "reference_heatmap")
        bar = fig.colorbar(mpl.cm.ScalarMappable(mpl.colors.Normalize(0, 1), MAP_CMAP),
                           ax=list(axes[1:]), shrink=0.8)
        bar.set_label("Ψ")
    return fig


def blur_sweep(xy, image_shape, grid, kernel_sizes=(201, 401, 601, 801, 1001)):
    """Ψ for several B: a row of maps and a table (σ, cells above 0.5, mean of Ψ)."""
    from ggcam.gaze import gaze_heatmap, sigma_from_kernel_size

    fig = figure(6.4, 2.4)
    rows = []
    with mpl.rc_context(STYLE):
        axes = fig.subplots(1, len(kernel_sizes))
        for ax, b in zip(axes, kernel_sizes):
            m = gaze_heatmap(xy, image_shape, grid, kernel_size=b)
            show_map(ax, m, f"B = {b}")
            rows.append({"B": b, "σ (px)": sigma_from_kernel_size(b),
                         "cells above 0.5": int((m > 0.5).sum()), "mean of Ψ": float(m.mean())})
    return fig, pd.DataFrame(rows)


def area_vs_stride(ds, grid, kernel_sizes=(51, 201, 501)) -> pd.DataFrame:
    """Ψ by exact area averaging against the released code's every-c-th-pixel sampling, over
    every image of ``ds`` with gaze, per B: the largest difference and the lowest CC (worst
    image), the mean difference and the share of images whose peak cell is the same."""
    from ggcam.gaze import gaze_heatmap, sigma_from_kernel_size

    rows = []
    for b in kernel_sizes:
        per = []
        for i in range(len(ds)):
            xy = ds.gaze_points(i)[["x", "y"]].to_numpy()
            if len(xy) == 0:
                continue
            a = gaze_heatmap(xy, ds.image_shape(i), grid, kernel_size=b)
            s = gaze_heatmap(xy, ds.image_shape(i), grid, kernel_size=b, resample="stride")
            per.append((np.abs(a - s).max(), np.abs(a - s).mean(),
                        np.corrcoef(a.ravel(), s.ravel())[0, 1], np.argmax(a) == np.argmax(s)))
        d = np.array(per, dtype=float)
        rows.append({"B": b, "σ (px)": sigma_from_kernel_size(b), "images": len(d),
                     "max |Δ| (worst image)": d[:, 0].max(), "mean |Δ|": d[:, 1].mean(),
                     "CC (worst image)": d[:, 2].min(), "same peak cell": d[:, 3].mean()})
    return pd.DataFrame(rows)


def psi_sources(ds, i: int):
    """Ψ of one image from the three point sets ``TrainConfig.gaze_points`` offers: the maps,
    and their CC with the default (raw samples)."""
    from ggcam.data import EGDCXR

    kinds = {"raw samples (default)": dict(gaze="eye_gaze"),
             "fixations": dict(gaze="fixations"),
             "fixations × duration": dict(gaze="fixations", weighting="duration")}
    maps = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the reader's drop report
        for name, kw in kinds.items():
            other = EGDCXR(ds.egd_root, ds.mimic_root, grid_shape=ds.grid_shape, progress=False,
                           **ds.blur, **kw)
            maps[name] = other.gaze_map(i)
    fig = figure(6.4, 2.8)
    with mpl.rc_context(STYLE):
        axes = fig.subplots(1, 3)
        for ax, (name, m) in zip(axes, maps.items()):
            show_map(ax, m, name)
    ref = maps["raw samples (default)"].ravel()
    table = pd.DataFrame([{"Ψ from": k, "CC with raw samples": float(np.corrcoef(m.ravel(), ref)[0, 1])}
                          for k, m in maps.items()])
    return fig, table


def receptive_field_centres(archs=("resnet50", "efficientnet_v2_s", "resnet18", "efficientnet_b0"),
                            cells=((4, 3), (6, 5)), input_shape=(320, 256), seed: int = 0) -> pd.DataFrame:
    """Where Ω cell (i, j) looks, measured: the centre of mass of |∂Ω_ij / ∂x| over the input
    pixels (random weights and input), beside the two rules of ``ggcam.geometry``:
    receptive-field (cell centred on input pixel (s·i, s·j)) and block ((s·i + s/2, ...)).
    Positions and distances in input pixels; pixel p spans [p, p + 1)."""
    import torch

    from ggcam.cam import build_model

    rows = []
    h, w = input_shape
    rr, cc = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing="ij")
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for arch in archs:
            model = build_model(arch).eval()
            for i, j in cells:
                x = torch.randn(1, 3, h, w, requires_grad=True)
                _, cams = model.forward_cams(x)
                cams[0, 0, i, j].backward()
                g = x.grad.abs().sum(dim=(0, 1)).double()
                r, c = float((g * rr).sum() / g.sum()), float((g * cc).sum() / g.sum())
                rf, block = (STRIDE * i, STRIDE * j), (STRIDE * i + STRIDE / 2, STRIDE * j + STRIDE / 2)
                rows.append({"network": NETWORK_LABELS.get(arch, arch), "cell (i, j)": f"({i}, {j})",
                             "measured (row, col)": f"({r:.1f}, {c:.1f})",
                             "receptive-field rule": f"({rf[0]}, {rf[1]})",
                             "block rule": f"({block[0]:g}, {block[1]:g})",
                             "distance to receptive-field rule": float(np.hypot(r - rf[0], c - rf[1])),
                             "distance to block rule": float(np.hypot(r - block[0], c - block[1]))})
    return pd.DataFrame(rows)


def alignment_effect(ds, grids=((48, 40), (6, 5)), kernel_size: int = 500) -> pd.DataFrame:
    """What the half-cell shift between the two alignments does, over the CHF and pneumonia
    images of ``ds`` (full-resolution masks and gaze, each grid):

    * the share of Ω cells in the eq. 12 region (heart for CHF, lungs for pneumonia), and the
      share of cells whose membership differs between the rules;
    * eq. 12 applied to the radiologist's own map: Ψ's peak in the region, with Ψ and the
      mask on the same rule, and with Ψ on receptive-field cells but the mask on blocks (the
      mismatch the old code had);
    * CC between Ψ computed on the two rules.
    """
    from ggcam.data.masks import to_grid
    from ggcam.gaze import gaze_heatmap

    rows = []
    for grid in grids:
        per = []
        for i in np.flatnonzero(ds.labels > 0):
            xy = ds.gaze_points(i)[["x", "y"]].to_numpy()
            if len(xy) == 0:
                continue
            shape = ds.image_shape(i)
            region = ds.full_masks(i)["heart" if ds.labels[i] == 1 else "lung"]
            mask = {a: to_grid(region, grid_geometry(shape, grid, a)) for a in ("receptive-field", "block")}
            psi = {a: gaze_heatmap(xy, shape, grid, kernel_size=kernel_size, align=a)
                   for a in ("receptive-field", "block")}
            peak = {a: np.unravel_index(np.argmax(psi[a]), grid) for a in psi}
            per.append((mask["receptive-field"].mean(), mask["block"].mean(),
                        (mask["receptive-field"] != mask["block"]).mean(),
                        mask["receptive-field"][peak["receptive-field"]],
                        mask["block"][peak["block"]], mask["block"][peak["receptive-field"]],
                        np.corrcoef(psi["receptive-field"].ravel(), psi["block"].ravel())[0, 1]))
        d = np.array(per, dtype=float)
        rows.append({"grid (h×w)": f"{grid[0]}×{grid[1]}", "images": len(d),
                     "cells in region (receptive-field)": d[:, 0].mean(),
                     "cells in region (block)": d[:, 1].mean(),
                     "cells that change side": d[:, 2].mean(),
                     "Ψ peak in region (both receptive-field)": d[:, 3].mean(),
                     "Ψ peak in region (both block)": d[:, 4].mean(),
                     "Ψ peak in region (Ψ receptive-field, mask block)": d[:, 5].mean(),
                     "CC(Ψ receptive-field, Ψ block)": d[:, 6].mean()})
    return pd.DataFrame(rows)


def phantom_sizes(n_images: int, scale: float, seed: int = 0) -> list[tuple[int, int]]:
    """The image sizes (H0, W0) a phantom of these parameters has, most frequent first
    (from ``make_phantom``'s case specs; nothing is generated)."""
    from ggcam.data.phantom.generate import case_specs

    shapes = pd.Series([s.shape for s in case_specs(n_images, scale, seed)])
    return list(shapes.value_counts().index)
