"""Training (paper section 4.2): one code path from a CPU smoke run to GPU runs.

``fit`` trains a CAM model with a loss from ``ggcam.losses`` (the model and the loss
parameters α, σ_sm, σ_ce in one optimiser), with ReduceLROnPlateau on the validation loss,
early stopping, a checkpoint per epoch (``ggcam.checkpoint``) and exact resume. Every epoch
records σ_sm, σ_ce, α, the effective weights 1/(2σ_sm²), 1/σ_ce² of eq. 11 and how much
gradient the gaze term can still give; a run's flags name any optimiser state that overflowed
(the σ_sm freeze of design.md, "Hazards") and a saturated sigmoid.
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
from torch.utils.data import Dataset

from ggcam.cam import CAMNet, build_model
from ggcam.checkpoint import best_weights, data_mismatch, load_checkpoint, save_checkpoint
from ggcam.config import RunOptions, TrainConfig
from ggcam.evaluate import Evaluation, evaluate
from ggcam.losses import GGCAMLoss, StandardLoss
from ggcam.runtime import capped, distributed_context
from ggcam.train_epoch import NonFiniteLoss, train_epoch

__all__ = ["SATURATION_SHARE", "FitResult", "NonFiniteLoss", "fit", "make_loss", "make_model",
           "make_optimizer", "non_finite_optimizer_state"]

# A run is flagged "sigmoid-saturated" when almost every supervised cell is saturated
# (|αΩ^Y| > 10): the sigmoid of eq. 10 is flat there, so the gaze term gives no gradient,
# whichever side it saturated on. The curve's val_sm_ratio says which: 1.0 is the loss of a
# map that is 0 everywhere (Ω^Y far below 0), as the ResNet + GG-CAM runs of session 1 sat.
SATURATION_SHARE = 0.95


@dataclass
class FitResult:
    history: pd.DataFrame  # one row per epoch
    best_epoch: int
    epochs: int
    stop_reason: str
    flags: list[str] = field(default_factory=list)  # e.g. "adam-overflow:loss.log_sigma_sm@epoch1"
    # The model and loss parameters after the last epoch (the model itself holds the best):
    # a run is also tested as it stopped, so a result cannot hinge on the checkpoint rule.
    last_weights: dict | None = None
    resumed_epochs: int = 0  # epochs restored from last.pt (their time is in history.seconds)


@dataclass
class _State:
    """What survives an epoch: the record so far, the best weights and the flags."""

    history: list[dict] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    best_score: float = math.inf
    best_epoch: int = 0
    best_weights: dict | None = None
    epoch: int = 0  # last finished epoch

    def to_checkpoint(self, optimizer, scheduler) -> dict:
        return {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "torch_rng": torch.get_rng_state(), "history": self.history, "flags": self.flags,
                "best_score": self.best_score, "best_epoch": self.best_epoch}


def make_loss(config: TrainConfig) -> nn.Module:
    """The objective of a variant: CE alone, eq. 11 (paper) or the released code's."""
    if config.loss_mode == "standard":
        return StandardLoss()
    loss = GGCAMLoss(config.sigma_sm, config.sigma_ce, config.alpha, mode=config.loss_mode)
    return loss.to(getattr(torch, config.loss_param_dtype))


def make_model(config: TrainConfig) -> CAMNet:
    return build_model(config.network, num_classes=config.num_classes,
                       reduction=config.cam_reduction)


def make_optimizer(params, config: TrainConfig) -> torch.optim.Optimizer:
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
        return self.loss_fn(logits, cams, labels, gaze, has_gaze)


