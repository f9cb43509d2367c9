"""``ggcam tune``: the subcommand's parser and its entry point (wired in ``ggcam.cli.commands``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ggcam.cli import checks


def _int_at_least(low: int):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}") from None
        if v < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
        return v
    return parse


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``tune`` subcommand to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    from ggcam.experiment import PROFILES
    from ggcam.study import FAMILY_OF, VARIANT_ALIASES, VARIANTS
    from ggcam.tune.space import OBJECTIVES

    t = subparsers.add_parser(
        "tune", help="search Table 1's hyper-parameters for one network × variant (Optuna, resumable)",
        description="An Optuna study over section 4.2's search space (optimiser, learning rate, "
                    "plateau patience P; for GG-CAM also the initial σ_sm and the blur B), each "
                    "trial a short run of the profile, hopeless ones pruned. A rerun adds trials "
                    "to the same study; several processes or machines may share one --storage.")
    t.add_argument("--profile", choices=sorted(PROFILES), default="smoke",
                   help="sizes, split and epoch cap of each trial (default: smoke); 'paper' needs --data-root")
    t.add_argument("--network", choices=sorted(FAMILY_OF), default="resnet50", help="(default: resnet50)")
    t.add_argument("--variant", choices=(*VARIANTS, *VARIANT_ALIASES), default="ggcam",
                   help="(default: ggcam; σ_sm and B are searched for every GG-CAM arm)")
    t.add_argument("--trials", type=_int_at_least(1), default=20,
                   help="trials this call runs, added to those already in the study (default: 20)")
    t.add_argument("--study", default=None,
                   help="study name (default: <network>__<variant>__<objective>)")
    t.add_argument("--storage", default=None,
                   help="Optuna storage URL: sqlite:///f.sqlite3, postgresql://…, mysql://… or "
                        "journal:///path/f.log (default: <results>/<profile>/tuning/<study>.sqlite3)")
    t.add_argument("--objective", choices=tuple(OBJECTIVES), default="val_ce",
                   help="what a trial is scored by, its best epoch's: val_ce (validation "
                        "cross-entropy), val_loss (the arm's own loss; for GG-CAM eq. 11, which "
                        "σ_sm's initial value itself scales) or val_auc (default: val_ce)")
    t.add_argument("--epochs", type=_int_at_least(1), default=None,
                   help="epoch cap per trial (default: the profile's)")
    t.add_argument("--seed", type=_int_at_least(0), default=0,
                   help="seed of every trial's split, weights and data order (default: 0)")
    t.add_argument("--sampler-seed", type=_int_at_least(0), default=None,
                   help="seed of Optuna's sampler, for a reproducible serial search (default: "
                        "fresh entropy, as parallel workers on one study need)")
    t.add_argument("--data-root", type=checks.path_argument, default=None,
                   help="real EGD-CXR download (holding egd-cxr/1.0.0), or a phantom folder")
    t.add_argument("--mimic-root", type=checks.path_argument, default=None, help="MIMIC-CXR folder if not beside EGD-CXR")
    t.add_argument("--results", type=checks.path_argument, default=Path("results"),
                   help="results root; files go to <results>/<profile>/tuning/ (default: results)")
    t.add_argument("--work", type=checks.path_argument, default=Path(".cache"),
                   help="phantoms, caches and trial checkpoints (default: .cache)")
    t.add_argument("--device", default=None, help="override the profile's device, e.g. cpu or cuda:0")
    t.add_argument("--threads", type=_int_at_least(1), default=None,
                   help="torch threads (default: the profile's, else torch's)")
    t.add_argument("--quiet", action="store_true", help="no progress bars, no per-trial log lines")
    return t


def run(args: argparse.Namespace) -> int:
    """Run the trials ``args`` ask for; print one line (trials, best value, files); return 0.

    User errors are ValueError / FileNotFoundError with a message naming the value.
    """
    import optuna

    if args.quiet:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
    if args.device and args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ValueError(f"--device {args.device}: torch sees no CUDA GPU on this machine")
    from ggcam.cli.checks import protect_real_results
    from ggcam.experiment import get_profile
    from ggcam.tune.search import tune

    # Trials on real data are credentialed results too: git-ignored before the first is written.
    protect_real_results(get_profile(args.profile), args)

    result = tune(args.profile, args.network, args.variant, trials=args.trials,
                  storage=args.storage, study=args.study, objective=args.objective,
                  epochs=args.epochs, seed=args.seed, data_root=args.data_root,
                  mimic_root=args.mimic_root, work_root=args.work, results_root=args.results,
                  device=args.device, threads=args.threads, sampler_seed=args.sampler_seed,
                  progress=not args.quiet)
    print(result.summary())
    return 0
