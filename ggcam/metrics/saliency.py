"""Agreement between network attention Ω^Y and human attention Ψ (saliency-benchmark metrics).

The paper only shows Ω^Y next to Ψ as pictures (Table 3). These functions put numbers on the
comparison with the definitions of the MIT/Tübingen saliency benchmark (Bylinskii et al.,
"What do different evaluation metrics tell us about saliency models?", TPAMI 2018), one
(h, w) map pair at a time:

* ``cc``: Pearson's linear correlation of the two maps, in [−1, 1].
* ``kl_div``: KL(Q ‖ P) = Σ Q log(ε + Q / (P + ε)), P = sal / Σ sal, Q = ref / Σ ref,
  ε = machine epsilon of float64 (2.22e-16, MATLAB's ``eps``); Ψ is the reference Q.
* ``sim``: histogram intersection Σ min(P, Q) of the two maps, each first min-max scaled
  to [0, 1] and then divided by its sum; in [0, 1].
* ``nss``: mean of (sal − mean) / std at the fixated cells (std with ddof = 1, as MATLAB's
  ``std`` in the benchmark; pysaliency uses ddof = 0, a factor √((n−1)/n) apart).
* ``auc_judd``: ROC area with thresholds at the saliency values of the fixated cells,
  true positives = fixated cells above threshold, false positives = the other cells above.

Departures from the benchmark, all deterministic and never NaN:

* Constant maps (max == min): ``cc`` and ``nss`` return 0.0 with a ``UserWarning`` (the
  benchmark divides by a zero std and returns NaN); ``sim`` treats the constant map as the
  uniform distribution, with a warning (the benchmark gives NaN, or 0 for an all-zero map).
  ``kl_div`` follows the benchmark: an all-zero map stays zero (warning).
* ``auc_judd`` does not add the benchmark's random jitter. Tied saliency values are
  grouped into one threshold; without ties this is exactly the benchmark's curve, and a
  constant map scores 0.5.

Fixations are a boolean (h, w) map or a sequence of (row, col) cells (for instance
``GridGeometry.cell_of(xy)``); repeated cells count once, as in the benchmark.

``to_numpy``, ``select_labels`` and ``fixation_map`` are ``ggcam.metrics.arrays``' (the array
helpers the metric modules share), named here too.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.special import expit

from ggcam.metrics.arrays import fixation_map, select_labels, to_numpy

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from torch import Tensor

EPS = float(np.finfo(np.float64).eps)  # ε in kl_div, MATLAB's eps
TRANSFORMS = ("minmax", "sigmoid", None)
FIX_COLUMNS = ["nss", "auc_judd"]

__all__ = [
    "EPS",
    "attention_agreement",
    "auc_judd",
    "cc",
    "fixation_map",
    "kl_div",
    "nss",
    "select_labels",
    "sim",
    "to_numpy",
]


def _map(name: str, x, shape=None) -> np.ndarray:
    a = to_numpy(x)
    if a.ndim != 2:
        raise ValueError(f"{name} must have shape (h, w), got {a.shape}")
    if shape is not None and a.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


def _is_constant(a: np.ndarray) -> bool:
    return bool(a.max() == a.min())


def cc(sal: ArrayLike | Tensor, ref: ArrayLike | Tensor) -> float:
    """Pearson's linear correlation coefficient CC(P, Q) of two maps.

    Args:
        sal: P, shape (h, w) (here T(Ω^Y)).
        ref: Q, shape (h, w) (here Ψ).

    Returns:
        CC in [−1, 1]; 1 for maps equal up to a positive affine change; 0.0 with a
        ``UserWarning`` when either map is constant.
    """
    p = _map("sal", sal)
    q = _map("ref", ref, p.shape)
    if _is_constant(p) or _is_constant(q):
        warnings.warn("cc: a constant map has no correlation; returning 0.0", stacklevel=2)
        return 0.0
    p = p - p.mean()
    q = q - q.mean()
    return float(np.sum(p * q) / np.sqrt(np.sum(p * p) * np.sum(q * q)))


def kl_div(sal: ArrayLike | Tensor, ref: ArrayLike | Tensor) -> float:
    """KL divergence of the saliency map from the reference, Σ Q log(ε + Q / (P + ε)).

    Args:
        sal: P before normalisation, non-negative, shape (h, w) (here T(Ω^Y)).
        ref: Q before normalisation, non-negative, shape (h, w) (here Ψ, the ground truth).

    Returns:
        KL ≥ 0 in nats; 0 for identical maps (up to ~1e-15). An all-zero map is left at zero,
        as in the benchmark, with a warning.
    """
    p = _map("sal", sal)
    q = _map("ref", ref, p.shape)
    for name, a in (("sal", p), ("ref", q)):
        if a.min() < 0:
            raise ValueError(f"kl_div: {name} must be non-negative, min is {a.min():.4g}")
    if not p.any() or not q.any():
        warnings.warn("kl_div: an all-zero map is left unnormalised", stacklevel=2)
    p = p / p.sum() if p.any() else p
    q = q / q.sum() if q.any() else q
    return float(np.sum(q * np.log(EPS + q / (p + EPS))))


def _minmax_distribution(a: np.ndarray, name: str) -> np.ndarray:
    if _is_constant(a):
        warnings.warn(f"sim: {name} is constant; using the uniform distribution", stacklevel=3)
        return np.full(a.shape, 1.0 / a.size)
    a = (a - a.min()) / (a.max() - a.min())
    return a / a.sum()


def sim(sal: ArrayLike | Tensor, ref: ArrayLike | Tensor) -> float:
    """Similarity (histogram intersection) Σ min(P, Q) of two min-max scaled, sum-1 maps.

    Args:
        sal: shape (h, w) (here T(Ω^Y)); ref: shape (h, w) (here Ψ). Any real values.

    Returns:
        SIM in [0, 1]: 1 for maps equal up to a positive affine change, 0 for maps whose
        min-max scaled supports are disjoint. A constant map counts as uniform (warning).
    """
    p = _map("sal", sal)
    q = _map("ref", ref, p.shape)
    return float(np.minimum(_minmax_distribution(p, "sal"), _minmax_distribution(q, "ref")).sum())


def _fixations(sal: np.ndarray, fixations) -> np.ndarray:
    f = fixation_map(fixations, sal.shape)
    if not f.any():
        raise ValueError("no fixations: the fixation map is empty")
    return f


def nss(sal: ArrayLike | Tensor, fixations: ArrayLike | Tensor) -> float:
    """Normalised scanpath saliency: mean of (sal − μ) / σ (ddof = 1) at the fixated cells.

    Args:
        sal: shape (h, w).
        fixations: bool (h, w) map or (row, col) cells; at least one.

    Returns:
        NSS; 0.0 with a warning for a constant map.
    """
    s = _map("sal", sal)
    f = _fixations(s, fixations)
    if _is_constant(s):
        warnings.warn("nss: constant saliency map; returning 0.0", stacklevel=2)
        return 0.0
    z = (s - s.mean()) / s.std(ddof=1)
    return float(z[f].mean())


def auc_judd(sal: ArrayLike | Tensor, fixations: ArrayLike | Tensor) -> float:
    """AUC-Judd: area under the ROC with thresholds at the fixated cells' saliency values.

    Args:
        sal: shape (h, w).
        fixations: bool (h, w) map or (row, col) cells; at least one, and not every cell.

    Returns:
        area in [0, 1] by the trapezoid rule over (0, 0), one point per distinct fixated
        value (descending) and (1, 1); 0.5 for a constant map.
    """
    s = _map("sal", sal)
    f = _fixations(s, fixations)
    if f.all():
        raise ValueError("auc_judd needs at least one non-fixated cell; every cell is fixated")
    on, off = np.sort(s[f])[::-1], np.sort(s[~f])
    thresholds = np.unique(on)[::-1]
    # counts of fixated / other cells with value >= each threshold
    tp = np.searchsorted(-on, -thresholds, side="right") / on.size
    fp = (off.size - np.searchsorted(off, thresholds, side="left")) / off.size
    tp = np.concatenate([[0.0], tp, [1.0]])
    fp = np.concatenate([[0.0], fp, [1.0]])
    return float(np.sum(np.diff(fp) * (tp[1:] + tp[:-1]) / 2))


def _check_agreement_inputs(cams, labels, gaze, fixations, transform, alpha):
    """Ω (N, K, h, w), Y (N,) and Ψ (N, h, w) as arrays, each checked against the others."""
    if transform not in TRANSFORMS:
        raise ValueError(f"transform must be one of {TRANSFORMS}, got {transform!r}")
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0, got {alpha!r}")
    omega = to_numpy(cams)
    if omega.ndim != 4:
        raise ValueError(f"cams must have shape (N, K, h, w), got {omega.shape}")
    n, k, h, w = omega.shape
    y = select_labels(labels, n, k)
    psi = to_numpy(gaze)
    if psi.shape != (n, h, w):
        raise ValueError(f"gaze must have shape {(n, h, w)}, got {psi.shape}")
    if fixations is not None and len(fixations) != n:
        raise ValueError(f"fixations must hold one entry per image ({n}), got {len(fixations)}")
    return omega, y, psi


def _transform(m: np.ndarray, transform, alpha: float) -> np.ndarray:
    if transform is None:
        return m
    if transform == "sigmoid":
        return expit(alpha * m)  # eq. 10, without overflow warnings
    lo, hi = m.min(), m.max()
    return np.ones_like(m) if hi == lo else (m - lo) / (hi - lo)


def attention_agreement(
    cams: ArrayLike | Tensor, labels: ArrayLike | Tensor, gaze: ArrayLike | Tensor,
    fixations: Sequence[ArrayLike] | np.ndarray | Tensor | None = None,
    transform: str | None = "minmax", alpha: float = 1.0,
) -> pd.DataFrame:
    """Per-image agreement between the true-class map Ω^Y and the visual heat map Ψ.

    All metrics use T(Ω^Y), with T chosen by ``transform``: "minmax" (default) scales each
    map to [0, 1] (a constant map becomes all ones); "sigmoid" is Sigmoid(α Ω^Y) of eq. 10;
    None uses Ω^Y as is (then ``kl_div`` rejects negative values). CC, SIM and NSS do not
    depend on the min-max step, AUC-Judd on no monotone T at all; only KL does.

    Args:
        cams: Ω, shape (N, K, h, w).
        labels: Y, shape (N,), integers in [0, K).
        gaze: Ψ, shape (N, h, w), non-negative.
        fixations: None, or per image a bool (h, w) map or (row, col) cells (a bool array
            (N, h, w) works too). With None the ``nss`` and ``auc_judd`` columns are absent.
        transform: "minmax", "sigmoid" or None.
        alpha: α of the sigmoid transform (> 0).

    Returns:
        DataFrame, one row per image: ``image`` (index in the batch), ``label``, ``cc``,
        ``kl``, ``sim`` and, with fixations, ``nss``, ``auc_judd``. These two are undefined,
        and the only NaN this function returns (with a ``UserWarning`` naming the images),
        for an image without any fixated cell; ``auc_judd`` also when every cell is fixated.
    """
    omega, y, psi = _check_agreement_inputs(cams, labels, gaze, fixations, transform, alpha)
    n, _, h, w = omega.shape
    rows, undefined = [], []
    for i in range(n):
        s = _transform(omega[i, y[i]], transform, alpha)
        row = {"image": i, "label": int(y[i]), "cc": cc(s, psi[i]), "kl": kl_div(s, psi[i])}
        row["sim"] = sim(s, psi[i])
        if fixations is not None:
            f = fixation_map(fixations[i], (h, w))
            row["nss"] = nss(s, f) if f.any() else np.nan
            row["auc_judd"] = auc_judd(s, f) if f.any() and not f.all() else np.nan
            if not f.any() or f.all():
                undefined.append(i)
        rows.append(row)
    if undefined:
        warnings.warn(
            f"attention_agreement: images {undefined} have no fixated cell (or only fixated "
            "cells); nss and/or auc_judd are NaN there",
            stacklevel=2,
        )
    columns = ["image", "label", "cc", "kl", "sim"] + ([] if fixations is None else FIX_COLUMNS)
    return pd.DataFrame(rows, columns=columns)
