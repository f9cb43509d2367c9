"""What a results store says: the tables and sentences the book's results pages show.

Pages call these and display the result; the logic lives here (design.md, "The book"). Every
function works on a store with any subset of its runs, none included: a sweep fills a store
over hours, and a page built meanwhile says how far it got instead of failing.

* ``open_results`` / ``runs_of``: the store a page reads and its runs (an empty table before
  the first run finishes); ``progress_table`` / ``progress_facts``: runs done of those planned.
* ``arm_status``: per network × arm, how many runs learned (``RunRecord.learned``). An arm
  whose runs mostly did not learn is marked and kept out of conclusions.
* ``paired_table``: the paired comparisons of the study (``ggcam.stats.paired_summary``):
  the primary comparison, named in the profile before the sweep ran, unadjusted; every other
  comparison Holm-adjusted together. ``paired_display`` is the same for readers.
* ``answer`` / ``answer_sentence``: one row and one sentence per network — the paper's medians
  beside ours, the paired ΔAUC with its 95% interval, whether gaze beats the two controls.
* Tables of the results pages: ``configs_table``, ``run_table``, ``anova_table``,
  ``table2``, ``localisation_table``, ``agreement_table``, ``flags_table``,
  ``saturation_table``, ``final_parameters``, ``omega_quantiles``.
"""

from __future__ import annotations

import hashlib
import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import FAMILY_OF, NETWORK_LABELS, VARIANT_LABELS, VARIANTS
from ..paper_values import PAPER_MEDIAN_AUC, paper_table2
from ..stats import anova, paired_summary, precision_recall_table
from .profiles import CONTROLS, PROFILES, RunSpec, get_profile, run_config, run_specs
from .store import ResultsStore, RunRecord, open_store, results_root

LEARNED_SHARE = 0.5  # an arm "learned" when at least this share of its runs did
PAIRED_METRICS = ("auc_ovo", "pointing", "cc")
PRIMARY_METRIC = "auc_ovo"  # the primary comparison's metric, named before the sweep
PAIRED_COLUMNS = ["network", "a", "b", "metric", "primary", "n_seeds", "estimate", "low",
                  "high", "p", "p_holm", "interval", "usable"]
MIN_SEEDS = 2  # paired seeds a comparison needs before it is tested
CACHE_VERSION = 2  # bump when the paired table's computation changes: old caches are ignored
NO_PAIR = ("(none)", "(no arm)")  # a comparison of two arms that do not exist
SWEPT_PROFILE = "cpu"  # the profile a page shows when no profile has results yet
METRIC_LABELS = {"auc_ovo": "AUC (Hand & Till)", "pointing": "pointing game",
                 "cc": "CC(Ω^Y, Ψ)", "interp_chf": "eq. 12, CHF",
                 "interp_pneumonia": "eq. 12, pneumonia"}


def network_label(network: str) -> str:
    return NETWORK_LABELS.get(network, network)


def variant_label(variant: str) -> str:
    return VARIANT_LABELS.get(variant, variant)


# ---- the store and its progress ---------------------------------------------------------------


def open_results(profile: str = "", root: str | Path | None = None) -> ResultsStore:
    """The store a results page reads: ``profile``'s (empty: the best with results); when
    none has results yet, the store the ``cpu`` sweep is filling (``runs_of`` is then empty)."""
    try:
        return open_store(profile or None, root or None)
    except FileNotFoundError:
        try:
            base = Path(root) if root else results_root()
        except FileNotFoundError:
            base = Path("results")
        return ResultsStore(base / (profile or SWEPT_PROFILE))


def runs_of(store: ResultsStore) -> pd.DataFrame:
    """``store.runs()``, or an empty table with the same columns before the first run."""
    try:
        return store.runs()
    except FileNotFoundError:
        return pd.DataFrame(columns=RunRecord.columns())


def _tier(profile, variant: str) -> str:
    return ("primary" if variant in profile.primary else "control" if variant in CONTROLS
            else "other")


