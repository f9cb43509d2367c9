"""The GG-CAM losses: selective MSE (eq. 9-10) and the balanced multi-task loss (eq. 11).

Eq. 11 is written in log space: σ = exp(s), α = exp(a) for raw parameters s, a, so
1/(2σ²) = exp(−2s)/2 and ln(σ + 1) = softplus(s). Written naively, float32 autograd needs σ⁴,
which underflows at the paper's σ_sm = 1.4e-11 and turns the first step into NaN. The loss is
always computed in float32, also under autocast.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

LOSS_MODES = ("paper", "legacy")


def _check_batch(cams: Tensor, labels: Tensor, gaze: Tensor, has_gaze: Tensor | None,
                 finite_maps: bool = True) -> None:
    """Shapes, then values with one fused reduction and one host sync per batch: labels in
    [0, K), Ψ in [0, 1] (NaN fails every comparison), and Ω finite when ``finite_maps``."""
    if cams.ndim != 4:
        raise ValueError(f"cams must have shape (B, K, h, w), got {tuple(cams.shape)}")
    B, K, h, w = cams.shape
    if B == 0 or K == 0 or h == 0 or w == 0:
        raise ValueError(f"cams must be a non-empty batch (B, K, h, w >= 1), got {tuple(cams.shape)}")
    if labels.shape != (B,):
        raise ValueError(f"labels must have shape ({B},), got {tuple(labels.shape)}")
    if gaze.shape != (B, h, w):
        raise ValueError(f"gaze must have shape ({B}, {h}, {w}) like the maps, got {tuple(gaze.shape)}")
    if has_gaze is not None and has_gaze.shape != (B,):
        raise ValueError(f"has_gaze must have shape ({B},), got {tuple(has_gaze.shape)}")
    g_lo, g_hi = torch.aminmax(gaze.detach())
    y_lo, y_hi = torch.aminmax(labels)
    ok = (g_lo >= 0) & (g_hi <= 1) & (y_lo >= 0) & (y_hi < K)
    if finite_maps:
        ok = ok & torch.isfinite(cams.detach()).all()
    if not bool(ok):  # the one sync; the details below only on the error path
        _raise_bad_values(cams, labels, gaze, finite_maps)


def _check_logits(logits: Tensor, bk: tuple[int, int]) -> None:
    if tuple(logits.shape) != tuple(bk):
        raise ValueError(f"logits must have shape {tuple(bk)} (B, K) like the maps, got "
                         f"{tuple(logits.shape)}")


def _raise_bad_values(cams: Tensor, labels: Tensor, gaze: Tensor, finite_maps: bool) -> None:
    K = cams.shape[1]
    if int(labels.min()) < 0 or int(labels.max()) >= K:
        raise ValueError(f"labels must lie in [0, {K}), got {labels.unique().tolist()}")
    bad = ~torch.isfinite(gaze)
    if bad.any():
        raise ValueError(f"gaze (Ψ) must be finite, got {int(bad.sum())} non-finite values "
                         f"({gaze[bad].unique()[:3].tolist()}) in shape {tuple(gaze.shape)}")
    lo, hi = float(gaze.min()), float(gaze.max())
    if lo < 0 or hi > 1:
        raise ValueError(f"gaze (Ψ) must lie in [0, 1], got values in [{lo:g}, {hi:g}]"
                         + (" (an 8-bit image? divide by 255)" if hi > 1 and hi <= 255 else ""))
    bad = ~torch.isfinite(cams)
    raise ValueError(f"cams (Ω) must be finite, got {int(bad.sum())} non-finite values "
                     f"({cams[bad].unique()[:3].tolist()}) in shape {tuple(cams.shape)}")


def _masked_mean(per_sample: Tensor, has_gaze: Tensor | None) -> Tensor:
    """Mean over the samples that have gaze; 0 (still in the graph) when none has."""
    if has_gaze is None:
        return per_sample.mean()
    keep = has_gaze.to(per_sample.dtype)
    return (per_sample * keep).sum() / keep.sum().clamp(min=1.0)


def selective_mse(cams: Tensor, labels: Tensor, gaze: Tensor, alpha: float | Tensor,
                  has_gaze: Tensor | None = None) -> Tensor:
    """L_sm, eq. 9-10: MSE between Sigmoid(α Ω^Y) of the true class Y and Ψ.

    Args:
        cams: Ω, shape (B, K, h, w).
        labels: Y, shape (B,), class indices.
        gaze: Ψ, shape (B, h, w), in [0, 1].
        alpha: α > 0, a float or a 0-d tensor (trainable in ``GGCAMLoss``).
        has_gaze: optional (B,) bool; samples without gaze are left out of the mean.

    Returns:
        A 0-d tensor: the mean over cells (eq. 9) and over samples with gaze.
    """
    _check_batch(cams, labels, gaze, has_gaze)
    return _selective_mse(cams, labels, gaze, alpha, has_gaze)


def _selective_mse(cams: Tensor, labels: Tensor, gaze: Tensor, alpha, has_gaze: Tensor | None) -> Tensor:
    own = cams[torch.arange(cams.shape[0], device=cams.device), labels]  # Ω^Y, (B, h, w)
    squashed = torch.sigmoid(alpha * own)  # eq. 10
    per_sample = (squashed - gaze).pow(2).mean(dim=(-2, -1))  # eq. 9
    return _masked_mean(per_sample, has_gaze)


def legacy_selective_mse(cams: Tensor, labels: Tensor, gaze: Tensor, has_gaze: Tensor | None = None) -> Tensor:
    """What the released code computes: the raw class-0 (Normal) map against Ψ, for every label.

    Its index is ``int(sigmoid(label · α))``, which is 0 for every label, so α never gets a
    gradient and no sigmoid is applied (``docs/released-code.md``).
    """
    _check_batch(cams, labels, gaze, has_gaze)
    return _legacy_selective_mse(cams, gaze, has_gaze)


def _legacy_selective_mse(cams: Tensor, gaze: Tensor, has_gaze: Tensor | None) -> Tensor:
    per_sample = (cams[:, 0] - gaze).pow(2).mean(dim=(-2, -1))
    return _masked_mean(per_sample, has_gaze)


def _log(value, name: str) -> float:
    """ln of a finite number > 0: a Python or NumPy int or float, or a 0-d array or tensor."""
    if isinstance(value, (np.ndarray, Tensor)) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r} "
                         f"({type(value).__name__})")
    try:
        v = float(value)
    except OverflowError:
        raise ValueError(f"{name} must be a finite number > 0, got an integer of "
                         f"{len(str(value))} digits") from None
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
    return math.log(v)


def _exp(x: float) -> float:
    """exp that reports a run-away log parameter as inf instead of raising OverflowError."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


