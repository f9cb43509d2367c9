"""Figures 2-3 and Table 3 of the paper, and training curves, as Matplotlib figures.

Every function builds a ``matplotlib.figure.Figure`` (not registered with pyplot, so nothing
is shown and nothing leaks) and returns it; saving is the caller's job. Figures depend only
on their inputs: fixed figure sizes, fonts and font sizes, no timestamps, and points of the
box plots spread by a fixed rule instead of random jitter. Names, the order of variants and
their colours come from ``ggcam.viz.style`` (which reads ``ggcam.config``).

    plots.omega_distribution(results.load_omega(folder))                 # Figure 2
    plots.metric_boxplots(runs, ["auc_ovo"])                              # Figure 3a-b
    plots.metric_boxplots(runs, ["interp_chf", "interp_pneumonia"])       # Figure 3c-f
    plots.table3(store.examples(), CLASS_NAMES)                           # Table 3
"""

from __future__ import annotations

import textwrap
import warnings
from collections.abc import Mapping, Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ggcam.analysis.paper_values import PAPER_MEDIAN_AUC
from ggcam.stats.unpaired import anova
from ggcam.viz.maps import attention_grid, table3, upsample_bilinear
from ggcam.viz.style import (
    METRIC_NAMES,
    STYLE,
    figure,
    model_name,
    need,
    network_name,
    order_networks,
    order_variants,
    variant_colour,
    variant_label,
)
from ggcam.viz.training import legend_below, sigma_trajectories, training_curves

__all__ = ["FIGURE3_LETTERS", "METRIC_NAMES", "PAPER_MEDIANS", "attention_grid",
           "metric_boxplots", "model_name", "network_name", "omega_distribution",
           "sigma_trajectories", "table3", "training_curves", "upsample_bilinear",
           "variant_label"]

# Figure 3 of the paper: (a, b) the AUC, (c, d) interpretability for CHF, (e, f) for
# pneumonia (section 4.3-4.4). The paper does not say which network is on the left; here it
# is the first network of ggcam.config's order (ResNet before EffNet).
FIGURE3_LETTERS = {"auc_ovo": "ab", "interp_chf": "cd", "interp_pneumonia": "ef"}
# Medians the paper reports (section 4.3), drawn as reference marks: metric → (network, variant) → value.
PAPER_MEDIANS = {"auc_ovo": PAPER_MEDIAN_AUC}


def omega_distribution(hist: pd.DataFrame, networks: Sequence[str] | None = None,
                       variants: Sequence[str] | None = None) -> Figure:
    """Figure 2: distribution of the elements of Ω, log-scale density, one panel per network.

    Args:
        hist: columns network, variant, seed, bin_left, bin_right, count (fixed bins). The
            seeds of a network×variant are summed; density = count / (total · bin width).
            Bins with zero density are not drawn (log scale).
        networks: the panels, in this order (default: every network in ``hist``, in
            ``ggcam.config`` order).
        variants: the curves (default: every variant in ``hist``), in ``VARIANTS`` order.

    Returns:
        Figure with one Axes per network, sharing a symmetric-log x axis (linear within ±1)
        and a log y axis; one line per variant, coloured as everywhere; the legend below the
        panels, outside the data.
    """
    need(hist, "hist", ("network", "variant", "seed", "bin_left", "bin_right", "count"))
    if len(hist) == 0:
        raise ValueError("hist is empty")
    if not (hist["bin_right"] > hist["bin_left"]).all():
        raise ValueError("every bin needs bin_right > bin_left")
    if (hist["count"] < 0).any():
        raise ValueError("counts must be non-negative")
    networks = _choose("networks", networks, hist["network"], order_networks)
    variants = _choose("variants", variants, hist["variant"], order_variants)
    keys = ["network", "variant", "bin_left", "bin_right"]
    agg = hist.groupby(keys, sort=False, as_index=False)["count"].sum()
    total = agg.groupby(["network", "variant"], sort=False)["count"].transform("sum")
    if (total == 0).any():
        raise ValueError("a network×variant has no counts at all")
    agg["density"] = agg["count"] / (total * (agg["bin_right"] - agg["bin_left"]))
    agg["value"] = (agg["bin_left"] + agg["bin_right"]) / 2
    drawn = agg[(agg["density"] > 0) & agg["network"].isin(networks) & agg["variant"].isin(variants)]
    lo, hi = drawn["bin_left"].min(), drawn["bin_right"].max()
    fig = figure(3.1 * len(networks), 3.6)
    with mpl.rc_context(STYLE):
        axes = np.atleast_1d(fig.subplots(1, len(networks), sharex=True, sharey=True))
        for ax, network in zip(axes, networks):
            for variant in variants:
                part = drawn[(drawn["network"] == network) & (drawn["variant"] == variant)]
                part = part.sort_values("value", kind="stable")
                if len(part):
                    ax.plot(part["value"], part["density"], color=variant_colour(variant),
                            label=variant_label(variant), lw=1.4)
            ax.set_xscale("symlog", linthresh=1.0, linscale=0.6)
            ax.set_yscale("log")
            ax.set_xlim(min(lo, -1.0), max(hi, 1.0))
            ax.set_xticks(_symlog_ticks(lo, hi))
            ax.xaxis.set_major_formatter(mpl.ticker.FuncFormatter(_power_of_ten))
            ax.xaxis.set_minor_locator(mpl.ticker.NullLocator())
            ax.set_title(network_name(network))
            ax.set_xlabel("element of Ω (symlog)")
            ax.grid(True, which="major", lw=0.4, alpha=0.5)
        axes[0].set_ylabel("density (log scale)")
        legend_below(fig, [Line2D([], [], color=variant_colour(v), lw=1.4) for v in variants],
                     [variant_label(v) for v in variants])
    return fig


