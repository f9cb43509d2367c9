"""The CAM layer (paper section 3.1, eq. 1-6) and models built around it.

A classification CNN ends in global average pooling (GAP) followed by one linear layer:
y = Λ p + λ with p = mean_ij A (eq. 1-2). Swapping the order of the two linear operations
(eq. 3) exposes the class activation maps Ω_c = Σ_k Λ_ck A_k (eq. 4), and y_c is their mean
plus the bias (eq. 5-6). ``CAMHead`` computes both with the same parameters as
``nn.Linear(G, K)``, so a trained GAP + Linear head converts to it with identical logits.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import torch
from torch import Tensor, nn

SUPPORTED_FAMILIES = (
    "resnet (resnet18/34/50/101/152, resnext*, wide_resnet*)",
    "densenet (densenet121/161/169/201)",
    "efficientnet (efficientnet_b0-b7, efficientnet_v2_s/m/l)",
    "regnet (regnet_x_*, regnet_y_*)",
)


REDUCTIONS = ("sum", "mean")


def cam_head(features: Tensor, weight: Tensor, bias: Tensor,
             reduction: str = "sum") -> tuple[Tensor, Tensor]:
    """Class activation maps and logits of a CAM layer.

    Args:
        features: A, shape (B, G, h, w).
        weight: Λ, shape (K, G).
        bias: λ, shape (K,).
        reduction: ``"sum"``, Ω_c = Σ_k Λ_ck A_k (eq. 4); ``"mean"``, Ω_c = (1/G) Σ_k Λ_ck A_k,
            what the released code computes (docs/released-code.md). y_c = mean_ij Ω_c + λ_c
            either way (eq. 5-6).

    Returns:
        logits y, shape (B, K), and maps Ω, shape (B, K, h, w).
    """
    # Eq. 4 without ever forming a B×K×G×h×w product. For contiguous (NCHW) features a batched
    # matrix product over the flattened grid needs no copy of A (einsum and matmul transpose A
    # into a copy; a CPU 1x1 convolution reorders it): peak memory is that of GAP + Linear
    # (benchmarks/bench_cam_head.py). A 1x1 convolution keeps channels_last inputs in
    # channels_last and dispatches to cuDNN on a GPU.
    if features.is_contiguous():
        B, _, h, w = features.shape
        cams = torch.bmm(weight.expand(B, -1, -1), features.flatten(2)).view(B, len(weight), h, w)
    else:
        cams = nn.functional.conv2d(features, weight[:, :, None, None])  # eq. 4
    if reduction == "mean":
        cams = cams / features.shape[1]
    logits = cams.mean(dim=(-2, -1)) + bias  # eq. 5-6
    return logits, cams


class CAMHead(nn.Module):
    """CAM layer: replaces GAP + Linear and also returns the maps Ω.

    Parameters ``weight`` (K, G) and ``bias`` (K,) are initialised exactly like
    ``nn.Linear(in_features, num_classes)``, so a Linear state dict loads into it.
    """

    def __init__(self, in_features: int, num_classes: int, reduction: str = "sum") -> None:
        super().__init__()
        if in_features < 1 or num_classes < 1:
            raise ValueError(
                f"in_features and num_classes must be positive, got {in_features}, {num_classes}"
            )
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.in_features = in_features
        self.num_classes = num_classes
        self.reduction = reduction
        self.weight = nn.Parameter(torch.empty(num_classes, in_features))
        self.bias = nn.Parameter(torch.empty(num_classes))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Same as nn.Linear.reset_parameters.
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        bound = 1 / math.sqrt(self.in_features)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, features: Tensor) -> tuple[Tensor, Tensor]:
        if (features.ndim != 4 or features.shape[1] != self.in_features
                or features.shape[-1] < 1 or features.shape[-2] < 1):
            raise ValueError(
                f"features must have shape (B, {self.in_features}, h, w) with h, w >= 1, got "
                f"{tuple(features.shape)}"
            )
        return cam_head(features, self.weight, self.bias, self.reduction)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, num_classes={self.num_classes}, "
                f"reduction={self.reduction!r}")


class CAMNet(nn.Module):
    """A backbone producing feature maps A, followed by a CAM layer.

    ``forward(x)`` returns logits only (so any classification tooling works unchanged);
    ``forward_cams(x)`` returns ``(logits, cams)``.
    """

    def __init__(self, features: nn.Module, head: CAMHead, dropout: float = 0.0) -> None:
        super().__init__()
        self.features = features
        # Dropout on the pooled vector p zeroes whole channels of A (p_k = mean_ij A_k), so the
        # equivalent before a CAM layer is channel dropout with the same rate.
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        self.head = head

    def forward_cams(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.head(self.dropout(self.features(x)))

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_cams(x)[0]


def _split_classifier(classifier: nn.Module, family: str) -> tuple[nn.Linear, float]:
    """The final Linear of a head and the dropout rate before it; reject anything else."""
    if isinstance(classifier, nn.Linear):
        return classifier, 0.0
    if isinstance(classifier, nn.Sequential) and len(classifier) >= 1:
        *before, last = list(classifier)
        if isinstance(last, nn.Linear) and all(isinstance(m, nn.Dropout) for m in before):
            keep = 1.0
            for m in before:
                keep *= 1.0 - m.p
            return last, 1.0 - keep
    raise ValueError(
        f"the {family} classifier is {classifier!r}, not one Linear layer after global average "
        "pooling (optionally with dropout): a CAM layer cannot replace it. Supported torchvision "
        f"families: {'; '.join(SUPPORTED_FAMILIES)}"
    )


def _family(tv_model: nn.Module) -> str:
    from torchvision import models

    for cls, name in (
        (models.ResNet, "resnet"),
        (models.DenseNet, "densenet"),
        (models.EfficientNet, "efficientnet"),
        (models.RegNet, "regnet"),
    ):
        if isinstance(tv_model, cls):
            return name
    raise ValueError(
        f"{type(tv_model).__name__} is not supported: GG-CAM needs a CNN whose head is global "
        f"average pooling followed by one Linear layer. Supported torchvision families: "
        f"{'; '.join(SUPPORTED_FAMILIES)}"
    )


def to_cam_model(tv_model: nn.Module, reduction: str = "sum") -> CAMNet:
    """Replace a torchvision CNN's GAP + Linear head by a ``CAMHead``, keeping every weight.

    With ``reduction="sum"`` (eq. 4) the result's logits equal the original's (up to float
    rounding: the mean and the linear map are applied in the other order); ``"mean"`` is the
    released code's head, whose weight part is 1/G of that. The input model is not modified.
    """
    family = _family(tv_model)
    m = copy.deepcopy(tv_model)
    if family == "resnet":
        features = nn.Sequential(
            m.conv1, m.bn1, m.relu, m.maxpool, m.layer1, m.layer2, m.layer3, m.layer4
        )
        linear, p = _split_classifier(m.fc, family)
    elif family == "densenet":
        # DenseNet.forward applies a ReLU after .features, then pools.
        features = nn.Sequential(m.features, nn.ReLU())
        linear, p = _split_classifier(m.classifier, family)
    elif family == "efficientnet":
        features = m.features
        linear, p = _split_classifier(m.classifier, family)
    else:  # regnet
        features = nn.Sequential(m.stem, m.trunk_output)
        linear, p = _split_classifier(m.fc, family)
    if linear.bias is None:
        raise ValueError(f"the {family} classifier has no bias; the CAM layer needs λ (eq. 1)")
    head = CAMHead(linear.in_features, linear.out_features, reduction=reduction)
    # Cast before loading: loading first would round float64 weights through float32.
    head.to(dtype=linear.weight.dtype, device=linear.weight.device)
    head.load_state_dict(linear.state_dict())
    return CAMNet(features, head, dropout=p)


def build_model(arch: str, num_classes: int = 3, weights: str | Path | None = None,
                reduction: str | None = None) -> CAMNet:
    """A torchvision CNN with a CAM layer, randomly initialised (the paper trains from scratch).

    Args:
        arch: a torchvision model name, e.g. ``"resnet50"`` or ``"efficientnet_v2_s"``.
        num_classes: K, the number of classes.
        weights: optional local file: a checkpoint written by ``ggcam train`` / ``fit``
            (``best.pt``, ``last.pt``; its config sets ``reduction``), or a state dict of the
            torchvision model or of a ``CAMNet``. Nothing is ever downloaded.
        reduction: the CAM layer's ``"sum"`` (eq. 4, default) or ``"mean"`` (released code);
            None takes it from a ggcam checkpoint, else ``"sum"``.
    """
    from torchvision import models

    if arch not in models.list_models(module=models):
        raise ValueError(
            f"unknown torchvision classification model {arch!r}; supported families: "
            f"{'; '.join(SUPPORTED_FAMILIES)}"
        )
    tv_model = models.get_model(arch, weights=None, num_classes=num_classes)
    _family(tv_model)  # raise early, before loading weights, for an unsupported family
    state = None
    if weights is not None:
        from ggcam.checkpoint import read_model_state

        path = Path(weights)
        state, saved_reduction = read_model_state(path)
        reduction = reduction or saved_reduction
        if not any(k.startswith("head.") for k in state):
            _load(tv_model, state, path)
            state = None
    model = to_cam_model(tv_model, reduction=reduction or "sum")
    if state is not None:
        _load(model, state, path)
    return model


def _load(module: nn.Module, state: dict, path: Path) -> None:
    try:
        module.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"weights in {path} do not fit {type(module).__name__}: {err}") from err
