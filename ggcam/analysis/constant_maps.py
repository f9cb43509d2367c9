"""Eq. 12 of a map that knows nothing of the image: the mean-gaze map (the mean training Ψ,
stored with every run as ``centre_prior``) given to every test image, scored exactly as the
networks' Ω^Y are (``ggcam.metrics.interpretability``). On a coarse grid this constant map's
peak sits in the lungs or near the heart for most images, so a network's eq. 12 means
something only above it. Computed from the stored maps; nothing is trained.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ggcam.analysis.summary_store import network_label
from ggcam.experiment.store import ResultsStore
from ggcam.metrics import interpretability

EQ12_KEYS = {"chf": "CHF", "pneumonia": "pneumonia"}


def prior_eq12(store: ResultsStore, runs: pd.DataFrame) -> pd.DataFrame:
    """Per run: eq. 12 (strict and 3×3) of its mean-gaze map on its own test images, columns
    ``run_id``, ``prior_interp_<class>`` and ``prior_interp3x3_<class>``, and the grid pointing
    game against the true findings, ``prior_pointing`` (scored as the run's own, NaN where the
    data has no findings)."""
    from ggcam.experiment.metrics import POINTING_TOLERANCE
    from ggcam.metrics.localisation import pointing_game

    rows = []
    for run_id in runs["run_id"]:
        maps = store.maps(run_id)
        labels = store.predictions(run_id)["label"].to_numpy()
        n, k = maps["cams"].shape[:2]
        constant = np.broadcast_to(maps["centre_prior"], (n, k, *maps["centre_prior"].shape))
        regions = {"heart": maps["mask_heart"], "lung": maps["mask_lung"]}
        row = {"run_id": run_id, "prior_pointing": np.nan}
        for r, prefix in ((0, "prior_interp"), (1, "prior_interp3x3")):
            scores = interpretability(constant, labels, regions, neighbourhood=r)
            row |= {f"{prefix}_{key}": scores.get(name) for key, name in EQ12_KEYS.items()}
        finding = maps.get("mask_finding")
        if finding is not None and finding.any():
            row["prior_pointing"] = pointing_game(constant, labels, finding, tolerance=POINTING_TOLERANCE).rate
        rows.append(row)
    return pd.DataFrame(rows, columns=["run_id", *(f"{p}_{c}" for p in ("prior_interp", "prior_interp3x3")
                                                   for c in EQ12_KEYS), "prior_pointing"])


def prior_sentence(runs: pd.DataFrame, prior: pd.DataFrame, profile) -> str:
    """Eq. 12 for pneumonia, strict: the primary arms' medians beside the mean-gaze map's."""
    if runs.empty or prior.empty:
        return ""
    network = profile.networks[0]
    here = runs[runs["network"] == network].merge(prior, on="run_id")
    med = lambda col, arm: float(here.loc[here["variant"] == arm, col].median())
    ref, arm = profile.primary
    if not {ref, arm} <= set(here["variant"]):
        return ""
    rate = med("prior_interp_pneumonia", ref)
    a, b = med("interp_pneumonia", ref), med("interp_pneumonia", arm)
    verdict = ("at or above both" if rate >= max(a, b) else "below both" if rate < min(a, b)
               else "between")
    return (f"On {network_label(network)} for pneumonia it reaches {rate:.2f}, {verdict} "
            f"`{ref}` ({a:.2f}) and `{arm}` ({b:.2f}), medians over seeds.")


def partial_cc_sentence(runs: pd.DataFrame, profile) -> str:
    """CC with Ψ beside the mean-gaze map's, and the partial CC given that map (what of this
    image's gaze the map follows beyond where readers look on average), per arm at the base
    point; "" for a study that did not record the partial CC."""
    from ggcam.analysis.effects import base_runs
    from ggcam.study import short_label

    if "cc_partial" not in runs.columns or runs["cc_partial"].isna().all():
        return ""
    base = base_runs(runs, profile)
    by_arm = base.groupby("variant")[["cc", "cc_partial"]].median()
    parts = [f"{short_label(v)} {by_arm.loc[v, 'cc']:.2f} / "
             f"{by_arm.loc[v, 'cc_partial']:+.2f}"
             for v in profile.variants if v in by_arm.index]
    prior = float(base["cc_centre"].median())
    return (f"Medians over replicates, CC with Ψ / partial CC given the mean-gaze map: "
            f"{'; '.join(parts)}. The mean-gaze map itself reaches a CC of {prior:.2f}; a "
            "partial CC near 0 means a map follows no more of this image's gaze than that map "
            "already does.")


def gaze_level(runs: pd.DataFrame, profile) -> dict[str, str]:
    """The partial CC behind the front page's "following the reader" verdict, as a clause for
    ``effects.verdicts(levels=...)``: the primary arms' medians and the oracle's, which never
    sees gaze. Where the oracle follows the reader as far as GG-CAM does, the clause says why:
    the simulated reader looks at the findings, so a map that finds them follows its gaze."""
    from ggcam.analysis.effects import base_runs
    from ggcam.study import short_label

    if "cc_partial" not in runs.columns or runs["cc_partial"].isna().all():
        return {}
    med = base_runs(runs, profile).groupby("variant")["cc_partial"].median()
    ref, arm = profile.primary
    if not {ref, arm} <= set(med.index):
        return {}
    text = f"medians: {short_label(arm)} {med[arm]:+.2f}, {short_label(ref)} {med[ref]:+.2f}"
    if "ggcam-oracle" in med.index:
        oracle = med["ggcam-oracle"]
        text += f", the oracle, which never sees gaze, {oracle:+.2f}" + (
            ": the simulated reader looks at the findings, so maps that find them follow its "
            "gaze too" if oracle >= med[arm] else "")
    return {"gaze": text}
