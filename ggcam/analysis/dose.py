"""Where gaze starts to help: paired Δ (arm − ``standard``) at every dose point, and whether
the gain changes along a factor.

* ``dose_pairs``: which runs pair. At a training-set size an arm pairs with the ``standard``
  run of the same size and replicate; at another reader informativeness, with the replicate's
  base ``standard`` run (the images do not change with the reader, only the gaze: one
  ``standard`` run pairs with every level).
* ``dose_response``: Δ with its 95% t interval at every dose point and the base point.
* ``dose_trend``: per factor, Δ at the factor's highest planned value minus Δ at its lowest,
  within each replicate (replicates are independent, so a t interval and an exact sign-flip p
  over them hold). Outside the Holm families fixed before the sweep: descriptive.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ggcam.analysis.effects import REFERENCE, base_runs, paired_by_seed, t_interval
from ggcam.experiment.profiles import Profile
from ggcam.stats.paired import sign_flip_test

DOSE_COLUMNS = ["factor", "value", "arm", "metric", "n", "estimate", "low", "high"]
TREND_COLUMNS = ["factor", "arm", "metric", "from_value", "to_value", "n", "estimate", "low",
                 "high", "p"]
WRONG_GAZE = "ggcam-shuffled"  # drawn at informativeness 0 in the dose-response


def dose_pairs(runs: pd.DataFrame, profile: Profile, factor: str, value: float,
               arm: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-replicate rows of ``standard`` and of ``arm`` at one dose point."""
    if factor == "n_train":
        here = runs[(runs["n_train"] == int(value)) & np.isclose(
            runs["informativeness"].astype(float), profile.informativeness)]
        return here[here["variant"] == REFERENCE], here[here["variant"] == arm]
    base = base_runs(runs, profile)
    here = runs[np.isclose(runs["informativeness"].astype(float), float(value))
                & (runs["n_train"] == profile.replicates.n_train)]
    return base[base["variant"] == REFERENCE], here[here["variant"] == arm]


def _points(profile: Profile) -> list[tuple[str, float, str]]:
    """(factor, value, arm) of every dose point and of the base point on each factor's axis."""
    rep = profile.replicates
    points = {("n_train", rep.n_train), ("informativeness", profile.informativeness)}
    points |= {(d.factor, d.value) for d in profile.doses}
    arms = {(d.factor, v) for d in profile.doses for v in d.variants if v != REFERENCE}
    return [(f, value, arm) for f, value in sorted(points) for factor, arm in sorted(arms) if factor == f]


def dose_response(runs: pd.DataFrame, profile: Profile, metrics=("auc_ovo", "pointing_pneumonia")) -> pd.DataFrame:
    """Δ (arm − standard) with a 95% t-interval at every dose point and the base (``DOSE_COLUMNS``),
    and the wrong-gaze control at the base point as informativeness 0 (``WRONG_GAZE``): gaze
    that says nothing of this image's findings (not the simulated reader at 0, who would look
    at the anatomy only)."""
    pairs = [(f, value, arm, dose_pairs(runs, profile, f, value, arm)) for f, value, arm in _points(profile)]
    if profile.doses and WRONG_GAZE in profile.variants:
        base = base_runs(runs, profile)
        pairs.append(("informativeness", 0.0, WRONG_GAZE,
                      (base[base["variant"] == REFERENCE], base[base["variant"] == WRONG_GAZE])))
    rows = []
    for factor, value, arm, (ref, other) in pairs:
        for metric in metrics:
            d = paired_by_seed(ref, other, metric).to_numpy()
            low, high = t_interval(d)
            rows.append({"factor": factor, "value": value, "arm": arm, "metric": metric,
                         "n": len(d), "estimate": float(d.mean()) if len(d) else np.nan,
                         "low": low, "high": high})
    return pd.DataFrame(rows, columns=DOSE_COLUMNS)


def dose_trend(runs: pd.DataFrame, profile: Profile, metrics=("auc_ovo", "pointing_pneumonia")) -> pd.DataFrame:
    """Per factor, arm and metric: Δ at the highest planned value minus Δ at the lowest, per
    replicate with both, then its mean, 95% t interval and exact sign-flip p
    (``TREND_COLUMNS``). Along informativeness the replicate's standard run is shared, so this
    is the GG-CAM run's change alone; along the training-set size both runs change."""
    rows = []
    for factor in sorted({d.factor for d in profile.doses}):
        points = [(value, arm) for f, value, arm in _points(profile) if f == factor]
        for arm in sorted({a for _, a in points}):
            lowest, highest = min(v for v, a in points if a == arm), max(v for v, a in points if a == arm)
            for metric in metrics:
                at = {v: paired_by_seed(*dose_pairs(runs, profile, factor, v, arm), metric)
                      for v in (lowest, highest)}
                change = (at[highest] - at[lowest]).dropna().to_numpy()
                low, high = t_interval(change)
                rows.append({"factor": factor, "arm": arm, "metric": metric, "from_value": lowest,
                             "to_value": highest, "n": len(change),
                             "estimate": float(change.mean()) if len(change) else np.nan,
                             "low": low, "high": high,
                             "p": sign_flip_test(change) if len(change) >= 2 else np.nan})
    return pd.DataFrame(rows, columns=TREND_COLUMNS)
