"""The CAM layer (paper eq. 1-6), ``build_model`` and ``to_cam_model``."""

from __future__ import annotations

import math
import re
import urllib.request

import pytest
import torch
from torch import nn
from torchvision import models

from ggcam import CAMHead, CAMNet, build_model, cam_head, to_cam_model

# The smallest torchvision member of each supported family (issue 2).
FAMILIES = {
    "resnet": "resnet18",
    "resnext": "resnext50_32x4d",
    "wide_resnet": "wide_resnet50_2",
    "densenet": "densenet121",
    "efficientnet": "efficientnet_b0",
    "efficientnet_v2": "efficientnet_v2_s",
    "regnet": "regnet_x_400mf",
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _calibrated(arch: str, seed: int = 0) -> nn.Module:
    """A random torchvision model in eval mode whose BatchNorm statistics come from data.

    With fresh running statistics (mean 0, variance 1) deep eval-mode networks shrink their
    activations layer by layer (EfficientNet-B0's logits come out ~1e-12), which would make a
    logits comparison vacuous. One train-mode pass with cumulative averaging fixes that. The
    classifier gets nn.Linear's initialisation (EfficientNet's own, U(±1/√K), gives logits in
    the hundreds), so the logits are O(1) and an absolute tolerance means what it says.
    """
    torch.manual_seed(seed)
    m = models.get_model(arch, weights=None, num_classes=3)
    _classifier(m).reset_parameters()
    for mod in m.modules():
        if isinstance(mod, nn.modules.batchnorm._BatchNorm):
            mod.momentum = None
            mod.reset_running_stats()
    m.train()
    with torch.no_grad():
        m(torch.randn(4, 3, 64, 64))
    return m.eval()


def _classifier(m: nn.Module) -> nn.Linear:
    head = m.fc if hasattr(m, "fc") else m.classifier
    return head if isinstance(head, nn.Linear) else head[-1]


# --- CAMHead: eq. 4-6 -----------------------------------------------------------------------


def test_cam_head_parameters_have_linear_shapes_and_initialisation():
    torch.manual_seed(7)
    head = CAMHead(in_features=40, num_classes=3)
    torch.manual_seed(7)
    lin = nn.Linear(40, 3)
    assert head.weight.shape == (3, 40) and head.bias.shape == (3,)
    # Same draws in the same order as nn.Linear: identical tensors for the same seed.
    assert torch.equal(head.weight, lin.weight) and torch.equal(head.bias, lin.bias)
    assert [n for n, _ in head.named_parameters()] == ["weight", "bias"]


def test_cam_head_initialisation_bounds():
    torch.manual_seed(0)
    G = 2048
    head = CAMHead(G, 3)
    bound = 1 / math.sqrt(G)  # kaiming_uniform(a=sqrt 5) and the bias both use 1/sqrt(fan_in)
    assert head.weight.abs().max() <= bound and head.bias.abs().max() <= bound
    # Uniform on [-b, b]: standard deviation b/sqrt 3, and the draws span most of the interval.
    assert head.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    assert head.weight.abs().max() > 0.99 * bound


def test_linear_state_dict_loads_and_gives_gap_linear_logits():
    torch.manual_seed(1)
    lin = nn.Linear(16, 3).double()
    head = CAMHead(16, 3).double()
    head.load_state_dict(lin.state_dict())
    A = torch.randn(2, 16, 5, 4, dtype=torch.float64)
    logits, cams = head(A)
    assert torch.allclose(logits, lin(A.mean(dim=(2, 3))), rtol=0, atol=1e-12)
    assert cams.shape == (2, 3, 5, 4)


def test_cam_head_matches_eq_4_to_6_by_hand():
    torch.manual_seed(2)
    B, G, h, w, K = 2, 5, 3, 4, 3
    A = torch.randn(B, G, h, w, dtype=torch.float64)
    head = CAMHead(G, K).double()
    logits, cams = head(A)
    W, lam = head.weight.detach(), head.bias.detach()
    # Eq. 4 by explicit loops, and as an einsum.
    omega = torch.zeros(B, K, h, w, dtype=torch.float64)
    for b in range(B):
        for c in range(K):
            for i in range(h):
                for j in range(w):
                    omega[b, c, i, j] = sum(W[c, k] * A[b, k, i, j] for k in range(G))
    assert torch.allclose(cams, omega, rtol=0, atol=1e-12)
    assert torch.allclose(cams, torch.einsum("kg,bghw->bkhw", W, A), rtol=0, atol=1e-12)
    # Eq. 5-6: y_c = mean_ij Ω_c + λ_c, and eq. 1-2: y = Λ p + λ with p = GAP(A).
    assert torch.allclose(logits, omega.mean(dim=(2, 3)) + lam, rtol=0, atol=1e-12)
    assert torch.allclose(logits, A.mean(dim=(2, 3)) @ W.T + lam, rtol=0, atol=1e-12)


def test_cam_head_channels_last_input_gives_the_same_maps():
    torch.manual_seed(3)
    head = CAMHead(8, 3).double()
    A = torch.randn(2, 8, 4, 5, dtype=torch.float64)
    l1, c1 = head(A)
    l2, c2 = head(A.to(memory_format=torch.channels_last))
    assert torch.allclose(c1, c2, atol=1e-12) and torch.allclose(l1, l2, atol=1e-12)


def test_cam_head_empty_batch():
    logits, cams = CAMHead(8, 3)(torch.zeros(0, 8, 2, 2))
    assert logits.shape == (0, 3) and cams.shape == (0, 3, 2, 2)


@pytest.mark.parametrize("fmt", [torch.contiguous_format, torch.channels_last])
def test_cam_head_gradients_equal_gap_linear_gradients(fmt):
    torch.manual_seed(4)
    lin = nn.Linear(6, 3).double()
    head = CAMHead(6, 3).double()
    head.load_state_dict(lin.state_dict())
    A1 = torch.randn(2, 6, 3, 3, dtype=torch.float64, requires_grad=True)
    A2 = A1.detach().clone(memory_format=fmt).requires_grad_()
    t = torch.randn(2, 3, dtype=torch.float64)
    (lin(A1.mean(dim=(2, 3))) * t).sum().backward()
    (head(A2)[0] * t).sum().backward()
    assert torch.allclose(A1.grad, A2.grad, atol=1e-12)
    assert torch.allclose(lin.weight.grad, head.weight.grad, atol=1e-12)
    assert torch.allclose(lin.bias.grad, head.bias.grad, atol=1e-12)


def test_functional_cam_head():
    W = torch.tensor([[1.0, 2.0], [0.0, -1.0]])
    b = torch.tensor([0.5, -0.5])
    A = torch.tensor([[[[1.0, 3.0]], [[2.0, 0.0]]]])  # (1, 2, 1, 2)
    logits, cams = cam_head(A, W, b)
    # Ω_0 = 1·A_0 + 2·A_1 = [5, 3]; Ω_1 = -A_1 = [-2, 0]; y = mean + b.
    assert cams.tolist() == [[[[5.0, 3.0]], [[-2.0, 0.0]]]]
    assert logits.tolist() == [[4.5, -1.5]]


@pytest.mark.parametrize("shape", [(2, 7, 3, 3), (2, 8, 3), (8, 3, 3), (1, 2, 8, 3, 3)])
def test_cam_head_rejects_bad_feature_shapes(shape):
    head = CAMHead(8, 3)
    with pytest.raises(ValueError, match=r"\(B, 8, h, w\).*" + re.escape(str(shape))):
        head(torch.zeros(shape))


@pytest.mark.parametrize("args", [(0, 3), (8, 0), (-1, 2)])
def test_cam_head_rejects_non_positive_sizes(args):
    with pytest.raises(ValueError, match="positive"):
        CAMHead(*args)


# --- to_cam_model: identical logits, per family ---------------------------------------------


@pytest.mark.parametrize("family", list(FAMILIES))
def test_to_cam_model_keeps_logits(family):
    arch = FAMILIES[family]
    tv = _calibrated(arch)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ref = tv(x)
        cam = to_cam_model(tv).eval()
        logits, cams = cam.forward_cams(x)
    scale = ref.abs().max().item()
    assert scale > 0.05, "logits too small for the comparison to mean anything"
    # Same arithmetic in another order: float32 rounding grows with the logits (EfficientNetV2's
    # reach ~70 here, where one float32 ulp is 7.6e-6), so 1e-5 is absolute up to |y| = 1.
    assert (logits - ref).abs().max() < 1e-5 * max(1.0, scale)
    assert torch.equal(cam(x), logits)
    # Eq. 5 holds at the model level: the logits are the maps' means plus λ.
    assert torch.allclose(logits, cams.mean(dim=(2, 3)) + cam.head.bias, atol=1e-5)
    # Same trainable parameters as the original (section 3.1).
    assert sum(p.numel() for p in cam.parameters()) == sum(p.numel() for p in tv.parameters())

    # float64, with classifier weights that float32 cannot represent.
    tv = tv.double()
    with torch.no_grad():
        lin = _classifier(tv)
        lin.weight.add_(1e-3 * torch.randn(lin.weight.shape, dtype=torch.float64))
        lin.bias.add_(1e-3 * torch.randn(lin.bias.shape, dtype=torch.float64))
        x64 = x.double()
        cam64 = to_cam_model(tv).eval()
        assert torch.equal(cam64.head.weight, lin.weight) and torch.equal(cam64.head.bias, lin.bias)
        assert (cam64(x64) - tv(x64)).abs().max() < 1e-10


def test_to_cam_model_does_not_modify_the_original():
    tv = _calibrated("resnet18")
    before = {k: v.clone() for k, v in tv.state_dict().items()}
    fc = tv.fc
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        y0 = tv(x)
        cam = to_cam_model(tv)
        cam.head.weight.add_(1.0)  # the copy is independent of the original
        next(cam.features.parameters()).add_(1.0)
        y1 = tv(x)
    assert tv.fc is fc and isinstance(tv.fc, nn.Linear)
    assert all(torch.equal(before[k], v) for k, v in tv.state_dict().items())
    assert torch.equal(y0, y1)
    assert not tv.training


def test_model_forward_returns_logits_and_forward_cams_returns_maps():
    torch.manual_seed(0)
    model = build_model("resnet18", num_classes=4).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        out = model(x)
        logits, cams = model.forward_cams(x)
    assert isinstance(out, torch.Tensor) and out.shape == (2, 4)
    assert logits.shape == (2, 4) and cams.shape == (2, 4, 2, 2)  # stride 32
    assert torch.equal(out, logits)


@pytest.mark.parametrize("arch, channels", [("resnet50", 2048), ("efficientnet_v2_s", 1280)])
def test_paper_input_gives_48_by_40_maps(arch, channels):
    # Shape inference on the meta device: no memory, no arithmetic (a real forward of ResNet50
    # at 1536×1280 takes ~8 s on 2 CPU cores).
    with torch.device("meta"):
        model = build_model(arch, num_classes=3).eval()
        logits, cams = model.forward_cams(torch.empty(1, 3, 1536, 1280))
    assert model.head.in_features == channels and model.head.num_classes == 3
    assert logits.shape == (1, 3)
    assert cams.shape == (1, 3, 48, 40)


# --- build_model --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arch, channels",
    [("resnet50", 2048), ("efficientnet_v2_s", 1280), ("densenet121", 1024),
     ("efficientnet_b0", 1280), ("regnet_y_400mf", 440), ("resnet34", 512)],
)
def test_build_model_supported(arch, channels):
    # The large ones on the meta device (structure only); torchvision's RegNet cannot be built
    # there (it reads a tensor's value).
    big = arch in ("resnet50", "efficientnet_v2_s", "densenet121")
    with torch.device("meta" if big else "cpu"):
        model = build_model(arch, num_classes=3)
    assert isinstance(model, CAMNet)
    assert model.head.weight.shape == (3, channels) and model.head.bias.shape == (3,)


