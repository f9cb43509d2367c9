"""What a results store says: the tables and sentences the book's results pages show.

Pages call these and display the result; the logic lives here (design.md, "The book"). Every
function works on a store with any subset of its runs, none included: a sweep fills a store
over hours, and a page built meanwhile says how far it got instead of failing.

This module holds the tables of the results pages: ``configs_table``, ``run_table``,
``anova_table``, ``table2``, ``localisation_table``, ``agreement_table``, ``final_parameters``.
It re-exports the rest, so a page needs only ``summary``:

* ``summary_store``: ``open_results`` / ``runs_of``, the store a page reads and its runs (an
  empty table before the first run finishes); ``progress_table`` / ``progress_facts``: runs
  done of those planned; ``provenance_markdown``, ``scope_note``.
* ``summary_paired``: ``arm_status`` (per network × arm, how many runs learned; an arm whose
  runs mostly did not learn is kept out of conclusions); ``paired_table``, the paired
  comparisons of the study (``ggcam.stats.unpaired.paired_summary``): the primary comparison, named in
  the profile before the sweep ran, unadjusted, every other comparison Holm-adjusted together;
  ``paired_display`` for readers; ``legacy_table``.
* ``summary_display``: the narrow tables the pages show (at most seven columns, headers in
  words): ``paired_brief``, ``paired_by_metric``, ``run_display``, ``run_summary``, ``anova_display``,
  ``configs_shared`` / ``configs_loss`` / ``configs_maps`` / ``configs_compared``,
  ``eq12_by_class``, ``agreement_display``.
* ``summary_training``: how the runs trained: ``flags_table``, ``saturation_table``,
  ``omega_quantiles``, and for the released code (page 08) ``class_map_agreement`` and
  ``lr_drops``.
* ``summary_text``: ``answer`` / ``answer_sentence``, one row and one sentence per network — the
  paper's medians beside ours, the paired ΔAUC with its 95% interval, whether gaze beats the
  two controls; ``localisation_sentence``.
"""

from __future__ import annotations

import warnings

import pandas as pd

from ggcam.analysis import constant_maps
from ggcam.analysis.paper_values import paper_table2
from ggcam.analysis.summary_display import (
    agreement_display,
    anova_display,
    configs_compared,
    configs_loss,
    configs_maps,
    configs_shared,
    eq12_by_class,
    paired_brief,
    paired_by_metric,
    run_display,
    run_summary,
)
from ggcam.analysis.summary_paired import (
    CACHE_VERSION,
    LEARNED_SHARE,
    MAX_SINGLE_CLASS_SHARE,
    METRIC_LABELS,
    MIN_SEEDS,
    NO_PAIR,
    PAIRED_COLUMNS,
    PAIRED_METRICS,
    PRIMARY_METRIC,
    TARGET_AUC,
    all_predictions,
    arm_status,
    arm_status_display,
    comparisons,
    learning_target_table,
    learning_targets,
    legacy_paired,
    legacy_table,
    n_paired,
    paired_display,
    paired_table,
)
from ggcam.analysis.summary_store import (
    SWEPT_PROFILE,
    borrowed_note,
    curves_of,
    network_label,
    network_rank,
    omega_histograms,
    open_results,
    progress_facts,
    progress_table,
    provenance_markdown,
    runs_of,
    scope_note,
    study_networks,
    variant_label,
)
from ggcam.analysis.summary_text import (
    ALPHA,
    answer,
    answer_markdown,
    answer_rows,
    answer_sentence,
    localisation_markdown,
    localisation_sentence,
    probes_sentence,
)
from ggcam.analysis.summary_training import (
    class_map_agreement,
    flags_table,
    in_arm_order,
    lr_drop_sentence,
    lr_drops,
    omega_quantiles,
    saturation_table,
)
from ggcam.experiment.profiles import RunSpec, get_profile, run_config
from ggcam.experiment.store import ResultsStore
from ggcam.stats.unpaired import anova, precision_recall_table
from ggcam.study import VARIANTS, arm_rank

