"""Image-space localisation (ggcam.metrics.image_localisation): values, baselines, errors."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from ggcam.metrics.baselines import (
    best_fixed_location,
    dynamic_range,
    fixed_location_maps,
    mean_prior_maps,
    oracle_maps,
    passes_dynamic_range,
    random_peak_chance,
)
from ggcam.metrics.image_localisation import (
    energy_inside,
    inside_auroc,
    localisation_table,
    pointing_hits,
    tolerance_at,
    upsample_maps,
)
from ggcam.viz.maps import upsample_bilinear


def _box_masks(boxes, shape=(48, 64)) -> np.ndarray:
    """bool (N, H, W) from (r0, r1, c0, c1) boxes; None gives an empty mask."""
    out = np.zeros((len(boxes), *shape), dtype=bool)
    for i, b in enumerate(boxes):
        if b is not None:
            out[i, b[0]:b[1], b[2]:b[3]] = True
    return out


def _cell_boxes(rng, n, grid=(6, 8), s=8, label_free=0):
    """n masks of one s×s block centred on a random receptive-field centre (s·i, s·j)."""
    cells = np.stack([rng.integers(1, grid[0], n), rng.integers(1, grid[1], n)], axis=1)
    boxes = [(s * i - s // 2, s * i + s // 2, s * j - s // 2, s * j + s // 2) for i, j in cells]
    return _box_masks(boxes + [None] * label_free, (grid[0] * s, grid[1] * s))


def _literal_upsample(m: np.ndarray, s: int) -> np.ndarray:
    """Slow reference: pixel (y, x) samples the grid at (y / s, x / s), clamped, bilinearly."""
    h, w = m.shape
    out = np.zeros((h * s, w * s))
    for y in range(h * s):
        for x in range(w * s):
            gy, gx = min(y / s, h - 1), min(x / s, w - 1)
            i, j = int(gy), int(gx)
            i1, j1 = min(i + 1, h - 1), min(j + 1, w - 1)
            ty, tx = gy - i, gx - j
            out[y, x] = ((1 - ty) * (1 - tx) * m[i, j] + (1 - ty) * tx * m[i, j1]
                         + ty * (1 - tx) * m[i1, j] + ty * tx * m[i1, j1])
    return out


def test_upsample_puts_each_cell_on_its_receptive_field_centre():
    m = np.zeros((1, 3, 4))
    m[0, 1, 2] = 1.0
    up = upsample_maps(m, (96, 128))
    assert up.shape == (1, 96, 128)
    assert np.unravel_index(up[0].argmax(), up[0].shape) == (32, 64)  # (s·i, s·j), s = 32
    assert up[0, 48, 64] == pytest.approx(0.5) and up[0, 32, 80] == pytest.approx(0.5)
    # the viz helper (align_corners=False) peaks at the block centre, 15.5 px away
    viz = upsample_bilinear(m[0], (96, 128))
    assert np.unravel_index(viz.argmax(), viz.shape) != (32, 64)


def test_upsample_equals_the_literal_reference():
    m = np.random.default_rng(0).normal(size=(2, 3, 5))
    up = upsample_maps(m, (12, 20))
    for k in range(2):
        np.testing.assert_allclose(up[k], _literal_upsample(m[k], 4), atol=1e-12)


def test_constant_map_auroc_half_and_energy_area_share():
    masks = _box_masks([(5, 15, 10, 30), (0, 48, 0, 1)])
    flat = np.full((2, 48, 64), 3.0)
    np.testing.assert_allclose(inside_auroc(flat, masks), [0.5, 0.5])
    with pytest.warns(UserWarning, match="2 constant map"):
        energy = energy_inside(flat, masks)
    np.testing.assert_allclose(energy, [200 / 3072, 48 / 3072])


def test_inside_auroc_equals_sklearn_and_energy_a_hand_value():
    rng = np.random.default_rng(1)
    maps = rng.integers(0, 5, size=(3, 48, 64)).astype(float)  # many ties
    masks = _box_masks([(5, 15, 10, 30), (20, 40, 0, 8), (1, 2, 1, 2)])
    got = inside_auroc(maps, masks)
    for i in range(3):
        assert got[i] == pytest.approx(roc_auc_score(masks[i].ravel(), maps[i].ravel()), abs=1e-12)
    m = np.zeros((1, 48, 64))
    m[0, :, :32] = 2.0  # min-max → 1 on the left half, 0 on the right
    m[0, 0, 63] = 1.0  # one pixel at 0.5
    e = energy_inside(m, _box_masks([(0, 48, 0, 16)]))
    assert e[0] == pytest.approx(768 / (1536 + 0.5))


def test_pointing_hits_inside_near_and_far():
    masks = _box_masks([(10, 20, 10, 20)] * 4)
    maps = np.zeros((4, 48, 64))
    maps[0, 15, 15] = 1  # inside
    maps[1, 21, 20] = 1  # √5 from the corner pixel (19, 19)
    maps[2, 40, 50] = 1  # far
    maps[3, 15, 15] = maps[3, 40, 50] = 1  # tie: the first maximum (row-major) counts
    np.testing.assert_array_equal(pointing_hits(maps, masks), [1, 0, 0, 1])
    np.testing.assert_array_equal(pointing_hits(maps, masks, 5**0.5), [1, 1, 0, 1])
    np.testing.assert_array_equal(pointing_hits(maps, masks, 2.2), [1, 0, 0, 1])


def test_tolerance_converts_release_pixels_with_a_floor_of_one():
    assert tolerance_at((1536, 1280)) == pytest.approx(7.5)  # c = 64: 15 · 32 / 64
    assert tolerance_at((256, 224)) == pytest.approx(15 * 32 / 382)  # c = ⌈3056 / 8⌉
    assert tolerance_at((192, 160)) == 1.0  # 15 · 32 / 510 = 0.94 → floor
    assert tolerance_at((192, 160), px=60) == pytest.approx(60 * 32 / 510)
    with pytest.raises(ValueError, match="multiples of 32"):
        tolerance_at((200, 160))


def test_random_peak_chance_counts_pixels_within_tolerance():
    masks = _box_masks([(10, 11, 10, 11), None])
    chance = random_peak_chance(masks, 1.0)
    assert chance[0] == pytest.approx(5 / 3072)  # the pixel and its 4 neighbours
    assert np.isnan(chance[1])
    assert random_peak_chance(masks[:1], 1.5)[0] == pytest.approx(9 / 3072)


def test_best_fixed_location_is_fitted_on_train_and_evaluated_on_test():
    train = _box_masks([(8, 12, 8, 12)] * 5 + [(30, 34, 40, 44)] * 2)
    loc = best_fixed_location(train)
    assert loc == (8, 8)
    test = _box_masks([(30, 34, 40, 44)] * 4)
    maps = fixed_location_maps(loc, 4, (48, 64))
    assert np.unravel_index(maps[0].argmax(), maps[0].shape) == (8, 8)
    np.testing.assert_array_equal(pointing_hits(maps, test), 0.0)  # the train peak misses test
    labels = np.ones(len(train), dtype=int)
    table = dynamic_range(test, np.ones(4, dtype=int), train, (48, 64), (6, 8), 0.0,
                          labels_train=labels)
    assert table.set_index("metric").loc["pointing", "best fixed"] == 0.0
    # AUROC of a Gaussian is the distance's: σ does not change it
    a = inside_auroc(fixed_location_maps(loc, 4, (48, 64), 3.0), test)
    np.testing.assert_allclose(a, inside_auroc(fixed_location_maps(loc, 4, (48, 64), 30.0), test))


def test_oracle_beats_fixed_location_when_findings_move():
    rng = np.random.default_rng(2)
    train, test = _cell_boxes(rng, 60), _cell_boxes(rng, 60)
    ones = np.ones(60, dtype=int)
    table = dynamic_range(test, ones * 2, train, (48, 64), (6, 8), 0.0, labels_train=ones * 2)
    by = table.set_index("metric")
    assert list(table["class"]) == ["pneumonia"] * 3
    assert by.loc["pointing", "oracle"] == 1.0 and by.loc["pointing", "best fixed"] < 0.2
    assert by.loc["inside AUROC", "oracle"] > 0.95 and by.loc["inside AUROC", "random"] == 0.5
    assert passes_dynamic_range(table)
    fixed = _box_masks([(12, 20, 12, 20)] * 20)  # findings never move: nothing to beat
    same = dynamic_range(fixed, ones[:20], fixed, (48, 64), (6, 8), 0.0, labels_train=ones[:20])
    assert not passes_dynamic_range(same)


def test_oracle_maps_are_receptive_field_block_shares():
    masks = _box_masks([(4, 12, 4, 8)])  # rows 4-11, cols 4-7
    grid = oracle_maps(masks, (6, 8))
    assert grid.shape == (1, 6, 8)
    # cell (1, 1) covers rows/cols [4, 12): 8 × 4 of 64 pixels; cell (0, 0) covers [-4, 4)
    assert grid[0, 1, 1] == pytest.approx(0.5) and grid[0, 0, 0] == 0.0
    assert grid.sum() * 64 == pytest.approx(masks.sum())


def test_images_without_finding_are_not_scored():
    rng = np.random.default_rng(3)
    masks = _cell_boxes(rng, 4, label_free=2)
    maps = rng.normal(size=(6, 6, 8))
    up = upsample_maps(maps, (48, 64))
    for per in (pointing_hits(up, masks), energy_inside(up, masks), inside_auroc(up, masks),
                random_peak_chance(masks)):
        assert np.isfinite(per[:4]).all() and np.isnan(per[4:]).all()
    labels = np.array([1, 1, 2, 2, 0, 0])
    table = localisation_table(maps, masks, labels, (48, 64), 0.0).set_index("class")
    assert list(table.index) == ["CHF", "pneumonia"]
    assert table.loc["CHF", "images"] == 2
    assert table.loc["CHF", "inside AUROC"] == pytest.approx(inside_auroc(up, masks)[:2].mean())
    with pytest.warns(UserWarning, match="no image has a finding"):
        assert localisation_table(maps[4:], masks[4:], labels[4:], (48, 64), 0.0).empty


def test_mean_prior_maps_repeat_the_training_mean():
    train = np.arange(24, dtype=float).reshape(2, 3, 4)
    prior = mean_prior_maps(train, 5)
    assert prior.shape == (5, 3, 4)
    np.testing.assert_allclose(prior[4], (train[0] + train[1]) / 2)


def test_bad_inputs_raise_named_errors():
    masks = _box_masks([(1, 5, 1, 5)])
    with pytest.raises(ValueError, match=r"input_shape \(50, 64\) must be grid \(6, 8\)"):
        upsample_maps(np.zeros((1, 6, 8)), (50, 64))
    with pytest.raises(ValueError, match=r"maps must have shape \(N, rows, cols\)"):
        upsample_maps(np.zeros((6, 8)), (48, 64))
    with pytest.raises(ValueError, match=r"masks must be \(1, 40, 64\)"):
        pointing_hits(np.zeros((1, 40, 64)), masks)
    with pytest.raises(ValueError, match="up contains NaN"):
        energy_inside(np.full((1, 48, 64), np.nan), masks)
    with pytest.raises(ValueError, match="tolerance_px must be"):
        pointing_hits(np.zeros((1, 48, 64)), masks, -1)
    with pytest.raises(ValueError, match="location must lie in"):
        fixed_location_maps((48, 0), 1, (48, 64))
    with pytest.raises(ValueError, match=r"labels must be \(1,\)"):
        localisation_table(np.zeros((1, 6, 8)), masks, [3], (48, 64), 0.0)
    with pytest.raises(ValueError, match="no training image has a finding"):
        best_fixed_location(np.zeros((2, 48, 64), dtype=bool))
    with pytest.raises(ValueError, match="masks_train must be"):
        dynamic_range(masks, [1], np.zeros((1, 40, 64)), (48, 64), (6, 8), 0.0, labels_train=[1])
    with pytest.raises(ValueError, match=r"input_shape \(96, 128\) differs"):
        dynamic_range(masks, [1], masks, (96, 128), (12, 16), 0.0, labels_train=[1])
    with pytest.raises(TypeError, match="labels_train"):
        dynamic_range(masks, [1], masks, (48, 64), (6, 8), 0.0)  # per-class fit needs labels
    with pytest.warns(UserWarning, match="covers every pixel"):
        assert np.isnan(inside_auroc(np.zeros((1, 4, 4)), np.ones((1, 4, 4), dtype=bool))[0])
