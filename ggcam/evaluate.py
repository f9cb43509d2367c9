"""Evaluation: a model's logits (and optionally Ω, Ψ, masks) over a dataset, in order."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ggcam.config import RunOptions
from ggcam.losses import GGCAMLoss

SATURATION_LOGIT = 10.0  # |α Ω^Y| beyond this: sigmoid within 4.5e-5 of 0 or 1, no gradient


@dataclass
class Evaluation:
    logits: np.ndarray  # (N, K), float32 as the network computed them
    labels: np.ndarray  # (N,)
    loss: float  # mean total loss of the variant's objective (nan if no loss_fn)
    ce: float  # mean cross-entropy (nan if no loss_fn)
    cams: np.ndarray | None = None  # (N, K, h, w) when requested
    gaze: np.ndarray | None = None  # (N, h, w) when cams are requested
    has_gaze: np.ndarray | None = None  # (N,)
    masks: dict[str, np.ndarray] | None = None  # {"heart", "lung", ...}: (N, h, w) bool
    indices: np.ndarray | None = None  # dataset indices, row-aligned
    diagnostics: dict[str, float] = field(default_factory=dict)  # saturation of the gaze term

    @cached_property
    def probs(self) -> np.ndarray:
        """Softmax of the logits, (N, K), in float64; computed once."""
        z = self.logits.astype(np.float64)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)


def batch_inputs(batch: dict, device: torch.device, channels_last: bool = False):
    x = batch["image"].to(device, non_blocking=True)
    x = x.expand(-1, 3, -1, -1)  # grey copied to 3 channels, as in the released code
    x = x.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    return (x, batch["label"].to(device), batch["gaze"].to(device), batch["has_gaze"].to(device))


def autocast_for(options: RunOptions, device: torch.device):
    enabled = options.precision == "bf16" and device.type == "cuda"
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


class _Saturation:
    """Running sums for how much gradient the gaze term can still give (design.md, "Hazards").

    ``saturated`` is the share of supervised cells with |α Ω^Y| > 10 (NaN for the released
    code's loss, which has no sigmoid); ``sm_ratio`` is L_sm over
    mean(Ψ²), which is 1.0 for a map that is 0 everywhere (a sigmoid saturated at 0).
    """

    def __init__(self, loss_fn: nn.Module | None) -> None:
        self.on = isinstance(loss_fn, GGCAMLoss)
        self.loss_fn = loss_fn
        self.cells = self.saturated = 0
        self.sq_err = self.psi_sq = 0.0
        self.omega_min, self.omega_max = math.inf, -math.inf

    def add(self, cams, labels, gaze, has_gaze) -> None:
        if not self.on or not bool(has_gaze.any()):
            return
        keep = has_gaze.bool()
        own, pred = self.loss_fn.predicted_map(cams[keep].double(), labels[keep])
        psi = gaze[keep].double()
        alpha = float(self.loss_fn.log_alpha.detach().exp())
        self.cells += own.numel()
        self.saturated += int((alpha * own.abs() > SATURATION_LOGIT).sum())
        self.sq_err += float((pred - psi).pow(2).sum())
        self.psi_sq += float(psi.pow(2).sum())
        self.omega_min = min(self.omega_min, float(own.min()))
        self.omega_max = max(self.omega_max, float(own.max()))

    def result(self) -> dict[str, float]:
        if not self.cells:
            return {}
        # The released code's loss has no sigmoid: nothing there can saturate (NaN, not 0).
        legacy = self.loss_fn.mode == "legacy"
        return {"saturated": math.nan if legacy else self.saturated / self.cells,
                "sm_ratio": self.sq_err / self.psi_sq if self.psi_sq > 0 else math.nan,
                "omega_y_min": self.omega_min, "omega_y_max": self.omega_max}


@torch.no_grad()
def evaluate(model: nn.Module, data: Dataset, *, loss_fn: nn.Module | None = None,
             options: RunOptions | None = None, with_cams: bool = False, batch_size: int = 32,
             device: torch.device | None = None) -> Evaluation:
    """Logits (and optionally Ω, Ψ, masks) of ``model`` on every item of ``data``, in order.

    With ``loss_fn`` also the mean loss, cross-entropy and the gaze term's saturation.
    """
    options = options or RunOptions(device=next(model.parameters()).device.type)
    device = device or torch.device(options.device)
    loader = DataLoader(data, batch_size=batch_size, shuffle=False, num_workers=options.num_workers)
    was_training = model.training
    model.eval()
    out: dict[str, list] = {k: [] for k in ("logits", "labels", "cams", "gaze", "has_gaze", "idx")}
    masks: dict[str, list] = {}
    sat = _Saturation(loss_fn)
    total = ce = 0.0
    n = 0
    for batch in loader:
        x, labels, gaze, has_gaze = batch_inputs(batch, device, options.channels_last)
        with autocast_for(options, device):
            logits, cams = model.forward_cams(x)
        logits, cams = logits.float(), cams.float()
        b = len(labels)
        if loss_fn is not None:
            t, parts = loss_fn(logits, cams, labels, gaze, has_gaze)
            total += float(t) * b
            ce += parts["ce"] * b
            sat.add(cams, labels, gaze, has_gaze)
        n += b
        out["logits"].append(logits.cpu().numpy())
        out["labels"].append(labels.cpu().numpy())
        if with_cams:
            out["cams"].append(cams.cpu().numpy())
            out["gaze"].append(gaze.float().cpu().numpy())
            out["has_gaze"].append(has_gaze.cpu().numpy())
            for name, m in batch["masks"].items():
                masks.setdefault(name, []).append(m.numpy())
            out["idx"].append(np.asarray(batch["index"]))
    model.train(was_training)
    if n == 0:
        raise ValueError("evaluate() got an empty dataset")
    cat = {k: np.concatenate(v) if v else None for k, v in out.items()}
    return Evaluation(
        logits=cat["logits"], labels=cat["labels"],
        loss=total / n if loss_fn is not None else math.nan,
        ce=ce / n if loss_fn is not None else math.nan,
        cams=cat["cams"], gaze=cat["gaze"], has_gaze=cat["has_gaze"],
        masks={k: np.concatenate(v) for k, v in masks.items()} if with_cams else None,
        indices=cat["idx"], diagnostics=sat.result(),
    )
