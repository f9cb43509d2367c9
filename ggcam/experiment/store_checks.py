"""Checks of what ``ResultsStore`` reads back: every file is what ``store.py`` says it is.

A results file is data a person can edit, copy, merge or truncate. A reader that trusts it
turns a NaN logit, a label of 1.5 or a record filed under another run into wrong numbers
without a word. Each check here raises one ``ValueError`` naming the file, the row (dicom_id or
run_id), the column or array, and the value. Nothing is repaired and nothing is converted
except a label column of whole numbers read as floats (to int64).
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from ggcam.data.checks import require_unique_header as unique_header  # noqa: F401  (the store's name)
from ggcam.experiment import store_validation as validation

RECORD_IDENTITY = ("profile", "network", "variant", "seed")  # what makes a record one run's
FULL_MAPS = ("cams", "gaze", "has_gaze", "fixations", "centre_prior", "mask_heart", "mask_lung")
# The maps archive (store.py's docstring): dtype kind and axes of each array; N images, K
# classes, an h×w grid. mask_<name> arrays follow "mask_*".
MAP_LAYOUT = {
    "cams": ("f4", ("N", "K", "h", "w")),
    "gaze": ("f4", ("N", "h", "w")),
    "has_gaze": ("b", ("N",)),
    "fixations": ("b", ("N", "h", "w")),
    "centre_prior": ("f4", ("h", "w")),
    "mask_*": ("b", ("N", "h", "w")),
    "dicom_id": ("U", ("N",)),
    "fixed_location": ("i", ("K", 2)),
    "run_id": ("U", ()),  # the run the file belongs to (files written since they carry it)
    "config_hash": ("U", ()),
}
_KIND_WORDS = {"f4": "float32", "b": "bool", "U": "str", "i": "an integer dtype"}


def _plain(value):
    """A numpy scalar as the Python value it holds, for messages (no ``np.float64(...)``)."""
    return value.item() if isinstance(value, np.generic) else value


def same_profile(recorded: str, folder: str) -> bool:
    """Whether a record of ``recorded`` belongs in ``results/<folder>/``.

    The folder of a profile holds that profile's records, an archive ``<profile>-v<N>`` the
    records of ``<profile>`` (``results/cpu-v1`` keeps the first study's ``cpu`` runs). A folder
    that names no profile (a rerun's scratch store, a test's) has no profile to agree with.
    """
    from ggcam.experiment.profiles import PROFILES

    if folder not in PROFILES and not re.fullmatch(r".+-v\d+", folder):
        return True
    return recorded == folder or re.fullmatch(re.escape(str(recorded)) + r"-v\d+", folder) is not None


def _run_id_matches(run_id: str, network: str, variant: str, seed: int) -> bool:
    """``<network>__<variant>__s<seed>`` with an optional dose suffix ``__n<N>`` / ``__i<I>``."""
    base = re.escape(f"{network}__{variant}__s{seed}")
    return re.fullmatch(base + r"(?:__n\d+)?(?:__i[0-9.e+-]+)?", run_id) is not None


def check_record(record: dict, path: Path, store_profile: str | None = None) -> None:
    """A run record agrees with its file name and its store.

    Raises:
        ValueError: a record without profile, network, variant or seed (no record at all), a
            run_id other than the file's name or than network, variant and seed make, or a
            profile that is not the store's.
    """
    lacking = [k for k in RECORD_IDENTITY if k not in record]
    if lacking:
        raise ValueError(f"{path} is not a ggcam run record: it lacks {', '.join(lacking)}")
    for key in ("profile", "network", "variant"):
        if not isinstance(record[key], str) or not record[key]:
            raise ValueError(f"{path}: {key} {record[key]!r} is not a name")
    seed = record["seed"]
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"{path}: seed {seed!r} is not an integer >= 0")
    run_id = record["run_id"]
    if run_id != path.stem:
        raise ValueError(f"{path}: run_id {run_id!r} is not the run its file is named after "
                         f"({path.stem!r})")
    if not _run_id_matches(run_id, record["network"], record["variant"], seed):
        raise ValueError(f"{path}: run_id {run_id!r} disagrees with network {record['network']!r}, "
                         f"variant {record['variant']!r}, seed {seed} (expected "
                         f"{record['network']}__{record['variant']}__s{seed}[__n<N>][__i<I>])")
    if store_profile is not None and not same_profile(record["profile"], store_profile):
        raise ValueError(f"{path}: profile {record['profile']!r} in the store of profile "
                         f"{store_profile!r} ({path.parent.parent}): a record filed under "
                         "another profile")


def check_runs_table(df: pd.DataFrame, path: Path, store_profile: str) -> None:
    """``runs.csv``: one row per run, each row's identity as ``check_record`` demands."""
    ids = df["run_id"]
    blank = ids.isna().to_numpy()
    if blank.any():
        raise ValueError(f"{path}: row {int(blank.argmax()) + 1} has no run_id")
    dup = ids.duplicated().to_numpy()
    if dup.any():
        raise ValueError(f"{path}: run_id {ids[dup].iloc[0]!r} appears on more than one row")
    for row in df[["run_id", "profile", "network", "variant", "seed"]].itertuples(index=False):
        seed = pd.to_numeric(pd.Series([row.seed]), errors="coerce").iloc[0]
        if not (np.isfinite(seed) and seed == int(seed) and seed >= 0):
            raise ValueError(f"{path}: run {row.run_id}, column seed: {_plain(row.seed)!r} is not an "
                             "integer >= 0")
        if not _run_id_matches(str(row.run_id), str(row.network), str(row.variant), int(seed)):
            raise ValueError(f"{path}: run {row.run_id}: columns network {row.network!r}, variant "
                             f"{row.variant!r}, seed {int(seed)} make another run_id")
        if not same_profile(str(row.profile), store_profile):
            raise ValueError(f"{path}: run {row.run_id}, column profile: {_plain(row.profile)!r} in the "
                             f"store of profile {store_profile!r}")
    validation.check_runs_values(df, path)


def logit_columns(df: pd.DataFrame, path: Path) -> list[str]:
    """``logit_0`` … ``logit_{K-1}``, all of them, K >= 2."""
    found = [c for c in df.columns if str(c).startswith("logit_")]
    expected = [f"logit_{k}" for k in range(len(found))]
    if sorted(found) != sorted(expected) or len(found) < 2:
        raise ValueError(f"{path}: logit columns {found} are not logit_0 … logit_<K-1> for "
                         "K >= 2 classes")
    return expected


def check_predictions(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Finite logits, integer labels in [0, K), one row per dicom_id; returns ``df`` with the
    label column as int64."""
    cols = logit_columns(df, path)
    if len(df) == 0:
        raise ValueError(f"{path}: no rows (a test set has images)")
    ids = df["dicom_id"]
    blank = (ids.isna() | (ids.astype(str).str.strip() == "")).to_numpy()
    if blank.any():
        raise ValueError(f"{path}: row {int(blank.argmax()) + 1}, column dicom_id is blank")
    dup = ids.duplicated().to_numpy()
    if dup.any():
        raise ValueError(f"{path}: dicom_id {ids[dup].iloc[0]!r} appears on more than one row "
                         "(one row per test image)")
    for col in cols:
        values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            i = int(bad.argmax())
            raise ValueError(f"{path}: dicom_id {ids.iloc[i]!r}, column {col}: {_plain(df[col].iloc[i])!r} "
                             f"is not a finite logit ({int(bad.sum())} such row(s))")
    labels = pd.to_numeric(df["label"], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(labels) | (labels != np.round(labels)) | (labels < 0) | (labels >= len(cols))
    if bad.any():
        i = int(bad.argmax())
        raise ValueError(f"{path}: dicom_id {ids.iloc[i]!r}, column label: {_plain(df['label'].iloc[i])!r} "
                         f"is not a class 0 … {len(cols) - 1} ({int(bad.sum())} such row(s))")
    if df["label"].dtype != np.int64:
        df["label"] = labels.astype(np.int64)
    return df


CURVE_COLUMNS = ("run_id", "epoch")  # what every curves file has, whatever else it records


def read_curves(path: Path) -> pd.DataFrame:
    """One run's per-epoch curves (``curves/<run_id>.csv``); errors name the file."""
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise ValueError(f"cannot read curves file {path}: {err}") from None
    missing = [c for c in CURVE_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: a curves file needs column(s) {missing}; it has {list(df.columns)}")
    if len(df) and (df["run_id"].astype(str) != path.stem).any():
        raise ValueError(f"{path}: its run_id column names {sorted(set(df['run_id'].astype(str)) - {path.stem})}, "
                         f"not the run the file is named after ({path.stem!r})")
    if not pd.api.types.is_integer_dtype(df["epoch"]):
        raise ValueError(f"{path}: column epoch holds {df['epoch'].dtype} values, expected integers")
    validation.check_curves(df, path)
    return df


def load_arrays(path: Path, what: str) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` archive, without pickles; errors name the file and array."""
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"cannot read {what} {path}: {err}") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} holds one array, not a ggcam {what} archive (.npz of named arrays)")
    out = {}
    with z:
        validation.check_declared_sizes(path, what)
        for key in z.files:
            try:
                out[key] = z[key]
            except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, MemoryError) as err:
                raise ValueError(f"cannot read array {key!r} of {what} {path}: {err or type(err).__name__}") from None
    return out


def _layout_of(key: str):
    return MAP_LAYOUT.get("mask_*" if key.startswith("mask_") else key)


def _dtype_ok(array: np.ndarray, kind: str) -> bool:
    if kind == "f4":
        return array.dtype == np.float32
    return array.dtype.kind == kind or (kind == "i" and array.dtype.kind == "u")


def _size_source(name, want: int, predictions_path: Path) -> str:
    if name == "N":
        return f"{predictions_path} has {want} images (rows)"
    if name == "K":
        return f"{predictions_path} has {want} classes (logit columns)"
    if isinstance(name, str):
        return f"another array of the archive has {name} = {want}"
    return f"it must be {want}"


def check_maps(maps: dict[str, np.ndarray], path: Path, predictions: pd.DataFrame,
               predictions_path: Path, full: bool, input_shape: tuple[int, int] | None = None) -> None:
    """The maps archive against store.py's layout and the run's predictions (row-aligned).

    Args:
        full: the checkpoint's maps (every array of ``FULL_MAPS``); else the last epoch's
            (``cams`` at least).
        input_shape: (H, W) of the network input (the test set's findings), where known:
            ``fixed_location`` must be a pixel of it.
    """
    required = FULL_MAPS if full else ("cams",)
    missing = [k for k in required if k not in maps]
    if missing:
        raise ValueError(f"{path} lacks array(s) {missing} (a ggcam maps archive holds {list(required)})")
    sizes = {"N": len(predictions), "K": len(logit_columns(predictions, predictions_path))}
    for key, array in maps.items():
        layout = _layout_of(key)
        if layout is None:
            continue  # an array a later ggcam added: not ours to judge
        kind, axes = layout
        if not _dtype_ok(array, kind):
            raise ValueError(f"{path}: array {key!r} is {array.dtype}, expected {_KIND_WORDS[kind]}")
        if array.ndim != len(axes):
            raise ValueError(f"{path}: array {key!r} has shape {array.shape}, expected "
                             f"({', '.join(map(str, axes))})")
        for axis, (name, n) in enumerate(zip(axes, array.shape)):
            want = sizes.setdefault(name, n) if isinstance(name, str) else name
            if n != want:
                raise ValueError(f"{path}: array {key!r} has shape {array.shape}: {n} along axis "
                                 f"{axis} ({name}), but {_size_source(name, want, predictions_path)}")
    for key in (k for k in maps if _layout_of(k) and maps[k].dtype.kind == "f"):  # no NaN is legitimate
        if not np.isfinite(maps[key]).all():
            bad = np.argwhere(~np.isfinite(maps[key]))[0]
            raise ValueError(f"{path}: array {key!r} holds a non-finite value ({_plain(maps[key][tuple(bad)])}) "
                             f"at index {tuple(int(b) for b in bad)}: the maps cannot be scored")
    if "fixed_location" in maps:
        if "dicom_id" not in maps:  # scored against the test set's findings, image by image
            raise ValueError(f"{path} has 'fixed_location' but no 'dicom_id' array: its maps cannot "
                             "be matched with the test set's findings")
        validation.check_fixed_location(maps["fixed_location"], path, input_shape)
    if "dicom_id" in maps:
        ids = predictions["dicom_id"].to_numpy(dtype=str)
        differ = np.flatnonzero(maps["dicom_id"] != ids)
        if differ.size:
            i = int(differ[0])
            raise ValueError(f"{path}: array 'dicom_id' lists {_plain(maps['dicom_id'][i])!r} at row {i + 1}, "
                             f"{predictions_path} {_plain(ids[i])!r}: the maps are not row-aligned with "
                             "the predictions (other images or another order)")


def check_test_set(arrays: dict[str, np.ndarray], path: Path, n_classes: int) -> None:
    """``test_set.npz``: dicom_id (N,) str, unique; labels (N,) int in [0, K); findings (N, H, W) bool."""
    missing = [k for k in ("dicom_id", "labels", "findings") if k not in arrays]
    if missing:
        raise ValueError(f"{path} lacks array(s) {missing} (dicom_id, labels, findings)")
    ids, labels = arrays["dicom_id"], arrays["labels"]
    n = len(ids) if ids.ndim == 1 else -1
    for key, kind, ndim in (("dicom_id", "U", 1), ("labels", "i", 1), ("findings", "b", 3)):
        a = arrays[key]
        if not _dtype_ok(a, kind) or a.ndim != ndim or a.shape[0] != n:
            raise ValueError(f"{path}: array {key!r} is {a.dtype} {a.shape}; expected "
                             f"{_KIND_WORDS[kind]} with {ndim} axis/axes and one row per dicom_id")
    H, W = arrays["findings"].shape[1:]
    if H < 32 or W < 32 or H % 32 or W % 32:  # the network input, whole Ω cells of 32 px
        raise ValueError(f"{path}: array 'findings' holds {H}×{W}-pixel masks; the network input "
                         "it marks is a multiple of 32 on each side")
    _, first, counts = np.unique(ids, return_index=True, return_counts=True)
    if (counts > 1).any():
        raise ValueError(f"{path}: dicom_id {_plain(ids[first[counts > 1][0]])!r} appears more than once")
    bad = (labels < 0) | (labels >= n_classes)
    if bad.any():
        i = int(bad.argmax())
        raise ValueError(f"{path}: dicom_id {_plain(ids[i])!r}, array 'labels': {_plain(labels[i])!r} is not a "
                         f"class 0 … {n_classes - 1}")
