"""The second study's localisation in image space, per class, beside the maps that know
nothing of the image: the numbers each run recorded (``ggcam.experiment.metrics``: pointing
game with the 15-px tolerance, energy inside the findings, AUROC of map values inside against
outside) and, on the same test images, the mean-gaze map, the best fixed location fitted on
the replicate's training images, and a peak placed at random. Nothing is recomputed here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ggcam.analysis.effects import base_runs
from ggcam.experiment.profiles import Profile
from ggcam.study import short_label

CLASSES = {"chf": "CHF", "pneumonia": "pneumonia"}
METRICS = {"pointing": "pointing", "energy": "energy inside", "inside_auroc": "AUROC inside"}
# The constant maps every network must beat: record column prefix -> label (metrics it has).
BASELINES = {"prior": ("mean-gaze map (constant)", tuple(METRICS)),
             "fixed": ("best fixed location (constant)", tuple(METRICS)),
             "random": ("random peak", ("pointing",))}
LONG_COLUMNS = ["map", "kind", "seed", "class", "metric", "value"]


def has_image_scores(runs: pd.DataFrame) -> bool:
    """True when the runs recorded image-space localisation (the second study on)."""
    return "pointing_pneumonia" in runs.columns and runs["pointing_pneumonia"].notna().any()


def scores_long(runs: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """One row per (map, replicate, class, metric) at the base point (``LONG_COLUMNS``):
    every arm's runs, then the three constant maps once per replicate (they do not depend on
    the arm: the same test images, the replicate's own training images)."""
    base = base_runs(runs, profile)
    rows = []
    for arm in [a for a in profile.variants if a in set(base["variant"])]:
        for _, r in base[base["variant"] == arm].iterrows():
            rows += [(short_label(arm), "arm", r["seed"], c, m, r.get(f"{m}_{c}"))
                     for c in CLASSES for m in METRICS]
    per_seed = base.drop_duplicates("seed")
    for prefix, (label, metrics) in BASELINES.items():
        for _, r in per_seed.iterrows():
            rows += [(label, "baseline", r["seed"], c, m, r.get(f"{prefix}_{m}_{c}"))
                     for c in CLASSES for m in metrics]
    long = pd.DataFrame(rows, columns=LONG_COLUMNS)
    long["value"] = pd.to_numeric(long["value"], errors="coerce")
    return long.dropna(subset=["value"])


def scores_table(long: pd.DataFrame) -> pd.DataFrame:
    """Means over replicates, one row per map, one column per metric and class ("–": a
    constant map the metric does not apply to)."""
    order = list(dict.fromkeys(long["map"]))
    wide = long.pivot_table(index="map", columns=["metric", "class"], values="value", aggfunc="mean")
    out = pd.DataFrame({"map": order})
    for m, m_label in METRICS.items():
        for c, c_label in CLASSES.items():
            col = wide[(m, c)] if (m, c) in wide.columns else pd.Series(dtype=float)
            out[f"{m_label}, {c_label}"] = [f"{col[k]:.2f}" if k in col.index and np.isfinite(col[k])
                                           else "–" for k in order]
    return out


def _mean(long: pd.DataFrame, map_label: str, metric: str, cls: str) -> float:
    sel = long[(long["map"] == map_label) & (long["metric"] == metric) & (long["class"] == cls)]
    return float(sel["value"].mean()) if len(sel) else np.nan


def scores_markdown(long: pd.DataFrame, profile: Profile, tolerance_px: float) -> str:
    """The pneumonia pointing game in words: the primary arms beside the best constant map."""
    if long.empty:
        return "No run with image-space localisation has finished yet."
    ref, arm = (short_label(a) for a in profile.primary)
    fixed = BASELINES["fixed"][0]
    prior = BASELINES["prior"][0]
    # rounded as the table rounds them (0.065 reads 0.07 there, so 7% here)
    val = lambda who: f"{round(_mean(long, who, 'pointing', 'pneumonia'), 2):.0%}"
    n = long.loc[long["kind"] == "arm", "seed"].nunique()
    return (f"On pneumonia images, where a map's peak must find a small consolidation, "
            f"{arm}'s maps point within {tolerance_px:.1f} input pixels (15 pixels of the "
            f"release image) of a finding on {val(arm)} of images, the standard network's "
            f"on {val(ref)}; a constant map reaches {val(fixed)} at the best fixed "
            f"location and {val(prior)} at the mean-gaze map's peak (means over {n} "
            f"replicates). {_clears(long, arm)}")