def progress_table(store: ResultsStore) -> pd.DataFrame:
    """Per network × arm of the profile: runs planned, done, learned, in sweep order."""
    prof = get_profile(store.profile)
    plan = pd.DataFrame([{"network": s.network, "variant": s.variant, "run_id": s.run_id}
                         for s in run_specs(prof)])
    runs = runs_of(store)
    done = set(runs["run_id"])
    learned = set(runs.loc[runs["learned"].astype(bool), "run_id"])
    plan["done"] = plan["run_id"].isin(done)
    plan["learned"] = plan["run_id"].isin(learned)
    g = plan.groupby(["network", "variant"], sort=False)
    table = pd.DataFrame({"planned": g.size(), "done": g["done"].sum(),
                          "learned": g["learned"].sum()}).reset_index()
    table.insert(0, "tier", [_tier(prof, v) for v in table["variant"]])
    order = {"primary": 0, "control": 1, "other": 2}
    table = table.sort_values(["tier", "network", "variant"], kind="stable",
                              key=lambda c: c.map(order) if c.name == "tier" else
                              c.map(_variant_rank) if c.name == "variant" else
                              c.map(_network_rank(prof)))
    table = table.assign(network=table["network"].map(network_label),
                         done=[f"{d} of {n}" for d, n in zip(table["done"], table["planned"])])
    return table.drop(columns="planned").reset_index(drop=True)


def _variant_rank(v: str) -> int:
    return VARIANTS.index(v) if v in VARIANTS else len(VARIANTS)


def _network_rank(prof):
    return lambda n: prof.networks.index(n) if n in prof.networks else len(prof.networks)


def progress_facts(store: ResultsStore) -> dict:
    """How much of the study is done: counts and one sentence (for ``glue``)."""
    t = progress_table(store)
    counts = t["done"].str.split(" of ", expand=True).astype(int) if len(t) else pd.DataFrame(
        {0: [], 1: []})
    t = t.assign(done=counts[0], planned=counts[1])
    primary = t[t["tier"] == "primary"]
    done, planned = int(t["done"].sum()), int(t["planned"].sum())
    p_done, p_planned = int(primary["done"].sum()), int(primary["planned"].sum())
    arms_missing = t.loc[t["done"] == 0, "variant"].drop_duplicates().tolist()
    sentence = (f"{done} of {planned} runs of profile `{store.profile}` are done; "
                f"{p_done} of {p_planned} of the primary comparison.")
    if arms_missing:
        sentence += (" No run yet of " + ", ".join(f"`{v}`" for v in arms_missing) + ".")
    elif done == planned:
        sentence += " The sweep is complete."
    return {"done": done, "planned": planned, "primary_done": p_done,
            "primary_planned": p_planned, "share": done / planned if planned else 0.0,
            "sentence": sentence}


def provenance_markdown(store: ResultsStore) -> str:
    """The provenance line every results page starts with, or what is missing."""
    if len(runs_of(store)):
        return store.provenance_markdown()
    return (f"**Provenance.** No finished run in `results/{store.profile}/` yet: run "
            f"`make reproduce PROFILE={store.profile}` (or wait for the sweep), then rebuild. "
            "**Phantom data: these are not the paper's numbers.**")


def scope_note(store: ResultsStore) -> str:
    """What our numbers are, beside the paper's: data, networks, input size (Markdown)."""
    prof = PROFILES.get(store.profile)
    if prof is None:
        return "These results come from a profile this version of ggcam does not know."
    nets = ", ".join(network_label(n) for n in prof.networks)
    h, w = prof.input_shape
    data = ("the phantom (synthetic radiographs and a simulated reader)" if prof.data == "phantom"
            else "the real EGD-CXR + MIMIC-CXR release")
    return (f"Ours: {nets} at {h}×{w} (Ω {h // 32}×{w // 32}), {prof.n_images:,} images of "
            f"{data}, profile `{prof.name}`. The paper's: ResNet50 and EffNetV2-S at 1536×1280 "
            "(Ω 48×40) on the real EGD-CXR data. The paper's numbers are shown beside ours, "
            "labelled; they are not comparable as numbers, only as a direction.")


