"""read_dicom: the display chain (modality LUT, VOI, MONOCHROME1) and its errors."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import apply_modality_lut, apply_voi_lut
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from ggcam.data import read_dicom


def _local(name: str) -> str:
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"pydicom test file {name} is not bundled")
    return path


def _write(path, pixels, photometric="MONOCHROME2", bits_stored=12, **tags) -> str:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[str(path)])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality = "DX"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, bits_stored, bits_stored - 1, 0
    for key, value in tags.items():
        setattr(ds, key, value)
    ds.PixelData = pixels.astype("<u2").tobytes()
    ds["PixelData"].VR = "OW"
    ds.save_as(path, enforce_file_format=True)
    return str(path)


@pytest.fixture
def stored() -> np.ndarray:
    return np.array([[0, 100, 1000], [2047, 3000, 4095]], dtype=np.uint16)


def _pydicom_reference(path) -> np.ndarray:
    """pydicom's own chain, scaled by its windowing output range."""
    ds = pydicom.dcmread(path)
    arr = apply_voi_lut(apply_modality_lut(ds.pixel_array, ds), ds)
    if ds.PixelRepresentation == 0:
        lo, hi = 0, 2**ds.BitsStored - 1
    else:
        lo, hi = -(2 ** (ds.BitsStored - 1)), 2 ** (ds.BitsStored - 1) - 1
    if "RescaleSlope" in ds:
        lo, hi = sorted((lo * ds.RescaleSlope + ds.RescaleIntercept, hi * ds.RescaleSlope + ds.RescaleIntercept))
    return (arr - lo) / (hi - lo)


def test_mr_small_window_matches_pydicom():
    path = _local("MR_small.dcm")
    image = read_dicom(path)
    assert image.shape == (64, 64) and image.dtype == np.float32
    np.testing.assert_allclose(image, _pydicom_reference(path), atol=2e-6)
    assert 0.0 <= image.min() and image.max() == 1.0  # the window saturates the brightest


def test_ct_small_rescale_without_window():
    path = _local("CT_small.dcm")
    ds = pydicom.dcmread(path)
    assert "WindowCenter" not in ds and ds.RescaleIntercept == -1024
    image = read_dicom(path)
    # Signed 16 bits through slope 1, intercept −1024: range [−33792, 31743].
    expected = (ds.pixel_array.astype(np.float64) - 1024 + 33792) / 65535
    np.testing.assert_allclose(image, expected, atol=1e-6)
    np.testing.assert_allclose(image, _pydicom_reference(path), atol=1e-6)


def test_scaled_by_bits_stored_not_4095(tmp_path, stored):
    path12 = _write(tmp_path / "b12.dcm", stored, bits_stored=12)
    path14 = _write(tmp_path / "b14.dcm", stored, bits_stored=14)
    np.testing.assert_allclose(read_dicom(path12), stored / 4095, atol=1e-7)
    np.testing.assert_allclose(read_dicom(path14), stored / 16383, atol=1e-7)


def test_linear_window(tmp_path, stored):
    path = _write(tmp_path / "w.dcm", stored, WindowCenter="2048", WindowWidth="2049")
    # PS3.3 C.11.2.1.2.1: ((x − (c − 0.5)) / (w − 1) + 0.5), clipped to [0, 1].
    expected = np.clip((stored - 2047.5) / 2048 + 0.5, 0, 1)
    np.testing.assert_allclose(read_dicom(path), expected, atol=1e-6)
    np.testing.assert_allclose(read_dicom(path), _pydicom_reference(path), atol=1e-6)


def test_multi_valued_window_uses_first(tmp_path, stored):
    path = _write(tmp_path / "w2.dcm", stored, WindowCenter=["1000", "3000"], WindowWidth=["1001", "500"])
    np.testing.assert_allclose(read_dicom(path), np.clip((stored - 999.5) / 1000 + 0.5, 0, 1), atol=1e-6)


def test_rescale_and_window(tmp_path, stored):
    path = _write(tmp_path / "rw.dcm", stored, RescaleSlope="2", RescaleIntercept="-100",
                  WindowCenter="3000", WindowWidth="4001")
    values = stored * 2.0 - 100
    expected = np.clip((values - 2999.5) / 4000 + 0.5, 0, 1)
    np.testing.assert_allclose(read_dicom(path), expected, atol=1e-6)
    np.testing.assert_allclose(read_dicom(path), _pydicom_reference(path), atol=1e-6)


def test_rescale_without_window_uses_rescaled_range(tmp_path, stored):
    path = _write(tmp_path / "r.dcm", stored, RescaleSlope="0.5", RescaleIntercept="10")
    # Stored range [0, 4095] → [10, 2057.5]: the scaling must follow the rescale.
    np.testing.assert_allclose(read_dicom(path), stored / 4095, atol=1e-6)


def test_monochrome1_is_inverted_with_warning(tmp_path, stored):
    m2 = read_dicom(_write(tmp_path / "m2.dcm", stored))
    path = _write(tmp_path / "m1.dcm", stored, photometric="MONOCHROME1")
    with pytest.warns(UserWarning, match="MONOCHROME1"):
        m1 = read_dicom(path)
    np.testing.assert_allclose(m1, 1.0 - m2, atol=1e-7)
    assert m1[0, 0] == 1.0  # stored 0 is white in MONOCHROME1


def test_rgb_is_refused_naming_the_file():
    path = _local("SC_rgb_small_odd.dcm")
    with pytest.raises(ValueError, match=r"SC_rgb_small_odd\.dcm.*'RGB'"):
        read_dicom(path)


def test_palette_is_refused():
    path = _local("examples_palette.dcm")
    assert pydicom.dcmread(path, stop_before_pixels=True).PhotometricInterpretation == "PALETTE COLOR"
    with pytest.raises(ValueError, match="PALETTE COLOR"):
        read_dicom(path)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.dcm"):
        read_dicom(tmp_path / "nope.dcm")
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"not a dicom file at all" * 10)
    with pytest.raises(ValueError, match="bad.dcm"):
        read_dicom(bad)


def test_constant_images_are_refused_naming_the_file(tmp_path, stored):
    zero = _write(tmp_path / "slope0.dcm", stored, RescaleSlope="0", RescaleIntercept="100")
    with pytest.raises(ValueError, match=r"slope0\.dcm: RescaleSlope 0\.0"):
        read_dicom(zero)
    flat = _write(tmp_path / "flat.dcm", np.full_like(stored, 777))
    with pytest.raises(ValueError, match=r"flat\.dcm: every pixel is 777 after the modality LUT"):
        read_dicom(flat)
    dark = _write(tmp_path / "dark.dcm", stored, WindowCenter="60000", WindowWidth="100")
    with pytest.raises(ValueError, match=r"dark\.dcm: every pixel is 0 after the VOI window"):
        read_dicom(dark)


def test_folder_instead_of_a_dicom(tmp_path):
    (tmp_path / "x.dcm").mkdir()
    with pytest.raises(ValueError, match=r"x\.dcm is a folder"):
        read_dicom(tmp_path / "x.dcm")
