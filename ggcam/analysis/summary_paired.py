"""Arms and their paired comparisons (``ggcam.analysis.summary``).

* ``arm_status``: per network × arm, how many runs learned (``RunRecord.learned``). An arm
  whose runs mostly did not learn is marked and kept out of conclusions.
* ``paired_table``: the paired comparisons of the study (``ggcam.stats.unpaired.paired_summary``):
  the primary comparison, named in the profile before the sweep ran, unadjusted; every other
  comparison Holm-adjusted within its family (``paired_families``: the study's own, fixed
  before the sweep, where it has them). ``paired_display`` is the same for readers.
* ``legacy_table``: the released code's arm against GG-CAM and standard (page 08).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ggcam.analysis.paired_families import adjust, holm_floor, page_family
from ggcam.analysis.summary_store import network_label, primary_arms, runs_of
from ggcam.experiment.profiles import CONTROLS, PROFILES
from ggcam.experiment.store import ResultsStore
from ggcam.runtime import atomic_write_text
from ggcam.stats.paired import paired_summary
from ggcam.study import VARIANTS

LEARNED_SHARE = 0.5  # an arm "learned" when at least this share of its runs did
# The study's learning target, set before the sweep (issue 11): the reference arm of a network
# reaches this median test AUC, and no primary arm has more than this share of single-class
# runs. A network that misses it still gets its comparison, flagged as between undertrained
# models.
TARGET_AUC = 0.75
MAX_SINGLE_CLASS_SHARE = 0.1
PAIRED_METRICS = ("auc_ovo", "pointing", "cc", "interp_chf", "interp_pneumonia")
PRIMARY_METRIC = "auc_ovo"  # the primary comparison's metric, named before the sweep
PAIRED_COLUMNS = ["network", "a", "b", "metric", "primary", "family", "n_seeds", "estimate",
                  "low", "high", "p", "p_holm", "p_floor", "interval", "usable"]
MIN_SEEDS = 2  # paired seeds a comparison needs before it is tested
CACHE_VERSION = 5  # bump when the paired table's computation changes: old caches are ignored
NO_PAIR = ("(none)", "(no arm)")  # a comparison of two arms that do not exist
METRIC_LABELS = {"auc_ovo": "AUC (Hand & Till)", "pointing": "pointing game",
                 "cc": "CC(Ωʸ, Ψ)", "interp_chf": "eq. 12, CHF",
                 "interp_pneumonia": "eq. 12, pneumonia"}


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


def learning_targets(runs: pd.DataFrame, primary: tuple[str, str]) -> pd.DataFrame:
    """Per network: the reference arm's median AUC against ``TARGET_AUC``, the single-class
    runs of each primary arm against ``MAX_SINGLE_CLASS_SHARE``, and whether both are met."""
    ref, arm = primary
    cols = ["network", f"median AUC, {ref}", "target", f"single-class, {ref}",
            f"single-class, {arm}", "target met"]
    if runs.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for network, part in runs.groupby("network", sort=False):
        by = {v: part[part["variant"] == v] for v in (ref, arm)}
        median = by[ref]["auc_ovo"].median() if len(by[ref]) else np.nan
        shares = {v: (int(r["single_class"].sum()), len(r)) for v, r in by.items()}
        few = all(n and k <= MAX_SINGLE_CLASS_SHARE * n for k, n in shares.values())
        rows.append({"network": network, f"median AUC, {ref}": median, "target": TARGET_AUC,
                     f"single-class, {ref}": "{} of {}".format(*shares[ref]),
                     f"single-class, {arm}": "{} of {}".format(*shares[arm]),
                     "target met": bool(np.isfinite(median) and median >= TARGET_AUC and few)})
    return pd.DataFrame(rows, columns=cols)


def learning_target_table(store: ResultsStore) -> pd.DataFrame:
    """``learning_targets`` of a store's primary arms, for readers ("yes" / "NO")."""
    t = learning_targets(runs_of(store), primary_arms(store))
    return t.assign(network=t["network"].map(network_label),
                    **{"target met": ["yes" if x else "NO" for x in t["target met"]]})


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
    (the ``interval`` column says which). Holm's adjustment runs within families
    (``paired_families.adjust``): the study's, as on the front page, where it fixed them.
    The image-level bootstrap costs n_boot × seeds × 2 AUCs (about a minute per network at
    8 seeds and n_boot = 1000); with ``cache_dir`` the table is kept there, keyed by the runs
    table and the arguments, and reused by the next page.
    """
    runs = runs_of(store)
    key = None
    if cache_dir is not None and len(runs):
        blob = runs.to_csv(index=False) + repr((tuple(metrics), n_boot, seed, CACHE_VERSION))
        key = Path(cache_dir) / f"paired-{store.profile}-{hashlib.sha1(blob.encode()).hexdigest()[:12]}.json"
        cached = _read_cached(key)
        if cached is not None:
            return cached
    table = _paired_table(store, runs, metrics, n_boot, seed)
    if key is not None:
        key.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(json.dumps({"dtypes": {c: str(t) for c, t in table.dtypes.items()},
                                      "columns": table.to_dict(orient="list")}), key)
    return table


def _read_cached(key: Path) -> pd.DataFrame | None:
    """A cached table, or None when there is none or it cannot be read (then it is recomputed).

    JSON, not pickle: a cache folder is only data, and loading it must never run code. Python's
    json writes floats with repr, so the values come back exactly.
    """
    try:
        blob = json.loads(key.read_text())
        return pd.DataFrame(blob["columns"]).astype(blob["dtypes"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _paired_table(store, runs, metrics, n_boot, seed) -> pd.DataFrame:
    primary = primary_arms(store)
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
    table["family"] = [page_family(a, b, metric, primary, PRIMARY_METRIC) for a, b, metric in
                       zip(table["a"], table["b"], table["metric"])]
    table.loc[table["primary"], "family"] = "primary"
    table = adjust(table, runs, PROFILES.get(store.profile))
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
        "Δ [95% CI]": [fmt_ci(r) for _, r in p.iterrows()],
        "p raw (sign-flip)": p["p"],
        "p Holm-adjusted": [np.nan if pr else h for pr, h in zip(p["primary"], p["p_holm"])],
        "smallest attainable p": p["p_floor"],
        "role": ["primary, unadjusted; CI over seeds, then images" if pr and i == "seeds+images"
                 else "primary, unadjusted" if pr else f"secondary (Holm within: {f})"
                 for pr, i, f in zip(p["primary"], p["interval"], p["family"])],
        "both arms learned (most runs)": ["yes" if u else "NO" for u in p["usable"]],
    })


def fmt_ci(row) -> str:
    return f"{row['estimate']:+.3f} [{row['low']:+.3f}, {row['high']:+.3f}]"


def legacy_paired(store: ResultsStore, metrics=("auc_ovo", "interp_chf", "interp_pneumonia", "cc"),
                  n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """The released code's arm against the paper's GG-CAM and against standard, paired by seed
    (intervals over seeds, Holm over this table's rows): ``PAIRED_COLUMNS``, one Holm family."""
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
        return pd.DataFrame(columns=PAIRED_COLUMNS)
    from ggcam.stats.paired import holm

    table = pd.concat(tables, ignore_index=True)
    table["primary"] = False
    table["p_holm"] = holm(table["p"])
    table["family"] = "legacy"  # this table's rows are one Holm family
    table["p_floor"] = holm_floor(table["n_seeds"], len(table))
    status = arm_status(runs).set_index(["network", "variant"])["arm learned"]
    table["usable"] = [bool(status.get((n, a), False) and status.get((n, b), False))
                       for n, a, b in zip(table["network"], table["a"], table["b"])]
    return table[PAIRED_COLUMNS]


def legacy_table(store: ResultsStore, metrics=("auc_ovo", "interp_chf", "interp_pneumonia", "cc"),
                 n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """``legacy_paired`` as ``paired_display`` shows it."""
    return paired_display(legacy_paired(store, metrics, n_boot, seed))
