"""``ensure_dataset``: the one way to get data, phantom or real, and what it is.

* Without ``data_root`` the phantom is generated once under
  ``work_root/phantom/n{n}-x{scale}-s{seed}[-i{informativeness}]`` and reused while its
  marker (``phantom_marker``) says it is complete and has the same parameters.
* With ``data_root`` nothing is ever generated: the release and MIMIC-CXR are looked up
  there, and what is missing is said exactly.

Whether data is the phantom is read from the data (``is_phantom``: the marker beside the
release, or the phantom writer's UID in a DICOM), never from a name. ``data_identity`` is a
short fingerprint of the files a run reads, for caches and run records.
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ggcam.data.checks import check_roots, require_file
from ggcam.data.layout import BOUNDING_BOXES, CASE_DIR, EYE_GAZE, FIXATIONS, MASTER_SHEET
from ggcam.data.phantom.files import IMPLEMENTATION_UID
from ggcam.data.phantom.marker import read_marker
from ggcam.data.phantom.truth import TRUTH_FILE, truth_beside

EGD_PARTS, MIMIC_PARTS = ("egd-cxr", "1.0.0"), ("mimic-cxr", "2.0.0")
ORIGINS = ("phantom", "real")


@dataclass(frozen=True)
class DataRoots:
    egd_root: Path  # .../egd-cxr/1.0.0, holding master_sheet.csv
    mimic_root: Path  # .../mimic-cxr/2.0.0, holding files/p..
    origin: str  # "phantom" or "real", read from the data (is_phantom)
    truth_path: Path | None  # phantom-truth.csv beside the release; None for real data


def _number(x: float) -> str:
    """A short, exact spelling of a float for a folder name: 0.05 → "0.05", 1.0 → "1"."""
    short = f"{float(x):g}"
    return short if float(short) == float(x) else repr(float(x))


def phantom_dir(work_root: str | Path, n_images: int, scale: float, seed: int = 0,
                informativeness: float | None = None) -> Path:
    """The folder ``ensure_dataset`` generates a phantom into."""
    name = f"n{int(n_images)}-x{_number(scale)}-s{int(seed)}"
    if informativeness is not None:
        name += f"-i{_number(informativeness)}"
    return Path(work_root) / "phantom" / name


def _egd_candidates(root: Path) -> list[Path]:
    return [root, root.joinpath(*EGD_PARTS), root / EGD_PARTS[1],
            root.joinpath("files", *EGD_PARTS)]  # the layout `wget -r` of PhysioNet leaves


def _mimic_candidates(egd: Path, data_root: Path, mimic_root: Path | None) -> list[Path]:
    if mimic_root is not None:
        return [mimic_root, mimic_root.joinpath(*MIMIC_PARTS), mimic_root / MIMIC_PARTS[1]]
    out = [egd.parent.parent.joinpath(*MIMIC_PARTS)]  # beside egd-cxr/
    return out + [c for c in (data_root.joinpath(*MIMIC_PARTS),) if c not in out]


def find_roots(data_root: str | Path, mimic_root: str | Path | None = None) -> tuple[Path, Path]:
    """(egd_root, mimic_root) of real or phantom data under ``data_root``; generates nothing.

    ``data_root`` may be the release itself, a folder holding ``egd-cxr/1.0.0`` or ``1.0.0``;
    MIMIC-CXR is ``mimic_root`` (or its ``mimic-cxr/2.0.0``), else ``mimic-cxr/2.0.0`` beside
    ``egd-cxr`` or under ``data_root``.

    Raises:
        FileNotFoundError: what is missing and every place looked at.
    """
    data_root = Path(data_root).expanduser()
    if not data_root.is_dir():
        raise FileNotFoundError(f"data_root {data_root} is not a folder")
    egd = next((c for c in _egd_candidates(data_root) if (c / MASTER_SHEET).is_file()), None)
    if egd is None:
        looked = ", ".join(str(c / MASTER_SHEET) for c in _egd_candidates(data_root))
        raise FileNotFoundError(f"no EGD-CXR release under data_root {data_root}: none of {looked} "
                                "exists (data_root must hold egd-cxr/1.0.0/master_sheet.csv)")
    mimic_arg = None if mimic_root is None else Path(mimic_root).expanduser()
    candidates = _mimic_candidates(egd, data_root, mimic_arg)
    mimic = next((c for c in candidates if (c / "files").is_dir()), None)
    if mimic is None and mimic_arg is not None and (mimic_arg / MASTER_SHEET).is_file():
        raise ValueError(f"mimic_root {mimic_arg} holds {MASTER_SHEET}: it is an EGD-CXR release, "
                         "not MIMIC-CXR (roots swapped?)")
    if mimic is None:
        looked = ", ".join(str(c / "files") for c in candidates)
        where = "mimic_root" if mimic_arg is not None else f"beside {egd}"
        raise FileNotFoundError(f"found the EGD-CXR release {egd} but no MIMIC-CXR images {where}: "
                                f"none of {looked} is a folder (pass mimic_root=.../mimic-cxr/2.0.0)")
    check_roots(egd, mimic)
    return egd, mimic


def _dicom_paths(egd_root: Path, mimic_root: Path) -> list[Path]:
    """The DICOMs the master sheet lists, each checked to lie inside ``mimic_root`` and to be
    no other row's (``tables.check_dicom_paths``): nothing outside the root is read or hashed."""
    from ggcam.data.tables import read_master_sheet

    sheet = read_master_sheet(egd_root / MASTER_SHEET)
    return [mimic_root / p for p in sheet["path"]]


