"""The answer in words and in one table per network (``ggcam.analysis.summary``).

``answer`` / ``answer_sentence``: one row and one sentence per network — the paper's medians
beside ours, the paired ΔAUC with its 95% interval, whether gaze beats the two controls;
``localisation_sentence``: the same for where Ω^Y peaks. A difference is called only when its
interval excludes 0 and p < ``ALPHA``; a sentence says when its seeds are not all in yet.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ggcam.analysis.paired_families import EXPLORATORY
from ggcam.analysis.paper_values import PAPER_MEDIAN_AUC
from ggcam.analysis.summary_paired import TARGET_AUC, fmt_ci, learning_targets, paired_table
from ggcam.analysis.summary_store import network_label, planned_seeds, primary_arms, runs_of, study_networks
from ggcam.experiment.profiles import CONTROLS
from ggcam.experiment.store import ResultsStore
from ggcam.study import FAMILY_OF

ALPHA = 0.05  # a difference is called higher or lower when its interval excludes 0 and p < ALPHA


def _verdict(row, p_col: str, neither: str) -> str:
    """"higher"/"lower" when the 95% interval excludes 0 *and* the (adjusted) p is below
    ``ALPHA``; with few seeds a bootstrap interval can exclude 0 while the exact p cannot be
    small, and then it is not called (see ``_limit``)."""
    if row[p_col] < ALPHA and row["low"] > 0:
        return "higher"
    if row[p_col] < ALPHA and row["high"] < 0:
        return "lower"
    return neither


def _limit(row, p_col: str) -> tuple[str, str]:
    """An interval that excludes 0 with a p that does not: ("higher/lower by its interval,
    not by its test", "; the smallest p ... is ..."); ("", "") otherwise."""
    excludes = row["low"] > 0 or row["high"] < 0
    if not excludes or row[p_col] < ALPHA:
        return "", ""
    floor = row.get("p_floor", np.nan)
    reach = (f"; with {int(row['n_seeds'])} seeds the smallest p this family's test can give "
             f"is {floor:.3g}") if np.isfinite(floor) else ""
    return f"{'higher' if row['low'] > 0 else 'lower'} by its interval, not by its test", reach


def _f3(x) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:.3f}"


def _row(paired: pd.DataFrame, network: str, a: str, b: str, metric: str):
    r = paired[(paired["network"] == network) & (paired["a"] == a) & (paired["b"] == b)
               & (paired["metric"] == metric)]
    return r.iloc[0] if len(r) else None


def _target_row(store: ResultsStore, network: str):
    t = learning_targets(runs_of(store), primary_arms(store))
    t = t[t["network"] == network]
    return t.iloc[0] if len(t) else None


def _target_note(store: ResultsStore, network: str) -> str:
    """A sentence when the network misses the study's learning target; "" when it meets it."""
    t = _target_row(store, network)
    if t is None or t["target met"]:
        return ""
    ref, arm = primary_arms(store)
    return (f" The study's learning target is not met on this network (median AUC of `{ref}` "
            f"{_f3(t[f'median AUC, {ref}'])} against {TARGET_AUC}; single-class runs: "
            f"{t[f'single-class, {ref}']} of `{ref}`, {t[f'single-class, {arm}']} of `{arm}`): "
            "its comparison is between undertrained models and is exploratory.")


def answer(store: ResultsStore, paired: pd.DataFrame | None = None, n_boot: int = 2000) -> pd.DataFrame:
    """The front page's table: per network, the paper beside ours and the paired answer."""
    paired = paired if paired is not None else paired_table(store, n_boot=n_boot)
    runs = runs_of(store)
    ref, arm = primary_arms(store)
    networks = study_networks(store)

    def cell(network, a, b, metric):
        r = _row(paired, network, a, b, metric)
        if r is None:
            return "not run yet"
        return fmt_ci(r) + ("" if r["usable"] else " (an arm did not learn)")

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
            "learning target met": _target_yes_no(store, network),
        })
    return pd.DataFrame(rows)


def _target_yes_no(store: ResultsStore, network: str) -> str:
    t = _target_row(store, network)
    if t is None:
        return "–"
    ref = primary_arms(store)[0]
    return "yes" if t["target met"] else f"NO (median AUC {_f3(t[f'median AUC, {ref}'])} < {TARGET_AUC})"


