"""What the study on the page cannot tell, measured from its own records and curves, for the
front page's box: the first study's limits (``first_study``), or, for a study of independent
replicates, the ones a referee would still raise: a budget some runs outgrew, the number of
replicates and the smallest p it allows, an unsteady baseline, and simulated data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ggcam.analysis import first_study
from ggcam.analysis.checkpoint_rule import (
    CONVERGENCE_BAR,
    convergence_sentence,
    has_last_epoch,
    last_epoch_sentence,
)
from ggcam.analysis.design_text import DESIGN_REPLICATES, budget_cuts
from ggcam.analysis.effects import REFERENCE, arm_effects, base_runs, best_epoch_share
from ggcam.analysis.headline import ci_text
from ggcam.analysis.summary_store import curves_of, progress_facts, runs_of
from ggcam.experiment.profiles import Profile, get_profile
from ggcam.experiment.store import ResultsStore
from ggcam.study import short_label

# The training time each study was to fit, in hours (issue 19: the cpu sweep on 2 cores).
AIM_HOURS = {"cpu": 10.0}
CHANCE_CE = float(np.log(3))  # the cross-entropy of a uniform guess over three classes


def largest_val_ce(store: ResultsStore, runs: pd.DataFrame) -> pd.Series:
    """Each run's largest validation cross-entropy over its epochs, by run_id (NaN where its
    curves are missing)."""
    curves = curves_of(store)
    if "val_ce" not in curves.columns:
        return pd.Series(np.nan, index=runs["run_id"])
    return curves.groupby("run_id")["val_ce"].max().reindex(runs["run_id"])


def _replicates_item(base: pd.DataFrame, profile: Profile) -> str:
    pairs = base[base["variant"].isin(profile.primary)].groupby("seed")["variant"].nunique()
    n = int((pairs == len(profile.primary)).sum())
    planned = max(len(a.seeds) for a in profile.arms if a.variant == REFERENCE)
    cut = f" (the design asked for {DESIGN_REPLICATES})" if planned < DESIGN_REPLICATES else ""
    floor = 2 / 2 ** n
    blocked = [f"{f.name} ({len(f.comparisons) * len(f.metrics)} tests)" for f in profile.families
               if len(f.comparisons) * len(f.metrics) * floor > 0.05]
    holm = (f" A Holm family of m tests cannot go below m times that, so these families cannot "
            f"reach p < 0.05 at all and their intervals are descriptive: {', '.join(blocked)}."
            if blocked and n else "")
    return (f"**{n} paired replicates{cut}.** With {n} pairs the smallest p an exact sign-flip "
            f"test can give is 2/{2 ** n} = {floor:.4f}, however large the effect.{holm}")


def _budget_item(store: ResultsStore, profile: Profile) -> str | None:
    """What the study cut to fit its training budget, in the order agreed before its sweep,
    and how long its training took against the aim; None where it cut nothing and kept to it."""
    cuts = budget_cuts(profile, stand_in=" (the first study's runs stand in for them where a page shows them)")
    progress = progress_facts(store)
    hours = progress["wall_hours"]
    aim = AIM_HOURS.get(profile.name)
    if not cuts and (aim is None or hours <= aim):
        return None
    text = "**Cut to fit its budget.** " if cuts else "**Over its budget.** "
    if aim is not None:
        text += f"The design aimed at {aim:g} h of training on {profile.options.threads} CPU cores. "
    if cuts:
        text += (f"At the input its dynamic-range check chose ({profile.input_shape[0]}×"
                 f"{profile.input_shape[1]}), it was cut, in the order agreed before its sweep: "
                 + "; ".join(cuts) + ". ")
    so_far = ("" if progress["done"] == progress["planned"]
              else f", {progress['done']} of its {progress['planned']} runs so far")
    if aim is None or hours <= aim:
        return text + f"Its training took {hours:.1f} h{so_far}."
    return text + f"Its training still took {hours:.1f} h{so_far}: {hours / aim:.1f} times the aim."


def _baseline_item(store: ResultsStore, base: pd.DataFrame, profile: Profile) -> str | None:
    ref, arm = profile.primary
    std, gg = base[base["variant"] == ref], base[base["variant"] == arm]
    if std.empty or gg.empty:
        return None
    failed = int((~std["learned"].astype(bool)).sum())
    peaks = largest_val_ce(store, base)
    std_peak, gg_peak = peaks.reindex(std["run_id"]).median(), peaks.reindex(gg["run_id"]).median()
    if failed == 0 and not std_peak > 2 * gg_peak:
        return None
    swing = ("" if not np.isfinite(std_peak) else
             f" {short_label(ref).capitalize()}'s validation cross-entropy swings from epoch to "
             f"epoch: a run's largest has median {std_peak:.1f} over replicates, against {gg_peak:.1f} for {short_label(arm)} "
             f"(a uniform guess scores {CHANCE_CE:.2f}).")
    return (f"**An unsteady baseline.** {failed} of {len(std)} standard runs did not learn by "
            f"the study's bar{_others_failed(base, profile)}.{swing} Part of the gain may be "
            f"steadier training rather than information in the gaze.{_control_clause(base, profile)} A standard network without "
            "early stopping, or at a lower learning rate, would tell more; neither was run.")


def _others_failed(base: pd.DataFrame, profile: Profile) -> str:
    """", nor did k of n of <arm>'s" for every other base arm with runs that did not learn:
    their comparisons with standard then pair two arms that each often fail."""
    parts = []
    for variant, runs in base[~base["variant"].isin(profile.primary)].groupby("variant", sort=False):
        failed = int((~runs["learned"].astype(bool)).sum())
        if failed:
            parts.append(f"{failed} of {len(runs)} of the {short_label(variant)}'s")
    return f", nor did {' and '.join(parts)}" if parts else ""


def _control_clause(base: pd.DataFrame, profile: Profile, control: str = "ggcam-shuffled") -> str:
    """What the wrong-gaze control (the same loss, another image's gaze) says about it: its
    paired ΔAUC against standard and against the primary GG-CAM arm, once both have 2 paired
    replicates; "" before."""
    arm = profile.primary[1]
    e = arm_effects(base, profile)
    rows = e[(e["arm"] == control) & (e["metric"] == "auc_ovo")].set_index("reference")
    if not {REFERENCE, arm} <= set(rows.index) or rows.loc[[REFERENCE, arm], "n"].min() < 2:
        return ""
    vs_std, vs_arm = rows.loc[REFERENCE], rows.loc[arm]
    return (f" The wrong-gaze control trains with the same loss on another image's gaze: its "
            f"paired ΔAUC is {ci_text(vs_std)} against standard and {ci_text(vs_arm)} against "
            f"{short_label(arm)}{_holm_note(vs_arm)}; " + _control_reading(vs_std, vs_arm))


def _holm_note(row: pd.Series) -> str:
    """The comparison's Holm p in its family, and "descriptive" where it cannot decide."""
    p = row.get("p_holm", np.nan)
    if not np.isfinite(p):
        return ""
    return f" (Holm p = {p:.2g}" + (": descriptive)" if p >= 0.05 else ")")


def _control_reading(vs_std: pd.Series, vs_arm: pd.Series) -> str:
    # Another image of the same class still shows where that class's findings lie: what the
    # control keeps may be a class-typical map as much as a steadier loss.
    if vs_arm["high"] >= 0:  # wrong gaze does as well as this image's gaze
        return ("the gain may not need this image's gaze: a steadier loss or a class-typical "
                "map could explain much of it.")
    if vs_std["low"] > 0:  # wrong gaze beats standard, and this image's gaze beats wrong gaze
        return ("this suggests that part of the gain survives with another image's gaze of the "
                "same class (a steadier loss, or a class-typical map) and part needs this image's "
                "gaze.")
    return ("this suggests that the gain needs this image's gaze, not only a steadier loss or a "
            "class-typical map.")


def current_items(store: ResultsStore, runs: pd.DataFrame, profile: Profile) -> list[str]:
    """The limits of a study of independent replicates, each only where it applies."""
    base = base_runs(runs, profile)
    items = []
    primary = runs[runs["variant"].isin(profile.primary)]
    if has_last_epoch(runs) and len(primary) and best_epoch_share(primary, profile) < CONVERGENCE_BAR:
        items.append(f"**A budget some runs outgrew.** {convergence_sentence(runs, profile)} "
                     f"{last_epoch_sentence(runs, profile)}")
    items.append(_replicates_item(base, profile))
    budget = _budget_item(store, profile)
    if budget:
        items.append(budget)
    baseline = _baseline_item(store, base, profile)
    if baseline:
        items.append(baseline)
    if profile.data == "phantom":
        items.append("**Simulated images and a simulated reader.** Effects here show a direction "
                     "and where it appears, not its size on real radiographs; the same code reads "
                     "the real release ([Running on the real data](09_real_data.ipynb)).")
    return items


def limits_markdown(store: ResultsStore) -> str:
    """The front page's "What this study cannot tell" box for the study in ``store``, or ""
    before it has a run."""
    profile = get_profile(store.profile)
    if profile.replicates is None:
        return first_study.limits_markdown(store)
    runs = runs_of(store)
    if runs.empty:
        return ""
    body = "\n".join(f"- {item}" for item in current_items(store, runs, profile))
    return f":::{{admonition}} What this study cannot tell\n:class: note\n\n{body}\n:::"