def pointing_levels(runs: pd.DataFrame, profile: Profile) -> dict[str, str]:
    """The pneumonia pointing rates behind the front page's localisation verdict: the primary
    arms' and the best constant map's, as a clause for ``effects.verdicts(levels=...)``."""
    if not has_image_scores(runs):
        return {}
    long = scores_long(runs, profile)
    val = lambda who: _mean(long, who, "pointing", "pneumonia")
    ref, arm = (short_label(a) for a in profile.primary)
    constant = max((BASELINES[b][0] for b in ("prior", "fixed")), key=val)
    return {"localisation": f"hit rates: {arm} {val(arm):.2f}, standard {val(ref):.2f}, "
                            f"{constant} {val(constant):.2f}"}


def constant_maps_note(runs: pd.DataFrame, profile: Profile) -> str:
    """Under the front page's effects table: a localisation Δ compares two networks, so say
    on which scores the primary arm's maps clear the maps that know nothing of the image;
    "" for a study without image-space scores."""
    if not has_image_scores(runs):
        return ""
    long = scores_long(runs, profile)
    if long.empty:
        return ""
    return ("A localisation row compares two networks, not a network with a map that knows "
            f"nothing of the image (means over replicates). {_clears(long, short_label(profile.primary[1]))} "
            "The [interpretability page](07_interpretability.ipynb) sets each score beside the "
            "mean-gaze map, the best fixed location and a random peak.")


def _clears(long: pd.DataFrame, who: str) -> str:
    """On which pneumonia scores ``who``'s mean clears both constant maps' means, and on which
    not, with the numbers (CHF is not judged: the heart barely moves between images, so a
    fixed location scores as well as any map, and CHF fails the dynamic-range check)."""
    won, lost = [], []
    for m, m_label in METRICS.items():
        mine = _mean(long, who, m, "pneumonia")
        consts = [_mean(long, BASELINES[b][0], m, "pneumonia") for b in ("prior", "fixed")]
        if np.isfinite(mine) and all(np.isfinite(consts)):
            item = f"{m_label} ({mine:.2f} against {consts[0]:.2f} and {consts[1]:.2f})"
            (won if round(mine, 2) > round(max(consts), 2) else lost).append(item)
    say = lambda items: ", ".join(items) or "none"
    return (f"On pneumonia, {who} clears both constant maps (the mean-gaze map, the best fixed "
            f"location) on {say(won)}; it does not on {say(lost)}. CHF is not judged: it fails "
            "the dynamic-range check.")


FIGURE = """```{glue:figure} fig_image_scores
:name: fig-image-scores
:alt: Six panels, CHF and pneumonia by pointing game, energy inside and AUROC inside: each arm's per-replicate scores as dots with their mean as a bar, and the constant maps' means as horizontal lines.

**Localisation in image space, beside maps that know nothing of the image.** Dots: one
replicate each; bars: means. Dashed: the mean-gaze map; dotted: the best fixed location
(fitted on the replicate's training images); dash-dotted: a peak placed at random. A network's
score means something only where it clears these lines.
```"""


def section_markdown(long: pd.DataFrame | None, profile: Profile, tolerance_px: float) -> str:
    """Page 07's image-space section: the sentence and the figure (glued as
    ``fig_image_scores``), or why the study shown has none."""
    if long is None:
        return (f"The study shown (`{profile.name}`) scored its maps on the Ω grid only (the "
                "sections below), where the previous section shows a constant map can win; "
                "the current study scores them in image space.")
    return scores_markdown(long, profile, tolerance_px) + "\n\n" + FIGURE