__all__ = [
    "agreement_display", "anova_display", "configs_compared", "configs_loss", "configs_maps",
    "configs_shared", "eq12_by_class", "legacy_paired", "paired_brief", "paired_by_metric",
    "run_display", "run_summary",
    "ALPHA", "borrowed_note", "CACHE_VERSION", "LEARNED_SHARE", "MAX_SINGLE_CLASS_SHARE", "METRIC_LABELS",
    "MIN_SEEDS", "NO_PAIR", "PAIRED_COLUMNS", "PAIRED_METRICS", "PRIMARY_METRIC", "SWEPT_PROFILE",
    "TARGET_AUC",
    "agreement_table", "all_predictions", "anova_table", "answer", "answer_markdown",
    "answer_rows", "answer_sentence", "arm_status", "arm_status_display", "class_map_agreement",
    "comparisons", "configs_table", "curves_of", "final_parameters", "flags_table",
    "learning_target_table", "learning_targets",
    "legacy_table", "localisation_markdown", "localisation_sentence", "localisation_table",
    "lr_drop_sentence", "lr_drops", "n_paired", "network_label", "omega_histograms", "omega_quantiles",
    "open_results", "paired_display", "paired_table", "probes_sentence", "progress_facts", "progress_table",
    "provenance_markdown", "run_table", "runs_of", "saturation_table", "scope_note",
    "short_flags", "study_networks", "table2", "table2_paper", "variant_label",
]


# ---- tables of the results pages --------------------------------------------------------------


def configs_table(store: ResultsStore) -> pd.DataFrame:
    """The configuration each arm of the store trained (Table 1 + the profile)."""
    runs = runs_of(store)
    prof = get_profile(store.profile)
    pairs = ([tuple(x) for x in runs[["network", "variant"]].drop_duplicates().to_numpy()]
             if len(runs) else [(a.networks[0], a.variant) for a in prof.arms])
    pairs.sort(key=lambda nv: (network_rank(prof)(nv[0]), arm_rank(nv[1])))
    rows = []
    for network, variant in pairs:
        c, _ = run_config(prof, RunSpec(prof.name, network, variant, 0))
        gg = variant != "standard"
        rows.append({"network": network_label(network), "arm": variant, "optimizer": c.optimizer,
                     "lr": c.lr, "P": c.plateau_patience,
                     "σ_sm₀": c.sigma_sm if gg else None, "σ_ce₀": c.sigma_ce if gg else None,
                     "loss parameters": c.loss_param_dtype if gg else "–",
                     "Ω": "Σ (eq. 4)" if c.cam_reduction == "sum" else "mean (released)",
                     "Ψ": c.gaze_source if gg else "–", "Ψ points": c.gaze_points if gg else "–",
                     "blur σ (px)": c.blur_sigma, "B": c.kernel_size, "batch": c.batch_size,
                     "epochs": c.max_epochs})
    return pd.DataFrame(rows)


def run_table(store: ResultsStore) -> pd.DataFrame:
    """Every run: AUC with its 95% interval and the did-it-learn flags."""
    runs = runs_of(store)
    return pd.DataFrame({
        "network": runs["network"].map(network_label), "arm": runs["variant"], "seed": runs["seed"],
        "AUC": runs["auc_ovo"], "95% CI low": runs["auc_ovo_low"], "95% CI high": runs["auc_ovo_high"],
        "learned": runs["learned"], "single class": runs["single_class"],
        "epochs": runs["epochs"], "best epoch": runs["best_epoch"],
        "σ_sm frozen": runs["sigma_frozen"], "flags": runs["flags"].map(short_flags),
    })


def short_flags(flags: str) -> str:
    """A run's ``flags`` for a table: each kind once, with how many parameters and the first
    epoch ("adam-overflow ×37 from epoch 1"); σ_sm's overflow is named, it freezes σ_sm."""
    items = [f for f in str(flags or "").split(";") if f]
    kinds: dict[str, list[str]] = {}
    for f in items:
        kind = f.split("@")[0] if "log_sigma_sm" in f else f.split(":")[0].split("@")[0]
        kinds.setdefault(kind, []).append(f.rpartition("@epoch")[2] if "@epoch" in f else "")
    parts = []
    for kind, epochs in kinds.items():
        first = min((int(e) for e in epochs if e.isdigit()), default=None)
        count = f" ×{len(epochs)}" if len(epochs) > 1 else ""
        parts.append(kind + count + (f" from epoch {first}" if first is not None else ""))
    return "; ".join(parts)


def anova_table(runs: pd.DataFrame, metric: str = "auc_ovo", reference: str = "standard",
                arms=None) -> pd.DataFrame:
    """The paper's one-way ANOVA (and Welch, Kruskal-Wallis) of ``metric``, ``reference``
    against each other arm, per network: unpaired, as the paper did."""
    present = [v for v in VARIANTS if v in set(runs["variant"]) and v != reference]
    arms = [a for a in (arms or present) if a in present]
    cols = ["network", "compared", "n", "median (reference)", "median (arm)", "F",
            "p (ANOVA)", "p (Welch)", "p (Kruskal-Wallis)", "note"]
    if reference not in set(runs["variant"]) or not arms:
        return pd.DataFrame(columns=cols)
    frames = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the note column says it
        for arm in arms:
            t = anova(runs, metric, levels=(reference, arm))
            frames.append(pd.DataFrame({
                "network": t["network"].map(network_label), "compared": f"{arm} vs {reference}",
                "n": [f"{a} + {b}" for a, b in zip(t[f"n_{reference}"], t[f"n_{arm}"])],
                "median (reference)": t[f"median_{reference}"], "median (arm)": t[f"median_{arm}"],
                "F": t["F"], "p (ANOVA)": t["p"], "p (Welch)": t["welch_p"],
                "p (Kruskal-Wallis)": t["kruskal_p"], "note": t["note"]}))
    return pd.concat(frames, ignore_index=True)[cols]


