"""Classification and interpretability metrics of sections 4.3-4.4 (Table 2, Figure 3, eq. 12).

* ``auc``: scikit-learn's multi-class AUC, Hand & Till's M (the paper's [13], ``"ovo"``, the
  headline) or the macro one-vs-rest mean (``"ovr"``); both are what the released code saved.
* ``precision_recall``: per-class precision and recall (Table 2), from scikit-learn.
* ``interpretability`` / ``interpretability_hits``: eq. 12, whether the peak of Ω^Y lies in
  the heart (CHF) or lung (pneumonia) region, strictly (paper) or within a 3×3 neighbourhood
  (released code); the rule is ``ggcam.metrics.localisation.peak_hits``.

The agreement metrics between Ω^Y and Ψ (CC, KL, SIM, NSS, AUC-Judd) live in
``ggcam.metrics.saliency`` and are re-exported here. Every function takes NumPy arrays or torch
tensors and does no I/O.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

from ggcam.metrics.localisation import bool_masks, peak_hits
from ggcam.metrics.saliency import (
    attention_agreement,
    auc_judd,
    cc,
    kl_div,
    nss,
    select_labels,
    sim,
    to_numpy,
)
from ggcam.study import CLASS_NAMES  # labels 0, 1, 2 (released code's order)

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from torch import Tensor

REGIONS = {1: "heart", 2: "lung"}  # eq. 12: S^Y for CHF and pneumonia; normal has none
MULTI_CLASS = ("ovo", "ovr")

__all__ = [
    "CLASS_NAMES",
    "MULTI_CLASS",
    "REGIONS",
    "attention_agreement",
    "auc",
    "auc_judd",
    "cc",
    "class_probabilities",
    "interpretability",
    "interpretability_hits",
    "kl_div",
    "nss",
    "precision_recall",
    "precision_recall_columns",
    "sim",
]


def _class_names(k: int) -> tuple[str, ...]:
    return CLASS_NAMES if k == len(CLASS_NAMES) else tuple(str(i) for i in range(k))


def class_probabilities(
    y_true: ArrayLike | Tensor, scores: ArrayLike | Tensor, from_logits: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Check labels and scores for an AUC and return ``(y, probabilities)``.

    Args:
        y_true: labels, shape (N,), integers in [0, K); every class must occur.
        scores: shape (N, K), K >= 2, class probabilities or logits, finite.
        from_logits: None decides by itself: rows that are non-negative and sum to 1 are
            probabilities, anything else is taken as logits and passed through softmax;
            True always applies softmax; False uses the scores as they are (they must then
            be probabilities, as scikit-learn requires).

    Returns:
        y, int array (N,), and the scores, float array (N, K).
    """
    s = to_numpy(scores)
    if s.ndim != 2 or s.shape[1] < 2:
        raise ValueError(f"scores must have shape (N, K) with K >= 2, got {s.shape}")
    if not np.isfinite(s).all():
        raise ValueError("scores contain NaN or infinite values")
    n, k = s.shape
    y = select_labels(y_true, n, k)
    missing = sorted(set(range(k)) - set(np.unique(y).tolist()))
    if missing:
        raise ValueError(f"AUC needs every class in y_true; class(es) {missing} of {k} missing")
    is_prob = s.min() >= 0 and np.allclose(s.sum(axis=1), 1.0)
    if from_logits or (from_logits is None and not is_prob):
        e = np.exp(s - s.max(axis=1, keepdims=True))
        s = e / e.sum(axis=1, keepdims=True)
    return y, s


