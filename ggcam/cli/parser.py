"""The ``ggcam`` argument parser, one function per subcommand (``tune``'s is
``ggcam.cli.tune``'s), and the argument types that check a value where it is typed."""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path

from ggcam.cli import checks, tune


class OneLineParser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block), exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def join_dash_values(argv: list[str]) -> list[str]:
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


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="ggcam", description=(
        "Gaze-Guided Class Activation Mapping: generate phantom data, prepare a dataset cache, "
        "train one run, run a whole experiment sweep, or retrain a stored run to audit it."))
    sub = p.add_subparsers(dest="command", required=True)
    _add_phantom(sub)
    _add_prepare(sub)
    _add_train(sub)
    _add_sweep(sub)
    _add_rescore(sub)
    _add_rerun(sub)
    tune.add_parser(sub)
    return p


def _add_phantom(sub) -> None:
    ph = sub.add_parser("phantom", help="write a synthetic EGD-CXR + MIMIC-CXR dataset in the real layout")
    ph.add_argument("--out", type=checks.path_argument, required=True, help="folder to create (gets egd-cxr/ and mimic-cxr/)")
    ph.add_argument("--n", type=_positive, default=1083, help="number of images (default: 1083, as the real release)")
    ph.add_argument("--scale", type=_positive_float, default=1.0, help="image scale; 1.0 is full size, 3056×2544 (default: 1.0)")
    ph.add_argument("--seed", type=_seed, default=0, help="the same seed writes the same bytes (default: 0)")
    ph.add_argument("--force", action="store_true",
                    help="write into a non-empty folder (only folders a phantom wrote are replaced)")
    ph.add_argument("--workers", type=_positive, default=1, help="processes for generation (default: 1)")


def _add_prepare(sub) -> None:
    from ggcam.config import GAZE_POINTS

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


def _add_run_options(a: argparse.ArgumentParser) -> None:
    """The options ``train`` and ``sweep`` share: the profile, the data and where things go."""
    from ggcam.experiment import PROFILES

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


def _add_train(sub) -> None:
    from ggcam.study import FAMILY_OF, VARIANT_ALIASES, VARIANTS

    tr = sub.add_parser("train", help="train one network × variant × seed of a profile (resumes if interrupted)")
    _add_run_options(tr)
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


def _add_sweep(sub) -> None:
    sw = sub.add_parser("sweep", help="every network × variant × seed of a profile, resumable, results as data")
    _add_run_options(sw)
    sw.add_argument("--shard", type=_shard, default=(0, 1), help="run only share i of n, e.g. 0/4 (default: 0/1)")
    sw.add_argument("--network", nargs="+", dest="networks", metavar="NETWORK", default=None,
                    help="only the runs of these networks (default: all of the profile's)")
    sw.add_argument("--variant", nargs="+", dest="variants", metavar="VARIANT", default=None,
                    help="only the runs of these arms (default: all of the profile's)")
    sw.add_argument("--fresh", nargs="+", metavar="RUN_ID", default=None,
                    help="forget these runs (or 'all' of this shard) and train them again")


def _add_rescore(sub) -> None:
    from ggcam.experiment import PROFILES

    rs = sub.add_parser("rescore", help="recompute every run's metrics from its stored predictions and maps")
    rs.add_argument("--profile", choices=sorted(PROFILES), default="cpu", help="(default: cpu)")
    rs.add_argument("--results", type=checks.path_argument, default=Path("results"), help="results root (default: results)")


def _add_rerun(sub) -> None:
    from ggcam.experiment import PROFILES

    rr = sub.add_parser("rerun", help="retrain one stored run at this commit and compare its test logits exactly")
    rr.add_argument("run_id", help="e.g. resnet18__ggcam-warm__s0")
    rr.add_argument("--profile", choices=sorted(PROFILES), default="cpu", help="(default: cpu)")
    rr.add_argument("--results", type=checks.path_argument, default=Path("results"), help="results root (default: results)")
    rr.add_argument("--work", type=checks.path_argument, default=Path(".cache"),
                    help="phantoms, caches; the rerun goes to WORK/reruns (default: .cache)")
    rr.add_argument("--data-root", type=checks.path_argument, default=None, help="the data the run read, if not a phantom")
    rr.add_argument("--mimic-root", type=checks.path_argument, default=None, help="MIMIC-CXR folder if not beside EGD-CXR")
    rr.add_argument("--no-record", action="store_true",
                    help="do not add the outcome to the store's reruns.csv (the book shows it)")
    rr.add_argument("--quiet", action="store_true", help="no progress bars")