def fit(model: CAMNet, loss_fn: nn.Module, train: Dataset, val: Dataset, config: TrainConfig, *,
        options: RunOptions | None = None, checkpoint_dir: str | Path | None = None,
        resume: bool = False, progress: bool = True, data_id: str | None = None) -> FitResult:
    """Train ``model`` and ``loss_fn``'s parameters together; the best model is loaded at the end.

    Stops after ``early_stop_patience`` epochs without improvement of the checkpoint criterion,
    when the learning rate falls below ``min_lr``, or at ``max_epochs``. With
    ``checkpoint_dir``, ``last.pt`` (everything needed to resume) and ``best.pt`` are written
    atomically each epoch; ``resume=True`` continues from ``last.pt`` and gives the same result
    as an uninterrupted run on CPU. ``data_id`` (``ggcam.data.data_identity``) is written into
    the checkpoints, and resuming a ``last.pt`` written on other data is an error.
    """
    options = options or RunOptions()
    _check_sets(train, val)
    objective, device, dist = _place(model, loss_fn, options)
    optimizer = make_optimizer([p for p in objective.parameters() if p.requires_grad], config)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=config.plateau_factor, patience=config.plateau_patience)
    step_fn = _wrap(objective, options, dist, device)
    ckpt = Path(checkpoint_dir) if checkpoint_dir is not None else None
    state = _State()
    if resume and ckpt is not None and (ckpt / "last.pt").is_file():
        state = _restore(ckpt, config, objective, optimizer, scheduler, device, data_id)
    resumed = state.epoch
    stop_reason = "max_epochs"
    for epoch in range(state.epoch + 1, config.max_epochs + 1):
        stop_reason = _stop_reason(state, optimizer, config) or stop_reason
        if stop_reason != "max_epochs":
            break
        t0 = time.perf_counter()
        rec = train_epoch(step_fn, objective, optimizer, train, config, options, device, epoch,
                          dist, progress)
        ev = evaluate(model, val, loss_fn=loss_fn, options=options, device=device,
                      batch_size=max(config.batch_size, 8))
        lr_before = optimizer.param_groups[0]["lr"]
        scheduler.step(ev.loss)
        rec.update(_epoch_record(ev, loss_fn, optimizer), seconds=time.perf_counter() - t0)
        _update_flags(state, rec, objective, optimizer, epoch)
        _keep_best(state, rec, objective, config, epoch)
        if config.reload_best_on_lr_drop and optimizer.param_groups[0]["lr"] < lr_before:
            objective.load_state_dict(state.best_weights)  # the released code's habit
        state.epoch = epoch
        if ckpt is not None and dist.rank == 0:
            _save(ckpt, state, objective, optimizer, scheduler, config, data_id)
    last = {k: v.detach().cpu().clone() for k, v in objective.state_dict().items()}
    if state.best_weights is not None:
        objective.load_state_dict(state.best_weights)
    return FitResult(pd.DataFrame(state.history), state.best_epoch, state.epoch, stop_reason,
                     state.flags, last, resumed)


def _check_sets(train: Dataset, val: Dataset) -> None:
    for name, part in (("train", train), ("validation", val)):
        if len(part) == 0:
            raise ValueError(f"the {name} set is empty: use more images or another split")


