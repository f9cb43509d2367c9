"""Reading a chest X-ray DICOM into a [0, 1] float image, the careful way.

The chain is the one DICOM defines for display (PS3.4 N.2): stored values → modality LUT
(``RescaleSlope``/``RescaleIntercept`` or a Modality LUT Sequence) → VOI (a VOI LUT Sequence,
else the first ``WindowCenter``/``WindowWidth``) → MONOCHROME1 inverted so that bright is
always dense. The result is scaled to [0, 1] by the range that chain can produce (the window's
output range, or the stored range ``2**BitsStored - 1`` carried through the rescale), never by
a hard-coded 4095.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ggcam.data.checks import require_file

GREY_INTERPRETATIONS = ("MONOCHROME1", "MONOCHROME2")


def _open(path: Path, stop_before_pixels: bool):
    import pydicom
    from pydicom.errors import InvalidDicomError

    require_file(path, "DICOM file")
    try:
        return pydicom.dcmread(path, stop_before_pixels=stop_before_pixels)
    except (InvalidDicomError, OSError, EOFError, ValueError, KeyError) as exc:
        raise ValueError(f"unreadable DICOM file {path}: {exc}") from exc


def dicom_shape(path) -> tuple[int, int]:
    """(Rows, Columns) of a DICOM, read from the header only."""
    path = Path(path)
    ds = _open(path, stop_before_pixels=True)
    try:
        rows, columns = int(ds.Rows), int(ds.Columns)
    except AttributeError as exc:
        raise ValueError(f"DICOM file {path} has no Rows/Columns: {exc}") from exc
    except (TypeError, ValueError) as exc:
        raise ValueError(f"DICOM file {path}: Rows {ds.get('Rows')!r} / Columns "
                         f"{ds.get('Columns')!r} are not whole numbers") from exc
    if rows < 1 or columns < 1:
        raise ValueError(f"DICOM file {path}: Rows {rows}, Columns {columns}: an image has at "
                         "least one row and one column (a broken header)")
    return rows, columns


def _stored_range(ds) -> tuple[float, float]:
    """The range of stored values: [0, 2**BitsStored − 1], or the signed range."""
    bits = int(ds.get("BitsStored", ds.get("BitsAllocated", 16)))
    if int(ds.get("PixelRepresentation", 0)) == 0:
        return 0.0, float(2**bits - 1)
    return float(-(2 ** (bits - 1))), float(2 ** (bits - 1) - 1)


def _modality(arr: np.ndarray, ds, path: Path) -> tuple[np.ndarray, tuple[float, float]]:
    """Modality LUT; returns the float32 values and their possible range (lo, hi)."""
    if ds.get("ModalityLUTSequence"):
        from pydicom.pixels import apply_modality_lut

        depth = int(ds.ModalityLUTSequence[0].LUTDescriptor[2])
        return apply_modality_lut(arr, ds).astype(np.float32), (0.0, float(2**depth - 1))
    lo, hi = _stored_range(ds)
    if "RescaleSlope" in ds and "RescaleIntercept" in ds:
        slope = _first(ds.RescaleSlope, path, "RescaleSlope")
        intercept = _first(ds.RescaleIntercept, path, "RescaleIntercept")
        if slope == 0 or not np.isfinite([slope, intercept]).all():
            raise ValueError(f"{path}: RescaleSlope {slope!r} / RescaleIntercept {intercept!r} "
                             "make every pixel the same value")
        out = arr.astype(np.float32)
        out *= np.float32(slope)
        out += np.float32(intercept)
        lo, hi = sorted((lo * slope + intercept, hi * slope + intercept))
        return out, (lo, hi)
    return arr.astype(np.float32), (lo, hi)


def _first(value, path: Path, keyword: str) -> float:
    """The first of a possibly multi-valued DS element; a ValueError naming the file, the tag
    and the value when it is no number (pydicom keeps an invalid DS such as "abc" as text)."""
    many = isinstance(value, Sequence) and not isinstance(value, (str, bytes))
    try:
        return float(value[0] if many else value)
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"{path}: {keyword} {value!r} is not a number") from None


def _window01(x: np.ndarray, ds, path: Path) -> np.ndarray:
    """The first window (PS3.3 C.11.2.1.2) mapped straight to [0, 1], in place on float32."""
    center = _first(ds.WindowCenter, path, "WindowCenter")
    width = _first(ds.WindowWidth, path, "WindowWidth")
    if not np.isfinite([center, width]).all():
        raise ValueError(f"{path}: WindowCenter {center!r} / WindowWidth {width!r} must be finite")
    func = str(ds.get("VOILUTFunction", "LINEAR")).upper()
    if func == "LINEAR":
        if width < 1:
            raise ValueError(f"{path}: WindowWidth must be >= 1 for LINEAR, got {width}")
        if width == 1:  # a step: values <= center − 0.5 are black, the rest white
            return (x > np.float32(center - 0.5)).astype(np.float32)
        x -= np.float32(center - 0.5)
        x *= np.float32(1.0 / (width - 1))
        x += np.float32(0.5)
    elif func == "LINEAR_EXACT":
        if width <= 0:
            raise ValueError(f"{path}: WindowWidth must be > 0 for LINEAR_EXACT, got {width}")
        x -= np.float32(center)
        x *= np.float32(1.0 / width)
        x += np.float32(0.5)
    elif func == "SIGMOID":
        if width <= 0:
            raise ValueError(f"{path}: WindowWidth must be > 0 for SIGMOID, got {width}")
        x = (1.0 / (1.0 + np.exp(-4.0 * (x - np.float32(center)) / np.float32(width))))
        x = x.astype(np.float32, copy=False)
    else:
        raise ValueError(f"{path}: unsupported VOILUTFunction {func!r}")
    return np.clip(x, 0.0, 1.0, out=x)


def _require_contrast(values: np.ndarray, path: Path, where: str) -> None:
    """A chest X-ray is never one flat value; a constant array is a broken file or header."""
    lo, hi = float(values.min()), float(values.max())
    if lo == hi:
        raise ValueError(f"{path}: every pixel is {lo:g} {where}: a blank image (check "
                         "RescaleSlope/RescaleIntercept, the window and the pixel data)")


def _require_one_frame(ds, path: Path) -> None:
    frames = ds.get("NumberOfFrames", 1) or 1
    try:
        frames = int(frames)
    except (TypeError, ValueError):
        raise ValueError(f"{path}: NumberOfFrames {frames!r} is not a whole number") from None
    if frames != 1:
        raise ValueError(f"{path}: {frames} frames; read_dicom reads one frame")


def read_dicom(path) -> np.ndarray:
    """A grey DICOM image as float32 in [0, 1], bright = dense.

    Args:
        path: a single-frame MONOCHROME1/MONOCHROME2 DICOM file.

    Returns:
        image, shape (H, W) = (Rows, Columns), float32 in [0, 1].

    Raises:
        FileNotFoundError: the file does not exist (the message names it).
        ValueError: unreadable file, colour or palette image, several frames, a constant
            image (RescaleSlope 0, blank pixel data, a window outside the data) (named).
    """
    path = Path(path)
    ds = _open(path, stop_before_pixels=False)
    photometric = str(ds.get("PhotometricInterpretation", "")).strip()
    if photometric not in GREY_INTERPRETATIONS:
        raise ValueError(
            f"{path}: PhotometricInterpretation {photometric!r} is not supported; "
            f"read_dicom reads grey images ({', '.join(GREY_INTERPRETATIONS)})"
        )
    _require_one_frame(ds, path)
    try:
        stored = ds.pixel_array
    except Exception as exc:  # any decoder failure: say which file, keep the cause
        raise ValueError(f"unreadable pixel data in DICOM file {path}: {exc}") from exc
    if stored.ndim != 2:
        raise ValueError(f"{path}: pixel data has shape {stored.shape}, expected (Rows, Columns)")

    if ds.get("VOILUTSequence"):
        from pydicom.pixels import apply_voi

        if ds.get("ModalityLUTSequence") or "RescaleSlope" in ds:
            values, _ = _modality(stored, ds, path)
            values = np.round(values).astype(np.int64)
        else:
            values = stored
        depth = int(ds.VOILUTSequence[0].LUTDescriptor[2])
        image = apply_voi(values, ds).astype(np.float32) / np.float32(2**depth - 1)
    else:
        image, (lo, hi) = _modality(stored, ds, path)
        _require_contrast(image, path, "after the modality LUT (rescale)")
        if "WindowCenter" in ds and "WindowWidth" in ds:
            image = _window01(image, ds, path)
        else:
            if hi <= lo:
                lo, hi = float(image.min()), float(image.max())
            image -= np.float32(lo)
            image *= np.float32(1.0 / (hi - lo)) if hi > lo else np.float32(0.0)
            np.clip(image, 0.0, 1.0, out=image)
    _require_contrast(image, path, "after the VOI window")
    if photometric == "MONOCHROME1":
        warnings.warn(f"{path}: MONOCHROME1 image inverted so that bright is dense", stacklevel=2)
        image = np.subtract(np.float32(1.0), image, dtype=np.float32)
    return np.ascontiguousarray(image, dtype=np.float32)