# ---- arms, pairs and the answer ---------------------------------------------------------------


def all_predictions(store: ResultsStore) -> pd.DataFrame:
    """Every run's test predictions, with its network, variant and seed."""
    runs = runs_of(store)
    frames = [store.predictions(r.run_id).assign(network=r.network, variant=r.variant, seed=r.seed)
              for r in runs.itertuples()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def arm_status(runs: pd.DataFrame) -> pd.DataFrame:
    """Per network × arm: runs, how many learned, single-class runs, median AUC, flags."""
    cols = ["network", "variant", "runs", "learned", "single class", "σ_sm frozen",
            "sigmoid saturated", "median AUC", "arm learned"]
    if runs.empty:
        return pd.DataFrame(columns=cols)
    g = runs.groupby(["network", "variant"], sort=False)
    table = pd.DataFrame({
        "runs": g.size(), "learned": g["learned"].sum().astype(int),
        "single class": g["single_class"].sum().astype(int),
        "σ_sm frozen": g["sigma_frozen"].sum().astype(int),
        "sigmoid saturated": g["sigmoid_saturated"].sum().astype(int),
        "median AUC": g["auc_ovo"].median(),
    }).reset_index()
    table["arm learned"] = table["learned"] >= LEARNED_SHARE * table["runs"]
    order = {v: i for i, v in enumerate(VARIANTS)}
    return table.sort_values(["network", "variant"], key=lambda c: c.map(order) if c.name == "variant"
                             else c).reset_index(drop=True)[cols]


def arm_status_display(runs: pd.DataFrame) -> pd.DataFrame:
    """``arm_status`` for readers: names, and "yes"/"NO — left out of conclusions"."""
    t = arm_status(runs)
    t = t.assign(network=t["network"].map(network_label),
                 learned=[f"{a} of {b}" for a, b in zip(t["learned"], t["runs"])],
                 **{"arm learned": ["yes" if x else "NO: left out of conclusions"
                                    for x in t["arm learned"]]})
    return t[["network", "variant", "learned", "median AUC", "arm learned"]].rename(
        columns={"learned": "runs that learned"})


def comparisons(runs: pd.DataFrame, primary: tuple[str, str]) -> list[tuple[str, str]]:
    """The study's comparisons among the arms present: primary, gaze vs each control, and
    each other GG-CAM arm against standard."""
    present = set(runs["variant"])
    ref, arm = primary
    pairs = [primary] + [(c, arm) for c in CONTROLS]
    pairs += [(ref, v) for v in VARIANTS if v not in (ref, arm, *CONTROLS)]
    return [(a, b) for a, b in pairs if a in present and b in present]


def paired_table(store: ResultsStore, metrics=PAIRED_METRICS, n_boot: int = 2000,
                 seed: int = 0, cache_dir: str | Path | None = None) -> pd.DataFrame:
    """Paired differences (b − a) per network × comparison × metric, with intervals and
    p-values; ``usable`` is False where either arm did not learn.

    A comparison is tested once it has ``MIN_SEEDS`` paired seeds. The primary ΔAUC gets the
    hierarchical interval (seeds, then test images); every other row resamples the seeds
    (the ``interval`` column says which). Holm's adjustment runs over every secondary row of
    every metric together. The image-level bootstrap costs n_boot × seeds × 2 AUCs (about a
    minute per network at 8 seeds and n_boot = 1000); with ``cache_dir`` the table is kept
    there, keyed by the runs table and the arguments, and reused by the next page.
    """
    runs = runs_of(store)
    key = None
    if cache_dir is not None and len(runs):
        blob = runs.to_csv(index=False) + repr((tuple(metrics), n_boot, seed, CACHE_VERSION))
        key = Path(cache_dir) / f"paired-{store.profile}-{hashlib.sha1(blob.encode()).hexdigest()[:12]}.pkl"
        if key.is_file():
            return pickle.loads(key.read_bytes())
    table = _paired_table(store, runs, metrics, n_boot, seed)
    if key is not None:
        key.parent.mkdir(parents=True, exist_ok=True)
        key.write_bytes(pickle.dumps(table))
    return table


def _paired_table(store, runs, metrics, n_boot, seed) -> pd.DataFrame:
    primary = _primary(store)
    pairs = comparisons(runs, primary) if len(runs) else []
    preds = all_predictions(store) if primary in pairs else None
    tables = []
    for metric in metrics:
        for _network, part in runs.groupby("network", sort=False):
            # A test needs two paired seeds (a sign-flip test of one difference says nothing).
            testable = [(a, b) for a, b in pairs if n_paired(part, metric, a, b) >= MIN_SEEDS]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # unpaired seeds: not in n_seeds
                if primary in testable:  # seeds, then test images (ΔAUC): the costly one
                    tables.append(paired_summary(part, metric, [primary], primary=primary,
                                                 predictions=preds, n_boot=n_boot, seed=seed))
                others = [c for c in testable if c != primary]
                if others:  # seeds only; paired_summary always tries its primary: none here
                    tables.append(paired_summary(part, metric, others, primary=NO_PAIR,
                                                 n_boot=n_boot, seed=seed))
    tables = [t for t in tables if len(t)]
    if not tables:
        return pd.DataFrame(columns=PAIRED_COLUMNS)
    table = pd.concat(tables, ignore_index=True)
    # Only the primary metric of the primary pair is the primary test; the same pair's
    # other metrics are secondary.
    table["primary"] = table["primary"].astype(bool) & (table["metric"] == PRIMARY_METRIC)
    # Holm over the whole secondary family (every metric), not metric by metric.
    from ..stats import holm

    secondary = ~table["primary"].astype(bool)
    table["p_holm"] = table["p"].astype(float)
    table.loc[secondary, "p_holm"] = holm(table.loc[secondary, "p"])
    status = arm_status(runs).set_index(["network", "variant"])["arm learned"]
    table["usable"] = [bool(status.get((n, a), False) and status.get((n, b), False))
                       for n, a, b in zip(table["network"], table["a"], table["b"])]
    return table[PAIRED_COLUMNS]


def n_paired(runs: pd.DataFrame, metric: str, a: str, b: str) -> int:
    """Seeds with a finite ``metric`` in both arms ``a`` and ``b`` (one network's runs)."""
    ok = runs[runs[metric].notna()]
    return len(set(ok.loc[ok["variant"] == a, "seed"]) & set(ok.loc[ok["variant"] == b, "seed"]))


def paired_display(paired: pd.DataFrame, metrics=None) -> pd.DataFrame:
    """The paired table for readers: one row per network × comparison × metric."""
    p = paired if metrics is None else paired[paired["metric"].isin(metrics)]
    return pd.DataFrame({
        "network": p["network"].map(network_label),
        "comparison": [f"{b} − {a}" for a, b in zip(p["a"], p["b"])],
        "metric": p["metric"].map(lambda m: METRIC_LABELS.get(m, m)),
        "seeds": p["n_seeds"],
        "Δ [95% CI]": [_fmt_ci(r) for _, r in p.iterrows()],
        "p raw (sign-flip)": p["p"],
        "p Holm-adjusted": [np.nan if pr else h for pr, h in zip(p["primary"], p["p_holm"])],
        "role": ["primary, unadjusted; CI over seeds, then images" if pr and i == "seeds+images"
                 else "primary, unadjusted" if pr else "secondary"
                 for pr, i in zip(p["primary"], p["interval"])],
        "both arms learned": ["yes" if u else "NO" for u in p["usable"]],
    })


def study_networks(store: ResultsStore) -> list[str]:
    """The networks of the store's runs, in the profile's order; before any run, the profile's."""
    prof = PROFILES.get(store.profile)
    planned = list(prof.networks) if prof else []
    present = list(pd.unique(runs_of(store)["network"]))
    if not present:
        return planned
    return [n for n in planned if n in present] + [n for n in present if n not in planned]


def _primary(store: ResultsStore) -> tuple[str, str]:
    prof = PROFILES.get(store.profile)
    return prof.primary if prof else ("standard", "ggcam-warm")


ALPHA = 0.05  # a difference is called higher or lower when its interval excludes 0 and p < ALPHA


def _verdict(row, p_col: str, neither: str) -> str:
    """"higher"/"lower" when the 95% interval excludes 0 *and* the (adjusted) p is below
    ``ALPHA``; with few seeds a bootstrap interval can exclude 0 while the exact p cannot be
    small, and then it is not called."""
    if row[p_col] < ALPHA and row["low"] > 0:
        return "higher"
    if row[p_col] < ALPHA and row["high"] < 0:
        return "lower"
    return neither


def _f3(x) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:.3f}"


