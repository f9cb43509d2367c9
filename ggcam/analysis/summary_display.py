"""Narrow tables for readers (``ggcam.analysis.summary``): what the results pages show.

The tables of ``summary`` and ``summary_paired`` keep every column a script may want; a page
shows these instead, each at most seven columns with headers in words, so it fits the text
column of the book (``book/check_html.py``):

* ``paired_brief``: one metric's paired differences (page 06);
  ``paired_by_metric``: several metrics side by side, one row per comparison (07, 08).
* ``run_display``: every run, AUC with its interval in one cell; ``run_summary``: per arm (06).
* ``anova_display``: the paper's ANOVA beside Welch's and Kruskal–Wallis (06).
* ``configs_shared`` / ``configs_loss`` / ``configs_maps``: the configurations trained, the
  settings every arm shares in a sentence (06); ``configs_compared``: two arms side by side (08).
* ``eq12_by_class``: eq. 12 for one class with its tolerance and chance (07).
* ``agreement_display``: CC, KL, SIM, NSS, AUC-Judd, with the centre prior as a row (07).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ggcam.analysis import constant_maps
from ggcam.analysis.summary_paired import METRIC_LABELS, fmt_ci
from ggcam.analysis.summary_store import network_label, runs_of
from ggcam.experiment.store import ResultsStore
from ggcam.study import VARIANTS, arm_rank

YES, NO = "✓", "✗"
CENTRE_PRIOR = "mean-gaze map"  # the row of agreement_display that scores the mean training Ψ
MISSING = "–"  # as ggcam.viz.report shows a missing value


def number(x, digits: int = 3) -> str:
    """``ggcam.viz.report.number``: the book's one rule for printing a float."""
    from ggcam.viz.report import number as book_number  # presentation layer, imported late

    return book_number(x, digits)


def _comparison(a: str, b: str, primary: bool = False) -> str:
    return f"{b} − {a}" + (" (primary)" if primary else "")


def paired_brief(paired: pd.DataFrame, metric: str = "auc_ovo") -> pd.DataFrame:
    """One metric's rows of ``paired_table``, seven columns: network, comparison, seeds,
    Δ [95% CI], p (Holm-adjusted; the primary comparison's is not adjusted), the smallest p the
    comparison's family could give with these seeds, and whether both arms learned."""
    p = paired[paired["metric"] == metric]
    return pd.DataFrame({
        "network": p["network"].map(network_label).to_numpy(),
        "comparison": [_comparison(a, b, pr) for a, b, pr in zip(p["a"], p["b"], p["primary"])],
        "seeds": p["n_seeds"].astype(int).to_numpy(),
        "Δ [95% CI]": [fmt_ci(r) for _, r in p.iterrows()],
        "p": p["p_holm"].astype(float).to_numpy(),
        "smallest p possible": p["p_floor"].astype(float).to_numpy(),
        "both arms learned": [YES if u else NO for u in p["usable"]],
    })


def _delta_and_p(row) -> str:
    return f"{fmt_ci(row)}, p {number(float(row['p_holm']), 2)}"


def paired_by_metric(paired: pd.DataFrame, metrics) -> pd.DataFrame:
    """Rows of ``paired_table`` (or ``legacy_paired``) for ``metrics``, one row per network ×
    comparison and one column per metric: "Δ [95% CI], p" with the Holm-adjusted p (the
    primary comparison's unadjusted). A comparison where an arm did not learn says so."""
    metrics = [m for m in metrics if m in set(paired["metric"])]
    cols = ["network", "comparison", "seeds", *[METRIC_LABELS.get(m, m) for m in metrics]]
    if paired.empty or not metrics:
        return pd.DataFrame(columns=cols)
    p = paired[paired["metric"].isin(metrics)]
    rows = []
    for (network, a, b), part in p.groupby(["network", "a", "b"], sort=False):
        by = part.set_index("metric")
        seeds = sorted(set(part["n_seeds"].astype(int)))
        usable = bool(part["usable"].all())
        rows.append({"network": network_label(network),
                     "comparison": _comparison(a, b) + ("" if usable else " (an arm did not learn)"),
                     "seeds": "–".join(map(str, seeds[:: max(1, len(seeds) - 1)])),
                     **{METRIC_LABELS.get(m, m): _delta_and_p(by.loc[m]) if m in by.index else MISSING
                        for m in metrics}})
    return pd.DataFrame(rows, columns=cols)


