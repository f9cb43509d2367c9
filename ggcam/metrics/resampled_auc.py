"""The multi-class AUC of many bootstrap resamples at once (the intervals' inner loop).

``metrics.auc`` (scikit-learn) stays the AUC of one evaluation and the reference in tests; this
computes the same number for R resamples of one test set in one pass, which is what every
bootstrap interval of the study needs (1,000 scikit-learn calls took ~0.26 CPU-s per draw of the
paired table; this takes milliseconds for all of them).

A resample is a row of indices into the N test images; drawing image i c times gives it weight
c. A weighted Mann-Whitney AUC needs only the scores' order, found once: with the images sorted
by score, a positive's "negatives below it" is a cumulative sum of the negatives' weights, and
its ties are the weight between the two ends of its run of equal scores (ties count ½, as in
scikit-learn's trapezoidal ROC).
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["resample_weights", "resampled_auc"]


def resample_weights(idx: np.ndarray, n: int) -> np.ndarray:
    """How often each of n images appears in each resample: (R, n_draws) indices → (R, n) counts."""
    idx = np.asarray(idx)
    if idx.ndim != 2:
        raise ValueError(f"resample indices must be (replicates, draws), got shape {idx.shape}")
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"resample indices must lie in [0, {n}), got {idx.min()}..{idx.max()}")
    r = idx.shape[0]
    flat = (idx + n * np.arange(r)[:, None]).ravel()
    return np.bincount(flat, minlength=r * n).reshape(r, n).astype(float)


def _binary_auc(scores: np.ndarray, pos_w: np.ndarray, neg_w: np.ndarray) -> np.ndarray:
    """Weighted AUC of positives over negatives, per resample: scores (n,), weights (R, n)."""
    order = np.argsort(scores, kind="mergesort")
    s = scores[order]
    pos, neg = pos_w[:, order], neg_w[:, order]
    below = np.concatenate([np.zeros((neg.shape[0], 1)), np.cumsum(neg, axis=1)], axis=1)
    left = np.searchsorted(s, s, side="left")  # first image tied with each
    right = np.searchsorted(s, s, side="right")  # one past the last
    beaten = below[:, left] + 0.5 * (below[:, right] - below[:, left])
    n_pairs = pos.sum(axis=1) * neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (pos * beaten).sum(axis=1) / n_pairs


def resampled_auc(y: np.ndarray, probs: np.ndarray, weights: np.ndarray, multi_class: str = "ovo") -> np.ndarray:
    """``metrics.auc(y[idx], probs[idx], multi_class)`` for every resample, as one array.

    Args:
        y: labels (n,), integers in [0, K).
        probs: class probabilities (n, K) (``metrics.class_probabilities``: AUC is computed
            on probabilities, as ``metrics.auc`` does, since softmax reorders a column).
        weights: (R, n) times each image is drawn per resample (``resample_weights``).
        multi_class: "ovo" (Hand & Till: the mean over class pairs of the two directed AUCs)
            or "ovr" (macro one-vs-rest); with K = 2 both are the mean of the two one-vs-rest
            AUCs, as in ``metrics.auc``.

    Returns:
        (R,) AUCs; NaN for a resample missing a class (scikit-learn would raise).
    """
    y = np.asarray(y)
    probs = np.asarray(probs, dtype=float)
    weights = np.asarray(weights, dtype=float)
    if probs.ndim != 2 or y.shape != (probs.shape[0],) or weights.ndim != 2 or weights.shape[1] != y.size:
        raise ValueError(f"resampled_auc needs y (n,), probs (n, K), weights (R, n); got {y.shape}, "
                         f"{probs.shape}, {weights.shape}")
    k = probs.shape[1]
    member = [(y == c).astype(float) for c in range(k)]
    if multi_class == "ovr" or k == 2:
        parts = [_binary_auc(probs[:, c], weights * member[c], weights * (1 - member[c])) for c in range(k)]
    elif multi_class == "ovo":
        parts = []
        for a, b in itertools.combinations(range(k), 2):
            wa, wb = weights * member[a], weights * member[b]
            parts.append(0.5 * (_binary_auc(probs[:, a], wa, wb) + _binary_auc(probs[:, b], wb, wa)))
    else:
        raise ValueError(f"multi_class must be 'ovo' or 'ovr', got {multi_class!r}")
    return np.mean(parts, axis=0)
