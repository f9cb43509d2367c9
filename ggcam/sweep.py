"""The experiment sweep: network × variant × seed for a profile, with results as data.

``results/<profile>/`` holds, per run, a JSON record (``runs/<run_id>.json``), training curves
(``curves/``), test predictions (``predictions/``) and a histogram of Ω over the test set on
fixed bins (``omega/``); per network × variant one test image per class with Ψ and Ω^Y
(``examples/``); and ``runs.csv``, rebuilt from the records after every run. Every file is
written atomically, a finished run is never redone, an interrupted run resumes from its last
checkpoint (kept outside ``results/``), and ``--shard i/n`` splits the runs between machines.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import math
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .config import TrainConfig, table1_config
from .profiles import Profile
from .runtime import atomic_write_bytes, atomic_write_text, device_name, git_commit, seed_everything

# Fixed Ω histogram bins for Figure 2: asinh-spaced, fine near 0 and wide in the heavy tails.
OMEGA_BIN_EDGES = np.sinh(np.linspace(-np.arcsinh(1e4), np.arcsinh(1e4), 241))
EXAMPLE_IMAGE_MAX_SIDE = 256  # phantom example images are stored at most this large


@dataclass(frozen=True)
class RunSpec:
    profile: str
    network: str
    variant: str
    seed: int

    @property
    def run_id(self) -> str:
        return f"{self.network}__{self.variant}__s{self.seed}"


def run_specs(profile: Profile, shard: tuple[int, int] = (0, 1)) -> list[RunSpec]:
    """All runs of a profile in a fixed order, and this shard's share of them (i of n)."""
    i, n = shard
    if not (n >= 1 and 0 <= i < n):
        raise ValueError(f"shard must be i/n with 0 <= i < n, got {i}/{n}")
    specs = [RunSpec(profile.name, net, var, seed) for seed in profile.seeds
             for net in profile.networks for var in profile.variants]
    return specs[i::n]


def run_config(profile: Profile, spec: RunSpec, device: str | None = None) -> TrainConfig:
    base = table1_config(spec.network, spec.variant)
    sigma = profile.blur_sigma(base.kernel_size)
    blur = dict(kernel_size=None, blur_sigma=sigma) if sigma is not None else {}
    dev = device or profile.device
    gpu = dev.startswith("cuda")
    return table1_config(
        spec.network, spec.variant, seed=spec.seed, batch_size=profile.batch_size,
        max_epochs=profile.max_epochs, early_stop_patience=profile.early_stop_patience,
        device=dev, precision=profile.precision if gpu else "fp32",
        channels_last=profile.channels_last and gpu, num_workers=profile.num_workers, **blur)


