"""Evaluation: a model's logits (and optionally Ω, Ψ, masks) over a dataset, in order."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from .config import TrainConfig


@dataclass
class Evaluation:
    logits: np.ndarray  # (N, K)
    labels: np.ndarray  # (N,)
    loss: float  # mean total loss of the variant's objective (nan if no loss_fn)
    ce: float  # mean cross-entropy
    cams: np.ndarray | None  # (N, K, h, w) when requested
    gaze: np.ndarray | None  # (N, h, w) when cams are requested
    has_gaze: np.ndarray | None  # (N,)
    masks: dict[str, np.ndarray] | None  # {"heart", "lung"}: (N, h, w) bool
    indices: np.ndarray | None  # dataset indices, row-aligned

    @cached_property
    def probs(self) -> np.ndarray:
        """Softmax of the logits, (N, K); computed once."""
        z = self.logits - self.logits.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)


def batch_inputs(batch: dict, device: torch.device, channels_last: bool):
    x = batch["image"].to(device, non_blocking=True)
    x = x.expand(-1, 3, -1, -1)  # grey copied to 3 channels, as in the released code
    x = x.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    return (x, batch["label"].to(device), batch["gaze"].to(device), batch["has_gaze"].to(device))


def autocast_for(config: TrainConfig, device: torch.device):
    enabled = config.precision == "bf16" and device.type == "cuda"
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


@torch.no_grad()
def evaluate(model: nn.Module, data: Dataset, *, loss_fn: nn.Module | None = None,
             config: TrainConfig | None = None, with_cams: bool = False,
             batch_size: int | None = None, device: torch.device | None = None) -> Evaluation:
    """Logits (and optionally Ω, Ψ, masks) of ``model`` on every item of ``data``."""
    config = config or TrainConfig(device=next(model.parameters()).device.type)
    device = device or torch.device(config.device)
    loader = DataLoader(data, batch_size=batch_size or max(config.batch_size, 8), shuffle=False,
                        num_workers=config.num_workers)
    was_training = model.training
    model.eval()
    out = {k: [] for k in ("logits", "labels", "cams", "gaze", "has_gaze", "heart", "lung", "idx")}
    total = ce = 0.0
    n = 0
    for batch in loader:
        x, labels, gaze, has_gaze = batch_inputs(batch, device, config.channels_last)
        with autocast_for(config, device):
            logits, cams = model.forward_cams(x)
        logits, cams = logits.float(), cams.float()
        b = len(labels)
        if loss_fn is not None:
            t, parts = loss_fn(logits, cams, labels, gaze, has_gaze)
            total += float(t) * b
            ce += parts["ce"] * b
        n += b
        out["logits"].append(logits.cpu().numpy())
        out["labels"].append(labels.cpu().numpy())
        if with_cams:
            out["cams"].append(cams.cpu().numpy())
            out["gaze"].append(gaze.float().cpu().numpy())
            out["has_gaze"].append(has_gaze.cpu().numpy())
            out["heart"].append(batch["masks"]["heart"].numpy())
            out["lung"].append(batch["masks"]["lung"].numpy())
            out["idx"].append(np.asarray(batch["index"]))
    model.train(was_training)
    cat = {k: np.concatenate(v) if v else None for k, v in out.items()}
    return Evaluation(
        logits=cat["logits"], labels=cat["labels"],
        loss=total / n if loss_fn is not None else math.nan,
        ce=ce / n if loss_fn is not None else math.nan,
        cams=cat["cams"], gaze=cat["gaze"], has_gaze=cat["has_gaze"],
        masks={"heart": cat["heart"], "lung": cat["lung"]} if with_cams else None,
        indices=cat["idx"],
    )
