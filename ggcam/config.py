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

# The networks and arms are the study's vocabulary (``ggcam.study``); named here too because
# a TrainConfig checks against them.
from ggcam.study import (
    FAMILY_OF,
    NETWORK_LABELS,
    NETWORKS,
    VARIANT_ALIASES,
    VARIANTS,
    arm,
)

CONTROL_BASE = "ggcam-warm"  # the controls copy this arm's settings and change only Ψ
OPTIMIZERS = ("adam", "adamax", "sgd", "sgd-momentum")
PRECISIONS = ("fp32", "bf16")
CRITERIA = ("val_loss", "val_auc")
CAM_REDUCTIONS = ("sum", "mean")  # eq. 4 | the released code's channel mean
GAZE_SOURCES = ("own", "shuffled", "centre", "oracle")
# The points Ψ is made from: Algorithm 1 histograms the raw gaze samples E_1..E_M
# (eye_gaze.csv); fixations.csv, unweighted or weighted by duration, are the alternatives.
GAZE_POINTS = ("eye_gaze", "fixations", "fixations-duration")
# A run may be continued with a longer budget: these fields may change on resume. Every other
# field is part of "the same run" (config hash, resume check and checkpoint alike).
BUDGET_FIELDS = ("max_epochs", "early_stop_patience")


def canonical_variant(variant: str) -> str:
    """The arm's name, with the old alias mapped (and a warning)."""
    if variant in VARIANT_ALIASES:
        import warnings

        new = VARIANT_ALIASES[variant]
        warnings.warn(f"variant {variant!r} is now called {new!r} (float64 loss parameters and "
                      "σ_sm₀ = 0.1); the old name will go", FutureWarning, stacklevel=3)
        return new
    return variant


def gaze_table(points: str) -> tuple[str, str | None]:
    """``prepare``'s (gaze table, weighting) for one of ``GAZE_POINTS``."""
    if points not in GAZE_POINTS:
        raise ValueError(f"gaze points must be one of {GAZE_POINTS}, got {points!r}")
    if points == "eye_gaze":
        return "eye_gaze", None
    return "fixations", "duration" if points == "fixations-duration" else None