def test_build_model_never_downloads(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("build_model tried to download")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    model = build_model("resnet18", num_classes=3)
    assert model.head.weight.shape == (3, 512)


def test_build_model_random_weights_depend_on_the_seed():
    torch.manual_seed(0)
    a = build_model("resnet18").head.weight
    torch.manual_seed(0)
    b = build_model("resnet18").head.weight
    torch.manual_seed(1)
    c = build_model("resnet18").head.weight
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.device.type == "cpu" and a.dtype == torch.float32


@pytest.mark.parametrize("arch", ["mobilenet_v3_small", "vit_b_16", "alexnet", "not_a_model"])
def test_build_model_rejects_unsupported_architectures(arch):
    # Built on the meta device: the check happens before any real weight is made.
    with torch.device("meta"), pytest.raises(ValueError) as err:
        build_model(arch)
    for family in ("resnet", "densenet", "efficientnet", "regnet"):
        assert family in str(err.value)
    if arch == "not_a_model":
        assert "'not_a_model'" in str(err.value)


def test_to_cam_model_rejects_a_resnet_with_an_mlp_head():
    m = models.resnet18(num_classes=3)
    m.fc = nn.Sequential(nn.Linear(512, 64), nn.ReLU(), nn.Linear(64, 3))
    with pytest.raises(ValueError, match="not one Linear layer") as err:
        to_cam_model(m)
    assert "efficientnet" in str(err.value) and "regnet" in str(err.value)


def test_to_cam_model_rejects_a_classifier_without_bias():
    m = models.resnet18(num_classes=3)
    m.fc = nn.Linear(512, 3, bias=False)
    with pytest.raises(ValueError, match="no bias"):
        to_cam_model(m)


def test_build_model_loads_a_torchvision_state_dict(tmp_path):
    tv = _calibrated("resnet18", seed=5)
    path = tmp_path / "tv.pt"
    torch.save(tv.state_dict(), path)
    torch.manual_seed(99)  # a different random init, overwritten by the file
    model = build_model("resnet18", num_classes=3, weights=path).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert (model(x) - tv(x)).abs().max() < 1e-5
    assert torch.equal(model.head.weight, tv.fc.weight)


def test_build_model_loads_a_camnet_state_dict_and_a_checkpoint(tmp_path):
    from ggcam.checkpoint import save_checkpoint

    torch.manual_seed(6)
    src = build_model("efficientnet_b0", num_classes=3)
    torch.save(src.state_dict(), tmp_path / "cam.pt")
    save_checkpoint(tmp_path / "ckpt.pt", config={"cam_reduction": "sum"}, model=src,
                    loss_fn=nn.Identity(), epoch=3)
    for name in ("cam.pt", "ckpt.pt"):
        torch.manual_seed(100)
        model = build_model("efficientnet_b0", num_classes=3, weights=tmp_path / name)
        got, want = model.state_dict(), src.state_dict()
        assert got.keys() == want.keys()
        assert all(torch.equal(got[k], want[k]) for k in want)


def test_build_model_weights_errors(tmp_path):
    missing = tmp_path / "nope.pt"
    with pytest.raises(ValueError, match="not found.*nope.pt"):
        build_model("resnet18", weights=missing)
    # A state dict of another architecture, and one with another number of classes.
    torch.save(models.resnet18(num_classes=3).state_dict(), tmp_path / "r18.pt")
    with pytest.raises(ValueError, match="r18.pt.*do not fit"):
        build_model("resnet34", weights=tmp_path / "r18.pt")
    torch.save(models.resnet18(num_classes=1000).state_dict(), tmp_path / "r18k.pt")
    with pytest.raises(ValueError, match="r18k.pt"):
        build_model("resnet18", num_classes=3, weights=tmp_path / "r18k.pt")
    # Not a torch file, and a torch file that holds no state dict.
    (tmp_path / "junk.pt").write_text("not a checkpoint")
    with pytest.raises(ValueError, match="cannot read weights from .*junk.pt"):
        build_model("resnet18", weights=tmp_path / "junk.pt")
    torch.save(torch.zeros(3), tmp_path / "tensor.pt")
    with pytest.raises(ValueError, match="tensor.pt holds neither a ggcam checkpoint nor a state dict"):
        build_model("resnet18", weights=tmp_path / "tensor.pt")


def test_weights_are_never_unpickled(tmp_path):
    """A file that runs code when unpickled is refused (weights_only=True), nothing runs."""
    import pickle

    class Boom:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    with open(tmp_path / "evil.pt", "wb") as f:
        pickle.dump({"model": Boom()}, f)
    with pytest.raises(ValueError, match="evil.pt"):
        build_model("resnet18", weights=tmp_path / "evil.pt")
    assert not (tmp_path / "pwned").exists()


# --- the released code's mean reduction --------------------------------------------------------


def test_mean_reduction_is_the_sum_over_F():
    torch.manual_seed(0)
    A = torch.randn(2, 16, 3, 4)
    head = CAMHead(16, 3, reduction="mean")
    logits, cams = head(A)
    want = torch.einsum("kg,bghw->bkhw", head.weight, A) / 16  # Ω = (1/F) Λ A
    torch.testing.assert_close(cams, want)
    torch.testing.assert_close(logits, cams.mean(dim=(2, 3)) + head.bias)  # y = GAP(Ω) + b
    with pytest.raises(ValueError, match="reduction"):
        CAMHead(16, 3, reduction="max")
    assert build_model("resnet18", reduction="mean").head.reduction == "mean"


# --- dropout in EfficientNet heads --------------------------------------------------------


def test_efficientnet_dropout_becomes_channel_dropout():
    tv = _calibrated("efficientnet_b0")
    p = tv.classifier[0].p
    model = to_cam_model(tv)
    assert isinstance(model.dropout, nn.Dropout2d) and model.dropout.p == pytest.approx(p)
    assert isinstance(to_cam_model(_calibrated("resnet18")).dropout, nn.Identity)

    seen = {}
    model.dropout.register_forward_hook(lambda mod, inp, out: seen.update(a=inp[0], d=out))
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        model.eval()
        l1 = model(x)
        assert torch.equal(seen["a"], seen["d"])  # identity in eval mode
        assert torch.equal(model(x), l1)

        model.train()
        torch.manual_seed(0)
        logits, _ = model.forward_cams(x)
        A, D = seen["a"], seen["d"]
    dropped = (D == 0).all(dim=(2, 3))  # (B, G): whole channels
    kept = ~dropped
    assert 0.1 < dropped.float().mean().item() < 0.3  # p = 0.2 over 2×1280 channels
    # Kept channels are scaled by 1/(1-p), like nn.Dropout scales the pooled features.
    assert torch.allclose(D[kept], A[kept] / (1 - p), rtol=1e-6, atol=1e-6)
    pooled = D.mean(dim=(2, 3))
    assert torch.equal(pooled == 0, dropped | (A.mean(dim=(2, 3)) == 0))
    # The logits are GAP + Linear of the dropped features.
    W, b = model.head.weight, model.head.bias
    assert torch.allclose(logits, pooled @ W.T + b, atol=1e-5)


def test_cam_head_rejects_a_0x0_map():
    head = CAMHead(in_features=4, num_classes=3)
    with pytest.raises(ValueError, match=r"h, w >= 1, got \(2, 4, 0, 0\)"):
        head(torch.zeros(2, 4, 0, 0))
