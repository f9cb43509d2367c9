"""Metrics of one run's outputs: classification and eq. 12 (``classification``), localisation on
the Ω grid (``localisation``), agreement with human attention (``saliency``), and CAM methods
side by side through pytorch-grad-cam (``explain``, imported on use: it loads the library).

``ggcam.metrics.<name>`` is the public surface of the first three.
"""

from ggcam.metrics.classification import (
    CLASS_NAMES,
    MULTI_CLASS,
    REGIONS,
    attention_agreement,
    auc,
    auc_judd,
    cc,
    class_probabilities,
    interpretability,
    interpretability_hits,
    kl_div,
    nss,
    precision_recall,
    precision_recall_columns,
    sim,
)

__all__ = [
    "CLASS_NAMES", "MULTI_CLASS", "REGIONS", "attention_agreement", "auc", "auc_judd", "cc",
    "class_probabilities", "interpretability", "interpretability_hits", "kl_div", "nss",
    "precision_recall", "precision_recall_columns", "sim",
]
