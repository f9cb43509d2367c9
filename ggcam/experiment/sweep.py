"""The sweep: every run of a profile, resumable and sharded; orchestration only.

Training is ``ggcam.train.fit``, metrics are ``metrics.run_metrics``, the files are
``store.ResultsStore``'s. A finished run (its record exists with the same config hash and
data identity) is never redone; an interrupted one resumes from its last checkpoint (kept
outside ``results/``, under ``<work>/checkpoints/<profile>/<run_id>/``); ``shard=(i, n)``
splits the runs between machines.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import math
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ggcam.checkpoint import CheckpointError, data_mismatch, load_checkpoint
from ggcam.config import TrainConfig
from ggcam.experiment.controls import centre_prior, with_gaze_source
from ggcam.experiment.metrics import learned, run_metrics
from ggcam.experiment.profiles import Profile, RunSpec, run_config, run_specs
from ggcam.experiment.store import ResultsStore, RunRecord
from ggcam.geometry import input_cells
from ggcam.runtime import device_name, git_commit, probe_writable, seed_everything
from ggcam.study import CLASS_NAMES

EXAMPLE_IMAGE_MAX_SIDE = 256  # phantom example images are stored at most this large


class ProfileData:
    """The data of a profile: the roots (a phantom made if missing, or a checked download),
    their identity, and one cache per blur.

    The caches live in ``<work>/prepared/``, named with the data's identity so that sweeps on
    two data roots never share one. When the data changes (another root, an edited file), a
    new cache is made and the old one stays: delete ``<work>/prepared/`` to reclaim the space.
    """

    def __init__(self, profile: Profile, data_root: Path | None, work_root: Path,
                 mimic_root: Path | None = None, progress: bool = True) -> None:
        from ggcam.data import data_identity, ensure_dataset

        if profile.data == "real" and data_root is None:
            raise ValueError(f"profile {profile.name!r} reads the real EGD-CXR release: give "
                             "--data-root (the folder holding egd-cxr/1.0.0 or that folder itself)")
        self.profile, self.work_root, self.progress = profile, Path(work_root), progress
        self.roots = ensure_dataset(
            Path(data_root) if data_root else None, work_root=self.work_root,
            n_images=profile.n_images, scale=profile.scale, seed=0,
            informativeness=profile.informativeness,
            mimic_root=Path(mimic_root) if mimic_root else None, progress=progress)
        self.origin = self.roots.origin
        self.data_id = data_identity(self.roots.egd_root, self.roots.mimic_root)
        self._cache: dict = {}

    def __call__(self, config: TrainConfig):
        from ggcam.data import CachedDataset, prepare

        gaze, weighting = config.gaze_table
        key = (config.kernel_size, config.blur_sigma, config.gaze_points)
        if key not in self._cache:
            # One cache per blur and gaze table: ResNet and EffNet use different B (Table 1).
            tag = f"B{config.kernel_size}" if config.kernel_size else f"s{config.blur_sigma:.4g}"
            shape = self.profile.input_shape
            # The data's identity is in the name: sweeps on two data roots never share a cache.
            data = hashlib.sha1(self.data_id.encode()).hexdigest()[:8]
            name = (f"{self.profile.name}-{self.origin}-{data}-{shape[0]}x{shape[1]}-{tag}-"
                    f"{config.gaze_points}")
            path = prepare(self.roots.egd_root, self.roots.mimic_root,
                           self.work_root / "prepared" / name, input_shape=shape,
                           kernel_size=config.kernel_size, sigma=config.blur_sigma, gaze=gaze,
                           weighting=weighting, progress=self.progress)
            self._cache[key] = CachedDataset(path)
        return self._cache[key]


def is_done(store: ResultsStore, spec: RunSpec, config: TrainConfig, data_id: str) -> bool:
    path = store.path / "runs" / f"{spec.run_id}.json"
    if not path.is_file():
        return False
    rec = store.record_dict(path)
    return rec.get("config_hash") == config.hash() and rec.get("data_id") == data_id


def _fixations(test) -> np.ndarray:
    """(N, h, w) bool: the Ω cells holding a gaze point of each test image."""
    h, w = test.grid_shape
    out = np.zeros((len(test), h, w), dtype=bool)
    for i in range(len(test)):
        xy, _ = test.input_gaze_points(i)
        cells = input_cells(xy, test.stride, (h, w))
        out[i, cells[:, 0], cells[:, 1]] = True
    return out


def _examples(ev, test, origin: str) -> dict[str, np.ndarray]:
    """One test image per class (the first with gaze) with its Ψ and Ω^Y, for Table 3."""
    rows = [int(h[0]) for c in range(len(CLASS_NAMES))
            if len(h := np.flatnonzero((ev.labels == c) & ev.has_gaze.astype(bool)))]
    out = {"labels": ev.labels[rows], "psi": ev.gaze[rows], "cam": ev.cams[rows, ev.labels[rows]],
           "dicom_id": np.array([test.metadata.iloc[r]["dicom_id"] for r in rows])}
    if origin == "phantom":  # never store credentialed patient images in results/
        imgs = []
        for r in rows:
            img = test[r]["image"][None]
            f = max(1, math.ceil(max(img.shape[-2:]) / EXAMPLE_IMAGE_MAX_SIDE))
            imgs.append(torch.nn.functional.avg_pool2d(img, f)[0, 0].numpy().astype(np.float16))
        out["image"] = np.stack(imgs)
    return out


def _load_best(model, loss_fn, ckpt_dir: Path) -> None:
    best = ckpt_dir / "best.pt"
    if best.is_file():
        payload = load_checkpoint(best)
        model.load_state_dict(payload["model"])
        loss_fn.load_state_dict(payload["loss"])


def _train(spec, config, options, train, val, ckpt_dir, progress, data_id):
    """Fit (resuming); a run whose loss went non-finite is scored from its best checkpoint."""
    from ggcam.train import NonFiniteLoss, fit, make_loss, make_model

    seed_everything(spec.seed)
    model, loss_fn = make_model(config), make_loss(config)
    try:
        return model, loss_fn, fit(model, loss_fn, train, val, config, options=options,
                                   checkpoint_dir=ckpt_dir, resume=True, progress=progress,
                                   data_id=data_id), ""
    except NonFiniteLoss as err:
        warnings.warn(f"{spec.run_id}: {err}", stacklevel=2)
        _load_best(model, loss_fn, ckpt_dir)
        return model, loss_fn, None, str(err)


def _flags(result) -> dict:
    flags = result.flags if result is not None else []
    return {"flags": ";".join(flags),
            "optimizer_overflow": any(f.startswith("adam-overflow") for f in flags),
            "sigma_frozen": any(f.startswith("adam-overflow:loss_fn.log_sigma_sm") for f in flags),
            "sigmoid_saturated": any(f.startswith("sigmoid-saturated") for f in flags)}


def _final_params(result) -> dict:
    keys = ("sigma_sm", "sigma_ce", "alpha", "w_sm", "w_ce")
    last = result.history.iloc[-1] if result is not None and len(result.history) else {}
    return {f"{k}_final": float(last[k]) if k in last else None for k in keys}


def run_one(spec: RunSpec, profile: Profile, data: ProfileData, store: ResultsStore,
            ckpt_root: Path, *, device: str | None = None, progress: bool = True) -> RunRecord:
    """Train and test one run; write its record, predictions, maps, curves (and examples)."""
    from ggcam.data import split
    from ggcam.evaluate import evaluate

    config, options = run_config(profile, spec, device)
    dataset = data(config)
    parts = split(dataset.metadata, "paper", seed=spec.seed, fractions=profile.split_fractions)
    train, val, test = (dataset.subset(parts[k]) for k in ("train", "val", "test"))
    train_fit, val_fit = with_gaze_source(train, val, config.gaze_source, spec.seed)
    t0 = time.perf_counter()
    model, loss_fn, result, message = _train(spec, config, options, train_fit, val_fit,
                                             ckpt_root / spec.run_id, progress, data.data_id)
    wall = time.perf_counter() - t0
    ev = evaluate(model, test, loss_fn=loss_fn, options=options, with_cams=True)
    predictions = pd.DataFrame({"dicom_id": test.metadata["dicom_id"].to_numpy(), "label": ev.labels,
                                **{f"logit_{k}": ev.logits[:, k].astype(np.float64)
                                   for k in range(ev.logits.shape[1])}})
    maps = {"cams": ev.cams, "gaze": ev.gaze, "has_gaze": ev.has_gaze.astype(bool),
            "fixations": _fixations(test), "centre_prior": centre_prior(train),
            **{f"mask_{k}": v.astype(bool) for k, v in ev.masks.items()}}
    scores = run_metrics(predictions, maps)
    record = RunRecord(
        profile=profile.name, network=spec.network, variant=spec.variant, seed=spec.seed,
        run_id=spec.run_id, config_hash=config.hash(), data_origin=data.origin,
        data_id=data.data_id, status="ok" if result is not None else "diverged", message=message,
        epochs=result.epochs if result else None, best_epoch=result.best_epoch if result else None,
        stop_reason=result.stop_reason if result else "non-finite", **_flags(result),
        learned=learned(scores),
        n_train=len(train), n_val=len(val), n_test=len(test), **scores, **_final_params(result),
        wall_s=round(wall, 1), device=device_name(options.device),
        threads=torch.get_num_threads(), commit=git_commit(), date=_dt.date.today().isoformat())
    store.write_run(record, predictions, maps, result.history if result is not None else None)
    arm = next((a for a in profile.arms if a.variant == spec.variant), None)
    if arm is not None and spec.seed == arm.seeds[0]:
        store.write_example(spec.network, spec.variant, _examples(ev, test, data.origin))
    return record


def check_writable(folder: Path) -> None:
    try:
        probe_writable(folder)
    except OSError as err:
        raise ValueError(f"cannot write to {folder}: {err.strerror or err}") from None


def prepare_checkpoints(ckpt_dir: Path, data_id: str | None = None) -> None:
    """Remove temp files a killed run left, and set aside a checkpoint that cannot be read or,
    given ``data_id``, was trained on other data (the run then restarts; nothing is deleted)."""
    if not ckpt_dir.is_dir():
        return
    for tmp in ckpt_dir.glob(".*.pt.*"):
        tmp.unlink(missing_ok=True)
    for name in ("last.pt", "best.pt"):
        path = ckpt_dir / name
        if not path.is_file():
            continue
        try:
            trained_on = load_checkpoint(path).get("data_id")
        except CheckpointError as err:
            _set_aside(ckpt_dir, name, "corrupt", f"{err}")
            continue
        if data_id is not None and trained_on != data_id:
            _set_aside(ckpt_dir, name, "stale", f"{path} {data_mismatch(trained_on, data_id)}")


def _set_aside(ckpt_dir: Path, name: str, why: str, message: str) -> None:
    """Rename ``name`` to ``<name>.<why>-<time>`` and its partner to ``.stale-<time>``."""
    stamp = int(time.time())
    path = ckpt_dir / name
    bad = path.with_suffix(f".{why}-{stamp}")
    path.rename(bad)
    # The run restarts, so its other checkpoint is stale: set aside too, not deleted.
    partner = ckpt_dir / ("best.pt" if name == "last.pt" else "last.pt")
    if partner.is_file():
        partner.rename(partner.with_suffix(f".stale-{stamp}"))
    warnings.warn(f"{message}; moved to {bad.name}, the run restarts", stacklevel=3)


def forget_runs(store: ResultsStore, ckpt_root: Path, run_ids: list[str]) -> int:
    """Delete the records and checkpoints of ``run_ids`` so they run afresh; returns the count."""
    n = 0
    for rid in run_ids:
        for path in (store.path / "runs" / f"{rid}.json",):
            if path.is_file():
                path.unlink()
                n += 1
        shutil.rmtree(ckpt_root / rid, ignore_errors=True)
    return n


def _only(specs: list[RunSpec], profile: Profile, networks, variants) -> list[RunSpec]:
    for name, wanted, known in (("network", networks, profile.networks),
                                ("variant", variants, profile.variants)):
        if wanted:
            unknown = sorted(set(wanted) - set(known))
            if unknown:
                raise ValueError(f"--{name}: {unknown} not in profile {profile.name!r} "
                                 f"(it has {', '.join(known)})")
            specs = [s for s in specs if getattr(s, name) in wanted]
    return specs


def run_sweep(profile: Profile, *, data_root: str | Path | None = None,
              mimic_root: str | Path | None = None, results_root: str | Path = "results",
              work_root: str | Path = ".cache", shard: tuple[int, int] = (0, 1),
              device: str | None = None, progress: bool = True,
              fresh: list[str] | str | None = None, networks=None, variants=None) -> pd.DataFrame:
    """Run (or resume) every run of ``profile`` in this shard; return the runs table.

    ``networks`` / ``variants`` (optional) keep only those runs, e.g. one network's share.
    """
    from tqdm import tqdm

    store = ResultsStore(Path(results_root) / profile.name)
    ckpt_root = Path(work_root) / "checkpoints" / profile.name
    specs = _only(run_specs(profile, shard), profile, networks, variants)
    check_writable(store.path)
    check_writable(ckpt_root)
    if fresh:
        ids = [s.run_id for s in specs] if fresh == "all" else list(fresh)
        unknown = set(ids) - {s.run_id for s in run_specs(profile)}
        if unknown:
            raise ValueError(f"--fresh: no run {sorted(unknown)} in profile {profile.name!r}")
        forget_runs(store, ckpt_root, ids)
    data = ProfileData(profile, Path(data_root) if data_root else None, Path(work_root),
                       Path(mimic_root) if mimic_root else None, progress=progress)
    todo = [s for s in specs if not is_done(store, s, run_config(profile, s, device)[0], data.data_id)]
    bar = tqdm(todo, desc=f"sweep {profile.name}", disable=not progress)
    for spec in bar:
        bar.set_postfix_str(spec.run_id)
        prepare_checkpoints(ckpt_root / spec.run_id, data.data_id)
        run_one(spec, profile, data, store, ckpt_root, device=device, progress=progress)
        store.collect()
    return store.collect()

