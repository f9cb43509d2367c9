"""The experiment layer: profiles, run specs, the results store, run metrics, controls."""

import json
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from synthetic import SyntheticCXR

from ggcam.experiment import (
    PROFILES,
    Arm,
    Profile,
    ResultsStore,
    RunRecord,
    RunSpec,
    get_profile,
    run_config,
    run_specs,
)
from ggcam.experiment.controls import centre_prior, shuffled_gaze, with_gaze_source
from ggcam.experiment.data import RunSets, stratified_order
from ggcam.experiment.metrics import run_metrics
from ggcam.experiment.run import is_done, run_one
from ggcam.study import VARIANT_LABELS, VARIANTS

TINY = Profile("tiny", "phantom", n_images=30, scale=0.04, input_shape=(64, 64),
               arms=(Arm("standard", ("resnet18",), (0,)), Arm("ggcam-warm", ("resnet18",), (0,))),
               primary=("standard", "ggcam-warm"), max_epochs=1, early_stop_patience=1,
               batch_size=8, lr=1e-3)


class FakeData:
    """What ``run_one`` needs of ``ProfileData``: a run's sets, origin and identities."""

    origin, data_id = "phantom", "synthetic-30"

    def __init__(self, n=30):
        self.dataset = SyntheticCXR(n)

    def data_key(self, spec):
        return self.data_id

    def sets(self, spec, config):
        from ggcam.data import split

        parts = split(self.dataset.metadata, "paper", seed=spec.seed, fractions=TINY.split_fractions)
        train, val, test = (self.dataset.subset(parts[k]) for k in ("train", "val", "test"))
        train_fit, val_fit = with_gaze_source(train, val, config.gaze_source, spec.seed)
        return RunSets(train, val, test, train_fit, val_fit, self.data_id, self.data_id, len(train), None)


def test_profiles_name_their_primary_comparison_and_are_powered():
    for p in PROFILES.values():
        assert set(p.primary) <= set(p.variants), p.name
        assert p.input_shape[0] % 32 == 0 and p.input_shape[1] % 32 == 0
    assert get_profile("paper").grid_shape == (48, 40)
    assert get_profile("gpu-fast").grid_shape == (12, 10)
    cpu = get_profile("cpu")
    assert cpu.input_shape == (256, 224)  # chosen by the dynamic-range check (design_checks)
    rep = cpu.replicates  # independent replicates, a validation set of >= 200, a test set of >= 600
    assert rep is not None and rep.n_val >= 200 and rep.n_test >= 600
    assert cpu.criterion == "val_auc"  # one checkpoint rule for every arm
    seeds = {a.variant: set(a.seeds) for a in cpu.arms}
    assert len(seeds["standard"] & seeds["ggcam-warm"]) >= 8  # the agreed floor after the cuts
    for arm in ("ggcam-oracle", "ggcam-shuffled", "ggcam-centre"):
        assert len(seeds[arm]) >= 8
    doses = {(d.factor, d.value): d for d in cpu.doses}
    assert {v for f, v in doses if f == "n_train"} == {200, 800}  # 200, base 400, 2x base
    assert {v for f, v in doses if f == "informativeness"} == {0.3, 1.0}  # and the base 0.6
    assert all(len(d.seeds) >= 6 for d in cpu.doses)
    with pytest.raises(ValueError, match="unknown profile"):
        get_profile("huge")


def test_run_specs_go_seed_by_seed_primary_first_and_shards_partition():
    p = get_profile("cpu")
    specs = run_specs(p)
    n_doses = sum(len(d.variants) * len(d.seeds) for d in p.doses)
    assert len(specs) == sum(len(a.networks) * len(a.seeds) for a in p.arms) + n_doses
    assert len({s.run_id for s in specs}) == len(specs)
    assert [s.variant for s in specs[:4]] == ["standard", "ggcam-warm", "standard", "ggcam-warm"]
    primary = [s for s in specs if s.variant in p.primary and s.is_base]
    assert specs[:len(primary)] == primary  # the primary comparison first, seed by seed
    assert [s.seed for s in primary] == sorted(s.seed for s in primary)
    tiers = [0 if s in primary else 2 if not s.is_base else 1 for s in specs]
    assert tiers == sorted(tiers)  # then oracle and controls, then the dose-response points
    assert "resnet18__ggcam-warm__s0__i0.3" in {s.run_id for s in specs}
    shards = [run_specs(p, (i, 3)) for i in range(3)]
    flat = sorted(s.run_id for sh in shards for s in sh)
    assert flat == sorted(s.run_id for s in specs) and len(set(flat)) == len(flat)
    for bad in [(3, 3), (-1, 2), (0, 0)]:
        with pytest.raises(ValueError, match="shard"):
            run_specs(p, bad)


