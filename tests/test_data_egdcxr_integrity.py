"""A master-sheet row reads its own image, and every column is read once (issue 22).

Each test breaks one thing in a copy of the phantom (``phantom_copy``): a ``path`` naming
another image, two rows sharing one, a path outside the MIMIC-CXR root, a column twice in a
header, a negative FPOGD. The reader must refuse, naming the file, the row and the column;
before these checks each of them silently trained on another patient's label, gaze and masks
(or read a file outside the root).
"""

from __future__ import annotations

import re
import shutil
import warnings

import pandas as pd
import pytest

from ggcam.data import EGDCXR, data_identity

GRID, SIGMA = (6, 5), 75.5 * 0.05


def _open(roots, **kwargs) -> EGDCXR:
    kwargs.setdefault("gaze", "fixations")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*kept \d+ of \d+ rows")
        return EGDCXR(roots["egd_root"], roots["mimic_root"], grid_shape=GRID, sigma=SIGMA,
                      progress=False, **kwargs)


def _sheet(roots) -> pd.DataFrame:
    return pd.read_csv(roots["egd_root"] / "master_sheet.csv", dtype=str, keep_default_na=False)


def _save(roots, sheet: pd.DataFrame) -> None:
    sheet.to_csv(roots["egd_root"] / "master_sheet.csv", index=False)


def test_the_phantom_reads_and_every_row_names_its_own_dicom(phantom_copy):
    ds = _open(phantom_copy)
    for dicom_id, path in zip(ds.metadata["dicom_id"], ds.metadata["path"]):
        assert path.endswith(f"/{dicom_id}.dcm")


def test_swapped_paths_are_refused(phantom_copy):
    sheet = _sheet(phantom_copy)
    sheet.loc[[0, 1], "path"] = sheet.loc[[1, 0], "path"].to_numpy()
    _save(phantom_copy, sheet)
    first = sheet["dicom_id"][0]
    with pytest.raises(ValueError, match=rf"master_sheet\.csv: dicom_id '{first}', column path = "
                                         rf"'.*{sheet['dicom_id'][1]}\.dcm' names file .* not this "
                                         rf"row's {first}\.dcm"):
        _open(phantom_copy)


@pytest.mark.parametrize("column, prefix", [("patient_id", "p"), ("study_id", "s")])
def test_a_row_filed_under_another_patient_or_study_is_refused(phantom_copy, column, prefix):
    """The splits group by patient_id: an image under another patient's folder would leak."""
    sheet = _sheet(phantom_copy)
    own = str(sheet.loc[4, column])
    sheet.loc[4, column] = str(int(own) + 1)
    _save(phantom_copy, sheet)
    with pytest.raises(ValueError, match=rf"dicom_id '{sheet['dicom_id'][4]}', column path = .* lies "
                                         rf"in folder {prefix}{own}, but its {column} is '{int(own) + 1}'"):
        _open(phantom_copy)


def test_two_rows_with_one_path_are_refused(phantom_copy):
    sheet = _sheet(phantom_copy)
    sheet.loc[3, "path"] = sheet.loc[2, "path"]
    _save(phantom_copy, sheet)
    with pytest.raises(ValueError, match=rf"dicom_id '{sheet['dicom_id'][3]}', column path = .* is "
                                         rf"also the path of dicom_id '{sheet['dicom_id'][2]}'"):
        _open(phantom_copy)


def test_a_duplicated_dicom_id_names_both_records(phantom_copy):
    sheet = _sheet(phantom_copy)
    sheet.loc[5, ["dicom_id", "path"]] = sheet.loc[1, ["dicom_id", "path"]]
    _save(phantom_copy, sheet)
    with pytest.raises(ValueError, match=rf"dicom_id '{sheet['dicom_id'][1]}' appears more than "
                                         r"once \(column dicom_id, records 2 and 6\)"):
        _open(phantom_copy)


