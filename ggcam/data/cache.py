"""``prepare``: turn a dataset (real or phantom) into network-ready arrays, once.

A cache folder holds memory-mapped ``.npy`` files, one row per image:

=================  ===========================  =============================================
file               shape, dtype                 content
=================  ===========================  =============================================
images.npy         (n, H, W) float16 | uint16   input image (uint16: value · 65535)
gaze.npy           (n, h, w) float32            Ψ on the Ω grid
heart.npy          (n, h, w) bool               heart region on the Ω grid
lung.npy           (n, h, w) bool               lung region on the Ω grid
findings.npy       (n, h, w) bool               true finding boxes on the Ω grid (all False
                                                without a truth file: real data)
labels.npy         (n,) int64                   0 Normal, 1 CHF, 2 pneumonia
has_gaze.npy       (n,) bool
gaze_offsets.npy   (n + 1,) int64               rows of image i in the two below
gaze_xy.npy        (N, 2) float32               gaze points, network-input pixels (x, y)
gaze_duration.npy  (N,) float32                 FPOGD, seconds
=================  ===========================  =============================================

plus ``metadata.csv`` (``EGDCXR.metadata``) and ``manifest.json``: ``params`` (the options,
``data_identity`` of the two roots and the truth file's size and time), ``n_images``,
``gaze_report``, ``data_identity``, ``origin`` ("phantom" or "real", ``is_phantom``) and
``has_truth``. A cache whose ``params`` match is reused, so any edited DICOM, mask or table
(size or mtime) rebuilds it; otherwise it is rebuilt in a temporary sibling folder and swapped
in by renaming.

The findings are the phantom's ``phantom-truth.csv`` (``truth``), found beside the release:
each image's boxes are rasterised at image resolution (pixel centres inside) and reduced to
the Ω grid by ``EGDCXR.to_grid``, the organ masks' rule.

Images take 2 bytes a pixel (3.75 MiB at 1536×1280). ``image_dtype="float16"`` (default) has
11 significant bits: worst error 2.4e-4 on [0.5, 1), about one 12-bit grey level and no more
than mixed-precision training does to the input anyway; it converts to float32 in one pass,
and batches load 1.3-1.5× faster than from ``"uint16"`` (``benchmarks/bench_data.py`` on 2
shared cores, 1536×1280: 620-770 against 480-510 images/s). ``"uint16"`` stores value · 65535,
a uniform step of 1.5e-5 (worst error 7.6e-6), for when the input must be exact.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from tqdm import tqdm

try:  # POSIX: the owner lock of a temporary folder
    import fcntl
except ImportError:  # pragma: no cover (Windows)
    fcntl = None

from ggcam.data.egdcxr import EGDCXR
from ggcam.data.layout import GAZE_FILES
from ggcam.data.phantom.truth import boxes_by_image, finding_mask, read_phantom_truth, truth_beside
from ggcam.data.resample import points_to_input, to_input
from ggcam.data.roots import data_identity, is_phantom
from ggcam.geometry import STRIDE, block_mean, grid_geometry
from ggcam.runtime import capped, probe_writable

CACHE_VERSION = 3  # 2: findings.npy, data_identity, has_truth; 3: findings_area, findings_input
GRID_ARRAYS = ("gaze", "heart", "lung", "findings", "findings_area")
INPUT_ARRAYS = ("findings_input",)  # (n, H, W): read on demand, never batched
IMAGE_DTYPES = ("float16", "uint16")


def _params(egd_root, mimic_root, truth: Path | None, **options) -> dict:
    egd, mimic = Path(egd_root).resolve(), Path(mimic_root).resolve()
    stamp = None
    if truth is not None:
        st = truth.stat()
        stamp = [str(truth.resolve()), st.st_size, st.st_mtime_ns]
    return {"version": CACHE_VERSION, "egd_root": str(egd), "mimic_root": str(mimic),
            "data_identity": data_identity(egd, mimic), "truth": stamp, **options}


def _read_manifest(cache_dir: Path) -> dict | None:
    try:
        return json.loads((cache_dir / "manifest.json").read_text())
    except (OSError, ValueError):
        return None


def _broken_arrays(cache_dir: Path) -> str | None:
    """The first array of a cache that does not open as its header says, or None."""
    for path in sorted(cache_dir.glob("*.npy")):
        try:
            np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as err:
            return f"{path.name} ({err})"
    return None


# Per-process state of the workers: the dataset and the open output arrays.
_WORKER: dict = {}


def _init_worker(dataset: EGDCXR, folder: Path, stride: int, findings) -> None:
    _WORKER.clear()
    _WORKER.update(dataset=dataset, stride=stride, findings=findings, arrays={
        name: np.load(folder / f"{name}.npy", mmap_mode="r+") for name in ("images", *GRID_ARRAYS, *INPUT_ARRAYS)})


def _prepare_one(i: int) -> int:
    ds, arrays, stride = _WORKER["dataset"], _WORKER["arrays"], _WORKER["stride"]
    geom = grid_geometry(ds.image_shape(i), ds.grid_shape)
    image = to_input(ds.read_image(i), geom, stride)
    np.clip(image, 0.0, 1.0, out=image)
    if arrays["images"].dtype == np.uint16:
        arrays["images"][i] = np.rint(image * 65535.0)
    else:
        arrays["images"][i] = image
    psi = ds.gaze_map(i)
    finite = np.isfinite(psi).all()
    if not finite or (ds.metadata["has_gaze"].iat[i] and not psi.any()):
        # Gaze rows that give no map (e.g. every duration NaN, or a blur so wide that no mass
        # is left on the grid) would train on Ψ = 0 as if it were the reader's gaze.
        raise ValueError(f"image {ds.metadata['dicom_id'].iat[i]}: its gaze points give "
                         f"{'an all-zero' if finite else 'a non-finite'} "
                         "Ψ (check the gaze table's durations and the blur σ)")
    arrays["gaze"][i] = psi
    masks = ds.masks(i)
    arrays["heart"][i], arrays["lung"][i] = masks["heart"], masks["lung"]
    if _WORKER["findings"] is not None:
        full = finding_mask(_WORKER["findings"][i], ds.image_shape(i))
        arrays["findings"][i] = ds.to_grid(i, full)  # the organs' rule (mask_rule)
        arrays["findings_area"][i] = block_mean(full, geom)  # covered share of each cell: the oracle's Ψ
        # In network-input pixels, placed as the image is: localisation is scored there.
        arrays["findings_input"][i] = to_input(full.astype(np.float32), geom, stride) >= 0.5
    return i


def _check_shape(input_shape, stride) -> tuple[tuple[int, int], tuple[int, int]]:
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
        raise ValueError(f"stride must be a positive int, got {stride!r}")
    try:
        H, W = (int(s) for s in input_shape)
    except (TypeError, ValueError):
        raise ValueError(f"input_shape must be (H, W), got {input_shape!r}") from None
    if H < stride or W < stride or H % stride or W % stride:
        raise ValueError(f"input_shape {tuple(input_shape)} must be positive multiples of "
                         f"stride {stride}")
    if max(H, W) > MAX_INPUT_SIDE:
        raise ValueError(f"input_shape {tuple(input_shape)}: a side above {MAX_INPUT_SIDE} px "
                         "(the paper uses 1536×1280) would not fit in memory")
    return (H, W), (H // stride, W // stride)


MAX_INPUT_SIDE = 8192  # network input pixels per side: 4 × the paper's, still a few GB per image set
OWNER = ".owner"  # in a temporary folder: locked (flock) by its writer for as long as it lives
ORPHAN_AGE_S = 3600  # a temporary folder without an owner file is dead after this long


def _claim(folder: Path):
    """Create ``folder/OWNER`` and hold an exclusive lock on it until the file is closed (the
    kernel drops the lock when the writer dies, however it dies)."""
    owner = open(folder / OWNER, "w")
    if fcntl is not None:
        fcntl.flock(owner, fcntl.LOCK_EX)
    return owner


def _check_cache_parent(cache_dir: Path) -> None:
    try:
        probe_writable(cache_dir.parent)
    except OSError as err:
        raise ValueError(f"cannot write the cache {cache_dir}: {err.strerror or err}") from None


def _remove_dead_temps(cache_dir: Path) -> None:
    """Delete the temporary folders of ``prepare`` calls that were killed (nobody holds their
    owner lock); a live writer's folder is kept, on this machine or any other."""
    for folder in [*cache_dir.parent.glob(f".{cache_dir.name}.tmp-*"),
                   *cache_dir.parent.glob(f".{cache_dir.name}.old-*")]:
        if _is_dead(folder):
            shutil.rmtree(folder, ignore_errors=True)


