"""The phantom's image files: a MIMIC-CXR-like DICOM and the EGD-CXR mask PNGs.

Every phantom DICOM carries ``IMPLEMENTATION_UID`` as its file meta ImplementationClassUID:
that is how ``is_phantom`` recognises a phantom from its images alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DX_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.1"
IMPLEMENTATION_UID = "2.25.163027004470911361254938458052393331526"  # ggcam phantom writer


def _uid(rng) -> str:
    return "2.25." + str(int.from_bytes(rng.bytes(16), "big"))


def write_dicom(path: Path, pixels: np.ndarray, spec, window, rng) -> None:
    """A MIMIC-CXR-like DX DICOM (Explicit VR Little Endian, MONOCHROME2, 12 of 16 bits) of
    ``spec``, a ``phantom.CaseSpec``."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    sop = _uid(rng)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = DX_FOR_PRESENTATION
    meta.MediaStorageSOPInstanceUID = sop
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = DX_FOR_PRESENTATION, sop
    ds.StudyInstanceUID, ds.SeriesInstanceUID = _uid(rng), _uid(rng)
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = spec.date
    ds.StudyTime = f"{rng.integers(0, 24):02d}{rng.integers(0, 60):02d}{rng.integers(0, 60):02d}"
    ds.PatientID, ds.PatientName, ds.PatientSex = spec.patient_id, "Phantom", "F" if spec.female else "M"
    ds.StudyID, ds.AccessionNumber = spec.study_id, ""
    ds.Modality, ds.ViewPosition, ds.PresentationIntentType = "DX", "PA", "FOR PRESENTATION"
    ds.ImageType = ["DERIVED", "PRIMARY"]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.WindowCenter, ds.WindowWidth = f"{window[0]:.1f}", f"{window[1]:.1f}"
    ds.PixelSpacing = ds.ImagerPixelSpacing = [f"{spec.pixel_mm:.6g}"] * 2
    ds.PixelData = np.ascontiguousarray(pixels, dtype="<u2").tobytes()
    ds["PixelData"].VR = "OW"
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


def write_png(path: Path, mask: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(mask.astype(np.uint8) * np.uint8(255)).save(path, format="PNG", compress_level=1)
