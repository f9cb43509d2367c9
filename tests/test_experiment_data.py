"""Independent replicates (``ggcam.experiment.data``): what each run of the study reads."""

import numpy as np
import pytest

from ggcam.experiment import get_profile, run_config
from ggcam.experiment.data import ProfileData
from ggcam.experiment.profiles import RunSpec

SMOKE = get_profile("smoke")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return ProfileData(SMOKE, None, tmp_path_factory.mktemp("work"), progress=False)


def _sets(data, variant="ggcam-warm", seed=0, **dose):
    spec = RunSpec("smoke", "resnet18", variant, seed, **dose)
    return spec, data.sets(spec, run_config(SMOKE, spec)[0])


def _images(ds):
    return np.stack([ds[i]["image"].numpy() for i in range(len(ds))])


def test_replicates_draw_their_own_images_and_share_one_test_set(data):
    _, a = _sets(data, seed=0)
    _, b = _sets(data, seed=1)
    rep = SMOKE.replicates
    assert (len(a.train), len(a.val), len(a.test)) == (rep.n_train, rep.n_val, rep.n_test)
    ids = lambda ds: set(ds.metadata["dicom_id"])
    assert not ids(a.train) & ids(a.val) and not (ids(a.train) | ids(a.val)) & ids(a.test)
    assert not (ids(a.train) | ids(a.val)) & (ids(b.train) | ids(b.val))  # another phantom
    assert ids(a.test) == ids(b.test) and a.test_id == b.test_id
    assert a.data_id != b.data_id
    assert a.test.has_truth and a.test.finding_masks().shape == (rep.n_test, *SMOKE.input_shape)


def test_dose_points_change_one_thing(data):
    spec, base = _sets(data)
    _, small = _sets(data, n_train=12)
    _, large = _sets(data, n_train=48)
    order = lambda ds: list(ds.metadata["dicom_id"])
    assert set(order(small.train)) < set(order(base.train)) < set(order(large.train))  # nested
    assert order(small.val) == order(base.val) == order(large.val)
    _, reader = _sets(data, informativeness=1.0)
    # Another reader, the same images, labels and findings: only the gaze differs.
    assert order(reader.train) == order(base.train) and reader.informativeness == 1.0
    np.testing.assert_array_equal(_images(reader.train), _images(base.train))
    np.testing.assert_array_equal(reader.train.finding_masks(), base.train.finding_masks())
    gaze = lambda ds: np.stack([ds[i]["gaze"].numpy() for i in range(len(ds))])
    assert not np.array_equal(gaze(reader.train), gaze(base.train))
    keys = {data.data_key(RunSpec("smoke", "resnet18", "ggcam-warm", 0, **d))
            for d in ({}, {"n_train": 12}, {"informativeness": 1.0})}
    assert len(keys) == 3 and data.data_key(spec) == data.data_key(spec)


def test_the_oracle_is_supervised_by_the_true_findings(data):
    _, oracle = _sets(data, variant="ggcam-oracle")
    items = [oracle.train_fit[i] for i in range(len(oracle.train_fit))]
    for item in items:
        psi, area = item["gaze"].numpy(), item["finding_area"].numpy()
        if area.max() > 0:
            assert bool(item["has_gaze"]) and psi.max() == pytest.approx(1.0)
            np.testing.assert_allclose(psi, area / area.max(), rtol=1e-6)
        else:  # a Normal image has no finding to supervise with
            assert not bool(item["has_gaze"])
    assert any(bool(it["has_gaze"]) for it in items) and not all(bool(it["has_gaze"]) for it in items)


def test_a_replicate_design_refuses_a_data_root(tmp_path):
    with pytest.raises(ValueError, match="independent phantom per replicate"):
        ProfileData(SMOKE, tmp_path, tmp_path)
