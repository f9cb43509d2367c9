import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from synthetic import SyntheticCXR

from ggcam.checkpoint import load_checkpoint
from ggcam.config import RELEASED, TABLE1, RunOptions, TrainConfig, table1_config
from ggcam.runtime import seed_everything
from ggcam.train import NonFiniteLoss, evaluate, fit, make_loss, make_model


def tiny(variant="ggcam", **kw) -> TrainConfig:
    base = dict(network="resnet18", variant=variant, lr=1e-3, batch_size=8, max_epochs=2,
                early_stop_patience=5, sigma_sm=0.5, seed=0)
    base.update(kw)
    return TrainConfig(**base)


def run(config, tmp=None, resume=False, data=None):
    data = data or SyntheticCXR(24)
    seed_everything(config.seed)
    model, loss = make_model(config), make_loss(config)
    res = fit(model, loss, data.subset(range(18)), data.subset(range(18, 24)), config,
              checkpoint_dir=tmp, resume=resume, progress=False)
    return model, loss, res


def test_table1_values_are_the_papers():
    c = table1_config("efficientnet_v2_s", "ggcam")
    assert (c.lr, c.plateau_patience, c.sigma_sm, c.kernel_size) == (6e-3, 40, 1.4e-11, 600)
    c = table1_config("resnet50", "ggcam")
    assert (c.lr, c.plateau_patience, c.sigma_sm, c.kernel_size) == (7e-3, 30, 2e-9, 500)
    assert table1_config("resnet50", "standard").lr == 1e-4
    assert table1_config("efficientnet_v2_s", "standard").plateau_patience == 25
    legacy = table1_config("resnet50", "ggcam-legacy")
    assert legacy.sigma_sm == pytest.approx(math.exp(-23)) and legacy.sigma_ce == pytest.approx(math.exp(7))
    assert legacy.lr == RELEASED["resnet50"]["lr"] == 5e-3
    # The released scripts load the Blur500 data for both networks, Ω as a channel mean.
    eff_legacy = table1_config("efficientnet_v2_s", "ggcam-legacy")
    assert (eff_legacy.kernel_size, eff_legacy.cam_reduction, eff_legacy.loss_mode) == (500, "mean", "legacy")
    fp64 = table1_config("efficientnet_v2_s", "ggcam-fp64")
    assert fp64.lr == TABLE1[("efficientnet_v2_s", "ggcam")]["lr"] and fp64.loss_param_dtype == "float64"
    assert fp64.sigma_sm == 1.4e-11
    # The small CPU networks take their family's values.
    assert table1_config("resnet18", "ggcam").sigma_sm == 2e-9
    assert table1_config("efficientnet_b0", "ggcam").kernel_size == 600


@pytest.mark.parametrize("field,value", [
    ("variant", "fancy"), ("optimizer", "rmsprop"), ("lr", -1.0), ("lr", float("nan")),
    ("batch_size", 0), ("network", "not a net"), ("checkpoint_criterion", "val_acc"),
    ("plateau_factor", 1.5), ("seed", -1), ("cam_reduction", "max"), ("gaze_source", "friend"),
])
def test_invalid_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})


@pytest.mark.parametrize("field,value", [("device", "tpu"), ("precision", "fp8"),
                                         ("num_workers", -1), ("threads", 0)])
def test_invalid_run_options_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        RunOptions(**{field: value})


def test_gpu_options_rejected_on_cpu():
    with pytest.raises(ValueError, match="precision"):
        RunOptions(precision="bf16")


def test_config_round_trip_and_hash():
    c = table1_config("resnet50", "ggcam", seed=3)
    assert TrainConfig.from_dict(c.to_dict()) == c
    assert c.hash() == TrainConfig.from_dict(c.to_dict()).hash()
    assert c.hash() != table1_config("resnet50", "ggcam", seed=4).hash()
    # A longer budget is another result but the same run (it may resume).
    longer = table1_config("resnet50", "ggcam", seed=3, max_epochs=2000)
    assert longer.hash() != c.hash() and longer.identity() == c.identity()
    with pytest.raises(ValueError, match="unknown"):
        TrainConfig.from_dict({**c.to_dict(), "colour": "red"})


def test_same_seed_same_numbers():
    _, _, a = run(tiny())
    _, _, b = run(tiny())
    np.testing.assert_array_equal(a.history["train_loss"], b.history["train_loss"])
    np.testing.assert_array_equal(a.history["val_loss"], b.history["val_loss"])
    _, _, c = run(tiny(seed=1))
    assert not np.array_equal(a.history["train_loss"], c.history["train_loss"])


def test_resume_equals_uninterrupted(tmp_path):
    m_full, l_full, full = run(tiny(max_epochs=3), tmp_path / "full")
    run(tiny(max_epochs=1), tmp_path / "cut")  # "interrupted" after epoch 1
    m_res, l_res, res = run(tiny(max_epochs=3), tmp_path / "cut", resume=True)
    assert list(res.history["epoch"]) == [1, 2, 3]
    assert (full.resumed_epochs, res.resumed_epochs) == (0, 1)  # the record's wall time adds epoch 1
    np.testing.assert_allclose(res.history["train_loss"], full.history["train_loss"], rtol=0, atol=0)
    for (k, a), b in zip(m_full.state_dict().items(), m_res.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=k)
    assert l_full.log_sigma_sm.item() == l_res.log_sigma_sm.item()


