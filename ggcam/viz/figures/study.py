"""The study's two figures: each arm's paired effect against ``standard`` (the headline) and
where gaze starts to help (the dose-response), both with the equivalence margin and the
paper's gain drawn. The numbers are ``ggcam.analysis.effects``'s; nothing is computed here."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ggcam.analysis.dose import WRONG_GAZE
from ggcam.study import ARM, short_label
from ggcam.viz.style import figure, variant_colour

HEADLINE_ARMS = ("ggcam-warm", "ggcam-oracle", "ggcam-shuffled", "ggcam-centre")
PANELS = {"auc_ovo": "Δ test AUC", "pointing_pneumonia": "Δ pointing game, pneumonia",
          "cc": "Δ CC with the reader's Ψ"}
FACTORS = {"n_train": "training images per replicate", "informativeness": "reader informativeness"}


def _guides(ax, metric: str, margin: float, gain: float, vertical: bool) -> None:
    line = ax.axvline if vertical else ax.axhline
    span = ax.axvspan if vertical else ax.axhspan
    line(0, color="0.3", lw=0.8)
    if metric == "auc_ovo":
        span(-margin, margin, color="0.85", zorder=0, label=f"equivalence margin ±{margin:g}")
        line(gain, color="0.35", ls="--", lw=1.2, label=f"the paper's gain (+{gain:.3f})")  # grey: no arm's colour


def headline_metrics(effects: pd.DataFrame) -> tuple[str, ...]:
    """Test AUC and the localisation metric the study recorded: the pointing game on pneumonia,
    or (the first study, whose grid could not score it) the CC with Ψ."""
    have = set(effects.loc[effects["estimate"].notna(), "metric"])
    return ("auc_ovo", next((m for m in ("pointing_pneumonia", "cc") if m in have), "pointing_pneumonia"))


def _arms_with_data(effects: pd.DataFrame, arms) -> tuple[str, ...]:
    done = effects[(effects["reference"] == "standard") & effects["estimate"].notna()]
    return tuple(a for a in arms if a in set(done["arm"])) or tuple(arms)


def effects_figure(effects: pd.DataFrame, margin: float, gain: float,
                   arms=HEADLINE_ARMS, metrics=None) -> Figure:
    """Each arm's mean paired Δ against ``standard`` with its 95% interval, one panel per
    metric (default ``headline_metrics``); arms without a paired replicate yet are left out."""
    metrics = tuple(metrics or headline_metrics(effects))
    arms = _arms_with_data(effects, arms)
    fig = figure(6.4, 0.42 * len(arms) + 1.5)
    axes = fig.subplots(1, len(metrics), sharey=True, squeeze=False)[0]
    for ax, metric in zip(axes, metrics):
        rows = effects[(effects["metric"] == metric) & (effects["reference"] == "standard")]
        for y, arm in enumerate(arms):
            r = rows[rows["arm"] == arm]
            if r.empty or not np.isfinite(r.iloc[0]["estimate"]):
                continue
            r = r.iloc[0]
            ax.errorbar(r["estimate"], y, xerr=[[r["estimate"] - r["low"]], [r["high"] - r["estimate"]]]
                        if np.isfinite(r["low"]) else None, fmt="o", color=variant_colour(arm), capsize=3)
        _guides(ax, metric, margin, gain, vertical=True)
        ax.set_xlabel(PANELS.get(metric, metric))
        ax.margins(x=0.12)
    axes[0].set_yticks(range(len(arms)), [ARM[a].short for a in arms])
    axes[0].set_ylim(len(arms) - 0.5, -0.5)  # the first arm on top (shared: set once)
    if "auc_ovo" in metrics:
        fig.legend(*axes[list(metrics).index("auc_ovo")].get_legend_handles_labels(),
                   loc="outside upper center", ncol=2, frameon=False)
    return fig


def dose_response_figure(dose: pd.DataFrame, margin: float, gain: float,
                         metrics=("auc_ovo", "pointing_pneumonia"), planned=None) -> Figure:
    """Paired Δ (arm − standard) at every dose point, one row per metric, one column per
    factor: the mean over replicates with its 95% interval as an error bar (points with few
    replicates have wide intervals; a band between points would hide which is which).
    ``planned``: factor → every value the study plans there (``dose_text.planned_values``);
    each becomes a tick labelled with its paired replicates so far ("–": no point yet). The
    y axis spans the estimates and the intervals of points with ≥ 3 replicates; an interval of
    two (t with one degree of freedom: 12.7 standard errors) that runs past it ends in an
    arrowhead at the edge."""
    fig = figure(6.4, 2.5 * len(metrics))
    axes = fig.subplots(len(metrics), len(FACTORS), sharey="row", squeeze=False)  # base point: one value
    for i, metric in enumerate(metrics):
        limits = _row_limits(dose[dose["metric"] == metric], metric, margin, gain)
        for j, (factor, label) in enumerate(FACTORS.items()):
            ax = axes[i, j]
            part = dose[(dose["factor"] == factor) & (dose["metric"] == metric)]
            ax.set_ylim(*limits)
            _mark_past_axis(ax, part, limits)
            for arm, rows in part.groupby("arm", sort=False):
                rows = rows.sort_values("value")
                yerr = [rows["estimate"] - rows["low"], rows["high"] - rows["estimate"]]
                if arm == WRONG_GAZE:  # one base-point control, not a curve (analysis.dose.dose_response)
                    ax.errorbar(rows["value"], rows["estimate"], yerr=yerr, fmt="o", mfc="white",
                                color=variant_colour(arm), capsize=3,
                                label=f"{short_label(arm)} (another image's gaze)")
                    continue
                ax.errorbar(rows["value"], rows["estimate"], yerr=yerr, fmt="o-", capsize=3,
                            color=variant_colour(arm), label=short_label(arm))
            _guides(ax, metric, margin, gain, vertical=False)
            _dose_ticks(ax, factor, part, (planned or {}).get(factor))
            ax.set_xlabel(label)
            if j == 0:
                ax.set_ylabel(PANELS.get(metric, metric))
    # above the panels, as in the headline figure: inside one it hid a dose point
    legend = {}
    for ax in axes[0]:
        legend.update(zip(*reversed(ax.get_legend_handles_labels())))
    fig.legend(list(legend.values()), list(legend), loc="outside upper center", ncol=2,
               frameon=False)
    return fig


def _row_limits(rows: pd.DataFrame, metric: str, margin: float, gain: float) -> tuple[float, float]:
    """A row's y range: zero, every estimate, the intervals of points with ≥ 3 replicates and
    (AUC) the margin and the paper's gain, padded, within [−1, 1] (a difference of two rates)."""
    steady = rows[rows["n"] >= 3]
    values = [0.0, *rows["estimate"].dropna(), *steady["low"].dropna(), *steady["high"].dropna()]
    if metric == "auc_ovo":
        values += [-margin, margin, gain]
    low, high = min(values), max(values)
    pad = 0.15 * ((high - low) or 0.1)
    return max(low - pad, -1.0), min(high + pad, 1.0)


