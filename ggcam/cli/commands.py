"""The ``ggcam`` command line: phantom, prepare, train (one run), sweep, rescore, rerun, tune.

Every user error exits with status 2 and one line naming the file, option or value.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import warnings
from pathlib import Path

from ggcam.cli import checks, tune


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block), exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _join_dash_values(argv: list[str]) -> list[str]:
    """``--shard -1/2`` → ``--shard=-1/2``: argparse takes a value that starts with "-" for an
    option and answers "expected one argument"; no ggcam option starts with "-<digit>"."""
    out: list[str] = []
    for tok in argv:
        if out and out[-1].startswith("--") and "=" not in out[-1] and re.match(r"-[\d.]", tok):
            out[-1] = f"{out[-1]}={tok}"
        else:
            out.append(tok)
    return out


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


def _seed(text: str) -> int:
    v = _non_negative(text)
    if v >= 2**32:
        raise argparse.ArgumentTypeError(f"expected a seed in [0, 2**32), got {text!r}")
    return v


def _positive(text: str) -> int:
    v = _non_negative(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return v


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return v


def _parser() -> argparse.ArgumentParser:
    from ggcam.config import GAZE_POINTS
    from ggcam.experiment import PROFILES
    from ggcam.study import FAMILY_OF, VARIANT_ALIASES, VARIANTS

    p = _Parser(prog="ggcam", description=(
        "Gaze-Guided Class Activation Mapping: generate phantom data, prepare a dataset cache, "
        "train one run, run a whole experiment sweep, or retrain a stored run to audit it."))
    sub = p.add_subparsers(dest="command", required=True)

    ph = sub.add_parser("phantom", help="write a synthetic EGD-CXR + MIMIC-CXR dataset in the real layout")
    ph.add_argument("--out", type=checks.path_argument, required=True, help="folder to create (gets egd-cxr/ and mimic-cxr/)")
    ph.add_argument("--n", type=_positive, default=1083, help="number of images (default: 1083, as the real release)")
    ph.add_argument("--scale", type=_positive_float, default=1.0, help="image scale; 1.0 is full size, 3056×2544 (default: 1.0)")
    ph.add_argument("--seed", type=_seed, default=0, help="the same seed writes the same bytes (default: 0)")
    ph.add_argument("--force", action="store_true",
                    help="write into a non-empty folder (only folders a phantom wrote are replaced)")
    ph.add_argument("--workers", type=_positive, default=1, help="processes for generation (default: 1)")

    pr = sub.add_parser("prepare", help="turn EGD-CXR (real or phantom) into a network-ready cache")
    pr.add_argument("--egd-root", type=checks.path_argument, required=True, help="the folder holding master_sheet.csv")
    pr.add_argument("--mimic-root", type=checks.path_argument, required=True, help="the MIMIC-CXR folder holding files/")
    pr.add_argument("--cache", type=checks.path_argument, required=True, help="cache folder to create or reuse")
    pr.add_argument("--input-shape", type=_shape, default=(1536, 1280), help="network input HxW (default: 1536x1280, Ω 48x40)")
    blur = pr.add_mutually_exclusive_group()
    blur.add_argument("--kernel-size", type=_positive, default=None, help="blur B, OpenCV's kernel size rule (default: 500)")
    blur.add_argument("--sigma", type=_positive_float, default=None, help="blur σ in original image pixels, instead of B")
    pr.add_argument("--gaze", choices=GAZE_POINTS, default="eye_gaze",
                    help="gaze points behind Ψ: Algorithm 1's raw samples (eye_gaze.csv, the "
                         "default), fixations, or fixations weighted by their duration")
    pr.add_argument("--workers", type=_positive, default=2, help="processes (default: 2)")

    def run_options(a: argparse.ArgumentParser) -> None:
        a.add_argument("--profile", choices=sorted(PROFILES), default="smoke",
                       help="sizes, seeds and epoch caps (default: smoke); 'paper' needs --data-root")
        a.add_argument("--data-root", type=checks.path_argument, default=None,
                       help="real EGD-CXR download (holding egd-cxr/1.0.0), or a phantom folder")
        a.add_argument("--mimic-root", type=checks.path_argument, default=None, help="MIMIC-CXR folder if not beside EGD-CXR")
        a.add_argument("--results", type=checks.path_argument, default=Path("results"), help="results root (default: results)")
        a.add_argument("--work", type=checks.path_argument, default=Path(".cache"),
                       help="phantoms, caches and checkpoints (default: .cache)")
        a.add_argument("--device", default=None, help="override the profile's device, e.g. cpu or cuda:0")
        a.add_argument("--threads", type=_positive, default=None,
                       help="torch threads per run (default: the profile's, else torch's)")
        a.add_argument("--quiet", action="store_true", help="no progress bars")

    tr = sub.add_parser("train", help="train one network × variant × seed of a profile (resumes if interrupted)")
    run_options(tr)
    tr.add_argument("--network", choices=sorted(FAMILY_OF), default=None,
                    help="(default: the profile's first network)")
    tr.add_argument("--variant", choices=(*VARIANTS, *VARIANT_ALIASES), default="ggcam",
                    help="(default: ggcam)")
    tr.add_argument("--seed", type=_seed, default=0, help="(default: 0)")
    tr.add_argument("--n-train", type=_positive, default=None, dest="n_train",
                    help="a dose point's training-set size (default: the profile's base)")
    tr.add_argument("--informativeness", type=_positive_float, default=None,
                    help="a dose point's simulated reader (default: the profile's base)")
    tr.add_argument("--resume", action="store_true",
                    help="continue an interrupted run from its last checkpoint (default: start afresh)")

    sw = sub.add_parser("sweep", help="every network × variant × seed of a profile, resumable, results as data")
    run_options(sw)
    sw.add_argument("--shard", type=_shard, default=(0, 1), help="run only share i of n, e.g. 0/4 (default: 0/1)")
    sw.add_argument("--network", nargs="+", dest="networks", metavar="NETWORK", default=None,
                    help="only the runs of these networks (default: all of the profile's)")
    sw.add_argument("--variant", nargs="+", dest="variants", metavar="VARIANT", default=None,
                    help="only the runs of these arms (default: all of the profile's)")
    sw.add_argument("--fresh", nargs="+", metavar="RUN_ID", default=None,
                    help="forget these runs (or 'all' of this shard) and train them again")
    rs = sub.add_parser("rescore", help="recompute every run's metrics from its stored predictions and maps")
    rs.add_argument("--profile", choices=sorted(PROFILES), default="cpu", help="(default: cpu)")
    rs.add_argument("--results", type=checks.path_argument, default=Path("results"), help="results root (default: results)")
    rr = sub.add_parser("rerun", help="retrain one stored run at this commit and compare its test logits exactly")
    rr.add_argument("run_id", help="e.g. resnet18__ggcam-warm__s0")
    rr.add_argument("--profile", choices=sorted(PROFILES), default="cpu", help="(default: cpu)")
    rr.add_argument("--results", type=checks.path_argument, default=Path("results"), help="results root (default: results)")
    rr.add_argument("--work", type=checks.path_argument, default=Path(".cache"),
                    help="phantoms, caches; the rerun goes to WORK/reruns (default: .cache)")
    rr.add_argument("--data-root", type=checks.path_argument, default=None, help="the data the run read, if not a phantom")
    rr.add_argument("--mimic-root", type=checks.path_argument, default=None, help="MIMIC-CXR folder if not beside EGD-CXR")
    rr.add_argument("--quiet", action="store_true", help="no progress bars")
    tune.add_parser(sub)
    return p


RESUME_HINT = {
    "phantom": "the folder is incomplete: rerun with --force to write it again",
    "prepare": "rerun the same command (a cache is only ever written whole)",
    "train": "rerun with --resume to continue from the last finished epoch",
    "sweep": "rerun the same command to resume (finished runs are kept)",
}


def main(argv: list[str] | None = None) -> int:
    """Run one ``ggcam`` command; every user error is one line on stderr and exit status 2.

    Imports nothing heavy before its ``try``: a Ctrl-C while torch loads is handled too."""
    command, args = "ggcam", None
    try:
        args = _parser().parse_args(_join_dash_values(sys.argv[1:] if argv is None else list(argv)))
        command = f"ggcam {args.command}"
        with warnings.catch_warnings():  # restores showwarning on the way out
            warnings.showwarning = lambda msg, cat, *_, **__: print(
                f"{command}: {cat.__name__}: {msg}", file=sys.stderr)
            return _dispatch(args)
    except ValueError as err:  # CheckpointError included
        _close_progress_bars()
        print(f"{command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a file that cannot be read or written, named by the OS error
        _close_progress_bars()
        where = f"{err.filename}: " if err.filename else checks.outputs_of(args)
        print(f"{command}: error: {where}{err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        _close_progress_bars()
        hint = RESUME_HINT.get(command.removeprefix("ggcam "), "rerun the same command")
        print(f"{command}: interrupted; {hint}", file=sys.stderr)
        return 130


def _close_progress_bars() -> None:
    """Close the bars an error interrupted, so the message starts on a line of its own."""
    tqdm = sys.modules.get("tqdm")
    for bar in list(getattr(getattr(tqdm, "tqdm", None), "_instances", ()) or ()):
        bar.close()


def _dispatch(args) -> int:
    checks.check_paths(args)
    if args.command == "tune":
        return tune.run(args)
    if args.command == "phantom":
        from ggcam.data import make_phantom
        from ggcam.experiment.sweep import check_writable

        if args.out.is_dir() and any(args.out.iterdir()) and not args.force:
            raise ValueError(f"--out {args.out} is not empty; use --force to write a phantom "
                             "there (only folders a phantom wrote are ever replaced)")
        check_writable(args.out)
        roots = make_phantom(args.out, n_images=args.n, scale=args.scale, seed=args.seed,
                             workers=args.workers)
        print(f"EGD-CXR root: {roots['egd_root']}\nMIMIC-CXR root: {roots['mimic_root']}")
    elif args.command == "prepare":
        from ggcam.data import prepare

        checks.check_prepare(args)
        blur = dict(kernel_size=args.kernel_size, sigma=args.sigma)
        if blur["kernel_size"] is None and blur["sigma"] is None:
            blur["kernel_size"] = 500
        from ggcam.config import gaze_table

        gaze, weighting = gaze_table(args.gaze)
        path = prepare(args.egd_root, args.mimic_root, args.cache, input_shape=args.input_shape,
                       gaze=gaze, weighting=weighting, workers=args.workers, **blur)
        print(f"cache: {path}")
    elif args.command == "rerun":
        from ggcam.experiment.store import ResultsStore
        from ggcam.experiment.verify import rerun

        report = rerun(ResultsStore(args.results / args.profile), args.run_id, args.work,
                       data_root=args.data_root, mimic_root=args.mimic_root,
                       progress=not args.quiet)
        print(report.sentence())
        return 0 if report.identical else 1
    elif args.command == "rescore":
        from ggcam.experiment.metrics import rescore
        from ggcam.experiment.store import ResultsStore

        store = ResultsStore(args.results / args.profile)
        if not store.exists():
            raise FileNotFoundError(f"no runs under {store.path}")
        print(f"{rescore(store)} records rescored in {store.path / 'runs.csv'}")
    else:
        _run_command(args)
    return 0


def _run_command(args) -> None:
    from dataclasses import replace

    from ggcam.config import canonical_variant
    from ggcam.experiment import RunSpec, get_profile, run_specs
    from ggcam.experiment.data import ProfileData
    from ggcam.experiment.run import run_one
    from ggcam.experiment.store import ResultsStore
    from ggcam.experiment.sweep import check_writable, run_sweep

    profile = get_profile(args.profile)
    if profile.data == "real" and args.data_root is None:
        raise ValueError(f"profile {profile.name!r} reads the real EGD-CXR release: give "
                         "--data-root (the folder holding egd-cxr/1.0.0)")
    if args.threads:
        profile = replace(profile, options=replace(profile.options, threads=args.threads))
    checks.check_device(args.device)
    store = ResultsStore(args.results / profile.name)
    ckpt_root = args.work / "checkpoints" / profile.name
    check_writable(store.path)
    check_writable(ckpt_root)
    if args.command == "sweep":
        fresh = "all" if args.fresh == ["all"] else args.fresh
        checks.protect_real_results(profile, args)
        runs = run_sweep(profile, data_root=args.data_root, mimic_root=args.mimic_root,
                         results_root=args.results, work_root=args.work, shard=args.shard,
                         device=args.device, progress=not args.quiet, fresh=fresh,
                         networks=args.networks, variants=args.variants)
        print(f"{len(runs)} runs in {args.results / profile.name / 'runs.csv'}")
        return
    variant = canonical_variant(args.variant)
    if variant not in profile.variants:
        raise ValueError(f"--variant {args.variant}: profile {profile.name!r} has no such arm; "
                         f"choose one of {list(profile.variants)}")
    spec = RunSpec(profile.name, args.network or profile.networks[0], variant, args.seed,
                   args.n_train, args.informativeness)
    planned = {s.run_id for s in run_specs(profile)}
    if spec.run_id not in planned:  # a run outside the profile is never filed under it
        raise ValueError(f"{spec.run_id}: not a run of profile {profile.name!r} (network, arm and "
                         f"seed must be one of its {len(planned)} runs; see `ggcam sweep --help`)")
    checks.protect_real_results(profile, args)
    if not args.resume:
        import shutil

        shutil.rmtree(ckpt_root / spec.run_id, ignore_errors=True)
    data = ProfileData(profile, args.data_root, args.work, args.mimic_root, progress=not args.quiet)
    # --resume on other data (or a checkpoint that cannot be read) restarts, with a warning.
    rec = run_one(spec, profile, data, store, ckpt_root, device=args.device,
                  progress=not args.quiet)
    store.collect()
    print(f"{spec.run_id}: test AUC (ovo) {rec.auc_ovo}, epochs {rec.epochs}, {rec.wall_s} s; "
          f"record in {store.path / 'runs' / (spec.run_id + '.json')}; weights in "
          f"{ckpt_root / spec.run_id / 'best.pt'}")
