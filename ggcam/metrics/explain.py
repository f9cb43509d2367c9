"""CAM methods side by side on the Ω grid, a faithfulness score, and a sanity check.

* ``explain_maps``: Ω^Y of the CAM layer ("native") beside pytorch-grad-cam's methods, all
  on the (h, w) grid of Ω. The library upsamples its maps to the input; here each is taken
  where it is computed, on the target layer's activations A (``BaseCAM.get_cam_image``), then
  ReLU and min-max scaled to [0, 1] exactly as the library does before upsampling.
  For a CAM layer (GAP + Linear) ∂y_c/∂A_kij = Λ_ck / (hw), so Grad-CAM's and HiResCAM's
  maps are ReLU(Ω_c) / (hw): min-max scaled, identical to the native map's ReLU.
* ``road``: ROAD (Rong et al., "A consistent and efficient evaluation strategy for
  attribution methods", ICML 2022), ``pytorch_grad_cam.metrics.road.ROADCombined``, for a
  map on the Ω grid, spread over the input pixels of each cell.
* ``randomization_check``: the model-parameter randomisation test (Adebayo et al., "Sanity
  checks for saliency maps", NeurIPS 2018): Ω^Y must change when the head, then also the last
  block, is re-initialised; the Spearman correlation with the trained map is reported.

The model is never modified (``randomization_check`` works on copies); ``explain_maps``
puts it in eval mode for the call and restores its mode, and leaves no gradients behind.
"""

from __future__ import annotations

import contextlib
import copy
import io
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import Tensor, nn

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = [
    "METHODS",
    "cells_to_input",
    "explain_maps",
    "last_block",
    "randomization_check",
    "road",
]

METHODS = ("native", "gradcam", "hirescam", "gradcam++", "xgradcam", "layercam", "eigencam",
           "ablationcam")


def _cam_class(name: str):
    import pytorch_grad_cam as pgc  # imported where it is used

    return {"gradcam": pgc.GradCAM, "hirescam": pgc.HiResCAM, "gradcam++": pgc.GradCAMPlusPlus,
            "xgradcam": pgc.XGradCAM, "layercam": pgc.LayerCAM, "eigencam": pgc.EigenCAM,
            "ablationcam": pgc.AblationCAM}[name]


def _targets(target_class, batch: int) -> list[int]:
    t = np.atleast_1d(np.asarray(target_class))
    if t.size == 1:
        t = np.repeat(t, batch)
    if t.shape != (batch,) or not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"target_class must be an int or {batch} ints, got {target_class!r}")
    return [int(c) for c in t]


def _check_input(x) -> Tensor:
    if not isinstance(x, Tensor) or x.ndim != 4:
        raise ValueError(f"x must be a tensor of shape (B, C, H, W), got {getattr(x, 'shape', x)}")
    return x


@torch.no_grad()
def _native(model: nn.Module, x: Tensor, targets: list[int]) -> np.ndarray:
    _, cams = model.forward_cams(x)
    return cams[torch.arange(len(targets)), torch.tensor(targets)].float().cpu().numpy()


def _library_map(model, x, targets, name, layer) -> np.ndarray:
    from pytorch_grad_cam.ablation_layer import AblationLayer
    from pytorch_grad_cam.utils.image import scale_cam_image
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    cls = _cam_class(name)
    extra = {"ablation_layer": AblationLayer()} if name == "ablationcam" else {}
    cam = cls(model=model, target_layers=[layer], reshape_transform=None, **extra)
    outputs_of = [ClassifierOutputTarget(c) for c in targets]
    try:  # BaseCAM.forward up to the per-layer map, without the upsampling
        outputs = cam.activations_and_grads(x)
        if cam.uses_gradients:
            model.zero_grad(set_to_none=True)
            sum(t(o) for t, o in zip(outputs_of, outputs)).backward()
        acts = cam.activations_and_grads.activations[0].numpy()
        grads = cam.activations_and_grads.gradients
        grads = grads[0].numpy() if grads else None
        quiet = contextlib.redirect_stderr(io.StringIO())  # the ablation loops' tqdm bars
        with quiet, torch.no_grad() if not cam.uses_gradients else contextlib.nullcontext():
            raw = cam.get_cam_image(x, layer, outputs_of, acts, grads, eigen_smooth=False)
    finally:
        cam.activations_and_grads.release()
        model.zero_grad(set_to_none=True)
    return scale_cam_image(np.maximum(raw, 0))  # ReLU, then (m − min) / (max + 1e-7)


def explain_maps(
    model: nn.Module, x: Tensor, target_class: int | Sequence[int] | np.ndarray,
    methods: Sequence[str] = ("native", "gradcam", "hirescam", "ablationcam"),
    target_layer: nn.Module | None = None,
) -> dict[str, np.ndarray]:
    """Maps of several CAM methods for ``target_class``, all on the Ω grid.

    Args:
        model: a ``CAMNet`` (``forward`` gives logits, ``forward_cams`` gives (logits, Ω)).
        x: input, shape (B, C, H, W), on the model's device.
        target_class: the class c explained, an int or one per image.
        methods: names from ``METHODS``; "native" is Ω_c of the CAM layer.
        target_layer: the layer whose activations A the library methods use; default
            ``model.features``, whose output is the A of eq. 4.

    Returns:
        {method: float array (B, h, w)}. "native" is Ω_c as the model computes it (raw
        values); every other map is ReLU'd and min-max scaled to [0, 1] per image, as
        pytorch-grad-cam returns it (before its upsampling).
    """
    x = _check_input(x)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; choose from {METHODS}")
    targets = _targets(target_class, len(x))
    layer = model.features if target_layer is None else target_layer
    was_training = model.training
    model.eval()
    try:
        out = {}
        for name in methods:
            out[name] = (_native(model, x, targets) if name == "native"
                         else _library_map(model, x, targets, name, layer))
    finally:
        model.train(was_training)
    return out


