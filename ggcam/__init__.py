"""ggcam: Gaze-Guided Class Activation Mapping (Zhu, Salcudean, Rohling), reproducibly."""

from .cam import CAMHead, CAMNet, build_model, cam_head, to_cam_model
from .gaze import gaze_heatmap, reference_heatmap, sigma_from_kernel_size
from .geometry import GridGeometry, grid_geometry
from .losses import GGCAMLoss, StandardLoss, legacy_selective_mse, selective_mse

__version__ = "0.1.0"

__all__ = [
    "CAMHead",
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