def _place(model, loss_fn, options: RunOptions):
    dist = distributed_context()
    device = torch.device(options.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {options.device!r} was asked for, but torch sees no CUDA GPU")
    if dist.world_size > 1 and device.type == "cuda":
        device = torch.device("cuda", dist.local_rank)  # one GPU per torchrun process
        torch.cuda.set_device(device)
    if options.threads:  # more threads than cores only slows every one of them down
        torch.set_num_threads(capped(options.threads, "threads"))
    torch.use_deterministic_algorithms(device.type == "cpu", warn_only=True)
    model.to(device)
    loss_fn.to(device)
    if options.channels_last:
        model.to(memory_format=torch.channels_last)
    return _Objective(model, loss_fn), device, dist


def _wrap(objective: nn.Module, options: RunOptions, dist, device) -> nn.Module:
    step_fn = objective
    if dist.world_size > 1:
        step_fn = nn.parallel.DistributedDataParallel(
            objective, device_ids=[device.index] if device.type == "cuda" else None)
    return torch.compile(step_fn) if options.compile else step_fn


def _restore(ckpt: Path, config: TrainConfig, objective, optimizer, scheduler, device,
             data_id: str | None) -> _State:
    last = load_checkpoint(ckpt / "last.pt", map_location=device)
    if data_id is not None and last.get("data_id") != data_id:
        raise ValueError(f"{ckpt / 'last.pt'} {data_mismatch(last.get('data_id'), data_id)}; use "
                         "a fresh checkpoint_dir or resume=False")
    saved = TrainConfig.from_dict(last["config"])
    if saved.identity() != config.identity():
        diff = sorted(k for k, v in config.identity().items() if saved.identity().get(k) != v)
        raise ValueError(f"{ckpt / 'last.pt'} was written by another TrainConfig (differs in "
                         f"{diff}); use a fresh checkpoint_dir or resume=False")
    try:
        objective.model.load_state_dict(last["model"])
        objective.loss_fn.load_state_dict(last["loss"])
    except RuntimeError as err:  # another network's weights under the same config
        raise ValueError(f"{ckpt / 'last.pt'} does not fit this model ({str(err).splitlines()[0]}"
                         "); use a fresh checkpoint_dir or resume=False") from None
    s = last["state"]
    optimizer.load_state_dict(s["optimizer"])
    scheduler.load_state_dict(s["scheduler"])
    torch.set_rng_state(s["torch_rng"])
    best = None
    if s["best_epoch"]:
        best = best_weights(ckpt / "best.pt", last, objective)
    return _State(list(s["history"]), list(s["flags"]), s["best_score"], s["best_epoch"], best,
                  last["epoch"])


def _save(ckpt: Path, state: _State, objective, optimizer, scheduler, config,
          data_id: str | None) -> None:
    common = dict(config=config.to_dict(), model=objective.model, loss_fn=objective.loss_fn,
                  data_id=data_id)
    if state.best_epoch == state.epoch:
        save_checkpoint(ckpt / "best.pt", epoch=state.epoch, **common)
    save_checkpoint(ckpt / "last.pt", epoch=state.epoch,
                    state=state.to_checkpoint(optimizer, scheduler), **common)


def _stop_reason(state: _State, optimizer, config: TrainConfig) -> str | None:
    if not state.history:
        return None
    if optimizer.param_groups[0]["lr"] < config.min_lr:
        return "min_lr"
    if state.history[-1]["epoch"] - state.best_epoch >= config.early_stop_patience:
        return "early_stop"
    return None


def _epoch_record(ev: Evaluation, loss_fn: nn.Module, optimizer) -> dict:
    """Validation numbers, the loss parameters and the gaze term's saturation of one epoch."""
    rec = {"lr": optimizer.param_groups[0]["lr"], "val_loss": ev.loss, "val_ce": ev.ce,
           "val_auc": _safe_auc(ev)}
    rec.update({f"val_{k}": v for k, v in ev.diagnostics.items()})
    if isinstance(loss_fn, GGCAMLoss):
        rec.update(loss_fn.report())  # the loss reports its own parameters and weights
    return rec


def non_finite_optimizer_state(objective: nn.Module, optimizer) -> list[str]:
    """Names of the parameters whose optimiser state holds inf or NaN (frozen by Adam)."""
    names = []
    for name, p in objective.named_parameters():
        st = optimizer.state.get(p, {})
        if any(torch.is_tensor(v) and v.is_floating_point() and not torch.isfinite(v).all()
               for v in st.values()):
            names.append(name)
    return names


def _update_flags(state: _State, rec: dict, objective, optimizer, epoch: int) -> None:
    bad = non_finite_optimizer_state(objective, optimizer)
    rec["optimizer_state_finite"] = not bad
    for name in bad:
        if not any(f.startswith(f"adam-overflow:{name}@") for f in state.flags):
            state.flags.append(f"adam-overflow:{name}@epoch{epoch}")
            warnings.warn(f"epoch {epoch}: the optimiser state of {name} is non-finite (float32 "
                          "overflow of the squared gradient): that parameter is frozen", stacklevel=2)
    share = rec.get("val_saturated", math.nan)  # NaN (no gaze term) never flags
    if share > SATURATION_SHARE and not any(f.startswith("sigmoid-saturated") for f in state.flags):
        state.flags.append(f"sigmoid-saturated@epoch{epoch}")
    state.history.append({"epoch": epoch, **rec})


def _keep_best(state: _State, rec: dict, objective, config: TrainConfig, epoch: int) -> None:
    score = rec["val_loss"] if config.checkpoint_criterion == "val_loss" else -rec["val_auc"]
    score = score if math.isfinite(score) else math.inf
    if score < state.best_score or state.best_weights is None:
        state.best_score, state.best_epoch = score, epoch
        state.best_weights = {k: v.detach().cpu().clone() for k, v in objective.state_dict().items()}


def _safe_auc(ev: Evaluation) -> float:
    from ggcam.metrics.classification import auc

    try:
        return float(auc(ev.labels, ev.logits, multi_class="ovo", from_logits=True))
    except ValueError:  # a class missing from a tiny validation set
        return math.nan
