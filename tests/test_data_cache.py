"""prepare and CachedDataset: the cache holds EGDCXR's items, resampled, and is reused."""

from __future__ import annotations

import json
import os
import pickle
import re
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from ggcam.data import EGDCXR, CachedDataset, prepare, read_dicom
from ggcam.data.resample import points_to_input, to_input
from ggcam.geometry import block_mean, grid_geometry, input_cells, pad_to_canvas

INPUT, STRIDE, GRID = (192, 160), 32, (6, 5)
SIGMA = 75.5 * 0.05


def _prepare(phantom_root, cache_dir, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return prepare(phantom_root["egd_root"], phantom_root["mimic_root"], cache_dir,
                       input_shape=kwargs.pop("input_shape", INPUT), stride=STRIDE,
                       sigma=kwargs.pop("sigma", SIGMA), progress=False, **kwargs)


@pytest.fixture(scope="module")
def cache(phantom_root, tmp_path_factory):
    return _prepare(phantom_root, tmp_path_factory.mktemp("cache") / "c", workers=2)


@pytest.fixture(scope="module")
def ds(phantom_root):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return EGDCXR(phantom_root["egd_root"], phantom_root["mimic_root"], grid_shape=GRID,
                      sigma=SIGMA, progress=False)


def test_cache_holds_the_items_resampled(cache, ds, phantom_root):
    cached = CachedDataset(cache)
    assert len(cached) == len(ds) == 12
    for i in range(len(ds)):
        item, ref = cached[i], ds[i]
        assert item["dicom_id"] == ref["dicom_id"] and item["index"] == i
        assert int(item["label"]) == ref["label"] and bool(item["has_gaze"]) == ref["has_gaze"]
        np.testing.assert_array_equal(item["gaze"].numpy(), ref["gaze"])
        for k in ("heart", "lung"):
            np.testing.assert_array_equal(item["masks"][k].numpy(), ref["masks"][k])
        geom = grid_geometry(ref["image"].shape, GRID)
        expected = to_input(ref["image"], geom, STRIDE)
        np.testing.assert_allclose(item["image"][0].numpy(), expected, atol=2.45e-4)  # float16
        # The image lands on the canvas the masks and gaze use: the input's s×s blocks are the
        # canvas's c×c blocks (block alignment; receptive-field cells are these shifted by c/2).
        blocks = item["image"][0].numpy().reshape(GRID[0], STRIDE, GRID[1], STRIDE).mean(axis=(1, 3))
        block_geom = grid_geometry(ref["image"].shape, GRID, align="block")
        np.testing.assert_allclose(blocks, block_mean(ref["image"], block_geom), atol=2e-5)


def test_integer_factor_is_pad_then_block_mean():
    image = np.random.default_rng(0).random((191, 157), dtype=np.float32)
    geom = grid_geometry(image.shape, GRID)  # cell 32: the 6×5 grid on a 192×160 canvas
    expected = pad_to_canvas(image, geom).reshape(96, 2, 80, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(to_input(image, geom, 16), expected, atol=1e-6)
    assert (geom.top, geom.left) == (0, 1)


def test_tensor_schema(cache):
    item = CachedDataset(cache)[0]
    assert item["image"].shape == (1, *INPUT) and item["image"].dtype == torch.float32
    assert 0 <= item["image"].min() and item["image"].max() <= 1
    assert item["label"].dtype == torch.int64 and item["label"].shape == ()
    assert item["gaze"].shape == GRID and item["gaze"].dtype == torch.float32
    assert item["has_gaze"].dtype == torch.bool
    assert item["masks"]["heart"].dtype == torch.bool and item["masks"]["lung"].shape == GRID


def test_dataloader_default_collate_and_getitems(cache):
    cached = CachedDataset(cache)
    batches = list(DataLoader(cached, batch_size=4, num_workers=0))
    assert len(batches) == 3
    b = batches[1]
    assert b["image"].shape == (4, 1, *INPUT) and b["label"].shape == (4,)
    assert b["masks"]["lung"].shape == (4, *GRID) and b["index"].tolist() == [4, 5, 6, 7]
    assert len(b["dicom_id"]) == 4 and isinstance(b["dicom_id"][0], str)
    many = cached.__getitems__([7, 2, 2])
    for got, i in zip(many, [7, 2, 2]):
        one = cached[i]
        assert got["dicom_id"] == one["dicom_id"]
        assert torch.equal(got["image"], one["image"]) and torch.equal(got["gaze"], one["gaze"])
        assert torch.equal(got["masks"]["heart"], one["masks"]["heart"])


def test_subset_and_metadata(cache):
    cached = CachedDataset(cache)
    sub = cached.subset([5, 1])
    assert len(sub) == 2 and sub[0]["index"] == 5
    assert sub[1]["dicom_id"] == cached[1]["dicom_id"] == sub.metadata["dicom_id"][1]
    assert sub.metadata["cache_index"].tolist() == [5, 1]
    again = CachedDataset(cache, indices=np.array([3]))
    assert again[0]["dicom_id"] == cached.metadata["dicom_id"][3]
    with pytest.raises(IndexError):
        CachedDataset(cache, indices=[12])
    with pytest.raises(IndexError):
        cached[12]


def test_gaze_points_in_input_pixels(cache, ds):
    cached = CachedDataset(cache)
    for i in (0, 6):
        xy, dur = cached.input_gaze_points(i)
        pts = ds.gaze_points(i)
        geom = grid_geometry(ds.image_shape(i), GRID)
        assert xy.shape == (len(pts), 2) and dur.shape == (len(pts),)
        # Same Ω cells in both spaces.
        image_cells = geom.cell_of(pts[["x", "y"]].to_numpy())
        inside = ((image_cells >= 0) & (image_cells < GRID)).all(axis=1)
        np.testing.assert_array_equal(input_cells(xy, STRIDE, GRID), np.unique(image_cells[inside], axis=0))
        np.testing.assert_allclose(xy, points_to_input(pts[["x", "y"]].to_numpy(), geom, STRIDE))


def test_gaze_points_is_a_deprecated_alias(cache):
    cached = CachedDataset(cache)
    with pytest.warns(DeprecationWarning, match="input_gaze_points"):
        xy, dur = cached.gaze_points(3)
    new_xy, new_dur = cached.input_gaze_points(3)
    np.testing.assert_array_equal(xy, new_xy)
    np.testing.assert_array_equal(dur, new_dur)


def test_reused_when_parameters_match_rebuilt_when_not(phantom_root, tmp_path):
    path = _prepare(phantom_root, tmp_path / "c", workers=1)
    manifest = path / "manifest.json"
    stamp = (manifest.stat().st_mtime_ns, (path / "images.npy").stat().st_ino)
    assert _prepare(phantom_root, tmp_path / "c", workers=1) == path
    assert (manifest.stat().st_mtime_ns, (path / "images.npy").stat().st_ino) == stamp
    before = CachedDataset(path)[0]["gaze"]
    _prepare(phantom_root, tmp_path / "c", workers=1, sigma=2 * SIGMA)
    assert json.loads(manifest.read_text())["params"]["sigma"] == 2 * SIGMA
    assert not torch.equal(CachedDataset(path)[0]["gaze"], before)
    _prepare(phantom_root, tmp_path / "c", workers=1, sigma=2 * SIGMA, mask_rule="any")
    assert json.loads(manifest.read_text())["params"]["mask_rule"] == "any"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]  # no temporary folders left


def test_pickles_without_the_arrays(cache):
    cached = CachedDataset(cache)
    cached[0]
    blob = pickle.dumps(cached)
    assert len(blob) < 100_000
    assert torch.equal(pickle.loads(blob)[3]["image"], cached[3]["image"])


def test_errors(phantom_root, tmp_path):
    with pytest.raises(ValueError, match="multiples"):
        _prepare(phantom_root, tmp_path / "x", input_shape=(100, 160))
    with pytest.raises(ValueError, match="workers"):
        _prepare(phantom_root, tmp_path / "x", workers=0)
    with pytest.raises(FileNotFoundError, match="manifest"):
        CachedDataset(tmp_path)


def test_image_read_matches_dicom(cache, ds, phantom_root):
    path = phantom_root["mimic_root"] / ds.metadata["path"][2]
    stored = np.load(cache / "images.npy", mmap_mode="r")[2]
    geom = grid_geometry(ds.image_shape(2), GRID)
    assert stored.dtype == np.float16  # the default
    np.testing.assert_array_equal(stored, to_input(read_dicom(path), geom, STRIDE).astype(np.float16))


def test_uint16_images(phantom_root, tmp_path, cache, ds):
    exact = CachedDataset(_prepare(phantom_root, tmp_path / "u", workers=1, image_dtype="uint16"))
    half = CachedDataset(cache)
    assert np.load(exact.cache_dir / "images.npy", mmap_mode="r").dtype == np.uint16
    for i in (0, 7):
        a, b = exact[i]["image"], half[i]["image"]
        assert a.dtype == torch.float32 and a.shape == b.shape
        expected = to_input(ds.read_image(i), grid_geometry(ds.image_shape(i), GRID), STRIDE)
        np.testing.assert_allclose(a[0].numpy(), expected, atol=0.5 / 65535 + 1e-7)
        assert torch.equal(exact[i]["gaze"], half[i]["gaze"])
    with pytest.raises(ValueError, match="image_dtype"):
        _prepare(phantom_root, tmp_path / "x", image_dtype="float32")


def test_edited_inputs_rebuild_the_cache(phantom_copy, tmp_path):
    """data_identity is in the parameters: an edited DICOM rebuilds. A phantom's identity is
    its content, so touching a file (mtime only) does not."""
    import os

    import pydicom

    from ggcam.data import data_identity

    path = _prepare(phantom_copy, tmp_path / "c", workers=1)
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["data_identity"] == data_identity(phantom_copy["egd_root"], phantom_copy["mimic_root"])
    assert manifest["params"]["data_identity"] == manifest["data_identity"]
    before = CachedDataset(path)[2]["image"]
    meta = CachedDataset(path).metadata
    dcm = phantom_copy["mimic_root"] / meta["path"][2]
    ds = pydicom.dcmread(dcm)
    ds.PixelData = (4095 - ds.pixel_array).astype("<u2").tobytes()  # same size, new pixels
    ds.save_as(dcm)
    _prepare(phantom_copy, tmp_path / "c", workers=1)
    assert not torch.equal(CachedDataset(path)[2]["image"], before)
    inode = (path / "images.npy").stat().st_ino
    os.utime(dcm, ns=(1, 10**18))  # only the mtime, to an older one: same content
    _prepare(phantom_copy, tmp_path / "c", workers=1)
    assert (path / "images.npy").stat().st_ino == inode
    _prepare(phantom_copy, tmp_path / "c", workers=1)  # nothing changed: reused
    assert (path / "images.npy").stat().st_ino == inode


def test_old_cache_version_is_refused(cache, tmp_path):
    import shutil

    old = Path(shutil.copytree(cache, tmp_path / "old"))
    manifest = json.loads((old / "manifest.json").read_text())
    manifest["params"]["version"] = 1
    (old / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="cache version 1"):
        CachedDataset(old)


def test_a_killed_prepare_leaves_nothing_behind_for_long(phantom_root, tmp_path):
    """The temporary folders of a prepare that was killed are removed by the next one, also
    when the cache is current; a live writer's folder (its owner lock held) is kept."""
    from ggcam.data.cache_folder import OWNER, claim

    dead, live = tmp_path / ".c.tmp-dead", tmp_path / ".c.tmp-live"
    old_swap, fresh = tmp_path / ".c.old-killed", tmp_path / ".c.tmp-just-made"
    for folder in (dead, live, old_swap, fresh):
        folder.mkdir()
    (dead / OWNER).write_text("")  # its writer died: nobody holds the lock
    two_hours_ago = time.time() - 7200
    os.utime(old_swap, (two_hours_ago, two_hours_ago))  # no owner file, and old
    with claim(live):  # a writer that is still running
        path = _prepare(phantom_root, tmp_path / "c", workers=1)
        assert not dead.exists() and not old_swap.exists()
        assert live.exists() and fresh.exists()  # alive, and too young to judge
        assert not (path / OWNER).exists()  # a finished cache has no owner file
        (dead).mkdir()
        (dead / OWNER).write_text("")
        assert _prepare(phantom_root, tmp_path / "c", workers=1) == path  # current: no rebuild
        assert not dead.exists() and live.exists()


def test_an_unwritable_cache_fails_before_reading_the_data(phantom_root, tmp_path, monkeypatch):
    import ggcam.data.cache as cache

    def never(*a, **k):
        raise AssertionError("read the data before checking the cache folder")

    monkeypatch.setattr(cache, "EGDCXR", never)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ValueError, match=rf"cannot write the cache {re.escape(str(blocker))}/c"):
        _prepare(phantom_root, blocker / "c", workers=1)


