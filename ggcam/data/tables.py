"""Reading the release's CSV files: master sheet, gaze tables, bounding boxes.

The master sheet has quoted free text with embedded newlines, so it goes through pandas' CSV
parser (never a line count). The gaze tables can be large (``eye_gaze.csv``: ~400 MB,
1.5 M rows): only the needed columns are read, with explicit dtypes, in chunks, behind a
byte-level progress bar; rows are reduced to integer image indices on the fly.

Every EGD-CXR image has gaze in both tables (format doc §3), so a master-sheet image absent
from a gaze table means a truncated or foreign table: an error, never a silent "no gaze".
Ids with surrounding spaces are stripped with a warning (``checks.strip_ids``).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
from tqdm import tqdm

from ggcam.data.checks import (
    read_csv,
    require_columns,
    require_file,
    require_unique_header,
    strip_ids,
)
from ggcam.data.layout import BBOX_COLUMNS, CLASS_NAMES

MASTER_REQUIRED = ("dicom_id", "path", "study_id", "patient_id", *CLASS_NAMES)
GAZE_REQUIRED = ("DICOM_ID", "X_ORIGINAL", "Y_ORIGINAL", "FPOGD")


ID_COLUMNS = ("dicom_id", "path", "study_id", "patient_id")


def _require_complete(path: Path) -> None:
    """A release CSV ends with a line break; one that does not was cut off mid-row."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        if f.tell() == 0:
            return  # empty: read_csv says so
        f.seek(-1, 2)
        if f.read(1) not in (b"\n", b"\r"):
            raise ValueError(f"{path}: the last line has no line break; the file looks truncated "
                             "(an interrupted download or copy?)")


def _header(path: Path) -> pd.Index:
    """The column names of a CSV file, each once (``require_unique_header``)."""
    header = read_csv(path, nrows=0).columns
    require_unique_header(path)
    return header


def read_master_sheet(path) -> pd.DataFrame:
    """``master_sheet.csv`` as strings (blank cells stay ""), one row per image."""
    path = Path(path)
    require_file(path, "master sheet")
    _require_complete(path)
    sheet = read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    require_unique_header(path)
    require_columns(path, sheet.columns, MASTER_REQUIRED)
    strip_ids(sheet, ID_COLUMNS, path)
    for col in ("dicom_id", "path"):
        blank = (sheet[col] == "").to_numpy()
        if blank.any():
            raise ValueError(f"{path}: blank {col} on record {int(blank.argmax()) + 1} "
                             f"({int(blank.sum())} such record(s))")
    dup = sheet["dicom_id"].duplicated(keep=False).to_numpy()
    if dup.any():
        first, second = np.flatnonzero(dup)[:2] + 1
        raise ValueError(f"{path}: dicom_id {sheet['dicom_id'][dup].iloc[0]!r} appears more than "
                         f"once (column dicom_id, records {first} and {second})")
    check_dicom_paths(sheet, path)
    return sheet


def check_dicom_paths(sheet: pd.DataFrame, path) -> None:
    """Each row's ``path`` stays inside the MIMIC-CXR root and is no other row's.

    An absolute path or one with ``..`` would read a file outside the root; a path shared by
    two rows would give both one image (and one of them another patient's label, gaze and
    masks). ``check_dicom_names`` checks that the file is the row's own.

    Raises:
        ValueError: naming the file, the row's dicom_id, the column ``path`` and the value.
    """
    seen: dict[str, str] = {}
    for dicom_id, rel in zip(sheet["dicom_id"], sheet["path"]):
        where = f"{path}: dicom_id {dicom_id!r}, column path = {rel!r}"
        p = PurePosixPath(rel)
        if p.is_absolute():
            raise ValueError(f"{where} is absolute; it must be relative to the MIMIC-CXR root "
                             "(files/p../p../s../<dicom_id>.dcm)")
        if ".." in p.parts:
            raise ValueError(f"{where} climbs out of the MIMIC-CXR root with '..'")
        if str(p) in seen:
            raise ValueError(f"{where} is also the path of dicom_id {seen[str(p)]!r}: two rows "
                             "would read one image")
        seen[str(p)] = dicom_id


def check_dicom_names(sheet: pd.DataFrame, path) -> None:
    """Each row's ``path`` names the row's own DICOM, ``<dicom_id>.dcm``.

    MIMIC-CXR names every file so (format doc §2); a row whose file is named after another id
    (swapped or shifted paths) would train on that image with this row's label.

    Raises:
        ValueError: naming the file, the row's dicom_id, the column ``path`` and the value.
    """
    for dicom_id, rel in zip(sheet["dicom_id"], sheet["path"]):
        name = PurePosixPath(rel).name
        if name != f"{dicom_id}.dcm":
            raise ValueError(f"{path}: dicom_id {dicom_id!r}, column path = {rel!r} names file "
                             f"{name!r}, not this row's {dicom_id}.dcm (MIMIC-CXR names every "
                             "DICOM <dicom_id>.dcm): the row would read another image")
    _check_path_folders(sheet, path)