def _fmt_ci(row) -> str:
    return f"{row['estimate']:+.3f} [{row['low']:+.3f}, {row['high']:+.3f}]"


def _row(paired: pd.DataFrame, network: str, a: str, b: str, metric: str):
    r = paired[(paired["network"] == network) & (paired["a"] == a) & (paired["b"] == b)
               & (paired["metric"] == metric)]
    return r.iloc[0] if len(r) else None


def answer(store: ResultsStore, paired: pd.DataFrame | None = None, n_boot: int = 2000) -> pd.DataFrame:
    """The front page's table: per network, the paper beside ours and the paired answer."""
    paired = paired if paired is not None else paired_table(store, n_boot=n_boot)
    runs = runs_of(store)
    ref, arm = _primary(store)
    networks = study_networks(store)

    def cell(network, a, b, metric):
        r = _row(paired, network, a, b, metric)
        if r is None:
            return "not run yet"
        return _fmt_ci(r) + ("" if r["usable"] else " (an arm did not learn)")

    rows = []
    for network in networks:
        fam = FAMILY_OF.get(network, network)
        part = runs[runs["network"] == network]
        med = part.groupby("variant")["auc_ovo"].median()
        main = _row(paired, network, ref, arm, "auc_ovo")
        rows.append({
            "network (ours)": network_label(network),
            "the paper (real data): median AUC standard → GG-CAM": (
                f"{PAPER_MEDIAN_AUC[(fam, 'standard')]:.3f} → {PAPER_MEDIAN_AUC[(fam, 'ggcam')]:.3f}"
                f" ({network_label(fam)})") if (fam, "standard") in PAPER_MEDIAN_AUC else "–",
            f"ours: median AUC {ref} → {arm}": f"{_f3(med.get(ref))} → {_f3(med.get(arm))}",
            "paired ΔAUC [95% CI]": cell(network, ref, arm, "auc_ovo"),
            "p (sign-flip)": float(main["p"]) if main is not None else np.nan,
            "Δ pointing game [95% CI]": cell(network, ref, arm, "pointing"),
            "gaze − shuffled ΔAUC": cell(network, "ggcam-shuffled", arm, "auc_ovo"),
            "gaze − centre ΔAUC": cell(network, "ggcam-centre", arm, "auc_ovo"),
            "paired seeds": int(main["n_seeds"]) if main is not None else 0,
        })
    return pd.DataFrame(rows)


