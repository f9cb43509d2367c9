"""split: proportions, balance, patient grouping, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ggcam.data import split


@pytest.fixture
def meta() -> pd.DataFrame:
    """The release's class sizes (360/363/360), shuffled, with 30 patients holding two images."""
    rng = np.random.default_rng(0)
    labels = rng.permutation(np.repeat([0, 1, 2], [360, 363, 360]))
    patients = np.array([f"1{k:07d}" for k in range(len(labels))])
    for a, b in rng.choice(len(labels), size=(30, 2), replace=False):
        patients[b] = patients[a]
    return pd.DataFrame({"label": labels, "patient_id": patients})


def _check_partition(parts, n):
    everything = np.concatenate([parts["train"], parts["val"], parts["test"]])
    assert sorted(everything.tolist()) == list(range(n))
    assert all(p.dtype == np.int64 and (np.diff(p) > 0).all() for p in parts.values())


@pytest.mark.parametrize("scheme", ["paper", "released"])
def test_per_class_70_10_20(meta, scheme):
    parts = split(meta, scheme, seed=0)
    _check_partition(parts, len(meta))
    # floor(70 %), floor(10 %), the rest: exact decimals (int(0.7 * 360) would give 251)
    for c, expected in ((0, [252, 36, 72]), (1, [254, 36, 73]), (2, [252, 36, 72])):
        counts = [int((meta.label.to_numpy()[parts[k]] == c).sum()) for k in ("train", "val", "test")]
        assert counts == expected


def test_released_is_file_order(meta):
    parts = split(meta, "released", seed=0)
    for c in range(3):
        rows = np.flatnonzero(meta.label.to_numpy() == c)
        a = len(rows) * 7 // 10
        b = a + len(rows) // 10
        np.testing.assert_array_equal(np.intersect1d(parts["train"], rows), rows[:a])
        np.testing.assert_array_equal(np.intersect1d(parts["val"], rows), rows[a:b])
        np.testing.assert_array_equal(np.intersect1d(parts["test"], rows), rows[b:])
    assert all((split(meta, "released", seed=5)[k] == parts[k]).all() for k in parts)


def test_paper_is_seeded(meta):
    a, b, c = split(meta, "paper", 0), split(meta, "paper", 0), split(meta, "paper", 1)
    assert all((a[k] == b[k]).all() for k in a)
    assert not (a["train"].shape == c["train"].shape and (a["train"] == c["train"]).all())


def test_patient_groups_never_straddle(meta):
    parts = split(meta, "patient", seed=3)
    _check_partition(parts, len(meta))
    pid = meta.patient_id.to_numpy()
    sides = [set(pid[parts[k]]) for k in ("train", "val", "test")]
    assert not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2])
    sizes = np.array([len(parts[k]) for k in ("train", "val", "test")]) / len(meta)
    np.testing.assert_allclose(sizes, [0.8, 0.1, 0.1], atol=0.01)
    for k in ("train", "test"):  # classes stay balanced
        share = np.bincount(meta.label.to_numpy()[parts[k]], minlength=3) / len(parts[k])
        np.testing.assert_allclose(share, [1 / 3] * 3, atol=0.03)
    again = split(meta, "patient", seed=3)
    assert all((again[k] == parts[k]).all() for k in parts)
    assert not (split(meta, "patient", seed=4)["test"] == parts["test"]).all()


def test_bad_scheme_and_columns(meta):
    with pytest.raises(ValueError, match="'random'"):
        split(meta, "random", 0)
    with pytest.raises(ValueError, match="'patient_id'"):
        split(meta[["label"]], "patient", 0)
    with pytest.raises(ValueError, match="'label'"):
        split(meta[["patient_id"]], "paper", 0)
