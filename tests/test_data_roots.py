"""make_phantom never destroys data; ensure_dataset finds or makes it; data_identity tracks it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest

from ggcam.data import (
    DataRoots,
    data_identity,
    ensure_dataset,
    is_phantom,
    make_phantom,
)
from ggcam.data.phantom.marker import MARKER, TEMP_OWNER
from ggcam.data.roots import phantom_dir

SMALL = {"n_images": 3, "scale": 0.05, "progress": False}


def _real_looking(root: Path) -> Path:
    """A stand-in for someone's real download: a master sheet and one DICOM-ish file."""
    egd = root / "egd-cxr" / "1.0.0"
    egd.mkdir(parents=True)
    (egd / "master_sheet.csv").write_text("dicom_id,path\nx,files/p10/p1/s5/x.dcm\n")
    return egd


# --- 1. never destroy data -------------------------------------------------------------------

@pytest.mark.parametrize("part", ["egd-cxr", "mimic-cxr"])
def test_refuses_folders_it_did_not_write(tmp_path, part):
    if part == "egd-cxr":
        sheet = _real_looking(tmp_path) / "master_sheet.csv"
    else:
        sheet = tmp_path / "mimic-cxr" / "2.0.0" / "files" / "keep.dcm"
        sheet.parent.mkdir(parents=True)
        sheet.write_text("precious")
    before = sheet.read_text()
    with pytest.raises(ValueError, match=rf"{part}.*not written by make_phantom"):
        make_phantom(tmp_path, **SMALL)
    assert sheet.read_text() == before  # untouched
    assert not (tmp_path / MARKER).exists() and not list(tmp_path.glob(".phantom-*"))


def test_refuses_a_file_named_like_a_release_folder(tmp_path):
    (tmp_path / "egd-cxr").write_text("not a folder")
    with pytest.raises(ValueError, match="egd-cxr"):
        make_phantom(tmp_path, **SMALL)
    assert (tmp_path / "egd-cxr").read_text() == "not a folder"


def test_replaces_its_own_output_and_records_parameters(tmp_path):
    make_phantom(tmp_path, seed=0, **SMALL)
    marker = json.loads((tmp_path / MARKER).read_text())
    assert marker["complete"] is True and marker["seed"] == 0 and marker["n_images"] == 3
    first = (tmp_path / "egd-cxr" / "1.0.0" / "master_sheet.csv").read_bytes()
    make_phantom(tmp_path, seed=1, **SMALL)  # the marker is there: replacing is allowed
    assert json.loads((tmp_path / MARKER).read_text())["seed"] == 1
    assert (tmp_path / "egd-cxr" / "1.0.0" / "master_sheet.csv").read_bytes() != first
    assert sorted(p.name for p in tmp_path.iterdir()) == [MARKER, "egd-cxr", "mimic-cxr",
                                                          "phantom-truth.csv"]


def test_stale_temporary_folders_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = [tmp_path / ".phantom-k3j2l1", tmp_path / f".phantom-{dead}-abc"]
    live = tmp_path / f".phantom-{os.getppid()}-running"  # a generation still in progress
    users = tmp_path / ".phantom-notes"  # named like one, but no generation's: it stays
    for folder, pid in ((stale[0], dead), (stale[1], dead), (live, os.getppid()), (users, None)):
        (folder / "egd-cxr").mkdir(parents=True)
        if pid is not None:
            (folder / TEMP_OWNER).write_text(f"{pid}\n")
    with pytest.warns(UserWarning, match="phantom-notes: left alone"):
        make_phantom(tmp_path, **SMALL)
    assert not any(p.exists() for p in stale)
    assert live.is_dir() and users.is_dir()


def test_bad_informativeness(tmp_path):
    for value in (-0.1, 1.5, float("nan"), "0.5", True):
        with pytest.raises(ValueError, match="informativeness"):
            make_phantom(tmp_path, informativeness=value, **SMALL)


# --- 2. ensure_dataset -----------------------------------------------------------------------

def test_phantom_made_once_then_reused(tmp_path):
    roots = ensure_dataset(work_root=tmp_path, **SMALL)
    assert isinstance(roots, DataRoots) and roots.origin == "phantom"
    assert roots.egd_root == tmp_path / "phantom" / "n3-x0.05-s0" / "egd-cxr" / "1.0.0"
    assert roots.truth_path.is_file() and (roots.egd_root / "master_sheet.csv").is_file()
    stamp = (roots.egd_root / "master_sheet.csv").stat().st_mtime_ns
    again = ensure_dataset(work_root=tmp_path, **SMALL)
    assert again == roots and (roots.egd_root / "master_sheet.csv").stat().st_mtime_ns == stamp
    other = ensure_dataset(work_root=tmp_path, informativeness=0.25, seed=2, **SMALL)
    assert other.egd_root.parts[-3] == "n3-x0.05-s2-i0.25"


def _ensure_and_stamp(work_root) -> int:
    roots = ensure_dataset(work_root=work_root, **SMALL)
    return (roots.egd_root / "master_sheet.csv").stat().st_ino


def test_concurrent_callers_generate_once(tmp_path):
    """Two processes (e.g. DDP ranks) asking at once: one generates, the other waits, reuses."""
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(2) as pool:
        inodes = pool.map(_ensure_and_stamp, [tmp_path, tmp_path])
    assert inodes[0] == inodes[1]  # nobody replaced the other's release
    assert not list((tmp_path / "phantom" / "n3-x0.05-s0").glob(".phantom-*"))


