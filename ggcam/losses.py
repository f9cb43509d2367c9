"""The GG-CAM losses: selective MSE (eq. 9-10) and the balanced multi-task loss (eq. 11).

Eq. 11 is written in log space: σ = exp(s), α = exp(a) for raw parameters s, a, so
1/(2σ²) = exp(−2s)/2 and ln(σ + 1) = softplus(s). Written naively, float32 autograd needs σ⁴,
which underflows at the paper's σ_sm = 1.4e-11 and turns the first step into NaN. The loss is
always computed in float32, also under autocast.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LOSS_MODES = ("paper", "legacy")


def _check_batch(cams: Tensor, labels: Tensor, gaze: Tensor, has_gaze: Tensor | None) -> None:
    if cams.ndim != 4:
        raise ValueError(f"cams must have shape (B, K, h, w), got {tuple(cams.shape)}")
    B, K, h, w = cams.shape
    if labels.shape != (B,):
        raise ValueError(f"labels must have shape ({B},), got {tuple(labels.shape)}")
    if gaze.shape != (B, h, w):
        raise ValueError(f"gaze must have shape ({B}, {h}, {w}) like the maps, got {tuple(gaze.shape)}")
    if has_gaze is not None and has_gaze.shape != (B,):
        raise ValueError(f"has_gaze must have shape ({B},), got {tuple(has_gaze.shape)}")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= K):
        raise ValueError(f"labels must lie in [0, {K}), got {labels.unique().tolist()}")


def _masked_mean(per_sample: Tensor, has_gaze: Tensor | None) -> Tensor:
    """Mean over the samples that have gaze; 0 (still in the graph) when none has."""
    if has_gaze is None:
        return per_sample.mean()
    keep = has_gaze.to(per_sample.dtype)
    return (per_sample * keep).sum() / keep.sum().clamp(min=1.0)


def selective_mse(cams: Tensor, labels: Tensor, gaze: Tensor, alpha, has_gaze: Tensor | None = None) -> Tensor:
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
    per_sample = (cams[:, 0] - gaze).pow(2).mean(dim=(-2, -1))
    return _masked_mean(per_sample, has_gaze)


def _log(value: float, name: str) -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return math.log(value)


class GGCAMLoss(nn.Module):
    """Balanced GG-CAM loss, eq. 11, with α, σ_sm, σ_ce trainable (held as logs).

    L = L_sm / (2σ_sm²) + L_ce / σ_ce² + ln(σ_sm + 1) + ln(σ_ce + 1)

    ``mode="paper"`` uses eq. 9-10; ``mode="legacy"`` reproduces the released code's
    selective MSE (class-0 map, raw Ω, α without gradient).
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

    def forward(self, logits: Tensor, cams: Tensor, labels: Tensor, gaze: Tensor,
                has_gaze: Tensor | None = None) -> tuple[Tensor, dict[str, float]]:
        dtype = torch.promote_types(self.log_sigma_sm.dtype, torch.float32)
        with torch.autocast(device_type=logits.device.type, enabled=False):
            logits, cams, gaze = logits.to(dtype), cams.to(dtype), gaze.to(dtype)
            ce = F.cross_entropy(logits, labels)  # eq. 7
            if self.mode == "paper":
                sm = selective_mse(cams, labels, gaze, self.log_alpha.exp(), has_gaze)
            else:
                sm = legacy_selective_mse(cams, labels, gaze, has_gaze)
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
        with torch.autocast(device_type=logits.device.type, enabled=False):
            ce = F.cross_entropy(logits.float(), labels)
        return ce, {"ce": float(ce.detach())}
