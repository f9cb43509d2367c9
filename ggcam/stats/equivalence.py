"""Equivalence of two arms over independent replicates, and the bar a run must clear to count.

* ``tost``: Schuirmann's two one-sided t-tests that the mean per-replicate paired difference
  Δ = metric(b) − metric(a) lies within ±margin, with its (1 − 2α) t interval.
* ``tost_from_interval``: the same decision in interval-inclusion form, for a bootstrap
  interval (e.g. ``paired.hierarchical_bootstrap_ci`` at ``ci=0.90``).
* ``excludes`` and ``exclusion_sentence``: whether an interval rules out an effect such as the
  paper's reported gain, and the plain sentence a book page glues in.
* ``learned`` / ``learned_reason``: a run counts only when its test AUC is above chance and
  no class is all but never predicted.

Why independent replicates make the plain paired t and bootstrap valid. Each replicate j has
its own seed, drawn independently of the others (initialisation, data order, augmentation,
and the split where the seed fixes it), and both arms share it, so j gives one paired
difference Δ_j. Given the dataset, Δ_1, …, Δ_J are then independent and identically
distributed: the one-sample t interval of their mean (``tost``) and a bootstrap that
resamples replicates (``paired.hierarchical_bootstrap_mean_ci``) estimate the spread of
mean(Δ) without a correction. Nadeau & Bengio's corrected variance, (1/J + n_test/n_train)·σ²
instead of σ²/J (Machine Learning 52, 2003), answers another question: what a new training
set from the population would give, estimated from J resampled train/test splits of one
pool. Across such pools the J differences share training and test images and are positively
correlated, so the plain interval is too narrow for that claim. This study claims the mean Δ
over replicates on its dataset; a claim about other datasets needs other datasets, not a
variance correction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ggcam.stats.checks import check_level

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

CHANCE_AUC = 0.5  # a run's test-AUC 95% interval must lie above this to count (learned)
MIN_RECALL = 0.1  # ... and every class's recall must reach this (a one-class predictor fails)


class Equivalence(NamedTuple):
    estimate: float  # mean of the per-replicate Δ = b − a
    low: float  # lower bound of the (1 − 2α) t interval of the mean
    high: float  # upper bound of that interval
    margin: float  # equivalence margin: H1 is −margin < mean Δ < +margin
    p_lower: float  # one-sided p of H0: mean Δ <= −margin
    p_upper: float  # one-sided p of H0: mean Δ >= +margin
    p: float  # TOST p-value, max(p_lower, p_upper)
    equivalent: bool  # p < α, the same as (low, high) inside (−margin, +margin)
    n: int  # replicates


class Learned(NamedTuple):
    learned: bool  # the run is used in conclusions
    reason: str  # why, in plain words


def _check_margin(margin: float) -> float:
    margin = float(margin)
    if not (math.isfinite(margin) and margin > 0):
        raise ValueError(f"margin must be a finite number > 0, got {margin!r}")
    return margin


def _check_interval(low: float, high: float, names: str = "ci_low, ci_high") -> tuple[float, float]:
    low, high = float(low), float(high)
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise ValueError(f"{names} must be finite with low <= high, got ({low!r}, {high!r})")
    return low, high


def tost(deltas: ArrayLike, margin: float, alpha: float = 0.05) -> Equivalence:
    """Schuirmann's TOST: is the mean paired difference within ±margin of 0?

    One Δ per independent replicate (a paired design), so the tests are one-sample t-tests
    on the Δs with J − 1 degrees of freedom and standard error s/√J (s with ddof = 1):
    t_lower = (mean + margin)/se against H0: mean <= −margin (p_lower = P(T >= t_lower)),
    t_upper = (mean − margin)/se against H0: mean >= +margin (p_upper = P(T <= t_upper)).
    Equivalence is declared when both reject at α, i.e. p = max(p_lower, p_upper) < α,
    which is exactly when the (1 − 2α) interval (90% for α = 0.05) lies inside
    (−margin, +margin). Computed by ``statsmodels`` ``DescrStatsW.ttost_mean`` and
    ``tconfint_mean``.

    Args:
        deltas: per-replicate differences b − a, shape (J,), J >= 2, all finite (a NaN is
            an error, not dropped: a missing replicate is the caller's decision).
        margin: equivalence margin in the units of Δ (e.g. AUC), > 0.
        alpha: level of each one-sided test, in (0, 0.5).

    Returns:
        Equivalence(estimate, low, high, margin, p_lower, p_upper, p, equivalent, n).
    """
    d = np.asarray(deltas, dtype=float)
    margin = _check_margin(margin)
    check_level(alpha, "alpha")
    if alpha >= 0.5:
        raise ValueError(f"alpha must be < 0.5 (the interval is 1 − 2·alpha), got {alpha!r}")
    if d.ndim != 1:
        raise ValueError(f"deltas must be a 1-D array, one per replicate, got shape {d.shape}")
    if not np.isfinite(d).all():
        raise ValueError(f"deltas must be finite, got NaN/inf at positions "
                         f"{np.flatnonzero(~np.isfinite(d)).tolist()} of {d.tolist()}")
    if d.size < 2:
        raise ValueError(f"tost needs at least 2 replicates' deltas, got {d.size}")
    if np.ptp(d) == 0:
        raise ValueError(f"deltas are all equal ({d[0]!r}); a t-test needs spread between "
                         "replicates")
    from statsmodels.stats.weightstats import DescrStatsW

    stats = DescrStatsW(d)
    p, (_, p_lower, _), (_, p_upper, _) = stats.ttost_mean(-margin, margin)
    low, high = stats.tconfint_mean(alpha=2 * alpha)
    return Equivalence(float(d.mean()), float(low), float(high), margin, float(p_lower),
                       float(p_upper), float(p), bool(p < alpha), int(d.size))


def tost_from_interval(ci_low: float, ci_high: float, margin: float) -> bool:
    """TOST in interval-inclusion form: equivalent when (ci_low, ci_high) ⊂ (−margin, +margin).

    For a bootstrap interval, where no t statistic exists. The interval must have coverage
    1 − 2α for a test at level α: a 90% interval for α = 0.05 (``ci=0.90`` in
    ``paired.hierarchical_bootstrap_ci``); a 95% interval gives the stricter α = 0.025.

    Args:
        ci_low, ci_high: the interval of the mean Δ, finite, ci_low <= ci_high.
        margin: equivalence margin in the units of Δ, > 0.

    Returns:
        True when −margin < ci_low and ci_high < +margin (an end on the margin is not inside).
    """
    low, high = _check_interval(ci_low, ci_high)
    margin = _check_margin(margin)
    return bool(-margin < low and high < margin)


def excludes(ci_low: float, ci_high: float, effect: float) -> bool:
    """Whether the closed interval [ci_low, ci_high] leaves ``effect`` out (either side).

    E.g. ``excludes(-0.01, 0.03, 0.055)`` is True, ``excludes(-0.01, 0.06, 0.055)`` False.
    """
    low, high = _check_interval(ci_low, ci_high)
    effect = float(effect)
    if not math.isfinite(effect):
        raise ValueError(f"effect must be finite, got {effect!r}")
    return bool(effect < low or effect > high)


def exclusion_sentence(low: float, high: float, effect: float = 0.055,
                       label: str | None = "the paper's") -> str:
    """Plain sentence saying whether an interval of Δ rules out an effect as large as ``effect``.

    One-sided, in the effect's direction: a gain (effect > 0) is excluded when high < effect,
    a loss (effect < 0) when low > effect. An interval wholly beyond the effect (a larger
    gain) does not exclude it. Lower case, no full stop, to be glued into a page:
    "this study can exclude a gain of +0.055 (the paper's)".

    Args:
        low, high: the interval of the mean Δ, finite, low <= high.
        effect: the effect in Δ's units, non-zero (default: the paper's ΔAUC, +0.055).
        label: whose effect it is, shown in parentheses; None or "" leaves them out.
    """
    low, high = _check_interval(low, high, "low, high")
    effect = float(effect)
    if not math.isfinite(effect) or effect == 0:
        raise ValueError(f"effect must be a finite non-zero number, got {effect!r}")
    can = high < effect if effect > 0 else low > effect
    kind = "gain" if effect > 0 else "loss"
    tail = f" ({label})" if label else ""
    return f"this study {'can' if can else 'cannot'} exclude a {kind} of {effect:+g}{tail}"


def _check_recalls(recalls: ArrayLike | Mapping[str, float]) -> dict[str, float]:
    """{class name: recall}, names "class 0", ... for an array; each recall in [0, 1]."""
    if isinstance(recalls, Mapping):
        named = {str(k): float(v) for k, v in recalls.items()}
    else:
        r = np.asarray(recalls, dtype=float)
        if r.ndim != 1:
            raise ValueError(f"recalls must be one per class, shape (K,), got shape {r.shape}")
        named = {f"class {k}": float(v) for k, v in enumerate(r)}
    if not named:
        raise ValueError("recalls must hold at least one class, got none")
    bad = {k: v for k, v in named.items() if not 0 <= v <= 1}  # NaN fails too
    if bad:
        raise ValueError(f"recalls must lie in [0, 1], got {bad}")
    return named


def learned_reason(auc_low: float, recalls: ArrayLike | Mapping[str, float],
                   min_recall: float = MIN_RECALL) -> Learned:
    """Whether a run learned, and why: test-AUC interval above chance and no ignored class.

    A lower bound above 0.5 alone is not enough: a run that puts 91% of its predictions in
    one class can reach AUC 0.547 from the ranking of its scores while it never names the
    other classes; the recall floor rejects it.

    Args:
        auc_low: lower bound of the run's 95% test-AUC interval, in [0, 1].
        recalls: per-class recall on the test set, shape (K,) or {class name: recall}, each
            in [0, 1].
        min_recall: the floor every class's recall must reach, in [0, 1].

    Returns:
        Learned(learned, reason); learned when auc_low > 0.5 and every recall >= min_recall.
    """
    auc_low, min_recall = float(auc_low), float(min_recall)
    if not 0 <= auc_low <= 1:
        raise ValueError(f"auc_low must lie in [0, 1], got {auc_low!r}")
    if not 0 <= min_recall <= 1:
        raise ValueError(f"min_recall must lie in [0, 1], got {min_recall!r}")
    named = _check_recalls(recalls)
    fails = []
    if not auc_low > CHANCE_AUC:
        fails.append(f"the AUC interval's lower bound {auc_low:.3g} is not above {CHANCE_AUC:g}")
    fails += [f"{k} has recall {v:.3g}, below {min_recall:g}" for k, v in named.items()
              if v < min_recall]
    if fails:
        return Learned(False, "; ".join(fails))
    return Learned(True, f"the AUC interval's lower bound {auc_low:.3g} is above {CHANCE_AUC:g} "
                         f"and every class has recall at least {min_recall:g}")


def learned(auc_low: float, recalls: ArrayLike | Mapping[str, float],
            min_recall: float = MIN_RECALL) -> bool:
    """``learned_reason(...).learned``: a plain bool, safe in ``if`` (a NamedTuple is always true)."""
    return learned_reason(auc_low, recalls, min_recall).learned
