"""What a phantom generation owns under its ``root``, and the refusal to touch anything else.

A generation's temporary folder holds ``TEMP_OWNER`` (the writer's pid) from the moment it
exists: a ".phantom-*" folder without it is not ours and is never removed. Under a marked root,
egd-cxr/ and mimic-cxr/ are replaced whole, so every file in them must be one a phantom writes
(``OWN_FILES``); anything else there is someone's, and the call refuses (``check_owned``).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from ggcam.data import layout as L
from ggcam.data.phantom.marker import MARKER, PARTS, TEMP_OWNER, TEMP_PREFIX, check_replaceable, read_marker
from ggcam.data.phantom.truth import TRUTH_FILE

_ID = r"[0-9a-f]{8}(?:-[0-9a-f]{8}){4}"
_TABLES = "|".join(map(re.escape, (L.MASTER_SHEET, L.FIXATIONS, L.EYE_GAZE, L.BOUNDING_BOXES)))
_CASE_FILES = "|".join(map(re.escape, (*(n[0] for n in L.MASK_FILES.values()), L.TRANSCRIPT)))
OWN_FILES = re.compile(
    rf"egd-cxr/1\.0\.0/(?:{_TABLES})"
    rf"|egd-cxr/1\.0\.0/{re.escape(L.CASE_DIR)}/{_ID}/(?:{_CASE_FILES})"
    rf"|mimic-cxr/2\.0\.0/files/p\d\d/p\d+/s\d+/{_ID}\.dcm")


def make_temp(root: Path) -> Path:
    """The generation's temporary folder under ``root``, with its ownership file in it."""
    tmp = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=root))
    (tmp / TEMP_OWNER).write_text(f"{os.getpid()}\n")
    return tmp


def _foreign_files(root: Path) -> list[Path]:
    """Entries under ``root/egd-cxr`` and ``root/mimic-cxr`` that no phantom writes."""
    out = []
    for part in PARTS:
        top = root / part
        if top.is_symlink() or (top.exists() and not top.is_dir()):
            out.append(top)
            continue
        for dirpath, dirnames, names in os.walk(top):
            if not dirnames and not names and dirpath != str(top):
                out.append(Path(dirpath))  # an empty folder: a phantom writes none
            links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
            for name in sorted(names) + links:
                rel = Path(os.path.relpath(os.path.join(dirpath, name), root)).as_posix()
                if not OWN_FILES.fullmatch(rel):
                    out.append(root / rel)
    return out


def check_owned(root: Path) -> None:
    """Refuse to write into ``root`` when that would remove or overwrite anything the
    phantom did not write: release folders without the marker (``check_replaceable``), a
    file of a name the phantom writes (its truth file, an unreadable marker) without the
    marker, or, under the marker, a foreign file inside the folders it replaces whole.

    Raises:
        ValueError: naming the file and saying it is left alone.
    """
    check_replaceable(root)
    marked = read_marker(root) is not None
    foreign = ([root / n for n in (TRUTH_FILE, MARKER) if os.path.lexists(root / n)]
               if not marked else _foreign_files(root))
    if foreign:
        more = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
        why = ("holds a file no phantom writes" if marked
               else f"is not make_phantom's (no readable {MARKER} in {root})")
        raise ValueError(f"{foreign[0]}{more}: {root} {why}; a phantom would replace it, so it "
                         "is left alone: choose another folder or move it away yourself")

