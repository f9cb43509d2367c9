"""Training figures: one run's curves, and σ_sm trajectories across runs (eq. 11); and
``legend_below``, the legend under the panels that ``ggcam.viz.paper_figures`` shares.

Imports only ``ggcam.viz.style`` (``ggcam.viz.paper_figures`` re-exports these functions; no cycle).
"""

from __future__ import annotations

import math
import warnings

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ggcam.losses import GGCAMLoss
from ggcam.viz.style import (
    STYLE,
    figure,
    need,
    network_name,
    order_networks,
    order_variants,
    variant_colour,
    variant_label,
)

CURVE_LABELS = {  # eq. 11's parameters and the effective weights of L_sm and L_ce
    "sigma_sm": r"$\sigma_{sm}$",
    "sigma_ce": r"$\sigma_{ce}$",
    "alpha": r"$\alpha$",
    "w_sm": r"$1/(2\sigma_{sm}^2)$",
    "w_ce": r"$1/\sigma_{ce}^2$",
}


def legend_below(fig: Figure, handles, labels) -> None:
    """The legend below the panels, outside the data: two columns, one when a label is long.

    The figure grows by the legend's height, so a long legend (seven arms in one column) adds
    to the figure instead of squeezing the panels above it.
    """
    ncol = min(1 if max(map(len, labels), default=0) > 28 else 2, max(len(labels), 1))
    legend = fig.legend(handles, labels, loc="outside lower center", ncol=ncol, frameon=False)
    size = legend.prop.get_size_in_points()
    rows = math.ceil(len(labels) / ncol)
    height_pt = size * (rows * (1 + legend.labelspacing) + 2 * legend.borderpad)  # rows and padding
    width, height = fig.get_size_inches()
    fig.set_size_inches(width, height + height_pt / 72)


def training_curves(curves: pd.DataFrame) -> Figure:
    """Per-epoch curves of one run: losses, validation AUC, and σ_sm, σ_ce, α, weights (eq. 11).

    Args:
        curves: column ``epoch`` (unique) and any of train_loss, val_loss, val_auc,
            sigma_sm, sigma_ce, alpha, w_sm, w_ce. Missing w_sm / w_ce are computed from
            the σ's as 1/(2σ_sm²) and 1/σ_ce². NaN points are skipped.

    Returns:
        Figure with three Axes stacked over one epoch axis: loss, AUC, and the loss
        parameters on a log scale, each with its legend to the right, outside the data. A
        panel with nothing to draw (e.g. the parameters of a standard run) says so.
    """
    need(curves, "curves", ("epoch",))
    if curves["epoch"].duplicated().any():
        raise ValueError("curves must hold one row per epoch (one run); epochs are repeated")
    c = curves.sort_values("epoch", kind="stable").copy()
    if "w_sm" not in c and "sigma_sm" in c:
        c["w_sm"] = GGCAMLoss.weight_sm(c["sigma_sm"])
    if "w_ce" not in c and "sigma_ce" in c:
        c["w_ce"] = GGCAMLoss.weight_ce(c["sigma_ce"])
    panels = (
        ("loss", {"train_loss": "train", "val_loss": "validation"}, False),
        ("validation AUC", {"val_auc": "validation AUC"}, False),
        ("loss parameters (log)", CURVE_LABELS, True),
    )
    fig = figure(6.2, 6.4)
    with mpl.rc_context(STYLE):
        axes = fig.subplots(3, 1, sharex=True)
        for ax, (ylabel, columns, log) in zip(axes, panels):
            present = [k for k in columns if k in c and c[k].notna().any()]
            values = c[present].to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            if not log and values.size and values.min() > 0 and values.max() > 1e3 * values.min():
                log, ylabel = True, f"{ylabel} (log)"  # falling by orders of magnitude
            for k in present:
                ok = c[k].notna() & ((c[k] > 0) if log else True)
                if log and (c[k] <= 0).any():
                    warnings.warn(f"training_curves: non-positive {k} not drawn on the log axis",
                                  stacklevel=2)
                ax.plot(c.loc[ok, "epoch"], c.loc[ok, k], label=columns[k])
            if present:
                if log:
                    ax.set_yscale("log")
                if len(present) > 1:
                    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
            else:
                ax.text(0.5, 0.5, "nothing to plot", ha="center", va="center",
                        transform=ax.transAxes)
            ax.set_ylabel(ylabel)
        axes[-1].set_xlabel("epoch")
        axes[-1].xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
    return fig


def sigma_trajectories(curves: pd.DataFrame) -> Figure:
    """σ_sm per epoch (log scale) of every GG-CAM run, one panel per network.

    Args:
        curves: columns network, variant, seed, epoch, sigma_sm (standard runs, without
            sigma_sm, are left out).

    Returns:
        Figure with one Axes per network; colour = variant (in ``VARIANTS`` order, legend
        below the panels), one line per seed.
    """
    need(curves, "curves", ("network", "variant", "seed", "epoch"))
    c = curves[curves.get("sigma_sm", pd.Series(np.nan, index=curves.index)).notna()]
    if c.empty:
        raise ValueError("curves hold no sigma_sm: no GG-CAM run to draw")
    networks = order_networks(c["network"])
    variants = order_variants(c["variant"])
    fig = figure(3.1 * len(networks), 3.8)
    with mpl.rc_context(STYLE):
        axes = np.atleast_1d(fig.subplots(1, len(networks), sharey=True))
        for ax, net in zip(axes, networks):
            for variant in variants:
                runs = c[(c.network == net) & (c.variant == variant)]
                for _seed, run in runs.groupby("seed", sort=True):
                    run = run.sort_values("epoch")
                    ax.plot(run["epoch"], run["sigma_sm"], color=variant_colour(variant), alpha=0.8)
            ax.set_yscale("log")
            ax.set_xlabel("epoch")
            ax.set_title(network_name(net))
        axes[0].set_ylabel(r"$\sigma_{sm}$ (log scale)")
        legend_below(fig, [Line2D([], [], color=variant_colour(v)) for v in variants],
                     [variant_label(v) for v in variants])
    return fig
