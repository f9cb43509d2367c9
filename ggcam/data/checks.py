"""Input checks shared by the readers: one clear error naming the file, column or value.

A missing file, a folder where a file should be (or the reverse), an empty or header-only
CSV, ids with stray spaces: each is reported here, at the top, in words, instead of a
traceback from deep inside pandas, pydicom or PIL.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import pandas as pd


def require_file(path: Path, what: str) -> None:
    """``path`` is a regular file; else FileNotFoundError (missing) or ValueError (a folder)."""
    path = Path(path)
    if path.is_file():
        return
    if path.is_dir():
        raise ValueError(f"{what} {path} is a folder, expected a file")
    if path.exists():
        raise ValueError(f"{what} {path} is not a regular file")
    raise FileNotFoundError(f"{what} not found: {path}")


def require_dir(path: Path, what: str) -> None:
    """``path`` is a folder; else FileNotFoundError (missing) or ValueError (a file)."""
    path = Path(path)
    if path.is_dir():
        return
    if path.exists():
        raise ValueError(f"{what} {path} is a file, expected a folder")
    raise FileNotFoundError(f"{what} is not a folder: {path} (it does not exist)")


def require_columns(path: Path, columns, required) -> None:
    missing = [c for c in required if c not in columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(map(repr, missing))}")


def require_unique_header(path: Path) -> None:
    """No column name twice in the header line of ``path``.

    pandas renames a repeated name (``CHF``, ``CHF.1``) and every reader then takes the first:
    a second ``CHF`` or ``X_ORIGINAL`` would be silently ignored. An empty file passes (the
    CSV reader says it is empty).
    """
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        header = next(csv.reader(f), [])
    seen: dict[str, int] = {}
    for k, name in enumerate(header, start=1):
        if name in seen:
            raise ValueError(f"{path}: column {name!r} appears twice in the header (columns "
                             f"{seen[name]} and {k}); a CSV reader would keep only one of them")
        seen[name] = k


def require_complete(path: Path) -> None:
    """A release CSV ends with a line break; one that does not was cut off mid-row."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        if f.tell() == 0:
            return  # empty: read_csv says so
        f.seek(-1, 2)
        if f.read(1) not in (b"\n", b"\r"):
            raise ValueError(f"{path}: the last line has no line break; the file looks truncated "
                             "(an interrupted download or copy?)")


def csv_header(path: Path) -> pd.Index:
    """The column names of a CSV file, each once (``require_unique_header``)."""
    header = read_csv(path, nrows=0).columns
    require_unique_header(path)
    return header


def read_csv(path: Path, *, allow_empty: bool = False, **kwargs) -> pd.DataFrame:
    """``pd.read_csv`` whose failures name the file: empty (0 bytes), header only, unparsable."""
    path = Path(path)
    try:
        table = pd.read_csv(path, **kwargs)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: empty file ({path.stat().st_size} bytes, no header)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable CSV file: {exc}") from exc
    except ValueError as exc:  # e.g. usecols naming an absent column, a bad dtype
        raise ValueError(f"{path}: {exc}") from exc
    if not allow_empty and kwargs.get("nrows") != 0 and len(table) == 0:
        raise ValueError(f"{path}: no rows (header only)")
    return table


def strip_ids(table: pd.DataFrame, columns, path: Path) -> pd.DataFrame:
    """Strip surrounding whitespace from id-like text columns, warning with the first case.

    A ``dicom_id`` written as ``"abc "`` would silently match nothing; the release has none.
    """
    changed = []
    for col in columns:
        if col not in table.columns:
            continue
        values = table[col].astype(str)
        stripped = values.str.strip()
        bad = (stripped != values).to_numpy()
        if bad.any():
            changed.append(f"{col} ({int(bad.sum())} value(s), e.g. {values[bad].iloc[0]!r})")
            table[col] = stripped
    if changed:
        warnings.warn(f"{path}: stripped surrounding whitespace from {'; '.join(changed)}",
                      stacklevel=3)
    return table


def check_roots(egd_root: Path, mimic_root: Path) -> None:
    """The two roots exist and are the right way round (format doc §1).

    The EGD root holds ``master_sheet.csv``; the MIMIC-CXR root holds ``files/``, which the
    master sheet's ``path`` column starts with.
    """
    from ggcam.data.layout import MASTER_SHEET

    egd, mimic = Path(egd_root), Path(mimic_root)
    require_dir(egd, "egd_root")
    require_dir(mimic, "mimic_root")
    if not (egd / MASTER_SHEET).exists() and (mimic / MASTER_SHEET).is_file():
        raise ValueError(f"egd_root and mimic_root look swapped: {MASTER_SHEET} is in mimic_root "
                         f"{mimic}, not in egd_root {egd}")
    if not (mimic / "files").exists():
        hint = ""
        if mimic.name == "files":
            hint = f"; pass the folder above it, {mimic.parent}"
        elif (mimic / "mimic-cxr" / "2.0.0" / "files").is_dir():
            hint = f"; pass {mimic / 'mimic-cxr' / '2.0.0'}"
        elif (mimic / "2.0.0" / "files").is_dir():
            hint = f"; pass {mimic / '2.0.0'}"
        raise FileNotFoundError(f"mimic_root {mimic} has no files/ folder (the master sheet's "
                                f"paths are files/p../p../s../<dicom_id>.dcm){hint}")
    require_dir(mimic / "files", "MIMIC-CXR files folder")


def check_distinct_files(files: list[tuple[str, Path]], root: Path, what: str, source: Path) -> None:
    """Each row's file (``(dicom_id, path)`` pairs) is its own: it resolves inside ``root`` and
    no other row's path leads to the same file (a symbolic or hard link to another row's DICOM,
    case folder or mask would give this row another image under its own label).

    Raises:
        ValueError: naming ``source`` (the master sheet), both dicom_ids and the paths.
    """
    inside = root.resolve()
    seen: dict[tuple[int, int], tuple[str, Path]] = {}
    for dicom_id, path in files:
        real = path.resolve()
        if not real.is_relative_to(inside):
            raise ValueError(f"{source}: the {what} of dicom_id {dicom_id!r}, {path}, resolves to "
                             f"{real}, outside {root}")
        st = real.stat()
        key = (st.st_dev, st.st_ino)
        if key in seen:
            other, other_path = seen[key]
            raise ValueError(f"{source}: the {what} of dicom_id {dicom_id!r}, {path}, is the same "
                             f"file as dicom_id {other!r}'s, {other_path} (a link): the row would "
                             "read another image's data")
        seen[key] = (dicom_id, path)