def auc(
    y_true: ArrayLike | Tensor, scores: ArrayLike | Tensor, multi_class: str = "ovo",
    from_logits: bool | None = None,
) -> float:
    """Multi-class AUC: Hand & Till's M (``"ovo"``) or the macro one-vs-rest mean (``"ovr"``).

    ``sklearn.metrics.roc_auc_score(y, probs, multi_class=multi_class, average="macro")``
    after the checks of ``class_probabilities``; with K = 2 classes, where scikit-learn takes
    one score column, both are the mean of the two one-vs-rest AUCs (equal to the AUC of
    column 1 for probabilities). Ties count ½ (Mann-Whitney).

    Args:
        y_true: labels, shape (N,), integers in [0, K); every class must occur.
        scores: shape (N, K), class probabilities or logits.
        multi_class: "ovo" (Hand & Till, the paper's [13]) or "ovr".
        from_logits: as in ``class_probabilities`` (so ``auc(y, logits) ==
            auc(y, softmax(logits))``).

    Returns:
        AUC in [0, 1].
    """
    if multi_class not in MULTI_CLASS:
        raise ValueError(f"multi_class must be 'ovo' or 'ovr', got {multi_class!r}")
    y, s = class_probabilities(y_true, scores, from_logits)
    k = s.shape[1]
    try:
        if k == 2:
            return float(np.mean([roc_auc_score(y == c, s[:, c]) for c in range(2)]))
        return float(roc_auc_score(y, s, multi_class=multi_class, average="macro",
                                   labels=np.arange(k)))
    except ValueError as err:
        raise ValueError(f"auc of y_true {y.shape} and scores {s.shape} (multi_class="
                         f"{multi_class!r}, from_logits={from_logits!r}): {err}") from err


def precision_recall(
    y_true: ArrayLike | Tensor, y_pred: ArrayLike | Tensor, num_classes: int = 3
) -> pd.DataFrame:
    """Per-class precision and recall, as in Table 2.

    ``sklearn.metrics.precision_recall_fscore_support(..., zero_division=0)``: a class that
    is never predicted gets precision 0.0 and a class absent from ``y_true`` gets recall
    0.0, each with a ``UserWarning`` naming the classes (never NaN).

    Args:
        y_true: labels, shape (N,), integers in [0, num_classes).
        y_pred: predicted labels, shape (N,) (e.g. ``logits.argmax(1)``).
        num_classes: K.

    Returns:
        DataFrame indexed by class name ("Normal", "CHF", "pneumonia" for K = 3, else "0"...)
        with columns ``precision``, ``recall``, ``support`` (true count), ``predicted`` (count).
    """
    if isinstance(num_classes, bool) or int(num_classes) != num_classes or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    y = to_numpy(y_true, dtype=None)
    if y.ndim != 1:
        raise ValueError(f"y_true must have shape (N,), got {y.shape}")
    y = select_labels(y, y.size, num_classes)
    p = to_numpy(y_pred, dtype=None)
    if p.shape != y.shape:
        raise ValueError(f"y_pred must have the shape of y_true {y.shape}, got {p.shape}")
    p = select_labels(p, y.size, num_classes)
    names = _class_names(num_classes)
    predicted = np.bincount(p, minlength=num_classes)
    prec, rec, _, support = precision_recall_fscore_support(
        y, p, labels=np.arange(num_classes), zero_division=0.0
    )
    for what, den in (("precision", predicted), ("recall", support)):
        zero = [names[c] for c in np.flatnonzero(den == 0)]
        if zero:
            why = "never predicted" if what == "precision" else "absent from y_true"
            warnings.warn(f"{what} set to 0.0 for class(es) {zero}: {why}", stacklevel=2)
    return pd.DataFrame(
        {"precision": prec.astype(float), "recall": rec.astype(float),
         "support": support.astype(np.int64), "predicted": predicted},
        index=pd.Index(names, name="class"),
    )


def precision_recall_columns(table: pd.DataFrame) -> dict[str, float]:
    """Flatten ``precision_recall`` output to the runs-table columns, e.g. ``precision_chf``."""
    return {
        f"{what}_{name.lower()}": float(table.loc[name, what])
        for name in table.index
        for what in ("precision", "recall")
    }