@dataclass(frozen=True)
class RunOptions:
    """Where and how a run executes; none of it changes what is trained."""

    device: str = "cpu"  # "cpu", "cuda", "cuda:1", ...
    precision: str = "fp32"  # fp32 | bf16 (autocast on CUDA; the loss stays float32)
    channels_last: bool = False  # memory format for convolutions
    compile: bool = False  # torch.compile the model
    num_workers: int = 0  # DataLoader workers (the cache is memory-mapped: 0 is fast on CPU)
    threads: int | None = None  # torch intra-op threads (None: torch's default)

    def __post_init__(self) -> None:
        if not (self.device == "cpu" or self.device.startswith("cuda")):
            raise ValueError(f"RunOptions.device must be 'cpu' or 'cuda[:N]', got {self.device!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"RunOptions.precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.device == "cpu" and self.precision != "fp32":
            raise ValueError(f"bf16 precision is a GPU option; on device 'cpu' use precision='fp32' "
                             f"(got precision={self.precision!r})")
        if isinstance(self.num_workers, bool) or not isinstance(self.num_workers, int) or self.num_workers < 0:
            raise ValueError(f"RunOptions.num_workers must be an integer >= 0, got {self.num_workers!r}")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise ValueError(f"RunOptions.threads must be a positive integer or None, got {self.threads!r}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TrainConfig:
    """What is trained: network, objective, data treatment, optimiser, budget and seed."""

    network: str = "resnet50"  # torchvision architecture; the paper's: resnet50, efficientnet_v2_s
    variant: str = "ggcam"  # an arm of VARIANTS (see VARIANT_LABELS)
    optimizer: str = "adam"  # Table 1 caption: Adam was best for every network (default settings)
    lr: float = 7e-3  # Table 1, ResNet+GG-CAM
    plateau_patience: int = 30  # P, Table 1: epochs without val-loss decrease before lr ×0.1
    plateau_factor: float = 0.1  # section 4.2: "reduced to 10%"
    sigma_sm: float = 2.0e-9  # initial σ_sm, Table 1 (ResNet+GG-CAM)
    sigma_ce: float = 1.0  # initial σ_ce, section 3.4
    alpha: float = 1.0  # initial α of eq. 10
    loss_param_dtype: str = "float32"  # dtype of log α, log σ and their optimiser state
    cam_reduction: str = "sum"  # Ω = Σ_k Λ_ck A_k (eq. 4) | "mean": the released code's Σ/F
    gaze_source: str = "own"  # Ψ of the image itself | "shuffled" | "centre" (controls)
    gaze_points: str = "eye_gaze"  # Algorithm 1's raw samples | "fixations" | "fixations-duration"
    reload_best_on_lr_drop: bool = False  # released code: reload the best weights at each lr drop
    kernel_size: int | None = 500  # B, Table 1; blur σ by OpenCV's rule (B=500 → 75.5 px)
    blur_sigma: float | None = None  # blur σ in original image pixels, instead of kernel_size
    batch_size: int = 4  # released code
    max_epochs: int = 1024  # released code's cap
    early_stop_patience: int = 83  # released code: epochs without improvement of the criterion
    min_lr: float = 1e-8  # released code: stop once the learning rate falls below this
    seed: int = 0  # seeds torch, the data order and the split
    checkpoint_criterion: str = "val_loss"  # val_loss (released code) | val_auc
    num_classes: int = 3  # Normal, CHF, pneumonia

    def __post_init__(self) -> None:
        def bad(name: str, allowed) -> None:
            raise ValueError(f"TrainConfig.{name} must be {allowed}, got {getattr(self, name)!r}")

        if not isinstance(self.network, str) or not self.network.isidentifier():
            bad("network", "a torchvision classification model name")
        if self.variant in VARIANT_ALIASES:
            object.__setattr__(self, "variant", canonical_variant(self.variant))
        for name, allowed in (("variant", VARIANTS), ("optimizer", OPTIMIZERS),
                              ("checkpoint_criterion", CRITERIA),
                              ("loss_param_dtype", ("float32", "float64")),
                              ("cam_reduction", CAM_REDUCTIONS), ("gaze_source", GAZE_SOURCES),
                              ("gaze_points", GAZE_POINTS)):
            if getattr(self, name) not in allowed:
                bad(name, f"one of {allowed}")
        for name in ("lr", "sigma_sm", "sigma_ce", "alpha", "plateau_factor", "min_lr"):
            v = getattr(self, name)
            if isinstance(v, bool) or not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                bad(name, "a finite number > 0")
        if self.plateau_factor >= 1:
            bad("plateau_factor", "< 1")
        for name in ("plateau_patience", "batch_size", "max_epochs", "early_stop_patience",
                     "num_classes"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < (0 if "patience" in name else 1):
                bad(name, "a positive integer")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            bad("seed", "an integer >= 0")
        if (self.kernel_size is None) == (self.blur_sigma is None):
            raise ValueError(
                "TrainConfig needs exactly one of kernel_size and blur_sigma, got "
                f"kernel_size={self.kernel_size!r}, blur_sigma={self.blur_sigma!r}"
            )

    @property
    def gaze_table(self) -> tuple[str, str | None]:
        """``prepare``'s (gaze, weighting) for ``gaze_points``."""
        return gaze_table(self.gaze_points)

    @property
    def loss_mode(self) -> str:
        """The objective: cross-entropy alone, eq. 9-11 (paper) or the released code's."""
        return arm(self.variant).loss_mode

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown TrainConfig fields: {sorted(unknown)}")
        return cls(**d)

    def identity(self) -> dict:
        """What makes two runs "the same run": every field but the budget (``BUDGET_FIELDS``)."""
        return {k: v for k, v in asdict(self).items() if k not in BUDGET_FIELDS}

    def hash(self) -> str:
        """Identity of a finished result: every field (the budget included)."""
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:10]


# Table 1 of the paper: optimised hyper-parameters (Adam for every network). B is a kernel
# size (docs/released-code.md). The standard networks have no σ_sm, B.
TABLE1 = {
    ("efficientnet_v2_s", "ggcam"): dict(lr=6.0e-3, plateau_patience=40, sigma_sm=1.4e-11, kernel_size=600),
    ("resnet50", "ggcam"): dict(lr=7.0e-3, plateau_patience=30, sigma_sm=2.0e-9, kernel_size=500),
    ("efficientnet_v2_s", "standard"): dict(lr=1.0e-3, plateau_patience=25),
    ("resnet50", "standard"): dict(lr=1.0e-4, plateau_patience=50),
}

# What the released code (GitHub hz-zhu/GG-CAM) actually ran: σ as exp of its raw log values,
# Ω as a channel mean, the Blur500 data for both networks, the best weights reloaded at every
# learning-rate drop (docs/released-code.md).
RELEASED = {
    "efficientnet_v2_s": dict(lr=6.0e-3, plateau_patience=40, sigma_sm=math.exp(-16),
                              sigma_ce=math.exp(7.0), kernel_size=500),
    "resnet50": dict(lr=5.0e-3, plateau_patience=40, sigma_sm=math.exp(-23),
                     sigma_ce=math.exp(7.0), kernel_size=500),
}
RELEASED_BEHAVIOUR = dict(cam_reduction="mean", reload_best_on_lr_drop=True)

# Not in the paper, one change each. FP64: the three loss parameters and their optimiser state
# in float64, so the squared gradient of log σ_sm (~1e41 at σ_sm = 1.4e-11) cannot overflow
# and freeze σ_sm. WARM: also σ_sm starting at 0.1, so the gaze-only warm-up lasts a few epochs
# rather than thousands of optimiser steps.
FP64 = dict(loss_param_dtype="float64")
WARM = dict(loss_param_dtype="float64", sigma_sm=0.1)


def variant_values(network: str, variant: str) -> dict:
    """The TrainConfig values of an arm for a network of the paper (or of its family)."""
    family = FAMILY_OF.get(network)
    if family is None:
        raise ValueError(f"Table 1 covers the families of {NETWORKS}; {network!r} is not one of "
                         f"{sorted(FAMILY_OF)}")
    spec = arm(canonical_variant(variant))
    if spec.values == "standard":
        return dict(TABLE1[(family, "standard")])
    if spec.values == "released":
        return {**RELEASED[family], **RELEASED_BEHAVIOUR}
    values = {**TABLE1[(family, "ggcam")], **{"fp64": FP64, "warm": WARM}.get(spec.values, {})}
    if spec.gaze_source not in ("own", "none"):
        values["gaze_source"] = spec.gaze_source
    return values


def table1_config(network: str, variant: str, **overrides) -> TrainConfig:
    """The configuration of an arm: Table 1, the released code's values, or a named change."""
    values = variant_values(network, variant)
    values.update(overrides)
    return TrainConfig(network=network, variant=canonical_variant(variant), **values)


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

