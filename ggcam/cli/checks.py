"""Pre-flight checks of the command line: paths, device, a prepare cache, real results.

Each raises ``ValueError`` with one line naming the option and the value, before any work;
``ggcam.cli.commands`` turns it into an exit status 2.
"""

from __future__ import annotations

import argparse
import errno
import re
from pathlib import Path


def path_argument(text: str) -> Path:
    """A path on the command line; a symbolic-link loop is named here, not deep in a traceback."""
    path = Path(text).expanduser()
    try:
        path.resolve()
    except RuntimeError:  # Python < 3.13 reports a loop so
        raise argparse.ArgumentTypeError(f"{text}: a loop of symbolic links") from None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise argparse.ArgumentTypeError(f"{text}: a loop of symbolic links") from None
        raise argparse.ArgumentTypeError(f"{text}: {err.strerror}") from None
    return path


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def check_paths(args) -> None:
    """Before any work: inputs must be folders that exist, outputs must not be files."""
    for name in ("data_root", "mimic_root", "egd_root"):
        path = getattr(args, name, None)
        if path is not None and not path.is_dir():
            what = "is a file, not a folder" if path.exists() else "does not exist"
            raise ValueError(f"{flag(name)} {path} {what}")
    for name in OUTPUTS:
        path = getattr(args, name, None)
        if path is not None and path.exists() and not path.is_dir():
            raise ValueError(f"{flag(name)} {path} is a file, not a folder")
    if getattr(args, "mimic_root", None) and "data_root" in vars(args) and args.data_root is None:
        raise ValueError("--mimic-root is only used with --data-root (the phantom writes its own)")
    check_outputs_outside_data(args)


OUTPUTS = ("results", "work", "out", "cache")  # the folders a command writes into
DATA_ROOTS = ("data_root", "mimic_root", "egd_root")  # the folders it only reads


def check_outputs_outside_data(args) -> None:
    """Nothing a command writes lands inside the data it reads: the data roots are never
    written to (README). Compared resolved, so a symlink or ``..`` does not slip through.

    Raises:
        ValueError: naming the output option and path and the data option and path.
    """
    outputs = [(flag(n), getattr(args, n)) for n in OUTPUTS if getattr(args, n, None) is not None]
    from ggcam.tune.storage import storage_file

    storage = storage_file(getattr(args, "storage", None))
    if storage is not None:
        outputs.append(("--storage", storage))
    for data_name in DATA_ROOTS:
        root = getattr(args, data_name, None)
        if root is None:
            continue
        data = root.expanduser().resolve()
        for out_flag, out in outputs:
            where = out.expanduser().resolve()
            if where == data or where.is_relative_to(data):
                raise ValueError(f"{out_flag} {out} is inside {flag(data_name)} {root}: the data "
                                 "is only ever read; give an output folder outside it")
    _check_outside_generated(args, outputs)


def _check_outside_generated(args, outputs) -> None:
    """Without --data-root a command reads the phantom it generates under --work (and the
    caches it prepares there): those are data too, so no other output goes inside them."""
    work = getattr(args, "work", None)
    if work is None or getattr(args, "data_root", None) is not None:
        return
    for sub in ("phantom", "prepared"):
        data = (work / sub).expanduser().resolve()
        for out_flag, out in outputs:
            where = out.expanduser().resolve()
            if out_flag != "--work" and (where == data or where.is_relative_to(data)):
                raise ValueError(f"{out_flag} {out} is inside {work / sub}, the data this command "
                                 "generates and reads; give an output folder outside it")


def outputs_of(args) -> str:
    """"while writing under --results R, --work W: ", for an OS error that names no file (a
    full disk: ``write`` reports "No space left on device" without a path)."""
    named = [f"{flag(n)} {getattr(args, n)}" for n in OUTPUTS if getattr(args, n, None) is not None]
    return f"while writing under {', '.join(named)}: " if named else ""


def check_device(device: str | None) -> None:
    if device is None:
        return
    m = re.fullmatch(r"cpu|cuda(?::(\d+))?", device)
    if m is None:
        raise ValueError(f"--device {device!r}: expected cpu, cuda or cuda:N")
    if device.startswith("cuda"):
        import torch

        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if n == 0:
            raise ValueError(f"--device {device}: torch sees no CUDA GPU on this machine")
        if m.group(1) is not None and int(m.group(1)) >= n:
            raise ValueError(f"--device {device}: this machine has {n} CUDA GPU(s), cuda:0 to "
                             f"cuda:{n - 1}")


def check_prepare(args) -> None:
    """Swapped roots, and a --cache that is not a cache: ``prepare`` replaces that folder whole."""
    import json

    sheet = "master_sheet.csv"
    if not (args.egd_root / sheet).is_file():
        swapped = (args.mimic_root / sheet).is_file()
        raise ValueError(f"--egd-root {args.egd_root} holds no {sheet}"
                         + (f", but --mimic-root {args.mimic_root} does: are the two swapped?"
                            if swapped else " (give the EGD-CXR folder that holds it)"))
    cache = args.cache.resolve()
    for name in ("egd_root", "mimic_root"):
        root = getattr(args, name).resolve()
        if cache == root or root.is_relative_to(cache) or cache.is_relative_to(root):
            raise ValueError(f"--cache {args.cache} overlaps {flag(name)} {getattr(args, name)}: "
                             "give a cache folder outside the data")
    if cache.is_dir() and any(cache.iterdir()):
        try:
            ok = "params" in json.loads((cache / "manifest.json").read_text())
        except (OSError, ValueError, TypeError):
            ok = False
        if not ok:
            raise ValueError(f"--cache {args.cache} is a non-empty folder that is not a ggcam "
                             "cache (no manifest.json); prepare replaces its cache folder whole, "
                             "so give a new or an empty folder")


def protect_real_results(profile, args) -> None:
    """Results made from real (credentialed) data are never committed: ``*`` in a .gitignore
    of ``results/<profile>/``, written before any result."""
    from ggcam.data import ensure_dataset
    from ggcam.runtime import atomic_write_text

    if args.data_root is None:
        return  # a phantom the run makes itself (or the profile's clear error about --data-root)
    roots = ensure_dataset(args.data_root, work_root=args.work, n_images=profile.n_images,
                           scale=profile.scale, mimic_root=args.mimic_root, progress=False)
    ignore = args.results / profile.name / ".gitignore"
    if roots.origin == "real" and not ignore.is_file():
        atomic_write_text("# made from real (credentialed) data: never commit\n*\n", ignore)
