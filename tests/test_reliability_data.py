"""Silently wrong inputs become one clear error (or a counted, warned fix), naming the culprit.

Each test breaks one thing in a copy of the phantom (``phantom_copy``) and checks what the
data layer says about it.
"""

from __future__ import annotations

import io
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from ggcam.data import EGDCXR, prepare

GRID, SIGMA = (6, 5), 75.5 * 0.05


def _open(roots, **kwargs) -> EGDCXR:
    egd, mimic = kwargs.pop("egd", roots["egd_root"]), kwargs.pop("mimic", roots["mimic_root"])
    kwargs.setdefault("gaze", "fixations")  # the bad inputs below are written into fixations.csv
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*kept \d+ of \d+ rows")
        return EGDCXR(egd, mimic, grid_shape=GRID, sigma=SIGMA, progress=False, **kwargs)


def _sheet(roots) -> pd.DataFrame:
    return pd.read_csv(roots["egd_root"] / "master_sheet.csv", dtype=str, keep_default_na=False)


def _case(roots, k: int = 0) -> Path:
    return roots["egd_root"] / "audio_segmentation_transcripts" / _sheet(roots)["dicom_id"][k]


# --- CSV files: empty, header only, truncated, stray spaces ----------------------------------

@pytest.mark.parametrize("name", ["master_sheet.csv", "fixations.csv"])
def test_empty_and_header_only_csv(phantom_copy, name):
    path = phantom_copy["egd_root"] / name
    header = path.read_text().split("\n", 1)[0] + "\n"
    path.write_text("")
    with pytest.raises(ValueError, match=rf"{name}: empty file \(0 bytes"):
        _open(phantom_copy)
    path.write_text(header)
    with pytest.raises(ValueError, match=rf"{name}: no rows \(header only\)"):
        _open(phantom_copy)


def test_header_only_bounding_boxes(phantom_copy):
    path = phantom_copy["egd_root"] / "bounding_boxes.csv"
    path.write_text("dicom_id,bbox_name,x1,x2,y1,y2\n")
    _open(phantom_copy)  # not read unless the heart is the box
    with pytest.raises(ValueError, match=r"bounding_boxes\.csv: no rows"):
        _open(phantom_copy, heart="cardiac_bbox")


@pytest.mark.parametrize("name", ["master_sheet.csv", "fixations.csv"])
def test_truncated_csv(phantom_copy, name):
    path = phantom_copy["egd_root"] / name
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 7])  # cut inside the last row, as a broken download
    with pytest.raises(ValueError, match=rf"{name}: the last line has no line break.*truncated"):
        _open(phantom_copy)


def test_unparsable_gaze_value(phantom_copy):
    path = phantom_copy["egd_root"] / "fixations.csv"
    fix = pd.read_csv(path, dtype=str, keep_default_na=False)
    fix.loc[3, "X_ORIGINAL"] = "12px"
    fix.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"fixations\.csv: unreadable gaze table.*12px"):
        _open(phantom_copy)


def test_trailing_spaces_in_ids_are_stripped_with_a_warning(phantom_copy):
    reference = _open(phantom_copy)
    sheet = _sheet(phantom_copy)
    sheet.loc[2, "dicom_id"] += " "
    sheet.to_csv(phantom_copy["egd_root"] / "master_sheet.csv", index=False)
    path = phantom_copy["egd_root"] / "fixations.csv"
    fix = pd.read_csv(path, dtype=str, keep_default_na=False)
    fix["DICOM_ID"] = fix["DICOM_ID"].where(fix["DICOM_ID"] != sheet["dicom_id"][4], fix["DICOM_ID"] + "  ")
    fix.to_csv(path, index=False)
    with pytest.warns(UserWarning) as record:
        other = _open(phantom_copy)
    text = "\n".join(str(w.message) for w in record)
    assert re.search(r"master_sheet\.csv: stripped surrounding whitespace from dicom_id "
                     r"\(1 value\(s\), e\.g\. '[0-9a-f-]+ '\)", text)
    assert re.search(r"fixations\.csv: stripped surrounding whitespace from DICOM_ID", text)
    assert list(other.metadata["dicom_id"]) == list(reference.metadata["dicom_id"])
    assert list(other.metadata["n_gaze"]) == list(reference.metadata["n_gaze"])


