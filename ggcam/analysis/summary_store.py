"""The store a results page reads and how far its sweep got (``ggcam.analysis.summary``).

* ``open_results`` / ``runs_of`` / ``curves_of`` / ``omega_histograms``: the store a page reads
  and its tables, empty before the first run finishes.
* ``progress_table`` / ``progress_facts``: runs done of those planned, per network × arm.
* ``provenance_markdown`` / ``scope_note``: the lines every results page starts with.
* ``study_networks``, ``network_label``, ``variant_label``: names and order for the tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ggcam.experiment.profiles import CONTROLS, PROFILES, get_profile, run_specs
from ggcam.experiment.store import ResultsStore, RunRecord, open_store, results_root
from ggcam.geometry import STRIDE
from ggcam.study import CLASS_KEYS, NETWORK_LABELS, VARIANT_LABELS, arm_rank

SWEPT_PROFILE = "cpu"  # the profile a page shows when no profile has results yet


def network_label(network: str) -> str:
    return NETWORK_LABELS.get(network, network)


def variant_label(variant: str) -> str:
    return VARIANT_LABELS.get(variant, variant)


def open_results(profile: str = "", root: str | Path | None = None,
                 variants: tuple[str, ...] = ()) -> ResultsStore:
    """The store a results page reads: ``profile``'s (empty: the best with results, and with
    runs of every arm in ``variants``); when none has results yet, the store the ``cpu``
    sweep is filling (``runs_of`` is then empty)."""
    try:
        return open_store(profile or None, root or None, variants)
    except FileNotFoundError:
        try:
            base = Path(root) if root else results_root()
        except FileNotFoundError:
            base = Path("results")
        return ResultsStore(base / (profile or SWEPT_PROFILE))


def at_base_point(runs: pd.DataFrame, profile) -> pd.Series:
    """Which runs are at the profile's base design point (its training-set size and reader);
    the dose-response runs are not. A record that names neither (written before dose points
    existed) is at the base point."""
    rep = profile.replicates
    ok = pd.Series(True, index=runs.index)
    if rep and "n_train" in runs.columns:
        n = pd.to_numeric(runs["n_train"])
        ok &= n.isna() | (n == rep.n_train)
    reader = runs.get("informativeness")
    if reader is not None and profile.informativeness is not None:
        r = pd.to_numeric(reader)
        ok &= r.isna() | np.isclose(r, profile.informativeness)
    return ok


def borrowed_note(store: ResultsStore, main: ResultsStore, what: str, where: str = "This section") -> str:
    """A sentence for a section that reads another study than the rest of the book (``main``),
    because only that one trained ``what``; "" when it is the same study."""
    if store.path == main.path:
        return ""
    return (f"The study the other pages show (`{main.profile}`) does not train {what} (cut to "
            f"fit its budget). {where} reads the study that does, `{store.profile}` "
            f"(`results/{store.profile}/`).")


def runs_of(store: ResultsStore, dose_points: bool = False) -> pd.DataFrame:
    """``store.runs()`` at the base design point, every run with ``dose_points`` (the
    dose-response section, the study's progress), or an empty table with the same columns
    before the first run. Every per-arm table and figure reads the base point only, so a
    network trained on 200 images never joins its arm's runs at 400."""
    try:
        runs = current_learned_rule(store.runs())
    except FileNotFoundError:
        return pd.DataFrame(columns=RunRecord.columns())
    if dose_points or store.profile not in PROFILES:
        return runs
    return runs[at_base_point(runs, PROFILES[store.profile])]


def current_learned_rule(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs whose record predates the current bar for "learned" (no ``learned_reason``: the
    first study's weaker rule passed a run at AUC 0.547 that named one class 91% of the time)
    judged by the current one, from their stored scores; every page applies one rule."""
    from ggcam.experiment.metrics import learned_reason

    if "learned_reason" not in runs.columns:
        runs = runs.assign(learned_reason=np.nan)
    scores = ["auc_ovo_low", *(f"recall_{k}" for k in CLASS_KEYS)]
    if not set(scores) <= set(runs.columns):
        return runs
    # Re-judged only where the record holds what the rule reads; otherwise as written.
    old = runs["learned_reason"].isna() & runs["status"].eq("ok") & runs[scores].notna().all(axis=1)
    if not old.any():
        return runs
    runs = runs.astype({"learned_reason": object, "learned": object})
    verdicts = [learned_reason({k: (None if pd.isna(v) else v) for k, v in row.items()})
                for _, row in runs[old].iterrows()]
    runs.loc[old, "learned"] = [v.learned for v in verdicts]
    runs.loc[old, "learned_reason"] = [f"{v.reason} (the current rule, applied to an older record)"
                                       for v in verdicts]
    return runs.astype({"learned": bool})


def _tier(profile, spec) -> str:
    if not spec.is_base:
        return "dose"
    if spec.variant in profile.primary:
        return "primary"
    # the oracle is the study's positive control: it trains beside the gaze controls
    return "control" if spec.variant in (*CONTROLS, "ggcam-oracle") else "other"


def point_label(spec) -> str:
    """Where a run sits in the design: "base", or the one factor its dose point changes."""
    if spec.n_train is not None:
        return f"{spec.n_train} training images"
    if spec.informativeness is not None:
        return f"informativeness {spec.informativeness:g}"
    return "base"


def progress_table(store: ResultsStore) -> pd.DataFrame:
    """Per network × arm × design point of the profile: runs planned, done, learned, in sweep
    order (the ``point`` column only where the profile has dose points)."""
    prof = get_profile(store.profile)
    plan = pd.DataFrame([{"tier": _tier(prof, s), "network": s.network, "variant": s.variant,
                          "point": point_label(s), "run_id": s.run_id} for s in run_specs(prof)])
    runs = runs_of(store, dose_points=True)
    done = set(runs["run_id"])
    learned = set(runs.loc[runs["learned"].astype(bool), "run_id"])
    plan["done"] = plan["run_id"].isin(done)
    plan["learned"] = plan["run_id"].isin(learned)
    g = plan.groupby(["tier", "network", "variant", "point"], sort=False)
    table = pd.DataFrame({"planned": g.size(), "done": g["done"].sum(),
                          "learned": g["learned"].sum()}).reset_index()
    order = {"primary": 0, "control": 1, "dose": 2, "other": 3}
    table = table.sort_values(["tier", "network", "variant"], kind="stable",
                              key=lambda c: c.map(order) if c.name == "tier" else
                              c.map(arm_rank) if c.name == "variant" else
                              c.map(network_rank(prof)))
    table = table.assign(network=table["network"].map(network_label),
                         done=[f"{d} of {n}" for d, n in zip(table["done"], table["planned"])])
    if not prof.doses:
        table = table.drop(columns="point")
    return table.drop(columns="planned").reset_index(drop=True)


def network_rank(prof):
    """A sort key: a network's place in ``prof``'s networks (unknown ones last)."""
    return lambda n: prof.networks.index(n) if n in prof.networks else len(prof.networks)


def progress_facts(store: ResultsStore) -> dict:
    """How much of the study is done: counts and one sentence (for ``glue``)."""
    t = progress_table(store)
    counts = t["done"].str.split(" of ", expand=True).astype(int) if len(t) else pd.DataFrame(
        {0: [], 1: []})
    t = t.assign(done=counts[0], planned=counts[1])
    primary, dose = t[t["tier"] == "primary"], t[t["tier"] == "dose"]
    done, planned = int(t["done"].sum()), int(t["planned"].sum())
    p_done, p_planned = int(primary["done"].sum()), int(primary["planned"].sum())
    arms_missing = t.loc[(t["done"] == 0) & (t["tier"] != "dose"), "variant"].drop_duplicates().tolist()
    sentence = (f"{done} of {planned} runs of profile `{store.profile}` are done; "
                f"{p_done} of {p_planned} of the primary comparison")
    sentence += (f", {int(dose['done'].sum())} of {int(dose['planned'].sum())} at the dose–response "
                 "points." if len(dose) else ".")
    if arms_missing:
        sentence += (" No run yet of " + ", ".join(f"`{v}`" for v in arms_missing) + ".")
    elif done == planned:
        sentence += " The sweep is complete."
    runs = runs_of(store, dose_points=True)
    wall = training_seconds(store, runs)
    wall_h = float(wall.sum()) / 3600
    if len(runs):
        threads = sorted(set(runs["threads"].dropna().astype(int)))
        sentence += (f" Training took {wall_h:.1f} h of wall time in all (median "
                     f"{wall.median() / 60:.1f} min per run; "
                     f"{'/'.join(map(str, threads))} thread(s) per run, on "
                     f"{', '.join(sorted(set(runs['device'].dropna())))}).")
    return {"done": done, "planned": planned, "primary_done": p_done, "primary_planned": p_planned,
            "dose_done": int(dose["done"].sum()), "dose_planned": int(dose["planned"].sum()),
            "share": done / planned if planned else 0.0,
            "wall_hours": wall_h, "sentence": sentence}


def training_seconds(store: ResultsStore, runs: pd.DataFrame) -> pd.Series:
    """Each run's training wall time: its record's, or the sum of its epochs' times where
    that is larger (records written before resumed runs counted their earlier epochs)."""
    wall = runs.set_index("run_id")["wall_s"].astype(float)
    try:
        epochs = store.curves().groupby("run_id")["seconds"].sum()
    except (FileNotFoundError, KeyError):
        return wall
    return np.fmax(wall, epochs.reindex(wall.index))


def provenance_markdown(store: ResultsStore) -> str:
    """The provenance line every results page starts with, or what is missing."""
    if len(runs_of(store, dose_points=True)):
        return _provenance_line(store.provenance())
    prof = PROFILES.get(store.profile)
    planned = ("**Real EGD-CXR data is planned for this profile.**" if prof and prof.data == "real"
               else "**Phantom data: these are not the paper's numbers.**")
    return (f"**Provenance.** No finished run in `results/{store.profile}/` yet: run "
            f"`make reproduce PROFILE={store.profile}` (or wait for the sweep), then rebuild. "
            + planned)


def scope_note(store: ResultsStore) -> str:
    """What our numbers are, beside the paper's: data, networks, input size (Markdown)."""
    prof = PROFILES.get(store.profile)
    if prof is None:
        return "These results come from a profile this version of ggcam does not know."
    nets = ", ".join(network_label(n) for n in prof.networks)
    h, w = prof.input_shape
    # Labelled by where the runs' data came from (their records), not by the profile's name:
    # a phantom profile can be pointed at the real release with --data-root.
    runs = runs_of(store)
    origins = set(runs["data_origin"]) if len(runs) else {prof.data}
    data = " and ".join(
        "the phantom (synthetic radiographs, a simulated reader)" if o == "phantom"
        else "the real EGD-CXR + MIMIC-CXR release" for o in sorted(origins))
    return (f"Ours: {nets} at {h}×{w} (Ω {h // STRIDE}×{w // STRIDE}) on {data}, "
            f"{prof.images_phrase}; profile `{prof.name}`. The paper's: ResNet50 and EffNetV2-S "
            "at 1536×1280 (Ω 48×40) on the real EGD-CXR data. The paper's numbers are shown beside ours, "
            "labelled; they are not comparable as numbers, only as a direction.")


def study_networks(store: ResultsStore) -> list[str]:
    """The networks of the store's runs, in the profile's order; before any run, the profile's."""
    prof = PROFILES.get(store.profile)
    planned = list(prof.networks) if prof else []
    present = list(pd.unique(runs_of(store)["network"]))
    if not present:
        return planned
    return [n for n in planned if n in present] + [n for n in present if n not in planned]


def primary_arms(store: ResultsStore) -> tuple[str, str]:
    prof = PROFILES.get(store.profile)
    return prof.primary if prof else ("standard", "ggcam-warm")


def planned_seeds(store: ResultsStore, network: str, a: str, b: str) -> int:
    prof = PROFILES.get(store.profile)
    if prof is None:
        return 0
    seeds = [set(arm.seeds) for arm in prof.arms if arm.variant in (a, b) and network in arm.networks]
    return len(seeds[0] & seeds[1]) if len(seeds) == 2 else 0


def curves_of(store: ResultsStore, dose_points: bool = False) -> pd.DataFrame:
    """``store.curves()`` of the runs ``runs_of`` returns, or an empty table before the
    first run."""
    try:
        curves = store.curves()
    except FileNotFoundError:
        return pd.DataFrame(columns=["run_id", "network", "variant", "seed", "epoch"])
    return curves[curves["run_id"].isin(runs_of(store, dose_points)["run_id"])]


def omega_histograms(store: ResultsStore, edges: np.ndarray) -> pd.DataFrame:
    """Counts of every run's test-set Ω values on ``edges`` (Figure 2), from its stored maps;
    an empty table before the first run."""
    columns = ["run_id", "network", "variant", "seed", "bin_left", "bin_right", "count"]
    runs = runs_of(store)
    if runs.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for r in runs.itertuples():
        cams = store.maps(r.run_id)["cams"]
        counts = np.histogram(np.clip(cams.ravel(), edges[0], edges[-1]), bins=edges)[0]
        rows.append(pd.DataFrame({"run_id": r.run_id, "network": r.network, "variant": r.variant,
                                  "seed": r.seed, "bin_left": edges[:-1], "bin_right": edges[1:],
                                  "count": counts}))
    return pd.concat(rows, ignore_index=True)[columns]


def _provenance_line(info: dict) -> str:
    """Profile, runs, commits, device, date and the phantom warning, in one Markdown line."""
    commits = info["commit"].split(", ")
    commit = f"commit {info['commit']}"
    if len(commits) > 3:  # a sweep that ran across many commits: say so briefly
        commit = (f"made at {len(commits)} commits (`ggcam rerun RUN_ID` retrains any run at the "
                  "current commit and compares its test logits bit for bit)")
    origin = info["origin"]
    warning = ("**Phantom data: these are not the paper's numbers.**" if origin == "phantom"
               else f"Data: {origin}.")
    return (f"**Provenance.** Profile `{info['profile']}`, {info['runs']} runs, {commit}, device "
            f"{info['device']} ({info['threads']} threads), date {info['date']}. {warning}")