def test_resume_refuses_another_config(tmp_path):
    run(tiny(max_epochs=1), tmp_path)
    with pytest.raises(ValueError, match="lr"):
        run(tiny(max_epochs=2, lr=5e-4), tmp_path, resume=True)


def test_history_records_sigma_and_effective_weights():
    _, loss, res = run(tiny())
    h = res.history
    for col in ("sigma_sm", "sigma_ce", "alpha", "w_sm", "w_ce", "val_auc", "lr", "train_sm"):
        assert col in h
    last = h.iloc[-1]
    assert last["sigma_sm"] == pytest.approx(math.exp(loss.log_sigma_sm.item()))
    assert last["w_sm"] == pytest.approx(0.5 / last["sigma_sm"] ** 2)
    # Adam moves log σ by about lr per step: σ_sm must have moved away from its start.
    assert last["sigma_sm"] != pytest.approx(0.5, rel=1e-6)


def test_paper_effnet_sigma_overflows_adam_and_is_flagged():
    """design.md "Hazards": at σ_sm = 1.4e-11, Adam's float32 v of log σ_sm overflows."""
    _, loss, res = run(tiny(sigma_sm=1.4e-11, lr=6e-3, max_epochs=1))
    assert any(f.startswith("adam-overflow:loss_fn.log_sigma_sm") for f in res.flags)
    assert not res.history["optimizer_state_finite"].iloc[-1]
    assert loss.log_sigma_sm.item() == pytest.approx(math.log(1.4e-11), abs=1e-6)  # frozen
    # In float64 (the ggcam-fp64 remedy) the same start does not overflow, and σ_sm moves.
    _, loss64, res64 = run(tiny(sigma_sm=1.4e-11, lr=6e-3, max_epochs=1, loss_param_dtype="float64"))
    assert not any("log_sigma_sm" in f for f in res64.flags)
    # ... but the 2.5e21 gaze weight still overflows float32 second moments in the backbone:
    # the flag names that parameter (issue: "overflow anywhere").
    # (its maps then saturate the sigmoid too, which the saturation flag says separately)
    overflow = [f for f in res64.flags if not f.startswith("sigmoid-saturated")]
    assert overflow and all(f.startswith("adam-overflow:model.") for f in overflow)
    assert loss64.log_sigma_sm.item() > math.log(1.4e-11) + 1e-3


def test_non_finite_stops_with_message_and_keeps_checkpoint(tmp_path, monkeypatch):
    data = SyntheticCXR(24)
    run(tiny(max_epochs=1), tmp_path, data=data)
    data.images[:] = np.nan  # poison every image: the next epoch's loss is NaN
    with pytest.raises(NonFiniteLoss, match=r"epoch 2, step 0: .*ce = nan"):
        run(tiny(max_epochs=2), tmp_path, resume=True, data=data)
    assert load_checkpoint(tmp_path / "best.pt")["epoch"] == 1


def test_evaluate_returns_aligned_arrays():
    data = SyntheticCXR(9)
    config = tiny()
    model = make_model(config)
    ev = evaluate(model, data, loss_fn=make_loss(config), with_cams=True)
    assert ev.logits.shape == (9, 3) and ev.cams.shape == (9, 3, 2, 2)
    np.testing.assert_array_equal(ev.labels, data.labels)
    np.testing.assert_allclose(ev.probs.sum(1), 1, rtol=1e-6)
    np.testing.assert_array_equal(ev.indices, np.arange(9))
    assert math.isfinite(ev.loss) and ev.masks["heart"].shape == (9, 2, 2)
    assert 0 <= ev.diagnostics["saturated"] <= 1 and ev.diagnostics["sm_ratio"] > 0


def test_standard_variant_trains_on_cross_entropy_only():
    _, loss, res = run(tiny("standard"))
    assert "sigma_sm" not in res.history and np.isfinite(res.history["val_loss"]).all()


def test_released_code_reloads_the_best_weights_at_each_lr_drop(tmp_path, monkeypatch):
    # A validation loss that only gets worse: with patience 0 the lr drops after every epoch
    # but the first, and each time the model goes back to the best (first) epoch's weights.
    import ggcam.train as T

    losses = iter(range(1, 100))
    real_evaluate = T.evaluate

    def worse_each_epoch(*a, **kw):
        ev = real_evaluate(*a, **kw)
        ev.loss = float(next(losses))
        return ev

    reloads = []
    real_load = T._Objective.load_state_dict
    monkeypatch.setattr(T, "evaluate", worse_each_epoch)
    monkeypatch.setattr(T._Objective, "load_state_dict",
                        lambda self, state, *a, **kw: reloads.append(state) or real_load(self, state))
    _, _, res = run(tiny(max_epochs=3, plateau_patience=0, reload_best_on_lr_drop=True), tmp_path)
    assert res.history["lr"].tolist() == pytest.approx([1e-3, 1e-4, 1e-5])
    assert res.best_epoch == 1
    assert len(reloads) == 3  # after epochs 2 and 3, and the final load of the best weights
    torch.testing.assert_close(reloads[0], reloads[-1], rtol=0, atol=0)


