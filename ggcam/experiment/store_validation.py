"""Checks of the results store's tables and archives beyond their layout (``store_checks``):
the values of ``runs.csv`` and of the curves, the examples, the arrays' declared sizes, and
the identity of a run's files (its own run, the store's test set).

Each check raises one ``ValueError`` naming the file, the row (run_id, dicom_id, epoch) and the
column or array. Nothing is repaired.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import zipfile
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd

from ggcam.experiment.record import RunRecord

EXAMPLE_IMAGE_MAX_SIDE = 256  # run.EXAMPLE_IMAGE_MAX_SIDE: phantom thumbnails are no larger
EXAMPLE_KEYS = ("labels", "psi", "cam", "dicom_id")  # every example archive (store.py)
# Ranges of runs.csv's numeric columns beyond "finite" (RunRecord declares each with its unit).
UNIT_INTERVAL = re.compile(r"(auc_|precision_|recall_|interp|pointing|sim|energy_|inside_auroc_|"
                           r"(prior|fixed|random)_|informativeness)")
NON_NEGATIVE = re.compile(r"(kl|wall_s|sigma_|w_sm|w_ce)")
MAY_OVERFLOW = ("w_sm_final", "w_ce_final", "w_sm", "w_ce")  # 1/(2σ²), 1/σ²: inf when σ underflows to 0


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def read_json_record(path: Path) -> dict:
    """The JSON object in ``runs/<run_id>.json``, with a run_id (``check_record`` checks the rest)."""
    if path.is_dir():
        raise ValueError(f"{path} is a directory, not a run record (a JSON file)")
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot read run record {path}: {err}") from err
    if not isinstance(record, dict) or not isinstance(record.get("run_id"), str):
        raise ValueError(f"{path} is not a ggcam run record (a JSON object with a run_id)")
    return record


def _kind(name: str) -> str:
    """``int``, ``float``, ``bool`` or ``str``: a record field's declared type."""
    declared = next(f.type for f in fields(RunRecord) if f.name == name)
    return str(declared).split("|")[0].strip()


