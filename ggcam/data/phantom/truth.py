"""The phantom's ground truth: where each drawn finding is, in ``phantom-truth.csv``.

``make_phantom`` writes the file beside the release (``<root>/phantom-truth.csv``, next to
``egd-cxr/``), never inside it, so the release layout stays the real one. One row per finding
per image, image pixels, x = column, y = row, the box half-open [x0, x1) × [y0, y1):

==========  ================================================================================
column      content
==========  ================================================================================
dicom_id    the master sheet's id
label       0 Normal, 1 CHF, 2 pneumonia
class_name  ``layout.CLASS_NAMES[label]``
finding     ``consolidation`` (pneumonia, one per focus), ``cardiomegaly`` (every CHF image:
            the heart itself is CHF's finding, its box is the cardiac silhouette's),
            ``edema`` (CHF, one box per lung), ``effusion`` (CHF, one per side) or ``none``
x0, y0      top-left corner of the box; blank on a ``none`` row
x1, y1      bottom-right corner (exclusive); blank on a ``none`` row
==========  ================================================================================

An image without any finding (every Normal image) has exactly one ``none`` row, so every
image of the release appears in the file and a truncated file is detected, not read as
"no findings". A consolidation's, edema's or effusion's box bounds where it adds at least half
of its peak density (inside the lung for the first two).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ggcam.data.checks import read_csv, require_columns, require_file
from ggcam.data.layout import CLASS_NAMES
from ggcam.data.masks import box_mask

TRUTH_FILE = "phantom-truth.csv"
TRUTH_COLUMNS = ("dicom_id", "label", "class_name", "finding", "x0", "y0", "x1", "y1")
FINDINGS = ("consolidation", "cardiomegaly", "edema", "effusion")
NO_FINDING = "none"


def truth_beside(egd_root) -> Path | None:
    """The truth file beside a release ``<root>/egd-cxr/1.0.0``, or None when there is none."""
    path = Path(egd_root).resolve().parent.parent / TRUTH_FILE
    return path if path.is_file() else None


def truth_rows(dicom_id: str, label: int, boxes) -> list[dict]:
    """The file's rows of one image from its (finding, (x0, y0, x1, y1)) pairs."""
    base = {"dicom_id": dicom_id, "label": int(label), "class_name": CLASS_NAMES[int(label)]}
    if not boxes:
        return [dict(base, finding=NO_FINDING, x0="", y0="", x1="", y1="")]
    return [dict(base, finding=name, **{k: f"{float(v):.6g}" for k, v in zip(("x0", "y0", "x1", "y1"), box)})
            for name, box in boxes]


def read_phantom_truth(path) -> pd.DataFrame:
    """``phantom-truth.csv`` as a DataFrame (columns ``TRUTH_COLUMNS``; boxes float, NaN on
    ``none`` rows).

    Raises:
        FileNotFoundError: no such file. ValueError: a missing column, an unknown finding, a
        box that is blank or empty (x1 <= x0 or y1 <= y0) on a finding row, naming the row.
    """
    path = Path(path)
    require_file(path, "phantom truth file")
    table = read_csv(path, dtype={"dicom_id": str, "class_name": str, "finding": str})
    require_columns(path, table.columns, TRUTH_COLUMNS)
    table = table[list(TRUTH_COLUMNS)].copy()
    known = table["finding"].isin((*FINDINGS, NO_FINDING))
    if not known.all():
        k = int(np.flatnonzero(~known.to_numpy())[0])
        raise ValueError(f"{path}: unknown finding {table['finding'].iat[k]!r} on row {k + 2} "
                         f"(known: {', '.join((*FINDINGS, NO_FINDING))})")
    for col in ("x0", "y0", "x1", "y1"):
        table[col] = pd.to_numeric(table[col], errors="coerce")
    found = (table["finding"] != NO_FINDING).to_numpy()
    xy = table[["x0", "y0", "x1", "y1"]].to_numpy(dtype=float)
    bad = found & ~(np.isfinite(xy).all(axis=1) & (xy[:, 2] > xy[:, 0]) & (xy[:, 3] > xy[:, 1]))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{path}: row {k + 2} ({table['dicom_id'].iat[k]}, "
                         f"{table['finding'].iat[k]}) has no valid box: {xy[k].tolist()}")
    table["label"] = pd.to_numeric(table["label"], errors="coerce").astype("Int64")
    return table


def boxes_by_image(truth: pd.DataFrame, ids, path) -> list[np.ndarray]:
    """Per dicom_id of ``ids``, its finding boxes (k, 4) as x0, y0, x1, y1 (k = 0 for none).

    Raises:
        ValueError: an id of ``ids`` absent from the file (a truncated or foreign truth file).
    """
    present = set(truth["dicom_id"])
    missing = [i for i in ids if i not in present]
    if missing:
        raise ValueError(f"{path}: no row for dicom_id {missing[0]!r} ({len(missing)} image(s) "
                         "of the master sheet missing; every image has a row, 'none' if no finding)")
    found = truth[truth["finding"] != NO_FINDING]
    groups = {k: g[["x0", "y0", "x1", "y1"]].to_numpy(dtype=np.float64)
              for k, g in found.groupby("dicom_id", sort=False)}
    return [groups.get(i, np.zeros((0, 4))) for i in ids]


def finding_mask(boxes: np.ndarray, shape) -> np.ndarray:
    """bool (H, W): the union of boxes (k, 4) as x0, y0, x1, y1 (pixel centres inside)."""
    mask = np.zeros(tuple(shape), dtype=bool)
    for x0, y0, x1, y1 in np.asarray(boxes, dtype=np.float64).reshape(-1, 4):
        mask |= box_mask((x0, x1, y0, y1), shape)
    return mask
