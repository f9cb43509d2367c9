"""Paired comparisons of two arms that share a split per seed (the study's design).

* ``paired_differences``: per-seed differences metric[b] − metric[a], matched on seed.
* ``sign_flip_test``: the exact two-sided sign-flip p-value of their mean.
* ``hierarchical_bootstrap_ci`` (ΔAUC; seeds, then test images, from ``paired_predictions``)
  and ``hierarchical_bootstrap_mean_ci`` (per-image scores such as the pointing game).
* ``holm``: Holm's step-down adjustment.
* ``paired_summary``: all of them in one tidy table, one row per network × comparison.

``ggcam.stats`` re-exports every name here.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats as sps

from ggcam.metrics.classification import MULTI_CLASS, auc, class_probabilities
from ggcam.metrics.resampled_auc import resample_weights, resampled_auc
from ggcam.stats.checks import N_PERMUTATIONS, as_tuple, check_columns, check_level, check_n_boot, make_rng

if TYPE_CHECKING:
    from numpy.typing import ArrayLike


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


class PairedCI(NamedTuple):
    estimate: float  # mean over seeds of the per-seed difference b − a
    low: float  # lower percentile bound
    high: float  # upper percentile bound
    n_seeds: int  # seeds in the comparison


def _hierarchical(draw, n_seeds: int, point: float, n_boot, ci, seed) -> PairedCI:
    """Percentile interval of the mean over resampled seeds of per-seed Δs.

    ``draw(j, m, rng)`` returns m independent Δs of seed j, each on its own resample of its
    test images. Replicate b draws n_seeds seeds with replacement; a seed drawn twice gets two
    independent image resamples.
    """
    n_boot = check_n_boot(n_boot)
    check_level(ci, "ci")
    rng = make_rng(seed)
    picks = rng.integers(0, n_seeds, (n_boot, n_seeds))
    reps = np.empty((n_boot, n_seeds))
    for j in range(n_seeds):
        where = picks == j
        reps[where] = draw(j, int(where.sum()), rng)
    low, high = np.quantile(reps.mean(axis=1), [(1 - ci) / 2, (1 + ci) / 2])
    return PairedCI(float(point), float(low), float(high), n_seeds)


def _per_seed_items(per_seed, form: str, size: int):
    """``per_seed.items()``, each item checked to be a tuple of ``size`` (``form`` names them)."""
    if not isinstance(per_seed, Mapping) or not per_seed:
        raise ValueError(f"per_seed must be a non-empty {{seed: {form}}}")
    for key, item in per_seed.items():
        if len(item) != size:
            raise ValueError(f"per_seed[{key!r}] must be {form}")
        yield key, item


def hierarchical_bootstrap_ci(
    per_seed: Mapping[Any, Sequence[ArrayLike]], n_boot: int = 2000, ci: float = 0.95,
    seed: int | np.random.Generator = 0, multi_class: str = "ovo",
    from_logits: bool | None = None,
) -> PairedCI:
    """Hierarchical bootstrap interval of a paired ΔAUC = AUC(b) − AUC(a), seeds then images.

    Each replicate resamples the seeds with replacement, then, within each drawn seed, its
    test images with replacement and stratified by class (both arms on the same resample);
    the statistic is the mean over the drawn seeds of AUC(b) − AUC(a) (``metrics.auc``).
    The resampled AUCs are ``metrics.resampled_auc`` (equal to ``metrics.auc`` to rounding),
    all replicates of a seed at once.

    Args:
        per_seed: {seed: (labels (N,), scores_a (N, K), scores_b (N, K))}, both arms'
            logits or probabilities on the same test images, row-aligned
            (``paired_predictions`` builds it from the stored predictions).
        n_boot: replicates; ci: coverage in (0, 1); seed: seed or Generator.
        multi_class, from_logits: as in ``metrics.auc``.

    Returns:
        PairedCI(estimate, low, high, n_seeds); estimate on the full test sets.
    """
    if multi_class not in MULTI_CLASS:
        raise ValueError(f"multi_class must be 'ovo' or 'ovr', got {multi_class!r}")
    arms = []
    for key, item in _per_seed_items(per_seed, "(labels, scores_a, scores_b)", 3):
        shape_a, shape_b = tuple(np.shape(item[1])), tuple(np.shape(item[2]))
        if shape_a != shape_b:
            raise ValueError(f"per_seed[{key!r}]: scores_a {shape_a} and scores_b {shape_b} "
                             "must cover the same images and classes")
        y, pa = class_probabilities(item[0], item[1], from_logits)
        _, pb = class_probabilities(item[0], item[2], from_logits)
        arms.append((y, pa, pb, [np.flatnonzero(y == c) for c in range(pa.shape[1])]))

    def delta(y, pa, pb, idx):
        return auc(y[idx], pb[idx], multi_class, False) - auc(y[idx], pa[idx], multi_class, False)

    def draw(j, m, rng):
        y, pa, pb, by_class = arms[j]
        idx = np.zeros((m, y.size), dtype=np.intp)
        for r in range(m):  # the same draws, in the same order, as one scikit-learn call each
            idx[r] = np.concatenate([rng.choice(ix, size=ix.size) for ix in by_class])
        weights = resample_weights(idx, y.size)  # all m resamples' AUCs in one pass
        return resampled_auc(y, pb, weights, multi_class) - resampled_auc(y, pa, weights, multi_class)

    point = np.mean([delta(y, pa, pb, slice(None)) for y, pa, pb, _ in arms])
    return _hierarchical(draw, len(arms), point, n_boot, ci, seed)


def hierarchical_bootstrap_mean_ci(
    per_seed: Mapping[Any, Sequence[ArrayLike]], n_boot: int = 2000, ci: float = 0.95,
    seed: int | np.random.Generator = 0,
) -> PairedCI:
    """Hierarchical bootstrap interval of a paired Δ of per-image scores, seeds then images.

    As ``hierarchical_bootstrap_ci`` with the per-seed statistic mean(b) − mean(a) over the
    resampled images: for per-image scores such as pointing-game hits or CC.

    Args:
        per_seed: {seed: (values_a (N,), values_b (N,))} on the same test images; an image
            with NaN in either arm (e.g. a pointing-game image that is not valid) is left out.

    Returns:
        PairedCI(estimate, low, high, n_seeds).
    """
    diffs = []
    for key, item in _per_seed_items(per_seed, "(values_a, values_b)", 2):
        va, vb = (np.asarray(v, dtype=float) for v in item)
        if va.ndim != 1 or va.shape != vb.shape:
            raise ValueError(f"per_seed[{key!r}]: values must be two (N,) arrays, got "
                             f"{va.shape} and {vb.shape}")
        d = (vb - va)[np.isfinite(va) & np.isfinite(vb)]
        if d.size == 0:
            raise ValueError(f"per_seed[{key!r}] has no image scored in both arms")
        diffs.append(d)

    def draw(j, m, rng):
        d = diffs[j]
        return d[rng.integers(0, d.size, (m, d.size))].mean(axis=1)

    point = np.mean([d.mean() for d in diffs])
    return _hierarchical(draw, len(diffs), point, n_boot, ci, seed)


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
