"""What every figure shares: text settings, names, the order and colour of variants.

Names come from ``ggcam.config`` (``NETWORK_LABELS``, ``VARIANT_LABELS``), read when a figure
is drawn, never typed again here. Variants are ordered as in ``ggcam.study.VARIANTS`` (an
old name listed in ``VARIANT_ALIASES`` sorts as its new one) and keep one colour everywhere.
Sizes are chosen for a page 400 px wide: figures at most ``MAX_WIDTH`` inches and text at
least 10 pt, so a figure scaled to a phone's column still has text of about 8 px or more.
"""

from __future__ import annotations

from collections.abc import Iterable

import matplotlib as mpl
import pandas as pd
from matplotlib.figure import Figure

from ggcam import config, study

STYLE = {  # fixed text settings, applied while a figure is built
    "font.family": "DejaVu Sans",
    "font.size": 11,
    "axes.titlesize": 11,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "legend.title_fontsize": 10,
    "figure.dpi": 150,  # figures as a paper has them: >= 150 dpi
    "svg.hashsalt": "ggcam",
}
MIN_FONT_PT = 10  # no text smaller than this (tests/test_plots.py checks every figure)
MAX_WIDTH = 6.4  # inches: 960 px at 150 dpi, scaled to the ~780 px text column
QUALITATIVE = ("#0173b2", "#de8f05", "#029e73", "#cc78bc", "#d55e00", "#ca9161", "#949494",
               "#56b4e9", "#ece133", "#fbafe4")  # seaborn "colorblind", one per variant
MAP_CMAP = "viridis"  # Ψ and Ω images: perceptually uniform, dark = low, yellow = high
METRIC_NAMES = {
    "auc_ovo": "AUC (Hand & Till)",
    "auc_ovr": "AUC (one-vs-rest)",
    "interp_chf": "interpretability, CHF",
    "interp_pneumonia": "interpretability, pneumonia",
    "interp3x3_chf": "interpretability (3×3), CHF",
    "interp3x3_pneumonia": "interpretability (3×3), pneumonia",
    "cc": "CC(Ωʸ, Ψ)",
    "kl": "KL(Ψ ‖ Ωʸ)",
    "sim": "SIM(Ωʸ, Ψ)",
    "nss": "NSS",
    "auc_judd": "AUC-Judd",
}


def _aliases() -> dict:
    return dict(getattr(config, "VARIANT_ALIASES", {}))


def network_name(network: str) -> str:
    """"ResNet50", ... from ``ggcam.study.NETWORK_LABELS`` (the name itself if unknown)."""
    return study.NETWORK_LABELS.get(network, network)


def variant_label(variant: str) -> str:
    """The variant's label from ``ggcam.study.VARIANT_LABELS`` (old names via their alias)."""
    labels = study.VARIANT_LABELS
    return labels.get(variant) or labels.get(_aliases().get(variant, variant)) or variant


def model_name(network: str, variant: str) -> str:
    """A trained model as the book names it: "ResNet50+GG-CAM (paper, Table 1)".

    A label starting with "+" is appended to the network's name (the paper's "ResNet+GG-CAM");
    the standard network is the network's name alone; any other label follows a comma.
    """
    label = variant_label(variant)
    if variant == "standard":
        return network_name(network)
    return network_name(network) + (label if label.startswith("+") else f", {label}")


def _ordered(values: Iterable[str], reference: Iterable[str], alias: dict | None = None) -> list[str]:
    reference = list(reference)
    alias = alias or {}
    unique = list(dict.fromkeys(values))

    def key(item):
        i, v = item
        v = alias.get(v, v)
        return (reference.index(v), i) if v in reference else (len(reference), i)

    return [v for _, v in sorted(enumerate(unique), key=key)]


def order_variants(variants: Iterable[str]) -> list[str]:
    """The given variants (duplicates dropped) in the order of ``ggcam.study.VARIANTS``;
    unknown ones last, in the order given."""
    return _ordered(variants, study.VARIANTS, _aliases())


def order_networks(networks: Iterable[str]) -> list[str]:
    """The given networks in the order of ``ggcam.study.NETWORK_LABELS``; unknown ones last."""
    return _ordered(networks, [*study.NETWORKS, *study.NETWORK_LABELS])


def variant_colour(variant: str) -> str:
    """The arm's colour from ``ggcam.study.ARMS`` (Okabe–Ito), the same in every figure; an
    unknown name gets a stable colour of the qualitative palette."""
    spec = study.ARM.get(_aliases().get(variant, variant))
    if spec is not None:
        return spec.colour
    return QUALITATIVE[sum(map(ord, variant)) % len(QUALITATIVE)]


def figure(width: float, height: float) -> Figure:
    """A Figure (not registered with pyplot) of at most ``MAX_WIDTH`` inches, house style."""
    with mpl.rc_context(STYLE):
        return Figure(figsize=(min(width, MAX_WIDTH), height), layout="constrained")


def need(frame: pd.DataFrame, name: str, columns) -> None:
    """Raise ValueError unless ``frame`` is a DataFrame with these columns."""
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} has no column(s) {missing}; it has {list(frame.columns)}")