def _mark_past_axis(ax, part: pd.DataFrame, limits: tuple[float, float]) -> None:
    """An arrowhead at the panel's edge where an interval runs past the y range."""
    for _, row in part.iterrows():
        for edge, beyond, marker in ((limits[0], row["low"] < limits[0], "v"), (limits[1], row["high"] > limits[1], "^")):
            if beyond:
                ax.plot(row["value"], edge, marker=marker, color=variant_colour(row["arm"]),
                        ms=6, clip_on=False, zorder=3)


def _dose_ticks(ax, factor: str, part: pd.DataFrame, planned) -> None:
    """Training-set sizes on a log2 axis; with ``planned``, a tick at every planned value with
    its paired replicates ("n = 8"; "–" where no point is drawn: fewer than two so far)."""
    if factor == "n_train":
        ax.set_xscale("log", base=2)
    if planned is None:
        return
    values = sorted(set(planned) | set(part["value"]))  # the control's 0 as well
    counts = part.groupby("value")["n"].max()
    labels = [f"{v:g}\nn = {int(counts[v])}" if v in counts.index else f"{v:g}\n–" for v in values]
    ax.set_xticks(values, labels)
    ax.minorticks_off()
    low, high = min(values), max(values)
    pad = (high / low) ** 0.12 if factor == "n_train" and low > 0 else None
    ax.set_xlim(*((low / pad, high * pad) if pad else (low - 0.08 * (high - low), high + 0.08 * (high - low))))