def _is_dead(folder: Path) -> bool:
    try:
        with open(folder / OWNER) as owner:
            if fcntl is None:
                return False  # no way to tell on this platform: keep it
            try:
                fcntl.flock(owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # its writer holds the lock: alive
            return True
    except FileNotFoundError:
        # No owner file: just made (the writer claims it next), being renamed into place, or
        # left by a ggcam that wrote none. Dead only when old.
        try:
            return time.time() - folder.stat().st_mtime > ORPHAN_AGE_S
        except FileNotFoundError:
            return False  # gone meanwhile: nothing to do


def prepare(egd_root: str | Path, mimic_root: str | Path, cache_dir: str | Path, *,
            input_shape: tuple[int, int] = (1536, 1280), stride: int = STRIDE,
            sigma: float | None = None, kernel_size: int | None = 500, gaze: str = "eye_gaze",
            weighting: str | None = None, resample: str = "area", heart: str = "mediastinum",
            mask_rule: str = "majority", image_dtype: str = "float16", workers: int = 2,
            progress: bool = True, truth_path: str | Path | None = None) -> Path:
    """Build (or reuse) the cache of a dataset at one network input size.

    Args:
        egd_root, mimic_root: the two roots, as for ``EGDCXR``.
        cache_dir: the cache folder (created; replaced when its parameters differ).
        input_shape: (H, W) of the network input, multiples of ``stride``.
        stride: input pixels per Ω cell (32 for ResNet50 / EfficientNetV2-S).
        sigma, kernel_size, gaze, weighting, resample, heart, mask_rule: as for ``EGDCXR``.
        image_dtype: ``"float16"`` (faster to load, error ≤ 2.4e-4) or ``"uint16"`` (≤ 7.6e-6).
        workers: processes working on images in parallel.
        progress: show progress bars.
        truth_path: the phantom's ``phantom-truth.csv``; None looks beside the release
            (``<root>/phantom-truth.csv``) and, finding none (real data), stores no findings.

    Returns:
        ``cache_dir`` as a Path, ready for ``CachedDataset``.
    """
    (H, W), grid = _check_shape(input_shape, stride)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive int, got {workers!r}")
    if image_dtype not in IMAGE_DTYPES:
        raise ValueError(f"image_dtype must be one of {IMAGE_DTYPES}, got {image_dtype!r}")
    options = dict(input_shape=[H, W], stride=stride, grid_shape=list(grid), sigma=sigma,
                   kernel_size=None if sigma is not None else kernel_size, gaze=gaze,
                   weighting=weighting, resample=resample, heart=heart, mask_rule=mask_rule,
                   image_dtype=image_dtype)
    cache_dir = Path(cache_dir)
    truth = Path(truth_path) if truth_path is not None else truth_beside(egd_root)
    params = _params(egd_root, mimic_root, truth, **options)
    if cache_dir.parent.is_dir():
        _remove_dead_temps(cache_dir)  # also when the cache is current: a killed swap's old copy
    old = _read_manifest(cache_dir)
    if old is not None and old.get("params") == params:
        broken = _broken_arrays(cache_dir)
        if not broken:
            return cache_dir
        # A cache whose arrays cannot be opened (truncated by a full disk, say) is rebuilt.
        warnings.warn(f"{cache_dir}: {broken} cannot be opened; the cache is rebuilt",
                      stacklevel=2)
    if old is None and cache_dir.exists() and (not cache_dir.is_dir() or any(cache_dir.iterdir())):
        raise ValueError(f"{cache_dir} exists and is not a ggcam cache (no manifest.json): "
                         "prepare replaces its cache folder whole, so it leaves this one alone")

    _check_cache_parent(cache_dir)  # before minutes of reading, not after
    ds = EGDCXR(egd_root, mimic_root, gaze=gaze, grid_shape=grid, sigma=sigma,
                kernel_size=kernel_size, weighting=weighting, resample=resample, heart=heart,
                mask_rule=mask_rule, progress=progress)
    n, (h, w) = len(ds), grid
    findings = None
    if truth is not None:
        findings = boxes_by_image(read_phantom_truth(truth), list(ds.metadata["dicom_id"]), truth)
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{cache_dir.name}.tmp-", dir=cache_dir.parent))
    owner = _claim(tmp)
    try:
        specs = {"images": ((n, H, W), np.dtype(image_dtype)), "gaze": ((n, h, w), np.float32),
                 "heart": ((n, h, w), np.bool_), "lung": ((n, h, w), np.bool_),
                 "findings": ((n, h, w), np.bool_), "findings_area": ((n, h, w), np.float32),
                 "findings_input": ((n, H, W), np.bool_)}
        for name, (shape, dtype) in specs.items():
            np.lib.format.open_memmap(tmp / f"{name}.npy", mode="w+", dtype=dtype, shape=shape).flush()
        with tqdm(total=n, desc="prepare", disable=not progress, unit="image") as bar:
            workers = capped(workers, "prepare workers", items=n)
            if workers > 1:
                pool = multiprocessing.get_context().Pool(
                    workers, initializer=_init_worker, initargs=(ds, tmp, stride, findings))
                try:
                    for _ in pool.imap_unordered(_prepare_one, range(n)):
                        bar.update()
                except BaseException:
                    pool.terminate()
                    raise
                else:
                    pool.close()
                finally:
                    pool.join()
            else:
                _init_worker(ds, tmp, stride, findings)
                try:
                    for i in range(n):
                        _prepare_one(i)
                        bar.update()
                finally:
                    _WORKER.clear()
        xy, dur, offsets = [], [], [0]
        for i in range(n):
            pts = ds.gaze_points(i)
            geom = grid_geometry(ds.image_shape(i), grid)
            xy.append(points_to_input(pts[["x", "y"]].to_numpy(), geom, stride))
            seconds = pts["duration"].to_numpy(dtype=float)
            with np.errstate(over="ignore"):
                d = seconds.astype(np.float32)
            if (np.isinf(d) & np.isfinite(seconds)).any():  # blank/inf: refused when weighed
                raise ValueError(f"{ds.egd_root / GAZE_FILES[gaze]}: FPOGD of image "
                                 f"{ds.metadata['dicom_id'].iat[i]} "
                                 "exceeds float32 (durations are seconds)")
            dur.append(d)
            offsets.append(offsets[-1] + len(pts))
        np.save(tmp / "gaze_xy.npy", np.concatenate(xy).reshape(-1, 2).astype(np.float32))
        np.save(tmp / "gaze_duration.npy", np.concatenate(dur).astype(np.float32))
        np.save(tmp / "gaze_offsets.npy", np.asarray(offsets, dtype=np.int64))
        np.save(tmp / "labels.npy", ds.labels.astype(np.int64))
        np.save(tmp / "has_gaze.npy", ds.metadata["has_gaze"].to_numpy(dtype=bool))
        ds.metadata.to_csv(tmp / "metadata.csv", index=False)
        manifest = {"params": params, "n_images": n, "gaze_report": ds.gaze_report,
                    "data_identity": params["data_identity"], "has_truth": findings is not None,
                    "origin": "phantom" if is_phantom(egd_root, mimic_root) else "real"}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
        if cache_dir.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{cache_dir.name}.old-", dir=cache_dir.parent))
            with _claim(trash):
                os.replace(cache_dir, trash / "old")
                os.replace(tmp, cache_dir)
                shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, cache_dir)
        (cache_dir / OWNER).unlink(missing_ok=True)  # a finished cache has no owner
    finally:
        owner.close()
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return cache_dir
