"""The GG-CAM losses: selective MSE (eq. 9-10) and the balanced loss (eq. 11)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from synthetic import SyntheticCXR

from ggcam import GGCAMLoss, StandardLoss, legacy_selective_mse, selective_mse

LN3 = math.log(3.0)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _hand_batch(dtype=torch.float64):
    """Two samples, K = 2 classes, 1×2 maps, with values whose sigmoids are 1/2, 3/4, 1/4.

    Sample 0, label 1: σ(Ω¹) = [0.5, 0.75] against Ψ = [0, 1] → (0.25 + 0.0625)/2 = 0.15625.
    Sample 1, label 0: σ(Ω⁰) = [0.75, 0.25] against Ψ = [0.75, 0.75] → (0 + 0.25)/2 = 0.125.
    The other maps hold values that would change the loss if they were used.
    """
    cams = torch.tensor(
        [[[[9.0, -7.0]], [[0.0, LN3]]],
         [[[LN3, -LN3]], [[5.0, 5.0]]]], dtype=dtype)
    labels = torch.tensor([1, 0])
    gaze = torch.tensor([[[0.0, 1.0]], [[0.75, 0.75]]], dtype=dtype)
    return cams, labels, gaze


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(0)
    B, K, h, w = 4, 3, 5, 4
    logits = torch.randn(B, K, generator=g)
    cams = torch.randn(B, K, h, w, generator=g)
    labels = torch.tensor([0, 2, 1, 2])
    gaze = torch.rand(B, h, w, generator=g)
    return logits, cams, labels, gaze


# --- selective MSE, eq. 9-10 -------------------------------------------------------------


def test_selective_mse_hand_values():
    cams, labels, gaze = _hand_batch()
    assert selective_mse(cams, labels, gaze, 1.0).item() == pytest.approx(0.140625, abs=1e-15)
    # α multiplies Ω inside the sigmoid: halved maps with α = 2 give the same values.
    assert selective_mse(cams / 2, labels, gaze, 2.0).item() == pytest.approx(0.140625, abs=1e-15)
    a = torch.tensor(2.0, dtype=torch.float64)
    assert selective_mse(cams / 2, labels, gaze, a).item() == pytest.approx(0.140625, abs=1e-15)
    # has_gaze masks samples out of the mean.
    for mask, want in (([True, False], 0.15625), ([False, True], 0.125), ([True, True], 0.140625)):
        got = selective_mse(cams, labels, gaze, 1.0, torch.tensor(mask)).item()
        assert got == pytest.approx(want, abs=1e-15)


def test_selective_mse_uses_the_label_channel(batch):
    _, cams, labels, gaze = batch
    base = selective_mse(cams, labels, gaze, 0.7)
    for b, y in enumerate(labels.tolist()):
        other = (y + 1) % cams.shape[1]
        c = cams.clone()
        c[b, other] += 3.0
        assert torch.equal(selective_mse(c, labels, gaze, 0.7), base)
        c = cams.clone()
        c[b, y] += 3.0
        assert abs(selective_mse(c, labels, gaze, 0.7).item() - base.item()) > 1e-3


def test_selective_mse_zero_when_the_squashed_map_equals_gaze(batch):
    _, cams, labels, _ = batch
    alpha = 1.7
    own = cams[torch.arange(4), labels]
    gaze = torch.sigmoid(alpha * own)
    assert selective_mse(cams, labels, gaze, alpha).item() == 0.0


def test_selective_mse_without_any_gaze_is_zero_and_differentiable(batch):
    _, cams, labels, gaze = batch
    cams = cams.clone().requires_grad_()
    alpha = torch.tensor(1.3, requires_grad=True)
    loss = selective_mse(cams, labels, gaze, alpha, torch.zeros(4, dtype=torch.bool))
    assert loss.item() == 0.0 and torch.isfinite(loss)
    loss.backward()
    assert torch.all(cams.grad == 0) and alpha.grad.item() == 0.0


def test_legacy_selective_mse_hand_value():
    # Raw class-0 map against Ψ, whatever the label: sample 0: ([1, 2] − [0, 1])² → 1;
    # sample 1: ([0.5, 0] − [0.75, 0.75])² → (0.0625 + 0.5625)/2 = 0.3125. Mean 0.65625.
    cams = torch.tensor([[[[1.0, 2.0]], [[0.0, 0.0]], [[7.0, 7.0]]],
                         [[[0.5, 0.0]], [[-3.0, 3.0]], [[0.0, 0.0]]]], dtype=torch.float64)
    gaze = torch.tensor([[[0.0, 1.0]], [[0.75, 0.75]]], dtype=torch.float64)
    for labels in ([1, 2], [0, 0], [2, 1]):
        got = legacy_selective_mse(cams, torch.tensor(labels), gaze)
        assert got.item() == pytest.approx(0.65625, abs=1e-15)
    assert legacy_selective_mse(cams, torch.tensor([1, 2]), gaze,
                                torch.tensor([False, True])).item() == pytest.approx(0.3125)


@pytest.mark.parametrize(
    "change, needle",
    [
        (dict(cams=torch.zeros(4, 5, 4)), "(4, 5, 4)"),
        (dict(labels=torch.tensor([0, 1])), "(2,)"),
        (dict(gaze=torch.zeros(4, 4, 5)), "(4, 4, 5)"),
        (dict(has_gaze=torch.ones(3, dtype=torch.bool)), "(3,)"),
        (dict(labels=torch.tensor([0, 3, 1, 1])), "[0, 1, 3]"),
        (dict(labels=torch.tensor([0, -1, 1, 1])), "[-1, 0, 1]"),
    ],
)
def test_selective_mse_bad_shapes(batch, change, needle):
    _, cams, labels, gaze = batch
    args = dict(cams=cams, labels=labels, gaze=gaze, has_gaze=None, **{})
    args.update(change)
    with pytest.raises(ValueError, match=re.escape(needle)):
        selective_mse(args["cams"], args["labels"], args["gaze"], 1.0, args["has_gaze"])
    with pytest.raises(ValueError, match=re.escape(needle)):
        legacy_selective_mse(args["cams"], args["labels"], args["gaze"], args["has_gaze"])


# --- GGCAMLoss, eq. 11 -------------------------------------------------------------------


def test_total_is_eq_11_from_its_parts(batch):
    logits, cams, labels, gaze = batch
    loss_fn = GGCAMLoss(sigma_sm=0.3, sigma_ce=1.7, alpha=0.6).double()
    total, parts = loss_fn(logits.double(), cams.double(), labels, gaze.double())
    ce = F.cross_entropy(logits.double(), labels).item()
    sm = selective_mse(cams.double(), labels, gaze.double(), 0.6).item()
    assert parts["ce"] == pytest.approx(ce, rel=1e-12)
    assert parts["sm"] == pytest.approx(sm, rel=1e-6)
    # The parameters are held as float32 logs (then .double()): σ is 0.3 to float32 precision.
    assert parts["sigma_sm"] == pytest.approx(0.3, rel=1e-7)
    assert parts["sigma_ce"] == pytest.approx(1.7, rel=1e-7)
    assert parts["alpha"] == pytest.approx(0.6, rel=1e-7)
    sm_at_alpha = selective_mse(cams.double(), labels, gaze.double(), parts["alpha"]).item()
    assert parts["sm"] == pytest.approx(sm_at_alpha, rel=1e-12)
    s_sm, s_ce = parts["sigma_sm"], parts["sigma_ce"]
    want = parts["sm"] / (2 * s_sm**2) + ce / s_ce**2 + math.log(s_sm + 1) + math.log(s_ce + 1)
    assert total.item() == pytest.approx(want, rel=1e-12)
    assert total.dtype == torch.float64 and total.ndim == 0


def test_total_hand_value_on_the_hand_batch():
    cams, labels, gaze = _hand_batch()
    logits = torch.tensor([[0.0, 0.0], [LN3, 0.0]], dtype=torch.float64)
    # CE: sample 0 uniform over 2 classes → ln 2; sample 1 softmax [3/4, 1/4], label 0 → ln 4/3.
    ce = (math.log(2) + math.log(4 / 3)) / 2
    loss_fn = GGCAMLoss(sigma_sm=0.5, sigma_ce=2.0, alpha=1.0).double()
    total, parts = loss_fn(logits, cams, labels, gaze)
    assert parts["ce"] == pytest.approx(ce, rel=1e-12)
    assert parts["sm"] == pytest.approx(0.140625, rel=1e-12)
    s_sm, s_ce = parts["sigma_sm"], parts["sigma_ce"]  # 0.5 and 2 to float32 precision
    assert (s_sm, s_ce) == (pytest.approx(0.5, rel=1e-7), pytest.approx(2.0, rel=1e-7))
    want = 0.140625 / (2 * s_sm**2) + ce / s_ce**2 + math.log(1 + s_sm) + math.log(1 + s_ce)
    assert total.item() == pytest.approx(want, rel=1e-12)


def test_mse_part_vanishes_when_the_squashed_map_equals_gaze(batch):
    logits, cams, labels, _ = batch
    loss_fn = GGCAMLoss(sigma_sm=2e-9, alpha=1.5).double()
    alpha = loss_fn.log_alpha.detach().exp()  # 1.5 to float32 precision
    gaze = torch.sigmoid(alpha * cams.double()[torch.arange(4), labels])
    total, parts = loss_fn(logits.double(), cams.double(), labels, gaze)
    assert parts["sm"] == 0.0
    # What remains is the cross-entropy term and the two penalties.
    want = parts["ce"] + math.log(1 + 2e-9) + math.log(2)
    assert total.item() == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("sigma_sm", [2e-9, 1.4e-11])
def test_tiny_sigma_sm_is_finite_in_float32(batch, sigma_sm):
    logits, cams, labels, gaze = batch
    loss_fn = GGCAMLoss(sigma_sm=sigma_sm)
    cams = cams.clone().requires_grad_()
    logits = logits.clone().requires_grad_()
    total, parts = loss_fn(logits, cams, labels, gaze)
    assert total.dtype == torch.float32 and torch.isfinite(total)
    # The weight 1/(2σ²) is ~2.6e21 at 1.4e-11 and the total is dominated by it.
    assert parts["w_sm"] == pytest.approx(1 / (2 * sigma_sm**2), rel=1e-5)
    assert total.item() == pytest.approx(parts["w_sm"] * parts["sm"], rel=1e-5)
    total.backward()
    for t in (cams.grad, logits.grad, loss_fn.log_alpha.grad, loss_fn.log_sigma_sm.grad,
              loss_fn.log_sigma_ce.grad):
        assert torch.isfinite(t).all()
    for p in (loss_fn.log_alpha, loss_fn.log_sigma_sm, loss_fn.log_sigma_ce):
        assert p.grad.item() != 0.0
    # dL/ds_sm = −2 L_sm/(2σ²) + σ/(1+σ) = −2·w_sm·L_sm (+ ~σ).
    want = -2 * parts["w_sm"] * parts["sm"]
    assert loss_fn.log_sigma_sm.grad.item() == pytest.approx(want, rel=1e-4)


def test_finite_under_bf16_autocast(batch):
    logits, cams, labels, gaze = batch
    loss_fn = GGCAMLoss(sigma_sm=1.4e-11)
    lb = logits.bfloat16().requires_grad_()
    cb = cams.bfloat16().requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        total, parts = loss_fn(lb, cb, labels, gaze.bfloat16())
    assert total.dtype == torch.float32 and torch.isfinite(total)
    assert all(math.isfinite(v) for v in parts.values())
    total.backward()
    assert cb.grad.dtype == torch.bfloat16 and torch.isfinite(cb.grad).all()
    assert torch.isfinite(lb.grad).all()
    for p in loss_fn.parameters():
        assert torch.isfinite(p.grad).all() and p.grad.item() != 0.0
    # Same value as the float32 computation on the bf16-rounded inputs.
    ref, _ = GGCAMLoss(sigma_sm=1.4e-11)(lb.detach().float(), cb.detach().float(), labels,
                                         gaze.bfloat16().float())
    assert total.item() == pytest.approx(ref.item(), rel=1e-6)


def test_paper_mode_gradients(batch):
    logits, cams, labels, gaze = batch
    loss_fn = GGCAMLoss(sigma_sm=0.5, sigma_ce=1.0, alpha=1.0)
    total, _ = loss_fn(logits, cams, labels, gaze)
    total.backward()
    for name in ("log_alpha", "log_sigma_sm", "log_sigma_ce"):
        grad = getattr(loss_fn, name).grad
        assert grad is not None and grad.item() != 0.0 and math.isfinite(grad.item())
    names = [n for n, _ in loss_fn.named_parameters()]
    assert names == ["log_alpha", "log_sigma_sm", "log_sigma_ce"]


def test_legacy_mode_class_0_raw_map_and_no_alpha_gradient():
    cams = torch.tensor([[[[1.0, 2.0]], [[0.0, 0.0]], [[7.0, 7.0]]],
                         [[[0.5, 0.0]], [[-3.0, 3.0]], [[0.0, 0.0]]]], dtype=torch.float64)
    gaze = torch.tensor([[[0.0, 1.0]], [[0.75, 0.75]]], dtype=torch.float64)
    labels = torch.tensor([1, 2])
    logits = torch.zeros(2, 3, dtype=torch.float64)  # CE = ln 3
    loss_fn = GGCAMLoss(sigma_sm=0.5, sigma_ce=1.0, alpha=3.0, mode="legacy").double()
    total, parts = loss_fn(logits, cams, labels, gaze)
    assert parts["sm"] == pytest.approx(0.65625, rel=1e-12)
    s = parts["sigma_sm"]  # 0.5 is exact
    want = 0.65625 / (2 * s * s) + math.log(3) + math.log(1 + s) + math.log(2)
    assert total.item() == pytest.approx(want, rel=1e-12)
    total.backward()
    assert loss_fn.log_alpha.grad is None or loss_fn.log_alpha.grad.item() == 0.0
    assert loss_fn.log_sigma_sm.grad.item() != 0.0 and loss_fn.log_sigma_ce.grad.item() != 0.0
    # The paper mode on the same batch differs (true-class map through the sigmoid).
    _, paper = GGCAMLoss(sigma_sm=0.5, alpha=3.0).double()(logits, cams, labels, gaze)
    assert abs(paper["sm"] - 0.65625) > 0.1


def test_has_gaze_masks_only_the_mse(batch):
    logits, cams, labels, gaze = batch
    loss_fn = GGCAMLoss(sigma_sm=0.5)
    mask = torch.tensor([True, False, True, False])
    total, parts = loss_fn(logits, cams, labels, gaze, has_gaze=mask)
    want = selective_mse(cams[mask], labels[mask], gaze[mask], 1.0).item()
    assert parts["sm"] == pytest.approx(want, rel=1e-6)
    assert parts["ce"] == pytest.approx(F.cross_entropy(logits, labels).item(), rel=1e-6)
    total, parts = loss_fn(logits, cams, labels, gaze, has_gaze=torch.zeros(4, dtype=torch.bool))
    assert parts["sm"] == 0.0 and torch.isfinite(total)
    total.backward()
    assert loss_fn.log_alpha.grad.item() == 0.0


@pytest.mark.parametrize("mode", ["paper", "legacy"])
def test_gradcheck_float64(mode):
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(4, 3, generator=g, dtype=torch.float64)
    cams = torch.randn(4, 3, 2, 2, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 2, 1, 2])
    gaze = torch.rand(4, 2, 2, generator=g, dtype=torch.float64)
    loss_fn = GGCAMLoss(sigma_sm=0.7, sigma_ce=1.3, alpha=0.8, mode=mode).double()
    has_gaze = torch.tensor([True, True, False, True])
    names = ["log_sigma_sm", "log_sigma_ce"] + (["log_alpha"] if mode == "paper" else [])

    def f(logits, cams, *params):
        total, _ = torch.func.functional_call(loss_fn, dict(zip(names, params)),
                                              (logits, cams, labels, gaze, has_gaze))
        return total

    inputs = (logits.requires_grad_(), cams.requires_grad_(),
              *(getattr(loss_fn, n).detach().clone().requires_grad_() for n in names))
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        (dict(sigma_sm=2e-9, mode="released"), "'released'"),
        (dict(sigma_sm=-1.0), "-1.0"),
        (dict(sigma_sm=0.0), "0.0"),
        (dict(sigma_sm=1.0, sigma_ce=-2.0), "-2.0"),
        (dict(sigma_sm=1.0, alpha=0), "alpha"),
        (dict(sigma_sm=float("nan")), "nan"),
        (dict(sigma_sm=float("inf")), "inf"),
    ],
)
def test_bad_arguments(kwargs, needle):
    with pytest.raises(ValueError, match=re.escape(needle)):
        GGCAMLoss(**kwargs)


def test_standard_loss_is_cross_entropy(batch):
    logits, cams, labels, gaze = batch
    logits = logits.clone().requires_grad_()
    ref = logits.detach().clone().requires_grad_()
    loss, parts = StandardLoss()(logits, cams, labels, gaze)
    want = F.cross_entropy(ref, labels)
    assert loss.item() == pytest.approx(want.item(), rel=1e-7)
    assert parts == {"ce": pytest.approx(want.item(), rel=1e-7)}
    loss.backward()
    want.backward()
    assert torch.allclose(logits.grad, ref.grad, atol=1e-7)
    assert list(StandardLoss().parameters()) == []
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss16, _ = StandardLoss()(logits.detach().bfloat16(), cams, labels, gaze)
    assert loss16.dtype == torch.float32
    want = F.cross_entropy(logits.detach().bfloat16().float(), labels).item()
    assert loss16.item() == pytest.approx(want, rel=1e-6)


def test_the_loss_reports_its_weights_and_its_supervised_map():
    loss = GGCAMLoss(sigma_sm=0.1, sigma_ce=2.0, alpha=3.0)
    r = loss.report()
    assert r["sigma_sm"] == pytest.approx(0.1) and r["alpha"] == pytest.approx(3.0)
    assert r["w_sm"] == pytest.approx(GGCAMLoss.weight_sm(0.1)) == pytest.approx(50.0)
    assert r["w_ce"] == pytest.approx(GGCAMLoss.weight_ce(2.0)) == pytest.approx(0.25)
    cams, labels = torch.randn(2, 3, 4, 3), torch.tensor([2, 0])
    own, pred = loss.predicted_map(cams, labels)
    torch.testing.assert_close(own, torch.stack([cams[0, 2], cams[1, 0]]))
    torch.testing.assert_close(pred, torch.sigmoid(3.0 * own))
    legacy = GGCAMLoss(sigma_sm=0.1, mode="legacy")
    own, pred = legacy.predicted_map(cams, labels)
    assert torch.equal(own, cams[:, 0]) and torch.equal(pred, own)
    assert "released" in legacy.supervised_map and "sigmoid" in loss.supervised_map
    with torch.no_grad():
        loss.log_sigma_sm.fill_(-1000.0)  # a run-away log σ is reported as inf, not an error
    assert math.isinf(loss.report()["w_sm"])


def _batch(B=2, K=3, h=2, w=2):
    g = torch.Generator().manual_seed(0)
    return (torch.randn(B, K, generator=g), torch.randn(B, K, h, w, generator=g),
            torch.tensor([0, 2])[:B], torch.rand(B, h, w, generator=g))


def _poison(t: torch.Tensor, value: float) -> torch.Tensor:
    t = t.clone()
    t.view(-1)[1] = value
    return t


@pytest.mark.parametrize("value, needle", [
    (math.nan, r"gaze \(Ψ\) must be finite, got 1 non-finite values \(\[nan\]\)"),
    (math.inf, r"gaze \(Ψ\) must be finite, got 1 non-finite values \(\[inf\]\)"),
    (-math.inf, r"must be finite, got 1 non-finite values \(\[-inf\]\)"),
    (255.0, r"gaze \(Ψ\) must lie in \[0, 1\], got values in \[.*, 255\] \(an 8-bit image"),
    (-0.5, r"gaze \(Ψ\) must lie in \[0, 1\], got values in \[-0.5, "),
])
def test_loss_rejects_bad_gaze(value, needle):
    logits, cams, labels, gaze = _batch()
    bad = _poison(gaze, value)
    with pytest.raises(ValueError, match=needle):
        selective_mse(cams, labels, bad, 1.0)
    with pytest.raises(ValueError, match=needle):
        legacy_selective_mse(cams, labels, bad)
    for mode in ("paper", "legacy"):
        with pytest.raises(ValueError, match=needle):
            GGCAMLoss(sigma_sm=0.5, mode=mode)(logits, cams, labels, bad)
    # A 0-255 map as a whole (an image, not a heat map).
    with pytest.raises(ValueError, match=r"\[0, 255\]"):
        selective_mse(cams, labels, torch.full_like(gaze, 255.0).index_fill_(1, torch.tensor(0), 0), 1.0)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_selective_mse_rejects_non_finite_maps(value):
    _, cams, labels, gaze = _batch()
    bad = _poison(cams, value)
    needle = rf"cams \(Ω\) must be finite, got 1 non-finite values \(\[{value}\]\) in shape \(2, 3, 2, 2\)"
    with pytest.raises(ValueError, match=needle):
        selective_mse(bad, labels, gaze, 1.0)
    with pytest.raises(ValueError, match=needle):
        legacy_selective_mse(bad, labels, gaze)


def test_non_finite_maps_in_training_stay_a_diverged_run(tmp_path):
    """In ``GGCAMLoss`` (the trainer's loss) a non-finite Ω is divergence, not bad input: the
    total is non-finite and ``fit`` raises ``NonFiniteLoss`` naming epoch, step and terms, which
    the sweep records as "diverged" instead of stopping (a ValueError would stop the sweep)."""
    from ggcam.config import TrainConfig
    from ggcam.train import NonFiniteLoss, fit, make_loss, make_model

    logits, cams, labels, gaze = _batch()
    total, parts = GGCAMLoss(sigma_sm=0.5)(_poison(logits, math.nan), _poison(cams, math.nan),
                                           labels, gaze)
    assert math.isnan(total.item()) and math.isnan(parts["sm"]) and math.isnan(parts["ce"])
    data = SyntheticCXR(12)
    data.images[:] = np.nan
    config = TrainConfig(network="resnet18", variant="ggcam", batch_size=6, max_epochs=1,
                         sigma_sm=0.5)
    with pytest.raises(NonFiniteLoss, match=r"epoch 1, step 0: ce = nan, sm = nan"):
        fit(make_model(config), make_loss(config), data.subset(range(6)), data.subset(range(6, 12)),
            config, checkpoint_dir=tmp_path, progress=False)


def test_loss_rejects_an_empty_batch():
    logits, cams, labels, gaze = _batch()
    empty = (logits[:0], cams[:0], labels[:0], gaze[:0])
    with pytest.raises(ValueError, match=r"cams must be a non-empty batch .* got \(0, 3, 2, 2\)"):
        selective_mse(*empty[1:], 1.0)
    with pytest.raises(ValueError, match=r"non-empty batch .* got \(0, 3, 2, 2\)"):
        legacy_selective_mse(*empty[1:])
    with pytest.raises(ValueError, match=r"non-empty batch .* got \(0, 3, 2, 2\)"):
        GGCAMLoss(sigma_sm=0.5)(*empty)
    with pytest.raises(ValueError, match=r"logits must be a non-empty \(B, K\) batch .* \(0, 3\)"):
        StandardLoss()(*empty)
    with pytest.raises(ValueError, match=r"got \(2, 3, 0, 0\)"):  # 0×0 maps
        selective_mse(cams[..., :0, :0], labels, gaze[..., :0, :0], 1.0)
    with pytest.raises(ValueError, match=r"logits must have shape \(2, 3\) .* got \(2, 4\)"):
        GGCAMLoss(sigma_sm=0.5)(torch.zeros(2, 4), cams, labels, gaze)


@pytest.mark.parametrize("value", [np.float32(0.1), np.float64(0.1), np.array(0.1),
                                   np.array(0.1, dtype=np.float32), torch.tensor(0.1), 0.1])
def test_numpy_and_0d_parameters_are_accepted(value):
    loss = GGCAMLoss(sigma_sm=value, sigma_ce=value, alpha=value)
    for p in (loss.log_sigma_sm, loss.log_sigma_ce, loss.log_alpha):
        assert p.item() == pytest.approx(math.log(0.1), rel=1e-6)
    loss = GGCAMLoss(sigma_sm=2, sigma_ce=np.int64(3), alpha=np.array(1))  # integers too
    assert loss.log_sigma_ce.item() == pytest.approx(math.log(3))


@pytest.mark.parametrize("value, needle", [
    (True, "sigma_sm must be a finite number > 0, got True (bool)"),
    (np.bool_(True), "(bool"),
    (np.array(True), "got True (bool)"),
    ("0.1", "got '0.1' (str)"),
    (np.array([0.1]), "(ndarray)"),
    (np.float32("nan"), "sigma_sm must be a finite number > 0, got nan"),
    (10**400, "got an integer of 401 digits"),
])
def test_booleans_strings_and_arrays_are_rejected(value, needle):
    with pytest.raises(ValueError, match=re.escape(needle)):
        GGCAMLoss(sigma_sm=value)