@pytest.mark.parametrize("kind", ["absolute", "dotdot"])
def test_a_path_outside_the_mimic_root_is_refused(phantom_copy, tmp_path, kind):
    sheet = _sheet(phantom_copy)
    dicom_id = sheet["dicom_id"][4]
    outside = tmp_path / "elsewhere" / f"{dicom_id}.dcm"  # a real DICOM, outside the root
    outside.parent.mkdir()
    shutil.copy(phantom_copy["mimic_root"] / sheet["path"][4], outside)
    sheet.loc[4, "path"] = (str(outside) if kind == "absolute"
                            else f"files/../../../../elsewhere/{dicom_id}.dcm")
    _save(phantom_copy, sheet)
    needle = "is absolute" if kind == "absolute" else r"climbs out of the MIMIC-CXR root with '\.\.'"
    with pytest.raises(ValueError, match=rf"master_sheet\.csv: dicom_id '{dicom_id}', column path "
                                         rf"= .* {needle}"):
        _open(phantom_copy)
    with pytest.raises(ValueError, match=needle):  # nor is it hashed into the data identity
        data_identity(phantom_copy["egd_root"], phantom_copy["mimic_root"])


def _duplicate_column(path, column: str, values) -> None:
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table.insert(len(table.columns), column, values, allow_duplicates=True)
    table.to_csv(path, index=False)


def test_a_label_column_twice_in_the_master_sheet_is_refused(phantom_copy):
    sheet = _sheet(phantom_copy)
    flipped = (1 - sheet["CHF"].astype(int)).astype(str)  # the second CHF says the opposite
    _duplicate_column(phantom_copy["egd_root"] / "master_sheet.csv", "CHF", flipped)
    with pytest.raises(ValueError, match=r"master_sheet\.csv: column 'CHF' appears twice in the "
                                         r"header \(columns 32 and 60\)"):
        _open(phantom_copy)


@pytest.mark.parametrize("name, gaze", [("fixations.csv", "fixations"), ("eye_gaze.csv", "eye_gaze")])
def test_a_gaze_column_twice_is_refused(phantom_copy, name, gaze):
    path = phantom_copy["egd_root"] / name
    _duplicate_column(path, "X_ORIGINAL", "0")
    with pytest.raises(ValueError, match=rf"{re.escape(name)}: column 'X_ORIGINAL' appears twice"):
        _open(phantom_copy, gaze=gaze)


def test_a_box_column_twice_is_refused(phantom_copy):
    _duplicate_column(phantom_copy["egd_root"] / "bounding_boxes.csv", "x1", "0")
    _open(phantom_copy)  # the boxes are read only for the cardiac_bbox heart
    with pytest.raises(ValueError, match=r"bounding_boxes\.csv: column 'x1' appears twice"):
        _open(phantom_copy, heart="cardiac_bbox")


@pytest.mark.parametrize("value, shown", [("-0.25", r"-0\.25"), ("", "nan"), ("inf", "inf")])
def test_a_bad_fpogd_is_named_when_durations_weigh_the_points(phantom_copy, value, shown):
    """A blank duration is an error, not a weight of 0 that would drop the point silently."""
    path = phantom_copy["egd_root"] / "fixations.csv"
    fix = pd.read_csv(path, dtype=str, keep_default_na=False)
    sheet = _sheet(phantom_copy)
    row = fix.index[(fix["DICOM_ID"] == sheet["dicom_id"][2])
                    & (fix["X_ORIGINAL"].astype(float) > 0)][0]
    fix.loc[row, "FPOGD"] = value
    fix.to_csv(path, index=False)
    _open(phantom_copy)  # unweighted: FPOGD is not read into Ψ
    with pytest.raises(ValueError, match=rf"fixations\.csv: column FPOGD = {shown} on a row of "
                                         rf"dicom_id '{sheet['dicom_id'][2]}'"):
        _open(phantom_copy, weighting="duration")


@pytest.mark.parametrize("value", ["12px", ""])
def test_a_box_coordinate_that_is_no_number_is_named(phantom_copy, value):
    path = phantom_copy["egd_root"] / "bounding_boxes.csv"
    boxes = pd.read_csv(path, dtype=str, keep_default_na=False)
    row = boxes.index[boxes["bbox_name"] == "cardiac silhouette"][3]
    boxes.loc[row, "x2"] = value
    boxes.to_csv(path, index=False)
    with pytest.raises(ValueError, match=rf"bounding_boxes\.csv: the 'cardiac silhouette' box of "
                                         rf"dicom_id '{boxes['dicom_id'][row]}', column x2: .* is "
                                         "not a finite number"):
        _open(phantom_copy, heart="cardiac_bbox")


