"""The study's design as data: arms with their seeds, independent replicates, dose points and
Holm families (design.md, "The study"). ``profiles`` sizes it per machine.
"""

from __future__ import annotations

from dataclasses import dataclass

from ggcam.study import PRIMARY

DOSE_FACTORS = ("n_train", "informativeness")
CONTROLS = ("ggcam-shuffled", "ggcam-centre")  # the gaze-specificity controls (study.ARMS, tier 1)


@dataclass(frozen=True)
class Arm:
    variant: str  # one of ggcam.study.VARIANTS
    networks: tuple[str, ...]
    seeds: tuple[int, ...]


@dataclass(frozen=True)
class Replicates:
    """Independent replicates: replicate (seed) s draws its own phantom for training and
    validation (phantom seed s + 1); one large independent phantom (``test_seed``) is the test
    set of every replicate and arm. Never overlapping re-splits of one pool, whose shared
    images make intervals far too narrow."""

    n_train: int  # the base training-set size of a replicate
    n_val: int = 200  # validation images: the checkpoint rule's data
    n_test: int = 600  # the shared test set
    test_seed: int = 100_000  # far from every replicate's seed + 1


@dataclass(frozen=True)
class Dose:
    """One point off the base design, one factor at a time (where gaze starts to help)."""

    factor: str  # "n_train" (training images) or "informativeness" (the simulated reader's)
    value: float
    variants: tuple[str, ...]  # the arms run at this point (its pairs form within a replicate)
    seeds: tuple[int, ...]
    network: str = "resnet18"


@dataclass(frozen=True)
class Family:
    """A Holm family: every (a, b) comparison on every metric, adjusted together. Fixed in the
    profile before its sweep runs, and listed on the results pages."""

    name: str
    comparisons: tuple[tuple[str, str], ...]  # (reference arm, other arm): Δ = other − reference
    metrics: tuple[str, ...]  # runs.csv columns


_LOCALISATION = ("pointing_pneumonia", "energy_pneumonia", "inside_auroc_pneumonia")
STUDY_FAMILIES = (
    Family("primary", (PRIMARY,), ("auc_ovo",)),
    Family("localisation", (PRIMARY,), (*_LOCALISATION, "cc", "cc_partial")),
    Family("oracle", (("standard", "ggcam-oracle"),), ("auc_ovo", *_LOCALISATION)),
    Family("controls", (("ggcam-warm", "ggcam-shuffled"), ("ggcam-warm", "ggcam-centre"),
                        ("standard", "ggcam-shuffled"), ("standard", "ggcam-centre")),
           ("auc_ovo", "cc")),
)


STUDY_ARMS = ("standard", "ggcam-warm", "ggcam-oracle", "ggcam-shuffled", "ggcam-centre")
OTHER_ARMS = ("ggcam", "ggcam-fp64", "ggcam-legacy")


def study_design(network: str, base_seeds: int, other_seeds: int, dose_seeds: int, n_train: int,
           informativeness=(0.3, 1.0), sizes=None,
           oracle_doses: bool = True) -> tuple[tuple[Arm, ...], tuple[Dose, ...]]:
    """The study v2 design (design.md, "The study"): the base arms, the other arms, and the
    dose-response points one factor at a time: training-set size (the primary pair and,
    with ``oracle_doses``, the oracle) and the reader's informativeness (the GG-CAM arm, paired
    with the replicate's one ``standard`` run: the images do not change with the reader, and
    the oracle does not read gaze)."""
    arms = (*(Arm(v, (network,), tuple(range(base_seeds))) for v in STUDY_ARMS),
            *(Arm(v, (network,), tuple(range(other_seeds))) for v in OTHER_ARMS if other_seeds))
    seeds = tuple(range(dose_seeds))
    size_arms = ("standard", "ggcam-warm", *(("ggcam-oracle",) if oracle_doses else ()))
    doses = (*(Dose("n_train", n, size_arms, seeds, network)
               for n in (sizes or (n_train // 2, 2 * n_train))),
             *(Dose("informativeness", i, ("ggcam-warm",), seeds, network) for i in informativeness))
    return arms, doses