def test_the_owner_lock_dies_with_its_writer(tmp_path):
    """A writer killed with SIGKILL leaves its folder unlocked: the next prepare removes it."""
    import signal
    import subprocess
    import sys

    from ggcam.data.cache_folder import remove_dead_temps

    folder = tmp_path / ".c.tmp-killed"
    folder.mkdir()
    code = ("import sys, time; from pathlib import Path; from ggcam.data.cache_folder import claim; "
            "owner = claim(Path(sys.argv[1])); print('claimed', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "claimed"
        remove_dead_temps(tmp_path / "c")
        assert folder.exists()  # alive: kept
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    remove_dead_temps(tmp_path / "c")
    assert not folder.exists()  # killed: removed


def test_inputs_that_give_no_gaze_map_or_no_memory_are_refused(phantom_root, tmp_path):
    with pytest.raises(ValueError, match=r"a side above 8192 px"):
        _prepare(phantom_root, tmp_path / "huge", input_shape=(320000, 320000))
    # A blur so wide that no mass is left on the grid: Ψ would be 0 for images with gaze.
    with pytest.raises(ValueError, match=r"image .*: its gaze points give an all-zero Ψ"):
        _prepare(phantom_root, tmp_path / "wide", sigma=1e308, workers=1)


def test_a_truncated_cache_array_is_rebuilt_not_served(phantom_root, tmp_path):
    path = _prepare(phantom_root, tmp_path / "c", workers=1)
    images = path / "images.npy"
    images.write_bytes(images.read_bytes()[: images.stat().st_size // 2])  # a full disk, say
    with pytest.warns(UserWarning, match=r"images\.npy .* cannot be opened; the cache is rebuilt"):
        again = prepare(phantom_root["egd_root"], phantom_root["mimic_root"], tmp_path / "c",
                        input_shape=INPUT, stride=STRIDE, sigma=SIGMA, progress=False, workers=1)
    assert again == path
    np.load(path / "images.npy", mmap_mode="r")  # whole again


def test_a_full_disk_is_named_before_any_memory_mapped_write(tmp_path, monkeypatch):
    """Writing through a sparse memmap into a full disk ends in SIGBUS with no message."""
    import errno

    from ggcam.data import cache_write

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache_write.os, "posix_fallocate", full)
    with pytest.raises(OSError, match=r"cannot reserve \d+ MiB on disk for the cache \(No space left") as err:
        cache_write.allocate_arrays(tmp_path, 4, (64, 64), (2, 2), "float16")
    assert err.value.filename.endswith("images.npy")
