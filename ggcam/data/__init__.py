"""Data layer: the EGD-CXR + MIMIC-CXR layout, its phantom, splits and the training cache."""

from .cache import prepare
from .cached import CachedDataset
from .dicom import read_dicom
from .egdcxr import EGDCXR
from .layout import CLASS_NAMES, PAPER_CLASS_NAMES
from .phantom import make_phantom
from .roots import DataRoots, data_identity, ensure_dataset, is_phantom
from .splits import split
from .truth import read_phantom_truth

__all__ = [
    "CLASS_NAMES",
    "EGDCXR",
    "PAPER_CLASS_NAMES",
    "CachedDataset",
    "DataRoots",
    "data_identity",
    "ensure_dataset",
    "is_phantom",
    "make_phantom",
    "prepare",
    "read_dicom",
    "read_phantom_truth",
    "split",
]
