"""AUC (Hand & Till, one-vs-rest), precision/recall and eq. 12 interpretability.

The AUC comes from scikit-learn; the oracle here is the rank-based Hand & Till M, written
out from the paper's definition and used nowhere else.
"""

import warnings

import numpy as np
import pytest
import torch
from scipy.stats import rankdata
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

from ggcam.data.layout import CLASS_NAMES
from ggcam.metrics.classification import (
    CLASS_NAMES as METRIC_CLASS_NAMES,
)
from ggcam.metrics.classification import (
    auc,
    class_probabilities,
    interpretability,
    interpretability_hits,
    precision_recall,
    precision_recall_columns,
)


def softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def labels_all_classes(rng, n, k=3):
    y = rng.integers(0, k, n)
    y[:k] = np.arange(k)
    return y


# ---- AUC ------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("multi_class", ["ovo", "ovr"])
def test_auc_equals_sklearn(seed, multi_class):
    rng = np.random.default_rng(seed)
    y = labels_all_classes(rng, 80, 4)
    p = rng.dirichlet(np.ones(4), size=80)
    want = roc_auc_score(y, p, multi_class=multi_class, average="macro")
    assert auc(y, p, multi_class) == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize("multi_class", ["ovo", "ovr"])
def test_auc_equals_sklearn_with_ties(multi_class):
    rng = np.random.default_rng(5)
    palette = np.array([[0.2, 0.3, 0.5], [0.5, 0.3, 0.2], [1 / 3] * 3, [0.2, 0.5, 0.3]])
    p = palette[rng.integers(0, 4, 60)]  # few distinct rows: many ties
    y = labels_all_classes(rng, 60)
    want = roc_auc_score(y, p, multi_class=multi_class, average="macro")
    assert auc(y, p, multi_class) == pytest.approx(want, abs=1e-12)


def test_auc_logits_are_softmaxed():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(50, 3)) * 3
    y = labels_all_classes(rng, 50)
    want = roc_auc_score(y, softmax(z), multi_class="ovo")
    assert auc(y, z) == pytest.approx(want, abs=1e-12)
    assert auc(y, torch.tensor(z), from_logits=True) == pytest.approx(want, abs=1e-12)
    assert auc(torch.tensor(y), torch.tensor(z)) == pytest.approx(want, abs=1e-12)


def brute_force_hand_till(y, s):
    """M = mean over pairs i<j of ½(A(i|j) + A(j|i)), A by counting all (i, j) pairs."""
    def a(i, j):  # P(s_i of a class-i image > s_i of a class-j image), ties ½
        x, z = s[y == i, i][:, None], s[y == j, i][None, :]
        return np.mean((x > z) + 0.5 * (x == z))

    k = s.shape[1]
    return np.mean([(a(i, j) + a(j, i)) / 2 for i in range(k) for j in range(i + 1, k)])


def binary_auc(pos, neg):
    """Mann-Whitney U / (n₁ n₀): P(positive > negative) + ½ P(tie), from mean ranks."""
    ranks = rankdata(np.concatenate([pos, neg]))
    n1 = pos.size
    return (ranks[:n1].sum() - n1 * (n1 + 1) / 2) / (n1 * neg.size)


def rank_hand_till(y, s, multi_class="ovo"):
    """The hand-written AUC the library used before scikit-learn: the oracle."""
    k = s.shape[1]
    if multi_class == "ovr":
        return np.mean([binary_auc(s[y == c, c], s[y != c, c]) for c in range(k)])
    return np.mean([(binary_auc(s[y == i, i], s[y == j, i]) + binary_auc(s[y == j, j], s[y == i, j]))
                    / 2 for i in range(k) for j in range(i + 1, k)])


