"""The study's vocabulary: the classes, the networks and the arms, each defined once.

The lowest layer of ggcam: the maths, metrics, data, experiment and presentation layers all take
their names from here, so ``import ggcam`` never loads the data layer to know what label 1
means, and adding an arm is one row of ``ARMS`` (its values, its Ψ, its label, its colour).
"""

from __future__ import annotations

from dataclasses import dataclass

CLASS_NAMES = ("Normal", "CHF", "pneumonia")  # label 0, 1, 2; the master sheet's column names
CLASS_KEYS = {name.lower(): name for name in CLASS_NAMES}  # column suffix ("chf") → class name
PAPER_CLASS_NAMES = ("Normal", "Cardiomegaly", "Pneumonia")  # what the paper calls them

NETWORKS = ("resnet50", "efficientnet_v2_s")  # the paper's two networks (Table 1)
# Smaller members of the same two families, for CPU profiles where the paper's networks
# cannot learn within the budget; they take their family's Table 1 values.
FAMILY_OF = {"resnet50": "resnet50", "resnet18": "resnet50",
             "efficientnet_v2_s": "efficientnet_v2_s", "efficientnet_b0": "efficientnet_v2_s"}
# EfficientNet-B0 never reached its learning target on 2 CPU cores (results/cpu-probes): its
# results are exploratory, and its label says so wherever it is shown.
NETWORK_LABELS = {"resnet50": "ResNet50", "efficientnet_v2_s": "EffNetV2-S",
                  "resnet18": "ResNet18", "efficientnet_b0": "EffNet-B0 (exploratory)"}


@dataclass(frozen=True)
class ArmSpec:
    """One arm of the study: how it trains (``values``, ``gaze_source``) and how it is shown."""

    name: str  # the arm's name in run ids, records and the command line
    label: str  # how tables and legends name it
    short: str  # a word for figure axes
    values: str  # its TrainConfig values: "standard" | "table1" | "fp64" | "warm" | "released"
    gaze_source: str  # Ψ it is supervised with: "own" | "shuffled" | "centre" | "oracle" | "none"
    tier: int  # sweep order: 0 the primary pair, 1 oracle and controls, 2 the other arms
    colour: str  # Okabe–Ito (colour-blind safe), the same in every figure

    @property
    def loss_mode(self) -> str:
        """The objective: cross-entropy alone, eq. 9-11 (paper) or the released code's."""
        return {"standard": "standard", "released": "legacy"}.get(self.values, "paper")


# In study order: each differs from its neighbour in one thing (design.md, "The study").
ARMS = (
    ArmSpec("standard", "standard (cross-entropy)", "standard", "standard", "none", 0, "#000000"),
    ArmSpec("ggcam", "+GG-CAM (paper, Table 1)", "paper", "table1", "own", 2, "#999999"),
    ArmSpec("ggcam-fp64", "+GG-CAM, loss (eq. 11) in float64", "fp64", "fp64", "own", 2, "#CC79A7"),
    ArmSpec("ggcam-warm", "+GG-CAM, float64 and σ_sm₀ = 0.1", "GG-CAM", "warm", "own", 0, "#0072B2"),
    ArmSpec("ggcam-legacy", "+GG-CAM (released code)", "released", "released", "own", 2, "#F0E442"),
    ArmSpec("ggcam-oracle", "+GG-CAM, Ψ = the true findings (oracle)", "oracle", "warm", "oracle", 1,
            "#009E73"),
    ArmSpec("ggcam-shuffled", "control: Ψ of another image", "shuffled Ψ", "warm", "shuffled", 1,
            "#D55E00"),
    ArmSpec("ggcam-centre", "control: mean-gaze prior for every image", "mean-gaze prior", "warm",
            "centre", 1, "#E69F00"),
)
ARM = {a.name: a for a in ARMS}
VARIANTS = tuple(a.name for a in ARMS)
VARIANT_LABELS = {a.name: a.label for a in ARMS}
VARIANT_ALIASES = {"ggcam-stable": "ggcam-warm"}  # old name (float64 + σ_sm₀ = 0.1)
PRIMARY = ("standard", "ggcam-warm")  # the primary comparison (reference, GG-CAM)


def arm(name: str) -> ArmSpec:
    """The arm called ``name`` (an old alias is accepted); a clear error otherwise."""
    name = VARIANT_ALIASES.get(name, name)
    if name not in ARM:
        raise ValueError(f"no arm {name!r}; the arms are {', '.join(VARIANTS)}")
    return ARM[name]


def short_label(name: str) -> str:
    """An arm's word for figure axes and tables (``ArmSpec.short``); an unknown name as it is."""
    return ARM[name].short if name in ARM else name


def arm_rank(name: str) -> int:
    """An arm's place in the study order (``ARMS``); unknown names after every arm."""
    name = VARIANT_ALIASES.get(name, name)
    return VARIANTS.index(name) if name in VARIANTS else len(VARIANTS)
