"""The cache's folder on disk: ``prepare`` writes into a temporary sibling and renames it into
place, so a cache is only ever there whole.

A temporary folder holds ``OWNER``, locked (``flock``) by its writer for as long as the writer
lives: the kernel drops the lock however the writer dies, so the next ``prepare`` tells a dead
writer's leftovers (removed) from a live one's (kept), on this machine or any other.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

try:  # POSIX: the owner lock of a temporary folder
    import fcntl
except ImportError:  # pragma: no cover (Windows)
    fcntl = None

from ggcam.runtime import probe_writable

OWNER = ".owner"  # in a temporary folder: locked (flock) by its writer for as long as it lives
ORPHAN_AGE_S = 3600  # a temporary folder without an owner file is dead after this long


def claim(folder: Path):
    """Create ``folder/OWNER`` and hold an exclusive lock on it until the file is closed (the
    kernel drops the lock when the writer dies, however it dies)."""
    owner = open(folder / OWNER, "w")
    if fcntl is not None:
        fcntl.flock(owner, fcntl.LOCK_EX)
    return owner


def check_cache_parent(cache_dir: Path) -> None:
    try:
        probe_writable(cache_dir.parent)
    except OSError as err:
        raise ValueError(f"cannot write the cache {cache_dir}: {err.strerror or err}") from None


def remove_dead_temps(cache_dir: Path) -> None:
    """Delete the temporary folders of ``prepare`` calls that were killed (nobody holds their
    owner lock); a live writer's folder is kept, on this machine or any other."""
    for folder in [*cache_dir.parent.glob(f".{cache_dir.name}.tmp-*"),
                   *cache_dir.parent.glob(f".{cache_dir.name}.old-*")]:
        if _is_dead(folder):
            shutil.rmtree(folder, ignore_errors=True)


def _is_dead(folder: Path) -> bool:
    try:
        with open(folder / OWNER) as owner:
            if fcntl is None:
                return False  # no way to tell on this platform: keep it
            try:
                fcntl.flock(owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # its writer holds the lock: alive
            return True
    except FileNotFoundError:
        # No owner file: just made (the writer claims it next), being renamed into place, or
        # left by a ggcam that wrote none. Dead only when old.
        try:
            return time.time() - folder.stat().st_mtime > ORPHAN_AGE_S
        except FileNotFoundError:
            return False  # gone meanwhile: nothing to do


def make_temp(cache_dir: Path) -> Path:
    """A fresh temporary sibling of ``cache_dir`` to build the cache in (claim it next)."""
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{cache_dir.name}.tmp-", dir=cache_dir.parent))


def swap_into_place(tmp: Path, cache_dir: Path) -> None:
    """Rename the finished ``tmp`` to ``cache_dir``; an old cache there is moved aside into a
    claimed folder first, so a kill between the two renames leaves a folder the next call
    removes, never a half-deleted cache."""
    if cache_dir.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{cache_dir.name}.old-", dir=cache_dir.parent))
        with claim(trash):
            os.replace(cache_dir, trash / "old")
            os.replace(tmp, cache_dir)
            shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(tmp, cache_dir)
    (cache_dir / OWNER).unlink(missing_ok=True)  # a finished cache has no owner
