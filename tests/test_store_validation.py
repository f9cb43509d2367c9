"""The results store's readers check what they read, and rescore never makes a record worse.

Issue 22: predictions with a NaN logit, a label of 1.5 or a dicom_id twice, maps of another
dtype, size or order, a record filed under another run or profile: each was read as if right
(a label of 1.5 became 1). Each test writes a valid store, breaks one thing and checks the
message names the file, the row and the column.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from cli_helpers import run_cli

from ggcam.cli.commands import main
from ggcam.experiment import ResultsStore, RunRecord
from ggcam.experiment.metrics import rescore, run_metrics

N, GRID = 12, (3, 2)
RUNS = ("resnet18__standard__s0", "resnet18__standard__s1")


def _files(seed: int) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    labels = np.arange(N) % 3
    logits = (rng.normal(size=(N, 3)) + 2 * np.eye(3)[labels]).astype(np.float32)
    ids = [f"{k:08x}-0000000{seed}-00000000-00000000-00000000" for k in range(N)]
    preds = pd.DataFrame({"dicom_id": ids, "label": labels,
                          **{f"logit_{k}": logits[:, k].astype(np.float64) for k in range(3)}})
    gaze = rng.random((N, *GRID)).astype(np.float32)
    maps = {"cams": rng.normal(size=(N, 3, *GRID)).astype(np.float32), "gaze": gaze,
            "has_gaze": np.ones(N, bool), "fixations": gaze > 0.5,
            "centre_prior": gaze.mean(0), "mask_heart": gaze > 0.3, "mask_lung": gaze < 0.7,
            "dicom_id": np.array(ids)}
    return preds, maps


def _record(run_id: str, scores: dict, profile: str = "smoke") -> RunRecord:
    network, variant, seed = run_id.split("__")
    row = dict.fromkeys(RunRecord.columns())
    row.update(profile=profile, network=network, variant=variant, seed=int(seed[1:]), run_id=run_id,
               learned_reason="", status="ok", message="", flags="", data_origin="phantom",
               **scores)
    return RunRecord(**row)


@pytest.fixture
def store(tmp_path) -> ResultsStore:
    """results/smoke with two valid runs whose records hold their recomputed metrics."""
    store = ResultsStore(tmp_path / "results" / "smoke")
    for k, run_id in enumerate(RUNS):
        preds, maps = _files(k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            scores = run_metrics(preds, maps)
        store.write_run(_record(run_id, scores), preds, maps, None)
    store.collect()
    return store


def _pred_path(store, run_id=RUNS[0]):
    return store.path / "predictions" / f"{run_id}.csv"


def _edit_predictions(store, edit, run_id=RUNS[0]) -> pd.DataFrame:
    df = pd.read_csv(_pred_path(store, run_id), dtype={"dicom_id": str})
    edit(df)
    df.to_csv(_pred_path(store, run_id), index=False)
    return df


def _edit_maps(store, run_id=RUNS[0], **arrays) -> None:
    path = store.path / "maps" / f"{run_id}.npz"
    with np.load(path) as z:
        maps = {k: z[k] for k in z.files}
    maps.update(arrays)
    np.savez(path, **maps)


def test_a_valid_store_reads_and_rescores(store):
    assert len(store.records()) == 2 and len(store.runs()) == 2
    assert store.predictions(RUNS[0])["label"].dtype == np.int64
    assert store.maps(RUNS[1])["cams"].shape == (N, 3, *GRID)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert rescore(store) == 2


# --- predictions ----------------------------------------------------------------------------

@pytest.mark.parametrize("value", [np.nan, np.inf, "big"])
def test_a_non_finite_logit_names_the_row_and_column(store, value):
    df = _edit_predictions(store, lambda d: d.__setitem__("logit_1", d["logit_1"].astype(object)))
    df.loc[4, "logit_1"] = value
    df.to_csv(_pred_path(store), index=False)
    with pytest.raises(ValueError, match=rf"{RUNS[0]}\.csv: dicom_id '{df['dicom_id'][4]}', column "
                                         r"logit_1: .* is not a finite logit"):
        store.predictions(RUNS[0])


@pytest.mark.parametrize("label", [1.5, 3, -1])
def test_a_label_that_is_no_class_is_an_error_not_truncated(store, label):
    df = _edit_predictions(store, lambda d: d.__setitem__("label", d["label"].astype(float)))
    df.loc[7, "label"] = label
    df.to_csv(_pred_path(store), index=False)
    with pytest.raises(ValueError, match=rf"dicom_id '{df['dicom_id'][7]}', column label: "
                                         rf"{re.escape(str(float(label)))} is not a class 0 … 2"):
        store.predictions(RUNS[0])


def test_a_dicom_id_twice_in_the_predictions_is_an_error(store):
    df = _edit_predictions(store, lambda d: d.loc.__setitem__((5, "dicom_id"), d["dicom_id"][2]))
    with pytest.raises(ValueError, match=rf"dicom_id '{df['dicom_id'][2]}' appears on more than one row"):
        store.predictions(RUNS[0])


def test_a_column_twice_in_the_predictions_header_is_an_error(store):
    path = _pred_path(store)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0] + ",label"] + [ln + ",0" for ln in lines[1:]]) + "\n")
    with pytest.raises(ValueError, match=rf"{RUNS[0]}\.csv: column 'label' appears twice"):
        store.predictions(RUNS[0])


# --- maps -----------------------------------------------------------------------------------

def test_an_object_array_in_the_maps_names_the_file_and_array(store):
    _edit_maps(store, gaze=np.array([None] * N, dtype=object))
    with pytest.raises(ValueError, match=rf"cannot read array 'gaze' of maps .*{RUNS[0]}\.npz: "
                                         "Object arrays cannot be loaded"):
        store.maps(RUNS[0])


def test_maps_of_another_size_name_both_files(store):
    _, maps = _files(0)
    _edit_maps(store, **{k: v[:-1] for k, v in maps.items() if k != "centre_prior"})
    with pytest.raises(ValueError, match=rf"{RUNS[0]}\.npz: array 'cams' has shape \(11, 3, 3, 2\): "
                                         rf"11 along axis 0 \(N\), but .*{RUNS[0]}\.csv has 12 images"):
        store.maps(RUNS[0])


def test_maps_in_another_order_than_the_predictions_are_an_error(store):
    _, maps = _files(0)
    ids = maps["dicom_id"].copy()
    ids[[2, 3]] = ids[[3, 2]]
    _edit_maps(store, dicom_id=ids)
    with pytest.raises(ValueError, match=rf"array 'dicom_id' lists '{ids[2]}' at row 3, .* "
                                         rf"'{ids[3]}': the maps are not row-aligned"):
        store.maps(RUNS[0])


@pytest.mark.parametrize("key, value, needle", [
    ("cams", np.zeros((N, 3, *GRID)), r"array 'cams' is float64, expected float32"),
    ("has_gaze", np.ones(N, np.float32), r"array 'has_gaze' is float32, expected bool"),
    ("mask_heart", np.ones((N, 2, 2), bool), r"array 'mask_heart' has shape \(12, 2, 2\): 2 along axis 1 \(h\)"),
    ("cams", np.zeros((N, 4, *GRID), np.float32), r"4 along axis 1 \(K\), but .* has 3 classes"),
])
def test_maps_of_another_dtype_or_shape_are_an_error(store, key, value, needle):
    _edit_maps(store, **{key: value})
    with pytest.raises(ValueError, match=needle):
        store.maps(RUNS[0])


def test_maps_without_an_array_run_metrics_needs_are_an_error(store):
    path = store.path / "maps" / f"{RUNS[0]}.npz"
    with np.load(path) as z:
        maps = {k: z[k] for k in z.files if k != "mask_lung"}
    np.savez(path, **maps)
    with pytest.raises(ValueError, match=r"lacks array\(s\) \['mask_lung'\]"):
        store.maps(RUNS[0])


# --- records and runs.csv -------------------------------------------------------------------

def _record_path(store, run_id=RUNS[0]):
    return store.path / "runs" / f"{run_id}.json"


def _edit_record(store, run_id=RUNS[0], **fields) -> dict:
    record = json.loads(_record_path(store, run_id).read_text())
    record.update(fields)
    for k in [k for k, v in fields.items() if v is None]:
        del record[k]
    _record_path(store, run_id).write_text(json.dumps(record))
    return record


def test_a_record_of_another_profile_is_an_error(store):
    _edit_record(store, profile="cpu")
    with pytest.raises(ValueError, match=r"profile 'cpu' in the store of profile 'smoke'"):
        store.records()
    with pytest.raises(ValueError, match=r"profile 'cpu' in the store of profile 'smoke'"):
        store.record_dict_of(RUNS[0])
    before = (store.path / "runs.csv").read_bytes()
    with pytest.raises(ValueError, match=r"profile 'cpu' in the store of profile 'smoke'"):
        store.collect()  # runs.csv is not rebuilt with a foreign record in it
    assert (store.path / "runs.csv").read_bytes() == before


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_maps_are_named(store, value):
    preds, maps = _files(0)
    cams = maps["cams"].copy()
    cams[4, 1, 0, 1] = value
    _edit_maps(store, cams=cams)
    with pytest.raises(ValueError, match=r"array 'cams' holds a non-finite value .* at index \(4, 1, 0, 1\)"):
        store.maps(RUNS[0])


def test_a_truncated_or_misnamed_example_is_named(store):
    folder = store.path / "examples"
    folder.mkdir(exist_ok=True)
    store.write_example("resnet18", "standard", _example())
    assert set(store.examples()) == {("resnet18", "standard")}
    path = folder / "resnet18__standard.npz"
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ValueError, match=r"cannot read examples archive .*resnet18__standard\.npz"):
        store.examples()
    path.unlink()
    (folder / "resnet18.npz").write_bytes(b"")
    with pytest.raises(ValueError, match=r"resnet18\.npz: an example file is named"):
        store.examples()


def test_an_archived_store_holds_its_profiles_records(store, tmp_path):
    archive = store.path.rename(tmp_path / "results" / "smoke-v1")  # as results/cpu-v1 holds cpu's
    assert len(ResultsStore(archive).records()) == 2


@pytest.mark.parametrize("fields, needle", [
    ({"network": None}, r"is not a ggcam run record: it lacks network"),
    ({"seed": None, "variant": None}, r"is not a ggcam run record: it lacks variant, seed"),
    ({"seed": 1}, r"run_id 'resnet18__standard__s0' disagrees with network 'resnet18', variant "
                  r"'standard', seed 1"),
    ({"variant": "ggcam"}, r"disagrees with .* variant 'ggcam'"),
    ({"seed": "0"}, r"seed '0' is not an integer >= 0"),
])
def test_a_record_must_agree_with_its_file_name(store, fields, needle):
    _edit_record(store, **fields)
    with pytest.raises(ValueError, match=needle):
        store.record(RUNS[0])


def test_a_record_filed_under_another_runs_name_is_an_error(store):
    _record_path(store, RUNS[1]).write_text(_record_path(store, RUNS[0]).read_text())
    with pytest.raises(ValueError, match=rf"{RUNS[1]}\.json: run_id '{RUNS[0]}' is not the run "
                                         rf"its file is named after"):
        store.records()


def test_runs_csv_rows_must_agree_with_their_run(store):
    path = store.path / "runs.csv"
    table = pd.read_csv(path)
    table.loc[1, "profile"] = "cpu"
    table.to_csv(path, index=False)
    with pytest.raises(ValueError, match=rf"runs\.csv: run {RUNS[1]}, column profile: 'cpu' in the "
                                         "store of profile 'smoke'"):
        store.runs()
    table.loc[1, ["profile", "seed"]] = ["smoke", 0]
    table.to_csv(path, index=False)
    with pytest.raises(ValueError, match=rf"run {RUNS[1]}: columns network 'resnet18', variant "
                                         "'standard', seed 0 make another run_id"):
        store.runs()
    path.write_text("")
    with pytest.raises(ValueError, match=r"cannot read .*runs\.csv"):
        store.runs()


# --- the shared test set --------------------------------------------------------------------

def test_a_broken_test_set_is_named(store):
    path = store.path / "test_set.npz"
    ids = np.array(["a", "b", "a"])
    np.savez(path, dicom_id=ids, labels=np.array([0, 1, 2]), findings=np.zeros((3, 32, 32), bool))
    with pytest.raises(ValueError, match=r"test_set\.npz: dicom_id 'a' appears more than once"):
        store.read_test_set()
    np.savez(path, dicom_id=np.array(["a", "b", "c"]), labels=np.array([0, 1, 3]),
             findings=np.zeros((3, 32, 32), bool))
    with pytest.raises(ValueError, match=r"dicom_id 'c', array 'labels': 3 is not a class 0 … 2"):
        store.read_test_set()
    np.savez(path, dicom_id=np.array(["a", "b", "c"]), labels=np.array([0, 1, 2]),
             findings=np.array([None] * 3, dtype=object))
    with pytest.raises(ValueError, match=r"cannot read array 'findings' of test set .*Object arrays"):
        store.read_test_set()


# --- rescore --------------------------------------------------------------------------------

def test_rescore_never_replaces_a_number_with_none(store):
    good = _edit_record(store, RUNS[0], auc_ovo=0.123)  # rescore would correct this one...
    _edit_record(store, RUNS[1], pointing=0.42)  # ...but this one would lose a number
    before = {r: _record_path(store, r).read_text() for r in RUNS}
    with pytest.raises(ValueError, match=rf"run {RUNS[1]} of .*smoke: rescoring would replace "
                                         r"pointing = 0\.42 with None; no record was rewritten"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            rescore(store)
    assert {r: _record_path(store, r).read_text() for r in RUNS} == before
    assert json.loads(_record_path(store, RUNS[0]).read_text())["auc_ovo"] == good["auc_ovo"]


def test_rescore_from_the_command_line_names_the_run_and_field(store, capsys):
    _edit_record(store, RUNS[0], cc=0.5)
    _edit_maps(store, has_gaze=np.zeros(N, bool))  # no image with gaze: cc cannot be computed
    rc = main(["rescore", "--profile", "smoke", "--results", str(store.path.parent)])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert re.search(rf"ggcam rescore: error: run {RUNS[0]} of .*: rescoring would replace cc = 0\.5 "
                     r"with None \(and \d+ more field\(s\): ", err), err


def test_rescore_names_the_run_whose_files_disagree(store):
    _, maps = _files(1)
    _edit_maps(store, dicom_id=maps["dicom_id"])  # another run's images
    with pytest.raises(ValueError, match=rf"{RUNS[0]}\.npz: array 'dicom_id' lists"):
        rescore(store)


@pytest.mark.parametrize("broken", ["predictions", "maps"])
def test_rescore_names_a_broken_results_file(broken, tmp_path, capsys):
    store = tmp_path / "cpu"
    rid = "resnet18__standard__s0"
    for sub in ("runs", "predictions", "maps"):
        (store / sub).mkdir(parents=True)
    (store / "runs" / f"{rid}.json").write_text(json.dumps(
        {"run_id": rid, "profile": "cpu", "network": "resnet18", "variant": "standard", "seed": 0}))
    pd.DataFrame({"dicom_id": ["a"], "label": [0], "logit_0": [0.0], "logit_1": [0.0],
                  "logit_2": [0.0]}).to_csv(store / "predictions" / f"{rid}.csv", index=False)
    np.savez(store / "maps" / f"{rid}.npz", cams=np.zeros((1, 3, 2, 2), np.float32))
    path = store / broken / (f"{rid}.csv" if broken == "predictions" else f"{rid}.npz")
    path.write_text("garbage,x\n1,2\n")
    rc, _, err = run_cli(["rescore", "--results", tmp_path], capsys)
    assert rc == 2 and str(path) in err and "Traceback" not in err, err


def test_rescore_names_a_record_that_is_not_one(tmp_path, capsys):
    (tmp_path / "cpu" / "runs").mkdir(parents=True)
    path = tmp_path / "cpu" / "runs" / "r.json"
    path.write_text("[1, 2, 3]")
    rc, _, err = run_cli(["rescore", "--results", tmp_path], capsys)
    assert rc == 2 and f"{path} is not a ggcam run record" in err, err


# --- issue: the store's tables, archives and identities ---------------------------------------

def _with_test_set(store) -> dict:
    """The fixture with a shared test set (both runs on RUNS[0]'s images) and fixed locations."""
    preds, maps = _files(0)
    ids, labels = maps["dicom_id"], preds["label"].to_numpy()
    findings = np.random.default_rng(5).random((N, 96, 64)) > 0.6  # the 3×2 grid, 32 px a cell
    np.savez(store.path / "test_set.npz", dicom_id=ids, labels=labels, findings=findings)
    for run_id in RUNS:
        _edit_predictions(store, lambda d: d.__setitem__("dicom_id", ids), run_id)
        digest = hashlib.sha1(_pred_path(store, run_id).read_bytes()).hexdigest()  # a deliberate edit
        _edit_maps(store, run_id, dicom_id=ids, fixed_location=np.array([[-1, -1], [1, 1], [5, 3]]),
                   predictions_sha1=np.array(digest))
    return {"dicom_id": ids, "labels": labels, "findings": findings}


def _rescore_quietly(store) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return rescore(store)


def test_a_store_with_a_test_set_and_fixed_locations_rescores(store):
    _with_test_set(store)
    assert _rescore_quietly(store) == 2
    assert store.record(RUNS[0]).fixed_pointing_chf is not None


def test_maps_with_fixed_locations_but_no_dicom_id_are_named(store):
    _with_test_set(store)
    path = store.path / "maps" / f"{RUNS[0]}.npz"
    with np.load(path) as z:
        np.savez(path, **{k: z[k] for k in z.files if k != "dicom_id"})
    with pytest.raises(ValueError, match=rf"{RUNS[0]}\.npz has 'fixed_location' but no 'dicom_id'"):
        _rescore_quietly(store)
    preds, maps = _files(0)
    del maps["dicom_id"]
    with pytest.raises(ValueError, match=r"the maps hold no 'dicom_id' array"):
        run_metrics(preds, maps | {"fixed_location": np.zeros((3, 2), np.int64)},
                    {"dicom_id": preds["dicom_id"].to_numpy(), "findings": np.zeros((N, 6, 4), bool)})


def test_an_array_declaring_more_than_its_file_holds_is_refused(store):
    import zipfile

    path = store.path / "maps" / f"{RUNS[0]}.npz"
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    header = np.lib.format.header_data_from_array_1_0(arrays["centre_prior"])
    header["shape"] = (10**6, 10**6)
    with zipfile.ZipFile(path, "w") as zf:
        for key, array in arrays.items():
            with zf.open(f"{key}.npy", "w") as f:
                if key == "centre_prior":
                    np.lib.format.write_array_header_1_0(f, header)
                    f.write(array.tobytes())
                else:
                    np.lib.format.write_array(f, array)
    with pytest.raises(ValueError, match=rf"array 'centre_prior' of maps .*{RUNS[0]}\.npz declares shape "
                                         r"\(1000000, 1000000\) of float32 \(4000000000000 bytes\), "
                                         r"but the file holds 24 bytes"):
        store.maps(RUNS[0])


@pytest.mark.parametrize("column, value, needle", [
    ("auc_ovo", "abc", r"column auc_ovo: 'abc' is not a number"),
    ("learned", "maybe", r"column learned: 'maybe' is not True or False"),
    ("auc_ovo", "inf", r"column auc_ovo: inf is not finite"),
    ("auc_ovo", 7.5, r"column auc_ovo: 7\.5 is outside \[0, 1\]"),
    ("epochs", -3, r"column epochs: -3(\.0)? is not an integer >= 0"),
    ("n_test", "many", r"column n_test: 'many' is not a number"),
    ("auc_ovo", "nan", r"column auc_ovo: nan, but its record .*s1\.json holds 0\.\d+"),
    ("auc_ovo", 0.99, r"column auc_ovo: 0\.99, but its record .*s1\.json holds 0\.\d+"),
    ("data_origin", "real", r"column data_origin: 'real', but its record .*s1\.json holds 'phantom'"),
])
def test_runs_csv_values_are_checked_and_agree_with_their_records(store, column, value, needle):
    path = store.path / "runs.csv"
    table = pd.read_csv(path)
    table[column] = table[column].astype(object)
    table.loc[1, column] = value
    table.to_csv(path, index=False)
    with pytest.raises(ValueError, match=rf"runs\.csv: run {RUNS[1]}, {needle}"):
        store.runs()


def test_runs_csv_lists_the_runs_of_runs_folder(store):
    path = store.path / "runs.csv"
    pd.read_csv(path).iloc[:1].to_csv(path, index=False)
    with pytest.raises(ValueError, match=rf"runs\.csv: run {RUNS[1]} is in .*runs but not in .*runs\.csv "
                                         r"\(1 such run\(s\)\); rebuild it"):
        store.runs()
    store.collect()
    assert len(store.runs()) == 2


@pytest.mark.parametrize("content, needle", [
    ("epoch,loss\n1,0.5\n", r"needs column\(s\) \['run_id'\]"),
    ("epoch,run_id\none,R\n", r"column epoch holds (object|str) values"),
    ("epoch,run_id\n1,resnet18__standard__s1\n", r"names \['resnet18__standard__s1'\], not the run"),
    ('epoch,run_id\n1,"unclosed\n', r"cannot read curves file"),
    ("epoch,lr,run_id\n1,fast,R\n", r"epoch 1, column lr: 'fast' is not a number"),
    ("epoch,val_auc,run_id\n1,0.5,R\n2,abc,R\n", r"epoch 2, column val_auc: 'abc' is not a number"),
    ("epoch,lr,run_id\n1,0.1,R\n1,0.1,R\n", r"epoch 1 appears on more than one row"),
    ("epoch,lr,run_id\n-4,0.1,R\n", r"column epoch holds -4; epochs count from 1"),
    ("epoch,seconds,run_id\n1,inf,R\n", r"epoch 1, column seconds: inf is not finite"),
])
def test_curves_values_are_checked(store, content, needle):
    folder = store.path / "curves"
    folder.mkdir(exist_ok=True)
    path = folder / f"{RUNS[0]}.csv"
    path.write_text(content.replace(",R\n", f",{RUNS[0]}\n"))
    with pytest.raises(ValueError, match=needle) as err:
        store.curves()
    assert str(path) in str(err.value)
    path.write_text(f"epoch,lr,val_auc,run_id\n1,0.1,,{RUNS[0]}\n2,0.1,0.6,{RUNS[0]}\n")  # blank: n/a
    assert list(store.curves()["epoch"]) == [1, 2]


def _example(**arrays) -> dict:
    ids = _files(0)[1]["dicom_id"][:3]
    rng = np.random.default_rng(0)
    return {"labels": np.arange(3), "psi": rng.random((3, *GRID), np.float32), "dicom_id": ids,
            "cam": rng.random((3, *GRID), np.float32), "image": np.zeros((3, 12, 8), np.float16)} | arrays


@pytest.mark.parametrize("arrays, needle", [
    ({"cam": np.full((3, *GRID), np.nan, np.float32)}, r"array 'cam' holds a non-finite value"),
    ({"psi": None}, r"lacks array\(s\) \['psi'\]"),
    ({"labels": np.array([0, 1, 5])}, r"array 'labels' holds \[0, 1, 5\]: not classes 0 … 2"),
    ({"image": np.zeros((3, 500, 400))}, r"array 'image' has shape \(3, 500, 400\): a thumbnail is at most 256"),
    ({"cam": np.zeros((2, *GRID), np.float32)}, r"array 'cam' is float32 \(2, 3, 2\); .* one row per example "
                                                r"\(array 'labels' has 3\)"),
    ({"dicom_id": np.array(["x", "y", "z"])}, r"array 'dicom_id' lists 'x', not an image of the store's test set"),
])
def test_a_broken_example_is_named(store, arrays, needle):
    _with_test_set(store)
    store.write_example("resnet18", "standard", {k: v for k, v in _example(**arrays).items() if v is not None})
    with pytest.raises(ValueError, match=needle) as err:
        store.examples()
    assert str(store.path / "examples" / "resnet18__standard.npz") in str(err.value)


def test_predictions_must_hold_the_test_sets_labels(store):
    _with_test_set(store)
    df = _edit_predictions(store, lambda d: d.loc.__setitem__((3, "label"), (d["label"][3] + 1) % 3))
    before = {r: _record_path(store, r).read_text() for r in RUNS}
    with pytest.raises(ValueError, match=rf"{RUNS[0]}\.csv: row 4 \(dicom_id '{df['dicom_id'][3]}'\), column "
                                         rf"label: {df['label'][3]}, but the test set .*test_set\.npz holds 0"):
        _rescore_quietly(store)
    assert {r: _record_path(store, r).read_text() for r in RUNS} == before


def test_another_runs_files_copied_over_a_runs_own_are_refused(store):
    assert str(np.load(store.path / "maps" / f"{RUNS[0]}.npz")["run_id"]) == RUNS[0]
    for sub, ext in (("predictions", "csv"), ("maps", "npz")):
        (store.path / sub / f"{RUNS[0]}.{ext}").write_bytes((store.path / sub / f"{RUNS[1]}.{ext}").read_bytes())
    with pytest.raises(ValueError, match=rf"{RUNS[0]}\.npz: array 'run_id' is '{RUNS[1]}', not this run's "
                                         rf"\('{RUNS[0]}'\)"):
        _rescore_quietly(store)
    path = store.path / "maps" / f"{RUNS[0]}.npz"
    with np.load(path) as z:  # a file written before files carried their run: read as it is
        np.savez(path, **{k: z[k] for k in z.files if k != "run_id"})
    assert store.maps(RUNS[0])["cams"].shape == (N, 3, *GRID)


def test_maps_of_another_configuration_are_refused(store):
    preds, maps = _files(0)
    record = RunRecord.from_dict(json.loads(_record_path(store).read_text()) | {"config_hash": "abc"})
    store.write_run(record, preds, maps, None)
    assert str(np.load(store.path / "maps" / f"{RUNS[0]}.npz")["config_hash"]) == "abc"
    _edit_record(store, config_hash="def")
    with pytest.raises(ValueError, match=rf"{RUNS[0]}\.npz: array 'config_hash' is 'abc', not this run's "
                                         r"\('def'\)"):
        store.maps(RUNS[0])


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_a_non_finite_centre_prior_names_the_file(store, value):
    prior = _files(0)[1]["centre_prior"].copy()
    prior[1, 0] = value
    _edit_maps(store, centre_prior=prior)
    with pytest.raises(ValueError, match=rf"{RUNS[0]}\.npz: array 'centre_prior' holds a non-finite value "
                                         r".* at index \(1, 0\)"):
        store.maps(RUNS[0])


@pytest.mark.parametrize("location, test_set, needle", [
    ((10000, 10000), True, r"\(10000, 10000\) is not a pixel of the input's 96×64 pixels"),
    ((96, 0), True, r"\(96, 0\) is not a pixel of the input's 96×64 pixels"),
    ((5, -7), False, r"\(5, -7\) is not a pixel of the input"),
])
def test_a_fixed_location_off_the_input_is_named(store, location, test_set, needle):
    if test_set:
        _with_test_set(store)
    _edit_maps(store, fixed_location=np.array([[-1, -1], location, [0, 0]]))
    with pytest.raises(ValueError, match=rf"{RUNS[0]}\.npz: array 'fixed_location', class 1: {needle}"):
        store.maps(RUNS[0])


def test_a_test_set_of_other_rows_names_both_files(store):
    truth = _with_test_set(store)
    order = np.r_[1, 0, 2:N]
    np.savez(store.path / "test_set.npz", **{k: v[order] for k, v in truth.items()})
    with pytest.raises(ValueError, match=rf"{RUNS[0]}\.csv: row 1 \(dicom_id '{truth['dicom_id'][0]}'\), "
                                         rf"column dicom_id: .* but the test set .*test_set\.npz holds "
                                         rf"'{truth['dicom_id'][1]}'"):
        _rescore_quietly(store)
    np.savez(store.path / "test_set.npz", **{k: v[:-1] for k, v in truth.items()})
    with pytest.raises(ValueError, match=rf"{RUNS[0]}\.csv has 12 rows, the test set .*test_set\.npz 11 images"):
        _rescore_quietly(store)


def test_a_directory_named_as_a_record_is_named(store, capsys):
    path = _record_path(store, "resnet18__standard__s2")
    path.mkdir()
    for read in (store.records, lambda: store.record_dict_of("resnet18__standard__s2"), lambda: rescore(store)):
        with pytest.raises(ValueError, match=rf"{path} is a directory, not a run record"):
            read()
    rc, _, err = run_cli(["rescore", "--profile", "smoke", "--results", store.path.parent], capsys)
    assert rc == 2 and f"{path} is a directory, not a run record" in err and "Traceback" not in err, err


@pytest.mark.parametrize("last", [False, True])
def test_another_runs_predictions_alone_copied_over_are_refused(tmp_path, last):
    """Maps record the SHA-1 of the predictions written with them: a copied CSV shows."""
    store = ResultsStore(tmp_path / "results" / "smoke")
    for k, run_id in enumerate(RUNS):
        preds, maps = _files(k)
        store.write_run(_record(run_id, {}), preds, maps, None, last=(preds, {"cams": maps["cams"],
                                                                             "dicom_id": maps["dicom_id"]}))
    store.collect()
    suffix = "__last" if last else ""
    own = store.path / "predictions" / f"{RUNS[0]}{suffix}.csv"
    own.write_bytes((store.path / "predictions" / f"{RUNS[1]}{suffix}.csv").read_bytes())
    with pytest.raises(ValueError, match=rf"{re.escape(str(own))} is not the predictions file written with"):
        store.maps(RUNS[0], last=last)
    store.maps(RUNS[1], last=last)  # the other run is untouched


def test_test_set_findings_not_on_whole_cells_are_named(store):
    test = _with_test_set(store)
    np.savez(store.path / "test_set.npz", **{**test, "findings": test["findings"][:, :10]})
    with pytest.raises(ValueError, match=r"test_set\.npz: array 'findings' holds 10×64-pixel masks"):
        _rescore_quietly(store)
