"""Which Holm family a row of the paired table (``summary_paired.paired_table``) belongs to,
and its adjusted p.

A study that fixed its families before the sweep (``Profile.families``: the current study)
gives every row those families hold the same family, Holm-adjusted p and smallest possible p
as the front page (``effects.arm_effects``), so one comparison never shows two p-values in
the book. The rows no such family holds (the paper's grid metrics, Table 3's eq. 12) are
exploratory: Holm within the page's groups below, and the family's name says so.

A study without fixed families (the first, ``cpu-v1``) keeps the page's groups
(``PAGE_FAMILIES``), which were redefined after 32 of its runs (2026-12-02): one family for
every test made the smallest attainable adjusted p larger than 0.05 at 8 seeds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ggcam.experiment.profiles import CONTROLS, Profile
from ggcam.stats.paired import holm

# Per network (a network is its own study, as in the paper): the primary pair's localisation
# metrics; the gaze controls against the GG-CAM arm (every metric); the other arms against
# the reference.
PAGE_FAMILIES = ("primary", "localisation", "controls", "other arms")
EXPLORATORY = " (exploratory)"  # appended to a page family in a study with fixed families


def holm_floor(n_seeds: pd.Series, m: int) -> pd.Series:
    """The smallest p Holm can give a family of m tests: an exact two-sided sign-flip p is at
    least 2 / 2^n for n seeds, and Holm multiplies the smallest of m by m."""
    return np.minimum(1.0, m * 2.0 ** (1 - n_seeds.astype(float)))


def page_family(a: str, b: str, metric: str, primary: tuple[str, str], primary_metric: str) -> str:
    """The page's Holm family of a comparison (``PAGE_FAMILIES``)."""
    if (a, b) == primary:
        return "localisation" if metric != primary_metric else "primary"
    if a in CONTROLS or b in CONTROLS:
        return "controls"
    return "other arms"


def adjust(table: pd.DataFrame, runs: pd.DataFrame, profile: Profile | None) -> pd.DataFrame:
    """Set ``family``, ``p_holm`` and ``p_floor`` of every row of ``table`` (``family`` holds
    the page's group on entry; the primary test's p is never adjusted)."""
    table["p_holm"] = table["p"].astype(float)
    table["p_floor"] = np.nan
    fixed = pd.Series(False, index=table.index)
    if profile is not None and profile.families:
        from ggcam.analysis.effects import arm_effects, effect_row  # it imports the summary modules

        for network in table["network"].unique():
            effects = arm_effects(runs, profile, network=network)
            tests = effects[effects["p"].notna()].groupby("family").size()
            for i in table.index[table["network"] == network]:
                a, b, metric = table.loc[i, ["a", "b", "metric"]]  # a family may hold (b, a)
                row = effect_row(effects, b, metric, a)
                row = effect_row(effects, a, metric, b) if row is None else row
                if row is None:
                    table.loc[i, "family"] += EXPLORATORY
                    continue
                fixed[i] = True
                table.loc[i, ["family", "p_holm"]] = row["family"], row["p_holm"]
                table.loc[i, "p_floor"] = holm_floor(pd.Series([row["n"]]), tests[row["family"]]).iloc[0]
    for (_, family), rows in table[~fixed].groupby(["network", "family"]):
        if family != "primary":
            table.loc[rows.index, "p_holm"] = holm(rows["p"])
        table.loc[rows.index, "p_floor"] = holm_floor(rows["n_seeds"], len(rows))
    return table