def cells_to_input(maps: ArrayLike, input_hw: tuple[int, int]) -> np.ndarray:
    """Spread (B, h, w) Ω-grid maps over the input pixels, each pixel taking its cell's value.

    Input pixel (y, x) belongs to cell (⌊(y + s/2) / s⌋, ⌊(x + s/2) / s⌋), clipped to the
    grid, s = H / h: the receptive-field alignment of ``ggcam.geometry`` (cell (i, j) is
    centred on input pixel (s·i, s·j)).
    """
    m = np.asarray(maps, dtype=np.float32)
    if m.ndim != 3:
        raise ValueError(f"maps must have shape (B, h, w), got {m.shape}")
    (big_h, big_w), (h, w) = input_hw, m.shape[1:]
    if big_h % h or big_w % w or big_h // h != big_w // w:
        raise ValueError(f"input {input_hw} is not the grid {(h, w)} times one stride")
    s = big_h // h
    rows = np.minimum((np.arange(big_h) + s // 2) // s, h - 1)
    cols = np.minimum((np.arange(big_w) + s // 2) // s, w - 1)
    return m[:, rows][:, :, cols]


def road(
    model: nn.Module, x: Tensor, maps: ArrayLike, target_class: int | Sequence[int] | np.ndarray,
    percentiles: Sequence[float] = (10, 20, 30, 40, 50, 60, 70, 80, 90), seed: int = 0,
) -> np.ndarray:
    """ROAD score of Ω-grid maps: the library's ``ROADCombined`` on the target's softmax.

    For each percentile p the pixels above (most relevant first, MoRF) or below (least
    relevant first, LeRF) the map's p-th percentile are imputed by noisy linear interpolation;
    the score is mean over p of (Δ_LeRF − Δ_MoRF) / 2, Δ the change of the target
    probability. Higher is more faithful; a constant map imputes every pixel in both orders
    and scores ≈ 0 (the imputation noise). One sparse solve per image, percentile and order:
    seconds per image at 128×96 on one CPU thread.

    Args:
        model, x, target_class: as in ``explain_maps``.
        maps: (B, h, w) maps on the Ω grid (e.g. one entry of ``explain_maps``).
        percentiles: thresholds, in (0, 100).
        seed: seed of the imputation noise (``torch.manual_seed`` inside ``fork_rng``, so the
            global generators are left as they were).

    Returns:
        float array (B,).
    """
    from pytorch_grad_cam.metrics.road import ROADCombined
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget

    x = _check_input(x)
    targets = [ClassifierOutputSoftmaxTarget(c) for c in _targets(target_class, len(x))]
    pixel_maps = cells_to_input(maps, tuple(x.shape[-2:]))
    if len(pixel_maps) != len(x):
        raise ValueError(f"maps must hold one map per image ({len(x)}), got {len(pixel_maps)}")
    was_training = model.training
    model.eval()
    try:
        with torch.random.fork_rng(), warnings.catch_warnings():
            # the imputer calls np.argwhere on a torch tensor (NumPy 2 deprecation, grad-cam 1.5.7)
            warnings.filterwarnings("ignore", "__array_wrap__", DeprecationWarning)
            torch.manual_seed(seed)
            scores = ROADCombined(percentiles=list(percentiles))(x, pixel_maps, targets, model)
    finally:
        model.train(was_training)
    return np.asarray(scores, dtype=float).reshape(len(x))


def _reset(module: nn.Module) -> None:
    for m in module.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
        if hasattr(m, "reset_running_stats"):
            m.reset_running_stats()


def last_block(model: nn.Module) -> nn.Module:
    """The last child of ``model.features`` with parameters (ResNet: layer4; EfficientNet:
    its final 1×1 convolution block)."""
    blocks = [m for m in model.features.children() if any(True for _ in m.parameters())]
    if not blocks:
        raise ValueError("model.features has no child module with parameters")
    return blocks[-1]


def _spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array([spearmanr(p.ravel(), q.ravel()).statistic for p, q in zip(a, b)])


def randomization_check(model: nn.Module, x: Tensor, target: int | Sequence[int] | np.ndarray,
                        seed: int = 0) -> dict[str, np.ndarray]:
    """Cascading model-parameter randomisation of Ω^Y (Adebayo et al. 2018).

    On a copy of the model the CAM head is re-initialised (``reset_parameters`` under
    ``torch.manual_seed(seed)``, the global generators restored afterwards), then also the last
    block of ``model.features`` (``last_block``; parameters and BatchNorm statistics). A map
    that explains the trained network must change: a Spearman ρ near 1 fails the check.

    Args:
        model: a ``CAMNet``; not modified.
        x: input, shape (B, C, H, W).
        target: the class whose map Ω_c is compared, an int or one per image.
        seed: seed of the new parameters.

    Returns:
        {"head": ρ (B,), "head+last_block": ρ (B,)}, Spearman ρ between the trained Ω_c and
        the randomised one, per image (NaN where a map is constant).
    """
    x = _check_input(x)
    targets = _targets(target, len(x))
    trained = copy.deepcopy(model).eval()
    base = _native(trained, x, targets)
    out = {}
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        _reset(trained.head)
        out["head"] = _spearman(base, _native(trained, x, targets))
        _reset(last_block(trained))
        out["head+last_block"] = _spearman(base, _native(trained, x, targets))
    return out