def answer_sentence(store: ResultsStore, paired: pd.DataFrame, network: str) -> str:
    """One sentence per network: the paired ΔAUC, the controls, the pointing-game change."""
    ref, arm = primary_arms(store)
    main = _row(paired, network, ref, arm, "auc_ovo")
    if main is None:
        return f"{network_label(network)}: no paired seeds of `{ref}` and `{arm}` yet."
    verdict = _verdict(main, "p", "not distinguishable from")
    text = (f"On {network_label(network)}, `{arm}` gives a test AUC "
            f"{verdict}{' than' if verdict != 'not distinguishable from' else ''} "
            f"`{ref}`: paired ΔAUC {fmt_ci(main)} over {int(main['n_seeds'])} seeds "
            f"(sign-flip p = {main['p']:.3g}).")
    if not main["usable"]:
        text += " One of the two arms did not learn, so this is not a conclusion."
    text += _target_note(store, network)
    planned = planned_seeds(store, network, ref, arm)
    if planned and main["n_seeds"] < planned:
        text += (f" Provisional: {int(main['n_seeds'])} of the {planned} planned paired seeds "
                 "are in.")
    for control in CONTROLS:
        c = _row(paired, network, control, arm, "auc_ovo")
        if c is not None:
            text += (f" Against `{control}`: ΔAUC {fmt_ci(c)} (Holm p = {c['p_holm']:.3g})"
                     + ("." if c["usable"] else ", an arm did not learn."))
    pt = _row(paired, network, ref, arm, "pointing")
    if pt is not None:
        text += f" Pointing game against the true findings: Δ {fmt_ci(pt)}."
    return text


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


LOCALISATION_METRICS = (("pointing", "grid pointing game against the true findings"),
                        ("cc", "CC between $\\Omega^Y$ and Ψ"),
                        ("interp_chf", "eq. 12 for CHF (peak inside the CHF region)"),
                        ("interp_pneumonia", "eq. 12 for pneumonia"))


def localisation_sentence(store: ResultsStore, paired: pd.DataFrame, network: str,
                          prior: pd.DataFrame | None = None) -> str:
    """Where Ω^Y peaks, primary arm against its reference: pointing game, CC(Ω^Y, Ψ) beside
    the mean-gaze map's, and eq. 12 for CHF and pneumonia, each with the arms' medians beside
    a map that knows nothing of the image (a random peak; the mean-gaze map, ``prior``:
    ``constant_maps.prior_eq12``). A score outside the families fixed before the sweep says
    its Holm p is exploratory."""
    ref, arm = primary_arms(store)
    runs = runs_of(store)  # read once: every metric's medians come from it
    runs = runs[runs["network"] == network]
    if prior is not None and len(prior):
        runs = runs.merge(prior, on="run_id", how="left")
    parts, rows = [], []
    for metric, what in LOCALISATION_METRICS:
        r = _row(paired, network, ref, arm, metric)
        if r is not None:
            rows.append(r)
            limited, reach = _limit(r, "p_holm")
            verdict = limited or _verdict(r, "p_holm", "not distinguishable")
            label = "exploratory Holm p" if str(r["family"]).endswith(EXPLORATORY) else "Holm p"
            parts.append(f"{what} {verdict} (Δ {fmt_ci(r)}, {int(r['n_seeds'])} seeds, "
                         f"{label} = {r['p_holm']:.3g}{reach}"
                         f"{_beside_constant(runs, ref, arm, metric)})")
    if not parts:
        return f"{network_label(network)}: no paired seeds of `{ref}` and `{arm}` yet."
    usable = all(r["usable"] for r in rows)
    planned = planned_seeds(store, network, ref, arm)
    seeds = min(int(r["n_seeds"]) for r in rows)
    return (f"On {network_label(network)}, `{arm}` against `{ref}`: " + "; ".join(parts) + "."
            + _below_cell(runs, arm) + _centre_note(store, network, arm)
            + ("" if usable else " An arm did not learn, so this is not a conclusion.")
            + (f" Provisional: {seeds} of the {planned} planned paired seeds are in."
               if planned and seeds < planned else ""))


