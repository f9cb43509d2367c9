"""Writing a cache's arrays (the format is ``ggcam.data.cache``'s docstring): per image in
worker processes (``write_images``), then the gaze points and the small tables."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ggcam.data.egdcxr import EGDCXR
from ggcam.data.layout import GAZE_FILES
from ggcam.data.phantom.truth import finding_mask
from ggcam.data.resample import points_to_input, to_input
from ggcam.geometry import block_mean, grid_geometry
from ggcam.runtime import capped

GRID_ARRAYS = ("gaze", "heart", "lung", "findings", "findings_area")
INPUT_ARRAYS = ("findings_input",)  # (n, H, W): read on demand, never batched


def allocate_arrays(folder: Path, n: int, input_shape, grid, image_dtype: str) -> None:
    """The per-image arrays as empty ``.npy`` files, which the workers fill in place."""
    (H, W), (h, w) = input_shape, grid
    specs = {"images": ((n, H, W), np.dtype(image_dtype)), "gaze": ((n, h, w), np.float32),
             "heart": ((n, h, w), np.bool_), "lung": ((n, h, w), np.bool_),
             "findings": ((n, h, w), np.bool_), "findings_area": ((n, h, w), np.float32),
             "findings_input": ((n, H, W), np.bool_)}
    for name, (shape, dtype) in specs.items():
        path = folder / f"{name}.npy"
        np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape).flush()
        _reserve(path)


def _reserve(path: Path) -> None:
    """Give a sparse ``.npy`` its disk blocks now: a memory-mapped write into a full disk kills
    the writer with SIGBUS and no message, so a full disk must show here, named."""
    size = path.stat().st_size
    fd = os.open(path, os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as err:
        free = shutil.disk_usage(path.parent).free
        raise OSError(err.errno, f"cannot reserve {size / 2**20:.0f} MiB on disk for the cache "
                      f"({err.strerror}; {free / 2**20:.0f} MiB free there)", str(path)) from None
    finally:
        os.close(fd)


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


def write_images(ds: EGDCXR, folder: Path, stride: int, findings, workers: int,
                 progress: bool) -> None:
    """Fill the per-image arrays of ``allocate_arrays``, in ``workers`` processes."""
    n = len(ds)
    with tqdm(total=n, desc="prepare", disable=not progress, unit="image") as bar:
        workers = capped(workers, "prepare workers", items=n)
        if workers > 1:
            pool = multiprocessing.get_context().Pool(
                workers, initializer=_init_worker, initargs=(ds, folder, stride, findings))
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
            _init_worker(ds, folder, stride, findings)
            try:
                for i in range(n):
                    _prepare_one(i)
                    bar.update()
            finally:
                _WORKER.clear()


def write_gaze_points(ds: EGDCXR, folder: Path, grid, stride: int, gaze: str) -> None:
    """``gaze_xy``, ``gaze_duration`` and ``gaze_offsets``: every image's points, in
    network-input pixels, one run of rows per image."""
    xy, dur, offsets = [], [], [0]
    for i in range(len(ds)):
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
    np.save(folder / "gaze_xy.npy", np.concatenate(xy).reshape(-1, 2).astype(np.float32))
    np.save(folder / "gaze_duration.npy", np.concatenate(dur).astype(np.float32))
    np.save(folder / "gaze_offsets.npy", np.asarray(offsets, dtype=np.int64))


def write_tables(ds: EGDCXR, folder: Path, manifest: dict) -> None:
    """Labels, ``has_gaze``, the metadata table and, last, ``manifest.json``."""
    np.save(folder / "labels.npy", ds.labels.astype(np.int64))
    np.save(folder / "has_gaze.npy", ds.metadata["has_gaze"].to_numpy(dtype=bool))
    ds.metadata.to_csv(folder / "metadata.csv", index=False)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))


def check_distinct_images(ds: EGDCXR, folder: Path) -> None:
    """No two rows hold the same pixels: a DICOM that is a byte copy of another row's (not a
    link, which the reader already refuses) would train on that image under this row's label."""
    images = np.load(folder / "images.npy", mmap_mode="r")
    seen: dict[bytes, int] = {}
    for i in range(len(images)):
        key = hashlib.blake2b(np.ascontiguousarray(images[i]).tobytes(), digest_size=16).digest()
        if key in seen:
            ids, paths = ds.metadata["dicom_id"], ds.metadata["path"]
            raise ValueError(f"{ds.egd_root / 'master_sheet.csv'}: the images of dicom_id "
                             f"{ids.iat[seen[key]]!r} and {ids.iat[i]!r} are identical pixel for "
                             f"pixel ({paths.iat[seen[key]]}, {paths.iat[i]} under {ds.mimic_root}): "
                             "one DICOM is a copy of the other, so a row would train on another "
                             "row's image")
        seen[key] = i