def test_stratified_order_keeps_the_class_mix_in_every_prefix_and_is_nested():
    labels = np.repeat([0, 1, 2], [100, 60, 40])
    order = stratified_order(labels, seed=3)
    assert sorted(order) == list(range(200))
    for n in (20, 50, 100):
        counts = np.bincount(labels[order[:n]], minlength=3)
        assert np.abs(counts - n * np.array([0.5, 0.3, 0.2])).max() <= 2, (n, counts)
    assert not np.array_equal(order, stratified_order(labels, seed=4))
    assert np.array_equal(order, stratified_order(labels, seed=3))


def test_run_config_separates_what_is_trained_from_where():
    p = get_profile("cpu")
    c, o = run_config(p, RunSpec("cpu", "resnet18", "ggcam", 1))
    assert c.kernel_size is None and c.blur_sigma == pytest.approx(75.5 * p.scale)
    assert (c.lr, c.sigma_sm, c.seed, c.batch_size) == (p.lr, 2e-9, 1, p.batch_size)
    assert c.checkpoint_criterion == "val_auc"  # the profile's one rule, for every arm
    assert run_config(p, RunSpec("cpu", "resnet18", "standard", 1))[0].checkpoint_criterion == "val_auc"
    assert o.device == "cpu" and o.threads == p.options.threads
    real, ro = run_config(get_profile("paper"), RunSpec("paper", "efficientnet_v2_s", "ggcam", 0),
                          device="cpu")
    assert real.kernel_size == 600 and real.blur_sigma is None and ro.precision == "fp32"
    assert real.hash() == run_config(get_profile("paper"), RunSpec("paper", "efficientnet_v2_s",
                                                                   "ggcam", 0))[0].hash()
    legacy, _ = run_config(get_profile("paper"), RunSpec("paper", "efficientnet_v2_s", "ggcam-legacy", 0))
    assert (legacy.kernel_size, legacy.cam_reduction, legacy.reload_best_on_lr_drop) == (500, "mean", True)
    shuffled, _ = run_config(p, RunSpec("cpu", "resnet18", "ggcam-shuffled", 0))
    warm, _ = run_config(p, RunSpec("cpu", "resnet18", "ggcam-warm", 0))
    # A control differs from the arm it copies in the source of Ψ alone.
    diff = {k for k, v in shuffled.to_dict().items() if warm.to_dict()[k] != v}
    assert diff == {"variant", "gaze_source"}


def test_run_one_writes_the_store_and_every_metric_is_recomputable(tmp_path):
    store, ckpt, data = ResultsStore(tmp_path / "results" / "tiny"), tmp_path / "ckpt", FakeData()
    records = [run_one(spec, TINY, data, store, ckpt, progress=False) for spec in run_specs(TINY)]
    runs = store.collect()
    assert list(runs.columns) == RunRecord.columns() and len(runs) == 2
    for rec in records:  # the last epoch is tested too, and stored beside the checkpoint's
        assert store.has_last(rec.run_id) and rec.auc_ovo_last is not None
        assert rec.criterion == "val_loss" and rec.learned_reason
    assert store.records() == sorted(records, key=lambda r: r.run_id)
    assert {r.model_label.split(" ", 1)[1] for r in store.records()} == {
        VARIANT_LABELS[r.variant] for r in records}
    for rec in records:
        assert rec.status == "ok" and rec.n_test == 6 and rec.epochs == 1
        config = run_config(TINY, RunSpec("tiny", rec.network, rec.variant, rec.seed))[0]
        assert is_done(store, RunSpec("tiny", rec.network, rec.variant, rec.seed), config, data.data_id)
        assert not is_done(store, RunSpec("tiny", rec.network, rec.variant, rec.seed), config, "other")
        # Recompute from the files, exactly.
        again = run_metrics(store.predictions(rec.run_id), store.maps(rec.run_id))
        stored = json.loads((store.path / "runs" / f"{rec.run_id}.json").read_text())
        for k, v in again.items():
            assert stored[k] == v, k
    preds = store.predictions(records[0].run_id)
    assert list(preds.columns) == ["dicom_id", "label", "logit_0", "logit_1", "logit_2"]
    maps = store.maps(records[1].run_id)
    assert maps["cams"].shape == (6, 3, 2, 2) and maps["mask_finding"].any()
    assert {"sigma_sm", "w_sm", "val_loss", "val_sm_ratio", "val_saturated"} <= set(store.curves().columns)
    ex = store.examples()[("resnet18", "ggcam-warm")]
    assert sorted(ex["labels"].tolist()) == [0, 1, 2] and "image" in ex
    assert store.provenance()["runs"] == 2
    from ggcam.analysis.summary_store import provenance_markdown

    assert "Phantom data" in provenance_markdown(store)
    from ggcam.analysis.summary_store import omega_histograms

    hist = omega_histograms(store, np.linspace(-10, 10, 11))
    assert hist.groupby("run_id")["count"].sum().tolist() == [6 * 3 * 2 * 2] * 2


