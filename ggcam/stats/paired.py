"""Paired comparisons of two arms that share a split per seed (the study's design).

* ``paired_differences``: per-seed differences metric[b] − metric[a], matched on seed.
* ``sign_flip_test``: the exact two-sided sign-flip p-value of their mean.
* ``hierarchical_bootstrap_ci`` (ΔAUC; seeds, then test images, from ``paired_predictions``)
  and ``hierarchical_bootstrap_mean_ci`` (per-image scores such as the pointing game), both
  ``ggcam.stats.paired_intervals``'s.
* ``holm``: Holm's step-down adjustment.
* ``paired_summary``: all of them in one tidy table, one row per network × comparison.

``ggcam.stats`` re-exports every name here.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from ggcam.stats.checks import N_PERMUTATIONS, as_tuple, check_columns, make_rng
from ggcam.stats.paired_intervals import (
    PairedCI,
    hierarchical_bootstrap_ci,
    hierarchical_bootstrap_mean_ci,
)

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = [
    "PairedCI", "hierarchical_bootstrap_ci", "hierarchical_bootstrap_mean_ci", "holm",
    "paired_differences", "paired_predictions", "paired_summary", "sign_flip_test",
]


def paired_differences(
    runs: pd.DataFrame, metric: str, a: str, b: str, by: Sequence[str] | str | None = "network",
) -> pd.DataFrame:
    """Per-seed differences metric[b] − metric[a] between two variants, matched on seed.

    Runs are matched on ``seed`` and the ``by`` columns (one seed fixes the split, so both
    arms saw the same test images). Seeds present in one arm only, or with a NaN metric, are
    dropped with a ``UserWarning`` naming them.

    Returns:
        DataFrame with the ``by`` columns, ``seed``, ``value_a``, ``value_b``, ``diff``,
        sorted by ``by`` and seed.
    """
    keys = [*as_tuple(by), "seed"]
    check_columns(runs, [*keys, "variant", metric])
    arms = {}
    for name in (a, b):
        arm = runs.loc[runs["variant"] == name, [*keys, metric]]
        dup = arm[keys].duplicated()
        if dup.any():
            raise ValueError(f"variant {name!r} has more than one run for {keys} = "
                             f"{arm.loc[dup, keys].to_numpy().tolist()}")
        arms[name] = arm.rename(columns={metric: f"value_{'a' if name == a else 'b'}"})
    both = arms[a].merge(arms[b], on=keys, how="outer", indicator=True)
    bad = (both["_merge"] != "both") | both[["value_a", "value_b"]].isna().any(axis=1)
    if bad.any():
        warnings.warn(f"paired_differences({metric}, {a!r} vs {b!r}): dropped unmatched or "
                      f"missing runs {both.loc[bad, keys].to_numpy().tolist()}", stacklevel=2)
    out = both.loc[~bad, [*keys, "value_a", "value_b"]].sort_values(keys, ignore_index=True)
    return out.assign(diff=out["value_b"] - out["value_a"])


def sign_flip_test(diffs: ArrayLike, seed: int | np.random.Generator = 0, max_exact: int = 16) -> float:
    """Two-sided sign-flip permutation p-value for mean(diffs) = 0.

    Under the null each paired difference is as likely positive as negative, so the p-value
    is the share of the 2^n sign patterns whose |mean| is at least the observed one
    (``scipy.stats.permutation_test(..., permutation_type="samples")``). Exact for
    n <= ``max_exact``; beyond, ``N_PERMUTATIONS`` random patterns.

    Args:
        diffs: paired differences, shape (n,), n >= 1, finite.

    Returns:
        p in (0, 1]; e.g. diffs [1, 2, 3] give 2/8 = 0.25. One pair gives p = 1: its two sign
        patterns have the same |mean|, so one seed can never show an effect.
    """
    d = np.asarray(diffs, dtype=float)
    if d.ndim != 1 or d.size == 0 or not np.isfinite(d).all():
        raise ValueError(f"diffs must be a non-empty finite 1-D array, got shape {d.shape}")
    if d.size == 1:
        return 1.0
    n_resamples = np.inf if d.size <= max_exact else N_PERMUTATIONS
    res = sps.permutation_test((d,), np.mean, permutation_type="samples", vectorized=True,
                               n_resamples=n_resamples, alternative="two-sided", rng=make_rng(seed))
    return float(min(res.pvalue, 1.0))


def holm(pvalues: Iterable[float | None]) -> np.ndarray:
    """Holm's step-down adjustment (``statsmodels ... multipletests(method="holm")``).

    Args:
        pvalues: raw p-values in [0, 1]; None or NaN entries are left out of the family.

    Returns:
        float array of adjusted p-values, NaN where the input was missing.
    """
    p = np.array([np.nan if v is None else v for v in pvalues], dtype=float)
    ok = np.isfinite(p)
    if ((p[ok] < 0) | (p[ok] > 1)).any():
        raise ValueError(f"p-values must lie in [0, 1], got {p[ok].tolist()}")
    out = np.full(p.shape, np.nan)
    if ok.any():
        from statsmodels.stats.multitest import multipletests

        out[ok] = multipletests(p[ok], method="holm")[1]
    return out



def _score_columns(frame: pd.DataFrame) -> list[str]:
    """Score columns, logits first: ``logit_0, ...`` (the results store), ``logit0`` or ``p0``."""
    for prefix in ("logit_", "logit", "p"):
        cols = [c for c in frame.columns if re.fullmatch(rf"{prefix}\d+", str(c))]
        if cols:
            return sorted(cols, key=lambda c: int(c[len(prefix):]))
    raise ValueError(f"predictions have no score columns logit_0.. / p0..; {list(frame.columns)}")


def paired_predictions(
    predictions: pd.DataFrame, a: str, b: str, network: str | None = None,
    image: str = "dicom_id",
) -> dict[Any, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``hierarchical_bootstrap_ci``'s input from stored test predictions of two variants.

    Args:
        predictions: one row per run × test image, with ``variant``, ``seed``, ``image``,
            ``label`` and score columns ``logit_0, logit_1, ...`` (the results store's; or
            ``p0, ...``), and ``network`` when ``network`` is given: the store's per-run
            prediction files concatenated with their run's network, variant and seed.
        a, b: the variants compared (Δ = b − a).
        network: keep only this network's runs.
        image: column identifying a test image; the arms are aligned on it per seed.

    Returns:
        {seed: (labels, scores_a, scores_b)}, images sorted by ``image``. Seeds missing an
        arm are dropped with a warning.
    """
    need = ["variant", "seed", image, "label"] + (["network"] if network is not None else [])
    check_columns(predictions, need)
    if network is not None:
        predictions = predictions[predictions["network"] == network]
    cols = _score_columns(predictions)
    out, missing = {}, []
    for s, part in predictions.groupby("seed", sort=True):
        arm_a, arm_b = (part[part["variant"] == v].set_index(image) for v in (a, b))
        if arm_a.empty or arm_b.empty:
            missing.append(s)
            continue
        if set(arm_a.index) != set(arm_b.index) or not arm_a.index.is_unique:
            raise ValueError(f"seed {s}: {a!r} and {b!r} must hold the same test images once")
        arm_a = arm_a.sort_index()  # the result does not depend on the stored row order
        arm_b = arm_b.loc[arm_a.index]
        if (arm_a["label"].to_numpy() != arm_b["label"].to_numpy()).any():
            raise ValueError(f"seed {s}: labels of {a!r} and {b!r} disagree")
        out[s] = (arm_a["label"].to_numpy(), arm_a[cols].to_numpy(float),
                  arm_b[cols].to_numpy(float))
    if missing:
        warnings.warn(f"paired_predictions({a!r} vs {b!r}): seeds {missing} lack an arm; "
                      "dropped", stacklevel=2)
    return out