def _frame_bytes(df: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    df.to_csv(buf, index=False, float_format="%.6g")
    return buf.getvalue().encode()


def collect_runs(out_dir: Path) -> pd.DataFrame:
    """runs.csv from the per-run JSON records (safe with several shards writing)."""
    records = [json.loads(p.read_text()) for p in sorted((out_dir / "runs").glob("*.json"))]
    df = pd.DataFrame(records)
    if len(df):
        df = df.sort_values(["network", "variant", "seed"]).reset_index(drop=True)
    atomic_write_bytes(_frame_bytes(df), out_dir / "runs.csv")
    return df


def is_done(out_dir: Path, spec: RunSpec, config: TrainConfig) -> bool:
    path = out_dir / "runs" / f"{spec.run_id}.json"
    return path.is_file() and json.loads(path.read_text()).get("config_hash") == config.hash()


def omega_histogram(cams: np.ndarray) -> np.ndarray:
    """Counts of all Ω elements on ``OMEGA_BIN_EDGES`` (values beyond ±1e4 go to the end bins)."""
    vals = np.clip(cams.ravel(), OMEGA_BIN_EDGES[0], OMEGA_BIN_EDGES[-1])
    return np.histogram(vals, bins=OMEGA_BIN_EDGES)[0]


def test_metrics(ev, fixations: list[np.ndarray] | None) -> dict:
    """Table 2 and eq. 12 metrics, plus Ω^Y-vs-Ψ agreement, from an ``Evaluation``."""
    from . import metrics
    from .data import CLASS_NAMES

    out: dict = {}
    for mc in ("ovo", "ovr"):
        try:
            out[f"auc_{mc}"] = float(metrics.auc(ev.labels, ev.probs, multi_class=mc))
        except ValueError as err:
            warnings.warn(f"test AUC ({mc}) not computed: {err}")
            out[f"auc_{mc}"] = None
    pr = metrics.precision_recall(ev.labels, ev.probs.argmax(axis=1), num_classes=len(CLASS_NAMES))
    for cls, key in zip(CLASS_NAMES, ("normal", "chf", "pneumonia")):
        out[f"precision_{key}"] = float(pr.loc[cls, "precision"])
        out[f"recall_{key}"] = float(pr.loc[cls, "recall"])
    for nb, prefix in ((0, "interp"), (1, "interp3x3")):
        res = metrics.interpretability(ev.cams, ev.labels, ev.masks, neighbourhood=nb)
        out[f"{prefix}_chf"] = res.get("CHF")
        out[f"{prefix}_pneumonia"] = res.get("pneumonia")
    keep = ev.has_gaze.astype(bool)
    if keep.any():
        fx = [f for f, k in zip(fixations, keep) if k] if fixations is not None else None
        agree = metrics.attention_agreement(ev.cams[keep], ev.labels[keep], ev.gaze[keep], fx)
        for col in ("cc", "kl", "sim", "nss", "auc_judd"):
            values = agree[col].to_numpy(dtype=float) if col in agree else np.array([])
            # NSS and AUC-Judd are undefined for a map without (or all) fixated cells.
            out[col] = float(np.mean(values[np.isfinite(values)])) if np.isfinite(values).any() else None
    return out


def _fixation_cells(dataset, stride: int = 32) -> list[np.ndarray] | None:
    """Per item, the Ω cells (row, col) holding its gaze points, for NSS and AUC-Judd."""
    if not hasattr(dataset, "gaze_points"):
        return None
    cells = []
    for i in range(len(dataset)):
        xy, _ = dataset.gaze_points(i)  # network-input pixels, (x, y)
        cells.append(np.unique(np.floor(np.asarray(xy)[:, ::-1] / stride).astype(int), axis=0))
    return cells


def _examples(ev, dataset, profile: Profile) -> dict[str, np.ndarray]:
    """One test image per class (the first with gaze) with its Ψ and Ω^Y, for Table 3."""
    from .data import CLASS_NAMES

    rows = []
    for c in range(len(CLASS_NAMES)):
        hits = np.flatnonzero((ev.labels == c) & ev.has_gaze.astype(bool))
        if len(hits):
            rows.append(int(hits[0]))
    out = {
        "labels": ev.labels[rows], "psi": ev.gaze[rows],
        "cam": ev.cams[rows, ev.labels[rows]],
        # evaluate() keeps the dataset's order: row r of ev is item r of the dataset.
        "dicom_id": np.array([dataset.metadata.iloc[r]["dicom_id"] for r in rows]),
    }
    if profile.data == "phantom":  # never store credentialed patient images in results/
        import torch

        imgs = []
        for r in rows:
            img = dataset[r]["image"][None]
            f = max(1, math.ceil(max(img.shape[-2:]) / EXAMPLE_IMAGE_MAX_SIDE))
            imgs.append(torch.nn.functional.avg_pool2d(img, f)[0, 0].numpy().astype(np.float16))
        out["image"] = np.stack(imgs)
    return out


def run_one(spec: RunSpec, profile: Profile, data, out_dir: Path, ckpt_root: Path, *,
            device: str | None = None, progress: bool = True, resume: bool = True) -> dict:
    """Train and test one run; write its record, curves, predictions, Ω histogram (and examples).

    With ``resume`` an interrupted run continues from its last checkpoint; without, any
    checkpoint of this run is discarded first.
    """
    from .data import split
    from .train import NonFiniteLoss, evaluate, fit, make_loss, make_model

    config = run_config(profile, spec, device)
    dataset = data(config)
    parts = split(dataset.metadata, "paper", seed=spec.seed)
    train, val, test = (dataset.subset(parts[k]) for k in ("train", "val", "test"))
    if not resume:
        shutil.rmtree(ckpt_root / spec.run_id, ignore_errors=True)
    seed_everything(spec.seed)
    model, loss_fn = make_model(config), make_loss(config)
    t0 = time.perf_counter()
    status, message = "ok", ""
    try:
        result = fit(model, loss_fn, train, val, config, checkpoint_dir=ckpt_root / spec.run_id,
                     resume=True, progress=progress)
    except NonFiniteLoss as err:
        status, message = "diverged", str(err)
        warnings.warn(f"{spec.run_id}: {err}")
        import torch

        best = ckpt_root / spec.run_id / "best.pt"
        if best.is_file():
            from .train import _Objective

            _Objective(model, loss_fn).load_state_dict(torch.load(best, weights_only=False)["objective"])
        result = None
    wall = time.perf_counter() - t0
    ev = evaluate(model, test, loss_fn=loss_fn, config=config, with_cams=True)
    fixations = _fixation_cells(test)
    record = {
        "profile": profile.name, "network": spec.network, "variant": spec.variant,
        "seed": spec.seed, "run_id": spec.run_id, "config_hash": config.hash(),
        "status": status, "message": message,
        "epochs": result.epochs if result else None,
        "best_epoch": result.best_epoch if result else None,
        "stop_reason": result.stop_reason if result else "non-finite",
        "flags": ";".join(result.flags) if result else "",
        "n_train": len(train), "n_val": len(val), "n_test": len(test),
        **test_metrics(ev, fixations),
        "wall_s": round(wall, 1), "device": device_name(config.device), "commit": git_commit(),
        "date": _dt.date.today().isoformat(),
    }
    if result is not None and len(result.history):
        last = result.history.iloc[-1]
        for k in ("sigma_sm", "sigma_ce", "alpha", "w_sm", "w_ce"):
            if k in last:
                record[f"{k}_final"] = float(last[k])
        curves = result.history.assign(run_id=spec.run_id)
        atomic_write_bytes(_frame_bytes(curves), out_dir / "curves" / f"{spec.run_id}.csv")
    preds = pd.DataFrame({"dicom_id": test.metadata["dicom_id"].to_numpy(),
                          "label": ev.labels, **{f"p{k}": p for k, p in enumerate(ev.probs.T)}})
    atomic_write_bytes(_frame_bytes(preds), out_dir / "predictions" / f"{spec.run_id}.csv")
    counts = omega_histogram(ev.cams)
    hist = pd.DataFrame({"run_id": spec.run_id, "network": spec.network, "variant": spec.variant,
                         "seed": spec.seed, "bin_left": OMEGA_BIN_EDGES[:-1],
                         "bin_right": OMEGA_BIN_EDGES[1:], "count": counts})
    atomic_write_bytes(_frame_bytes(hist), out_dir / "omega" / f"{spec.run_id}.csv")
    if spec.seed == profile.seeds[0]:
        buf = io.BytesIO()
        np.savez_compressed(buf, **_examples(ev, test, profile))
        atomic_write_bytes(buf.getvalue(), out_dir / "examples" / f"{spec.network}__{spec.variant}.npz")
    atomic_write_text(json.dumps(record, indent=1, default=_json_default) + "\n",
                      out_dir / "runs" / f"{spec.run_id}.json")
    return record


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    raise TypeError(f"cannot write {type(o).__name__} to a run record")


class ProfileData:
    """The cached dataset of a profile for a given blur; generates the phantom on first use."""

    def __init__(self, profile: Profile, data_root: Path | None, work_root: Path,
                 mimic_root: Path | None = None, progress: bool = True) -> None:
        self.profile, self.work_root, self.progress = profile, Path(work_root), progress
        if profile.data == "real":
            if data_root is None:
                raise ValueError(f"profile {profile.name!r} reads the real EGD-CXR release: give "
                                 "--data-root (the folder holding egd-cxr/1.0.0 or that folder itself)")
            self.egd_root, self.mimic_root = _real_roots(Path(data_root), mimic_root)
        else:
            root = Path(data_root) if data_root else self.work_root / "phantom" / (
                f"{profile.name}-n{profile.n_images}-x{profile.scale:g}")
            self.egd_root = root / "egd-cxr" / "1.0.0"
            self.mimic_root = root / "mimic-cxr" / "2.0.0"
            if not (self.egd_root / "master_sheet.csv").is_file():
                from .data import make_phantom

                roots = make_phantom(root, n_images=profile.n_images, scale=profile.scale, seed=0,
                                     progress=progress)
                self.egd_root, self.mimic_root = Path(roots["egd_root"]), Path(roots["mimic_root"])
        self._cache: dict = {}

    def __call__(self, config: TrainConfig):
        from .data import CachedDataset, prepare

        blur = dict(kernel_size=config.kernel_size, sigma=config.blur_sigma)
        key = (blur["kernel_size"], blur["sigma"])
        if key not in self._cache:
            # One cache per blur: ResNet and EffNet use different B (Table 1).
            blur_tag = f"B{config.kernel_size}" if config.kernel_size else f"s{config.blur_sigma:.4g}"
            name = (f"{self.profile.name}-{self.profile.input_shape[0]}x{self.profile.input_shape[1]}"
                    f"-{blur_tag}")
            path = prepare(self.egd_root, self.mimic_root, self.work_root / "prepared" / name,
                           input_shape=self.profile.input_shape, progress=self.progress, **blur)
            self._cache[key] = CachedDataset(path)
        return self._cache[key]


def _real_roots(data_root: Path, mimic_root: Path | None) -> tuple[Path, Path]:
    candidates = [data_root, data_root / "egd-cxr" / "1.0.0", data_root / "1.0.0"]
    egd = next((c for c in candidates if (c / "master_sheet.csv").is_file()), None)
    if egd is None:
        raise ValueError(f"no master_sheet.csv under {data_root} (looked in "
                         f"{', '.join(str(c) for c in candidates)})")
    if mimic_root is None:
        guesses = [data_root / "mimic-cxr" / "2.0.0", data_root / "mimic-cxr-jpg" / "2.0.0",
                   egd.parent.parent / "mimic-cxr" / "2.0.0"]
        mimic_root = next((g for g in guesses if (g / "files").is_dir()), None)
        if mimic_root is None:
            raise ValueError(f"no MIMIC-CXR folder (mimic-cxr/2.0.0/files) found near {data_root}: "
                             "give --mimic-root")
    return egd, Path(mimic_root)


def run_sweep(profile: Profile, *, data_root: str | Path | None = None,
              mimic_root: str | Path | None = None, results_root: str | Path = "results",
              work_root: str | Path = ".cache", shard: tuple[int, int] = (0, 1),
              device: str | None = None, progress: bool = True) -> pd.DataFrame:
    """Run (or resume) every run of ``profile`` in this shard; return the runs table."""
    from tqdm import tqdm

    out_dir = Path(results_root) / profile.name
    ckpt_root = Path(work_root) / "checkpoints" / profile.name
    data = ProfileData(profile, Path(data_root) if data_root else None, Path(work_root),
                       Path(mimic_root) if mimic_root else None, progress=progress)
    specs = run_specs(profile, shard)
    todo = [s for s in specs if not is_done(out_dir, s, run_config(profile, s, device))]
    bar = tqdm(todo, desc=f"sweep {profile.name}", disable=not progress)
    for spec in bar:
        bar.set_postfix_str(spec.run_id)
        run_one(spec, profile, data, out_dir, ckpt_root, device=device, progress=progress)
        collect_runs(out_dir)
    return collect_runs(out_dir)
