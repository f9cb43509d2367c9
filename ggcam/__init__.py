"""ggcam: Gaze-Guided Class Activation Mapping (Zhu, Salcudean, Rohling), reproducibly."""

from ggcam.cam import CAMHead, CAMNet, build_model, cam_head, to_cam_model
from ggcam.gaze import gaze_heatmap, reference_heatmap, sigma_from_kernel_size
from ggcam.geometry import GridGeometry, grid_geometry
from ggcam.losses import GGCAMLoss, StandardLoss, legacy_selective_mse, selective_mse
from ggcam.metrics.classification import (
                      attention_agreement,
                      auc,
                      auc_judd,
                      cc,
                      interpretability,
                      interpretability_hits,
                      kl_div,
                      nss,
                      precision_recall,
                      sim,
)
from ggcam.stats.unpaired import anova, bootstrap_auc_ci, median_std, precision_recall_table

__version__ = "0.1.0"

__all__ = [
    "CAMHead",
    "anova",
    "attention_agreement",
    "auc",
    "auc_judd",
    "bootstrap_auc_ci",
    "cc",
    "interpretability",
    "interpretability_hits",
    "kl_div",
    "median_std",
    "nss",
    "precision_recall",
    "precision_recall_table",
    "sim",
    "CAMNet",
    "GGCAMLoss",
    "GridGeometry",
    "StandardLoss",
    "build_model",
    "cam_head",
    "gaze_heatmap",
    "grid_geometry",
    "legacy_selective_mse",
    "reference_heatmap",
    "selective_mse",
    "sigma_from_kernel_size",
    "to_cam_model",
]
