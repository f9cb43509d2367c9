"""The phantom's ground truth: phantom-truth.csv, the informativeness knob, findings.npy."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ggcam.data import EGDCXR, CachedDataset, make_phantom, prepare, read_phantom_truth
from ggcam.data.phantom.truth import finding_mask
from ggcam.geometry import block_mean, grid_geometry

INPUT, STRIDE, GRID = (192, 160), 32, (6, 5)
SIGMA = 75.5 * 0.05


@pytest.fixture(scope="module")
def truth(phantom_root) -> pd.DataFrame:
    return read_phantom_truth(phantom_root["truth_path"])


@pytest.fixture(scope="module")
def sheet(phantom_root) -> pd.DataFrame:
    return pd.read_csv(phantom_root["egd_root"] / "master_sheet.csv", dtype=str, keep_default_na=False)


def test_truth_lies_beside_the_release(phantom_root):
    path = Path(phantom_root["truth_path"])
    assert path.parent == Path(phantom_root["egd_root"]).parents[1]
    assert not list(Path(phantom_root["egd_root"]).rglob("*truth*"))  # the layout stays real
    assert path.read_text().splitlines()[0] == "dicom_id,label,class_name,finding,x0,y0,x1,y1"


def test_every_image_has_its_findings(truth, sheet, phantom_root):
    assert set(truth["dicom_id"]) == set(sheet["dicom_id"])
    boxes = pd.read_csv(phantom_root["egd_root"] / "bounding_boxes.csv")
    for _, row in sheet.iterrows():
        rows = truth[truth["dicom_id"] == row["dicom_id"]]
        label = ["Normal", "CHF", "pneumonia"].index(rows["class_name"].iat[0])
        assert (rows["label"] == label).all() and row[rows["class_name"].iat[0]] == "1"
        kinds = rows["finding"].tolist()
        if label == 0:
            assert kinds == ["none"] and rows[["x0", "y0", "x1", "y1"]].isna().all(axis=None)
        elif label == 1:  # the heart is CHF's finding: the cardiac silhouette box
            assert kinds[0] == "cardiomegaly" and set(kinds[1:]) <= {"edema", "effusion"}
            heart = boxes[(boxes.dicom_id == row["dicom_id"]) & (boxes.bbox_name == "cardiac silhouette")]
            np.testing.assert_allclose(rows.iloc[0][["x0", "x1", "y0", "y1"]].to_numpy(dtype=float),
                                       heart[["x1", "x2", "y1", "y2"]].to_numpy()[0], atol=1e-3)
        else:
            assert set(kinds) == {"consolidation"} and 1 <= len(kinds) <= 3
        found = rows[rows["finding"] != "none"]
        assert (found["x1"] > found["x0"]).all() and (found["y1"] > found["y0"]).all()
        assert (found[["x0", "y0"]] >= 0).all(axis=None)


def test_consolidations_are_where_the_image_is_dense(truth, sheet, phantom_root):
    """A consolidation box is brighter (denser) than the same lung outside it."""
    from PIL import Image

    from ggcam.data import read_dicom

    brighter = []
    for _, b in truth[truth["finding"] == "consolidation"].iterrows():
        row = sheet[sheet["dicom_id"] == b["dicom_id"]].iloc[0]
        image = read_dicom(phantom_root["mimic_root"] / row["path"])
        folder = phantom_root["egd_root"] / "audio_segmentation_transcripts" / b["dicom_id"]
        lung = sum(np.asarray(Image.open(folder / f"{s}_lung.png")) > 0 for s in ("left", "right")) > 0
        inside = finding_mask([[b.x0, b.y0, b.x1, b.y1]], image.shape) & lung
        if inside.sum() >= 4:
            brighter.append(image[inside].mean() > image[lung & ~inside].mean())
    assert len(brighter) >= 3 and np.mean(brighter) >= 0.75


def _share_in_boxes(roots) -> float:
    truth = read_phantom_truth(roots["truth_path"])
    truth = truth[truth["finding"] != "none"]
    fix = pd.read_csv(roots["egd_root"] / "fixations.csv", dtype={"DICOM_ID": str})
    fix = fix[fix["DICOM_ID"].isin(set(truth["dicom_id"]))]
    x, y = fix["X_ORIGINAL"].to_numpy() + 0.5, fix["Y_ORIGINAL"].to_numpy() + 0.5  # pixel centres
    ids, inside = fix["DICOM_ID"].to_numpy(), np.zeros(len(fix), dtype=bool)
    for b in truth.itertuples():
        inside |= (ids == b.dicom_id) & (x >= b.x0) & (x < b.x1) & (y >= b.y0) & (y < b.y1)
    return float(inside.mean())


def test_informativeness_raises_the_share_of_fixations_on_findings(tmp_path, phantom_root):
    shares = {p: _share_in_boxes(make_phantom(tmp_path / str(p), n_images=12, scale=0.05, seed=0,
                                              progress=False, informativeness=p))
              for p in (0.0, 1.0)}
    shares[None] = _share_in_boxes(phantom_root)  # the default reader, 0.6
    assert shares[0.0] < shares[None] - 0.1 and shares[None] < shares[1.0] - 0.05
    # Same images either way: only the reading changes.
    a = (tmp_path / "0.0" / "phantom-truth.csv").read_bytes()
    assert a == Path(phantom_root["truth_path"]).read_bytes() == (tmp_path / "1.0" / "phantom-truth.csv").read_bytes()


def _digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_default_informativeness_is_todays_reader(tmp_path, phantom_root):
    """None and 0.6 write the same release (the marker records which was asked for)."""
    explicit = make_phantom(tmp_path, n_images=12, scale=0.05, seed=0, progress=False,
                            informativeness=0.6)
    for part in ("egd_root", "mimic_root"):
        assert _digest(Path(explicit[part])) == _digest(Path(phantom_root[part]))


def test_reader_errors(tmp_path, phantom_root):
    text = Path(phantom_root["truth_path"]).read_text().splitlines()
    bad = tmp_path / "t.csv"
    bad.write_text("\n".join([text[0], text[1].replace("cardiomegaly", "tumour").replace(
        "consolidation", "tumour")] + text[2:]) + "\n")
    with pytest.raises(ValueError, match="unknown finding 'tumour' on row 2"):
        read_phantom_truth(bad)
    header, first = text[0], next(r for r in text[1:] if ",none," not in r)
    cells = first.split(",")
    cells[6] = cells[4]  # x1 = x0: an empty box
    bad.write_text(f"{header}\n{','.join(cells)}\n")
    with pytest.raises(ValueError, match="row 2 .* no valid box"):
        read_phantom_truth(bad)
    bad.write_text(header + "\n")
    with pytest.raises(ValueError, match="no rows"):
        read_phantom_truth(bad)
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        read_phantom_truth(tmp_path / "nope.csv")


# --- findings.npy in the cache ---------------------------------------------------------------

def _prepare(roots, cache_dir, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return prepare(roots["egd_root"], roots["mimic_root"], cache_dir, input_shape=INPUT,
                       stride=STRIDE, sigma=SIGMA, workers=1, progress=False, **kwargs)


def test_cache_serves_true_findings_on_the_grid(phantom_root, truth, tmp_path):
    cached = CachedDataset(_prepare(phantom_root, tmp_path / "c", mask_rule="any"))
    assert cached.has_truth and cached.manifest["has_truth"] is True
    assert cached.manifest["origin"] == "phantom" and "with truth" in repr(cached)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ds = EGDCXR(phantom_root["egd_root"], phantom_root["mimic_root"], grid_shape=GRID,
                    sigma=SIGMA, mask_rule="any", progress=False)
    for i in range(len(cached)):
        item = cached[i]
        rows = truth[(truth["dicom_id"] == item["dicom_id"]) & (truth["finding"] != "none")]
        full = finding_mask(rows[["x0", "y0", "x1", "y1"]].to_numpy(), ds.image_shape(i))
        expected = block_mean(full, grid_geometry(ds.image_shape(i), GRID)) > 0  # the "any" rule
        finding = item["masks"]["finding"]
        assert finding.dtype == item["masks"]["lung"].dtype and finding.shape == GRID
        np.testing.assert_array_equal(finding.numpy(), expected)
        assert finding.any() == (len(rows) > 0)  # normals: nothing; every finding: a cell
    batch = cached.__getitems__([0, 1])
    assert all("finding" in b["masks"] for b in batch)


def test_without_truth_the_findings_are_empty(phantom_copy, tmp_path):
    phantom_copy["truth_path"].unlink()  # real data has no truth file
    cached = CachedDataset(_prepare(phantom_copy, tmp_path / "c"))
    assert not cached.has_truth and cached.manifest["has_truth"] is False
    assert not np.load(cached.cache_dir / "findings.npy").any()
    assert not cached[0]["masks"]["finding"].any()


def test_truncated_truth_is_an_error(phantom_copy, tmp_path, sheet):
    lines = phantom_copy["truth_path"].read_text().splitlines(keepends=True)
    last = sheet["dicom_id"].iat[-1]
    phantom_copy["truth_path"].write_text("".join(r for r in lines if not r.startswith(last)))
    with pytest.raises(ValueError, match=rf"phantom-truth\.csv: no row for dicom_id '{last}'"):
        _prepare(phantom_copy, tmp_path / "c")