def test_blank_dicom_id(phantom_copy):
    sheet = _sheet(phantom_copy)
    sheet.loc[6, "dicom_id"] = ""
    sheet.to_csv(phantom_copy["egd_root"] / "master_sheet.csv", index=False)
    with pytest.raises(ValueError, match=r"master_sheet\.csv: blank dicom_id on record 7"):
        _open(phantom_copy)


# --- masks -----------------------------------------------------------------------------------

def test_mask_resaved_as_jpeg_is_refused(phantom_copy):
    path = _case(phantom_copy, 3) / "left_lung.png"
    buffer = io.BytesIO()
    Image.open(path).save(buffer, format="JPEG", quality=80)
    Image.open(buffer).save(path)  # a PNG again, with the JPEG's grey borders
    ds = _open(phantom_copy)
    with pytest.raises(ValueError, match=r"left_lung\.png is not binary: \d+ levels"):
        ds.masks(3)
    ds.masks(2)  # the others are fine


def test_mask_with_three_levels_is_refused_but_0_1_is_fine(phantom_copy):
    path = _case(phantom_copy, 1) / "right_lung.png"
    inside = np.asarray(Image.open(path)) > 0
    Image.fromarray(inside.astype(np.uint8)).save(path)  # 0/1: binary
    ds = _open(phantom_copy)
    assert ds.masks(1)["lung"].any()
    levels = inside.astype(np.uint8) * 255
    levels[np.nonzero(inside)[0][0]] = 128  # one row of another level
    Image.fromarray(levels).save(path)
    with pytest.raises(ValueError, match=r"right_lung\.png is not binary: 3 levels \(0, 128, 255\)"):
        ds.masks(1)


