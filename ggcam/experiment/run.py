"""Train and test one run: the one path from a run spec to its stored result.

``run_one`` is what the sweep, ``ggcam train``, ``ggcam rerun`` and the book's pages call:
data (``ProfileData.sets``) → seed → ``ggcam.train.fit`` (resumable) → test the best
checkpoint and the last epoch → metrics (``metrics.run_metrics``) → the results store. Training
is ``ggcam.train``; files are ``store.ResultsStore``'s.
"""

from __future__ import annotations

import datetime as _dt
import math
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ggcam.checkpoint import CheckpointError, data_mismatch, load_checkpoint
from ggcam.experiment.controls import centre_prior
from ggcam.experiment.data import ProfileData, RunSets
from ggcam.experiment.metrics import fixed_locations, learned_reason, run_metrics
from ggcam.experiment.profiles import Profile, RunSpec, run_config
from ggcam.experiment.store import ResultsStore, RunRecord
from ggcam.geometry import input_cells
from ggcam.metrics.image_localisation import tolerance_at
from ggcam.runtime import device_name, git_commit, seed_everything
from ggcam.study import CLASS_NAMES

EXAMPLE_IMAGE_MAX_SIDE = 256  # phantom example images are stored at most this large


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


def _train(spec, config, options, sets: RunSets, ckpt_dir, progress):
    """Fit (resuming); a run whose loss went non-finite is scored from its best checkpoint."""
    from ggcam.train import NonFiniteLoss, fit, make_loss, make_model

    seed_everything(spec.seed)
    model, loss_fn = make_model(config), make_loss(config)
    try:
        return model, loss_fn, fit(model, loss_fn, sets.train_fit, sets.val_fit, config,
                                   options=options, checkpoint_dir=ckpt_dir, resume=True,
                                   progress=progress, data_id=sets.data_id), ""
    except NonFiniteLoss as err:
        warnings.warn(f"{spec.run_id}: {err}", stacklevel=2)
        _load_best(model, loss_fn, ckpt_dir)
        return model, loss_fn, None, str(err)


def _resumed_seconds(result) -> float:
    """Training time of the epochs an earlier process ran before this one resumed."""
    if result is None or not result.resumed_epochs or "seconds" not in result.history:
        return 0.0
    return float(result.history["seconds"].iloc[:result.resumed_epochs].sum())


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


def _test_files(model, loss_fn, sets: RunSets, options) -> tuple[pd.DataFrame, dict, object]:
    """The test set's predictions (logits, float64) and maps of the model as it is now."""
    from ggcam.evaluate import evaluate

    test = sets.test
    ev = evaluate(model, test, loss_fn=loss_fn, options=options, with_cams=True)
    predictions = pd.DataFrame({"dicom_id": test.metadata["dicom_id"].to_numpy(), "label": ev.labels,
                                **{f"logit_{k}": ev.logits[:, k].astype(np.float64)
                                   for k in range(ev.logits.shape[1])}})
    maps = {"cams": ev.cams, "gaze": ev.gaze, "has_gaze": ev.has_gaze.astype(bool),
            "fixations": _fixations(test), "centre_prior": centre_prior(sets.train),
            "dicom_id": predictions["dicom_id"].to_numpy(dtype=str),
            **{f"mask_{k}": v.astype(bool) for k, v in ev.masks.items()}}
    if getattr(test, "has_truth", False):  # the fixed-location baseline, fitted on training images
        maps["fixed_location"] = fixed_locations(sets.train.finding_masks(), sets.train.labels(),
                                                 tolerance_at(test.input_shape))
    return predictions, maps, ev


def _last_epoch(model, loss_fn, result) -> bool:
    """Load the last epoch's weights into ``model``/``loss_fn``; False when there are none."""
    if result is None or result.last_weights is None:
        return False
    strip = lambda prefix: {k[len(prefix):]: v for k, v in result.last_weights.items()
                            if k.startswith(prefix)}
    model.load_state_dict(strip("model."))
    loss_fn.load_state_dict(strip("loss_fn."))
    return True


def run_one(spec: RunSpec, profile: Profile, data: ProfileData, store: ResultsStore,
            ckpt_root: Path, *, device: str | None = None, progress: bool = True) -> RunRecord:
    """Train and test one run; write its record, predictions, maps, curves (and examples),
    and the test predictions and maps of its last epoch beside those of its checkpoint."""
    config, options = run_config(profile, spec, device)
    sets = data.sets(spec, config)
    prepare_checkpoints(ckpt_root / spec.run_id, sets.data_id)
    t0 = time.perf_counter()
    model, loss_fn, result, message = _train(spec, config, options, sets, ckpt_root / spec.run_id, progress)
    wall = time.perf_counter() - t0 + _resumed_seconds(result)
    predictions, maps, ev = _test_files(model, loss_fn, sets, options)
    scores = run_metrics(predictions, maps, store.test_findings(sets.test))
    last = None
    if _last_epoch(model, loss_fn, result):
        last_predictions, last_maps, _ = _test_files(model, loss_fn, sets, options)
        last = (last_predictions, {"cams": last_maps["cams"], "dicom_id": last_maps["dicom_id"]})
        scores["auc_ovo_last"] = run_metrics(*last, None, classification_only=True)["auc_ovo"]
    verdict = learned_reason(scores)
    record = RunRecord(
        profile=profile.name, network=spec.network, variant=spec.variant, seed=spec.seed,
        run_id=spec.run_id, config_hash=config.hash(), data_origin=data.origin,
        data_id=sets.data_id, status="ok" if result is not None else "diverged", message=message,
        epochs=result.epochs if result else None, best_epoch=result.best_epoch if result else None,
        stop_reason=result.stop_reason if result else "non-finite", **_flags(result),
        learned=verdict.learned, learned_reason=verdict.reason,
        n_train=len(sets.train), n_val=len(sets.val), n_test=len(sets.test), **scores,
        **_final_params(result), wall_s=round(wall, 1), device=device_name(options.device),
        threads=torch.get_num_threads(), commit=git_commit(), date=_dt.date.today().isoformat(),
        informativeness=sets.informativeness, data_key=data.data_key(spec), test_id=sets.test_id,
        criterion=config.checkpoint_criterion)
    store.write_run(record, predictions, maps, result.history if result is not None else None, last=last)
    arm = next((a for a in profile.arms if a.variant == spec.variant), None)
    if spec.is_base and arm is not None and spec.seed == arm.seeds[0]:
        store.write_example(spec.network, spec.variant, _examples(ev, sets.test, data.origin))
    return record


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


def is_done(store: ResultsStore, spec: RunSpec, config, data_key: str) -> bool:
    """Whether ``spec`` has a record of the same configuration on the same data."""
    rec = store.record_dict_of(spec.run_id)
    if rec is None:
        return False
    return rec.get("config_hash") == config.hash() and (rec.get("data_key") or rec.get("data_id")) == data_key