def _region_masks(masks: Mapping, regions: Mapping[int, str], needed, n, h, w) -> dict:
    if not isinstance(masks, Mapping):
        raise ValueError(f"masks must be a dict {{'heart': ..., 'lung': ...}}, got {type(masks)}")
    out = {}
    for c in needed:
        key = regions[c]
        if key not in masks:
            raise ValueError(f"masks has no {key!r} (has {sorted(masks)}); class {c} needs it")
        out[c] = bool_masks(masks[key], (n, h, w), f"masks[{key!r}]")
    return out


def interpretability_hits(
    cams: ArrayLike | Tensor, labels: ArrayLike | Tensor, masks: Mapping[str, ArrayLike | Tensor],
    neighbourhood: int = 0, regions: Mapping[int, str] = REGIONS,
) -> np.ndarray:
    """Per-image eq. 12: does argmax_ij Ω^Y_ij lie in the region S^Y?

    The argmax is taken over the flattened map, so ties go to the first maximum in row-major
    order (NumPy's rule). With ``neighbourhood`` = r > 0 the image is a hit when any cell
    within Chebyshev distance r of the argmax (clipped at the grid border) is in S^Y; r = 1
    is the released code's 3×3 tolerance, r = 0 the paper's strict test.

    Args:
        cams: Ω, shape (N, K, h, w).
        labels: Y, shape (N,), integers in [0, K).
        masks: {"heart": bool (N, h, w), "lung": bool (N, h, w)}; a (h, w) mask is shared
            by all images. Only the regions of labels present are needed.
        neighbourhood: r >= 0.
        regions: class -> mask key; classes not listed (normal) are skipped.

    Returns:
        bool array of shape (N,); False for images whose class has no region (select the
        evaluated ones with ``np.isin(labels, list(regions))``).
    """
    if isinstance(neighbourhood, bool) or int(neighbourhood) != neighbourhood or neighbourhood < 0:
        raise ValueError(f"neighbourhood must be an integer >= 0, got {neighbourhood!r}")
    r = int(neighbourhood)
    omega = to_numpy(cams)
    if omega.ndim != 4:
        raise ValueError(f"cams must have shape (N, K, h, w), got {omega.shape}")
    if not np.isfinite(omega).all():
        raise ValueError("cams contain NaN or infinite values")
    n, k, h, w = omega.shape
    y = select_labels(labels, n, k)
    if any(not 0 <= c < k for c in regions):
        raise ValueError(f"regions keys must be classes in [0, {k}), got {sorted(regions)}")
    needed = sorted(c for c in set(y.tolist()) if c in regions)
    region = _region_masks(masks, regions, needed, n, h, w)
    hits = np.zeros(n, dtype=bool)
    for c in needed:
        sel = y == c
        hits[sel] = peak_hits(omega[sel, c], region[c][sel], r)
    return hits


def interpretability(
    cams: ArrayLike | Tensor, labels: ArrayLike | Tensor, masks: Mapping[str, ArrayLike | Tensor],
    neighbourhood: int = 0, regions: Mapping[int, str] = REGIONS,
) -> dict[str, float | None]:
    """Interpretability of section 4.4: the fraction of images of each class meeting eq. 12.

    Args: as ``interpretability_hits``.

    Returns:
        {class name: fraction}, e.g. {"CHF": 0.6, "pneumonia": 0.8}, for every class in
        ``regions``. A class with no images gets None (never NaN), with a ``UserWarning``.
    """
    omega = to_numpy(cams)
    hits = interpretability_hits(omega, labels, masks, neighbourhood, regions)
    k = omega.shape[1]
    y = select_labels(labels, hits.size, k)
    names = _class_names(k)
    out: dict[str, float | None] = {}
    for c in regions:
        sel = y == c
        if not sel.any():
            warnings.warn(f"interpretability: no images of class {names[c]!r}; None", stacklevel=2)
            out[names[c]] = None
        else:
            out[names[c]] = float(hits[sel].mean())
    return out
