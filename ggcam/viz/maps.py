"""Table 3 of the paper: chest X-rays with Ψ or Ω^Y laid over them, as a Matplotlib figure."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from ggcam.metrics.arrays import to_numpy
from ggcam.viz.style import MAP_CMAP, STYLE, figure


def upsample_bilinear(m, shape) -> np.ndarray:
    """Bilinear resize of an (h, w) map to ``shape`` (H, W), pixel centres aligned.

    Same as ``torch.nn.functional.interpolate(mode="bilinear", align_corners=False)``:
    output pixel i samples the input at (i + ½)·h/H − ½, clamped to [0, h − 1].
    """
    a = to_numpy(m)
    if a.ndim != 2:
        raise ValueError(f"map must have shape (h, w), got {a.shape}")
    out = a
    for axis, (n_in, n_out) in enumerate(zip(a.shape, shape)):
        pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        t = pos - lo
        t = t[:, None] if axis == 0 else t[None, :]
        out = np.take(out, lo, axis=axis) * (1 - t) + np.take(out, hi, axis=axis) * t
    return out


def _grid(name: str, x, r: int | None = None, c: int | None = None) -> list[list]:
    """(R, C, H, W) array or nested list → nested list of 2-D arrays (or None for blanks)."""
    if hasattr(x, "shape") and len(x.shape) == 4:
        x = to_numpy(x)
        cells = [[x[i, j] for j in range(x.shape[1])] for i in range(x.shape[0])]
    elif isinstance(x, (list, tuple)) and all(isinstance(row, (list, tuple)) for row in x):
        cells = [[None if v is None else to_numpy(v) for v in row] for row in x]
    else:
        raise ValueError(f"{name} must be an (R, C, H, W) array or a nested list of 2-D maps")
    shape = (len(cells), max((len(row) for row in cells), default=0))
    if any(len(row) != shape[1] for row in cells) or (r is not None and shape != (r, c)):
        raise ValueError(f"{name} must be a full {r if r is not None else 'R'}×{c or 'C'} grid")
    for row in cells:
        for v in row:
            if v is not None and v.ndim != 2:
                raise ValueError(f"every cell of {name} must be 2-D, got shape {v.shape}")
    return cells


def attention_grid(
    images, maps, row_labels: Sequence[str], col_labels: Sequence[str],
    cmap: str = MAP_CMAP, alpha: float = 0.55, colorbar_label: str = "scaled to [0, 1]",
) -> Figure:
    """Table 3: CXRs with Ψ or Ω^Y overlaid, a colour bar beside every row.

    Each map is upsampled bilinearly to its image's size (``upsample_bilinear``) and min-max
    scaled to [0, 1] on its own (a constant map shows as 0), so one colour bar per row gives
    the scale of every image in it. The default colour map is viridis (perceptually uniform:
    dark purple low, yellow high), unlike the paper's jet.

    Args:
        images: (R, C, H, W) or a nested R×C list of (H, W) greyscale images (None = blank).
        maps: (R, C, h, w) or a nested list of (h, w) maps, aligned with ``images``.
        row_labels: R labels, e.g. ("Ψ (gaze)", "EffNetV2-S+GG-CAM", ...).
        col_labels: C labels, e.g. ("normal", "CHF", "pneumonia").
        cmap: colour map of the overlay; alpha: its opacity in [0, 1].
        colorbar_label: the label of each row's colour bar.

    Returns:
        Figure with R × C image Axes (no ticks; row labels as y labels of the first column,
        column labels as titles of the first row), then one colour-bar Axes per row that has
        an overlay.
    """
    imgs, hms, first = _grid_inputs(images, maps, row_labels, col_labels, cmap, alpha)
    r, c = len(imgs), len(imgs[0])
    cell = min(1.9, 5.6 / c)
    fig = figure(cell * c + 0.8, cell * r * first.shape[0] / first.shape[1] + 0.4)
    norm = mpl.colors.Normalize(0.0, 1.0)
    with mpl.rc_context(STYLE):
        axes = fig.subplots(r, c, squeeze=False)
        for i in range(r):
            for j in range(c):
                ax = axes[i, j]
                ax.set_xticks([])
                ax.set_yticks([])
                for spine in ax.spines.values():
                    spine.set_visible(False)
                if j == 0:  # long arm names wrapped so they stay beside their own row
                    ax.set_ylabel("\n".join(textwrap.wrap(row_labels[i], 18)) or row_labels[i])
                if i == 0:
                    ax.set_title(col_labels[j])
                if imgs[i][j] is not None:
                    _overlay(ax, imgs[i][j], hms[i][j], cmap, alpha, norm)
            if any(hms[i][j] is not None and imgs[i][j] is not None for j in range(c)):
                bar = fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=list(axes[i]),
                                   shrink=0.9, aspect=12, pad=0.02)
                bar.set_ticks([0, 0.5, 1])
                bar.set_label(colorbar_label)
    return fig


def _grid_inputs(images, maps, row_labels, col_labels, cmap, alpha):
    """``attention_grid``'s images and maps as R×C nested lists, checked, and the first image."""
    imgs = _grid("images", images)
    r, c = len(imgs), len(imgs[0]) if imgs else 0
    if r == 0 or c == 0:
        raise ValueError("images is empty")
    hms = _grid("maps", maps, r, c)
    if len(row_labels) != r or len(col_labels) != c:
        raise ValueError(f"need {r} row labels and {c} column labels, "
                         f"got {len(row_labels)} and {len(col_labels)}")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha!r}")
    if cmap not in mpl.colormaps:
        raise ValueError(f"cmap must be a Matplotlib colour map name, got {cmap!r}")
    first = next((v for row in imgs for v in row if v is not None), None)
    if first is None:
        raise ValueError("images has no image at all (every cell is None)")
    return imgs, hms, first