def _bad_value(col: str, kind: str, value) -> str | None:
    """Why ``value`` cannot be ``col`` of runs.csv, or None (a missing value is "not applicable")."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if kind == "bool":
        return None if isinstance(value, (bool, np.bool_)) or str(value) in ("True", "False") \
            else "is not True or False"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return f"is not a number ({kind})"
    if not math.isfinite(x) and not (col in MAY_OVERFLOW and x == math.inf):
        return "is not finite"
    if kind == "int" and (x != int(x) or x < 0):
        return "is not an integer >= 0"
    if kind == "float" and UNIT_INTERVAL.match(col) and not 0 <= x <= 1:
        return "is outside [0, 1]"
    if kind == "float" and col.startswith("cc") and not -1 <= x <= 1:
        return "is outside [-1, 1]"
    if kind == "float" and NON_NEGATIVE.match(col) and x < 0:
        return "is negative"
    return None


def check_runs_values(df: pd.DataFrame, path: Path) -> None:
    """Every numeric and boolean column of ``runs.csv`` holds values of its declared type and
    range (``RunRecord``); a blank cell is "not applicable"."""
    for col in df.columns:
        if col not in RunRecord.columns() or _kind(col) == "str":
            continue
        kind = _kind(col)
        for run_id, value in zip(df["run_id"], df[col]):
            why = _bad_value(col, kind, value)
            if why:
                raise ValueError(f"{path}: run {run_id}, column {col}: {_plain(value)!r} {why}")


def _same(kind: str, a, b) -> bool:
    blank = lambda v: v is None or (isinstance(v, float) and math.isnan(v)) or v == ""
    if blank(a) or blank(b):
        return blank(a) and blank(b)
    if kind == "bool":
        return str(a) == str(b)
    if kind in ("int", "float"):
        try:
            return float(a) == float(b)
        except (TypeError, ValueError):
            return False
    return str(a) == str(b)


def check_runs_agree(df: pd.DataFrame, path: Path, records: dict[str, dict], runs_dir: Path,
                     rebuild: str) -> None:
    """``runs.csv`` is ``runs/*.json`` as ``ResultsStore.collect`` wrote it: the same runs, and
    every column the value of its record."""
    listed = set(df["run_id"].astype(str))
    for missing, where, there in ((sorted(set(records) - listed), path, runs_dir),
                                  (sorted(listed - set(records)), runs_dir, path)):
        if missing:
            raise ValueError(f"{path}: run {missing[0]} is in {there} but not in {where} "
                             f"({len(missing)} such run(s)); {rebuild}")
    columns = [c for c in df.columns if c in RunRecord.columns()]
    for row in df.to_dict("records"):
        record = records[str(row["run_id"])]
        for col in columns:
            if not _same(_kind(col), row[col], record.get(col)):
                raise ValueError(f"{path}: run {row['run_id']}, column {col}: {_plain(row[col])!r}, but "
                                 f"its record {runs_dir / (str(row['run_id']) + '.json')} holds "
                                 f"{record.get(col)!r}; {rebuild}")


def check_curves(df: pd.DataFrame, path: Path) -> None:
    """Epochs positive and unique; every column but run_id numeric (or bool), finite where a
    value is present (a blank: the metric does not apply to the arm)."""
    epochs = df["epoch"]
    if (epochs < 1).any():
        raise ValueError(f"{path}: column epoch holds {_plain(epochs[epochs < 1].iloc[0])}; epochs count from 1")
    if epochs.duplicated().any():
        raise ValueError(f"{path}: epoch {_plain(epochs[epochs.duplicated()].iloc[0])} appears on more "
                         "than one row")
    for col in df.columns:
        if col == "run_id" or pd.api.types.is_bool_dtype(df[col]):
            continue
        if not pd.api.types.is_numeric_dtype(df[col]):
            values = pd.to_numeric(df[col], errors="coerce")
            i = int((values.isna() & df[col].notna()).to_numpy().argmax())
            raise ValueError(f"{path}: epoch {_plain(epochs.iloc[i])}, column {col}: "
                             f"{_plain(df[col].iloc[i])!r} is not a number")
        values = df[col].to_numpy(dtype=np.float64)
        inf = np.isinf(values) & ~((values > 0) & (col in MAY_OVERFLOW))
        if inf.any():
            i = int(inf.argmax())
            raise ValueError(f"{path}: epoch {_plain(epochs.iloc[i])}, column {col}: "
                             f"{_plain(df[col].iloc[i])!r} is not finite")


def check_example(arrays: dict[str, np.ndarray], path: Path, n_classes: int,
                  test_ids: np.ndarray | None) -> None:
    """An example archive: labels (n,) int in [0, K), dicom_id (n,) str (of the store's test set,
    where it has one), psi and cam (n, h, w) finite floats, optional image (n, H, W) finite
    float, at most ``EXAMPLE_IMAGE_MAX_SIDE`` a side."""
    missing = [k for k in EXAMPLE_KEYS if k not in arrays]
    if missing:
        raise ValueError(f"{path} lacks array(s) {missing} (an example archive holds {list(EXAMPLE_KEYS)})")
    n = len(arrays["labels"]) if arrays["labels"].ndim else 0
    grid = arrays["psi"].shape[1:]
    layout = {"labels": ("iu", 1), "dicom_id": ("U", 1), "psi": ("f", 3), "cam": ("f", 3), "image": ("f", 3)}
    for key, (kinds, ndim) in layout.items():
        a = arrays.get(key)
        if a is None:
            continue
        if a.dtype.kind not in kinds or a.ndim != ndim or len(a) != n or n == 0:
            raise ValueError(f"{path}: array {key!r} is {a.dtype} {a.shape}; expected {ndim} axis/axes "
                             f"of {'an integer' if kinds == 'iu' else kinds} dtype, one row per example "
                             f"(array 'labels' has {n})")
        if key == "cam" and a.shape[1:] != grid:
            raise ValueError(f"{path}: array 'cam' has shape {a.shape}, array 'psi' {arrays['psi'].shape}")
        if key == "image" and max(a.shape[1:]) > EXAMPLE_IMAGE_MAX_SIDE:
            raise ValueError(f"{path}: array 'image' has shape {a.shape}: a thumbnail is at most "
                             f"{EXAMPLE_IMAGE_MAX_SIDE} pixels a side")
        if kinds == "f" and not np.isfinite(a).all():
            raise ValueError(f"{path}: array {key!r} holds a non-finite value")
    labels = arrays["labels"]
    if ((labels < 0) | (labels >= n_classes)).any():
        raise ValueError(f"{path}: array 'labels' holds {labels.tolist()}: not classes 0 … {n_classes - 1}")
    if test_ids is not None and not np.isin(arrays["dicom_id"], test_ids).all():
        stray = arrays["dicom_id"][~np.isin(arrays["dicom_id"], test_ids)][0]
        raise ValueError(f"{path}: array 'dicom_id' lists {_plain(stray)!r}, not an image of the store's "
                         "test set")


def _declared(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[tuple, np.dtype, int]:
    """A member's header: shape, dtype and the bytes it holds after the header."""
    with zf.open(info) as f:
        major, _ = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(f)
        return shape, dtype, info.file_size - f.tell()


def check_declared_sizes(path: Path, what: str) -> None:
    """No ``.npy`` member of an ``.npz`` declares more data than it holds: a header edited to
    shape (10⁶, 10⁶) would otherwise make ``np.load`` ask for terabytes."""
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            name = info.filename.removesuffix(".npy")
            try:
                shape, dtype, held = _declared(zf, info)
            except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
                raise ValueError(f"cannot read array {name!r} of {what} {path}: {err}") from None
            declared = math.prod(shape) * dtype.itemsize
            if not dtype.hasobject and declared > held:  # object arrays: np.load refuses them
                raise ValueError(f"array {name!r} of {what} {path} declares shape {shape} of "
                                 f"{dtype} ({declared} bytes), but the file holds {held} bytes of it")


def check_fixed_location(loc: np.ndarray, path: Path, input_shape: tuple[int, int] | None) -> None:
    """``fixed_location`` (K, 2): per class an input pixel (row, col) inside ``input_shape``
    (the test set's findings, where the store has them), or (-1, -1) for no location."""
    for c, (row, col) in enumerate(loc.tolist()):
        if (row, col) == (-1, -1):
            continue
        inside = row >= 0 and col >= 0 and (input_shape is None or (row < input_shape[0] and col < input_shape[1]))
        if not inside:
            where = f"the input's {input_shape[0]}×{input_shape[1]} pixels" if input_shape else "the input"
            raise ValueError(f"{path}: array 'fixed_location', class {c}: ({row}, {col}) is not a pixel "
                             f"of {where} (nor (-1, -1), no location)")


def identity_arrays(record, predictions_csv: bytes | None = None) -> dict[str, np.ndarray]:
    """What a maps archive stores of its run (a ``RunRecord``) and of the predictions file
    written beside it (its SHA-1), for ``check_own_run`` and ``check_predictions_digest``."""
    ids = {"run_id": record.run_id, "config_hash": record.config_hash}
    if predictions_csv is not None:
        ids["predictions_sha1"] = hashlib.sha1(predictions_csv).hexdigest()
    return {k: np.array(v) for k, v in ids.items() if isinstance(v, str) and v}


def check_predictions_digest(maps: dict[str, np.ndarray], path: Path, predictions_path: Path) -> None:
    """The predictions file is the one written beside these maps (archives written since files
    carry their identity store its SHA-1): another run's predictions copied in are refused."""
    if "predictions_sha1" not in maps:
        return
    digest = hashlib.sha1(predictions_path.read_bytes()).hexdigest()
    if digest != str(maps["predictions_sha1"]):
        raise ValueError(f"{predictions_path} is not the predictions file written with {path} "
                         "(its SHA-1 differs from the one the maps record): edited, or another "
                         "run's file copied in")


def check_own_run(maps: dict[str, np.ndarray], path: Path, run_id: str, record: dict | None) -> None:
    """A maps archive that names its run (``run_id``, ``config_hash``: written since files carry
    their identity) names this one; older archives name none and are taken as they are."""
    for key, own in (("run_id", run_id), ("config_hash", (record or {}).get("config_hash"))):
        if key in maps and isinstance(own, str) and str(maps[key]) != own:
            raise ValueError(f"{path}: array {key!r} is {str(maps[key])!r}, not this run's ({own!r}): "
                             "the files of another run")


def check_test_set_rows(df: pd.DataFrame, path: Path, test_set: dict[str, np.ndarray],
                        test_path: Path) -> None:
    """Predictions list the store's test set (``test_set.npz``) in its order, with its labels."""
    ids, labels = df["dicom_id"].to_numpy(dtype=str), df["label"].to_numpy()
    if len(ids) != len(test_set["dicom_id"]):
        raise ValueError(f"{path} has {len(ids)} rows, the test set {test_path} "
                         f"{len(test_set['dicom_id'])} images")
    for what, ours, theirs in (("dicom_id", ids, test_set["dicom_id"]), ("label", labels, test_set["labels"])):
        differ = np.flatnonzero(ours != theirs)
        if differ.size:
            i = int(differ[0])
            raise ValueError(f"{path}: row {i + 1} (dicom_id {_plain(ids[i])!r}), column {what}: "
                             f"{_plain(ours[i])!r}, but the test set {test_path} holds {_plain(theirs[i])!r} "
                             f"there ({differ.size} such row(s))")