def answer_sentence(store: ResultsStore, paired: pd.DataFrame, network: str) -> str:
    """One sentence per network: the paired ΔAUC, the controls, the pointing-game change."""
    ref, arm = _primary(store)
    main = _row(paired, network, ref, arm, "auc_ovo")
    if main is None:
        return f"{network_label(network)}: no paired seeds of `{ref}` and `{arm}` yet."
    verdict = _verdict(main, "p", "not distinguishable from")
    text = (f"On {network_label(network)}, `{arm}` gives a test AUC "
            f"{verdict}{' than' if verdict != 'not distinguishable from' else ''} "
            f"`{ref}`: paired ΔAUC {_fmt_ci(main)} over {int(main['n_seeds'])} seeds "
            f"(sign-flip p = {main['p']:.3g}).")
    if not main["usable"]:
        text += " One of the two arms did not learn, so this is not a conclusion."
    planned = _planned_seeds(store, network, ref, arm)
    if planned and main["n_seeds"] < planned:
        text += (f" Provisional: {int(main['n_seeds'])} of the {planned} planned paired seeds "
                 "are in.")
    for control in CONTROLS:
        c = _row(paired, network, control, arm, "auc_ovo")
        if c is not None:
            text += (f" Against `{control}`: ΔAUC {_fmt_ci(c)} (Holm p = {c['p_holm']:.3g})"
                     + ("." if c["usable"] else ", an arm did not learn."))
    pt = _row(paired, network, ref, arm, "pointing")
    if pt is not None:
        text += f" Pointing game against the true findings: Δ {_fmt_ci(pt)}."
    return text


