"""make_phantom writes the real release's layout, and its values hang together."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
from PIL import Image

from ggcam.data import make_phantom
from ggcam.data.phantom import anatomy as pa
from ggcam.data.phantom import reader as phantom_reader
from ggcam.data.phantom.generate import case_specs

# Headers copied from shared/docs/egd-cxr-format.md (§2-4), not from ggcam.data.layout.
MASTER_HEADER = (
    "dicom_id,path,study_id,patient_id,stay_id,gender,anchor_age,image_top_pad,image_bottom_pad,"
    "image_left_pad,image_right_pad,dx1,dx1_icd,dx2,dx2_icd,dx3,dx3_icd,dx4,dx4_icd,dx5,dx5_icd,"
    "dx6,dx6_icd,dx7,dx7_icd,dx8,dx8_icd,dx9,dx9_icd,normal_reports,Normal,CHF,pneumonia,"
    "consolidation,enlarged_cardiac_silhouette,linear__patchy_atelectasis,lobar__segmental_collapse,"
    "not_otherwise_specified_opacity___pleural__parenchymal_opacity__,pleural_effusion_or_thickening,"
    "pulmonary_edema__hazy_opacity,normal_anatomically,elevated_hemidiaphragm,hyperaeration,"
    "vascular_redistribution,atelectasis__chx,cardiomegaly__chx,consolidation__chx,edema__chx,"
    "enlarged_cardiomediastinum__chx,fracture__chx,lung_lesion__chx,lung_opacity__chx,"
    "no_finding__chx,pleural_effusion__chx,pleural_other__chx,pneumonia__chx,pneumothorax__chx,"
    "support_devices__chx,cxr_exam_indication"
)
GAZE_HEADER = (
    "SESSION_ID,MEDIA_ID,DICOM_ID,CNT,Time (in secs),TIMETICK(f=10000000),FPOGX,FPOGY,FPOGS,FPOGD,"
    "FPOGID,FPOGV,BPOGX,BPOGY,BPOGV,LPCX,LPCY,LPD,LPS,LPV,RPCX,RPCY,RPD,RPS,RPV,BKID,BKDUR,BKPMIN,"
    "LPMM,LPMMV,RPMM,RPMMV,SACCADE_MAG,SACCADE_DIR,VID_FRAME,X_ORIGINAL,Y_ORIGINAL"
)
BBOX_HEADER = "dicom_id,bbox_name,x1,x2,y1,y2"


def _pads(H, W):  # §6, written out again
    ratio = 1024 / max(H, W)
    nh, nw = int(H * ratio), int(W * ratio)
    dh, dw = 1024 - nh, 1920 - nw
    return dh // 2, dh - dh // 2, dw // 2, dw - dw // 2


def _to_image(fx, fy, H, W):  # §6, one point at a time, as the authors' script
    top, bottom, left, right = _pads(H, W)
    He, We = H + H % 2, W + W % 2
    ex, ey = fx * 1920, fy * 1080
    inside = left < ex < 1920 - right and top < ey < 1080 - bottom
    xo, yo = (ex - left, ey - top) if inside else (-1, -1)
    return int(We / (1920 - left - right) * xo), int(He / (1080 - top - bottom) * yo), inside


_SHAPES: dict = {}  # dicom_id → (Rows, Columns), read from the DICOMs once


@pytest.fixture(scope="module", autouse=True)
def _shapes(phantom_root):
    sheet = pd.read_csv(phantom_root["egd_root"] / "master_sheet.csv", dtype=str, keep_default_na=False)
    for _, row in sheet.iterrows():
        ds = pydicom.dcmread(phantom_root["mimic_root"] / row["path"], stop_before_pixels=True)
        _SHAPES[row["dicom_id"]] = (int(ds.Rows), int(ds.Columns))


@pytest.fixture(scope="module")
def tables(phantom_root):
    egd = phantom_root["egd_root"]
    sheet = pd.read_csv(egd / "master_sheet.csv", dtype=str, keep_default_na=False)
    fix = pd.read_csv(egd / "fixations.csv", dtype={"DICOM_ID": str})
    raw = pd.read_csv(egd / "eye_gaze.csv", dtype={"DICOM_ID": str})
    return sheet, fix, raw


def test_layout_and_headers(phantom_root):
    egd, mimic = phantom_root["egd_root"], phantom_root["mimic_root"]
    assert egd.parts[-2:] == ("egd-cxr", "1.0.0") and mimic.parts[-2:] == ("mimic-cxr", "2.0.0")
    for name, header in (("master_sheet.csv", MASTER_HEADER), ("fixations.csv", GAZE_HEADER),
                         ("eye_gaze.csv", GAZE_HEADER), ("bounding_boxes.csv", BBOX_HEADER)):
        with open(egd / name, newline="") as f:
            assert f.readline().rstrip("\n") == header, name
    assert len(MASTER_HEADER.split(",")) == 59 and len(GAZE_HEADER.split(",")) == 37
    assert not list(egd.parent.parent.glob(".phantom-*"))  # the temporary folder is gone


def test_master_sheet_values(phantom_root, tables):
    sheet = tables[0]
    assert len(sheet) == 12 and sheet.shape[1] == 59
    assert (sheet[["Normal", "CHF", "pneumonia"]].astype(int).sum(axis=0) == 4).all()
    assert (sheet[["Normal", "CHF", "pneumonia"]].astype(int).sum(axis=1) == 1).all()
    assert sheet["dicom_id"].str.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{8}){4}").all()
    assert sheet["study_id"].str.fullmatch(r"5\d{7}").all()
    assert sheet["patient_id"].str.fullmatch(r"1\d{7}").all()
    expected = "files/p" + sheet.patient_id.str[:2] + "/p" + sheet.patient_id + "/s" + sheet.study_id + "/" + sheet.dicom_id + ".dcm"
    assert (sheet["path"] == expected).all()
    assert set(sheet["gender"]) <= {"M", "F"}
    assert sheet["anchor_age"].str.fullmatch(r"\d0 - \d0").all()
    for col in sheet.columns[44:58]:
        assert set(sheet[col]) <= {"", "1", "0", "-1"}, col
    # Free text: the real parser sees 12 records although the file has more lines.
    text = (phantom_root["egd_root"] / "master_sheet.csv").read_text()
    assert text.count("\n") > 13 and sheet["cxr_exam_indication"].str.contains("\n").any()
    with open(phantom_root["egd_root"] / "master_sheet.csv", newline="") as f:
        assert sum(1 for _ in csv.reader(f)) == 13


def test_dicoms_have_the_stated_tags(phantom_root, tables):
    sheet = tables[0]
    for _, row in sheet.iterrows():
        ds = pydicom.dcmread(phantom_root["mimic_root"] / row["path"])
        assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
        assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.1.1" == ds.file_meta.MediaStorageSOPClassUID
        assert (ds.Modality, ds.ViewPosition, ds.PhotometricInterpretation) == ("DX", "PA", "MONOCHROME2")
        assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation) == (16, 12, 11, 0)
        assert float(ds.WindowWidth) > 0 and "WindowCenter" in ds
        assert ds.PatientID == row["patient_id"]
        pixels = ds.pixel_array
        assert pixels.shape == (ds.Rows, ds.Columns) and pixels.max() <= 4095
        top, bottom, left, right = _pads(ds.Rows, ds.Columns)
        assert [int(row[c]) for c in ("image_top_pad", "image_bottom_pad", "image_left_pad",
                                      "image_right_pad")] == [top, bottom, left, right]


def test_sizes_scale_with_geometry():
    specs = case_specs(1083, 1.0, seed=0)
    shapes = [s.shape for s in specs]
    assert 0.50 < shapes.count((3056, 2544)) / 1083 < 0.66
    assert 0.18 < shapes.count((2544, 3056)) / 1083 < 0.32
    odd = sum(1 for H, W in shapes if H % 2 or W % 2)
    assert 25 <= odd <= 70  # the release has 46
    patients = pd.Series([s.patient_id for s in specs])
    assert 10 <= patients.duplicated().sum() <= 60
    assert np.bincount([s.label for s in specs]).tolist() == [361, 361, 361]
    small = case_specs(1083, 0.125, seed=0)
    for big, little in zip(specs, small):
        assert little.dicom_id == big.dicom_id and little.label == big.label
        assert all(abs(b * 0.125 - s) <= 1.5 for b, s in zip(big.shape, little.shape))


def test_gaze_coordinates_follow_section_6(tables):
    sheet, fix, raw = tables
    egd_ids = set(sheet["dicom_id"])
    for table in (fix, raw.iloc[::7]):
        checked = 0
        for r in table.itertuples(index=False):
            ids = [i for i in egd_ids if r[2] == i or r[2] == i[:-5] or r[2] == f"{i}_calibration"]
            assert len(ids) == 1
            H, W = _SHAPES[ids[0]]
            x, y, inside = _to_image(r.FPOGX, r.FPOGY, H, W)
            if inside:
                assert (r.X_ORIGINAL, r.Y_ORIGINAL) == (x, y)
            else:  # the sentinel, floored at −1 on scaled-down images
                assert (r.X_ORIGINAL, r.Y_ORIGINAL) == (min(x, -1), min(y, -1))
            checked += 1
        assert checked > 100


def test_gaze_tables_timing_and_ids(tables):
    sheet, fix, raw = tables
    ids = set(sheet["dicom_id"])
    np.testing.assert_allclose(fix["Time (in secs)"], fix["FPOGS"] + fix["FPOGD"], atol=1e-9)
    assert 0.2 < fix["FPOGD"].median() < 0.6 and fix["FPOGD"].between(0.05, 2.0).all()
    calib = fix.loc[~fix["DICOM_ID"].isin(ids), "DICOM_ID"].unique()
    assert len(calib) >= 1
    assert all(len(c) == 39 or c.endswith("_calibration") for c in calib)
    assert all(c[:39] in {i[:39] for i in ids} for c in calib)
    image_rows = fix[fix["DICOM_ID"].isin(ids)]
    assert 35 <= image_rows.groupby("DICOM_ID").size().mean() <= 58
    assert ((image_rows["X_ORIGINAL"] < 0) | (image_rows["Y_ORIGINAL"] < 0)).sum() >= 1
    for _, session in raw.groupby("SESSION_ID"):  # counters are monotonic over a session
        assert session["CNT"].is_monotonic_increasing
        assert session["TIMETICK(f=10000000)"].is_monotonic_increasing
    for _, screen in raw.groupby(["SESSION_ID", "MEDIA_ID"]):
        dt = np.diff(screen["Time (in secs)"].to_numpy())
        assert abs(np.median(dt) - 1 / 60) < 1e-3  # ~60 Hz
    assert len(raw) > 15 * len(fix)


def test_reader_statistics():
    """~45 fixations per image over many simulated readings; dwell on consolidations."""
    rng = np.random.default_rng(1)
    counts, near = [], []
    for k in range(150):
        label = k % 3
        anat = pa.sample_anatomy(rng, label, (3056, 2544), female=False)
        fnd = pa.sample_findings(rng, label, anat)
        fix, _ = phantom_reader.read_image(rng, anat, fnd, (3056, 2544))
        counts.append(len(fix["CNT"]))
        if label == 2:
            u, v = pa.chest_coords(anat, fix["X_ORIGINAL"].astype(float), fix["Y_ORIGINAL"].astype(float))
            d = np.min([np.hypot(u - cu, v - cv) / r for cu, cv, r, _ in fnd.consolidations], axis=0)
            near.append(np.mean(d < 1.5))
    assert 40 <= np.mean(counts) <= 50
    assert np.mean(near) > 0.2  # a fifth of a pneumonia reading dwells on the findings


def test_masks_boxes_and_transcripts(phantom_root, tables):
    sheet = tables[0]
    boxes = pd.read_csv(phantom_root["egd_root"] / "bounding_boxes.csv")
    assert (boxes.groupby("dicom_id").size() == 17).all() and len(boxes) == 17 * 12
    for _, row in sheet.iterrows():
        folder = phantom_root["egd_root"] / "audio_segmentation_transcripts" / row["dicom_id"]
        H, W = _SHAPES[row["dicom_id"]]
        masks = {}
        for stem in ("left_lung", "right_lung", "mediastanum", "aortic_knob"):
            img = Image.open(folder / f"{stem}.png")
            assert img.mode == "L" and img.size == (W, H)
            arr = np.asarray(img)
            assert set(np.unique(arr)) <= {0, 255}
            masks[stem] = arr > 0
        assert not (masks["left_lung"] & masks["right_lung"]).any()
        assert not (masks["left_lung"] & masks["mediastanum"]).any()
        # The left lung (the patient's) is on the image's right.
        cols = np.arange(W)
        assert cols[masks["left_lung"].any(0)].mean() > cols[masks["right_lung"].any(0)].mean()
        # Masks follow the drawing: lungs are dark, the mediastinum bright.
        ds = pydicom.dcmread(phantom_root["mimic_root"] / row["path"])
        px = ds.pixel_array.astype(float)
        assert px[masks["left_lung"] | masks["right_lung"]].mean() < px[masks["mediastanum"]].mean() - 300
        lung_box = boxes[(boxes.dicom_id == row["dicom_id"]) & (boxes.bbox_name == "left lung")].iloc[0]
        rows, cols_ = np.flatnonzero(masks["left_lung"].any(1)), np.flatnonzero(masks["left_lung"].any(0))
        assert abs(lung_box.x1 - cols_[0]) <= 3 and abs(lung_box.y2 - rows[-1] - 1) <= 3
        t = json.loads((folder / "transcript.json").read_text())
        assert set(t) == {"full_text", "time_stamped_text"} and t["time_stamped_text"]
        assert set(t["time_stamped_text"][0]) == {"begin_time", "end_time", "phrase"}


def _digest(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes(phantom_root, tmp_path):
    root = Path(phantom_root["egd_root"]).parents[1]
    again = make_phantom(tmp_path / "a", n_images=12, scale=0.05, seed=0, workers=2, progress=False)
    assert _digest(Path(again["egd_root"]).parents[1]) == _digest(root)
    other = make_phantom(tmp_path / "b", n_images=12, scale=0.05, seed=1, workers=1, progress=False)
    a = (Path(again["egd_root"]) / "master_sheet.csv").read_bytes()
    assert (Path(other["egd_root"]) / "master_sheet.csv").read_bytes() != a


def test_bad_arguments(tmp_path):
    for kwargs, word in (({"n_images": 0}, "n_images"), ({"scale": 0}, "scale"),
                         ({"workers": 0}, "workers")):
        with pytest.raises(ValueError, match=word):
            make_phantom(tmp_path, **kwargs)


def test_classes_differ_in_heart_size_but_overlap():
    rng = np.random.default_rng(3)
    ctr = {c: [pa.sample_anatomy(rng, c, (3056, 2544), False).ctr for _ in range(400)] for c in range(3)}
    normal, chf = np.array(ctr[0]), np.array(ctr[1])
    assert chf.mean() - normal.mean() > 0.05
    # Overlap: heart size alone does not separate the classes.
    assert np.mean(chf < np.quantile(normal, 0.9)) > 0.1
    assert np.mean(normal > np.quantile(chf, 0.1)) > 0.1
