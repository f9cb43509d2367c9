"""EGDCXR reads back what the phantom wrote, and each real-release quirk is handled."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from ggcam import gaze_heatmap
from ggcam.data import EGDCXR, read_dicom
from ggcam.geometry import block_mean, grid_geometry

GRID = (6, 5)
SIGMA = 75.5 * 0.05  # the paper's blur, scaled with the phantom


def _open(egd, mimic, **kwargs) -> EGDCXR:
    kwargs.setdefault("gaze", "fixations")  # these tests read fixations.csv; the default is eye_gaze
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return EGDCXR(egd, mimic, grid_shape=kwargs.pop("grid_shape", GRID), sigma=SIGMA,
                      progress=False, **kwargs)


@pytest.fixture(scope="module")
def ds(phantom_root) -> EGDCXR:
    return _open(phantom_root["egd_root"], phantom_root["mimic_root"])


@pytest.fixture(scope="module")
def files(phantom_root):
    egd = phantom_root["egd_root"]
    sheet = pd.read_csv(egd / "master_sheet.csv", dtype=str, keep_default_na=False)
    fix = pd.read_csv(egd / "fixations.csv", dtype={"DICOM_ID": str})
    return sheet, fix


@pytest.fixture
def egd_copy(phantom_root, tmp_path) -> Path:
    """A writable copy of the EGD root (the DICOMs stay shared, read-only)."""
    return Path(shutil.copytree(phantom_root["egd_root"], tmp_path / "egd"))


def test_labels_and_metadata(ds, files):
    sheet, _ = files
    onehot = sheet[["Normal", "CHF", "pneumonia"]].astype(int).to_numpy()
    assert ds.labels.tolist() == onehot.argmax(1).tolist()
    meta = ds.metadata
    assert list(meta["dicom_id"]) == list(sheet["dicom_id"])
    assert meta["class_name"].tolist() == [("Normal", "CHF", "pneumonia")[k] for k in ds.labels]
    assert {"patient_id", "study_id", "rows", "columns", "n_gaze", "has_gaze"} <= set(meta.columns)
    assert len(ds) == 12 and "4 Normal, 4 CHF, 4 pneumonia" in repr(ds)


def test_gaze_counts_and_coordinates_round_trip(ds, files):
    _, fix = files
    for i, dicom_id in enumerate(ds.metadata["dicom_id"]):
        rows = fix[(fix["DICOM_ID"] == dicom_id) & (fix["X_ORIGINAL"] >= 0) & (fix["Y_ORIGINAL"] >= 0)]
        H, W = ds.image_shape(i)
        expected = np.stack([np.minimum(rows["X_ORIGINAL"], W - 1), np.minimum(rows["Y_ORIGINAL"], H - 1)], 1)
        pts = ds.gaze_points(i)
        assert ds.metadata["n_gaze"].iat[i] == len(rows) == len(pts) > 0
        np.testing.assert_array_equal(pts[["x", "y"]].to_numpy(), expected)
        np.testing.assert_allclose(pts["duration"], rows["FPOGD"])


def test_gaze_report_counts_match_the_file(ds, files):
    sheet, fix = files
    known = fix["DICOM_ID"].isin(set(sheet["dicom_id"]))
    off = known & ((fix["X_ORIGINAL"] < 0) | (fix["Y_ORIGINAL"] < 0))
    r = ds.gaze_report
    assert r["rows"] == len(fix)
    assert r["calibration_rows"] == int((~known).sum()) > 0
    assert r["calibration_ids"] == fix.loc[~known, "DICOM_ID"].nunique()
    assert r["off_image_rows"] == int(off.sum()) > 0
    assert r["kept_rows"] == len(fix) - r["calibration_rows"] - r["off_image_rows"]


def test_psi_defaults_to_the_raw_samples_of_algorithm_1():
    import inspect

    from ggcam.data import prepare

    assert inspect.signature(EGDCXR).parameters["gaze"].default == "eye_gaze"
    assert inspect.signature(prepare).parameters["gaze"].default == "eye_gaze"


def test_warns_with_the_counts(phantom_root):
    with pytest.warns(UserWarning, match=r"calibration rows .* off-image rows"):
        EGDCXR(phantom_root["egd_root"], phantom_root["mimic_root"], grid_shape=GRID, progress=False)


def test_item_schema_and_values(ds, phantom_root, files):
    item = ds[3]
    assert set(item) == {"image", "label", "gaze", "has_gaze", "masks", "dicom_id"}
    H, W = ds.image_shape(3)
    sheet, _ = files
    np.testing.assert_array_equal(item["image"], read_dicom(phantom_root["mimic_root"] / sheet["path"][3]))
    assert item["image"].shape == (H, W) and item["image"].dtype == np.float32
    assert isinstance(item["label"], int) and item["has_gaze"] is True
    assert item["dicom_id"] == sheet["dicom_id"][3]
    pts = ds.gaze_points(3)[["x", "y"]].to_numpy()
    np.testing.assert_array_equal(item["gaze"], gaze_heatmap(pts, (H, W), GRID, sigma=SIGMA))
    assert item["gaze"].shape == GRID and item["gaze"].max() == 1.0
    assert item["masks"]["heart"].dtype == bool and item["masks"]["lung"].shape == GRID


def test_masks_on_the_grid_use_the_gaze_placement(ds, phantom_root, files):
    sheet, _ = files
    heart_cells = 0
    for i in range(len(ds)):
        folder = phantom_root["egd_root"] / "audio_segmentation_transcripts" / sheet["dicom_id"][i]
        read = {s: np.asarray(Image.open(folder / f"{s}.png")) > 0
                for s in ("left_lung", "right_lung", "mediastanum")}
        geom = grid_geometry(ds.image_shape(i), GRID)
        masks = ds.masks(i)
        np.testing.assert_array_equal(masks["heart"], block_mean(read["mediastanum"], geom) >= 0.5)
        lung = block_mean(read["left_lung"] | read["right_lung"], geom)
        np.testing.assert_array_equal(masks["lung"], lung >= 0.5)
        assert masks["lung"].sum() >= 2
        assert not (masks["lung"] & masks["heart"]).any()
        heart_cells += int(masks["heart"].sum())
    assert heart_cells >= len(ds) // 2  # a 6×5 grid: the heart fills half a cell or more


def test_mask_rule_any_and_cardiac_bbox(phantom_root, ds, files):
    loose = _open(phantom_root["egd_root"], phantom_root["mimic_root"], mask_rule="any")
    boxed = _open(phantom_root["egd_root"], phantom_root["mimic_root"], heart="cardiac_bbox")
    boxes = pd.read_csv(phantom_root["egd_root"] / "bounding_boxes.csv")
    for i in range(len(ds)):
        strict, wide = ds.masks(i), loose.masks(i)
        assert (wide["lung"] >= strict["lung"]).all() and wide["lung"].sum() > strict["lung"].sum()
        box = boxes[(boxes.dicom_id == ds.metadata.dicom_id[i]) & (boxes.bbox_name == "cardiac silhouette")]
        x1, x2, y1, y2 = box[["x1", "x2", "y1", "y2"]].to_numpy()[0]
        H, W = ds.image_shape(i)
        yy, xx = np.mgrid[:H, :W] + 0.5
        raster = (xx >= x1) & (xx < x2) & (yy >= y1) & (yy < y2)
        geom = grid_geometry((H, W), GRID)
        np.testing.assert_array_equal(boxed.masks(i)["heart"], block_mean(raster, geom) >= 0.5)


def test_eye_gaze_and_duration_weighting(phantom_root, ds):
    raw = _open(phantom_root["egd_root"], phantom_root["mimic_root"], gaze="eye_gaze")
    assert (raw.metadata["n_gaze"] > 10 * ds.metadata["n_gaze"]).all()
    weighted = _open(phantom_root["egd_root"], phantom_root["mimic_root"], weighting="duration")
    pts = ds.gaze_points(0)
    expected = gaze_heatmap(pts[["x", "y"]].to_numpy(), ds.image_shape(0), GRID, sigma=SIGMA,
                            weights=pts["duration"].to_numpy())
    np.testing.assert_array_equal(weighted.gaze_map(0), expected)
    with pytest.raises(ValueError, match="duration"):
        _open(phantom_root["egd_root"], phantom_root["mimic_root"], gaze="eye_gaze", weighting="duration")


def test_bad_options(phantom_root):
    for kwargs, word in (({"gaze": "saccades"}, "gaze"), ({"heart": "aorta"}, "heart"),
                         ({"mask_rule": "most"}, "mask_rule"), ({"resample": "cubic"}, "resample"),
                         ({"grid_shape": (0, 5)}, "grid_shape")):
        with pytest.raises(ValueError, match=word):
            _open(phantom_root["egd_root"], phantom_root["mimic_root"], **kwargs)


# --- the real release's quirks --------------------------------------------------------------

def test_embedded_newlines_are_one_record(ds, files):
    sheet, _ = files
    multi = sheet["cxr_exam_indication"].str.contains("\n")
    assert multi.any() and len(ds) == len(sheet) == 12


def test_mediastinum_spelling_accepted(egd_copy, phantom_root, ds):
    dicom_id = ds.metadata["dicom_id"][0]
    folder = egd_copy / "audio_segmentation_transcripts" / dicom_id
    (folder / "mediastanum.png").rename(folder / "mediastinum.png")
    other = _open(egd_copy, phantom_root["mimic_root"])
    np.testing.assert_array_equal(other.masks(0)["heart"], ds.masks(0)["heart"])
    (folder / "mediastinum.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"mediastanum\.png"):
        other.masks(0)


def test_colour_and_0_1_masks(egd_copy, phantom_root, ds):
    folder = egd_copy / "audio_segmentation_transcripts" / ds.metadata["dicom_id"][0]
    lung = np.asarray(Image.open(folder / "left_lung.png")) > 0
    Image.fromarray(lung.astype(np.uint8)).save(folder / "left_lung.png")  # 0/1 values
    rgb = np.zeros((*lung.shape, 3), np.uint8)
    rgb[..., 1] = 200 * (np.asarray(Image.open(folder / "right_lung.png")) > 0)
    Image.fromarray(rgb).save(folder / "right_lung.png")  # a colour PNG
    other = _open(egd_copy, phantom_root["mimic_root"])
    np.testing.assert_array_equal(other.masks(0)["lung"], ds.masks(0)["lung"])


def test_index_html_files_are_ignored(egd_copy, phantom_root, ds):
    for folder in [egd_copy, *egd_copy.rglob("*")]:
        if folder.is_dir():
            (folder / "index.html").write_text("<html></html>")
    other = _open(egd_copy, phantom_root["mimic_root"])
    np.testing.assert_array_equal(other.masks(5)["lung"], ds.masks(5)["lung"])


def test_not_one_hot_row_names_the_dicom_id(egd_copy, phantom_root, files):
    sheet, _ = files
    bad = sheet.copy()
    bad.loc[7, "CHF"] = "1"
    bad.loc[7, "Normal"] = "1"
    bad.loc[7, "pneumonia"] = "0"
    bad.to_csv(egd_copy / "master_sheet.csv", index=False)
    with pytest.raises(ValueError, match=sheet["dicom_id"][7]):
        _open(egd_copy, phantom_root["mimic_root"])


def test_missing_dicom_names_the_file(egd_copy, phantom_root, files):
    sheet, _ = files
    broken = sheet.copy()
    broken.loc[2, "path"] = broken.loc[2, "path"].replace(".dcm", "-gone.dcm")
    broken.to_csv(egd_copy / "master_sheet.csv", index=False)
    with pytest.raises(FileNotFoundError, match=r"-gone\.dcm"):
        _open(egd_copy, phantom_root["mimic_root"])


def test_unreadable_dicom_names_the_file(tmp_path, egd_copy, phantom_root, files):
    mimic = Path(shutil.copytree(phantom_root["mimic_root"], tmp_path / "mimic"))
    path = mimic / files[0]["path"][4]
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match=path.name):
        _open(egd_copy, mimic)


def test_missing_columns_are_named(egd_copy, phantom_root, files):
    sheet, fix = files
    sheet.drop(columns=["CHF"]).to_csv(egd_copy / "master_sheet.csv", index=False)
    with pytest.raises(ValueError, match="'CHF'"):
        _open(egd_copy, phantom_root["mimic_root"])
    sheet.to_csv(egd_copy / "master_sheet.csv", index=False)
    fix.drop(columns=["Y_ORIGINAL"]).to_csv(egd_copy / "fixations.csv", index=False)
    with pytest.raises(ValueError, match="'Y_ORIGINAL'"):
        _open(egd_copy, phantom_root["mimic_root"])
    (egd_copy / "fixations.csv").unlink()
    with pytest.raises(FileNotFoundError, match=r"fixations\.csv"):
        _open(egd_copy, phantom_root["mimic_root"])


def test_empty_gaze_gives_zeros_not_nan(egd_copy, phantom_root, files):
    """An image whose every point is off the image keeps an all-zero map and has_gaze False."""
    sheet, fix = files
    gone = sheet["dicom_id"][5]
    moved = fix.copy()
    moved.loc[moved["DICOM_ID"] == gone, "X_ORIGINAL"] = -1  # the off-image sentinel
    moved.to_csv(egd_copy / "fixations.csv", index=False)
    other = _open(egd_copy, phantom_root["mimic_root"])
    item = other[5]
    assert item["has_gaze"] is False and not other.metadata["has_gaze"][5]
    assert item["gaze"].shape == GRID and (item["gaze"] == 0).all()
    assert other.gaze_report["images_without_gaze"] == 1
    assert other[4]["has_gaze"] is True


def test_image_missing_from_the_gaze_table_is_an_error(egd_copy, phantom_root, files):
    """Every EGD-CXR image has gaze: an absent one means a truncated or foreign table."""
    sheet, fix = files
    gone = sheet["dicom_id"][5]
    fix[fix["DICOM_ID"] != gone].to_csv(egd_copy / "fixations.csv", index=False)
    with pytest.raises(ValueError, match=rf"fixations\.csv: no row at all for 1 of the 12 .*{gone}"):
        _open(egd_copy, phantom_root["mimic_root"])


def _odd_width(phantom_root, tmp_path, files, k: int) -> tuple[Path, int, int]:
    """A copy of MIMIC-CXR whose image k lost its last column, making its width odd."""
    import pydicom

    mimic = Path(shutil.copytree(phantom_root["mimic_root"], tmp_path / "mimic"))
    path = mimic / files[0]["path"][k]
    ds = pydicom.dcmread(path)
    pixels = ds.pixel_array
    if pixels.shape[1] % 2 == 0:
        pixels = pixels[:, :-1]
    ds.Columns = pixels.shape[1]
    ds.PixelData = np.ascontiguousarray(pixels).astype("<u2").tobytes()
    ds.save_as(path)
    return mimic, pixels.shape[0], pixels.shape[1]


def test_only_the_documented_one_past_the_edge_is_clamped(egd_copy, phantom_root, files, tmp_path):
    """§6 scales by the even-rounded width: x = W is possible on an odd W and is the border
    pixel; x >= W + 1 (or y far below) is no point of the image and is dropped, counted."""
    sheet, fix = files
    mimic, H, W = _odd_width(phantom_root, tmp_path, files, 1)
    assert W % 2 == 1
    moved = fix.copy()
    rows = np.flatnonzero((moved["DICOM_ID"] == sheet["dicom_id"][1]) & (moved["X_ORIGINAL"] >= 0))
    moved.loc[rows[:2], "X_ORIGINAL"] = W  # one past the edge: kept, on the last column
    moved.loc[rows[2], "X_ORIGINAL"] = W + 1  # beyond: dropped
    moved.loc[rows[3], "Y_ORIGINAL"] = 10 * H  # far outside: dropped
    moved.to_csv(egd_copy / "fixations.csv", index=False)
    other = _open(egd_copy, mimic)
    r = other.gaze_report
    assert r["clipped_to_edge"] == 2 and r["beyond_image_rows"] == 2
    assert other.metadata["n_gaze"][1] == len(rows) - 2
    pts = other.gaze_points(1)
    assert pts["x"].max() == W - 1 and pts["y"].max() < H
    assert r["kept_rows"] == sum(other.metadata["n_gaze"])


def test_one_past_an_even_edge_is_off_image(egd_copy, phantom_root, files, ds):
    sheet, fix = files
    W = ds.image_shape(0)[1]
    assert W % 2 == 0  # the phantom's sizes are even but for ~5 %
    moved = fix.copy()
    rows = np.flatnonzero((moved["DICOM_ID"] == sheet["dicom_id"][0]) & (moved["X_ORIGINAL"] >= 0))
    moved.loc[rows[:3], "X_ORIGINAL"] = W
    moved.to_csv(egd_copy / "fixations.csv", index=False)
    other = _open(egd_copy, phantom_root["mimic_root"])
    assert other.gaze_report["beyond_image_rows"] == 3 and other.gaze_report["clipped_to_edge"] == 0
    assert other.metadata["n_gaze"][0] == ds.metadata["n_gaze"][0] - 3
