"""Data layer: the EGD-CXR + MIMIC-CXR layout, its phantom, splits and the training cache."""

from .cache import prepare
from .cached import CachedDataset
from .dicom import read_dicom
from .egdcxr import EGDCXR
from .layout import CLASS_NAMES, PAPER_CLASS_NAMES
from .phantom import make_phantom
from .splits import split

__all__ = [
    "CLASS_NAMES",
    "EGDCXR",
    "PAPER_CLASS_NAMES",
    "CachedDataset",
    "make_phantom",
    "prepare",
    "read_dicom",
    "split",
]
