"""What a study that re-split one pool per seed (the first, ``cpu-v1``) cannot tell, measured
from its own records and predictions: shown wherever such a study is the one on the page, so
its numbers are never read without the limits a referee found in them.
"""

from __future__ import annotations

from itertools import combinations

import pandas as pd

from ggcam.analysis.effects import best_epoch_share
from ggcam.analysis.summary_store import borrowed_note, network_label, runs_of
from ggcam.experiment.profiles import get_profile
from ggcam.experiment.store import ResultsStore

GAZE_ARMS_PREFIX = "ggcam"


def shared_test_share(store: ResultsStore, runs: pd.DataFrame) -> float:
    """Mean share of a seed's test images that another seed's test set also holds (one
    network and arm, every pair of seeds)."""
    first = runs.sort_values(["network", "variant", "seed"]).groupby(["network", "variant"])
    group = max(first, key=lambda kv: len(kv[1]))[1]  # the arm with the most seeds
    ids = [set(store.predictions(r)["dicom_id"]) for r in group["run_id"]]
    shares = [len(a & b) / len(a) for a, b in combinations(ids, 2)]
    return sum(shares) / len(shares) if shares else float("nan")


def limits_markdown(store: ResultsStore) -> str:
    """A warning box listing the first study's limits, or "" for a study of independent
    replicates (which has none of them)."""
    profile = get_profile(store.profile)
    runs = runs_of(store)
    if profile.replicates is not None or runs.empty:
        return ""
    gaze = runs[runs["variant"].str.startswith(GAZE_ARMS_PREFIX)]
    late = 1 - best_epoch_share(gaze, profile)
    late_std = 1 - best_epoch_share(runs[runs["variant"] == "standard"], profile)
    dirty = int(runs["commit"].astype(str).str.endswith("+dirty").sum())
    items = [
        f"**Seeds, not independent replicates.** Its seeds re-split one pool of "
        f"{profile.n_images} images, so two seeds' test sets share {shared_test_share(store, runs):.0%} "
        "of their images on average; its intervals on this page are corrected for that overlap.",
        f"**Stopped while improving.** {late:.0%} of its GG-CAM-type runs chose an epoch in the "
        f"last fifth of their {profile.max_epochs}-epoch budget (standard: {late_std:.0%}), so an "
        "arm that did not learn here may have lacked epochs rather than merit.",
        "**Not one checkpoint rule.** Each arm kept the epoch best by its own Table 1 criterion.",
        f"**Many code versions.** Its {len(runs)} runs were made at "
        f"{runs['commit'].nunique()} commits, {dirty} of them from a working tree that differed "
        "from its commit (`ggcam rerun` retrains any of them at the current code); its Holm "
        "families were redefined partway through its sweep.",
        f"**A coarse grid.** At {profile.grid_shape[0]}×{profile.grid_shape[1]} its localisation "
        "scores cannot tell a real map from a constant one (the interpretability page shows "
        "both).",
    ]
    body = "\n".join(f"- {item}" for item in items)
    return (":::{admonition} What this study cannot tell\n:class: warning\n\n"
            "The study shown is the first; the current study was designed to remove these "
            f"limits.\n\n{body}\n:::")


BUDGET_ARMS = ("ggcam", "ggcam-fp64", "ggcam-legacy")  # Table 1's or the code's tiny σ_sm


def borrowed_limits(store: ResultsStore) -> str:
    """For a section that borrows the first study's arms while the book shows another: that
    study's limits in two sentences, and why its Table 1 arms did not learn (in its epoch
    budget the gaze term still outweighed the cross-entropy by many orders of magnitude at the
    end: a budget result, not a verdict on the method); "" for a study of independent
    replicates."""
    profile = get_profile(store.profile)
    runs = runs_of(store)
    if profile.replicates is not None or runs.empty:
        return ""
    text = (f"That study re-split one pool of {profile.n_images} images per seed (its seeds are "
            f"not independent replicates), trained {profile.max_epochs} epochs with each arm's "
            f"own checkpoint rule, and scored maps on a {profile.grid_shape[0]}×"
            f"{profile.grid_shape[1]} grid.")
    net = runs["network"].iloc[0] if "resnet18" not in set(runs["network"]) else "resnet18"
    mine = runs[(runs["network"] == net) & runs["variant"].isin(BUDGET_ARMS)]
    ratio = (mine["w_sm_final"] / mine["w_ce_final"]).groupby(mine["variant"]).median().dropna()
    if ratio.empty:
        return text
    parts = ", ".join(f"`{v}` {ratio[v]:.2g}".replace("e+", "e") for v in BUDGET_ARMS if v in ratio.index)
    return (text + f" At its end the gaze term's weight in eq. 11 was still many times the "
            f"cross-entropy's ({parts} times; medians over its {network_label(net)} runs): in "
            f"{profile.max_epochs} epochs at learning rate {profile.lr:g} these arms never left the "
            "gaze-dominated start, so where they did not learn, that is a result of the budget, "
            "not of the method.")


def borrowed_with_limits(store: ResultsStore, main: ResultsStore, what: str,
                         where: str = "This section") -> str:
    """``summary_store.borrowed_note`` followed by the borrowed study's limits
    (``borrowed_limits``); "" when the section reads the study the book shows."""
    note = borrowed_note(store, main, what, where)
    return f"{note} {borrowed_limits(store)}".strip() if note else ""
