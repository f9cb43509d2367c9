"""Reading a gaze table (``fixations.csv`` or ``eye_gaze.csv``): the images' points grouped
by image, and what was dropped and why.

The tables can be large (``eye_gaze.csv``: ~400 MB, 1.5 M rows): only the needed columns are
read, with explicit dtypes, in chunks, behind a byte-level progress bar; rows are reduced to
integer image indices on the fly. Every EGD-CXR image has gaze in both tables (format doc §3),
so a master-sheet image absent from a gaze table means a truncated or foreign table: an
error, never a silent "no gaze". ``ggcam.data.tables`` names everything here too.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from ggcam.data.checks import csv_header, require_columns, require_complete, require_file

GAZE_REQUIRED = ("DICOM_ID", "X_ORIGINAL", "Y_ORIGINAL", "FPOGD")


@dataclass(frozen=True)
class GazeTable:
    """Gaze points grouped by image: rows of image i are ``offsets[i]:offsets[i+1]``."""

    offsets: np.ndarray  # (n + 1,) int64
    xy: np.ndarray  # (N, 2) float64: X_ORIGINAL, Y_ORIGINAL (x = column, y = row)
    duration: np.ndarray  # (N,) float64: FPOGD, seconds
    report: dict  # counts of what was read and dropped


def read_gaze_table(path, ids: pd.Index, *, chunksize: int = 250_000,
                    progress: bool = True) -> GazeTable:
    """Read a 37-column gaze table, keeping rows of the images in ``ids`` and on the image.

    Calibration rows (DICOM_ID not in ``ids``) and off-image rows (negative X/Y_ORIGINAL, the
    release's sentinel) are dropped and counted in ``report``.

    Raises:
        FileNotFoundError: no such file. ValueError: empty, header-only or truncated file, a
        missing column, or images of ``ids`` without a single row (named, with the count).
    """
    path = Path(path)
    require_file(path, "gaze table")
    require_complete(path)
    require_columns(path, csv_header(path), GAZE_REQUIRED)
    scan = _scan(path, ids, chunksize, progress)
    if scan.rows == 0:
        raise ValueError(f"{path}: no rows (header only)")
    if scan.spaced:
        warnings.warn(f"{path}: stripped surrounding whitespace from DICOM_ID ({scan.spaced} "
                      f"value(s), e.g. {scan.first_spaced!r})", stacklevel=2)
    if not scan.seen.all():
        k = int(np.flatnonzero(~scan.seen)[0])
        raise ValueError(
            f"{path}: no row at all for {int((~scan.seen).sum())} of the {len(ids)} image(s) of "
            f"the master sheet, e.g. dicom_id {ids[k]!r}; every EGD-CXR image has gaze, so the "
            "table is truncated or belongs to another master sheet")
    return scan.grouped(path.name)


@dataclass
class _GazeScan:
    """What a chunked read has kept so far (per-chunk arrays), and what it dropped and why."""

    ids: pd.Index  # the master sheet's images: a row of any other DICOM_ID is calibration
    rows: int = 0
    calib: int = 0
    off: int = 0  # negative X/Y_ORIGINAL, the release's off-image sentinel
    invalid: int = 0  # non-finite X/Y_ORIGINAL
    spaced: int = 0  # DICOM_IDs with surrounding whitespace (stripped)
    first_spaced: str | None = None
    calib_ids: set[str] = field(default_factory=set)
    parts: list = field(default_factory=list)  # (image index, xy, duration) per chunk
    seen: np.ndarray = field(init=False)  # (n,) bool: images with at least one row

    def __post_init__(self) -> None:
        self.seen = np.zeros(len(self.ids), dtype=bool)

    def add(self, chunk: pd.DataFrame) -> None:
        self.rows += len(chunk)
        names = chunk["DICOM_ID"].fillna("")
        stripped = names.str.strip()
        moved = (stripped != names).to_numpy()
        if moved.any():
            self.spaced += int(moved.sum())
            self.first_spaced = self.first_spaced or names[moved].iloc[0]
        index = self.ids.get_indexer(stripped.to_numpy())
        unknown = index < 0
        self.seen[index[~unknown]] = True
        self.calib += int(unknown.sum())
        self.calib_ids.update(stripped.to_numpy()[unknown])
        xy = chunk[["X_ORIGINAL", "Y_ORIGINAL"]].to_numpy()
        dur = chunk["FPOGD"].to_numpy()
        bad = ~np.isfinite(xy).all(axis=1) & ~unknown
        neg = (xy < 0).any(axis=1) & ~unknown & ~bad
        self.invalid += int(bad.sum())
        self.off += int(neg.sum())
        keep = ~(unknown | bad | neg)
        self.parts.append((index[keep], xy[keep], dur[keep]))

    def grouped(self, file: str) -> GazeTable:
        """The kept points sorted by image, with the report of the whole read."""
        parts = self.parts
        index = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
        xy = np.concatenate([p[1] for p in parts]) if parts else np.zeros((0, 2))
        dur = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0)
        order = np.argsort(index, kind="stable")
        offsets = np.searchsorted(index[order], np.arange(len(self.ids) + 1)).astype(np.int64)
        report = {"file": file, "rows": self.rows, "calibration_rows": self.calib,
                  "calibration_ids": len(self.calib_ids), "off_image_rows": self.off,
                  "invalid_rows": self.invalid, "kept_rows": len(index),
                  "images_without_gaze": int((np.diff(offsets) == 0).sum())}
        # durations as read: a blank or infinite FPOGD stays NaN/inf, so that duration weighting
        # refuses it by name (EGDCXR) instead of weighing the point 0 or 1.8e308
        return GazeTable(offsets, xy[order], dur[order], report)


def _scan(path: Path, ids: pd.Index, chunksize: int, progress: bool) -> _GazeScan:
    scan = _GazeScan(ids)
    dtypes = {"DICOM_ID": str, "X_ORIGINAL": "float64", "Y_ORIGINAL": "float64", "FPOGD": "float64"}
    with open(path, "rb") as raw, tqdm.wrapattr(raw, "read", total=os.path.getsize(path),
                                               desc=path.name, disable=not progress) as f:
        try:
            reader = pd.read_csv(f, usecols=list(GAZE_REQUIRED), dtype=dtypes,
                                 chunksize=chunksize)
            for chunk in reader:
                scan.add(chunk)
        except ValueError as exc:
            raise ValueError(f"{path}: unreadable gaze table: {exc}") from exc
    return scan


def fit_to_images(table: GazeTable, shapes: np.ndarray) -> GazeTable:
    """Keep the points that §6 can put on each image; clamp its one-past-the-edge value.

    X_ORIGINAL scales by the even-rounded width We = W + W % 2 (format doc §6), so a point on
    the image has 0 <= x <= We − 1: on an odd side that allows x = W, one past the last
    pixel, which is clamped onto it (``clipped_to_edge``). Anything at or beyond We (or He) is
    no value the release's formula gives for a point on the image: it is dropped and counted
    as off-image (``beyond_image_rows``, included in ``off_image_rows``).

    Args:
        table: ``read_gaze_table``'s result for the images of ``shapes``.
        shapes: (n, 2) int (Rows, Columns) per image.
    """
    shapes = np.asarray(shapes, dtype=np.int64).reshape(-1, 2)
    n = len(shapes)
    row_of = np.repeat(np.arange(n), np.diff(table.offsets))
    size = shapes[row_of][:, ::-1]  # (W, H) per point
    beyond = (table.xy >= size + size % 2).any(axis=1)
    keep = ~beyond
    edge = keep & (table.xy > size - 1).any(axis=1)
    xy = np.minimum(table.xy[keep], size[keep] - 1)
    counts = np.bincount(row_of[keep], minlength=n)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    r = table.report
    report = dict(r, beyond_image_rows=int(beyond.sum()),
                  off_image_rows=r["off_image_rows"] + int(beyond.sum()),
                  kept_rows=int(keep.sum()), clipped_to_edge=int(edge.sum()),
                  images_without_gaze=int((counts == 0).sum()))
    return GazeTable(offsets, xy, table.duration[keep], report)
