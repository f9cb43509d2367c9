"""Data layer: the EGD-CXR + MIMIC-CXR layout, its phantom, splits and the training cache."""

from ggcam.data.cache import prepare
from ggcam.data.cached import CachedDataset
from ggcam.data.dicom import read_dicom
from ggcam.data.egdcxr import EGDCXR
from ggcam.data.layout import CLASS_NAMES, PAPER_CLASS_NAMES
from ggcam.data.phantom.truth import read_phantom_truth
from ggcam.data.roots import DataRoots, data_identity, ensure_dataset, is_phantom
from ggcam.data.splits import split

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


def __getattr__(name: str):
    # The phantom generator loads on first use: reading the real release never needs it.
    if name == "make_phantom":
        from ggcam.data.phantom.generate import make_phantom

        return make_phantom
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