def _flags(r) -> str:
    """A run's flags in words: diverged, σ_sm frozen, optimiser overflow, sigmoid saturated,
    single class, and each class recalled below the "learned" bar."""
    from ggcam.stats.equivalence import MIN_RECALL
    from ggcam.study import CLASS_KEYS

    words = [("diverged", r["status"] != "ok"), ("σ_sm frozen", bool(r["sigma_frozen"])),
             ("optimiser overflow", bool(r["optimizer_overflow"]) and not bool(r["sigma_frozen"])),
             ("sigmoid saturated", bool(r["sigmoid_saturated"])),
             ("single class", bool(r["single_class"]))]
    words += [(f"{k} recalled < {MIN_RECALL:.0%}", pd.notna(r.get(f"recall_{k}"))
               and float(r[f"recall_{k}"]) < MIN_RECALL) for k in CLASS_KEYS]
    return ", ".join(w for w, on in words if on) or MISSING


def run_display(store: ResultsStore) -> pd.DataFrame:
    """Every run in seven columns: network, arm, seed, test AUC [95% CI], learned, epochs (the
    best epoch in brackets), flags in words."""
    runs = runs_of(store)
    cols = ["network", "arm", "seed", "AUC [95% CI]", "learned", "epochs (best)", "flags"]
    if runs.empty:
        return pd.DataFrame(columns=cols)
    runs = runs.sort_values(["network", "variant", "seed"], kind="stable",
                            key=lambda c: c.map(arm_rank) if c.name == "variant" else c)
    return pd.DataFrame({
        "network": runs["network"].map(network_label).to_numpy(),
        "arm": runs["variant"].to_numpy(), "seed": runs["seed"].astype(int).to_numpy(),
        "AUC [95% CI]": [f"{a:.3f} [{lo:.3f}, {hi:.3f}]" for a, lo, hi in
                         zip(runs["auc_ovo"], runs["auc_ovo_low"], runs["auc_ovo_high"])],
        "learned": [YES if x else NO for x in runs["learned"].astype(bool)],
        "epochs (best)": [f"{int(e)} ({int(b)})" if pd.notna(b) else f"{int(e)}"
                          for e, b in zip(runs["epochs"], runs["best_epoch"])],
        "flags": [_flags(r) for _, r in runs.iterrows()],
    }, columns=cols)


def anova_display(anova: pd.DataFrame) -> pd.DataFrame:
    """``summary.anova_table`` in seven columns, one network after the other: the medians as
    "reference → arm", no F and no note; an arm without runs on a network is left out (a test
    that could not run for another reason shows "–")."""
    shown = anova[anova["median (arm)"].notna()]
    shown = shown.iloc[np.argsort(shown["network"].to_numpy(), kind="stable")]
    return pd.DataFrame({
        "network": shown["network"].to_numpy(), "arms": shown["compared"].to_numpy(),
        "runs": shown["n"].to_numpy(),
        "median": [f"{number(a)} → {number(b)}" for a, b in
                   zip(shown["median (reference)"], shown["median (arm)"])],
        "p, ANOVA": shown["p (ANOVA)"].to_numpy(), "p, Welch": shown["p (Welch)"].to_numpy(),
        "p, Kruskal–Wallis": shown["p (Kruskal-Wallis)"].to_numpy(),
    })


