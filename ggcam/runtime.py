"""Where a run executes: seeding, atomic writes, torchrun/DDP, device and commit names."""

from __future__ import annotations

import errno
import os
import platform
import random
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed once, at a run's entry point."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - only for third-party code we do not control
    torch.manual_seed(seed)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()  # what open() gives; mkstemp's 0600 would hide results from the group


def atomic_write_bytes(data: bytes, path: Path) -> None:
    """Write ``path`` whole or not at all: a temp file ``.<name>.*`` beside it, then a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            os.fchmod(f.fileno(), _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(text: str, path: Path) -> None:
    atomic_write_bytes(text.encode(), path)


def atomic_torch_save(obj, path: Path) -> None:
    """``torch.save`` whole or not at all (a killed process leaves ``.<name>.*`` behind)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        try:
            os.fchmod(fd, _FILE_MODE)
        finally:
            os.close(fd)
        try:
            torch.save(obj, tmp)
        except RuntimeError as err:  # torch's writer reports a full disk as "unexpected pos"
            free = shutil.disk_usage(path.parent).free
            why = ("no space left on the device" if free < 64 << 20
                   else str(err).splitlines()[0])  # torch's own words only when it is not the disk
            raise OSError(errno.ENOSPC if free < 64 << 20 else errno.EIO,
                          f"cannot write {path} ({why}; {free / 2**20:.0f} MiB free there)",
                          str(path)) from None
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0


def distributed_context() -> DistContext:
    """Under ``torchrun`` (WORLD_SIZE > 1) join the process group; otherwise a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext()
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    return DistContext(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))


def device_name(device: str) -> str:
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"CPU: {line.split(':', 1)[1].strip()} ({os.cpu_count()} cores)"
    except OSError:
        pass
    return f"CPU: {platform.processor() or platform.machine()} ({os.cpu_count()} cores)"


def git_commit(root: Path | None = None) -> str:
    """The short commit of the checkout holding ``root`` (default: this package's own folder,
    never the cwd), with "+dirty" when tracked files differ from it or untracked files lie
    under ``root``; "unknown" outside a checkout, or when no file under ``root`` is tracked
    (an installed copy inside some other repository, e.g. a virtual environment)."""
    root = Path(root) if root is not None else Path(__file__).resolve().parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}  # no GIT_DIR redirect

    def git(*args: str) -> str:
        out = subprocess.run(["git", "--no-optional-locks", *args], cwd=root, env=env,
                             capture_output=True, text=True, timeout=10)
        if out.returncode:
            raise subprocess.SubprocessError(out.stderr)
        return out.stdout.strip()

    try:
        if not git("ls-files", "--", "."):
            return "unknown"
        commit = git("rev-parse", "--short", "HEAD")
        dirty = (git("status", "--porcelain", "--untracked-files=no")
                 or git("ls-files", "--others", "--exclude-standard", "--", "."))
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}+dirty" if dirty else commit


def probe_writable(folder: Path) -> None:
    """Make ``folder`` and write a uniquely named file in it (so concurrent callers never
    collide); raises the ``OSError`` when either fails."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=folder)
    os.close(fd)
    os.unlink(probe)


def usable_cpus() -> int:
    """CPU cores this process may run on (its affinity mask; ``os.cpu_count()`` elsewhere)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def capped(asked: int, what: str, items: int | None = None) -> int:
    """``asked`` processes or threads, at most the usable cores (and ``items``, when that many
    jobs exist): more would only compete for the same cores. Warns when it caps."""
    import warnings

    limit = usable_cpus() if items is None else max(1, min(usable_cpus(), int(items)))
    if asked > limit:
        warnings.warn(f"{what}: {asked} asked for, {limit} used (this machine has "
                      f"{usable_cpus()} usable cores{'' if items is None else f', {items} jobs'})",
                      stacklevel=3)
        return limit
    return asked