def _planned_seeds(store: ResultsStore, network: str, a: str, b: str) -> int:
    prof = PROFILES.get(store.profile)
    if prof is None:
        return 0
    seeds = [set(arm.seeds) for arm in prof.arms if arm.variant in (a, b) and network in arm.networks]
    return len(seeds[0] & seeds[1]) if len(seeds) == 2 else 0


def answer_rows(store: ResultsStore, paired: pd.DataFrame) -> pd.DataFrame:
    """``answer`` turned for a narrow page: one row per item, one column per network."""
    t = answer(store, paired)
    if t.empty:
        return pd.DataFrame({"": []})
    return t.set_index("network (ours)").T.rename_axis(None, axis=1).reset_index(names="")


def answer_markdown(store: ResultsStore, paired: pd.DataFrame) -> str:
    """Every network's answer sentence, one paragraph each (Markdown, for ``glue``)."""
    networks = study_networks(store)
    return "\n\n".join(answer_sentence(store, paired, n) for n in networks)


def localisation_sentence(store: ResultsStore, paired: pd.DataFrame, network: str) -> str:
    """Where Ω^Y peaks, primary arm against its reference: pointing game and CC(Ω^Y, Ψ)."""
    ref, arm = _primary(store)
    parts = []
    for metric, what in (("pointing", "pointing game against the true findings"),
                         ("cc", "CC between $\\Omega^Y$ and Ψ")):
        r = _row(paired, network, ref, arm, metric)
        if r is not None:
            verdict = _verdict(r, "p_holm", "not distinguishable")
            parts.append(f"{what} {verdict} (Δ {_fmt_ci(r)}, {int(r['n_seeds'])} seeds, "
                         f"Holm p = {r['p_holm']:.3g})")
    if not parts:
        return f"{network_label(network)}: no paired seeds of `{ref}` and `{arm}` yet."
    usable = all(r["usable"] for r in (_row(paired, network, ref, arm, m) for m in ("pointing", "cc"))
                 if r is not None)
    planned = _planned_seeds(store, network, ref, arm)
    seeds = min(int(r["n_seeds"]) for r in (_row(paired, network, ref, arm, m)
                                             for m in ("pointing", "cc")) if r is not None)
    return (f"On {network_label(network)}, `{arm}` against `{ref}`: " + "; ".join(parts) + "."
            + ("" if usable else " An arm did not learn, so this is not a conclusion.")
            + (f" Provisional: {seeds} of the {planned} planned paired seeds are in."
               if planned and seeds < planned else ""))


def localisation_markdown(store: ResultsStore, paired: pd.DataFrame) -> str:
    networks = study_networks(store)
    return "\n\n".join(localisation_sentence(store, paired, n) for n in networks)


# ---- tables of the results pages --------------------------------------------------------------


