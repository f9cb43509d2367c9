"""CAM methods on the Ω grid: the Grad-CAM = CAM identity, Ablation-CAM's closed form, ROAD and
the parameter-randomisation check, on small random CAMNets (CPU, one torch thread)."""

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from ggcam import build_model
from ggcam.metrics.explain import (
    METHODS,
    cells_to_input,
    explain_maps,
    last_block,
    randomization_check,
    road,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def resnet():
    torch.manual_seed(0)
    return build_model("resnet18", num_classes=3).eval()


@pytest.fixture(scope="module")
def x():
    return torch.randn(2, 3, 128, 96, generator=torch.Generator().manual_seed(1))  # Ω 4×3


def calibrated(arch, x):
    """A random CAMNet whose BatchNorm statistics are those of ``x``. Untrained EfficientNet
    statistics (mean 0, var 1) shrink A to ~1e-13, below the library's 1e-7 in min-max."""
    torch.manual_seed(0)
    model = build_model(arch, num_classes=3)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.momentum = None  # cumulative average: one batch sets the statistics
            m.reset_running_stats()
    with torch.no_grad():
        model.train()(x)
    return model.eval()


def minmax_relu(m):
    r = np.maximum(m, 0)
    r = r - r.min(axis=(-2, -1), keepdims=True)
    return r / r.max(axis=(-2, -1), keepdims=True)


@pytest.mark.parametrize("arch", ["resnet18", "efficientnet_b0"])
def test_gradcam_and_hirescam_equal_relu_of_the_cam(arch, x):
    """GAP + Linear: ∂y_c/∂A_kij = Λ_ck/(hw), so both maps are ReLU(Ω_c)/(hw), min-max scaled."""
    model = calibrated(arch, x)
    maps = explain_maps(model, x, [1, 2], methods=("native", "gradcam", "hirescam"))
    assert maps["native"].shape == (2, 4, 3)
    want = minmax_relu(maps["native"])
    np.testing.assert_allclose(maps["gradcam"], want, atol=1e-5)
    np.testing.assert_allclose(maps["hirescam"], want, atol=1e-5)
    with torch.no_grad():
        _, cams = model.forward_cams(x)
    np.testing.assert_allclose(maps["native"][1], cams[1, 2].numpy())


def test_ablationcam_closed_form(resnet, x):
    """Zeroing channel k of A (ReLU output, min 0) lowers y_c by Λ_ck·mean(A_k), so the weight is
    Λ_ck·mean(A_k)/y_c and the map Σ_k Λ_ck·mean(A_k)·A_k / y_c before ReLU and scaling."""
    maps = explain_maps(resnet, x[:1], 0, methods=("ablationcam",))["ablationcam"]
    with torch.no_grad():
        a = resnet.features(x[:1])[0].double()  # (G, h, w)
        lam = resnet.head.weight[0].double()
        y = (lam[:, None, None] * a).sum(0).mean() + resnet.head.bias[0].double()
        raw = (lam * a.mean(dim=(1, 2)))[:, None, None] * a
        want = minmax_relu((raw.sum(0) / y).numpy()[None])
    np.testing.assert_allclose(maps, want, atol=1e-4)


def test_every_method_on_the_grid_and_model_left_as_found(resnet, x):
    resnet.train()
    maps = explain_maps(resnet, x, 1, methods=METHODS)
    assert resnet.training and all(p.grad is None for p in resnet.parameters())
    resnet.eval()
    for name, m in maps.items():
        assert m.shape == (2, 4, 3), name
        if name != "native":
            assert m.min() >= 0 and m.max() == pytest.approx(1.0, abs=1e-5), name


def test_explain_errors(resnet, x):
    with pytest.raises(ValueError, match="unknown method"):
        explain_maps(resnet, x, 1, methods=("gradcam", "lime"))
    with pytest.raises(ValueError, match="target_class"):
        explain_maps(resnet, x, [0, 1, 2])
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        explain_maps(resnet, x[0], 1)


def test_cells_to_input_receptive_field_alignment():
    # stride 2: cell i covers pixels [2i − 1, 2i + 1): rows 0 | 1, 2 | 3 (clipped to cell 1)
    m = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    np.testing.assert_array_equal(cells_to_input(m, (4, 4))[0],
                                  [[1, 2, 2, 2], [3, 4, 4, 4], [3, 4, 4, 4], [3, 4, 4, 4]])
    with pytest.raises(ValueError, match="stride"):
        cells_to_input(m, (4, 6))


@pytest.mark.filterwarnings("ignore:__array_wrap__:DeprecationWarning")  # the direct library call
def test_road_equals_the_library_on_the_spread_map(resnet):
    from pytorch_grad_cam.metrics.road import ROADCombined
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget

    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    maps = explain_maps(resnet, x, 1, methods=("gradcam",))["gradcam"]
    score = road(resnet, x, maps, 1, percentiles=(20, 80), seed=5)
    torch.manual_seed(5)
    want = ROADCombined(percentiles=[20, 80])(x, cells_to_input(maps, (64, 64)),
                                              [ClassifierOutputSoftmaxTarget(1)], resnet)
    assert score.shape == (1,) and score[0] == pytest.approx(float(want[0]), abs=1e-6)
    flat = road(resnet, x, np.ones((1, 2, 2)), 1, percentiles=(50,))
    assert abs(flat[0]) < 1e-3  # nothing ranks above anything: both orders impute alike


def test_randomization_check(resnet, x):
    state = {k: v.clone() for k, v in resnet.state_dict().items()}
    rng_state = torch.get_rng_state()
    rho = randomization_check(resnet, x, [1, 2], seed=3)
    assert all(torch.equal(v, resnet.state_dict()[k]) for k, v in state.items())
    assert torch.equal(rng_state, torch.get_rng_state())
    assert set(rho) == {"head", "head+last_block"} and rho["head"].shape == (2,)
    # reference: the head re-initialised by hand under the same seed
    with torch.no_grad():
        before = resnet.forward_cams(x)[1]
        torch.manual_seed(3)
        head = type(resnet.head)(resnet.head.in_features, 3)
        after = head(resnet.features(x))[1]
    torch.set_rng_state(rng_state)
    for i, c in enumerate([1, 2]):
        want = spearmanr(before[i, c].ravel(), after[i, c].ravel()).statistic
        assert rho["head"][i] == pytest.approx(want)
    assert np.all(np.abs(rho["head+last_block"]) <= 1)
    assert last_block(resnet) is resnet.features[-1]  # layer4
