"""The one checkpoint format: written by ``fit``, read by ``build_model``, resume and the sweep.

A checkpoint is a ``torch.save`` of a plain dict that ``torch.load(weights_only=True)`` reads,
so loading one never runs code from the file:

==============  ====================================================================
key             content
==============  ====================================================================
format          ``"ggcam-checkpoint"``
version         ``CHECKPOINT_VERSION``
config          ``TrainConfig.to_dict()``: what was trained (str, int, float, bool, None)
model           the ``CAMNet``'s state dict
loss            the loss module's state dict (log α, log σ_sm, log σ_ce; empty for CE)
epoch           the epoch whose end it records (int)
data_id         ``ggcam.data.data_identity`` of the data it trained on (str; None: not given)
state           ``last.pt`` only: optimizer and scheduler state dicts, torch RNG state,
                history (list of dicts of numbers), flags, best score and epoch
==============  ====================================================================

``best.pt`` holds the weights of the best epoch; ``last.pt`` everything needed to resume.
A file that is not one of these (truncated, foreign, pickled code) raises ``CheckpointError``
naming it.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ggcam.runtime import atomic_torch_save

CHECKPOINT_FORMAT = "ggcam-checkpoint"
CHECKPOINT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read, or is not a ggcam checkpoint."""


def save_checkpoint(path: str | Path, *, config: dict, model: nn.Module, loss_fn: nn.Module,
                    epoch: int, state: dict | None = None, data_id: str | None = None) -> None:
    """Write a checkpoint atomically (a crash leaves the previous file intact)."""
    payload = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "config": dict(config),
               "model": _cpu(model.state_dict()), "loss": _cpu(loss_fn.state_dict()),
               "epoch": int(epoch), "data_id": data_id}
    if state is not None:
        payload["state"] = state
    atomic_torch_save(payload, Path(path))


def _cpu(state: dict) -> dict:
    return {k: v.detach().cpu().clone() for k, v in state.items()}


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Read a ggcam checkpoint safely (``weights_only=True``); ``CheckpointError`` otherwise."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # truncated zip, pickled code, foreign formats: many exception types
        raise CheckpointError(f"cannot read checkpoint {path}: {type(err).__name__}: "
                              f"{str(err).splitlines()[0] if str(err) else ''}") from err
    if not (isinstance(payload, dict) and payload.get("format") == CHECKPOINT_FORMAT):
        raise CheckpointError(f"{path} is not a ggcam checkpoint (no format "
                              f"{CHECKPOINT_FORMAT!r})")
    if payload.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"{path} has checkpoint version {payload.get('version')!r}; this "
                              f"ggcam reads version {CHECKPOINT_VERSION}")
    return payload


def data_mismatch(saved: str | None, now: str) -> str:
    """Why a checkpoint whose ``data_id`` is ``saved`` is not resumed on the data ``now``."""
    if saved is None:
        return f"records no data identity (written before ggcam kept one; the data now is {now})"
    return f"was trained on other data (data identity {saved}, now {now})"


def read_model_state(path: str | Path) -> tuple[dict, str | None]:
    """A model state dict from a ggcam checkpoint or a plain state-dict file, and the CAM
    reduction the checkpoint's config names (None for a plain state dict)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"weights file not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(f"cannot read weights from {path}: {type(err).__name__}: {err}") from err
    if isinstance(payload, dict) and payload.get("format") == CHECKPOINT_FORMAT:
        payload = load_checkpoint(path)
        return payload["model"], payload["config"].get("cam_reduction", "sum")
    if not (isinstance(payload, dict) and payload and all(isinstance(k, str) for k in payload)
            and all(torch.is_tensor(v) for v in payload.values())):
        raise ValueError(f"{path} holds neither a ggcam checkpoint nor a state dict, but a "
                         f"{type(payload).__name__}")
    return payload, None


def best_weights(path: Path, last: dict, objective: nn.Module) -> dict:
    """best.pt's weights, once it is shown to be this run's: the same TrainConfig and data as
    last.pt, and weights that fit the model (another arm's file copied in is refused)."""
    from ggcam.config import TrainConfig

    b = load_checkpoint(path)
    if (TrainConfig.from_dict(b["config"]).identity() != TrainConfig.from_dict(last["config"]).identity()
            or b.get("data_id") != last.get("data_id")):
        raise ValueError(f"{path} was written by another run than {path.parent / 'last.pt'} "
                         "(another TrainConfig or data); use a fresh checkpoint_dir or resume=False")
    best = {**{f"model.{k}": v for k, v in b["model"].items()},
            **{f"loss_fn.{k}": v for k, v in b["loss"].items()}}
    if set(best) != set(objective.state_dict()):
        raise ValueError(f"{path} does not fit this model (its weights name other layers); use "
                         "a fresh checkpoint_dir or resume=False")
    return best