def paired_summary(
    runs: pd.DataFrame, metric: str, comparisons: Sequence[tuple[str, str]],
    primary: tuple[str, str], by: str = "network", predictions: pd.DataFrame | None = None,
    n_boot: int = 2000, ci: float = 0.95, seed: int = 0,
) -> pd.DataFrame:
    """The paired comparisons of arms, one row per ``by`` value × comparison.

    For each comparison (a, b) and network: the per-seed differences metric[b] − metric[a]
    (``paired_differences``); their mean (``estimate``); an interval; the exact sign-flip
    p-value (``sign_flip_test``). The interval resamples the seeds (percentile bootstrap,
    ``hierarchical_bootstrap_mean_ci`` with one value per seed, so no image level) or, when
    ``predictions`` are given and ``metric`` is "auc_ovo"/"auc_ovr", seeds then test images
    (``hierarchical_bootstrap_ci``); its estimate then comes from the predictions too.

    The ``primary`` comparison, named before the sweep, is flagged ``primary = True`` and
    its p is not adjusted (``p_holm`` = ``p``); Holm's adjustment runs over every other row
    of the table together (all networks), the secondary family.

    Returns:
        DataFrame with ``by``, ``a``, ``b``, ``metric``, ``primary``, ``n_seeds``,
        ``estimate``, ``low``, ``high``, ``p``, ``p_holm``, ``interval`` ("seeds" or
        "seeds+images"). A comparison without any paired seed is absent, with a warning.
    """
    primary = tuple(primary)
    pairs = [primary] + [tuple(c) for c in comparisons if tuple(c) != primary]
    check_columns(runs, [by, "variant", "seed", metric])
    use_images = predictions is not None and metric in ("auc_ovo", "auc_ovr")
    rows = []
    for key, part in runs.groupby(by, sort=False):
        for a, b in pairs:
            d = paired_differences(part, metric, a, b, by=None)
            if d.empty:
                warnings.warn(f"paired_summary: no paired seeds for {b!r} − {a!r} ({by} = "
                              f"{key})", stacklevel=2)
                continue
            if use_images:
                per_seed = paired_predictions(predictions, a, b, network=key)
                per_seed = {s: v for s, v in per_seed.items() if s in set(d["seed"])}
                res = hierarchical_bootstrap_ci(per_seed, n_boot, ci, seed, metric[-3:])
            else:
                per_seed = {s: ([0.0], [x]) for s, x in zip(d["seed"], d["diff"])}
                res = hierarchical_bootstrap_mean_ci(per_seed, n_boot, ci, seed)
            rows.append({by: key, "a": a, "b": b, "metric": metric, "primary": (a, b) == primary,
                         "n_seeds": res.n_seeds, "estimate": res.estimate, "low": res.low,
                         "high": res.high, "p": sign_flip_test(d["diff"].to_numpy(), seed),
                         "interval": "seeds+images" if use_images else "seeds"})
    table = pd.DataFrame(rows, columns=[by, "a", "b", "metric", "primary", "n_seeds",
                                        "estimate", "low", "high", "p", "interval"])
    table["p_holm"] = table["p"].astype(float)
    secondary = ~table["primary"].astype(bool)
    table.loc[secondary, "p_holm"] = holm(table.loc[secondary, "p"])
    return table[[by, "a", "b", "metric", "primary", "n_seeds", "estimate", "low", "high",
                  "p", "p_holm", "interval"]]