def _overlay(ax, img, hm, cmap: str, alpha: float, norm) -> None:
    """One cell: the image in grey and, when there is one, its map upsampled and min-max scaled."""
    ax.imshow(img, cmap="gray")
    if hm is not None:
        up = upsample_bilinear(hm, img.shape)
        span = up.max() - up.min()
        up = (up - up.min()) / span if span > 0 else np.zeros_like(up)
        ax.imshow(up, cmap=cmap, alpha=alpha, norm=norm)


def table3(examples: dict, class_names: Sequence[str], networks: Sequence[str] | None = None,
           variants: Sequence[str] | None = None, alpha: float = 0.55) -> Figure:
    """Table 3 from a results store's examples: Ψ in the first row, then one row per model.

    Args:
        examples: ``{(network, variant): {"labels", "psi", "cam", "image"}}`` as
            ``ResultsStore.examples()`` returns it; every model holds the same test images
            (one per class), so the images and Ψ of the first model are shown for all.
        class_names: the name of each class index, for the column titles.
        networks, variants: the rows to show (default: all), in ``ggcam.config`` order.
        alpha: opacity of the overlays.

    Returns:
        ``attention_grid``'s Figure, rows labelled "Ψ (gaze)" and ``model_name(network, variant)``.
    """
    from ggcam.viz.style import model_name, order_networks, order_variants

    if not examples:
        raise ValueError("examples is empty: the results hold no Table 3 examples")
    keys = list(examples)
    nets = order_networks(networks if networks is not None else [n for n, _ in keys])
    vars_ = order_variants(variants if variants is not None else [v for _, v in keys])
    order = [(n, v) for n in nets for v in vars_ if (n, v) in examples]
    if not order:
        raise ValueError(f"no examples for networks {nets} × variants {vars_}; there are {keys}")
    first = examples[order[0]]
    if "image" not in first:
        raise ValueError("the examples hold no images (real data: results never keep patient "
                         "images); show Table 3 only for the phantom")
    labels = [class_names[int(c)] for c in first["labels"]]
    images = [list(first["image"])] * (1 + len(order))
    maps = [list(first["psi"])] + [list(examples[k]["cam"]) for k in order]
    return attention_grid(images, maps, ["Ψ (gaze)"] + [model_name(*k) for k in order], labels,
                          alpha=alpha)
