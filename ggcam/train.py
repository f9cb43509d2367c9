"""Training (paper section 4.2): one code path from a CPU smoke run to GPU runs.

``fit`` trains a CAM model with a loss from ``ggcam.losses`` (the model and the loss
parameters α, σ_sm, σ_ce in one optimiser), with ReduceLROnPlateau on the validation loss,
early stopping, a checkpoint per epoch (config inside) and exact resume. Every epoch records
σ_sm, σ_ce, α and the effective weights 1/(2σ_sm²), 1/σ_ce² of eq. 11, and whether Adam's
state for the loss parameters has overflowed (the σ_sm freeze of design.md, "Hazards").
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from .cam import CAMNet, build_model
from .config import TrainConfig
from .losses import GGCAMLoss, StandardLoss
from .evaluate import Evaluation, autocast_for, batch_inputs, evaluate  # noqa: F401  (evaluate re-exported)
from .runtime import atomic_torch_save, distributed_context

LOSS_PARAMS = ("log_alpha", "log_sigma_sm", "log_sigma_ce")
# A run may be resumed with a longer epoch budget, or on another device.
RESUMABLE_CHANGES = {"max_epochs", "early_stop_patience", "device", "num_workers"}


def _config_changes(a: dict, b: dict) -> set[str]:
    return {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}


class NonFiniteLoss(RuntimeError):
    """Training produced a non-finite loss term; the last good checkpoint is kept."""


@dataclass
class FitResult:
    history: pd.DataFrame  # one row per epoch
    best_epoch: int
    epochs: int
    stop_reason: str
    flags: list[str] = field(default_factory=list)  # e.g. "adam-overflow:log_sigma_sm@epoch1"


def make_loss(config: TrainConfig) -> nn.Module:
    """The objective of a variant: CE alone, eq. 11 (paper) or the released code's."""
    if config.variant == "standard":
        return StandardLoss()
    mode = "legacy" if config.variant == "ggcam-legacy" else "paper"
    loss = GGCAMLoss(config.sigma_sm, config.sigma_ce, config.alpha, mode=mode)
    return loss.to(getattr(torch, config.loss_param_dtype))


def make_model(config: TrainConfig) -> CAMNet:
    return build_model(config.network, num_classes=config.num_classes)


def _optimizer(params, config: TrainConfig) -> torch.optim.Optimizer:
    # "with their default settings" (section 4.2): only the learning rate is set.
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr)
    if config.optimizer == "adamax":
        return torch.optim.Adamax(params, lr=config.lr)
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr)
    return torch.optim.SGD(params, lr=config.lr, momentum=0.9)


