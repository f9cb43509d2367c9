"""The phantom's claim on its folder: a marker file, and replacing only what it wrote.

``make_phantom(root)`` writes ``root/.ggcam-phantom.json`` (the generation parameters and
whether the last generation finished) before it puts anything into ``root``. A later call
replaces ``root/egd-cxr`` and ``root/mimic-cxr`` only when that marker is there: a folder
without it may be someone's real, credentialed download and is never touched.

A generation builds in ``root/.phantom-<pid>-*`` and renames into place at the end. A
temporary folder whose process no longer runs (killed mid-generation) is removed by the next
call; one of a running process (a concurrent call) is left alone.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

MARKER = ".ggcam-phantom.json"
PARTS = ("egd-cxr", "mimic-cxr")  # the folders a phantom owns under its root
TEMP_PREFIX = ".phantom-"
TEMP_OWNER = ".ggcam-phantom-temp"  # in a generation's temporary folder: its writer's pid


def read_marker(root) -> dict | None:
    """The marker's content, or None when ``root`` has no (readable) marker."""
    try:
        data = json.loads((Path(root) / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_marker(root: Path, params: dict, complete: bool) -> None:
    """Write the marker atomically (a rename), so it is never half-written."""
    tmp = root / f"{MARKER}.tmp-{os.getpid()}"
    tmp.write_text(json.dumps({**params, "complete": bool(complete)}, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, root / MARKER)


def check_replaceable(root: Path) -> None:
    """Refuse to write into ``root`` when it holds release folders the phantom did not write.

    Raises:
        ValueError: naming the folder (or file) and the missing marker.
    """
    if read_marker(root) is not None:
        return
    for part in PARTS:
        if os.path.lexists(root / part):
            raise ValueError(
                f"{root / part} exists and was not written by make_phantom (no {MARKER} in "
                f"{root}); it may be real data, so it is left alone: choose another folder or "
                "remove it yourself")


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_temps(root: Path) -> list[Path]:
    """Remove the temporary folders of generations whose process is gone; return them.

    Only a folder holding ``TEMP_OWNER`` is a generation's; any other ``.phantom-*`` entry
    stays, with a warning saying so.
    """
    removed = []
    for path in sorted(root.glob(f"{TEMP_PREFIX}*")):
        owner = path / TEMP_OWNER
        if path.is_symlink() or not path.is_dir() or not owner.is_file():
            warnings.warn(f"{path}: left alone: named like a phantom's temporary folder but "
                          f"without its {TEMP_OWNER} file, so not written by make_phantom",
                          stacklevel=3)
            continue
        try:
            pid = int(owner.read_text().strip())
        except (OSError, ValueError):
            pid = -1
        if pid == os.getpid() or (pid > 0 and _pid_running(pid)):
            continue  # a generation in progress (possibly this process's own)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def install(tmp: Path, root: Path, params: dict, extra_files=()) -> None:
    """Move a finished generation from ``tmp`` into ``root``, replacing the phantom's own.

    The marker goes first (incomplete), so an interruption leaves folders that are still
    ours; ``complete`` is set only when everything is in place.
    """
    check_replaceable(root)
    write_marker(root, params, complete=False)
    for part in PARTS:
        target = root / part
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.exists():
            shutil.rmtree(target)
        (tmp / part).rename(target)
    for name in extra_files:
        os.replace(tmp / name, root / name)
    write_marker(root, params, complete=True)
