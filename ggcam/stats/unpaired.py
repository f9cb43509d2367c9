"""Statistics over training runs: Table 2, Figure 3's tests, AUC intervals; paired comparisons.

The runs table has one row per training run, with the columns the sweep writes to
``results/<profile>/runs.csv``: network, variant, seed, auc_ovo, auc_ovr, precision_<class>,
recall_<class> (class in normal, chf, pneumonia), interp_chf, interp_pneumonia,
interp3x3_chf, interp3x3_pneumonia, cc, kl, sim, nss, auc_judd.

Every test comes from SciPy or statsmodels; this module only arranges the data:

* ``median_std`` / ``precision_recall_table``: Table 2's "median ± std" (ddof = 1; one run
  reads "0.649 (n = 1)"). NaN values of a metric are dropped and ``n`` counts those used.
* ``anova``: the paper's one-way ANOVA (Figure 3), with Welch's ANOVA, Kruskal-Wallis and
  Mann-Whitney beside it (those three are ``ggcam.stats.group_tests``'s). Rank tests are
  exact (or Monte-Carlo permutation) p-values when a group has fewer than ``SMALL_N`` runs.
  A test that cannot run gets p = None (never NaN) and the row's ``note`` says why, repeated
  as a ``UserWarning``.
* ``bootstrap_auc_ci``: one run's test AUC with a class-stratified percentile bootstrap
  (``ggcam.stats.auc_interval``; named here too).
* Paired comparisons live in ``ggcam.stats.paired``, equivalence in
  ``ggcam.stats.equivalence``; ``ggcam.stats`` names them all.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from ggcam.stats.auc_interval import BootstrapCI, bootstrap_auc_ci
from ggcam.stats.checks import N_PERMUTATIONS, as_tuple, check_columns
from ggcam.stats.group_tests import (
    MAX_EXACT,
    SMALL_N,
    RankTest,
    kruskal_test,
    mann_whitney_test,
    welch_anova,
)
from ggcam.study import CLASS_KEYS

__all__ = [
    "MAX_EXACT", "N_PERMUTATIONS", "SMALL_N", "TABLE2_CLASSES", "TABLE2_METRICS", "TEST_COLUMNS",
    "BootstrapCI", "RankTest", "anova", "bootstrap_auc_ci", "format_cell", "kruskal_test",
    "mann_whitney_test", "median_std", "precision_recall_table", "welch_anova",
]

TABLE2_CLASSES = CLASS_KEYS  # runs column suffix → class name
TABLE2_METRICS = ("precision", "recall")
TEST_COLUMNS = ("F", "p", "welch_F", "welch_p", "kruskal_H", "kruskal_p",
                "mannwhitney_U", "mannwhitney_p")


# ---- Table 2 --------------------------------------------------------------------------------


def format_cell(median: float, std: float, n: int, digits: int = 3) -> str:
    """Table 2's cell text: "0.649 ± 0.042", or "0.649 (n = 1)" when std is undefined."""
    if n == 0:
        return "n/a"
    if n == 1 or not np.isfinite(std):
        return f"{median:.{digits}f} (n = {n})"
    return f"{median:.{digits}f} ± {std:.{digits}f}"


def median_std(
    runs: pd.DataFrame, metric: str, by: Sequence[str] | str = ("network", "variant"),
    digits: int = 3,
) -> pd.DataFrame:
    """Median and sample std (ddof = 1) of ``metric`` per group, the cells of Table 2.

    Args:
        runs: one row per training run.
        metric: column to summarise.
        by: grouping columns; groups keep their order of first appearance.
        digits: decimals in the ``cell`` text.

    Returns:
        DataFrame with the ``by`` columns, ``median``, ``std``, ``n`` and ``cell``
        ("0.649 ± 0.042"). NaN values are dropped; a group left with n = 1 has std NaN and
        cell "0.649 (n = 1)", one with n = 0 has median NaN and cell "n/a".
    """
    by = as_tuple(by)
    check_columns(runs, (*by, metric))
    rows = []
    for key, group in runs.groupby(list(by), sort=False):
        x = pd.to_numeric(group[metric], errors="raise").dropna().to_numpy(dtype=float)
        med = float(np.median(x)) if x.size else float("nan")
        sd = float(np.std(x, ddof=1)) if x.size > 1 else float("nan")
        rows.append({**dict(zip(by, key)), "median": med, "std": sd, "n": int(x.size),
                     "cell": format_cell(med, sd, x.size, digits)})
    return pd.DataFrame(rows, columns=[*by, "median", "std", "n", "cell"])