def _first_dicom_is_phantom(egd_root: Path, mimic_root: Path) -> bool:
    import pydicom

    try:
        first = _dicom_paths(egd_root, mimic_root)[0]
        meta = pydicom.dcmread(first, stop_before_pixels=True).file_meta
    except (OSError, ValueError, IndexError, pydicom.errors.InvalidDicomError):
        return False
    return str(meta.get("ImplementationClassUID", "")) == IMPLEMENTATION_UID


def is_phantom(egd_root: str | Path, mimic_root: str | Path | None = None) -> bool:
    """Whether the release at ``egd_root`` was written by ``make_phantom``.

    True when the phantom's marker sits beside the release (``<root>/.ggcam-phantom.json``),
    or, without it (a copied release), when the first DICOM of the master sheet carries the
    phantom writer's ImplementationClassUID. ``mimic_root`` defaults to
    ``mimic-cxr/2.0.0`` beside ``egd-cxr``.
    """
    egd = Path(egd_root).resolve()
    if read_marker(egd.parent.parent) is not None:
        return True
    mimic = Path(mimic_root) if mimic_root is not None else egd.parent.parent.joinpath(*MIMIC_PARTS)
    return _first_dicom_is_phantom(egd, mimic)


def _stat(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _files_digest(paths) -> list:
    """[count, missing, total size, sha256 of every (path, size, mtime_ns)] of ``paths``.

    Per-file stamps, not just a total and a latest time: an edit that keeps the size, or sets
    an older mtime, still changes the digest.
    """
    h = hashlib.sha256()
    count = missing = size = 0
    for path in paths:
        s = _stat(path)
        if s is None:
            missing += 1
            continue
        count, size = count + 1, size + s[0]
        h.update(f"{path}\0{s[0]}\0{s[1]}\n".encode())
    return [count, missing, size, h.hexdigest()]


def _tree(folder: Path):
    for dirpath, dirnames, names in os.walk(folder):
        dirnames.sort()
        for name in sorted(names):
            yield Path(dirpath) / name


def data_identity(egd_root: str | Path, mimic_root: str | Path) -> str:
    """A 16-hex-digit fingerprint of the data a run reads.

    Hashes the two resolved roots, size and mtime of the master sheet, both gaze tables, the
    bounding boxes and the phantom truth file (when present), and the size and mtime of every
    file under the per-image folders and of every DICOM the master sheet lists (a few
    thousand ``stat`` calls, no file is read but the master sheet). Any edit that changes a
    file's size or mtime changes the identity.

    Raises:
        FileNotFoundError, ValueError: no readable master sheet.
    """
    egd, mimic = Path(egd_root).resolve(), Path(mimic_root).resolve()
    require_file(egd / MASTER_SHEET, "master sheet")
    truth = truth_beside(egd)
    marker = read_marker(egd.parent.parent)
    if marker is not None and marker.get("complete"):
        return _phantom_identity(egd, mimic, marker, truth)
    parts = {"egd_root": str(egd), "mimic_root": str(mimic),
             "files": {n: _stat(egd / n) for n in (MASTER_SHEET, FIXATIONS, EYE_GAZE, BOUNDING_BOXES)},
             "truth": _stat(truth) if truth is not None else None,
             "cases": _files_digest(_tree(egd / CASE_DIR)),
             "dicoms": _files_digest(_dicom_paths(egd, mimic))}
    blob = json.dumps(parts, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _phantom_identity(egd: Path, mimic: Path, marker: dict, truth: Path | None) -> str:
    """A phantom's identity from what it is, not where or when it was written.

    A phantom is a function of its parameters (the same seed writes the same bytes), so a
    clone on another machine, regenerating it elsewhere, must find its committed runs done:
    the marker's parameters and the relative path and content of every file it reads (tables,
    truth, case files, DICOMs: a content hash, so an edit of any byte shows); no absolute
    path, no mtime. Hashing reads the files once: ~0.2 s for the cpu profile's phantom,
    tens of seconds for a full-size one.
    """
    h = hashlib.sha256()
    h.update(json.dumps({k: marker.get(k) for k in sorted(marker) if k != "complete"},
                        sort_keys=True).encode())
    for path in (egd / MASTER_SHEET, egd / FIXATIONS, egd / EYE_GAZE, egd / BOUNDING_BOXES, truth):
        if path is not None and path.is_file():
            h.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    for base, paths in ((egd, _tree(egd / CASE_DIR)), (mimic, _dicom_paths(egd, mimic))):
        for path in paths:
            rel = os.path.relpath(path, base)
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
            h.update(f"{rel}\0{digest}\n".encode())
    return "p" + h.hexdigest()[:15]


@contextmanager
def _locked(path: Path):
    """An exclusive lock on ``path`` (created), so concurrent callers (DDP ranks, parallel
    runs) generate a phantom once and the others wait and reuse it. No-op without fcntl."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _reusable(root: Path, wanted: dict) -> bool:
    marker = read_marker(root)
    return bool(marker and marker.get("complete") and {k: marker.get(k) for k in wanted} == wanted
                and (root.joinpath(*EGD_PARTS) / MASTER_SHEET).is_file()
                and (root / TRUTH_FILE).is_file())


def _check_number(name: str, value, lo: float, hi: float | None = None, *, integer=False) -> None:
    ok = not isinstance(value, bool) and isinstance(value, int if integer else (int, float))
    if not ok or not (lo <= value and (hi is None or value <= hi)):
        span = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ValueError(f"{name} must be {'an int' if integer else 'a number'} {span}, got {value!r}")


def ensure_dataset(data_root: str | Path | None = None, *, work_root: str | Path, n_images: int,
                   scale: float, seed: int = 0, informativeness: float | None = None,
                   mimic_root: str | Path | None = None, progress: bool = True,
                   workers: int = 1) -> DataRoots:
    """The dataset a run reads: the phantom (made once, then reused) or real data (found).

    Args:
        data_root: None for the phantom; else a folder holding the real (or a copied phantom)
            release, see ``find_roots``. Nothing is generated or written there.
        work_root: where phantoms live (``work_root/phantom/...``); unused with ``data_root``.
        n_images, scale, seed, informativeness: the phantom's parameters (``make_phantom``);
            unused with ``data_root``.
        mimic_root: MIMIC-CXR, when it is not beside the release; only with ``data_root``.
        progress: progress bar while generating.
        workers: processes generating the phantom.

    Returns:
        ``DataRoots``; ``origin`` is read from the data (``is_phantom``), ``truth_path`` is the
        phantom truth beside the release or None.
    """
    if data_root is not None:
        egd, mimic = find_roots(data_root, mimic_root)
        origin = "phantom" if is_phantom(egd, mimic) else "real"
        return DataRoots(egd, mimic, origin, truth_beside(egd) if origin == "phantom" else None)
    if mimic_root is not None:
        raise ValueError("mimic_root is only used with data_root (real data); the phantom "
                         "writes its own")
    _check_number("n_images", n_images, 1, integer=True)
    _check_number("seed", seed, 0, integer=True)
    _check_number("scale", scale, 0, 2)
    if informativeness is not None:
        _check_number("informativeness", informativeness, 0, 1)
    from ggcam.data.phantom.generate import make_phantom, phantom_params  # only when a phantom is wanted

    root = phantom_dir(work_root, n_images, scale, seed, informativeness)
    wanted = phantom_params(n_images, scale, seed, informativeness)
    if not _reusable(root, wanted):
        with _locked(root.with_name(root.name + ".lock")):
            if not _reusable(root, wanted):  # another process may have made it meanwhile
                make_phantom(root, n_images=n_images, scale=scale, seed=seed, workers=workers,
                             progress=progress, informativeness=informativeness)
    return DataRoots(root.joinpath(*EGD_PARTS), root.joinpath(*MIMIC_PARTS), "phantom",
                     root / TRUTH_FILE)