class _Objective(nn.Module):
    """Model and loss in one module, so DDP all-reduces the loss parameters' gradients too."""

    def __init__(self, model: nn.Module, loss_fn: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.loss_fn = loss_fn

    def forward(self, x, labels, gaze, has_gaze):
        logits, cams = self.model.forward_cams(x)
        total, parts = self.loss_fn(logits, cams, labels, gaze, has_gaze)
        return total, parts


def _loss_param_report(loss_fn: nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """σ_sm, σ_ce, α, effective weights, and whether Adam's v for a loss parameter blew up."""
    rec = {}
    if not isinstance(loss_fn, GGCAMLoss):
        return rec
    s_sm, s_ce = float(loss_fn.log_sigma_sm.detach()), float(loss_fn.log_sigma_ce.detach())
    rec.update(sigma_sm=math.exp(s_sm), sigma_ce=math.exp(s_ce), alpha=math.exp(float(loss_fn.log_alpha.detach())),
               w_sm=0.5 * math.exp(-2 * s_sm), w_ce=math.exp(-2 * s_ce))
    for name in LOSS_PARAMS:
        state = optimizer.state.get(getattr(loss_fn, name), {})
        bad = any(torch.is_tensor(v) and v.is_floating_point() and not torch.isfinite(v).all()
                  for v in state.values())
        rec[f"{name}_state_finite"] = not bad
    return rec


def _check_finite(parts: dict, total: float, epoch: int, step: int) -> None:
    if math.isfinite(total):
        return
    culprits = [f"{k} = {v}" for k, v in parts.items() if not math.isfinite(v)]
    raise NonFiniteLoss(
        f"non-finite loss at epoch {epoch}, step {step}: "
        + (", ".join(culprits) if culprits else f"total = {total}")
        + " (the last good checkpoint is kept)"
    )


def fit(model: CAMNet, loss_fn: nn.Module, train: Dataset, val: Dataset, config: TrainConfig, *,
        checkpoint_dir: str | Path | None = None, resume: bool = False,
        progress: bool = True) -> FitResult:
    """Train ``model`` and ``loss_fn``'s parameters together; the best model is loaded at the end.

    Stops after ``early_stop_patience`` epochs without improvement of the checkpoint criterion,
    when the learning rate falls below ``min_lr``, or at ``max_epochs``. With
    ``checkpoint_dir``, ``last.pt`` (everything needed to resume) and ``best.pt`` are written
    atomically each epoch; ``resume=True`` continues from ``last.pt`` and gives the same result
    as an uninterrupted run on CPU.
    """
    for name, part in (("train", train), ("validation", val)):
        if len(part) == 0:
            raise ValueError(f"the {name} set is empty: use more images or another split")
    dist = distributed_context()
    device = torch.device(config.device)
    if dist.world_size > 1 and device.type == "cuda":
        device = torch.device("cuda", dist.local_rank)  # one GPU per torchrun process
        torch.cuda.set_device(device)
    torch.use_deterministic_algorithms(device.type == "cpu", warn_only=True)
    model.to(device)
    loss_fn.to(device)
    if config.channels_last:
        model.to(memory_format=torch.channels_last)
    objective: nn.Module = _Objective(model, loss_fn)
    params = [p for p in objective.parameters() if p.requires_grad]
    optimizer = _optimizer(params, config)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=config.plateau_factor, patience=config.plateau_patience)
    step_fn = objective
    if dist.world_size > 1:
        step_fn = nn.parallel.DistributedDataParallel(
            objective, device_ids=[device.index] if device.type == "cuda" else None)
    if config.compile:
        step_fn = torch.compile(step_fn)

    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
    history: list[dict] = []
    best = {"score": math.inf, "epoch": 0, "state": None}
    flags: list[str] = []
    start_epoch = 1
    if resume and ckpt_dir is not None and (ckpt_dir / "last.pt").is_file():
        state = torch.load(ckpt_dir / "last.pt", map_location=device, weights_only=False)
        diff = _config_changes(state["config"], config.to_dict()) - RESUMABLE_CHANGES
        if diff:
            raise ValueError(f"{ckpt_dir / 'last.pt'} was written by another TrainConfig "
                             f"(differs in {sorted(diff)}); use a fresh checkpoint_dir or resume=False")
        objective.load_state_dict(state["objective"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        history, flags = state["history"], state["flags"]
        best = {"score": state["best_score"], "epoch": state["best_epoch"],
                "state": torch.load(ckpt_dir / "best.pt", map_location="cpu", weights_only=False)["objective"]
                if state["best_epoch"] else None}
        start_epoch = state["epoch"] + 1

    stop_reason = "max_epochs"
    epoch = start_epoch - 1
    for epoch in range(start_epoch, config.max_epochs + 1):
        reason = _should_stop(history, best, optimizer, config)
        if reason:
            stop_reason = reason
            epoch -= 1
            break
        t0 = time.perf_counter()
        sums = _train_epoch(step_fn, objective, optimizer, train, config, device, epoch, dist,
                            progress)
        ev = evaluate(model, val, loss_fn=loss_fn, config=config, device=device)
        val_auc = _safe_auc(ev)
        scheduler.step(ev.loss)
        rec = {"epoch": epoch, "lr": optimizer.param_groups[0]["lr"], **sums,
               "val_loss": ev.loss, "val_ce": ev.ce, "val_auc": val_auc,
               **_loss_param_report(loss_fn, optimizer), "seconds": time.perf_counter() - t0}
        for name in LOSS_PARAMS:
            if rec.get(f"{name}_state_finite") is False and not any(f.startswith(f"adam-overflow:{name}") for f in flags):
                flags.append(f"adam-overflow:{name}@epoch{epoch}")
                warnings.warn(f"epoch {epoch}: the optimiser state of {name} is non-finite "
                              "(float32 overflow of the squared gradient): that parameter is frozen")
        history.append(rec)
        score = ev.loss if config.checkpoint_criterion == "val_loss" else -val_auc
        if not math.isfinite(score):
            score = math.inf
        if score < best["score"] or best["state"] is None:
            best = {"score": score, "epoch": epoch,
                    "state": {k: v.detach().cpu().clone() for k, v in objective.state_dict().items()}}
            if ckpt_dir is not None and dist.rank == 0:
                atomic_torch_save({"objective": best["state"], "config": config.to_dict(),
                                   "epoch": epoch}, ckpt_dir / "best.pt")
        if ckpt_dir is not None and dist.rank == 0:
            atomic_torch_save({
                "objective": objective.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "torch_rng": torch.get_rng_state(),
                "history": history, "flags": flags, "best_score": best["score"],
                "best_epoch": best["epoch"], "epoch": epoch, "config": config.to_dict(),
            }, ckpt_dir / "last.pt")
    if best["state"] is not None:
        objective.load_state_dict(best["state"])
    return FitResult(pd.DataFrame(history), best["epoch"], epoch, stop_reason, flags)


def _safe_auc(ev: Evaluation) -> float:
    from .metrics import auc

    try:
        return float(auc(ev.labels, ev.probs, multi_class="ovo"))
    except ValueError:  # a class missing from a tiny validation set
        return math.nan


def _should_stop(history, best, optimizer, config: TrainConfig) -> str | None:
    if not history:
        return None
    if optimizer.param_groups[0]["lr"] < config.min_lr:
        return "min_lr"
    if history[-1]["epoch"] - best["epoch"] >= config.early_stop_patience:
        return "early_stop"
    return None


def _train_epoch(step_fn, objective, optimizer, train, config, device, epoch, dist, progress) -> dict:
    # The order of the data depends only on (seed, epoch): resuming replays it exactly.
    gen = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
    if dist.world_size > 1:
        sampler = torch.utils.data.DistributedSampler(train, num_replicas=dist.world_size,
                                                      rank=dist.rank, seed=config.seed)
        sampler.set_epoch(epoch)
        loader = DataLoader(train, batch_size=config.batch_size, sampler=sampler,
                            num_workers=config.num_workers, pin_memory=device.type == "cuda")
    else:
        loader = DataLoader(train, batch_size=config.batch_size, shuffle=True, generator=gen,
                            num_workers=config.num_workers, pin_memory=device.type == "cuda",
                            drop_last=len(train) > config.batch_size)
    objective.train()
    sums: dict[str, float] = {}
    n = 0
    bar = tqdm(loader, desc=f"epoch {epoch}", leave=False, disable=not progress or dist.rank != 0)
    for step, batch in enumerate(bar):
        x, labels, gaze, has_gaze = batch_inputs(batch, device, config.channels_last)
        with autocast_for(config, device):
            total, parts = step_fn(x, labels, gaze, has_gaze)
        value = float(total.detach())
        _check_finite(parts, value, epoch, step)
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        b = len(labels)
        n += b
        for k, v in {"loss": value, **parts}.items():
            if k in ("loss", "ce", "sm"):
                sums[f"train_{k}"] = sums.get(f"train_{k}", 0.0) + v * b
        bar.set_postfix({k: f"{v:.3g}" for k, v in [("loss", value)] + [
            (k, parts[k]) for k in ("sigma_sm", "sigma_ce", "alpha") if k in parts]})
    return {k: v / max(n, 1) for k, v in sums.items()}
