"""The front page's dose-response section in words: which points the study plans, how many
of their runs are in, and the figure's caption once a point off the base has two paired
replicates (``dose_markdown``, also ``headline.dose_markdown``); then what the points say, one
sentence per factor (``dose_findings``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ggcam.analysis.design_text import FACTOR_WORDS
from ggcam.analysis.dose import WRONG_GAZE, dose_trend
from ggcam.analysis.summary_paired import fmt_ci
from ggcam.experiment.profiles import Profile, run_specs

DOSE_FIGURE = """```{{glue:figure}} fig_dose
:name: fig-dose
:alt: Line plots of the paired difference in test AUC and in the pneumonia pointing game against training-set size and against the reader's informativeness, with 95% intervals, the equivalence margin and the paper's gain.

**Where gaze starts to help.** Paired Δ against the standard network at each point, mean over
replicates with its 95% t interval ({counts}; under each tick its paired replicates, "–"
where fewer than two are in{arrows}); one factor changes at a time around the base point ({base}).
A replicate's images do not change with the reader, so its one standard run pairs with every
informativeness level.{anchor}
```"""
WRONG_GAZE_NOTE = (" The open marker at informativeness 0 is the wrong-gaze control at the "
                   "base point: another image's gaze, which says nothing of this image's "
                   "findings (a stand-in: the simulated reader at 0 would look at the anatomy "
                   "only).")


def dose_markdown(profile: Profile, dose: pd.DataFrame | None, runs: pd.DataFrame) -> str:
    """The front page's dose-response section: the figure (glued as ``fig_dose``) once a dose
    point has ≥ 2 paired replicates, else what is missing. ``dose``: ``dose.dose_response``
    (None for a study without dose points)."""
    if not profile.doses:
        return (f"The study shown (`{profile.name}`) measured one point only; the current "
                "study's points appear here once its sweep has reached them.")
    planned = {s.run_id for s in run_specs(profile) if s.n_train or s.informativeness is not None}
    done = len(planned & set(runs["run_id"])) if "run_id" in runs.columns else 0
    values = base_point(profile)
    base = f"{values['n_train']} training images, informativeness {values['informativeness']:g}"
    at_base = np.isclose(dose["value"].astype(float), dose["factor"].map(values).astype(float))
    at_base |= dose["arm"] == WRONG_GAZE  # a base-point control, drawn at informativeness 0
    if not (dose.loc[~at_base, "n"] >= 2).any():
        return (f"Not enough paired replicates yet at the dose points ({done} of {len(planned)} "
                "of their runs are done): the figure appears here once a point off the base point has "
                "two. "
                + dose_plan(profile))
    lead = (f"{{numref}}`fig-dose` shows how the effects change with the training-set size and "
            f"with how informative the reader's gaze is ({done} of {len(planned)} dose runs done"
            + ("" if done >= len(planned) else ": provisional, filled in as the sweep reaches them") + ").")
    counts = (f"{int(dose.loc[at_base, 'n'].max())} replicates at the base point, up to "
              f"{int(dose.loc[~at_base, 'n'].max())} at the others")
    anchor = WRONG_GAZE_NOTE if (dose.loc[dose["arm"] == WRONG_GAZE, "n"] >= 2).any() else ""
    findings = dose_findings(dose, dose_trend(runs, profile), profile)
    arrows = ("; an arrowhead at a panel's edge: an interval of two replicates that runs past it"
              if (dose["n"] == 2).any() else "")
    figure = DOSE_FIGURE.format(base=base, counts=counts, anchor=anchor, arrows=arrows)
    return "\n\n".join([lead, figure, findings])


def base_point(profile: Profile) -> dict[str, float]:
    """The base point's value of each dose factor."""
    return {"n_train": profile.replicates.n_train, "informativeness": profile.informativeness}


def planned_values(profile: Profile) -> dict[str, list[float]]:
    """Every value the study plans per dose factor, the base point's included (the dose
    figure's ticks)."""
    return {factor: sorted({float(value), *(float(d.value) for d in profile.doses if d.factor == factor)})
            for factor, value in base_point(profile).items()}


