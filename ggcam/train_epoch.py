"""One training epoch (``train_epoch``): the data order of (seed, epoch), the optimiser step of
each batch, and a stop on the first non-finite loss term (``NonFiniteLoss``). ``ggcam.train.fit``
calls it once per epoch and names ``NonFiniteLoss`` too.
"""

from __future__ import annotations

import math

import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from ggcam.config import RunOptions, TrainConfig
from ggcam.evaluate import autocast_for, batch_inputs


class NonFiniteLoss(RuntimeError):
    """Training produced a non-finite loss term; the last good checkpoint is kept."""


def check_finite(parts: dict, total: float, epoch: int, step: int) -> None:
    if math.isfinite(total):
        return
    culprits = [f"{k} = {v}" for k, v in parts.items() if not math.isfinite(v)]
    raise NonFiniteLoss(
        f"non-finite loss at epoch {epoch}, step {step}: "
        + (", ".join(culprits) if culprits else f"total = {total}")
        + " (the last good checkpoint is kept)"
    )


def epoch_loader(train: Dataset, config: TrainConfig, options: RunOptions, device, epoch, dist):
    # The order of the data depends only on (seed, epoch): resuming replays it exactly.
    common = dict(batch_size=config.batch_size, num_workers=options.num_workers,
                  pin_memory=device.type == "cuda")
    if dist.world_size > 1:
        sampler = torch.utils.data.DistributedSampler(train, num_replicas=dist.world_size,
                                                      rank=dist.rank, seed=config.seed)
        sampler.set_epoch(epoch)
        return DataLoader(train, sampler=sampler, **common)
    gen = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
    return DataLoader(train, shuffle=True, generator=gen,
                      drop_last=len(train) > config.batch_size, **common)


def train_epoch(step_fn, objective, optimizer, train, config, options, device, epoch, dist,
                progress) -> dict:
    objective.train()
    sums: dict[str, float] = {}
    n = 0
    bar = tqdm(epoch_loader(train, config, options, device, epoch, dist), desc=f"epoch {epoch}",
               leave=False, disable=not progress or dist.rank != 0)
    for step, batch in enumerate(bar):
        x, labels, gaze, has_gaze = batch_inputs(batch, device, options.channels_last)
        with autocast_for(options, device):
            total, parts = step_fn(x, labels, gaze, has_gaze)
        value = float(total.detach())
        check_finite(parts, value, epoch, step)
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
