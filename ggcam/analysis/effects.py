"""The study's answer: paired effects of each arm against ``standard`` over independent
replicates, equivalence, the dose-response, and the sentences a results page opens with.

* ``base_runs`` / ``dose_pairs``: which runs pair. At the base point every arm pairs with the
  replicate's ``standard`` run; at a training-set size, with the ``standard`` run of the same
  size; at another reader informativeness, with the base ``standard`` run (the images do not
  change with the reader, only the gaze: one ``standard`` run pairs with every level).
* ``arm_effects``: per arm and metric, the mean paired Δ over replicates with its 95%
  t-interval (valid: replicates are independent, ``ggcam.stats.equivalence``), the exact
  sign-flip p, Holm within the profile's families, and for AUC the TOST against the profile's
  margin and whether the paper's gain is excluded.
* ``dose_response``: the same Δ at every dose point.
* ``verdicts``: one plain sentence per question.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats as sps

from ggcam.analysis.paper_values import PAPER_MEDIAN_AUC
from ggcam.experiment.profiles import Profile
from ggcam.stats.equivalence import exclusion_sentence, tost
from ggcam.stats.paired import holm, sign_flip_test

EFFECT_COLUMNS = ["family", "reference", "arm", "metric", "n", "estimate", "low", "high", "p",
                  "p_holm", "tost_p", "equivalent", "excludes_paper"]
DOSE_COLUMNS = ["factor", "value", "arm", "metric", "n", "estimate", "low", "high"]
REFERENCE = "standard"


def paper_gain(network: str = "resnet50") -> float:
    """The paper's median-AUC gain from GG-CAM (Table 2): +0.055 for ResNet50."""
    return round(PAPER_MEDIAN_AUC[network, "ggcam"] - PAPER_MEDIAN_AUC[network, "standard"], 3)


def _at_base(runs: pd.DataFrame, profile: Profile) -> pd.Series:
    rep = profile.replicates
    n_ok = runs["n_train"] == rep.n_train if rep else True
    reader = runs.get("informativeness")
    r_ok = True if reader is None or profile.informativeness is None else np.isclose(
        reader.astype(float), profile.informativeness)
    return n_ok & r_ok