def configs_table(store: ResultsStore) -> pd.DataFrame:
    """The configuration each arm of the store trained (Table 1 + the profile)."""
    runs = runs_of(store)
    prof = get_profile(store.profile)
    pairs = ([tuple(x) for x in runs[["network", "variant"]].drop_duplicates().to_numpy()]
             if len(runs) else [(a.networks[0], a.variant) for a in prof.arms])
    pairs.sort(key=lambda nv: (_network_rank(prof)(nv[0]), _variant_rank(nv[1])))
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
    names = {"resnet50": "ResNet50", "efficientnet_v2_s": "EffNetV2-S"}
    t.insert(0, ("", "model"), [names[n] + ("+GG-CAM" if v == "ggcam" else "") for n, v in t.index])
    return t.reset_index(drop=True)


def _medians(runs: pd.DataFrame, columns) -> pd.DataFrame:
    present = [c for c in columns if c in runs]
    t = runs.groupby(["network", "variant"], sort=False)[present].median().reset_index()
    t.insert(2, "runs", runs.groupby(["network", "variant"], sort=False).size().to_numpy())
    order = {v: i for i, v in enumerate(VARIANTS)}
    t = t.sort_values(["network", "variant"], key=lambda c: c.map(order) if c.name == "variant" else c)
    return t.assign(network=t["network"].map(network_label)).reset_index(drop=True)


def localisation_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Medians over seeds: eq. 12 (strict, 3×3) with chance, pointing game with chance."""
    cols = ["interp_chf", "interp3x3_chf", "interp_chance_chf", "interp_pneumonia",
            "interp3x3_pneumonia", "interp_chance_pneumonia", "pointing", "pointing_chance"]
    if runs.empty:
        return pd.DataFrame(columns=["network", "variant", "runs", *cols])
    return _medians(runs, cols)


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


def flags_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per network × arm: runs, diverged, σ_sm frozen, optimiser overflow anywhere, sigmoid
    saturated, single-class, AUC interval covering chance, learned."""
    cols = ["network", "variant", "runs", "diverged", "σ_sm frozen", "optimiser overflow",
            "sigmoid saturated", "single class", "AUC CI covers 0.5", "learned"]
    if runs.empty:
        return pd.DataFrame(columns=cols)
    r = runs.assign(diverged=runs["status"] != "ok")
    g = r.groupby(["network", "variant"], sort=False)
    t = pd.DataFrame({"runs": g.size(), "diverged": g["diverged"].sum(),
                      "σ_sm frozen": g["sigma_frozen"].sum(),
                      "optimiser overflow": g["optimizer_overflow"].sum(),
                      "sigmoid saturated": g["sigmoid_saturated"].sum(),
                      "single class": g["single_class"].sum(),
                      "AUC CI covers 0.5": g["auc_ci_covers_chance"].sum(),
                      "learned": g["learned"].sum()}).astype(int).reset_index()
    order = {v: i for i, v in enumerate(VARIANTS)}
    t = t.sort_values(["network", "variant"], key=lambda c: c.map(order) if c.name == "variant" else c)
    return t.assign(network=t["network"].map(network_label)).reset_index(drop=True)[cols]


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
    order = {v: i for i, v in enumerate(VARIANTS)}
    t = t.sort_values(["network", "variant"], key=lambda s: s.map(order) if s.name == "variant" else s)
    return t.assign(network=t["network"].map(network_label)).reset_index(drop=True)[cols]


def curves_of(store: ResultsStore) -> pd.DataFrame:
    """``store.curves()``, or an empty table before the first run."""
    try:
        return store.curves()
    except FileNotFoundError:
        return pd.DataFrame(columns=["run_id", "network", "variant", "seed", "epoch"])


