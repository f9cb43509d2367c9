"""How the runs trained, for the results pages: per network × arm, the flags a run raised
(``flags_table``), the sigmoid's saturation (``saturation_table``), the spread of Ω
(``omega_quantiles``) and, for the released code (page 08), which class map learned Ψ
(``class_map_agreement``) and the learning-rate drops (``lr_drops``, ``lr_drop_sentence``). ``summary`` names them all.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ggcam.analysis.summary_store import network_label, runs_of
from ggcam.experiment.store import ResultsStore
from ggcam.study import VARIANTS, arm_rank


def in_arm_order(t: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by network, then arm in ``VARIANTS`` order; networks by their label."""
    order = {v: i for i, v in enumerate(VARIANTS)}
    t = t.sort_values(["network", "variant"], key=lambda c: c.map(order) if c.name == "variant" else c)
    return t.assign(network=t["network"].map(network_label)).reset_index(drop=True)


def flags_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per network × arm: runs, diverged, σ_sm frozen, optimiser overflow anywhere, sigmoid
    saturated, single-class, a class recalled below ``MIN_RECALL``, AUC interval covering
    chance, learned (the last three are the "learned" rule's tests)."""
    from ggcam.stats.equivalence import MIN_RECALL

    cols = ["network", "variant", "runs", "diverged", "σ_sm frozen", "optimiser overflow",
            "sigmoid saturated", "single class", "low recall", "AUC CI covers 0.5", "learned"]
    if runs.empty:
        return pd.DataFrame(columns=cols)
    recalls = runs[[c for c in runs.columns if c.startswith("recall_")]].astype(float)
    r = runs.assign(diverged=runs["status"] != "ok",
                    low_recall=(recalls < MIN_RECALL).any(axis=1) if recalls.shape[1] else False)
    g = r.groupby(["network", "variant"], sort=False)
    t = pd.DataFrame({"runs": g.size(), "diverged": g["diverged"].sum(),
                      "σ_sm frozen": g["sigma_frozen"].sum(),
                      "optimiser overflow": g["optimizer_overflow"].sum(),
                      "sigmoid saturated": g["sigmoid_saturated"].sum(),
                      "single class": g["single_class"].sum(),
                      "low recall": g["low_recall"].sum(),
                      "AUC CI covers 0.5": g["auc_ci_covers_chance"].sum(),
                      "learned": g["learned"].sum()}).astype(int).reset_index()
    return in_arm_order(t)[cols]


def saturation_table(curves: pd.DataFrame) -> pd.DataFrame:
    """Per GG-CAM network × arm, medians over runs of the saturation diagnostics: the share of
    Ω^Y cells where the sigmoid of eq. 10 is flat (|αΩ^Y| > 10) and L_sm / mean Ψ², at the
    first and the last epoch."""
    cols = ["network", "variant", "runs", "saturated (first epoch)", "saturated (last epoch)",
            "L_sm / mean Ψ² (first)", "L_sm / mean Ψ² (last)"]
    if curves.empty or "val_saturated" not in curves:
        return pd.DataFrame(columns=cols)
    c = curves[curves["val_saturated"].notna()].sort_values(["run_id", "epoch"])
    if c.empty:
        return pd.DataFrame(columns=cols)
    first = c.groupby("run_id").first()
    last = c.groupby("run_id").last()
    per_run = pd.DataFrame({"network": first["network"], "variant": first["variant"],
                            "s0": first["val_saturated"], "s1": last["val_saturated"],
                            "r0": first["val_sm_ratio"], "r1": last["val_sm_ratio"]})
    g = per_run.groupby(["network", "variant"], sort=False)
    t = pd.DataFrame({"runs": g.size(), "saturated (first epoch)": g["s0"].median(),
                      "saturated (last epoch)": g["s1"].median(),
                      "L_sm / mean Ψ² (first)": g["r0"].median(),
                      "L_sm / mean Ψ² (last)": g["r1"].median()}).reset_index()
    return in_arm_order(t)[cols]


def omega_quantiles(hist: pd.DataFrame, qs=(0.01, 0.5, 0.99)) -> pd.DataFrame:
    """Quantiles of Ω per network × arm from the binned counts, linear within a bin."""
    rows = []
    for (network, variant), part in hist.groupby(["network", "variant"], sort=False):
        counts = part.groupby(["bin_left", "bin_right"])["count"].sum()
        edges = np.append(counts.index.get_level_values(0), counts.index.get_level_values(1)[-1])
        cdf = np.concatenate([[0.0], np.cumsum(counts.to_numpy())]) / counts.sum()
        rows.append({"network": network_label(network), "arm": variant, "order": arm_rank(variant),
                     "runs": int(part["run_id"].nunique()) if "run_id" in part else None,
                     **{f"q{int(q * 100)}": float(np.interp(q, cdf, edges)) for q in qs}})
    if not rows:
        return pd.DataFrame(columns=["network", "arm", "runs", *[f"q{int(q * 100)}" for q in qs]])
    return (pd.DataFrame(rows).sort_values(["network", "order"], kind="stable")
            .drop(columns="order").reset_index(drop=True))


# ---- the released code (page 08) --------------------------------------------------------------


def class_map_agreement(store: ResultsStore, variants=("standard", "ggcam", "ggcam-legacy")) -> pd.DataFrame:
    """Which map learned Ψ? Per network × arm, the mean over runs of the mean CC between Ψ and
    the Normal-class map Ω⁰, and between Ψ and the true class's map Ω^Y, over the test
    images with gaze. The released code supervises Ω⁰ for every label."""
    from ggcam.metrics.saliency import cc

    runs = runs_of(store)
    rows = []
    for r in runs[runs["variant"].isin(variants)].itertuples():
        m = store.maps(r.run_id)
        labels = store.predictions(r.run_id)["label"].to_numpy()
        keep = m["has_gaze"].astype(bool)
        cams, gaze, y = m["cams"][keep], m["gaze"][keep], labels[keep]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # a constant map: CC 0
            normal = [cc(a, b) for a, b in zip(cams[:, 0], gaze)]
            own = [cc(a, b) for a, b in zip(cams[np.arange(len(y)), y], gaze)]
        rows.append({"network": r.network, "variant": r.variant,
                     "CC(Ω⁰, Ψ)": float(np.mean(normal)), "CC(Ωʸ, Ψ)": float(np.mean(own))})
    if not rows:
        return pd.DataFrame(columns=["network", "variant", "runs", "CC(Ω⁰, Ψ)", "CC(Ωʸ, Ψ)"])
    t = pd.DataFrame(rows)
    g = t.groupby(["network", "variant"], sort=False)
    out = g[["CC(Ω⁰, Ψ)", "CC(Ωʸ, Ψ)"]].mean().reset_index()
    out.insert(2, "runs", g.size().to_numpy())
    return in_arm_order(out)


def lr_drops(curves: pd.DataFrame) -> pd.DataFrame:
    """Per network × arm: runs, and how many learning-rate drops they had in all (each one
    reloads the best weights in the released code's arm)."""
    if curves.empty or "lr" not in curves:
        return pd.DataFrame(columns=["network", "variant", "runs", "lr drops", "max epochs"])
    c = curves.sort_values(["run_id", "epoch"])
    drops = c.groupby("run_id")["lr"].apply(lambda s: int((s.diff() < 0).sum()))
    per = c.groupby("run_id").agg(network=("network", "first"), variant=("variant", "first"),
                                  epochs=("epoch", "max")).assign(drops=drops)
    g = per.groupby(["network", "variant"], sort=False)
    t = pd.DataFrame({"runs": g.size(), "lr drops": g["drops"].sum(),
                      "max epochs": g["epochs"].max()}).reset_index()
    return in_arm_order(t)


def lr_drop_sentence(curves: pd.DataFrame) -> str:
    """Whether the plateau patience P (which differs between arms, as in Table 1) ever acted:
    how many runs lowered their learning rate, from their curves."""
    t = lr_drops(curves)
    if t.empty:
        return ""
    dropped = t[t["lr drops"] > 0]
    if dropped.empty:
        return (f"No run of the {int(t['runs'].sum())} shown ever lowered its learning rate: none "
                "went P epochs without a better validation loss before it stopped, so the arms' "
                "different P never acted.")
    arms = ", ".join(f"{v} {int(n)}" for v, n in zip(dropped["variant"], dropped["lr drops"]))
    return (f"Learning-rate drops after P epochs without a better validation loss, in all ({arms}); "
            "arms with a larger P drop later.")