SUPERVISED_MAPS = {"paper": "Ω^Y of the true class through sigmoid(αΩ^Y) (eq. 9-10)",
                   "legacy": "Ω⁰ (the class-0 map) raw, for every image (the released code)"}


class GGCAMLoss(nn.Module):
    """Balanced GG-CAM loss, eq. 11, with α, σ_sm, σ_ce trainable (held as logs).

    L = L_sm / (2σ_sm²) + L_ce / σ_ce² + ln(σ_sm + 1) + ln(σ_ce + 1)

    ``mode="paper"`` uses eq. 9-10; ``mode="legacy"`` reproduces the released code's
    selective MSE (class-0 map, raw Ω, α without gradient).

    Bad data (Ψ non-finite or outside [0, 1], labels outside [0, K), an empty batch) raises
    ``ValueError``. Non-finite Ω or logits are a diverged network, not bad input: they give a
    non-finite total, which the trainer reports as ``NonFiniteLoss`` with the epoch, the step
    and the non-finite terms, keeping the last good checkpoint (``ggcam.train``).
    """

    def __init__(self, sigma_sm: float, sigma_ce: float = 1.0, alpha: float = 1.0, mode: str = "paper") -> None:
        super().__init__()
        if mode not in LOSS_MODES:
            raise ValueError(f"mode must be one of {LOSS_MODES}, got {mode!r}")
        self.mode = mode
        self.log_alpha = nn.Parameter(torch.tensor(_log(alpha, "alpha")))
        self.log_sigma_sm = nn.Parameter(torch.tensor(_log(sigma_sm, "sigma_sm")))
        self.log_sigma_ce = nn.Parameter(torch.tensor(_log(sigma_ce, "sigma_ce")))
        if mode == "legacy":
            # The released code's α never enters the loss; freezing it also keeps DDP from
            # waiting for a gradient that never comes.
            self.log_alpha.requires_grad_(False)

    @staticmethod
    def weight_sm(sigma_sm: float) -> float:
        """Eq. 11's weight of the gaze term, 1 / (2σ_sm²)."""
        return 1.0 / (2.0 * sigma_sm**2)

    @staticmethod
    def weight_ce(sigma_ce: float) -> float:
        """Eq. 11's weight of the cross-entropy, 1 / σ_ce²."""
        return 1.0 / sigma_ce**2

    @property
    def supervised_map(self) -> str:
        """Which map the gaze term compares with Ψ, in words (``SUPERVISED_MAPS``)."""
        return SUPERVISED_MAPS[self.mode]

    def predicted_map(self, cams: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        """The map the gaze term compares with Ψ (``supervised_map``), (B, h, w), and what it
        predicts of Ψ: sigmoid(αΩ^Y) (eq. 9-10) or, for the released code, Ω⁰ itself."""
        if self.mode == "legacy":
            return cams[:, 0], cams[:, 0]
        own = cams[torch.arange(len(labels), device=cams.device), labels]
        return own, torch.sigmoid(float(self.log_alpha.detach().exp()) * own)

    def report(self) -> dict[str, float]:
        """The loss's parameters now and eq. 11's weights: sigma_sm, sigma_ce, alpha, w_sm,
        w_ce as floats (inf where a log parameter has run away). What the trainer logs."""
        s_sm, s_ce = float(self.log_sigma_sm.detach()), float(self.log_sigma_ce.detach())
        return {"sigma_sm": _exp(s_sm), "sigma_ce": _exp(s_ce),
                "alpha": _exp(float(self.log_alpha.detach())),
                "w_sm": 0.5 * _exp(-2 * s_sm), "w_ce": _exp(-2 * s_ce)}

    def forward(self, logits: Tensor, cams: Tensor, labels: Tensor, gaze: Tensor,
                has_gaze: Tensor | None = None) -> tuple[Tensor, dict[str, float]]:
        dtype = torch.promote_types(self.log_sigma_sm.dtype, torch.float32)
        with torch.autocast(device_type=logits.device.type, enabled=False):
            logits, cams, gaze = logits.to(dtype), cams.to(dtype), gaze.to(dtype)
            _check_logits(logits, cams.shape[:2])
            _check_batch(cams, labels, gaze, has_gaze, finite_maps=False)
            ce = F.cross_entropy(logits, labels)  # eq. 7
            if self.mode == "paper":
                sm = _selective_mse(cams, labels, gaze, self.log_alpha.exp(), has_gaze)
            else:
                sm = _legacy_selective_mse(cams, gaze, has_gaze)
            s_sm, s_ce = self.log_sigma_sm, self.log_sigma_ce
            w_sm = 0.5 * torch.exp(-2 * s_sm)  # 1 / (2σ_sm²)
            w_ce = torch.exp(-2 * s_ce)  # 1 / σ_ce²
            total = w_sm * sm + w_ce * ce + F.softplus(s_sm) + F.softplus(s_ce)  # eq. 11
        parts = torch.stack([ce, sm, s_sm.exp(), s_ce.exp(), self.log_alpha.exp(), w_sm, w_ce])
        names = ("ce", "sm", "sigma_sm", "sigma_ce", "alpha", "w_sm", "w_ce")
        return total, dict(zip(names, parts.detach().tolist()))


class StandardLoss(nn.Module):
    """Cross-entropy alone (eq. 7), with ``GGCAMLoss``'s call signature, for standard CNNs."""

    mode = "standard"

    def forward(self, logits: Tensor, cams: Tensor, labels: Tensor, gaze: Tensor,
                has_gaze: Tensor | None = None) -> tuple[Tensor, dict[str, float]]:
        if logits.ndim != 2 or logits.shape[0] == 0 or labels.shape != logits.shape[:1]:
            raise ValueError(f"logits must be a non-empty (B, K) batch with labels (B,), got "
                             f"{tuple(logits.shape)} and {tuple(labels.shape)}")
        with torch.autocast(device_type=logits.device.type, enabled=False):
            ce = F.cross_entropy(logits.float(), labels)
        return ce, {"ce": float(ce.detach())}
