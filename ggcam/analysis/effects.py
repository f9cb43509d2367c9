"""The study's answer: paired effects of each arm against ``standard`` over independent
replicates, equivalence, and the sentences a results page opens with (the dose-response:
``ggcam.analysis.dose``).

* ``base_runs``: at the base point every arm pairs with the replicate's ``standard`` run (the
  dose points pair in ``ggcam.analysis.dose``).
* ``arm_effects``: per arm and metric, the mean paired Δ over replicates with its 95%
  t-interval (valid: replicates are independent, ``ggcam.stats.equivalence``), the exact
  sign-flip p, Holm within the profile's families, and for AUC the TOST against the profile's
  margin and whether the paper's gain is excluded.
* ``verdicts``: one plain sentence per question.

A profile that re-splits one pool per seed (``replicates`` None: the first study, ``cpu-v1``)
does not have independent replicates: its seeds share training and test images, so the
plain t interval is too narrow. There the interval and p use Nadeau & Bengio's corrected
resampled t (variance (1/J + n_test/n_train)·s² instead of s²/J; Machine Learning 52, 2003),
and the ``interval`` column says so.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats as sps

from ggcam.analysis.paper_values import PAPER_MEDIAN_AUC
from ggcam.analysis.summary_store import at_base_point
from ggcam.experiment.profiles import Profile
from ggcam.stats.equivalence import exclusion_sentence, tost
from ggcam.stats.paired import holm, sign_flip_test

EFFECT_COLUMNS = ["family", "reference", "arm", "metric", "n", "estimate", "low", "high", "p",
                  "p_holm", "tost_p", "equivalent", "excludes_paper", "interval"]
REFERENCE = "standard"


def paper_gain(network: str = "resnet50") -> float:
    """The paper's median-AUC gain from GG-CAM (Table 2): +0.055 for ResNet50."""
    return round(PAPER_MEDIAN_AUC[network, "ggcam"] - PAPER_MEDIAN_AUC[network, "standard"], 3)


def resplit_ratio(profile: Profile) -> float | None:
    """n_test / n_train of a profile that re-splits one pool per seed (Nadeau & Bengio's
    correction); None for independent replicates, which need none."""
    if profile.replicates is not None or not profile.split_fractions:
        return None
    train, val = profile.split_fractions
    return (1 - train - val) / train