def base_runs(runs: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """The runs of the base design point (the profile's training-set size and reader)."""
    return runs[_at_base(runs, profile)]


def _interval(d: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    if len(d) < 2:
        return (np.nan, np.nan)
    half = sps.t.ppf((1 + level) / 2, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return float(d.mean() - half), float(d.mean() + half)


def _pairs(ref: pd.DataFrame, arm: pd.DataFrame, metric: str) -> np.ndarray:
    """Δ = arm − reference per replicate (seed), seeds with both runs and finite values."""
    both = ref.set_index("seed")[metric].astype(float).to_frame("a").join(
        arm.set_index("seed")[metric].astype(float).to_frame("b"), how="inner").dropna()
    return (both["b"] - both["a"]).to_numpy()


def _row(family, arm, metric, d, margin, gain) -> dict:
    low, high = _interval(d)
    row = {"family": family, "reference": REFERENCE, "arm": arm, "metric": metric, "n": len(d),
           "estimate": float(d.mean()) if len(d) else np.nan, "low": low, "high": high,
           "p": sign_flip_test(d) if len(d) >= 2 else np.nan, "tost_p": np.nan,
           "equivalent": None, "excludes_paper": None}
    if metric == "auc_ovo" and len(d) >= 2 and d.std() > 0:
        eq = tost(d, margin)
        row.update(tost_p=eq.p, equivalent=eq.equivalent, excludes_paper=bool(high < gain))
    return row


def arm_effects(runs: pd.DataFrame, profile: Profile, gain: float | None = None) -> pd.DataFrame:
    """Every comparison of the profile's Holm families at the base point (``EFFECT_COLUMNS``).

    Δ is (second arm − first arm) of each family comparison, per replicate; ``p_holm`` adjusts
    within each family. Comparisons with fewer than 2 paired replicates keep NaN statistics.
    """
    gain = paper_gain() if gain is None else gain
    base = base_runs(runs, profile)
    rows = []
    for fam in profile.families:
        for a, b in fam.comparisons:
            for metric in fam.metrics:
                if metric not in base.columns:
                    continue
                d = _pairs(base[base["variant"] == a], base[base["variant"] == b], metric)
                rows.append({**_row(fam.name, b, metric, d, profile.equivalence_margin, gain),
                             "reference": a})
    table = pd.DataFrame(rows, columns=EFFECT_COLUMNS)
    table["p_holm"] = np.nan
    for _, idx in table.groupby("family").groups.items():
        ok = table.loc[idx, "p"].notna()
        if ok.any():
            table.loc[idx[ok.to_numpy()], "p_holm"] = holm(table.loc[idx, "p"][ok].to_numpy())
    return table


def dose_pairs(runs: pd.DataFrame, profile: Profile, factor: str, value: float, arm: str) -> np.ndarray:
    """Per-replicate rows of ``arm`` at one dose point with their ``standard`` partners."""
    base = base_runs(runs, profile)
    if factor == "n_train":
        here = runs[(runs["n_train"] == int(value)) & np.isclose(
            runs["informativeness"].astype(float), profile.informativeness)]
        return here[here["variant"] == REFERENCE], here[here["variant"] == arm]
    here = runs[np.isclose(runs["informativeness"].astype(float), float(value))
                & (runs["n_train"] == profile.replicates.n_train)]
    return base[base["variant"] == REFERENCE], here[here["variant"] == arm]


def dose_response(runs: pd.DataFrame, profile: Profile, metrics=("auc_ovo", "pointing_pneumonia")) -> pd.DataFrame:
    """Δ (arm − standard) with a 95% t-interval at every dose point and the base (``DOSE_COLUMNS``)."""
    rows = []
    rep = profile.replicates
    points = {("n_train", rep.n_train), ("informativeness", profile.informativeness)}
    points |= {(d.factor, d.value) for d in profile.doses}
    arms = {(d.factor, v) for d in profile.doses for v in d.variants if v != REFERENCE}
    for factor, value in sorted(points):
        for f, arm in sorted(arms):
            if f != factor:
                continue
            ref, other = dose_pairs(runs, profile, factor, value, arm)
            for metric in metrics:
                d = _pairs(ref, other, metric)
                low, high = _interval(d)
                rows.append({"factor": factor, "value": value, "arm": arm, "metric": metric,
                             "n": len(d), "estimate": float(d.mean()) if len(d) else np.nan,
                             "low": low, "high": high})
    return pd.DataFrame(rows, columns=DOSE_COLUMNS)


def _get(effects: pd.DataFrame, arm: str, metric: str) -> pd.Series | None:
    rows = effects[(effects["arm"] == arm) & (effects["metric"] == metric)
                   & (effects["reference"] == REFERENCE)]
    return None if rows.empty or rows.iloc[0]["n"] < 2 else rows.iloc[0]


def verdicts(effects: pd.DataFrame, primary: str = "ggcam-warm", gain: float | None = None,
             margin: float = 0.03) -> dict[str, str]:
    """One plain sentence per question (classification; localisation toward the findings;
    attention toward gaze), from ``arm_effects``; "not yet" sentences while runs are missing."""
    gain = paper_gain() if gain is None else gain
    out = {}
    auc = _get(effects, primary, "auc_ovo")
    if auc is None:
        out["classification"] = "Not enough paired replicates yet to say whether gaze supervision changes the test AUC."
    else:
        change = "did not change" if auc["low"] <= 0 <= auc["high"] else (
            "raised" if auc["low"] > 0 else "lowered")
        equiv = (f"; it is equivalent to no change within ±{margin:g}" if auc["equivalent"] else "")
        out["classification"] = (
            f"Gaze supervision {change} ResNet18's test AUC (Δ {auc['estimate']:+.3f}, 95% interval "
            f"{auc['low']:+.3f} to {auc['high']:+.3f}, {int(auc['n'])} replicates){equiv}: "
            f"{exclusion_sentence(auc['low'], auc['high'], gain)}.")
    sentences = {
        "localisation": ("pointing_pneumonia", "whether gaze supervision moves the maps onto the findings",
                         "Gaze supervision {} the pneumonia maps' peaks onto the true findings "
                         "(pointing game", ("moved", "did not clearly move")),
        "gaze": ("cc_partial", "whether the maps follow the reader's gaze beyond where readers look on average",
                 "Its maps {} this reader's gaze beyond the mean-gaze prior (partial CC",
                 ("follow", "do not clearly follow")),
    }
    for key, (metric, question, template, words) in sentences.items():
        row = _get(effects, primary, metric)
        if row is None:
            out[key] = f"Not enough paired replicates yet to say {question}."
            continue
        out[key] = (template.format(words[0] if row["low"] > 0 else words[1])
                    + f" Δ {row['estimate']:+.2f}, 95% interval {row['low']:+.2f} to {row['high']:+.2f}).")
    return out


def best_epoch_share(runs: pd.DataFrame, profile: Profile) -> float:
    """Share of runs whose checkpoint is before the last fifth of the epoch budget, or that
    stopped early (the study's convergence bar: ≥ 80%)."""
    ok = runs["best_epoch"].notna()
    if not ok.any():
        return np.nan
    r = runs[ok]
    early = (r["best_epoch"] <= 0.8 * profile.max_epochs) | (r["stop_reason"] == "early_stop")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(early.mean())
