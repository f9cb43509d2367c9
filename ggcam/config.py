"""Training configuration (paper section 4.2) and Table 1 as data.

``TrainConfig`` is one frozen dataclass: every field typed, defaulted and commented. It is
saved beside and inside every checkpoint. ``table1_config`` makes the configuration the paper
reports for a network × variant; the released code's values back ``ggcam-legacy``.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, fields

NETWORKS = ("resnet50", "efficientnet_v2_s")
NETWORK_LABELS = {"resnet50": "ResNet", "efficientnet_v2_s": "EffNet"}
VARIANTS = ("standard", "ggcam", "ggcam-legacy", "ggcam-stable")
VARIANT_LABELS = {
    "standard": "standard",
    "ggcam": "+GG-CAM (paper)",
    "ggcam-legacy": "+GG-CAM (released code)",
    "ggcam-stable": "+GG-CAM (stable σ)",
}
OPTIMIZERS = ("adam", "adamax", "sgd", "sgd-momentum")
PRECISIONS = ("fp32", "bf16")
CRITERIA = ("val_loss", "val_auc")


@dataclass(frozen=True)
class TrainConfig:
    network: str = "resnet50"  # torchvision architecture; the paper's: resnet50, efficientnet_v2_s
    variant: str = "ggcam"  # standard | ggcam (eq. 9-11) | ggcam-legacy (released code) | ggcam-stable
    optimizer: str = "adam"  # Table 1 caption: Adam was best for every network (default settings)
    lr: float = 7e-3  # Table 1, ResNet+GG-CAM
    plateau_patience: int = 30  # P, Table 1: epochs without val-loss decrease before lr ×0.1
    plateau_factor: float = 0.1  # section 4.2: "reduced to 10%"
    sigma_sm: float = 2.0e-9  # initial σ_sm, Table 1 (ResNet+GG-CAM)
    sigma_ce: float = 1.0  # initial σ_ce, section 3.4
    alpha: float = 1.0  # initial α of eq. 10
    loss_param_dtype: str = "float32"  # dtype of log α, log σ and their optimiser state
    kernel_size: int | None = 500  # B, Table 1; blur σ by OpenCV's rule (B=500 → 75.5 px)
    blur_sigma: float | None = None  # blur σ in original image pixels, instead of kernel_size
    batch_size: int = 4  # released code
    max_epochs: int = 1024  # released code's cap
    early_stop_patience: int = 83  # released code: epochs without improvement of the criterion
    min_lr: float = 1e-8  # released code: stop once the learning rate falls below this
    seed: int = 0  # seeds torch, the data order and the split
    device: str = "cpu"  # "cpu", "cuda", "cuda:1", ...
    precision: str = "fp32"  # fp32 | bf16 (autocast on CUDA; the loss stays float32)
    channels_last: bool = False  # memory format for CUDA convolutions
    compile: bool = False  # torch.compile the model (CUDA only)
    checkpoint_criterion: str = "val_loss"  # val_loss (released code) | val_auc
    num_workers: int = 0  # DataLoader workers (the cache is memory-mapped: 0 is fast on CPU)
    num_classes: int = 3  # Normal, CHF, pneumonia

    def __post_init__(self) -> None:
        def bad(name: str, allowed) -> None:
            raise ValueError(f"TrainConfig.{name} must be {allowed}, got {getattr(self, name)!r}")

        from torchvision import models

        if self.network not in models.list_models(module=models):
            bad("network", "a torchvision classification model name")
        for name, allowed in (("variant", VARIANTS), ("optimizer", OPTIMIZERS),
                              ("precision", PRECISIONS), ("checkpoint_criterion", CRITERIA),
                              ("loss_param_dtype", ("float32", "float64"))):
            if getattr(self, name) not in allowed:
                bad(name, f"one of {allowed}")
        for name in ("lr", "sigma_sm", "sigma_ce", "alpha", "plateau_factor", "min_lr"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                bad(name, "a finite number > 0")
        if self.plateau_factor >= 1:
            bad("plateau_factor", "< 1")
        for name in ("plateau_patience", "batch_size", "max_epochs", "early_stop_patience",
                     "num_classes"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < (0 if "patience" in name else 1):
                bad(name, "a positive integer")
        if self.num_workers < 0:
            bad("num_workers", ">= 0")
        if (self.kernel_size is None) == (self.blur_sigma is None):
            raise ValueError(
                "TrainConfig needs exactly one of kernel_size and blur_sigma, got "
                f"kernel_size={self.kernel_size!r}, blur_sigma={self.blur_sigma!r}"
            )
        if not (self.device == "cpu" or self.device.startswith("cuda")):
            bad("device", "'cpu' or 'cuda[:N]'")
        if self.device == "cpu" and (self.precision != "fp32" or self.compile or self.channels_last):
            raise ValueError(
                "bf16 precision, channels_last and compile are GPU options; on device 'cpu' use "
                f"precision='fp32' (got precision={self.precision!r}, channels_last="
                f"{self.channels_last}, compile={self.compile})"
            )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown TrainConfig fields: {sorted(unknown)}")
        return cls(**d)

    def hash(self) -> str:
        """Identity of what is trained: every field but where it runs."""
        d = {k: v for k, v in asdict(self).items() if k not in ("device", "num_workers")}
        return hashlib.sha1(json.dumps(d, sort_keys=True).encode()).hexdigest()[:10]


# Table 1 of the paper: optimised hyper-parameters (Adam for every network). B is a kernel
# size (docs/released-code.md). The standard networks have no σ_sm, B.
TABLE1 = {
    ("efficientnet_v2_s", "ggcam"): dict(lr=6.0e-3, plateau_patience=40, sigma_sm=1.4e-11, kernel_size=600),
    ("resnet50", "ggcam"): dict(lr=7.0e-3, plateau_patience=30, sigma_sm=2.0e-9, kernel_size=500),
    ("efficientnet_v2_s", "standard"): dict(lr=1.0e-3, plateau_patience=25),
    ("resnet50", "standard"): dict(lr=1.0e-4, plateau_patience=50),
}

# What the released code (GitHub hz-zhu/GG-CAM) actually ran: σ as exp of its raw log values.
RELEASED = {
    "efficientnet_v2_s": dict(lr=6.0e-3, plateau_patience=40, sigma_sm=math.exp(-16),
                              sigma_ce=math.exp(7.0), kernel_size=600),
    "resnet50": dict(lr=5.0e-3, plateau_patience=40, sigma_sm=math.exp(-23),
                     sigma_ce=math.exp(7.0), kernel_size=500),
}

# Not in the paper: the paper's eq. 9-11 and Table 1 learning rates, but with the three loss
# parameters (and Adam's state for them) in float64, so that the squared gradient of log σ_sm
# (~1e41 at σ_sm = 1.4e-11) cannot overflow and freeze σ_sm, and σ_sm starting at 0.1 so the
# gaze-only warm-up lasts a few epochs rather than thousands of optimiser steps.
STABLE = dict(sigma_sm=0.1, loss_param_dtype="float64")


def table1_config(network: str, variant: str, **overrides) -> TrainConfig:
    """The configuration for a network × variant: Table 1, or the released code's values."""
    if network not in NETWORKS:
        raise ValueError(f"Table 1 covers {NETWORKS}, got network={network!r}")
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    if variant == "standard":
        values = dict(TABLE1[(network, "standard")])
    elif variant == "ggcam-legacy":
        values = dict(RELEASED[network])
    else:
        values = dict(TABLE1[(network, "ggcam")])
        if variant == "ggcam-stable":
            values.update(STABLE)
    values.update(overrides)
    return TrainConfig(network=network, variant=variant, **values)


def table1_frame():
    """Table 1 as a DataFrame (the paper's rows), for the book."""
    import pandas as pd

    rows = []
    for (net, variant), v in TABLE1.items():
        rows.append({
            "network": NETWORK_LABELS[net] + ("+GG-CAM" if variant == "ggcam" else ""),
            "learning rate": v["lr"],
            "P": v["plateau_patience"],
            "σ_sm": v.get("sigma_sm"),
            "B": v.get("kernel_size"),
        })
    return pd.DataFrame(rows)

