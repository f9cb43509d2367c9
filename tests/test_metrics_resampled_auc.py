"""``metrics.resampled_auc``: equal to scikit-learn's AUC on every resample, ties and K = 2 included."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from ggcam.metrics import auc
from ggcam.metrics.resampled_auc import resample_weights, resampled_auc


def _case(k, n, ties, seed):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    p = rng.random((n, k)) + 0.05
    if ties:
        p = np.round(p, 1) + 0.05  # many exact ties within and across classes
    p /= p.sum(axis=1, keepdims=True)
    by_class = [np.flatnonzero(y == c) for c in range(k)]
    idx = np.stack([np.concatenate([rng.choice(ix, ix.size) for ix in by_class]) for _ in range(60)])
    return y, p, idx


@pytest.mark.parametrize("k", [2, 3, 4])
@pytest.mark.parametrize("multi_class", ["ovo", "ovr"])
@pytest.mark.parametrize("ties", [False, True])
def test_equals_sklearn_on_each_resample(k, multi_class, ties):
    y, p, idx = _case(k, 90, ties, seed=k)
    fast = resampled_auc(y, p, resample_weights(idx, y.size), multi_class)
    if k == 2:
        ref = [np.mean([roc_auc_score(y[i] == c, p[i, c]) for c in range(2)]) for i in idx]
    else:
        ref = [roc_auc_score(y[i], p[i], multi_class=multi_class, average="macro") for i in idx]
    np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-12)


def test_identity_resample_is_the_plain_auc():
    y, p, _ = _case(3, 60, ties=True, seed=0)
    whole = resampled_auc(y, p, np.ones((1, y.size)))
    assert whole[0] == pytest.approx(auc(y, p, "ovo", from_logits=False), abs=1e-14)


def test_missing_class_is_nan_not_a_number():
    y = np.array([0, 0, 1, 1, 2, 2])
    p = np.full((6, 3), 1 / 3)
    weights = resample_weights(np.array([[0, 1, 2, 3, 0, 1]]), 6)  # class 2 never drawn
    assert np.isnan(resampled_auc(y, p, weights)[0])


def test_bad_shapes_and_indices_are_named():
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 4\)"):
        resample_weights(np.array([[0, 4]]), 4)
    with pytest.raises(ValueError, match="y \\(n,\\), probs \\(n, K\\), weights \\(R, n\\)"):
        resampled_auc(np.zeros(3), np.zeros((3, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="multi_class"):
        resampled_auc(np.arange(3), np.eye(3), np.ones((1, 3)), "macro")
