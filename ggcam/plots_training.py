"""Training figures: one run's curves, and σ_sm trajectories across runs (eq. 11)."""

from __future__ import annotations

import warnings

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .plots import STYLE, VARIANT_NAMES, _figure, _need, network_name

CURVE_LABELS = {  # eq. 11's parameters and the effective weights of L_sm and L_ce
    "sigma_sm": r"$\sigma_{sm}$",
    "sigma_ce": r"$\sigma_{ce}$",
    "alpha": r"$\alpha$",
    "w_sm": r"$1/(2\sigma_{sm}^2)$",
    "w_ce": r"$1/\sigma_{ce}^2$",
}


def training_curves(curves: pd.DataFrame) -> Figure:
    """Per-epoch curves of one run: losses, validation AUC, and σ_sm, σ_ce, α, weights (eq. 11).

    Args:
        curves: column ``epoch`` (unique) and any of train_loss, val_loss, val_auc,
            sigma_sm, sigma_ce, alpha, w_sm, w_ce. Missing w_sm / w_ce are computed from
            the σ's as 1/(2σ_sm²) and 1/σ_ce². NaN points are skipped.

    Returns:
        Figure with three Axes: loss, AUC, and the loss parameters on a log scale. A panel
        with nothing to draw (e.g. the parameters of a standard run) says so in its middle.
    """
    _need(curves, "curves", ("epoch",))
    if curves["epoch"].duplicated().any():
        raise ValueError("curves must hold one row per epoch (one run); epochs are repeated")
    c = curves.sort_values("epoch", kind="stable").copy()
    if "w_sm" not in c and "sigma_sm" in c:
        c["w_sm"] = 1.0 / (2.0 * c["sigma_sm"] ** 2)
    if "w_ce" not in c and "sigma_ce" in c:
        c["w_ce"] = 1.0 / c["sigma_ce"] ** 2
    panels = (
        ("loss", {"train_loss": "train", "val_loss": "validation"}, False),
        ("validation AUC", {"val_auc": "validation AUC"}, False),
        ("loss parameters (log)", CURVE_LABELS, True),
    )
    fig = _figure((10.0, 3.0))
    with mpl.rc_context(STYLE):
        axes = fig.subplots(1, 3)
        for ax, (ylabel, columns, log) in zip(axes, panels):
            present = [k for k in columns if k in c and c[k].notna().any()]
            for k in present:
                ok = c[k].notna() & ((c[k] > 0) if log else True)
                if log and (c[k] <= 0).any():
                    warnings.warn(f"training_curves: non-positive {k} not drawn on the log axis",
                                  stacklevel=2)
                ax.plot(c.loc[ok, "epoch"], c.loc[ok, k], label=columns[k])
            if present:
                if log:
                    ax.set_yscale("log")
                ax.legend(loc="best")
            else:
                ax.text(0.5, 0.5, "nothing to plot", ha="center", va="center",
                        transform=ax.transAxes)
            ax.set_xlabel("epoch")
            ax.set_ylabel(ylabel)
    return fig


def sigma_trajectories(curves: pd.DataFrame) -> Figure:
    """σ_sm per epoch (log scale) of every GG-CAM run, one panel per network.

    Args:
        curves: columns network, variant, seed, epoch, sigma_sm (standard runs, without
            sigma_sm, are left out).

    Returns:
        Figure with one Axes per network; colour = variant, one line per seed.
    """
    _need(curves, "curves", ("network", "variant", "seed", "epoch"))
    c = curves[curves.get("sigma_sm", pd.Series(np.nan, index=curves.index)).notna()]
    if c.empty:
        raise ValueError("curves hold no sigma_sm: no GG-CAM run to draw")
    networks = list(pd.unique(c["network"]))
    variants = list(pd.unique(c["variant"]))
    colours = dict(zip(variants, mpl.colormaps["tab10"].colors))
    fig = _figure((4.2 * len(networks), 3.0))
    with mpl.rc_context(STYLE):
        axes = np.atleast_1d(fig.subplots(1, len(networks), sharey=True))
        for ax, net in zip(axes, networks):
            labelled = set()
            for (variant, _seed), run in c[c.network == net].groupby(["variant", "seed"], sort=True):
                run = run.sort_values("epoch")
                label = None if variant in labelled else VARIANT_NAMES.get(variant, variant)
                labelled.add(variant)
                ax.plot(run["epoch"], run["sigma_sm"], color=colours[variant], alpha=0.8, label=label)
            ax.set_yscale("log")
            ax.set_xlabel("epoch")
            ax.set_title(network_name(net))
            ax.legend(loc="best")
        axes[0].set_ylabel(r"$\sigma_{sm}$ (log scale)")
    return fig