@pytest.mark.parametrize("multi_class", ["ovo", "ovr"])
def test_auc_equals_rank_oracle(multi_class):
    rng = np.random.default_rng(4)
    y = labels_all_classes(rng, 70, 4)
    p = softmax(np.round(rng.normal(size=(70, 4)), 1))  # ties in the scores
    assert auc(y, p, multi_class) == pytest.approx(rank_hand_till(y, p, multi_class), abs=1e-12)
    if multi_class == "ovo":
        assert auc(y, p) == pytest.approx(brute_force_hand_till(y, p), abs=1e-12)


def test_auc_raw_scores_are_refused_with_what_was_passed():
    rng = np.random.default_rng(2)
    s = np.round(rng.normal(size=(40, 3)), 1)  # raw per-class scores, not probabilities
    y = labels_all_classes(rng, 40)
    with pytest.raises(ValueError, match=r"auc of y_true \(40,\) and scores \(40, 3\) "
                       r"\(multi_class='ovo', from_logits=False\): Target scores need"):
        auc(y, s, from_logits=False)
    # the same scores as logits: softmax first
    assert auc(y, s) == pytest.approx(brute_force_hand_till(y, softmax(s)), abs=1e-12)


def test_auc_binary_raw_scores_mean_of_both_columns():
    # K = 2: the mean of the two one-vs-rest AUCs, = Hand & Till for K = 2
    y = np.array([0, 0, 1, 1])
    s = np.array([[0.9, 0.3], [0.1, 0.2], [0.5, 0.8], [0.2, 0.4]])
    # column 0 for class 0: {0.9, 0.1} vs {0.5, 0.2} → 2 of 4 pairs → ½
    # column 1 for class 1: {0.8, 0.4} vs {0.3, 0.2} → 4 of 4 → 1;  mean ¾
    assert auc(y, s, from_logits=False) == pytest.approx(0.75)
    assert auc(y, s, from_logits=False) == pytest.approx(brute_force_hand_till(y, s))


def test_class_probabilities_and_class_names():
    y, p = class_probabilities(torch.tensor([0, 1, 2]), torch.zeros(3, 3))
    assert y.tolist() == [0, 1, 2] and np.allclose(p, 1 / 3)  # zeros are logits: softmax
    q = np.array([[0.2, 0.3, 0.5]] * 3)
    np.testing.assert_array_equal(class_probabilities([0, 1, 2], q)[1], q)  # kept as is
    assert METRIC_CLASS_NAMES is CLASS_NAMES


def test_auc_hand_cases():
    # 3 images, one per class; one-hot probabilities ranked perfectly → 1
    y = np.array([0, 1, 2])
    assert auc(y, np.eye(3)) == 1.0
    # rows [0,1,0], [0,0,1], [1,0,0] for images of class 0, 1, 2:
    # pair (0,1): A(0|1) compares s0: 0 vs 0 → ½; A(1|0) compares s1: 0 vs 1 → 0; Â = ¼
    # pair (0,2): A(0|2) s0: 0 vs 1 → 0; A(2|0) s2: 0 vs 0 → ½; Â = ¼
    # pair (1,2): A(1|2) s1: 0 vs 0 → ½; A(2|1) s2: 0 vs 1 → 0; Â = ¼  →  M = ¼
    assert auc(y, np.eye(3)[[1, 2, 0]]) == pytest.approx(0.25)
    # one-vs-rest: class 0: s0 of img0 = 0 vs {0, 1} → ¼; class 1: 0 vs {1, 0} → ¼;
    # class 2: 0 vs {0, 1} → ¼  →  ¼
    assert auc(y, np.eye(3)[[1, 2, 0]], "ovr") == pytest.approx(0.25)


def test_auc_binary():
    rng = np.random.default_rng(3)
    y = labels_all_classes(rng, 30, 2)
    p = rng.dirichlet([1, 1], size=30)
    assert auc(y, p) == pytest.approx(roc_auc_score(y, p[:, 1]))