def test_two_different_cardiac_boxes_for_one_image_are_refused(phantom_copy):
    path = phantom_copy["egd_root"] / "bounding_boxes.csv"
    boxes = pd.read_csv(path, dtype=str, keep_default_na=False)
    row = boxes.index[boxes["bbox_name"] == "cardiac silhouette"][2]
    again = boxes.loc[[row]].copy()
    pd.concat([boxes, again]).to_csv(path, index=False)  # an exact repeat: harmless
    _open(phantom_copy, heart="cardiac_bbox")
    again["x2"] = str(float(again["x2"].iloc[0]) + 40)
    pd.concat([boxes, again]).to_csv(path, index=False)
    with pytest.raises(ValueError, match=rf"dicom_id '{boxes['dicom_id'][row]}' has 2 different "
                                         r"'cardiac silhouette' boxes"):
        _open(phantom_copy, heart="cardiac_bbox")


def _dicom(roots, k: int):
    return roots["mimic_root"] / _sheet(roots)["path"][k]


def _case_dir(roots, k: int):
    return roots["egd_root"] / "audio_segmentation_transcripts" / _sheet(roots)["dicom_id"][k]


@pytest.mark.parametrize("how", ["symlink", "hardlink"])
def test_a_dicom_that_is_another_rows_file_is_refused(phantom_copy, how):
    """The name matches the row, but the file is row 1's: it would train on row 1's image."""
    own, other = _dicom(phantom_copy, 0), _dicom(phantom_copy, 1)
    own.unlink()
    own.symlink_to(other) if how == "symlink" else own.hardlink_to(other)
    ids = _sheet(phantom_copy)["dicom_id"]
    with pytest.raises(ValueError, match=r"the DICOM of dicom_id .* is the same file as dicom_id") as err:
        _open(phantom_copy)
    assert ids[0] in str(err.value) and ids[1] in str(err.value)


def test_a_dicom_linked_outside_the_root_is_refused(phantom_copy, tmp_path):
    own = _dicom(phantom_copy, 2)
    outside = tmp_path / "elsewhere.dcm"
    shutil.copy(own, outside)
    own.unlink()
    own.symlink_to(outside)
    with pytest.raises(ValueError, match=r"the DICOM of dicom_id .* resolves to .*elsewhere\.dcm, outside"):
        _open(phantom_copy)


def test_a_case_folder_or_mask_linked_to_another_rows_is_refused(phantom_copy):
    folder, other = _case_dir(phantom_copy, 0), _case_dir(phantom_copy, 1)
    mask = folder / "left_lung.png"
    mask.unlink()
    mask.symlink_to(other / "left_lung.png")
    with pytest.raises(ValueError, match=r"the left_lung mask of dicom_id .* is the same file as"):
        _open(phantom_copy)
    shutil.rmtree(folder)
    folder.symlink_to(other, target_is_directory=True)
    with pytest.raises(ValueError, match=r"the case folder of dicom_id .* is the same file as"):
        _open(phantom_copy)


def test_masks_twice_alpha_only_and_empty(phantom_copy):
    import numpy as np
    from PIL import Image

    folder = _case_dir(phantom_copy, 3)
    heart = folder / "mediastanum.png"
    shutil.copy(heart, folder / "mediastinum.png")
    with pytest.raises(ValueError, match=r"mask 'mediastinum' of .* is there twice"):
        _open(phantom_copy, heart="mediastinum").masks(3)
    (folder / "mediastinum.png").unlink()
    lung = folder / "right_lung.png"
    inside = np.asarray(Image.open(lung)) > 0
    rgba = np.zeros((*inside.shape, 4), np.uint8)
    rgba[..., 3] = inside * 255  # drawn in the alpha channel only
    Image.fromarray(rgba, "RGBA").save(lung)
    ds = _open(phantom_copy)
    assert ds.masks(3)["lung"].any()
    Image.fromarray(np.zeros(inside.shape, np.uint8)).save(lung)
    Image.fromarray(np.zeros(inside.shape, np.uint8)).save(folder / "left_lung.png")
    with pytest.warns(UserWarning, match=r"left_lung\.png is empty"):
        ds.masks(3)