def precision_recall_table(
    runs: pd.DataFrame, by: Sequence[str] | str = ("network", "variant"), digits: int = 3
) -> pd.DataFrame:
    """Table 2: "median ± std" of precision and recall per class, one row per network+variant.

    Args:
        runs: with columns ``precision_normal, recall_normal, precision_chf, recall_chf,
            precision_pneumonia, recall_pneumonia`` and the ``by`` columns.

    Returns:
        DataFrame of strings indexed by ``by``, columns a MultiIndex (class, metric) with
        classes "Normal", "CHF", "pneumonia" and metrics "precision", "recall".
    """
    by = as_tuple(by)
    cols = [f"{m}_{c}" for c in TABLE2_CLASSES for m in TABLE2_METRICS]
    check_columns(runs, (*by, *cols))
    parts = {}
    for c, name in TABLE2_CLASSES.items():
        for m in TABLE2_METRICS:
            parts[(name, m)] = median_std(runs, f"{m}_{c}", by, digits).set_index(list(by))["cell"]
    table = pd.DataFrame(parts)
    table.columns = pd.MultiIndex.from_tuples(table.columns, names=["class", "metric"])
    return table



# ---- between-group tests (Figure 3; the tests themselves are ``group_tests``'s) -----------


def anova(
    runs: pd.DataFrame, metric: str, groups: str = "variant", by: str | None = "network",
    levels: Sequence[str] | None = ("standard", "ggcam"), seed: int = 0,
) -> pd.DataFrame:
    """Figure 3's test: one-way ANOVA of ``metric`` between variants, for each network.

    Beside the paper's ANOVA (``scipy.stats.f_oneway``, the same as statsmodels' OLS +
    ``anova_lm`` the released code used) come Welch's ANOVA (unequal variances),
    Kruskal-Wallis (``kruskal_test``) and, for two levels, Mann-Whitney (``mann_whitney_test``).
    The rank tests' p-values are exact or permutation ones when a group has < ``SMALL_N`` runs.

    Args:
        runs: one row per training run.
        metric: column tested, e.g. "auc_ovo" or "interp_chf".
        groups: column defining the groups compared.
        by: column splitting the table (one test per value), or None for a single test.
        levels: the groups compared, in this order (default standard vs GG-CAM); None
            takes every group present.
        seed: seed of the Monte-Carlo permutations (only used beyond ``MAX_EXACT``).

    Returns:
        one row per ``by`` value: ``by``, ``metric``, ``n_<level>`` and ``median_<level>``
        per level, ``F``, ``p``, ``welch_F``, ``welch_p``, ``kruskal_H``, ``kruskal_p``,
        ``mannwhitney_U``, ``mannwhitney_p``, ``rank_method`` ("exact", "permutation" or
        "asymptotic": how the rank-test p-values were computed) and ``note``. A test column
        is float64 when every row's test ran; otherwise it is of object dtype and holds None
        where the test could not run, and ``note`` explains ("" when every test ran).
    """
    check_columns(runs, [c for c in (groups, by, metric) if c is not None])
    out = []
    parts = [(None, runs)] if by is None else runs.groupby(by, sort=False)
    for key, part in parts:
        part = part.dropna(subset=[metric])
        names = list(levels) if levels is not None else list(pd.unique(part[groups]))
        data = [part.loc[part[groups] == g, metric].to_numpy(dtype=float) for g in names]
        row = {} if by is None else {by: key}
        row["metric"] = metric
        for g, x in zip(names, data):
            row[f"n_{g}"] = int(x.size)
        for g, x in zip(names, data):
            row[f"median_{g}"] = float(np.median(x)) if x.size else None
        row.update(_tests(names, data, seed))
        if row["note"]:
            where = "" if by is None else f" ({by} = {key})"
            warnings.warn(f"anova of {metric}{where}: {row['note']}", stacklevel=2)
        out.append(row)
    frame = pd.DataFrame(out)
    for col in TEST_COLUMNS:
        values = [r[col] for r in out]
        # float64 when every test ran; object (floats and None) otherwise, never NaN
        dtype = object if any(v is None for v in values) else np.float64
        frame[col] = pd.Series(values, index=frame.index, dtype=dtype)
    return frame[[c for c in frame.columns if c != "note"] + ["note"]]


def _tests(names: list[str], data: list[np.ndarray], seed: int) -> dict:
    res = {**dict.fromkeys(TEST_COLUMNS), "rank_method": None}
    small = [f"{g} has {x.size}" for g, x in zip(names, data) if x.size < 2]
    if len(names) < 2 or small:
        why = "fewer than 2 groups" if len(names) < 2 else ", ".join(small)
        res["note"] = f"n too small: {why} (need >= 2 runs per group)"
        return res
    notes = []
    constant = [np.ptp(x) == 0 for x in data]  # exact, unlike a rounded variance
    if all(constant):
        notes.append("ANOVA: zero variance within every group")
    else:
        f, p = sps.f_oneway(*data)
        res["F"], res["p"] = float(f), float(p)
    if any(constant):
        notes.append("Welch: a group has zero variance")
    else:
        res["welch_F"], res["welch_p"] = welch_anova(data)
    if np.ptp(np.concatenate(data)) == 0:
        notes.append("rank tests: all values identical")
    else:
        kw = kruskal_test(data, seed)
        res["kruskal_H"], res["kruskal_p"], res["rank_method"] = kw
        if len(data) == 2:
            mw = mann_whitney_test(*data, seed=seed)
            res["mannwhitney_U"], res["mannwhitney_p"] = mw.statistic, mw.pvalue
    res["note"] = "; ".join(notes)
    return res
