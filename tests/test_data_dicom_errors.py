"""A DICOM header that makes no sense is named: file, tag and value (issue 22).

pydicom keeps an invalid decimal string such as ``WindowCenter "abc"`` as text, and a header
may say ``Rows 0``; before these checks the reader failed with "could not convert string to
float: 'a'" (the first letter: a multi-valued reading of text) or carried a 0-row image on.
"""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.dataelem import RawDataElement
from pydicom.tag import Tag
from test_data_dicom import _write

from ggcam.data import read_dicom
from ggcam.data.dicom import dicom_shape

pytestmark = pytest.mark.filterwarnings("ignore:Invalid value for VR")

PIXELS = np.array([[0, 100, 1000], [2047, 3000, 4095]], dtype=np.uint16)
TAGS = {"WindowCenter": 0x00281050, "WindowWidth": 0x00281051, "RescaleIntercept": 0x00281052,
        "RescaleSlope": 0x00281053, "NumberOfFrames": 0x00280008}
VR = {"NumberOfFrames": "IS"}


def _with_raw(path, **raw: str) -> str:
    """Rewrite ``path`` with the given tags as raw text, valid or not (as a broken writer would)."""
    ds = pydicom.dcmread(path)
    for keyword, text in raw.items():
        value = text.encode() + (b" " if len(text) % 2 else b"")
        tag = Tag(TAGS[keyword])
        ds[tag] = RawDataElement(tag, VR.get(keyword, "DS"), len(value), value, 0, False, True)
    ds.save_as(path)
    return str(path)


@pytest.fixture
def dcm(tmp_path) -> str:
    return _write(tmp_path / "x.dcm", PIXELS, WindowCenter="2000", WindowWidth="4000")


def test_a_valid_file_still_reads(dcm):
    image = read_dicom(dcm)
    assert image.shape == (2, 3) and 0 <= image.min() < image.max() <= 1


@pytest.mark.parametrize("tag, text", [("WindowCenter", "abc"), ("WindowWidth", "wide"),
                                       ("RescaleSlope", "xyz")])
def test_a_number_tag_holding_text_is_named(dcm, tag, text):
    extra = {"RescaleIntercept": "0"} if tag == "RescaleSlope" else {}
    path = _with_raw(dcm, **{tag: text}, **extra)
    with pytest.raises(ValueError, match=rf"x\.dcm: {tag} '{text}' is not a number"):
        read_dicom(path)


def test_a_non_finite_window_is_named(dcm):
    path = _with_raw(dcm, WindowCenter="nan")
    with pytest.raises(ValueError, match=r"x\.dcm: WindowCenter nan / WindowWidth 4000\.0 must be finite"):
        read_dicom(path)


def test_frames_that_are_no_number_are_named(dcm):
    path = _with_raw(dcm, NumberOfFrames="two")
    with pytest.raises(ValueError, match=r"x\.dcm: NumberOfFrames 'two' is not a whole number"):
        read_dicom(path)


def test_rows_0_is_named(dcm):
    ds = pydicom.dcmread(dcm)
    ds.Rows = 0
    ds.save_as(dcm)
    with pytest.raises(ValueError, match=r"DICOM file .*x\.dcm: Rows 0, Columns 3: an image has at least"):
        dicom_shape(dcm)