_BASELINE_STYLE = {"prior": ("--", "0.25"), "fixed": (":", "0.25"), "random": ("-.", "0.55")}


def image_scores_figure(long: pd.DataFrame) -> Figure:
    """Each arm's image-space localisation per replicate (dots) and mean (bar), one panel per
    class × metric, with the constant maps' means as horizontal lines (``image_scores``)."""
    from ggcam.analysis.image_scores import BASELINES, CLASSES, METRICS

    short_to_arm = {spec.short: name for name, spec in ARM.items()}
    arms = list(dict.fromkeys(long.loc[long["kind"] == "arm", "map"]))
    fig = figure(6.4, 4.6)
    axes = fig.subplots(len(CLASSES), len(METRICS), sharex=True, squeeze=False)
    for i, (cls, cls_label) in enumerate(CLASSES.items()):
        for j, (metric, metric_label) in enumerate(METRICS.items()):
            ax = axes[i, j]
            here = long[(long["class"] == cls) & (long["metric"] == metric)]
            for x, arm in enumerate(arms):
                v = here.loc[here["map"] == arm, "value"].to_numpy()
                colour = variant_colour(short_to_arm.get(arm, arm))
                ax.plot(np.full(len(v), x) + np.linspace(-0.15, 0.15, len(v)), v, "o", ms=3,
                        color=colour, alpha=0.7)
                ax.hlines(v.mean() if len(v) else np.nan, x - 0.3, x + 0.3, color=colour, lw=2)
            for prefix, (label, _) in BASELINES.items():
                v = here.loc[here["map"] == label, "value"]
                if len(v):
                    ls, c = _BASELINE_STYLE[prefix]
                    ax.axhline(v.mean(), ls=ls, color=c, lw=1, label=label)
            ax.set_title(f"{metric_label}, {cls_label}", fontsize="medium")
            ax.set_xticks(range(len(arms)), arms, rotation=30, ha="right")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, frameon=False)
    return fig


def validation_curves_figure(curves: pd.DataFrame, runs: pd.DataFrame, arms) -> Figure:
    """Validation AUC and cross-entropy per epoch of every run of ``arms`` (one column each),
    a line per replicate, its chosen epoch as a dot: what the one checkpoint rule saw."""
    arms = [a for a in arms if (runs["variant"] == a).any()]
    fig = figure(6.4, 4.4)
    axes = fig.subplots(2, len(arms), sharex=True, sharey="row", squeeze=False)
    best = runs.set_index("run_id")["best_epoch"]
    for j, arm in enumerate(arms):
        colour = variant_colour(arm)
        for run_id in runs.loc[runs["variant"] == arm, "run_id"]:
            c = curves[curves["run_id"] == run_id].sort_values("epoch")
            chosen = c[c["epoch"] == best.get(run_id)]
            for i, column in enumerate(("val_auc", "val_ce")):
                axes[i, j].plot(c["epoch"], c[column], color=colour, lw=1, alpha=0.7)
                axes[i, j].plot(chosen["epoch"], chosen[column], "o", color=colour, ms=4)
        axes[0, j].set_title(short_label(arm), fontsize="medium")
        axes[1, j].set_xlabel("epoch")
    axes[0, 0].set_ylabel("validation AUC")
    axes[1, 0].set_ylabel("validation cross-entropy")
    axes[1, 0].set_yscale("log")
    return fig