def test_saturated_sigmoid_is_flagged():
    # A huge α saturates the sigmoid of every cell: the gaze term gives no gradient.
    _, _, res = run(tiny(alpha=1e6, max_epochs=1))
    assert res.history["val_saturated"].iloc[-1] > 0.95
    assert "sigmoid-saturated@epoch1" in res.flags


@pytest.mark.parametrize("share, flagged", [
    (0.99, True),           # almost every cell flat, on either side: no gradient left
    (0.667, False),         # a third of the cells still give gradient (the study's maximum)
    (float("nan"), False),  # standard and legacy runs: no sigmoid, nothing to saturate
])
def test_saturation_flag_follows_its_rule(share, flagged):
    from ggcam.train import _State, _update_flags

    model = torch.nn.Linear(2, 2)
    opt = torch.optim.Adam(model.parameters())
    state = _State()
    for epoch in (1, 2):  # raised once, at the first epoch that meets the rule
        _update_flags(state, {"val_sm_ratio": 1.0, "val_saturated": share}, model, opt, epoch)
    assert state.flags == (["sigmoid-saturated@epoch1"] if flagged else [])


def test_the_released_loss_has_no_sigmoid_to_saturate():
    # A huge raw Ω⁰ regressed on Ψ gives a large gradient, not none: never "saturated".
    _, _, res = run(tiny("ggcam-legacy", alpha=1e6, max_epochs=1))
    assert math.isnan(res.history["val_saturated"].iloc[-1])
    assert not any(f.startswith("sigmoid-saturated") for f in res.flags)


def test_overflow_anywhere_is_named():
    from ggcam.train import non_finite_optimizer_state

    model = torch.nn.Linear(2, 2)
    opt = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 2)).sum().backward()
    opt.step()
    assert non_finite_optimizer_state(model, opt) == []
    opt.state[model.weight]["exp_avg_sq"][0, 0] = float("inf")
    assert non_finite_optimizer_state(model, opt) == ["weight"]


def _one_epoch_in(folder: Path, **fit_kwargs):
    """Train resnet18 × standard for one epoch with checkpoints in ``folder``; returns a
    function that fits the same run again with other keyword arguments."""
    from ggcam.config import TrainConfig
    from ggcam.train import fit, make_loss, make_model

    config = TrainConfig(network="resnet18", variant="standard", batch_size=8, max_epochs=1,
                         early_stop_patience=2, seed=0)
    data = SyntheticCXR(12)
    train, val = data.subset(range(8)), data.subset(range(8, 12))

    def again(**kwargs):
        return fit(make_model(config), make_loss(config), train, val, config,
                   checkpoint_dir=folder, progress=False, **kwargs)

    again(**fit_kwargs)
    return again


def test_resuming_another_networks_weights_names_the_checkpoint(tmp_path):
    again = _one_epoch_in(tmp_path)
    last = load_checkpoint(tmp_path / "last.pt")
    last["model"]["head.weight"] = torch.zeros(5, 7)  # the right format, the wrong shape
    torch.save(last, tmp_path / "last.pt")
    with pytest.raises(ValueError, match=r"last\.pt does not fit this model"):
        again(resume=True)


def test_resuming_on_other_data_is_an_error(tmp_path):
    again = _one_epoch_in(tmp_path, data_id="a")
    assert load_checkpoint(tmp_path / "last.pt")["data_id"] == "a"
    with pytest.raises(ValueError, match=r"last\.pt was trained on other data \(data identity a, now b\)"):
        again(resume=True, data_id="b")


def test_another_runs_best_pt_is_refused_on_resume(tmp_path):
    """best.pt copied from another arm over a finished run: named, not a raw load_state_dict error."""
    again = _one_epoch_in(tmp_path)
    best = load_checkpoint(tmp_path / "best.pt")
    foreign = dict(best, loss={"log_alpha": torch.zeros(())})  # a GG-CAM arm's loss parameters
    torch.save(foreign, tmp_path / "best.pt")
    with pytest.raises(ValueError, match=r"best\.pt does not fit this model"):
        again(resume=True)
    other = dict(best, config={**best["config"], "variant": "ggcam-warm"})
    torch.save(other, tmp_path / "best.pt")
    with pytest.raises(ValueError, match=r"best\.pt was written by another run than .*last\.pt"):
        again(resume=True)


def test_a_full_disk_while_saving_names_the_file(tmp_path, monkeypatch):
    from ggcam import runtime

    def full(obj, f):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 1576640 vs 1576536")

    monkeypatch.setattr(runtime.torch, "save", full)
    with pytest.raises(OSError, match=rf"cannot write {re.escape(str(tmp_path / 'x.pt'))} \(.*(unexpected pos|no space left)"):
        runtime.atomic_torch_save({"a": 1}, tmp_path / "x.pt")
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind
