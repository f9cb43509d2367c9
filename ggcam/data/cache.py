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
import shutil
import warnings
from pathlib import Path

import numpy as np

from ggcam.data.cache_folder import (
    ORPHAN_AGE_S,
    OWNER,
    check_cache_parent,
    claim,
    make_temp,
    remove_dead_temps,
    swap_into_place,
)
from ggcam.data.cache_write import (
    GRID_ARRAYS,
    INPUT_ARRAYS,
    allocate_arrays,
    check_distinct_images,
    write_gaze_points,
    write_images,
    write_tables,
)
from ggcam.data.egdcxr import EGDCXR
from ggcam.data.phantom.truth import boxes_by_image, read_phantom_truth, truth_beside
from ggcam.data.roots import data_identity, is_phantom
from ggcam.geometry import STRIDE

__all__ = ["CACHE_VERSION", "GRID_ARRAYS", "IMAGE_DTYPES", "INPUT_ARRAYS", "MAX_INPUT_SIDE",
           "ORPHAN_AGE_S", "OWNER", "prepare"]

CACHE_VERSION = 3  # 2: findings.npy, data_identity, has_truth; 3: findings_area, findings_input
IMAGE_DTYPES = ("float16", "uint16")
MAX_INPUT_SIDE = 8192  # network input pixels per side: 4 × the paper's, still a few GB per image set


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


def _check_options(workers, image_dtype) -> None:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive int, got {workers!r}")
    if image_dtype not in IMAGE_DTYPES:
        raise ValueError(f"image_dtype must be one of {IMAGE_DTYPES}, got {image_dtype!r}")


def _is_current(cache_dir: Path, params: dict) -> bool:
    """Whether ``cache_dir`` is a whole cache of ``params``; refuses a folder that is no cache."""
    if cache_dir.parent.is_dir():
        remove_dead_temps(cache_dir)  # also when the cache is current: a killed swap's old copy
    old = _read_manifest(cache_dir)
    if old is not None and old.get("params") == params:
        broken = _broken_arrays(cache_dir)
        if not broken:
            return True
        # A cache whose arrays cannot be opened (truncated by a full disk, say) is rebuilt.
        warnings.warn(f"{cache_dir}: {broken} cannot be opened; the cache is rebuilt",
                      stacklevel=3)
    if old is None and cache_dir.exists() and (not cache_dir.is_dir() or any(cache_dir.iterdir())):
        raise ValueError(f"{cache_dir} exists and is not a ggcam cache (no manifest.json): "
                         "prepare replaces its cache folder whole, so it leaves this one alone")
    return False


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
    _check_options(workers, image_dtype)
    options = dict(input_shape=[H, W], stride=stride, grid_shape=list(grid), sigma=sigma,
                   kernel_size=None if sigma is not None else kernel_size, gaze=gaze,
                   weighting=weighting, resample=resample, heart=heart, mask_rule=mask_rule,
                   image_dtype=image_dtype)
    cache_dir = Path(cache_dir)
    truth = Path(truth_path) if truth_path is not None else truth_beside(egd_root)
    params = _params(egd_root, mimic_root, truth, **options)
    if _is_current(cache_dir, params):
        return cache_dir
    check_cache_parent(cache_dir)  # before minutes of reading, not after
    ds = EGDCXR(egd_root, mimic_root, gaze=gaze, grid_shape=grid, sigma=sigma,
                kernel_size=kernel_size, weighting=weighting, resample=resample, heart=heart,
                mask_rule=mask_rule, progress=progress)
    findings = None
    if truth is not None:
        findings = boxes_by_image(read_phantom_truth(truth), list(ds.metadata["dicom_id"]), truth)
    _build(ds, cache_dir, params, findings, (egd_root, mimic_root), workers, progress)
    return cache_dir


def _build(ds: EGDCXR, cache_dir: Path, params: dict, findings, roots: tuple, workers: int,
           progress: bool) -> None:
    """Write the cache in a claimed temporary sibling, then swap it into place."""
    grid, stride = tuple(params["grid_shape"]), params["stride"]
    tmp = make_temp(cache_dir)
    owner = claim(tmp)
    try:
        allocate_arrays(tmp, len(ds), tuple(params["input_shape"]), grid, params["image_dtype"])
        write_images(ds, tmp, stride, findings, workers, progress)
        check_distinct_images(ds, tmp)
        write_gaze_points(ds, tmp, grid, stride, params["gaze"])
        manifest = {"params": params, "n_images": len(ds), "gaze_report": ds.gaze_report,
                    "data_identity": params["data_identity"], "has_truth": findings is not None,
                    "origin": "phantom" if is_phantom(*roots) else "real"}
        write_tables(ds, tmp, manifest)
        swap_into_place(tmp, cache_dir)
    finally:
        owner.close()
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