def test_auc_errors():
    y = np.array([0, 1, 1, 0])
    p = np.full((4, 3), 1 / 3)
    with pytest.raises(ValueError, match=r"class\(es\) \[2\] of 3 missing"):
        auc(y, p)
    with pytest.raises(ValueError, match=r"labels must have shape \(4,\)"):
        auc(np.array([0, 1, 2]), p)
    with pytest.raises(ValueError, match=r"scores must have shape \(N, K\)"):
        auc(y, p[:, 0])
    with pytest.raises(ValueError, match="NaN"):
        auc(np.array([0, 1, 2, 0]), np.full((4, 3), np.nan))
    with pytest.raises(ValueError, match="multi_class"):
        auc(np.array([0, 1, 2, 0]), p, multi_class="macro")
    with pytest.raises(ValueError, match=r"integers in \[0, 3\)"):
        auc(np.array([0, 1, 2, 3]), p)


# ---- precision / recall ---------------------------------------------------------------------


def test_precision_recall_equals_sklearn():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 3, 100), rng.integers(0, 3, 100)
    table = precision_recall(y, p)
    prec, rec, _, sup = precision_recall_fscore_support(y, p, labels=[0, 1, 2])
    np.testing.assert_allclose(table["precision"], prec)
    np.testing.assert_allclose(table["recall"], rec)
    assert table["support"].tolist() == sup.tolist()
    assert table.index.tolist() == ["Normal", "CHF", "pneumonia"]


def test_precision_recall_hand_case():
    # y = [0,0,1,1,2,2], pred = [0,1,1,1,0,2]
    # normal: tp 1, predicted 2, support 2 → P ½, R ½; CHF: tp 2, predicted 3 → P ⅔, R 1
    # pneumonia: tp 1, predicted 1 → P 1, R ½
    t = precision_recall(np.array([0, 0, 1, 1, 2, 2]), torch.tensor([0, 1, 1, 1, 0, 2]))
    np.testing.assert_allclose(t["precision"], [0.5, 2 / 3, 1.0])
    np.testing.assert_allclose(t["recall"], [0.5, 1.0, 0.5])
    cols = precision_recall_columns(t)
    assert cols["precision_chf"] == pytest.approx(2 / 3) and cols["recall_pneumonia"] == 0.5
    assert sorted(cols) == sorted(f"{m}_{c}" for m in ("precision", "recall")
                                  for c in ("normal", "chf", "pneumonia"))


def test_precision_recall_zero_division():
    y, p = np.array([0, 0, 1, 1]), np.array([0, 0, 0, 0])
    with pytest.warns(UserWarning) as seen:
        t = precision_recall(y, p)
    messages = " ".join(str(w.message) for w in seen)
    assert "precision set to 0.0" in messages and "['CHF', 'pneumonia']" in messages
    assert "recall set to 0.0" in messages and "['pneumonia']" in messages
    assert not t.isna().any().any()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prec, rec, _, _ = precision_recall_fscore_support(y, p, labels=[0, 1, 2], zero_division=0)
    np.testing.assert_allclose(t["precision"], prec)
    np.testing.assert_allclose(t["recall"], rec)


def test_precision_recall_errors():
    with pytest.raises(ValueError, match="y_pred must have the shape"):
        precision_recall(np.array([0, 1]), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"integers in \[0, 3\)"):
        precision_recall(np.array([0, 1]), np.array([0, 5]))
    with pytest.raises(ValueError, match="num_classes"):
        precision_recall(np.array([0, 1]), np.array([0, 1]), num_classes=1)
    assert precision_recall(np.array([0, 1]), np.array([0, 1]), 2).index.tolist() == ["0", "1"]


# ---- interpretability (eq. 12) --------------------------------------------------------------