def omega_quantiles(hist: pd.DataFrame, qs=(0.01, 0.5, 0.99)) -> pd.DataFrame:
    """Quantiles of Ω per network × arm from the binned counts, linear within a bin."""
    rows = []
    for (network, variant), part in hist.groupby(["network", "variant"], sort=False):
        counts = part.groupby(["bin_left", "bin_right"])["count"].sum()
        edges = np.append(counts.index.get_level_values(0), counts.index.get_level_values(1)[-1])
        cdf = np.concatenate([[0.0], np.cumsum(counts.to_numpy())]) / counts.sum()
        rows.append({"network": network_label(network), "arm": variant, "order": _variant_rank(variant),
                     "runs": int(part["run_id"].nunique()) if "run_id" in part else None,
                     **{f"q{int(q * 100)}": float(np.interp(q, cdf, edges)) for q in qs}})
    if not rows:
        return pd.DataFrame(columns=["network", "arm", "runs", *[f"q{int(q * 100)}" for q in qs]])
    return (pd.DataFrame(rows).sort_values(["network", "order"], kind="stable")
            .drop(columns="order").reset_index(drop=True))


def omega_histograms(store: ResultsStore, edges: np.ndarray) -> pd.DataFrame:
    """``store.omega_histograms(edges)``, or an empty table before the first run."""
    if runs_of(store).empty:
        return pd.DataFrame(columns=["run_id", "network", "variant", "seed", "bin_left",
                                     "bin_right", "count"])
    return store.omega_histograms(edges)


# ---- the released code (page 08) --------------------------------------------------------------


def legacy_table(store: ResultsStore, metrics=("auc_ovo", "interp_chf", "interp_pneumonia", "cc"),
                 n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """The released code's arm against the paper's GG-CAM and against standard, paired by seed
    (intervals over seeds, Holm over this table's rows)."""
    runs = runs_of(store)
    pairs = [("ggcam", "ggcam-legacy"), ("standard", "ggcam-legacy")]
    tables = []
    for metric in metrics:
        for _network, part in runs.groupby("network", sort=False):
            testable = [(a, b) for a, b in pairs if n_paired(part, metric, a, b) >= MIN_SEEDS]
            if testable:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    tables.append(paired_summary(part, metric, testable, primary=NO_PAIR,
                                                 n_boot=n_boot, seed=seed))
    if not tables:
        return paired_display(pd.DataFrame(columns=PAIRED_COLUMNS))
    from ..stats import holm

    table = pd.concat(tables, ignore_index=True)
    table["p_holm"] = holm(table["p"])
    status = arm_status(runs).set_index(["network", "variant"])["arm learned"]
    table["usable"] = [bool(status.get((n, a), False) and status.get((n, b), False))
                       for n, a, b in zip(table["network"], table["a"], table["b"])]
    return paired_display(table)


def class_map_agreement(store: ResultsStore, variants=("standard", "ggcam", "ggcam-legacy")) -> pd.DataFrame:
    """Which map learned Ψ? Per network × arm, the mean over runs of the mean CC between Ψ and
    the Normal-class map Ω⁰, and between Ψ and the true class's map Ω^Y, over the test
    images with gaze. The released code supervises Ω⁰ for every label."""
    from ..saliency import cc

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
                     "CC(Ω⁰, Ψ)": float(np.mean(normal)), "CC(Ω^Y, Ψ)": float(np.mean(own))})
    if not rows:
        return pd.DataFrame(columns=["network", "variant", "runs", "CC(Ω⁰, Ψ)", "CC(Ω^Y, Ψ)"])
    t = pd.DataFrame(rows)
    g = t.groupby(["network", "variant"], sort=False)
    out = g[["CC(Ω⁰, Ψ)", "CC(Ω^Y, Ψ)"]].mean().reset_index()
    out.insert(2, "runs", g.size().to_numpy())
    order = {v: i for i, v in enumerate(VARIANTS)}
    out = out.sort_values(["network", "variant"], key=lambda c: c.map(order) if c.name == "variant" else c)
    return out.assign(network=out["network"].map(network_label)).reset_index(drop=True)


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
    order = {v: i for i, v in enumerate(VARIANTS)}
    t = t.sort_values(["network", "variant"], key=lambda c: c.map(order) if c.name == "variant" else c)
    return t.assign(network=t["network"].map(network_label)).reset_index(drop=True)