def _check_path_folders(sheet: pd.DataFrame, path) -> None:
    """The patient and study folders of ``path`` (``files/pXX/p<patient_id>/s<study_id>/``)
    are the row's own: the splits group images by ``patient_id``, so a row whose image lies
    under another patient's folder would let one patient into two sets."""
    for column, prefix in (("patient_id", "p"), ("study_id", "s")):
        if column not in sheet.columns:
            continue
        for dicom_id, rel, value in zip(sheet["dicom_id"], sheet["path"], sheet[column]):
            folders = [part[1:] for part in PurePosixPath(rel).parts[:-1]
                       if part[:1] == prefix and part[1:].isdigit() and len(part) > 3]
            if folders and str(value).strip() and folders[-1] != str(value).strip():
                raise ValueError(f"{path}: dicom_id {dicom_id!r}, column path = {rel!r} lies in "
                                 f"folder {prefix}{folders[-1]}, but its {column} is {value!r} "
                                 f"(MIMIC-CXR files each image under p<patient_id>/s<study_id>)")


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

    Raises:
        FileNotFoundError: no such file. ValueError: empty, header-only or truncated file, a
        missing column, or images of ``ids`` without a single row (named, with the count).
    """
    path = Path(path)
    require_file(path, "gaze table")
    _require_complete(path)
    require_columns(path, _header(path), GAZE_REQUIRED)
    dtypes = {"DICOM_ID": str, "X_ORIGINAL": "float64", "Y_ORIGINAL": "float64", "FPOGD": "float64"}
    rows = calib = off = invalid = spaced = 0
    first_spaced = None
    calib_ids: set[str] = set()
    seen = np.zeros(len(ids), dtype=bool)
    parts = []
    with open(path, "rb") as raw, tqdm.wrapattr(raw, "read", total=os.path.getsize(path),
                                               desc=path.name, disable=not progress) as f:
        try:
            reader = pd.read_csv(f, usecols=list(GAZE_REQUIRED), dtype=dtypes,
                                 chunksize=chunksize)
            for chunk in reader:
                rows += len(chunk)
                names = chunk["DICOM_ID"].fillna("")
                stripped = names.str.strip()
                moved = (stripped != names).to_numpy()
                if moved.any():
                    spaced += int(moved.sum())
                    first_spaced = first_spaced or names[moved].iloc[0]
                index = ids.get_indexer(stripped.to_numpy())
                unknown = index < 0
                seen[index[~unknown]] = True
                calib += int(unknown.sum())
                calib_ids.update(stripped.to_numpy()[unknown])
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
    if rows == 0:
        raise ValueError(f"{path}: no rows (header only)")
    if spaced:
        warnings.warn(f"{path}: stripped surrounding whitespace from DICOM_ID ({spaced} "
                      f"value(s), e.g. {first_spaced!r})", stacklevel=2)
    if not seen.all():
        k = int(np.flatnonzero(~seen)[0])
        raise ValueError(
            f"{path}: no row at all for {int((~seen).sum())} of the {len(ids)} image(s) of the "
            f"master sheet, e.g. dicom_id {ids[k]!r}; every EGD-CXR image has gaze, so the "
            "table is truncated or belongs to another master sheet")
    index = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    xy = np.concatenate([p[1] for p in parts]) if parts else np.zeros((0, 2))
    dur = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0)
    order = np.argsort(index, kind="stable")
    offsets = np.searchsorted(index[order], np.arange(len(ids) + 1)).astype(np.int64)
    report = {"file": path.name, "rows": rows, "calibration_rows": calib,
              "calibration_ids": len(calib_ids), "off_image_rows": off,
              "invalid_rows": invalid, "kept_rows": len(index),
              "images_without_gaze": int((np.diff(offsets) == 0).sum())}
    # durations as read: a blank or infinite FPOGD stays NaN/inf, so that duration weighting
    # refuses it by name (EGDCXR) instead of weighing the point 0 or 1.8e308
    return GazeTable(offsets, xy[order], dur[order], report)


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


def read_cardiac_boxes(path, ids: pd.Index) -> np.ndarray:
    """The ``cardiac silhouette`` box of every image in ``ids``: (n, 4) as x1, x2, y1, y2."""
    path = Path(path)
    require_file(path, "bounding-box table")
    boxes = read_csv(path, dtype={"dicom_id": str, "bbox_name": str})
    require_unique_header(path)
    require_columns(path, boxes.columns, BBOX_COLUMNS)
    strip_ids(boxes, ("dicom_id", "bbox_name"), path)
    heart = boxes[boxes["bbox_name"] == "cardiac silhouette"]
    twice = heart.drop_duplicates().duplicated("dicom_id", keep=False)  # exact repeats are harmless
    if twice.any():
        rows = heart.drop_duplicates()[twice]
        first = rows["dicom_id"].iloc[0]
        boxes_of = rows.loc[rows["dicom_id"] == first, list(BBOX_COLUMNS[2:])].to_numpy().tolist()
        raise ValueError(f"{path}: dicom_id {first!r} has {len(boxes_of)} different 'cardiac "
                         f"silhouette' boxes {boxes_of} (x1, x2, y1, y2); one image has one")
    heart = heart.drop_duplicates("dicom_id")
    heart = heart.set_index("dicom_id").reindex(ids)
    missing = heart.index[heart["bbox_name"].isna()]
    if len(missing):
        raise ValueError(f"{path}: no 'cardiac silhouette' box for dicom_id {missing[0]!r} "
                         f"({len(missing)} image(s) without one)")
    cols = list(BBOX_COLUMNS[2:])  # x1, x2, y1, y2
    coords = heart[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(coords)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValueError(f"{path}: the 'cardiac silhouette' box of dicom_id {ids[r]!r}, column "
                         f"{cols[c]}: {heart[cols[c]].iloc[r]!r} is not a finite number of pixels")
    return coords
