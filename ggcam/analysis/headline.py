"""What the front page says around its verdicts: where the numbers come from in one line, how
far the study still training has got, and the paired effects as a table a reader can scan.

The verdicts themselves and their numbers are ``ggcam.analysis.effects``'s; this module only
words them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ggcam.analysis.dose_text import dose_markdown  # noqa: F401  (the front page's name for it)
from ggcam.analysis.effects import (
    arm_effects,
    base_runs,
    effect_row,
    resplit_ratio,
    verdict_markdown,
    verdicts,
)
from ggcam.analysis.paper_values import related_sentence
from ggcam.analysis.summary_paired import METRIC_LABELS, fmt_ci
from ggcam.analysis.summary_store import open_results, progress_facts, runs_of
from ggcam.experiment.profiles import Profile, get_profile
from ggcam.experiment.store import ResultsStore
from ggcam.experiment.store_location import answers_its_questions
from ggcam.study import ARMS, short_label

LABELS = {**METRIC_LABELS, "pointing_pneumonia": "pointing game, pneumonia",
          "pointing_chf": "pointing game, CHF", "cc_partial": "partial CC with Ψ",
          "cc": "CC with Ψ", "energy_pneumonia": "energy inside, pneumonia",
          "energy_chf": "energy inside, CHF", "inside_auroc_pneumonia": "AUROC inside, pneumonia",
          "inside_auroc_chf": "AUROC inside, CHF"}


def short_provenance(store: ResultsStore) -> str:
    """One line: which results, how many runs, what data, and where the details are."""
    runs = runs_of(store)
    if not len(runs):
        return (f"No finished run in `results/{store.profile}/` yet. "
                "[How and when each page ran](execution.md).")
    info = store.provenance()
    data = ("the phantom, not the paper's data" if info["origin"] == "phantom"
            else f"{info['origin']} data")
    facts = progress_facts(store)
    interim = "" if facts["done"] >= facts["planned"] else f" ({facts['planned']} planned" + (
        "). Every run of its fixed comparisons is in, so their numbers are final; its dose–response "
        f"points are still training ({facts['dose_done']} of {facts['dose_planned']} runs)"
        if answers_its_questions(store) else ": an interim look, the sweep is still running)")
    return (f"From `results/{store.profile}/`: {info['runs']} runs on {data}{interim}. "
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
    return (f"A second study with independent replicates, an oracle arm and one checkpoint "
            f"rule for every arm (profile `{running}`) is running: {facts['done']} of "
            f"{facts['planned']} runs done; the book moves to it once every run of its fixed "
            "comparisons is in ({ref}`its design <training-study-design>`).")


def ci_text(row) -> str:
    """``fmt_ci``, or the estimate alone while one replicate gives no interval."""
    if not np.isfinite(row["low"]):
        return f"{row['estimate']:+.3f}" if np.isfinite(row["estimate"]) else "–"
    return fmt_ci(row)


def effects_display(effects: pd.DataFrame) -> pd.DataFrame:
    """``effects.arm_effects`` for readers: comparison, metric, replicates, Δ [95% interval],
    Holm-adjusted p within its family; comparisons without a replicate yet are left out."""
    e = effects[effects["n"] > 0]
    return pd.DataFrame({
        "comparison": [f"{short_label(b)} − {short_label(a)}" for a, b in zip(e["reference"], e["arm"])],
        "metric": e["metric"].map(lambda m: LABELS.get(m, m)),
        "replicates": e["n"].astype(int),
        "Δ [95% interval]": [ci_text(r) for _, r in e.iterrows()],
        "p (Holm)": e["p_holm"],
        "family": e["family"],
    })


def interval_sentence(effects: pd.DataFrame, profile: Profile) -> str:
    """What the intervals of ``effects`` are, in words (they differ between the two designs)."""
    ratio = resplit_ratio(profile)
    if ratio is None:
        return ("Each replicate draws its own training and validation images, and every run is "
                f"scored on one shared test set of {profile.replicates.n_test} images, so the paired "
                "differences are independent across replicates: the intervals are t intervals "
                "over replicates and the p-values exact sign-flip tests. They hold for this test "
                "set; the hierarchical bootstrap on the [classification page](06_classification.ipynb) "
                "also resamples its images.")
    return ("This study's seeds re-split one pool of images, so their test sets overlap and "
            "the paired differences are correlated: the intervals and p-values use Nadeau and "
            f"Bengio's corrected resampled t (test/train ratio {ratio:.2f}), "
            f"{widening(int(effects['n'].max()), ratio):.1f} times as wide as a plain t interval over the "
            "seeds would be.")


def widening(seeds: int, ratio: float) -> float:
    """How much wider the corrected interval is than the plain one at ``seeds`` seeds."""
    return float(np.sqrt((1 / seeds + ratio) * seeds))


def resplit_caveat(profile: Profile) -> str:
    """For a results page's seed-bootstrap intervals: what they miss when seeds re-split one
    pool (their test sets overlap), and where the corrected interval is; "" otherwise."""
    ratio = resplit_ratio(profile)
    if ratio is None:
        return ""
    seeds = max(len(a.seeds) for a in profile.arms)
    return ("**These intervals are too narrow for this study's design.** Its seeds re-split one "
            "pool of images, so two seeds' test sets overlap and their differences are "
            "correlated, while this page's seed bootstrap treats the seeds as independent. The "
            "[front page](01_answer.ipynb) gives the primary comparison's intervals corrected "
            "for the overlap (Nadeau and Bengio's resampled t), about "
            f"{widening(seeds, ratio):.1f} times as wide at {seeds} seeds.")


def verdict_lines(store: ResultsStore, keys: tuple[str, ...] | None = None) -> str:
    """The front page's verdict list for ``store`` (only ``keys``, e.g. ("classification",
    "controls") on the classification page), as Markdown."""
    from ggcam.analysis.constant_maps import gaze_level
    from ggcam.analysis.image_scores import pointing_levels

    profile = get_profile(store.profile)
    runs = runs_of(store)
    effects = arm_effects(runs, profile)
    sentences = verdicts(effects, margin=profile.equivalence_margin,
                         levels={**pointing_levels(runs, profile), **gaze_level(runs, profile)})
    if "controls" in sentences:
        sentences["controls"] += holm_floor_clause(effects, "ggcam-shuffled")
    if keys is not None:
        sentences = {k: v for k, v in sentences.items() if k in keys}
    return verdict_markdown(sentences)


PSI_WORDS = {"own": "this image's gaze", "shuffled": "another image's gaze (same class)",
             "centre": "the mean training Ψ, one map for every image",
             "oracle": "the phantom's true findings", "none": "– (no gaze)"}


def arms_table(profile: Profile) -> pd.DataFrame:
    """The arms a study trains: the name in run ids and tables, the word in figures, what it
    is, and the Ψ its maps are pulled towards (one place that maps names to meanings)."""
    return pd.DataFrame([{"arm": a.name, "in figures": a.short, "what it is": a.label,
                          "its maps are pulled towards": PSI_WORDS.get(a.gaze_source, a.gaze_source)}
                         for a in ARMS if a.name in profile.variants])


def holm_floor_clause(effects: pd.DataFrame, arm: str, metric: str = "auc_ovo") -> str:
    """A sentence for a comparison whose Holm family cannot reach p < 0.05 with the replicates
    it has (m exact sign-flip tests on n replicates: the smallest adjusted p is m · 2/2ⁿ),
    saying its intervals are descriptive; "" otherwise (or for corrected-t p-values)."""
    row = effect_row(effects, arm, metric)
    if row is None or row["interval"] != "t" or not np.isfinite(row["p_holm"]):
        return ""
    family = effects[effects["family"] == row["family"]]
    floor = min(1.0, len(family) * 2 / 2 ** int(row["n"]))
    if floor <= 0.05:
        return ""
    return (f" As tests of a difference both are descriptive: with {int(row['n'])} replicates this family of "
            f"{len(family)} tests cannot reach p < 0.05 (its smallest possible Holm p is "
            f"{floor:.3g}; {short_label(arm)}'s is {row['p_holm']:.3g}).")


def related_text(effects: pd.DataFrame, primary: str = "ggcam-warm") -> str:
    """The real-data study beside ours (``paper_values.related_sentence``), set against the
    primary arm's paired ΔAUC in ``effects`` (``arm_effects``) once it has 2 replicates."""
    return related_sentence(effect_row(effects, primary, "auc_ovo"))


def learned_sensitivity(runs: pd.DataFrame, profile: Profile) -> str:
    """The primary ΔAUC over the replicates in which both arms learned, beside all of them:
    the comparisons keep every replicate (dropping one hides an arm's failure), so this is a
    check that the answer is not made by failures alone."""
    from ggcam.analysis.checkpoint_rule import auc_effects  # it imports this module

    ref, arm = profile.primary
    base = base_runs(runs, profile)
    both = base.groupby("seed").filter(
        lambda g: {ref, arm} <= set(g.loc[g["learned"].astype(bool), "variant"]))
    a, b = auc_effects(base, profile).loc[arm], auc_effects(both, profile).loc[arm]
    if b["n"] < 2:
        return (f"Fewer than two replicates have both arms learned ({int(b['n'])} of "
                f"{int(a['n'])}), too few to repeat the comparison on them alone.")
    return (f"On the {int(b['n'])} of {int(a['n'])} replicates in which both arms learned, the "
            f"primary ΔAUC is {ci_text(b)}, against {ci_text(a)} on all of them.")
