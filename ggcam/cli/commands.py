"""The ``ggcam`` command line: phantom, prepare, train (one run), sweep, rescore, rerun, tune.

Every user error exits with status 2 and one line naming the file, option or value. The
parser is ``ggcam.cli.parser``'s; this module runs what it parsed.
"""

from __future__ import annotations

import errno
import sys
import warnings

from ggcam.cli import checks, tune
from ggcam.cli.parser import build_parser, join_dash_values

RESUME_HINT = {
    "phantom": "the folder is incomplete: rerun with --force to write it again",
    "prepare": "rerun the same command (a cache is only ever written whole)",
    "train": "rerun with --resume to continue from the last finished epoch",
    "sweep": "rerun the same command without --fresh to resume (finished runs are kept)",
}


def main(argv: list[str] | None = None) -> int:
    """Run one ``ggcam`` command; every user error is one line on stderr and exit status 2.

    Imports nothing heavy before its ``try``: a Ctrl-C while torch loads is handled too."""
    command, args = "ggcam", None
    try:
        args = build_parser().parse_args(join_dash_values(sys.argv[1:] if argv is None else list(argv)))
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
        writing = err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG)
        where = (f"{err.filename}: " if err.filename
                 else checks.outputs_of(args) if writing else "")  # only a write error names outputs
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
        from ggcam.experiment.verify import record_rerun, rerun

        store = ResultsStore(args.results / args.profile)
        report = rerun(store, args.run_id, args.work, data_root=args.data_root,
                       mimic_root=args.mimic_root, progress=not args.quiet)
        print(report.sentence())
        if not args.no_record:
            print(f"recorded in {record_rerun(store, report)}")
        return 0 if report.identical else 1
    elif args.command == "rescore":
        from ggcam.experiment.metrics import rescore
        from ggcam.experiment.store import ResultsStore

        store = ResultsStore(args.results / args.profile)
        if not store.exists():
            raise FileNotFoundError(f"no runs under {store.path}")
        print(f"{rescore(store)} records rescored in {store.runs_csv}")
    else:
        _run_command(args)
    return 0


def _run_command(args) -> None:
    from dataclasses import replace

    from ggcam.config import canonical_variant
    from ggcam.experiment import RunSpec, get_profile, run_config, run_specs
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
        print(f"{len(runs)} runs in {store.runs_csv}")
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
    data = ProfileData(profile, args.data_root, args.work, args.mimic_root, progress=not args.quiet)
    if not args.resume:  # only once its data has loaded: a data failure deletes nothing
        data.sets(spec, run_config(profile, spec, args.device)[0])
        import shutil

        shutil.rmtree(ckpt_root / spec.run_id, ignore_errors=True)
    # --resume on other data (or a checkpoint that cannot be read) restarts, with a warning.
    rec = run_one(spec, profile, data, store, ckpt_root, device=args.device,
                  progress=not args.quiet)
    store.collect()
    print(f"{spec.run_id}: test AUC (ovo) {rec.auc_ovo}, epochs {rec.epochs}, {rec.wall_s} s; "
          f"record in {store.path / 'runs' / (spec.run_id + '.json')}; weights in "
          f"{ckpt_root / spec.run_id / 'best.pt'}")
