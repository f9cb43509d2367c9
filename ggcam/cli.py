"""The ``ggcam`` command line: phantom, prepare, train (one run), sweep.

Every user error exits with status 2 and one line naming the file, option or value.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _shape(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW such as 1536x1280, got {text!r}") from None
    if h < 32 or w < 32 or h % 32 or w % 32:
        raise argparse.ArgumentTypeError(
            f"H and W must be positive multiples of 32 (the network stride), got {text!r}")
    return h, w


def _shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected i/n such as 0/4, got {text!r}") from None
    if not (n >= 1 and 0 <= i < n):
        raise argparse.ArgumentTypeError(f"shard i/n needs 0 <= i < n and n >= 1, got {text!r}")
    return i, n


def _non_negative(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return v


def _positive(text: str) -> int:
    v = _non_negative(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return v


def _parser() -> argparse.ArgumentParser:
    from .config import FAMILY_OF, VARIANT_ALIASES, VARIANTS
    from .experiment import PROFILES

    p = argparse.ArgumentParser(prog="ggcam", description=(
        "Gaze-Guided Class Activation Mapping: generate phantom data, prepare a dataset cache, "
        "train one run, or run a whole experiment sweep."))
    sub = p.add_subparsers(dest="command", required=True)

    ph = sub.add_parser("phantom", help="write a synthetic EGD-CXR + MIMIC-CXR dataset in the real layout")
    ph.add_argument("--out", type=Path, required=True, help="folder to create (gets egd-cxr/ and mimic-cxr/)")
    ph.add_argument("--n", type=_positive, default=1083, help="number of images (default: 1083, as the real release)")
    ph.add_argument("--scale", type=float, default=1.0, help="image scale; 1.0 is full size, 3056×2544 (default: 1.0)")
    ph.add_argument("--seed", type=_non_negative, default=0, help="the same seed writes the same bytes (default: 0)")
    ph.add_argument("--force", action="store_true",
                    help="write into a non-empty folder (only folders a phantom wrote are replaced)")
    ph.add_argument("--workers", type=_positive, default=1, help="processes for generation (default: 1)")

    pr = sub.add_parser("prepare", help="turn EGD-CXR (real or phantom) into a network-ready cache")
    pr.add_argument("--egd-root", type=Path, required=True, help="the folder holding master_sheet.csv")
    pr.add_argument("--mimic-root", type=Path, required=True, help="the MIMIC-CXR folder holding files/")
    pr.add_argument("--cache", type=Path, required=True, help="cache folder to create or reuse")
    pr.add_argument("--input-shape", type=_shape, default=(1536, 1280), help="network input HxW (default: 1536x1280, Ω 48x40)")
    blur = pr.add_mutually_exclusive_group()
    blur.add_argument("--kernel-size", type=int, default=None, help="blur B, OpenCV's kernel size rule (default: 500)")
    blur.add_argument("--sigma", type=float, default=None, help="blur σ in original image pixels, instead of B")
    pr.add_argument("--gaze", choices=("fixations", "eye_gaze"), default="fixations", help="gaze table (default: fixations)")
    pr.add_argument("--workers", type=_positive, default=2, help="processes (default: 2)")

    def run_options(a: argparse.ArgumentParser) -> None:
        a.add_argument("--profile", choices=sorted(PROFILES), default="smoke",
                       help="sizes, seeds and epoch caps (default: smoke); 'paper' needs --data-root")
        a.add_argument("--data-root", type=Path, default=None,
                       help="real EGD-CXR download (holding egd-cxr/1.0.0), or a phantom folder")
        a.add_argument("--mimic-root", type=Path, default=None, help="MIMIC-CXR folder if not beside EGD-CXR")
        a.add_argument("--results", type=Path, default=Path("results"), help="results root (default: results)")
        a.add_argument("--work", type=Path, default=Path(".cache"),
                       help="phantoms, caches and checkpoints (default: .cache)")
        a.add_argument("--device", default=None, help="override the profile's device, e.g. cpu or cuda:0")
        a.add_argument("--threads", type=_positive, default=None,
                       help="torch threads per run (default: the profile's, else torch's)")
        a.add_argument("--quiet", action="store_true", help="no progress bars")

    tr = sub.add_parser("train", help="train one network × variant × seed of a profile (resumes if interrupted)")
    run_options(tr)
    tr.add_argument("--network", choices=sorted(FAMILY_OF), default="resnet50", help="(default: resnet50)")
    tr.add_argument("--variant", choices=(*VARIANTS, *VARIANT_ALIASES), default="ggcam",
                    help="(default: ggcam)")
    tr.add_argument("--seed", type=_non_negative, default=0, help="(default: 0)")
    tr.add_argument("--resume", action="store_true",
                    help="continue an interrupted run from its last checkpoint (default: start afresh)")

    sw = sub.add_parser("sweep", help="every network × variant × seed of a profile, resumable, results as data")
    run_options(sw)
    sw.add_argument("--shard", type=_shard, default=(0, 1), help="run only share i of n, e.g. 0/4 (default: 0/1)")
    sw.add_argument("--fresh", nargs="+", metavar="RUN_ID", default=None,
                    help="forget these runs (or 'all' of this shard) and train them again")
    rs = sub.add_parser("rescore", help="recompute every run's metrics from its stored predictions and maps")
    rs.add_argument("--profile", choices=sorted(PROFILES), default="cpu", help="(default: cpu)")
    rs.add_argument("--results", type=Path, default=Path("results"), help="results root (default: results)")
    return p


def main(argv: list[str] | None = None) -> int:
    from .checkpoint import CheckpointError

    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except (ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError,
            PermissionError, CheckpointError) as err:
        print(f"ggcam {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ggcam {args.command}: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


def _dispatch(args) -> int:
    if args.command == "phantom":
        from .data import make_phantom

        if args.out.exists() and not args.out.is_dir():
            raise ValueError(f"--out {args.out} is a file, not a folder")
        if args.out.is_dir() and any(args.out.iterdir()) and not args.force:
            raise ValueError(f"--out {args.out} is not empty; use --force to write a phantom "
                             "there (only folders a phantom wrote are ever replaced)")
        roots = make_phantom(args.out, n_images=args.n, scale=args.scale, seed=args.seed,
                             workers=args.workers)
        print(f"EGD-CXR root: {roots['egd_root']}\nMIMIC-CXR root: {roots['mimic_root']}")
    elif args.command == "prepare":
        from .data import prepare

        blur = dict(kernel_size=args.kernel_size, sigma=args.sigma)
        if blur["kernel_size"] is None and blur["sigma"] is None:
            blur["kernel_size"] = 500
        path = prepare(args.egd_root, args.mimic_root, args.cache, input_shape=args.input_shape,
                       gaze=args.gaze, workers=args.workers, **blur)
        print(f"cache: {path}")
    elif args.command == "rescore":
        from .experiment.metrics import rescore
        from .experiment.store import ResultsStore

        store = ResultsStore(args.results / args.profile)
        if not (store.path / "runs").is_dir():
            raise FileNotFoundError(f"no runs under {store.path}")
        print(f"{rescore(store)} records rescored in {store.path / 'runs.csv'}")
    else:
        _run_command(args)
    return 0


def _run_command(args) -> None:
    from .experiment import RunSpec, get_profile
    from .experiment.store import ResultsStore
    from .experiment.sweep import ProfileData, _check_writable, _prepare_checkpoints, run_one, run_sweep

    profile = get_profile(args.profile)
    if args.threads:
        from dataclasses import replace

        profile = replace(profile, options=replace(profile.options, threads=args.threads))
    if args.device and args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ValueError(f"--device {args.device}: torch sees no CUDA GPU on this machine")
    if args.command == "sweep":
        fresh = "all" if args.fresh == ["all"] else args.fresh
        runs = run_sweep(profile, data_root=args.data_root, mimic_root=args.mimic_root,
                         results_root=args.results, work_root=args.work, shard=args.shard,
                         device=args.device, progress=not args.quiet, fresh=fresh)
        print(f"{len(runs)} runs in {args.results / profile.name / 'runs.csv'}")
        return
    store = ResultsStore(args.results / profile.name)
    ckpt_root = args.work / "checkpoints" / profile.name
    _check_writable(store.path)
    _check_writable(ckpt_root)
    spec = RunSpec(profile.name, args.network, args.variant, args.seed)
    if not args.resume:
        import shutil

        shutil.rmtree(ckpt_root / spec.run_id, ignore_errors=True)
    _prepare_checkpoints(ckpt_root / spec.run_id)
    data = ProfileData(profile, args.data_root, args.work, args.mimic_root, progress=not args.quiet)
    rec = run_one(spec, profile, data, store, ckpt_root, device=args.device,
                  progress=not args.quiet)
    store.collect()
    print(f"{spec.run_id}: test AUC (ovo) {rec.auc_ovo}, epochs {rec.epochs}, {rec.wall_s} s; "
          f"record in {store.path / 'runs' / (spec.run_id + '.json')}; weights in "
          f"{ckpt_root / spec.run_id / 'best.pt'}")