def test_missing_mask_or_case_folder_is_named_at_once(phantom_copy):
    (_case(phantom_copy, 4) / "right_lung.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"mask not found: .*/right_lung\.png"):
        _open(phantom_copy)  # before any gaze table is read
    shutil.rmtree(_case(phantom_copy, 4))
    with pytest.raises(FileNotFoundError, match=_sheet(phantom_copy)["dicom_id"][4]):
        _open(phantom_copy)


# --- a file where a folder should be, and the reverse ----------------------------------------

def test_file_where_a_folder_should_be(phantom_copy, tmp_path):
    folder = _case(phantom_copy, 5)
    shutil.rmtree(folder)
    folder.write_text("oops")
    with pytest.raises(ValueError, match=rf"{folder.name}.* is a file, expected a folder"):
        _open(phantom_copy)
    a_file = tmp_path / "egd.txt"
    a_file.write_text("")
    with pytest.raises(ValueError, match=r"egd_root .*egd\.txt is a file"):
        _open(phantom_copy, egd=a_file)


def test_folder_where_a_file_should_be(phantom_copy):
    dcm = phantom_copy["mimic_root"] / _sheet(phantom_copy)["path"][2]
    saved = dcm.read_bytes()
    dcm.unlink()
    dcm.mkdir()
    with pytest.raises(ValueError, match=rf"DICOM file .*{dcm.name} is a folder"):
        _open(phantom_copy)
    dcm.rmdir()
    dcm.write_bytes(saved)
    sheet = phantom_copy["egd_root"] / "fixations.csv"
    sheet.unlink()
    sheet.mkdir()
    with pytest.raises(ValueError, match=r"fixations\.csv is a folder"):
        _open(phantom_copy)


def test_missing_dicom_is_named(phantom_copy):
    dcm = phantom_copy["mimic_root"] / _sheet(phantom_copy)["path"][8]
    dcm.unlink()
    with pytest.raises(FileNotFoundError, match=rf"DICOM file not found: .*{dcm.name}"):
        _open(phantom_copy)


# --- the two roots ---------------------------------------------------------------------------

def test_swapped_roots(phantom_copy):
    with pytest.raises(ValueError, match="egd_root and mimic_root look swapped"):
        _open(phantom_copy, egd=phantom_copy["mimic_root"], mimic=phantom_copy["egd_root"])


def test_mimic_root_given_as_its_files_folder(phantom_copy):
    with pytest.raises(FileNotFoundError, match=r"has no files/ folder.*pass the folder above it"):
        _open(phantom_copy, mimic=phantom_copy["mimic_root"] / "files")
    with pytest.raises(FileNotFoundError, match=r"pass .*mimic-cxr/2\.0\.0"):
        _open(phantom_copy, mimic=phantom_copy["root"])


# --- through prepare: the same errors, not a traceback from a worker -------------------------

def test_prepare_reports_a_broken_mask_by_name(phantom_copy, tmp_path):
    path = _case(phantom_copy, 0) / "mediastanum.png"
    arr = np.asarray(Image.open(path)).copy()
    arr[arr > 0] = 200
    arr[0, 0] = 100
    Image.fromarray(arr).save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(ValueError, match=r"mediastanum\.png is not binary"):
            prepare(phantom_copy["egd_root"], phantom_copy["mimic_root"], tmp_path / "c",
                    input_shape=(192, 160), sigma=SIGMA, workers=2, progress=False)
    assert not (tmp_path / "c").exists() and not list(tmp_path.glob(".c.tmp-*"))


def _claim_size(path, width: int, height: int) -> None:
    """Rewrite a PNG's header (IHDR) to claim another size, keeping its CRC valid."""
    import struct
    import zlib

    data = bytearray(path.read_bytes())
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))


def test_a_mask_whose_header_claims_20000_squared_is_refused_before_decoding(phantom_copy):
    path = _case(phantom_copy, 2) / "left_lung.png"
    _claim_size(path, 20000, 20000)
    ds = _open(phantom_copy)
    with pytest.raises(ValueError, match=r"left_lung\.png.*(decompression bomb|has shape \(20000, 20000\))"):
        ds.masks(2)


def test_a_decompression_bomb_is_named(tmp_path):
    from ggcam.data.masks import read_mask

    path = tmp_path / "bomb.png"
    Image.new("1", (8, 8)).save(path)
    _claim_size(path, 20000, 20000)  # 4e8 pixels: beyond PIL's bomb limit
    with pytest.raises(ValueError, match=r"unreadable mask .*bomb\.png"):
        read_mask(path)


def test_a_mask_larger_than_its_image_is_refused_by_its_header(phantom_copy):
    path = _case(phantom_copy, 2) / "left_lung.png"
    _claim_size(path, 9000, 9000)  # under PIL's limit; decoding would fail or take 81 MB
    with pytest.raises(ValueError, match=r"left_lung\.png has shape \(9000, 9000\), the image has"):
        _open(phantom_copy).masks(2)


def test_prepare_refuses_a_dicom_that_is_a_byte_copy_of_another_rows(phantom_copy, tmp_path):
    """Not a link (the reader refuses those): a copy, which only its pixels give away."""
    import shutil

    sheet = _sheet(phantom_copy)
    root = phantom_copy["mimic_root"]
    shutil.copy(root / sheet["path"][1], root / sheet["path"][0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(ValueError, match=r"the images of dicom_id .* are identical pixel for pixel") as err:
            prepare(phantom_copy["egd_root"], root, tmp_path / "c",
                    input_shape=(192, 160), sigma=SIGMA, workers=1, progress=False)
    assert sheet["dicom_id"][0] in str(err.value) and sheet["dicom_id"][1] in str(err.value)
    assert not (tmp_path / "c").exists()