def test_interrupted_generation_is_redone(tmp_path):
    roots = ensure_dataset(work_root=tmp_path, **SMALL)
    root = roots.egd_root.parents[1]
    marker = json.loads((root / MARKER).read_text())
    (root / MARKER).write_text(json.dumps({**marker, "complete": False}))  # killed mid-install
    shutil.rmtree(root / "mimic-cxr")
    again = ensure_dataset(work_root=tmp_path, **SMALL)
    assert json.loads((root / MARKER).read_text())["complete"] is True
    assert (again.mimic_root / "files").is_dir()


def test_phantom_folder_is_never_someone_elses(tmp_path):
    _real_looking(phantom_dir(tmp_path, 3, 0.05, 0))
    with pytest.raises(ValueError, match="not written by make_phantom"):
        ensure_dataset(work_root=tmp_path, **SMALL)


def test_data_root_spellings_and_origin(phantom_root):
    root = Path(phantom_root["egd_root"]).parents[1]
    for given in (root, root / "egd-cxr", root / "egd-cxr" / "1.0.0"):
        found = ensure_dataset(given, work_root=None, n_images=0, scale=0)  # never generates
        assert found.egd_root.resolve() == Path(phantom_root["egd_root"]).resolve()
        assert found.mimic_root.resolve() == Path(phantom_root["mimic_root"]).resolve()
        assert found.origin == "phantom" and found.truth_path.name == "phantom-truth.csv"


def test_origin_is_read_from_the_dicoms_without_the_marker(phantom_copy, tmp_path):
    (phantom_copy["root"] / MARKER).unlink()
    assert is_phantom(phantom_copy["egd_root"])  # the phantom writer's UID in the DICOM
    first = next(iter(sorted(phantom_copy["mimic_root"].rglob("*.dcm"))))
    sheet = (phantom_copy["egd_root"] / "master_sheet.csv").read_text()
    # The master sheet's first DICOM, re-stamped as if another writer had made it.
    first_path = sheet.splitlines()[1].split(",")[1]
    first = phantom_copy["mimic_root"] / first_path
    ds = pydicom.dcmread(first)
    ds.file_meta.ImplementationClassUID = "1.2.3.4"
    ds.save_as(first)
    assert not is_phantom(phantom_copy["egd_root"])
    found = ensure_dataset(phantom_copy["root"], work_root=None, n_images=1, scale=1)
    assert found.origin == "real" and found.truth_path is None


def test_data_root_missing_parts_are_named(tmp_path, phantom_copy):
    with pytest.raises(FileNotFoundError, match=r"egd-cxr/1\.0\.0/master_sheet\.csv"):
        ensure_dataset(tmp_path, work_root=tmp_path, n_images=3, scale=0.05)
    assert not (tmp_path / "egd-cxr").exists() and not (tmp_path / "phantom").exists()
    shutil.rmtree(phantom_copy["root"] / "mimic-cxr")
    with pytest.raises(FileNotFoundError, match=r"no MIMIC-CXR images .*mimic-cxr/2\.0\.0/files"):
        ensure_dataset(phantom_copy["root"], work_root=tmp_path, n_images=3, scale=0.05)
    with pytest.raises(ValueError, match="swapped"):
        ensure_dataset(phantom_copy["root"], work_root=tmp_path, n_images=3, scale=0.05,
                       mimic_root=phantom_copy["egd_root"])


def test_mimic_root_elsewhere(phantom_copy, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    shutil.move(phantom_copy["root"] / "mimic-cxr", tmp_path / "elsewhere")
    mimic = tmp_path / "elsewhere" / "mimic-cxr" / "2.0.0"
    for given in (mimic, mimic.parent, mimic.parents[1]):  # each spelling is accepted
        found = ensure_dataset(phantom_copy["egd_root"], work_root=None, n_images=1, scale=1,
                               mimic_root=given)
        assert found.mimic_root.resolve() == mimic.resolve()


# --- data_identity ---------------------------------------------------------------------------

def _same_size_edit(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))


def test_data_identity_follows_every_input(phantom_copy):
    egd, mimic = phantom_copy["egd_root"], phantom_copy["mimic_root"]
    base = data_identity(egd, mimic)
    assert len(base) == 16 and data_identity(egd, mimic) == base
    # A phantom is identified by content: a new mtime alone is the same data.
    os.utime(next(mimic.rglob("*.dcm")), ns=(1, 10**18))
    assert data_identity(egd, mimic) == base
    seen = {base}
    edits = [
        lambda: _same_size_edit(next(mimic.rglob("*.dcm"))),  # pixel bytes, same size
        lambda: (egd / "fixations.csv").write_text((egd / "fixations.csv").read_text() + "\n"),
        lambda: next((egd / "audio_segmentation_transcripts").rglob("left_lung.png")).write_bytes(b"x"),
        lambda: (egd / "bounding_boxes.csv").write_text("dicom_id,bbox_name,x1,x2,y1,y2\n"),
        lambda: phantom_copy["truth_path"].unlink(),
    ]
    for edit in edits:
        edit()
        now = data_identity(egd, mimic)
        assert now not in seen
        seen.add(now)


def test_real_data_identity_follows_mtimes_and_roots(phantom_copy, tmp_path):
    """Without the phantom marker the data is a real release: stat-based, so an mtime counts."""
    (phantom_copy["root"] / MARKER).unlink()
    egd, mimic = phantom_copy["egd_root"], phantom_copy["mimic_root"]
    base = data_identity(egd, mimic)
    assert len(base) == 16
    os.utime(next(mimic.rglob("*.dcm")), ns=(1, 10**18))
    touched = data_identity(egd, mimic)
    assert touched != base
    moved = Path(shutil.copytree(phantom_copy["root"], tmp_path / "moved"))
    assert data_identity(moved / "egd-cxr" / "1.0.0", moved / "mimic-cxr" / "2.0.0") != touched
