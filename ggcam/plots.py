"""Figures 2-3 and Table 3 of the paper, and training curves, as Matplotlib figures.

Every function builds a ``matplotlib.figure.Figure`` (not registered with pyplot, so nothing
is shown and nothing leaks) and returns it; saving is the caller's job. Figures depend only
on their inputs: fixed figure sizes, fonts and font sizes, no timestamps, and points of the
box plots spread by a fixed rule instead of random jitter.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from .saliency import to_numpy
from .stats import anova

STYLE = {  # fixed text settings, applied while a figure is built
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
}
PALETTE = sns.color_palette("pastel").as_hex()  # box colours, one per variant in order
NETWORK_NAMES = {"resnet50": "ResNet", "efficientnet_v2_s": "EffNet"}
VARIANT_NAMES = {"standard": "standard", "ggcam": "GG-CAM", "ggcam-legacy": "GG-CAM (legacy)",
                 "ggcam-stable": "GG-CAM (stable σ)"}
VARIANT_SUFFIX = {"standard": "", "ggcam": "+GG-CAM", "ggcam-legacy": "+GG-CAM (legacy)",
                  "ggcam-stable": "+GG-CAM (stable σ)"}
METRIC_NAMES = {
    "auc_ovo": "AUC (Hand & Till)",
    "auc_ovr": "AUC (one-vs-rest)",
    "interp_chf": "interpretability, CHF",
    "interp_pneumonia": "interpretability, pneumonia",
    "interp3x3_chf": "interpretability (3×3), CHF",
    "interp3x3_pneumonia": "interpretability (3×3), pneumonia",
    "cc": "CC(Ω^Y, Ψ)",
    "kl": "KL(Ψ ‖ Ω^Y)",
    "sim": "SIM(Ω^Y, Ψ)",
    "nss": "NSS",
    "auc_judd": "AUC-Judd",
}


def network_name(network: str) -> str:
    return NETWORK_NAMES.get(network, network)


def model_name(network: str, variant: str) -> str:
    """"EffNet+GG-CAM", "ResNet", ... as the paper names its models."""
    return network_name(network) + VARIANT_SUFFIX.get(variant, f" ({variant})")


def _figure(figsize) -> Figure:
    with mpl.rc_context(STYLE):
        return Figure(figsize=figsize, layout="constrained")


def _need(frame: pd.DataFrame, name: str, columns) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} has no column(s) {missing}; it has {list(frame.columns)}")


def omega_distribution(hist: pd.DataFrame) -> Figure:
    """Figure 2: distribution of the elements of Ω, log-scale density, one curve per model.

    Args:
        hist: columns network, variant, seed, bin_left, bin_right, count (fixed bins). The
            seeds of a network×variant are summed; density = count / (total · bin width).
            Bins with zero density are not drawn (log scale).

    Returns:
        Figure with one Axes: hue = network, line style = variant.
    """
    _need(hist, "hist", ("network", "variant", "seed", "bin_left", "bin_right", "count"))
    if len(hist) == 0:
        raise ValueError("hist is empty")
    if not (hist["bin_right"] > hist["bin_left"]).all():
        raise ValueError("every bin needs bin_right > bin_left")
    if (hist["count"] < 0).any():
        raise ValueError("counts must be non-negative")
    keys = ["network", "variant", "bin_left", "bin_right"]
    agg = hist.groupby(keys, sort=False, as_index=False)["count"].sum()
    total = agg.groupby(["network", "variant"], sort=False)["count"].transform("sum")
    if (total == 0).any():
        raise ValueError("a network×variant has no counts at all")
    agg["density"] = agg["count"] / (total * (agg["bin_right"] - agg["bin_left"]))
    agg["value"] = (agg["bin_left"] + agg["bin_right"]) / 2
    agg["network"] = agg["network"].map(network_name)
    agg["variant"] = agg["variant"].map(lambda v: VARIANT_NAMES.get(v, v))
    hue_order, style_order = list(pd.unique(agg["network"])), list(pd.unique(agg["variant"]))
    agg = agg[agg["density"] > 0].sort_values("value", kind="stable")
    fig = _figure((5.0, 3.2))
    with mpl.rc_context(STYLE):
        ax = fig.subplots()
        sns.lineplot(data=agg, x="value", y="density", hue="network", style="variant",
                     hue_order=hue_order, style_order=style_order, estimator=None, sort=False,
                     ax=ax)
        ax.set_yscale("log")
        ax.set_xlabel("value of an element of Ω")
        ax.set_ylabel("density (log scale)")
        ax.set_title("Distribution of CAM elements")
    return fig


def _title(letter: str, network: str, row: pd.Series | None) -> str:
    head = f"({letter}) {network_name(network)}"
    if row is None:
        return f"{head}: n too small"
    note = str(row["note"])
    if row["p"] is None or (isinstance(row["p"], float) and not np.isfinite(row["p"])):
        return f"{head}: {'n too small' if note.startswith('n too small') else 'no test'}"
    return f"{head}: ANOVA p = {row['p']:.3g}"


def metric_boxplots(
    runs: pd.DataFrame, metrics: Sequence[str], networks: Sequence[str] | None = None,
    variants: Sequence[str] = ("standard", "ggcam"),
) -> Figure:
    """Figure 3: box-and-strip plots per (metric, network), standard vs GG-CAM, ANOVA p on top.

    The p-value is ``ggcam.stats.anova(runs, metric, levels=variants)``'s; when the test
    cannot run the title says "n too small" (or "no test" for zero variance).

    Args:
        runs: one row per training run (columns network, variant and the metrics).
        metrics: one row of panels per metric, e.g. ("auc_ovo", "interp_chf").
        networks: one column of panels per network; default all, in order of appearance.
        variants: the groups on the x axis, in this order.

    Returns:
        Figure with len(metrics) × len(networks) Axes, titled "(a) ResNet: ANOVA p = 0.012".
    """
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    if not metrics:
        raise ValueError("metrics must name at least one column")
    _need(runs, "runs", ("network", "variant", *metrics))
    networks = list(pd.unique(runs["network"])) if networks is None else list(networks)
    absent = [n for n in networks if n not in set(runs["network"])]
    if absent or not networks:
        have = sorted(set(runs["network"]))
        raise ValueError(f"networks {absent or networks} not in runs (it has {have})")
    variants = list(variants)
    nrows, ncols = len(metrics), len(networks)
    fig = _figure((3.0 * ncols, 2.8 * nrows))
    with mpl.rc_context(STYLE):
        axes = fig.subplots(nrows, ncols, squeeze=False, sharey="row")
        for i, metric in enumerate(metrics):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # the note goes in the title
                tests = anova(runs, metric, by="network", levels=variants).set_index("network")
            for j, network in enumerate(networks):
                ax = axes[i, j]
                part = runs[(runs["network"] == network) & runs["variant"].isin(variants)]
                part = part.dropna(subset=[metric])
                values = [np.sort(part.loc[part["variant"] == v, metric].to_numpy(dtype=float))
                          for v in variants]
                drawn = [k for k, y in enumerate(values) if y.size]
                boxes = ax.boxplot([values[k] for k in drawn], positions=drawn, widths=0.6,
                                   patch_artist=True, showfliers=False,
                                   medianprops={"color": "0.2"})
                for k, box in zip(drawn, boxes["boxes"]):
                    box.set_facecolor(PALETTE[k % len(PALETTE)])
                for k, y in enumerate(values):  # every run as a dot, spread by a fixed rule
                    x = k + (np.linspace(-0.12, 0.12, y.size) if y.size > 1 else np.zeros(y.size))
                    ax.scatter(x, y, s=14, color="0.2", zorder=3)
                ax.set_xlim(-0.6, len(variants) - 0.4)
                ax.set_xticks(range(len(variants)), [model_name(network, v) for v in variants])
                ax.set_xlabel("")
                ax.set_ylabel(METRIC_NAMES.get(metric, metric) if j == 0 else "")
                row = tests.loc[network] if network in tests.index else None
                ax.set_title(_title(chr(ord("a") + i * ncols + j), network, row))
    return fig


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
    cmap: str = "jet", alpha: float = 0.5,
) -> Figure:
    """Table 3: CXRs with Ψ or Ω^Y overlaid (jet: red/orange high, blue/green low).

    Each map is upsampled bilinearly to its image's size (``upsample_bilinear``) and min-max
    scaled to [0, 1] on its own (a constant map shows as 0).

    Args:
        images: (R, C, H, W) or a nested R×C list of (H, W) greyscale images (None = blank).
        maps: (R, C, h, w) or a nested list of (h, w) maps, aligned with ``images``.
        row_labels: R labels, e.g. ("Ψ", "EffNet+GG-CAM", ...).
        col_labels: C labels, e.g. ("normal", "CHF", "pneumonia").
        cmap: colormap of the overlay; alpha: its opacity in [0, 1].

    Returns:
        Figure with R × C Axes, no ticks, row labels as y labels of the first column and
        column labels as titles of the first row.
    """
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
    first = next((v for row in imgs for v in row if v is not None), None)
    if first is None:
        raise ValueError("images has no image at all (every cell is None)")
    fig = _figure((2.0 * c, 2.0 * r * first.shape[0] / first.shape[1]))
    with mpl.rc_context(STYLE):
        axes = fig.subplots(r, c, squeeze=False)
        for i in range(r):
            for j in range(c):
                ax = axes[i, j]
                ax.set_xticks([])
                ax.set_yticks([])
                for spine in ax.spines.values():
                    spine.set_visible(False)
                if j == 0:
                    ax.set_ylabel(row_labels[i])
                if i == 0:
                    ax.set_title(col_labels[j])
                img, hm = imgs[i][j], hms[i][j]
                if img is None:
                    continue
                ax.imshow(img, cmap="gray")
                if hm is not None:
                    up = upsample_bilinear(hm, img.shape)
                    span = up.max() - up.min()
                    up = (up - up.min()) / span if span > 0 else np.zeros_like(up)
                    ax.imshow(up, cmap=cmap, alpha=alpha, vmin=0.0, vmax=1.0)
    return fig


from .plots_training import sigma_trajectories, training_curves  # noqa: E402,F401  (re-export)