def dose_plan(profile: Profile) -> str:
    """The dose points the profile plans, around its base point, in one sentence."""
    base = base_point(profile)
    parts = []
    for factor, label in FACTOR_WORDS.items():
        doses = [d for d in profile.doses if d.factor == factor]
        if doses:
            values = " and ".join(f"{d.value:g}" for d in doses)
            arms = sorted({v for d in doses for v in d.variants})
            parts.append(f"{label} {values} around the base point's {base[factor]:g} "
                         f"({', '.join(f'`{a}`' for a in arms)})")
    seeds = max(len(d.seeds) for d in profile.doses)
    dosed = {v for d in profile.doses for v in d.variants}
    cut = (" The oracle runs at the base point only (cut to fit the budget)."
           if "ggcam-oracle" in profile.variants and "ggcam-oracle" not in dosed else "")
    return (f"Planned, one factor at a time: {'; '.join(parts)}; {seeds} replicates each, "
            "each GG-CAM run paired with its replicate's standard run on the same images." + cut)


FACTOR_TITLES = {"n_train": "Training-set size", "informativeness": "The reader's informativeness"}
_TREND_WORDS = {"n_train": "the training-set size", "informativeness": "the reader's informativeness"}


def dose_findings(dose: pd.DataFrame, trend: pd.DataFrame, profile: Profile) -> str:
    """What the dose points say, one Markdown paragraph per factor with a point off the base
    at ≥ 2 paired replicates: ΔAUC at each value, where its interval lies above zero, and the
    change from the lowest to the highest value (``dose.dose_trend``), in AUC and pointing."""
    base = base_point(profile)
    paragraphs, any_trend = [], False
    for factor in FACTOR_TITLES:
        auc = dose[(dose["factor"] == factor) & (dose["metric"] == "auc_ovo")
                   & (dose["arm"] != WRONG_GAZE) & (dose["n"] >= 2)].sort_values("value")
        if not (~np.isclose(auc["value"].astype(float), base[factor])).any():
            continue
        unit = " images" if factor == "n_train" else ""
        at = "; ".join(f"{row['value']:g}{unit}: {fmt_ci(row)} ({int(row['n'])} replicates)"
                       for _, row in auc.iterrows())
        above = [f"{v:g}" for v in auc.loc[auc["low"] > 0, "value"]]
        not_above = [f"{v:g}" for v in auc.loc[~(auc["low"] > 0), "value"]]
        where = ("Its interval lies above zero at every value" if not not_above else
                 "Its interval lies above zero at none of them" if not above else
                 f"Its interval lies above zero at {_listed(above)}, not at {_listed(not_above, 'or')}")
        change = _trend_sentence(trend, factor)
        any_trend |= bool(change)
        paragraphs.append(f"**{FACTOR_TITLES[factor]}.** GG-CAM − standard in test AUC at {at}. "
                          f"{where}. {change}".rstrip())
    if any_trend:
        paragraphs.append("These changes are descriptive: the dose points lie outside the Holm "
                          "families fixed before the sweep.")
    return "\n\n".join(paragraphs)


def _trend_sentence(trend: pd.DataFrame, factor: str) -> str:
    rows = trend[(trend["factor"] == factor) & (trend["n"] >= 2)].set_index("metric")
    if "auc_ovo" not in rows.index:
        return ""
    auc = rows.loc["auc_ovo"]
    n = int(auc["n"])
    unit = " images" if factor == "n_train" else ""
    excludes_zero = auc["low"] > 0 or auc["high"] < 0
    if excludes_zero and auc["p"] < 0.05:  # the t interval and the exact test agree
        verdict = f"the gain {'grows' if auc['estimate'] > 0 else 'shrinks'} with {_TREND_WORDS[factor]}"
    else:
        verdict = f"not shown to change with {_TREND_WORDS[factor]}"
    caveat = ""
    if excludes_zero and auc["p"] >= 0.05:  # few replicates: t can exclude zero where the exact test cannot
        caveat = (f"; its t interval excludes zero, but with {n} replicates the exact test "
                  f"cannot go below p = {2 / 2 ** n:.2g}" if 2 / 2 ** n >= 0.05 else
                  "; its t interval excludes zero, the exact test does not")
    pointing = ""
    if "pointing_pneumonia" in rows.index:
        pointing = f", and the pneumonia pointing game's by {fmt_ci(rows.loc['pointing_pneumonia'])}"
    return (f"From {auc['from_value']:g} to {auc['to_value']:g}{unit} the paired ΔAUC changed by "
            f"{fmt_ci(auc)} ({n} replicates, exact sign-flip p = {auc['p']:.2g}{caveat}){pointing}: "
            f"{verdict}.")


def _listed(values: list[str], conjunction: str = "and") -> str:
    return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} {conjunction} {values[-1]}"