def _case():
    """4 images on a 3×4 grid: heart = column 0, lung = columns 2-3 (shared masks)."""
    cams = np.zeros((4, 3, 3, 4))
    heart = np.zeros((3, 4), dtype=bool)
    heart[:, 0] = True
    lung = np.zeros((3, 4), dtype=bool)
    lung[:, 2:] = True
    labels = np.array([1, 1, 2, 0])
    cams[0, 1, 1, 0] = 5  # CHF, peak (1,0) in the heart → hit
    cams[1, 1, 2, 1] = 5  # CHF, peak (2,1): outside; 3×3 window reaches column 0 → hit at r=1
    cams[1, 0, 0, 0] = 9  # a higher peak of another class is ignored
    cams[2, 2, 0, 0] = 5  # pneumonia, peak (0,0): not lung, window cols 0-1 → miss even at r=1
    cams[3, 0, 0, 3] = 5  # normal: skipped
    return cams, labels, {"heart": heart, "lung": lung}


def test_interpretability_hand_case():
    cams, labels, masks = _case()
    assert interpretability_hits(cams, labels, masks).tolist() == [True, False, False, False]
    assert interpretability_hits(cams, labels, masks, 1).tolist() == [True, True, False, False]
    assert interpretability(cams, labels, masks) == {"CHF": 0.5, "pneumonia": 0.0}
    assert interpretability(cams, labels, masks, neighbourhood=1) == {"CHF": 1.0, "pneumonia": 0.0}


def test_interpretability_tie_takes_first_in_row_major_order():
    cams, labels, masks = _case()
    cams[2, 2] = 0
    cams[2, 2, 0, 1] = 5  # first maximum (0,1): not lung
    cams[2, 2, 0, 3] = 5  # tied later maximum (0,3): lung
    assert not interpretability_hits(cams, labels, masks)[2]
    cams[2, 2, 0, 1] = 0
    cams[2, 2, 1, 0] = 5  # now (0,3) comes first in row-major order
    assert interpretability_hits(cams, labels, masks)[2]


def test_interpretability_per_image_masks_and_torch():
    cams, labels, masks = _case()
    per_image = {k: np.broadcast_to(v, (4, 3, 4)).astype(int) for k, v in masks.items()}
    per_image["lung"] = per_image["lung"].copy()
    per_image["lung"][2, 0, 0] = 1  # image 2's own lung mask covers its peak
    hits = interpretability_hits(torch.tensor(cams), torch.tensor(labels), per_image)
    assert hits.tolist() == [True, False, True, False]


def test_interpretability_missing_class_gives_none():
    cams, labels, masks = _case()
    with pytest.warns(UserWarning, match="no images of class 'pneumonia'"):
        out = interpretability(cams[[0, 1, 3]], labels[[0, 1, 3]], {"heart": masks["heart"]})
    assert out == {"CHF": 0.5, "pneumonia": None}


def test_interpretability_errors():
    cams, labels, masks = _case()
    with pytest.raises(ValueError, match="masks has no 'lung'"):
        interpretability(cams, labels, {"heart": masks["heart"]})
    with pytest.raises(ValueError, match=r"masks\['heart'\] must be \(4, 3, 4\)"):
        interpretability(cams, labels, {**masks, "heart": masks["heart"][:2]})
    with pytest.raises(ValueError, match="boolean or 0/1"):
        interpretability(cams, labels, {**masks, "heart": masks["heart"] * 2.5})
    with pytest.raises(ValueError, match="neighbourhood"):
        interpretability(cams, labels, masks, neighbourhood=-1)
    with pytest.raises(ValueError, match="neighbourhood"):
        interpretability(cams, labels, masks, neighbourhood=1.5)
    with pytest.raises(ValueError, match=r"cams must have shape \(N, K, h, w\)"):
        interpretability(cams[0], labels, masks)
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 3\)"):
        interpretability(cams, np.array([1, 1, 2, 4]), masks)
    with pytest.raises(ValueError, match="NaN"):
        interpretability(cams * np.nan, labels, masks)
    with pytest.raises(ValueError, match="masks must be a dict"):
        interpretability(cams, labels, [masks["heart"], masks["lung"]])
    with pytest.raises(ValueError, match="regions keys"):
        interpretability(cams, labels, masks, regions={5: "heart"})
