"""Eq. 12 and the grid pointing game of maps that know nothing of the image, scored exactly
as the networks' Ω^Y are (``ggcam.metrics.interpretability``, ``pointing_game``): the
mean-gaze map (the mean training Ψ, stored with every run as ``centre_prior``) given to every
test image, and the best single cell (one Ω cell for every image, the one that scores best on
these test images: no constant map can do better). On a coarse grid such a map's peak sits in
the lungs or near the heart for most images, so a network's grid score means something only
above them. Computed from the stored maps; nothing is trained.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ggcam.analysis.summary_store import network_label
from ggcam.experiment.store import ResultsStore
from ggcam.metrics import interpretability

EQ12_KEYS = {"chf": "CHF", "pneumonia": "pneumonia"}
CONSTANT_COLUMNS = ["run_id", *(f"{p}_{c}" for p in ("prior_interp", "prior_interp3x3", "cell_interp")
                                for c in EQ12_KEYS), "prior_pointing", "cell_pointing"]


def prior_eq12(store: ResultsStore, runs: pd.DataFrame) -> pd.DataFrame:
    """Per run, on its own test images (``CONSTANT_COLUMNS``): eq. 12 of its mean-gaze map,
    strict and 3×3 (``prior_interp_<class>``, ``prior_interp3x3_<class>``), and of the best
    single cell (``cell_interp_<class>``, strict); the grid pointing game against the true
    findings of both (``prior_pointing``, ``cell_pointing``; NaN where the data has no
    findings), each scored as the run's own."""
    rows = []
    for run_id in runs["run_id"]:
        maps = store.maps(run_id)
        labels = store.predictions(run_id)["label"].to_numpy()
        n, k = maps["cams"].shape[:2]
        constant = np.broadcast_to(maps["centre_prior"], (n, k, *maps["centre_prior"].shape))
        row = {"run_id": run_id}
        for r, prefix in ((0, "prior_interp"), (1, "prior_interp3x3")):
            row |= _eq12(constant, labels, maps, r, prefix)
        row["prior_pointing"] = _pointing(constant, labels, maps)
        rows.append(row | _best_cell(maps, labels))
    return pd.DataFrame(rows, columns=CONSTANT_COLUMNS)


def _eq12(constant: np.ndarray, labels: np.ndarray, maps, r: int, prefix: str) -> dict:
    regions = {"heart": maps["mask_heart"], "lung": maps["mask_lung"]}
    scores = interpretability(constant, labels, regions, neighbourhood=r)
    return {f"{prefix}_{key}": scores.get(name) for key, name in EQ12_KEYS.items()}


def _pointing(constant: np.ndarray, labels: np.ndarray, maps) -> float:
    from ggcam.experiment.metrics import POINTING_TOLERANCE
    from ggcam.metrics.localisation import pointing_game

    finding = maps.get("mask_finding")
    if finding is None or not finding.any():
        return np.nan
    return pointing_game(constant, labels, finding, tolerance=POINTING_TOLERANCE).rate


def _best_cell(maps, labels: np.ndarray) -> dict:
    """The best single cell per score: every cell tried as a one-hot map for every image
    (chosen on the test images it is scored on, so an upper bound for any constant map)."""
    n, k, h, w = maps["cams"].shape
    best = {f"cell_interp_{key}": np.nan for key in EQ12_KEYS} | {"cell_pointing": np.nan}
    for cell in range(h * w):
        one_hot = np.zeros(h * w)
        one_hot[cell] = 1.0
        constant = np.broadcast_to(one_hot.reshape(h, w), (n, k, h, w))
        scores = _eq12(constant, labels, maps, 0, "cell_interp") | {
            "cell_pointing": _pointing(constant, labels, maps)}
        best = {key: np.fmax(best[key], np.nan if v is None else v) for key, v in scores.items()}
    return best


def arm_medians(runs: pd.DataFrame, prior: pd.DataFrame, column: str, rows: pd.DataFrame) -> list[float]:
    """A constant map's score ``column`` of ``prior_eq12``, median over each arm's runs, in
    the order of ``rows`` (a medians table with ``network``, as ``network_label`` names it,
    and ``variant``); NaN where an arm has none."""
    scored = runs[["run_id", "network", "variant"]].merge(prior, on="run_id")
    scored["network"] = scored["network"].map(network_label)
    by_arm = scored.groupby(["network", "variant"])[column].median()
    return [by_arm.get((n, v), np.nan) for n, v in zip(rows["network"], rows["variant"])]


def figure_lines(prior: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Eq. 12 of both constant maps for Figure 3c–f (``figures.figure3(constants=...)``):
    metric → {label: median over runs}, where scored."""
    lines = {}
    for key in EQ12_KEYS:
        scores = {"the mean-gaze map": prior.get(f"prior_interp_{key}"),
                  "the best single cell": prior.get(f"cell_interp_{key}")}
        lines[f"interp_{key}"] = {label: float(col.median()) for label, col in scores.items()
                                  if col is not None and col.notna().any()}
    return lines


def prior_sentence(runs: pd.DataFrame, prior: pd.DataFrame, profile) -> str:
    """Eq. 12 for pneumonia, strict: the primary arms' medians beside the mean-gaze map's and,
    where scored, the best single cell's."""
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
    cell = ""
    if "cell_interp_pneumonia" in here.columns and here["cell_interp_pneumonia"].notna().any():
        best = med("cell_interp_pneumonia", ref)
        why = ("one cell lies in the lungs of every pneumonia image" if best == 1.0
               else "at or above both arms")
        cell = f" The best single cell reaches {best:.2f}" + (
            f": {why}, so on this grid eq. 12 rewards a map that ignores the image and cannot "
            "show that a map localises." if best >= max(a, b) else f", below `{arm}`.")
    return (f"On {network_label(network)} for pneumonia it reaches {rate:.2f}, {verdict} "
            f"`{ref}` ({a:.2f}) and `{arm}` ({b:.2f}), medians over seeds.{cell}")


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
            f"gaze too, and nothing here shows that {short_label(arm)}'s maps learned the reader "
            "rather than the findings" if oracle >= med[arm] else "")
    return {"gaze": text}