def _below_cell(runs: pd.DataFrame, arm: str) -> str:
    """A sentence where ``arm``'s median stays below the best single cell on every grid score
    that has one (one network's ``runs`` with ``constant_maps.prior_eq12`` merged in)."""
    scored = [m for m in ("pointing", "interp_chf", "interp_pneumonia")
              if f"cell_{m}" in runs.columns and runs[f"cell_{m}"].notna().any() and m in runs.columns]
    own = runs[runs["variant"] == arm]
    if not scored or not all(own[m].median() < runs[f"cell_{m}"].median() for m in scored):
        return ""
    names = {"pointing": "the grid pointing game", "interp_chf": "eq. 12 for CHF",
             "interp_pneumonia": "eq. 12 for pneumonia"}
    listed = [names[m] for m in scored]
    listed = ", ".join(listed[:-1]) + " and " + listed[-1] if len(listed) > 1 else listed[0]
    return (f" On {listed} `{arm}`'s median stays below the best single cell, a map that "
            "ignores the image: on this grid these scores do not show that its maps localise "
            "(the image-space scores above can).")


def _beside_constant(runs: pd.DataFrame, ref: str, arm: str, metric: str) -> str:
    """"; medians: <arm> a, <ref> b, <a constant map> c" for the grid pointing game (a random
    peak, the mean-gaze map, the best single cell) and eq. 12 (the mean-gaze map, the best
    single cell), from one network's ``runs`` with ``constant_maps.prior_eq12``'s columns
    merged in where given; "" otherwise."""
    cell = "the best single cell"
    constants = {"pointing": (("pointing_chance", "a random peak"),
                              ("prior_pointing", "the mean-gaze map"), ("cell_pointing", cell)),
                 "interp_chf": (("prior_interp_chf", "the mean-gaze map"), ("cell_interp_chf", cell)),
                 "interp_pneumonia": (("prior_interp_pneumonia", "the mean-gaze map"),
                                      ("cell_interp_pneumonia", cell))}.get(metric, ())
    pair = runs[runs["variant"].isin([ref, arm])]
    shown = [f"{label} {float(pair[col].median()):.2f}" for col, label in constants
             if col in pair.columns and pair[col].notna().any()]
    if not shown:
        return ""
    med = lambda v: float(runs.loc[runs["variant"] == v, metric].median())
    return f"; medians: `{arm}` {med(arm):.2f}, `{ref}` {med(ref):.2f}, " + ", ".join(shown)


def _centre_note(store: ResultsStore, network: str, arm: str) -> str:
    """Whether the arm's maps follow Ψ more closely than the mean-gaze map (the centre prior)
    does."""
    runs = runs_of(store)
    part = runs[(runs["network"] == network) & (runs["variant"] == arm)]
    if part.empty or part["cc"].isna().all() or part["cc_centre"].isna().all():
        return ""
    cc, centre = part["cc"].median(), part["cc_centre"].median()
    side = "above" if cc > centre else "below"
    text = (f" Its median CC with Ψ, {cc:.3f}, is {side} that of the mean-gaze map, the same "
            f"map for every image ({centre:.3f}): "
            + ("the maps follow this image's gaze more than where gaze usually falls."
               if side == "above" else
               "as a whole the maps match this image's gaze less closely than the average gaze "
               "map does."))
    partial = part["cc_partial"].median() if "cc_partial" in part.columns else np.nan
    if np.isfinite(partial):  # the second study: what the maps add beyond that average map
        text += (f" What they follow of this image's gaze beyond the average map is the partial "
                 f"CC, median {partial:+.3f} (below).")
    return text


def localisation_markdown(store: ResultsStore, paired: pd.DataFrame,
                          prior: pd.DataFrame | None = None) -> str:
    networks = study_networks(store)
    return "\n\n".join(localisation_sentence(store, paired, n, prior) for n in networks)


def probes_sentence(runs: pd.DataFrame) -> str:
    """Where the probes of EfficientNet-B0's missed learning target are, for a study that
    trained it (the first); "" otherwise."""
    if "efficientnet_b0" not in set(runs["network"]):
        return ""
    return ("Probes of why EfficientNet-B0 misses it in the first study (head initialisation, "
            "regularisation, learning rate, longer training, a 1,200-image phantom) are in "
            "`results/cpu-probes/README.md`: more training images help most, but even a phantom "
            "of 1,200 images (720 for training instead of 400) leaves the median below the "
            "target, and more would not fit the study's budget.")