def test_logits_round_trip_exactly(tmp_path):
    logits = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32) * 30
    df = pd.DataFrame({"dicom_id": list("abcde"), "label": [0, 1, 2, 0, 1],
                       **{f"logit_{k}": logits[:, k].astype(np.float64) for k in range(3)}})
    path = tmp_path / "p.csv"
    df.to_csv(path, index=False)
    back = pd.read_csv(path)
    np.testing.assert_array_equal(back[["logit_0", "logit_1", "logit_2"]].to_numpy(), logits)


def test_store_rejects_old_or_incomplete_records(tmp_path):
    with pytest.raises(ValueError, match="lacks"):
        RunRecord.from_dict({"profile": "cpu"})
    store = ResultsStore(tmp_path / "cpu")
    store.path.mkdir()
    pd.DataFrame({"network": ["resnet50"], "auc_ovo": [0.5]}).to_csv(store.path / "runs.csv", index=False)
    with pytest.raises(ValueError, match="older ggcam"):
        store.runs()


def test_shuffled_control_gives_each_image_another_image_of_its_class():
    data = SyntheticCXR(30)
    data.gaze = np.random.default_rng(1).random(data.gaze.shape).astype(np.float32)
    own = data.gaze.copy()
    new = shuffled_gaze(data, np.random.default_rng(0))
    for i in range(30):
        donors = [j for j in range(30) if np.array_equal(new[i], own[j])]
        assert donors and donors[0] != i and data.labels[donors[0]] == data.labels[i]
    # Fixed per seed, different across seeds.
    np.testing.assert_array_equal(new, shuffled_gaze(data, np.random.default_rng(0)))
    assert not np.array_equal(new, shuffled_gaze(data, np.random.default_rng(1)))


def test_centre_control_gives_every_image_the_mean_training_map():
    data = SyntheticCXR(30)
    train, val = data.subset(range(24)), data.subset(range(24, 30))
    prior = centre_prior(train)
    np.testing.assert_allclose(prior, data.gaze[:24].mean(axis=0))
    t, v = with_gaze_source(train, val, "centre", seed=0)
    for part in (t, v):
        for item in part.__getitems__(list(range(len(part)))):
            np.testing.assert_array_equal(item["gaze"].numpy(), prior)
    assert with_gaze_source(train, val, "own", 0) == (train, val)
    with pytest.raises(ValueError, match="gaze source"):
        with_gaze_source(train, val, "nobody", 0)


def test_every_arm_has_a_label_and_one_change():
    from ggcam.config import table1_config
    from ggcam.study import VARIANT_LABELS

    assert set(VARIANT_LABELS) == set(VARIANTS)
    paper = table1_config("resnet50", "ggcam").to_dict()
    for variant, change in [("ggcam-fp64", {"loss_param_dtype"}),
                            ("ggcam-warm", {"loss_param_dtype", "sigma_sm"})]:
        other = table1_config("resnet50", variant).to_dict()
        assert {k for k in paper if paper[k] != other[k]} == change | {"variant"}
    with pytest.warns(FutureWarning, match="ggcam-warm"):
        assert table1_config("resnet50", "ggcam-stable").variant == "ggcam-warm"
    assert math.isclose(table1_config("resnet50", "ggcam-warm").sigma_sm, 0.1)


def test_a_phantom_has_the_same_identity_wherever_and_whenever_it_is_made(tmp_path):
    """Committed runs stay "done" on a fresh clone that regenerates the phantom elsewhere."""
    from ggcam.data import data_identity, make_phantom

    ids = []
    for name in ("a", "b"):
        roots = make_phantom(tmp_path / name, n_images=6, scale=0.03, seed=0, progress=False)
        ids.append(data_identity(roots["egd_root"], roots["mimic_root"]))
    assert ids[0] == ids[1]
    dicom = next((tmp_path / "b").rglob("*.dcm"))
    raw = bytearray(dicom.read_bytes())
    raw[-1] ^= 1  # one pixel byte, same size
    dicom.write_bytes(bytes(raw))
    assert data_identity(roots["egd_root"], roots["mimic_root"]) != ids[0]


def test_example_images_are_stored_for_phantom_data_only():
    test = SyntheticCXR(6)
    ev = SimpleNamespace(labels=test.labels, has_gaze=np.ones(6, bool),
                         gaze=test.gaze, cams=np.zeros((6, 3, 2, 2), np.float32))
    from ggcam.experiment import run as run_mod

    assert "image" in run_mod._examples(ev, test, "phantom")
    real = run_mod._examples(ev, test, "real")
    assert "image" not in real and set(real) == {"labels", "psi", "cam", "dicom_id"}
