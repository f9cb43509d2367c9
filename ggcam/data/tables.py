"""Reading the release's CSV files: master sheet, gaze tables, bounding boxes.

The master sheet has quoted free text with embedded newlines, so it goes through pandas' CSV
parser (never a line count). Ids with surrounding spaces are stripped with a warning
(``checks.strip_ids``). The gaze tables are read by ``ggcam.data.gaze_table``, whose names
this module re-exports.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from ggcam.data.checks import (
    read_csv,
    require_columns,
    require_complete,
    require_file,
    require_unique_header,
    strip_ids,
)
from ggcam.data.gaze_table import GAZE_REQUIRED, GazeTable, fit_to_images, read_gaze_table
from ggcam.data.layout import BBOX_COLUMNS, CLASS_NAMES

__all__ = ["GAZE_REQUIRED", "ID_COLUMNS", "MASTER_REQUIRED", "GazeTable", "check_dicom_names",
           "check_dicom_paths", "fit_to_images", "one_hot_labels", "read_cardiac_boxes",
           "read_gaze_table", "read_master_sheet"]

MASTER_REQUIRED = ("dicom_id", "path", "study_id", "patient_id", *CLASS_NAMES)
ID_COLUMNS = ("dicom_id", "path", "study_id", "patient_id")


def read_master_sheet(path) -> pd.DataFrame:
    """``master_sheet.csv`` as strings (blank cells stay ""), one row per image."""
    path = Path(path)
    require_file(path, "master sheet")
    require_complete(path)
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