def _model(network: str, variant: str) -> str:
    return network_label(network) if variant == "standard" else f"{network_label(network)} {variant}"


def table2(runs: pd.DataFrame) -> pd.DataFrame:
    """Table 2, ours: precision and recall per class, median ± std over seeds."""
    if runs.empty:
        return pd.DataFrame({"model": []})
    t = precision_recall_table(runs)
    t.insert(0, ("", "model"), [_model(n, v) for n, v in t.index])
    return t.reset_index(drop=True)


def table2_paper() -> pd.DataFrame:
    """Table 2 as published (real EGD-CXR, ResNet50 and EffNetV2-S, 5 runs each)."""
    t = paper_table2()
    t.insert(0, ("", "model"), [network_label(n) + ("+GG-CAM" if v == "ggcam" else "")
                                for n, v in t.index])
    return t.reset_index(drop=True)


def _medians(runs: pd.DataFrame, columns) -> pd.DataFrame:
    present = [c for c in columns if c in runs]
    t = runs.groupby(["network", "variant"], sort=False)[present].median().reset_index()
    t.insert(2, "runs", runs.groupby(["network", "variant"], sort=False).size().to_numpy())
    return in_arm_order(t)


def localisation_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Medians over seeds: eq. 12 (strict, 3×3) with chance, pointing game with chance."""
    cols = ["interp_chf", "interp3x3_chf", "interp_chance_chf", "interp_pneumonia",
            "interp3x3_pneumonia", "interp_chance_pneumonia", "pointing", "pointing_chance"]
    if runs.empty:
        return pd.DataFrame(columns=["network", "variant", "runs", *cols])
    return _medians(runs, cols)


EQ12_LABELS = {"variant": "arm", "interp_chf": "CHF", "interp3x3_chf": "CHF (3×3)",
               "interp_chance_chf": "chance CHF", "interp_pneumonia": "pneumonia",
               "interp3x3_pneumonia": "pneumonia (3×3)",
               "interp_chance_pneumonia": "chance pneumonia"}
POINTING_LABELS = {"variant": "arm", "pointing": "pointing game", "pointing_chance": "chance"}


def eq12_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Eq. 12 for display: strict, with the released code's 3×3 tolerance, and chance; medians
    over seeds, columns named for the reader."""
    local = localisation_table(runs)
    return local[["network", "variant", "runs", *list(EQ12_LABELS)[1:]]].rename(columns=EQ12_LABELS)


def pointing_table(runs: pd.DataFrame, prior: pd.DataFrame | None = None) -> pd.DataFrame:
    """The pointing game against the true findings and its chance, medians over seeds; with
    ``prior`` (``constant_maps.prior_eq12``), the mean-gaze map's and the best single cell's."""
    local = localisation_table(runs)
    table = local[["network", "variant", "runs", "pointing", "pointing_chance"]].rename(
        columns=POINTING_LABELS)
    if prior is not None and len(runs):
        for column, label in (("prior_pointing", "mean-gaze map"), ("cell_pointing", "best single cell")):
            table[label] = constant_maps.arm_medians(runs, prior, column, local)
    return table


def agreement_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Medians over seeds of CC, KL, SIM, NSS, AUC-Judd of Ω^Y and of the centre prior."""
    cols = [c for k in ("cc", "kl", "sim", "nss", "auc_judd") for c in (k, f"{k}_centre")]
    if runs.empty:
        return pd.DataFrame(columns=["network", "variant", "runs", *cols])
    return _medians(runs, cols)


def final_parameters(runs: pd.DataFrame) -> pd.DataFrame:
    """Medians over seeds of σ_sm, σ_ce, α and the two weights at the end of training."""
    cols = ["sigma_sm_final", "sigma_ce_final", "alpha_final", "w_sm_final", "w_ce_final"]
    gg = runs[runs["variant"] != "standard"] if len(runs) else runs
    if gg.empty:
        return pd.DataFrame(columns=["network", "variant", "runs", *cols])
    return _medians(gg, cols)