def _symlog_ticks(lo: float, hi: float) -> list[float]:
    """0 and ±10^k, every decade up to 10², every 2nd or 3rd beyond, so labels never touch."""
    top = int(np.ceil(np.log10(max(abs(lo), abs(hi), 1.0))))
    step = 1 if top <= 2 else 2 if top <= 5 else 3
    powers = [10.0 ** k for k in range(top, 0 if top > 1 else -1, -step)]
    return sorted({0.0, *[p for p in powers if p <= max(hi, 1.0)],
                   *[-p for p in powers if -p >= min(lo, -1.0)]})


def _power_of_ten(x: float, _pos=None) -> str:
    if x == 0:
        return "0"
    k = round(float(np.log10(abs(x))))
    text = "1" if k == 0 else "10" if k == 1 else f"10^{{{k}}}"
    return f"$\\mathregular{{{'−' if x < 0 else ''}{text}}}$"


def _choose(name: str, chosen, present: pd.Series, order) -> list[str]:
    have = list(pd.unique(present))
    if chosen is None:
        return order(have)
    chosen = [chosen] if isinstance(chosen, str) else list(chosen)
    absent = [c for c in chosen if c not in have]
    if absent or not chosen:
        raise ValueError(f"{name} {absent or chosen} not in the data (it has {sorted(have)})")
    return order(chosen)


def _title(letter: str, network: str, row: pd.Series | None) -> str:
    head = f"({letter}) {network_name(network)}" if letter else network_name(network)
    if row is None:
        return f"{head}\nn too small"
    note = str(row["note"])
    if row["p"] is None or (isinstance(row["p"], float) and not np.isfinite(row["p"])):
        return f"{head}\n{'n too small' if note.startswith('n too small') else 'no test'}"
    return f"{head}\nANOVA p = {row['p']:.3g}"


def _letters(metrics: Sequence[str], ncols: int) -> list[list[str]]:
    """The paper's panel letters when the figure is (part of) Figure 3, else a, b, c, ..."""
    if ncols <= 2 and all(m in FIGURE3_LETTERS for m in metrics):
        return [list(FIGURE3_LETTERS[m][:ncols]) for m in metrics]
    return [[chr(ord("a") + i * ncols + j) for j in range(ncols)] for i in range(len(metrics))]


def _tick_label(variant: str, width: int) -> str:
    return textwrap.fill(variant_label(variant), width=width, break_long_words=False,
                         break_on_hyphens=False)


