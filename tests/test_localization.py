"""Pointing game, chance baselines and the centre prior on the Ω grid: hand-computed cases."""

import numpy as np
import pytest
import torch

from ggcam.metrics.localisation import (
    centre_prior_agreement,
    mask_chance,
    near_mask,
    peak_cells,
    peak_hits,
    pointing_game,
)
from ggcam.metrics.saliency import attention_agreement, cc


def box(h, w, rows, cols):
    m = np.zeros((h, w), dtype=bool)
    m[rows[0]:rows[1], cols[0]:cols[1]] = True
    return m


def test_near_mask_is_a_chebyshev_dilation_clipped_at_the_border():
    m = box(4, 5, (0, 1), (0, 1))  # cell (0, 0)
    assert near_mask(m, 0).sum() == 1
    np.testing.assert_array_equal(near_mask(m, 1), box(4, 5, (0, 2), (0, 2)))
    np.testing.assert_array_equal(near_mask(m, 2), box(4, 5, (0, 3), (0, 3)))
    stack = near_mask(np.stack([m, m[::-1]]), 1)  # per image, never across images
    np.testing.assert_array_equal(stack[1], box(4, 5, (2, 4), (0, 2)))
    with pytest.raises(ValueError, match="tolerance"):
        near_mask(m, -1)


def test_peak_cells_first_maximum_row_major():
    maps = np.zeros((2, 3, 4))
    maps[0, 1, 2] = 5
    maps[1, 0, 3] = maps[1, 2, 0] = 7  # tie: (0, 3) comes first
    assert peak_cells(torch.tensor(maps)).tolist() == [[1, 2], [0, 3]]
    with pytest.raises(ValueError, match="NaN"):
        peak_cells(maps * np.nan)


def test_mask_chance_values():
    m = box(4, 5, (1, 3), (1, 2))  # 2 of 20 cells
    assert mask_chance(m) == pytest.approx(2 / 20)
    # within one cell: rows 0-3, cols 0-2 → 12 of 20
    assert mask_chance(m, tolerance=1) == pytest.approx(12 / 20)
    np.testing.assert_allclose(mask_chance(np.stack([m, np.ones((4, 5), bool)])), [0.1, 1.0])
    with pytest.raises(ValueError, match="boolean or 0/1"):
        mask_chance(m * 2)


def case():
    """3 images, 2 classes, 4×5 grid; image 2 is Normal (no finding)."""
    cams = np.zeros((3, 2, 4, 5))
    truth = np.zeros((3, 4, 5), dtype=bool)
    truth[0] = box(4, 5, (1, 2), (1, 2))  # finding at (1, 1)
    truth[1] = box(4, 5, (3, 4), (3, 5))  # finding at (3, 3)-(3, 4)
    cams[0, 1, 1, 1] = 1.0  # peak of Ω^Y on the finding: hit
    cams[0, 0, 3, 4] = 9.0  # another class's peak is ignored
    cams[1, 1, 2, 1] = 1.0  # peak (2, 1): two columns from the finding → miss even at r = 1
    cams[2, 1, 0, 0] = 1.0  # Normal: not scored
    return cams, np.array([1, 1, 1]), truth


def test_pointing_game_hand_case():
    cams, labels, truth = case()
    strict = pointing_game(cams, labels, truth, tolerance=0)
    assert strict.valid.tolist() == [True, True, False]
    assert strict.hits.tolist() == [True, False, False]
    assert strict.rate == 0.5
    # chance: image 0 has 1 of 20 cells, image 1 has 2 of 20 → mean 0.075
    assert strict.chance == pytest.approx(0.075)
    cams[1, 1] = 0
    cams[1, 1, 2, 2] = 1.0  # peak (2, 2): diagonal neighbour of (3, 3)
    loose = pointing_game(cams, labels, truth)  # default tolerance 1
    assert loose.hits.tolist() == [True, True, False] and loose.rate == 1.0
    # chance at r = 1: image 0 3×3 = 9 cells; image 1 rows 2-3 × cols 2-4 = 6 → (9 + 6)/40
    assert loose.chance == pytest.approx(15 / 40)
    assert pointing_game(cams, labels, truth, 0).hits.tolist() == [True, False, False]


def test_pointing_game_no_valid_image_and_errors():
    cams, labels, truth = case()
    with pytest.warns(UserWarning, match="no image has a true-finding cell"):
        res = pointing_game(cams, labels, np.zeros_like(truth))
    assert res.rate is None and res.chance is None and not res.hits.any()
    with pytest.raises(ValueError, match=r"truth_masks must be \(3, 4, 5\)"):
        pointing_game(cams, labels, truth[:2])
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 2\)"):
        pointing_game(cams, np.array([1, 1, 2]), truth)
    with pytest.raises(ValueError, match="tolerance"):
        pointing_game(cams, labels, truth, tolerance=0.5)


def test_peak_hits_shared_mask():
    maps = np.zeros((2, 4, 5))
    maps[0, 0, 0] = maps[1, 3, 4] = 1
    assert peak_hits(maps, box(4, 5, (0, 1), (0, 1))).tolist() == [True, False]


def test_centre_prior_agreement_scores_the_mean_training_map():
    rng = np.random.default_rng(0)
    train = rng.random((6, 4, 5))
    test = rng.random((3, 4, 5))
    fixations = [np.array([[0, 0], [2, 3]])] * 3
    t = centre_prior_agreement(train, test, fixations)
    assert list(t.columns) == ["image", "cc", "kl", "sim", "nss", "auc_judd"]
    prior = train.mean(0)
    assert t.loc[1, "cc"] == pytest.approx(cc(prior, test[1]))
    want = attention_agreement(np.broadcast_to(prior, (3, 1, 4, 5)), np.zeros(3, int), test,
                               fixations)
    np.testing.assert_allclose(t[["kl", "sim", "nss", "auc_judd"]], want[["kl", "sim", "nss",
                                                                           "auc_judd"]])
    # a test map equal to the prior: CC 1, SIM 1, and KL 0 without the min-max step
    same = centre_prior_agreement(train, prior[None])
    assert same.loc[0, "cc"] == pytest.approx(1.0) and same.loc[0, "sim"] == pytest.approx(1.0)
    assert centre_prior_agreement(train, prior[None], transform=None).loc[0, "kl"] == (
        pytest.approx(0.0, abs=1e-12))
    with pytest.raises(ValueError, match="gaze_maps_test must have shape"):
        centre_prior_agreement(train, test[:, :3])