LOSS_COLUMNS = ("optimizer", "lr", "batch", "epochs", "P", "σ_sm₀", "σ_ce₀", "loss parameters")
MAP_COLUMNS = ("Ω", "Ψ", "Ψ points", "blur σ (px)", "B")
CONFIG_WORDS = {"optimizer": "optimiser", "lr": "learning rate", "batch": "batch size",
                "epochs": "epochs (at most)", "P": "plateau patience P",
                "loss parameters": "loss parameters in", "Ω": "Ω", "Ψ": "Ψ",
                "Ψ points": "Ψ from", "blur σ (px)": "blur σ (px)", "B": "B"}
CONFIG_SENTENCE = {"optimizer": "optimiser {}", "lr": "learning rate {}", "batch": "batch size {}",
                   "epochs": "at most {} epochs", "P": "plateau patience P = {}",
                   "σ_sm₀": "σ_sm₀ = {}", "σ_ce₀": "σ_ce₀ = {}", "loss parameters": "loss in {}",
                   "Ω": "Ω = {}", "Ψ": "Ψ: {}", "Ψ points": "Ψ from the {} points",
                   "blur σ (px)": "blur σ = {} px", "B": "B = {}"}


def _value(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return MISSING
    return number(v) if isinstance(v, (int, float, np.number)) else str(v)


def _shared(configs: pd.DataFrame) -> dict[str, str]:
    """Columns with one value in every row that has one ("–" and missing ignored)."""
    shared = {}
    for c in [*LOSS_COLUMNS, *MAP_COLUMNS]:
        values = {_value(v) for v in configs[c]} - {MISSING}
        if len(values) == 1:
            shared[c] = values.pop()
    return shared


def configs_shared(store: ResultsStore) -> str:
    """The settings every arm of the store shares, as a sentence ("" when none)."""
    shared = _shared(_configs(store))
    if not shared:
        return ""
    return "Every arm: " + ", ".join(CONFIG_SENTENCE[c].format(v) for c, v in shared.items()) + "."


def _configs(store: ResultsStore) -> pd.DataFrame:
    from ggcam.analysis.summary import configs_table  # summary re-exports this module

    return configs_table(store)


def _varying(store: ResultsStore, columns) -> pd.DataFrame:
    configs = _configs(store)
    shared = _shared(configs)
    keep = [c for c in columns if c not in shared and configs[c].map(_value).ne(MISSING).any()]
    return configs[["network", "arm", *keep]].assign(
        **{c: [_value(v) for v in configs[c]] for c in keep})


def configs_loss(store: ResultsStore) -> pd.DataFrame:
    """Per network × arm, the training and loss settings that differ between arms (those all
    share are in ``configs_shared``): patience P, σ_sm₀, σ_ce₀, the float type of eq. 11."""
    return _varying(store, LOSS_COLUMNS)


def configs_maps(store: ResultsStore) -> pd.DataFrame:
    """Per network × arm, how Ω and Ψ are made, where arms differ: Ω's reduction, Ψ's source,
    its points, its blur."""
    return _varying(store, MAP_COLUMNS)


def configs_compared(store: ResultsStore, arms=("ggcam", "ggcam-legacy"),
                     differing_only: bool = True) -> pd.DataFrame:
    """The configurations of ``arms`` side by side: one row per setting (with
    ``differing_only``, only the settings where they differ), one column per network × arm
    ("ResNet18 ggcam")."""
    configs = _configs(store)
    configs = configs[configs["arm"].isin(arms)]
    if configs.empty:
        return pd.DataFrame({"setting": []})
    names = [f"{n} {a}" for n, a in zip(configs["network"], configs["arm"])]
    fields = [c for c in configs.columns if c not in ("network", "arm")]
    table = pd.DataFrame({"setting": [CONFIG_WORDS.get(c, c) for c in fields],
                          **{name: [_value(row[c]) for c in fields]
                             for name, (_, row) in zip(names, configs.iterrows())}})
    if differing_only:
        table = table[table[names].nunique(axis=1) > 1]
    return table.reset_index(drop=True)


EQ12_CLASSES = {"chf": "CHF", "pneumonia": "pneumonia"}


def eq12_by_class(runs: pd.DataFrame, cls: str, prior: pd.DataFrame | None = None) -> pd.DataFrame:
    """Eq. 12 for one class (``"chf"`` or ``"pneumonia"``), medians over seeds: the peak cell
    in the region, any cell of its 3×3 neighbourhood in it, and the rate of a random peak;
    with ``prior`` (``constant_maps.prior_eq12``), the mean-gaze map's strict rate too (the
    best single cell's is in the text: a table holds at most 7 columns)."""
    if cls not in EQ12_CLASSES:
        raise ValueError(f"cls must be one of {list(EQ12_CLASSES)}, got {cls!r}")
    from ggcam.analysis.summary import localisation_table  # summary re-exports this module

    local = localisation_table(runs)
    table = pd.DataFrame({"network": local["network"], "arm": local["variant"], "runs": local["runs"],
                          "peak in region": local[f"interp_{cls}"],
                          "3×3 in region": local[f"interp3x3_{cls}"],
                          "random peak": local[f"interp_chance_{cls}"]})
    if prior is not None and len(runs):
        table["mean-gaze map"] = constant_maps.arm_medians(runs, prior, f"prior_interp_{cls}", local)
    return table


AGREEMENT = {"cc": "CC", "kl": "KL", "sim": "SIM", "nss": "NSS", "auc_judd": "AUC-Judd"}


def agreement_display(runs: pd.DataFrame) -> pd.DataFrame:
    """Medians over seeds of CC, KL, SIM, NSS and AUC-Judd of Ω^Y against Ψ, per network × arm,
    and after each network's arms a "mean-gaze map" row: the same metrics of the mean training
    Ψ (one map for every image), median over every run of the network."""
    cols = ["network", "arm", *AGREEMENT.values()]
    if runs.empty:
        return pd.DataFrame(columns=cols)
    g = runs.groupby(["network", "variant"], sort=False)[list(AGREEMENT)].median().reset_index()
    centre = (runs.groupby("network", sort=False)[[f"{k}_centre" for k in AGREEMENT]].median()
              .rename(columns=lambda c: c.removesuffix("_centre")).reset_index()
              .assign(variant=CENTRE_PRIOR))
    t = pd.concat([g, centre], ignore_index=True)
    rank = {v: i for i, v in enumerate([*VARIANTS, CENTRE_PRIOR])}
    t = t.sort_values(["network", "variant"], kind="stable",
                      key=lambda c: c.map(rank) if c.name == "variant" else c)
    return pd.DataFrame({"network": t["network"].map(network_label).to_numpy(),
                         "arm": t["variant"].to_numpy(),
                         **{label: t[k].to_numpy() for k, label in AGREEMENT.items()}})


def run_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per network × arm, the short version of ``run_display``: runs that learned, the median
    test AUC and its range over seeds, the median width of a run's 95% interval, and whether
    the arm counts (at least ``LEARNED_SHARE`` of its runs learned; ✗: left out of
    conclusions)."""
    from ggcam.analysis.summary_paired import arm_status

    cols = ["network", "arm", "learned", "median AUC", "AUC range", "CI width", "arm counts"]
    if runs.empty:
        return pd.DataFrame(columns=cols)
    status = arm_status(runs)
    g = runs.groupby(["network", "variant"], sort=False)
    auc = g["auc_ovo"].agg(["min", "max"])
    width = (runs["auc_ovo_high"] - runs["auc_ovo_low"]).groupby(
        [runs["network"], runs["variant"]]).median()
    keys = list(zip(status["network"], status["variant"]))
    return pd.DataFrame({
        "network": status["network"].map(network_label).to_numpy(),
        "arm": status["variant"].to_numpy(),
        "learned": [f"{a} of {b}" for a, b in zip(status["learned"], status["runs"])],
        "median AUC": status["median AUC"].to_numpy(),
        "AUC range": [f"{auc.loc[k, 'min']:.3f}–{auc.loc[k, 'max']:.3f}" for k in keys],
        "CI width": [float(width.loc[k]) for k in keys],
        "arm counts": [YES if x else NO for x in status["arm learned"]],
    }, columns=cols)
