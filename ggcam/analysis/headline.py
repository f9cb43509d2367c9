"""What the front page says around its verdicts: where the numbers come from in one line, how
far the study still training has got, and the paired effects as a table a reader can scan.

The verdicts themselves and their numbers are ``ggcam.analysis.effects``'s; this module only
words them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ggcam.analysis.effects import test_train_ratio
from ggcam.analysis.summary_paired import METRIC_LABELS
from ggcam.analysis.summary_store import open_results, progress_facts, runs_of
from ggcam.experiment.profiles import Profile
from ggcam.experiment.store import ResultsStore
from ggcam.study import ARM

LABELS = {**METRIC_LABELS, "pointing_pneumonia": "pointing game, pneumonia",
          "pointing_chf": "pointing game, CHF", "cc_partial": "partial CC with Ψ",
          "cc": "CC with Ψ"}


def short_provenance(store: ResultsStore) -> str:
    """One line: which results, how many runs, what data, and where the details are."""
    runs = runs_of(store)
    if not len(runs):
        return (f"No finished run in `results/{store.profile}/` yet. "
                "[How and when each page ran](execution.md).")
    info = store.provenance()
    data = ("the phantom, not the paper's data" if info["origin"] == "phantom"
            else f"{info['origin']} data")
    return (f"From `results/{store.profile}/`: {info['runs']} runs on {data}. "
            "[How and when each page ran](execution.md).")


def running_study_line(running: str, shown: ResultsStore, root: str | Path | None = None) -> str:
    """A sentence on the study still training (profile ``running``), unless it is the one shown."""
    if running == shown.profile:
        return ""
    try:
        store = open_results(running, root)
    except (FileNotFoundError, ValueError):
        return ""
    if store.profile != running:
        return ""
    facts = progress_facts(store)
    return (f"A second study with independent replicates, an oracle arm and training to "
            f"convergence (profile `{running}`) is running: {facts['done']} of "
            f"{facts['planned']} runs done; the book moves to it once it is complete "
            "([what it changes](05_training.ipynb)).")


def _ci(row) -> str:
    if not np.isfinite(row["low"]):
        return f"{row['estimate']:+.3f}" if np.isfinite(row["estimate"]) else "–"
    return f"{row['estimate']:+.3f} [{row['low']:+.3f}, {row['high']:+.3f}]"


def effects_display(effects: pd.DataFrame) -> pd.DataFrame:
    """``effects.arm_effects`` for readers: comparison, metric, replicates, Δ [95% interval],
    Holm-adjusted p within its family; comparisons without a replicate yet are left out."""
    e = effects[effects["n"] > 0]
    label = lambda arm: ARM[arm].short if arm in ARM else arm
    return pd.DataFrame({
        "comparison": [f"{label(b)} − {label(a)}" for a, b in zip(e["reference"], e["arm"])],
        "metric": e["metric"].map(lambda m: LABELS.get(m, m)),
        "replicates": e["n"].astype(int),
        "Δ [95% interval]": [_ci(r) for _, r in e.iterrows()],
        "p (Holm)": e["p_holm"],
        "family": e["family"],
    })


def interval_sentence(effects: pd.DataFrame, profile: Profile) -> str:
    """What the intervals of ``effects`` are, in words (they differ between the two designs)."""
    ratio = test_train_ratio(profile)
    if ratio is None:
        return ("Each replicate has its own training, validation and test images, so the "
                "paired differences are independent: the intervals are plain t intervals over "
                "replicates and the p-values exact sign-flip tests.")
    return ("This study's seeds re-split one pool of images, so their test sets overlap and "
            "the paired differences are correlated: the intervals and p-values use Nadeau and "
            f"Bengio's corrected resampled t (test/train ratio {ratio:.2f}), "
            f"{widening(effects, ratio):.1f} times as wide as a plain t interval over the "
            "seeds would be.")


def widening(effects: pd.DataFrame, ratio: float) -> float:
    """How much wider the corrected interval is than the plain one, at the table's seed count."""
    n = int(effects["n"].max())
    return float(np.sqrt((1 / n + ratio) * n))


def resplit_caveat(profile: Profile) -> str:
    """For a results page's seed-bootstrap intervals: what they miss when seeds re-split one
    pool (their test sets overlap), and where the corrected interval is; "" otherwise."""
    ratio = test_train_ratio(profile)
    if ratio is None:
        return ""
    seeds = max(len(a.seeds) for a in profile.arms)
    return ("**These intervals are too narrow for this study's design.** Its seeds re-split one "
            "pool of images, so two seeds' test sets overlap and their differences are "
            "correlated, while this page's seed bootstrap treats the seeds as independent. The "
            "[front page](01_answer.ipynb) gives the primary comparison's intervals corrected "
            "for the overlap (Nadeau and Bengio's resampled t), about "
            f"{np.sqrt((1 / seeds + ratio) * seeds):.1f} times as wide at {seeds} seeds.")


def verdict_lines(store: ResultsStore, keys: tuple[str, ...] | None = None) -> str:
    """The front page's verdict list for ``store`` (only ``keys``, e.g. ("classification",
    "controls") on the classification page), as Markdown."""
    from ggcam.analysis.effects import arm_effects, verdict_markdown, verdicts
    from ggcam.experiment.profiles import get_profile

    profile = get_profile(store.profile)
    sentences = verdicts(arm_effects(runs_of(store), profile), margin=profile.equivalence_margin)
    if keys is not None:
        sentences = {k: v for k, v in sentences.items() if k in keys}
    return verdict_markdown(sentences)