def metric_boxplots(
    runs: pd.DataFrame, metrics: Sequence[str], networks: Sequence[str] | None = None,
    variants: Sequence[str] | None = None, *,
    paper_medians: Mapping[str, Mapping[tuple[str, str], float]] | None = PAPER_MEDIANS,
) -> Figure:
    """Figure 3: box-and-strip plots per (metric, network), one box per variant, ANOVA p on top.

    The p-value is ``ggcam.stats.unpaired.anova(runs, metric, levels=variants)``'s; when the test
    cannot run the title says "n too small" (or "no test" for zero variance). Panels carry
    the paper's letters when the metrics are Figure 3's (auc_ovo: a-b, interp_chf: c-d,
    interp_pneumonia: e-f), else a, b, c, ... row by row. Where the paper reports a median
    for a (network, variant) of a metric, it is drawn as a red diamond beside that box.

    Args:
        runs: one row per training run (columns network, variant and the metrics).
        metrics: one row of panels per metric, e.g. ("auc_ovo",) or ("interp_chf", "interp_pneumonia").
        networks: one column of panels per network; default all, in ``ggcam.config`` order.
        variants: the boxes, always drawn in ``ggcam.config.VARIANTS`` order; default every
            variant in ``runs``.
        paper_medians: metric → {(network, variant): median}; None draws no reference marks.

    Returns:
        Figure with len(metrics) × len(networks) Axes titled "(a) ResNet50\\nANOVA p = 0.012";
        x tick labels are the variants' labels, wrapped; with more than three variants the
        boxes are named by a colour legend below the panels instead.
    """
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    if not metrics:
        raise ValueError("metrics must name at least one column")
    need(runs, "runs", ("network", "variant", *metrics))
    networks = _choose("networks", networks, runs["network"], order_networks)
    variants = _choose("variants", variants, runs["variant"], order_variants)
    nrows, ncols = len(metrics), len(networks)
    named = len(variants) <= 3  # beyond three boxes, a colour legend names them instead
    width = 3.2 * min(ncols, 2)
    wrap = max(8, int(width / ncols / len(variants) * 11))  # characters per box width
    lines = max(_tick_label(v, wrap).count("\n") + 1 for v in variants) if named else 0
    fig = figure(width, (2.5 + 0.2 * lines) * nrows + (0.35 * len(variants) if not named else 0.3))
    letters = _letters(metrics, ncols)
    marked = False
    with mpl.rc_context(STYLE):
        axes = fig.subplots(nrows, ncols, squeeze=False, sharey="row")
        for i, metric in enumerate(metrics):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # the note goes in the title
                tests = anova(runs, metric, by="network", levels=variants).set_index("network")
            reference = (paper_medians or {}).get(metric, {})
            for j, network in enumerate(networks):
                ax = axes[i, j]
                marked |= _box_panel(ax, runs, metric, network, variants,
                                     {v: reference[(network, v)] for v in variants
                                      if (network, v) in reference})
                ax.set_xticks(range(len(variants)),
                              [_tick_label(v, wrap) if named else "" for v in variants])
                ax.set_ylabel(METRIC_NAMES.get(metric, metric) if j == 0 else "")
                row = tests.loc[network] if network in tests.index else None
                ax.set_title(_title(letters[i][j], network, row))
        _box_legend(fig, variants, named, marked)
    return fig


def _box_panel(ax, runs: pd.DataFrame, metric: str, network: str, variants: list[str],
               reference: dict[str, float]) -> bool:
    """One panel of ``metric_boxplots``: a box per variant, every run as a dot, the paper's
    medians (``reference``: variant → median) as red diamonds; True when one was drawn."""
    part = runs[(runs["network"] == network) & runs["variant"].isin(variants)]
    part = part.dropna(subset=[metric])
    values = [np.sort(part.loc[part["variant"] == v, metric].to_numpy(dtype=float))
              for v in variants]
    drawn = [k for k, y in enumerate(values) if y.size]
    boxes = ax.boxplot([values[k] for k in drawn], positions=drawn, widths=0.6,
                       patch_artist=True, showfliers=False,
                       medianprops={"color": "0.15", "lw": 1.5})
    for k, box in zip(drawn, boxes["boxes"]):
        box.set_facecolor(mpl.colors.to_rgba(variant_colour(variants[k]), 0.45))
        box.set_edgecolor(variant_colour(variants[k]))
    for k, y in enumerate(values):  # every run as a dot, spread by a fixed rule
        x = k + (np.linspace(-0.12, 0.12, y.size) if y.size > 1 else np.zeros(y.size))
        ax.scatter(x, y, s=14, color="0.2", zorder=3)
    for k, v in enumerate(variants):
        if v in reference:
            ax.scatter([k + 0.38], [reference[v]], marker="D", s=36,
                       color="#c00000", zorder=4, clip_on=False)
    ax.set_xlim(-0.6, len(variants) - 0.4)
    ax.grid(True, axis="y", lw=0.4, alpha=0.5)
    return bool(reference)


def _box_legend(fig: Figure, variants: list[str], named: bool, marked: bool) -> None:
    """The variants' colours when the ticks do not name them; the paper's diamond when drawn."""
    handles, labels = [], []
    if not named:
        handles += [mpl.patches.Patch(facecolor=mpl.colors.to_rgba(variant_colour(v), 0.45),
                                      edgecolor=variant_colour(v)) for v in variants]
        labels += [variant_label(v) for v in variants]
    if marked:
        handles.append(Line2D([], [], marker="D", color="#c00000", ls=""))
        labels.append("median reported in the paper")
    if handles:
        legend_below(fig, handles, labels)