def base_runs(runs: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """The runs of the base design point (the profile's training-set size and reader)."""
    return runs[at_base_point(runs, profile)]


def _se(d: np.ndarray, ratio: float | None) -> float:
    """Standard error of mean(Δ): s/√J, or Nadeau & Bengio's corrected √((1/J + ratio)·s²)."""
    factor = 1 / len(d) + (ratio or 0.0)
    return float(np.sqrt(factor) * d.std(ddof=1))


def t_interval(d: np.ndarray, level: float = 0.95, ratio: float | None = None) -> tuple[float, float]:
    """The t interval of mean(Δ) over replicates (corrected by ``ratio`` for a re-split pool)."""
    if len(d) < 2:
        return (np.nan, np.nan)
    half = sps.t.ppf((1 + level) / 2, len(d) - 1) * _se(d, ratio)
    return float(d.mean() - half), float(d.mean() + half)


def _p(d: np.ndarray, ratio: float | None) -> float:
    """Exact sign-flip p for independent replicates; the corrected t's two-sided p otherwise."""
    if len(d) < 2:
        return np.nan
    if ratio is None:
        return sign_flip_test(d)
    se = _se(d, ratio)
    return 1.0 if se == 0 else float(2 * sps.t.sf(abs(d.mean()) / se, len(d) - 1))


def paired_by_seed(ref: pd.DataFrame, arm: pd.DataFrame, metric: str) -> pd.Series:
    """Δ = arm − reference per replicate, indexed by seed: seeds with both runs and finite values."""
    both = ref.set_index("seed")[metric].astype(float).to_frame("a").join(
        arm.set_index("seed")[metric].astype(float).to_frame("b"), how="inner").dropna()
    return both["b"] - both["a"]


def _pairs(ref: pd.DataFrame, arm: pd.DataFrame, metric: str) -> np.ndarray:
    return paired_by_seed(ref, arm, metric).to_numpy()


def _row(family, arm, metric, d, margin, gain, ratio=None) -> dict:
    low, high = t_interval(d, ratio=ratio)
    row = {"family": family, "reference": REFERENCE, "arm": arm, "metric": metric, "n": len(d),
           "estimate": float(d.mean()) if len(d) else np.nan, "low": low, "high": high,
           "p": _p(d, ratio), "tost_p": np.nan, "equivalent": None, "excludes_paper": None,
           "interval": "t" if ratio is None else "corrected t (re-split pool)"}
    if metric == "auc_ovo" and len(d) >= 2 and d.std() > 0:
        if ratio is None:
            eq = tost(d, margin)
            row.update(tost_p=eq.p, equivalent=eq.equivalent)
        else:  # interval-inclusion TOST on the corrected 90% interval
            lo90, hi90 = t_interval(d, 0.90, ratio)
            row.update(equivalent=bool(-margin < lo90 and hi90 < margin))
        row["excludes_paper"] = bool(high < gain)
    return row


def arm_effects(runs: pd.DataFrame, profile: Profile, gain: float | None = None,
                network: str | None = None, families=None) -> pd.DataFrame:
    """Every comparison of the profile's Holm families at the base point (``EFFECT_COLUMNS``).

    Δ is (second arm − first arm) of each family comparison, per replicate; ``p_holm`` adjusts
    within each family. Comparisons with fewer than 2 paired replicates keep NaN statistics.
    ``network``: the one network compared (default: the profile's first); ``families``: the
    Holm families (default: the profile's; a profile without any gets the study's).
    """
    from ggcam.experiment.design import STUDY_FAMILIES

    gain = paper_gain() if gain is None else gain
    network = network or profile.networks[0]
    runs = runs[runs["network"] == network] if "network" in runs.columns else runs
    base = base_runs(runs, profile)
    ratio = resplit_ratio(profile)
    rows = []
    for fam in families or profile.families or STUDY_FAMILIES:
        for a, b in fam.comparisons:
            if not {a, b} <= set(profile.variants):
                continue  # an arm this study never planned (the first study had no oracle)
            for metric in fam.metrics:
                if metric not in base.columns:
                    continue
                d = _pairs(base[base["variant"] == a], base[base["variant"] == b], metric)
                rows.append({**_row(fam.name, b, metric, d, profile.equivalence_margin, gain, ratio),
                             "reference": a})
    table = pd.DataFrame(rows, columns=EFFECT_COLUMNS)
    table["p_holm"] = np.nan
    for _, idx in table.groupby("family").groups.items():
        ok = table.loc[idx, "p"].notna()
        if ok.any():
            table.loc[idx[ok.to_numpy()], "p_holm"] = holm(table.loc[idx, "p"][ok].to_numpy())
    return table


def effect_row(effects: pd.DataFrame, arm: str, metric: str, reference: str = REFERENCE) -> pd.Series | None:
    """The row of ``arm`` against ``reference`` for ``metric``, or None below 2 replicates."""
    rows = effects[(effects["arm"] == arm) & (effects["metric"] == metric)
                   & (effects["reference"] == reference)]
    return None if rows.empty or rows.iloc[0]["n"] < 2 else rows.iloc[0]


def _measured(effects: pd.DataFrame, arm: str, metric: str) -> bool:
    """False when the study has replicates of ``arm`` but no value of ``metric`` (a metric the
    study did not record), True otherwise (then "not yet" is the right word)."""
    auc = effect_row(effects, arm, "auc_ovo")
    rows = effects[(effects["arm"] == arm) & (effects["metric"] == metric)]
    return auc is None or (not rows.empty and rows["n"].max() > 0)


_QUESTIONS = {  # key: (metric, arm, the question, the sentence, (word if Δ > 0, word otherwise))
    "localisation": ("pointing_pneumonia", None, "whether gaze supervision moves the maps onto the findings",
                     "Gaze supervision {} more of the pneumonia maps' peaks onto the true findings (pointing game",
                     ("moved", "did not clearly move")),
    "gaze": ("cc_partial", None, "whether the maps follow the reader's gaze beyond where readers look on average",
             "Beyond the mean-gaze map, its maps {} more of this reader's gaze than the standard network's (partial CC",
             ("follow", "do not clearly follow")),
}


def _auc_sentence(row: pd.Series, subject: str, network_label: str, margin: float, gain: float) -> str:
    change = "did not change" if row["low"] <= 0 <= row["high"] else (
        "raised" if row["low"] > 0 else "lowered")
    tost_p = row.get("tost_p", np.nan)
    equiv = (f"; it is equivalent to no change within ±{margin:g}" + (
        f" (two one-sided tests, unadjusted p = {tost_p:.2g})" if np.isfinite(tost_p) else "")
        if row["equivalent"] else "")
    unit = ("independent replicates" if row.get("interval", "t") == "t"
            else "seeds of one re-split pool, corrected for their overlap")
    return (f"{subject} {change} {network_label}'s test AUC (Δ {row['estimate']:+.3f}, 95% interval "
            f"{row['low']:+.3f} to {row['high']:+.3f}, {int(row['n'])} {unit}){equiv}")


def _against_paper(row: pd.Series, gain: float) -> str:
    """The interval against the paper's gain, in words: excluded, inside, or exceeded."""
    if row["low"] > gain:
        return (f"its interval lies above +{gain:g}, the gain the paper reports for ResNet50 on real "
                "data (another network, data and grid: the two agree in direction; their sizes "
                "are not comparable)")
    if row["low"] > 0:
        return f"a gain as large as the paper's (+{gain:g}) is inside the interval"
    return exclusion_sentence(row["low"], row["high"], gain)


def verdicts(effects: pd.DataFrame, primary: str = "ggcam-warm", gain: float | None = None,
             margin: float = 0.03, network_label: str = "ResNet18",
             levels: dict[str, str] | None = None) -> dict[str, str]:
    """One plain sentence per question, from ``arm_effects``: classification, localisation
    toward the findings, attention toward this reader's gaze, and the wrong-gaze control;
    "not yet" while replicates are missing; no sentence for a metric the study lacks."""
    gain = paper_gain() if gain is None else gain
    out = {}
    auc = effect_row(effects, primary, "auc_ovo")
    if auc is None:
        out["classification"] = "Not enough paired replicates yet to say whether gaze supervision changes the test AUC."
    else:
        out["classification"] = (_auc_sentence(auc, "Gaze supervision", network_label, margin, gain)
                                 + f": {_against_paper(auc, gain)}.")
    for key, (metric, arm, question, template, words) in _QUESTIONS.items():
        row = effect_row(effects, arm or primary, metric)
        if row is None:
            if _measured(effects, arm or primary, metric):  # else: the study lacks the metric
                out[key] = f"Not enough paired replicates yet to say {question}."
            continue
        level = f"; {levels[key]}" if levels and key in levels else ""
        out[key] = (template.format(words[0] if row["low"] > 0 else words[1])
                    + f" Δ {row['estimate']:+.2f}, 95% interval {row['low']:+.2f} to "
                    f"{row['high']:+.2f}{level}).")
    if (effects["arm"] == "ggcam-oracle").any():  # a study without the oracle gets no line
        oracle = effect_row(effects, "ggcam-oracle", "auc_ovo")
        out["oracle"] = ("Not enough paired replicates yet to say what supervising with the true "
                         "findings does." if oracle is None else _auc_sentence(
                             oracle, "Supervising the maps with the true findings instead",
                             network_label, margin, gain) + ".")
    shuffled = effect_row(effects, "ggcam-shuffled", "auc_ovo")
    out["controls"] = ("Not enough paired replicates yet to say what another image's gaze does."
                       if shuffled is None else
                       _auc_sentence(shuffled, "Training on another image's gaze (same class)",
                                     network_label, margin, gain) + _prior_clause(effects) + ".")
    return out


def _prior_clause(effects: pd.DataFrame) -> str:
    """The mean-gaze prior's ΔAUC against the standard network, as a clause (or nothing)."""
    row = effect_row(effects, "ggcam-centre", "auc_ovo")
    if row is None:
        return ""
    return (f"; the mean-gaze prior for every image: Δ {row['estimate']:+.3f} "
            f"({row['low']:+.3f} to {row['high']:+.3f}"
            + ("" if row["equivalent"] is None else ", equivalent to no change" if row["equivalent"]
               else ", not shown equivalent to no change") + ")")


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


VERDICT_HEADS = {"classification": "Classification.", "localisation": "Where the maps peak.",
                 "gaze": "Following the reader.", "oracle": "The oracle (the true findings as Ψ).",
                 "controls": "Wrong gaze."}


def verdict_markdown(sentences: dict[str, str]) -> str:
    """``verdicts`` as a Markdown list, one question per line, for a page's first screen."""
    return "\n".join(f"- **{VERDICT_HEADS.get(k, k)}** {v}" for k, v in sentences.items())
