"""Reading the release's CSV files: master sheet, gaze tables, bounding boxes.

The master sheet has quoted free text with embedded newlines, so it goes through pandas' CSV
parser (never a line count). The gaze tables can be large (``eye_gaze.csv``: ~400 MB,
1.5 M rows): only the needed columns are read, with explicit dtypes, in chunks, behind a
byte-level progress bar; rows are reduced to integer image indices on the fly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from .layout import BBOX_COLUMNS, CLASS_NAMES

MASTER_REQUIRED = ("dicom_id", "path", "study_id", "patient_id", *CLASS_NAMES)
GAZE_REQUIRED = ("DICOM_ID", "X_ORIGINAL", "Y_ORIGINAL", "FPOGD")


def _require_file(path: Path, what: str) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")


def _require_columns(path: Path, columns, required) -> None:
    missing = [c for c in required if c not in columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(map(repr, missing))}")


def read_master_sheet(path) -> pd.DataFrame:
    """``master_sheet.csv`` as strings (blank cells stay ""), one row per image."""
    path = Path(path)
    _require_file(path, "master sheet")
    try:
        sheet = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable CSV file: {exc}") from exc
    _require_columns(path, sheet.columns, MASTER_REQUIRED)
    dup = sheet["dicom_id"][sheet["dicom_id"].duplicated()]
    if len(dup):
        raise ValueError(f"{path}: dicom_id {dup.iloc[0]!r} appears more than once")
    return sheet


def one_hot_labels(sheet: pd.DataFrame, path) -> np.ndarray:
    """Labels 0 = Normal, 1 = CHF, 2 = pneumonia from the one-hot columns, shape (n,) int64.

    Raises:
        ValueError: naming the first dicom_id whose row is not exactly one-hot.
    """
    values = np.stack([pd.to_numeric(sheet[c], errors="coerce").to_numpy(dtype=float)
                       for c in CLASS_NAMES], axis=1)
    ok = np.isin(values, (0.0, 1.0)).all(axis=1) & (values.sum(axis=1) == 1)
    if not ok.all():
        k = int(np.flatnonzero(~ok)[0])
        cells = ", ".join(f"{c}={sheet[c].iloc[k]!r}" for c in CLASS_NAMES)
        raise ValueError(
            f"{path}: the label of dicom_id {sheet['dicom_id'].iloc[k]!r} is not one-hot "
            f"({cells}); {int((~ok).sum())} such row(s)"
        )
    return values.argmax(axis=1).astype(np.int64)


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
    """
    path = Path(path)
    _require_file(path, "gaze table")
    header = pd.read_csv(path, nrows=0).columns
    _require_columns(path, header, GAZE_REQUIRED)
    dtypes = {"DICOM_ID": str, "X_ORIGINAL": "float64", "Y_ORIGINAL": "float64", "FPOGD": "float64"}
    rows = calib = off = invalid = 0
    calib_ids: set[str] = set()
    parts = []
    with open(path, "rb") as raw, tqdm.wrapattr(raw, "read", total=os.path.getsize(path),
                                               desc=path.name, disable=not progress) as f:
        try:
            reader = pd.read_csv(f, usecols=list(GAZE_REQUIRED), dtype=dtypes,
                                 chunksize=chunksize)
            for chunk in reader:
                rows += len(chunk)
                index = ids.get_indexer(chunk["DICOM_ID"].to_numpy())
                unknown = index < 0
                calib += int(unknown.sum())
                calib_ids.update(chunk["DICOM_ID"].to_numpy()[unknown])
                xy = chunk[["X_ORIGINAL", "Y_ORIGINAL"]].to_numpy()
                dur = chunk["FPOGD"].to_numpy()
                bad = ~np.isfinite(xy).all(axis=1) & ~unknown
                neg = (xy < 0).any(axis=1) & ~unknown & ~bad
                invalid += int(bad.sum())
                off += int(neg.sum())
                keep = ~(unknown | bad | neg)
                parts.append((index[keep], xy[keep], dur[keep]))
        except ValueError as exc:
            raise ValueError(f"{path}: unreadable gaze table: {exc}") from exc
    index = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    xy = np.concatenate([p[1] for p in parts]) if parts else np.zeros((0, 2))
    dur = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0)
    order = np.argsort(index, kind="stable")
    offsets = np.searchsorted(index[order], np.arange(len(ids) + 1)).astype(np.int64)
    report = {"file": path.name, "rows": rows, "calibration_rows": calib,
              "calibration_ids": len(calib_ids), "off_image_rows": off,
              "invalid_rows": invalid, "kept_rows": len(index),
              "images_without_gaze": int((np.diff(offsets) == 0).sum())}
    return GazeTable(offsets, xy[order], np.nan_to_num(dur[order]), report)


def read_cardiac_boxes(path, ids: pd.Index) -> np.ndarray:
    """The ``cardiac silhouette`` box of every image in ``ids``: (n, 4) as x1, x2, y1, y2."""
    path = Path(path)
    _require_file(path, "bounding-box table")
    boxes = pd.read_csv(path, dtype={"dicom_id": str, "bbox_name": str})
    _require_columns(path, boxes.columns, BBOX_COLUMNS)
    heart = boxes[boxes["bbox_name"] == "cardiac silhouette"].drop_duplicates("dicom_id")
    heart = heart.set_index("dicom_id").reindex(ids)
    missing = heart.index[heart["x1"].isna()]
    if len(missing):
        raise ValueError(f"{path}: no 'cardiac silhouette' box for dicom_id {missing[0]!r} "
                         f"({len(missing)} image(s) without one)")
    return heart[["x1", "x2", "y1", "y2"]].to_numpy(dtype=np.float64)
