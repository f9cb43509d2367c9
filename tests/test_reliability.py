"""Issue 14, reliability: bad input is one clear error, faults are survived, nothing runs code
from a file, real-data results are never committed. Each test reproduces one case first.

The CLI cases run ``ggcam.cli.commands.main`` in-process (stderr through ``capsys``); a few run the
real command in a subprocess. Training uses the ``smoke`` profile, one thread, in ``tmp_path``.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from synthetic import SyntheticCXR
from torch import nn

import ggcam
from ggcam import GGCAMLoss, StandardLoss, legacy_selective_mse, selective_mse
from ggcam.checkpoint import load_checkpoint, save_checkpoint
from ggcam.cli.commands import main
from ggcam.experiment import sweep as sweep_mod
from ggcam.runtime import atomic_torch_save, atomic_write_text, git_commit

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMOKE = ["--profile", "smoke", "--threads", "1", "--quiet"]
RUN_ID = "resnet18__ggcam__s0"


def _cli(argv, capsys) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``ggcam argv`` run in-process."""
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as err:  # argparse
        rc = err.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def _one_error_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip() and "UserWarning" not in ln]
    assert len(lines) == 1, err
    return lines[0]


# --- 1. losses ------------------------------------------------------------------------------

def _batch(B=2, K=3, h=2, w=2):
    g = torch.Generator().manual_seed(0)
    return (torch.randn(B, K, generator=g), torch.randn(B, K, h, w, generator=g),
            torch.tensor([0, 2])[:B], torch.rand(B, h, w, generator=g))


def _poison(t: torch.Tensor, value: float) -> torch.Tensor:
    t = t.clone()
    t.view(-1)[1] = value
    return t


@pytest.mark.parametrize("value, needle", [
    (math.nan, r"gaze \(Ψ\) must be finite, got 1 non-finite values \(\[nan\]\)"),
    (math.inf, r"gaze \(Ψ\) must be finite, got 1 non-finite values \(\[inf\]\)"),
    (-math.inf, r"must be finite, got 1 non-finite values \(\[-inf\]\)"),
    (255.0, r"gaze \(Ψ\) must lie in \[0, 1\], got values in \[.*, 255\] \(an 8-bit image"),
    (-0.5, r"gaze \(Ψ\) must lie in \[0, 1\], got values in \[-0.5, "),
])
def test_loss_rejects_bad_gaze(value, needle):
    logits, cams, labels, gaze = _batch()
    bad = _poison(gaze, value)
    with pytest.raises(ValueError, match=needle):
        selective_mse(cams, labels, bad, 1.0)
    with pytest.raises(ValueError, match=needle):
        legacy_selective_mse(cams, labels, bad)
    for mode in ("paper", "legacy"):
        with pytest.raises(ValueError, match=needle):
            GGCAMLoss(sigma_sm=0.5, mode=mode)(logits, cams, labels, bad)
    # A 0-255 map as a whole (an image, not a heat map).
    with pytest.raises(ValueError, match=r"\[0, 255\]"):
        selective_mse(cams, labels, torch.full_like(gaze, 255.0).index_fill_(1, torch.tensor(0), 0), 1.0)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_selective_mse_rejects_non_finite_maps(value):
    _, cams, labels, gaze = _batch()
    bad = _poison(cams, value)
    needle = rf"cams \(Ω\) must be finite, got 1 non-finite values \(\[{value}\]\) in shape \(2, 3, 2, 2\)"
    with pytest.raises(ValueError, match=needle):
        selective_mse(bad, labels, gaze, 1.0)
    with pytest.raises(ValueError, match=needle):
        legacy_selective_mse(bad, labels, gaze)


def test_non_finite_maps_in_training_stay_a_diverged_run(tmp_path):
    """In ``GGCAMLoss`` (the trainer's loss) a non-finite Ω is divergence, not bad input: the
    total is non-finite and ``fit`` raises ``NonFiniteLoss`` naming epoch, step and terms, which
    the sweep records as "diverged" instead of stopping (a ValueError would stop the sweep)."""
    from ggcam.config import TrainConfig
    from ggcam.train import NonFiniteLoss, fit, make_loss, make_model

    logits, cams, labels, gaze = _batch()
    total, parts = GGCAMLoss(sigma_sm=0.5)(_poison(logits, math.nan), _poison(cams, math.nan),
                                           labels, gaze)
    assert math.isnan(total.item()) and math.isnan(parts["sm"]) and math.isnan(parts["ce"])
    data = SyntheticCXR(12)
    data.images[:] = np.nan
    config = TrainConfig(network="resnet18", variant="ggcam", batch_size=6, max_epochs=1,
                         sigma_sm=0.5)
    with pytest.raises(NonFiniteLoss, match=r"epoch 1, step 0: ce = nan, sm = nan"):
        fit(make_model(config), make_loss(config), data.subset(range(6)), data.subset(range(6, 12)),
            config, checkpoint_dir=tmp_path, progress=False)


def test_loss_rejects_an_empty_batch():
    logits, cams, labels, gaze = _batch()
    empty = (logits[:0], cams[:0], labels[:0], gaze[:0])
    with pytest.raises(ValueError, match=r"cams must be a non-empty batch .* got \(0, 3, 2, 2\)"):
        selective_mse(*empty[1:], 1.0)
    with pytest.raises(ValueError, match=r"non-empty batch .* got \(0, 3, 2, 2\)"):
        legacy_selective_mse(*empty[1:])
    with pytest.raises(ValueError, match=r"non-empty batch .* got \(0, 3, 2, 2\)"):
        GGCAMLoss(sigma_sm=0.5)(*empty)
    with pytest.raises(ValueError, match=r"logits must be a non-empty \(B, K\) batch .* \(0, 3\)"):
        StandardLoss()(*empty)
    with pytest.raises(ValueError, match=r"got \(2, 3, 0, 0\)"):  # 0×0 maps
        selective_mse(cams[..., :0, :0], labels, gaze[..., :0, :0], 1.0)
    with pytest.raises(ValueError, match=r"logits must have shape \(2, 3\) .* got \(2, 4\)"):
        GGCAMLoss(sigma_sm=0.5)(torch.zeros(2, 4), cams, labels, gaze)


def test_cam_head_rejects_a_0x0_map():
    head = ggcam.CAMHead(in_features=4, num_classes=3)
    with pytest.raises(ValueError, match=r"h, w >= 1, got \(2, 4, 0, 0\)"):
        head(torch.zeros(2, 4, 0, 0))


@pytest.mark.parametrize("value", [np.float32(0.1), np.float64(0.1), np.array(0.1),
                                   np.array(0.1, dtype=np.float32), torch.tensor(0.1), 0.1])
def test_numpy_and_0d_parameters_are_accepted(value):
    loss = GGCAMLoss(sigma_sm=value, sigma_ce=value, alpha=value)
    for p in (loss.log_sigma_sm, loss.log_sigma_ce, loss.log_alpha):
        assert p.item() == pytest.approx(math.log(0.1), rel=1e-6)
    loss = GGCAMLoss(sigma_sm=2, sigma_ce=np.int64(3), alpha=np.array(1))  # integers too
    assert loss.log_sigma_ce.item() == pytest.approx(math.log(3))


@pytest.mark.parametrize("value, needle", [
    (True, "sigma_sm must be a finite number > 0, got True (bool)"),
    (np.bool_(True), "(bool"),
    (np.array(True), "got True (bool)"),
    ("0.1", "got '0.1' (str)"),
    (np.array([0.1]), "(ndarray)"),
    (np.float32("nan"), "sigma_sm must be a finite number > 0, got nan"),
    (10**400, "got an integer of 401 digits"),
])
def test_booleans_strings_and_arrays_are_rejected(value, needle):
    with pytest.raises(ValueError, match=re.escape(needle)):
        GGCAMLoss(sigma_sm=value)


# --- 2. runtime: the commit of the code that ran -------------------------------------------

def _git(cwd, *args) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd,
                          env=env, check=True, capture_output=True, text=True).stdout.strip()


def _repo(path: Path) -> str:
    path.mkdir(parents=True, exist_ok=True)
    _git(path, "init", "-q")
    (path / "a.txt").write_text("a\n")
    _git(path, "add", "a.txt")
    _git(path, "commit", "-qm", "a")
    return _git(path, "rev-parse", "--short", "HEAD")


needs_git = pytest.mark.skipif(subprocess.run(["git", "--version"], capture_output=True).returncode,
                               reason="git not installed")


@needs_git
def test_git_commit_asks_the_package_folder_not_the_cwd(tmp_path, monkeypatch):
    other = _repo(tmp_path / "other")
    monkeypatch.chdir(tmp_path / "other")
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "other" / ".git"))  # no redirect either
    package = Path(ggcam.__file__).parent
    try:
        want = _git(package, "rev-parse", "--short", "HEAD")
    except subprocess.CalledProcessError:
        want = "unknown"  # an installed copy
    got = git_commit()
    assert got.split("+")[0] == want and not got.startswith(other)
    assert git_commit(tmp_path / "nowhere") == "unknown"
    (tmp_path / "plain").mkdir()
    assert git_commit(tmp_path / "plain") == "unknown"  # outside a checkout


@needs_git
def test_git_commit_notes_a_dirty_tree_and_ignores_an_untracked_copy(tmp_path):
    repo = tmp_path / "repo"
    head = _repo(repo)
    assert git_commit(repo) == head
    (repo / "a.txt").write_text("changed\n")
    assert git_commit(repo) == f"{head}+dirty"  # a tracked file differs
    _git(repo, "checkout", "--", "a.txt")
    (repo / "new.py").write_text("x = 1\n")
    assert git_commit(repo) == f"{head}+dirty"  # untracked code beside it
    (repo / "new.py").unlink()
    # A copy installed in an ignored folder of some repository is not that repository's code.
    (repo / ".gitignore").write_text("/venv/\n")
    _git(repo, "add", ".gitignore")
    _git(repo, "commit", "-qm", "ignore")
    (repo / "venv" / "ggcam").mkdir(parents=True)
    (repo / "venv" / "ggcam" / "__init__.py").write_text("")
    assert git_commit(repo / "venv" / "ggcam") == "unknown"


def test_atomic_writes_get_the_usual_file_mode(tmp_path):
    """mkstemp's 0600 made results and weights unreadable to the rest of the group."""
    mask = os.umask(0o022)
    os.umask(mask)
    atomic_write_text("x", tmp_path / "a.txt")
    atomic_torch_save({"x": torch.zeros(1)}, tmp_path / "a.pt")
    for name in ("a.txt", "a.pt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~mask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pt", "a.txt"]  # no temp left


# --- 3. provenance: real-data results are never committed ----------------------------------

@needs_git
def test_results_of_real_data_are_git_ignored(phantom_root, tmp_path, monkeypatch, capsys):
    import ggcam.data.roots as roots

    calls = []

    def fake_sweep(profile, **kw):  # what the sweep sees when it starts
        calls.append((Path(kw["results_root"]) / profile.name / ".gitignore").is_file())
        return pd.DataFrame()

    monkeypatch.setattr(sweep_mod, "run_sweep", fake_sweep)
    data = Path(phantom_root["egd_root"]).parents[1]
    argv = ["sweep", *SMOKE, "--data-root", data, "--work", tmp_path / "w"]
    _git(tmp_path, "init", "-q")
    rc, _, err = _cli([*argv, "--results", tmp_path / "results"], capsys)
    assert rc == 0 and calls == [False], err  # phantom data: committed as usual
    monkeypatch.setattr(roots, "is_phantom", lambda *a, **k: False)  # now it reads as real
    rc, _, err = _cli([*argv, "--results", tmp_path / "results"], capsys)
    assert rc == 0 and calls == [False, True], err
    assert (tmp_path / "results" / "smoke" / ".gitignore").read_text().endswith("*\n")
    probe = tmp_path / "results" / "smoke" / "runs" / "x.json"
    probe.parent.mkdir(parents=True)
    probe.write_text("{}")
    assert _git(tmp_path, "status", "--porcelain", "--untracked-files=all") == ""


def test_phantom_force_writes_beside_a_users_files_but_never_over_them(tmp_path, capsys):
    foreign = tmp_path / "d" / "egd-cxr" / "mine.txt"
    foreign.parent.mkdir(parents=True)
    foreign.write_text("a user's file")
    (tmp_path / "d" / "notes.txt").write_text("notes")
    argv = ["phantom", "--out", tmp_path / "d", "--n", "6", "--scale", "0.02", "--force"]
    rc, _, err = _cli(argv, capsys)
    assert rc == 2 and "was not written by make_phantom" in err and "left alone" in err
    assert foreign.read_text() == "a user's file"
    foreign.parent.rename(tmp_path / "kept")  # the user moves their folder away
    rc, _, err = _cli(argv, capsys)
    assert rc == 0, err
    assert (tmp_path / "d" / "notes.txt").read_text() == "notes"
    assert (tmp_path / "d" / "egd-cxr" / "1.0.0" / "master_sheet.csv").is_file()


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
    rc, _, err = _cli(["rescore", "--results", tmp_path], capsys)
    assert rc == 2 and str(path) in err and "Traceback" not in err, err


def test_rescore_names_a_record_that_is_not_one(tmp_path, capsys):
    (tmp_path / "cpu" / "runs").mkdir(parents=True)
    path = tmp_path / "cpu" / "runs" / "r.json"
    path.write_text("[1, 2, 3]")
    rc, _, err = _cli(["rescore", "--results", tmp_path], capsys)
    assert rc == 2 and f"{path} is not a ggcam run record" in err, err


def _one_epoch_in(folder: Path, **fit_kwargs):
    """Train resnet18 × standard for one epoch with checkpoints in ``folder``; returns a
    function that fits the same run again with other keyword arguments."""
    from ggcam.config import TrainConfig
    from ggcam.train import fit, make_loss, make_model

    config = TrainConfig(network="resnet18", variant="standard", batch_size=8, max_epochs=1,
                         early_stop_patience=2, seed=0)
    data = SyntheticCXR(12)
    train, val = data.subset(range(8)), data.subset(range(8, 12))

    def again(**kwargs):
        return fit(make_model(config), make_loss(config), train, val, config,
                   checkpoint_dir=folder, progress=False, **kwargs)

    again(**fit_kwargs)
    return again


def test_resuming_another_networks_weights_names_the_checkpoint(tmp_path):
    again = _one_epoch_in(tmp_path)
    last = load_checkpoint(tmp_path / "last.pt")
    last["model"]["head.weight"] = torch.zeros(5, 7)  # the right format, the wrong shape
    torch.save(last, tmp_path / "last.pt")
    with pytest.raises(ValueError, match=r"last\.pt does not fit this model"):
        again(resume=True)


def test_tuning_on_real_data_is_git_ignored(phantom_root, tmp_path, monkeypatch, capsys):
    import ggcam.data.roots as roots
    import ggcam.tune.search as search

    seen = []

    def fake_tune(profile, *a, results_root, **kw):  # what the search sees when it starts
        seen.append((Path(results_root) / profile / ".gitignore").is_file())
        raise ValueError("stop here")

    monkeypatch.setattr(search, "tune", fake_tune)
    monkeypatch.setattr(roots, "is_phantom", lambda *a, **k: False)  # the data reads as real
    data = Path(phantom_root["egd_root"]).parents[1]
    rc, _, err = _cli(["tune", *SMOKE, "--data-root", data, "--work", tmp_path / "w",
                       "--results", tmp_path / "results", "--trials", "1"], capsys)
    assert rc == 2 and "stop here" in err and seen == [True]
    assert (tmp_path / "results" / "smoke" / ".gitignore").read_text().endswith("*\n")


def test_a_study_never_mixes_phantom_and_real_trials(tmp_path):
    import optuna

    from ggcam.tune.storage import check_study

    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage, study_name="s")
    identity = dict(profile="smoke", network="resnet18", variant="ggcam", objective="val_ce",
                    epochs=2, seed=0, data_origin="phantom")
    for key, value in {**identity, "search_space_hash": "h", "search_space": {}}.items():
        study.set_user_attr(key, value)
    assert check_study(storage, "s", identity, "h", "memory") == 0
    with pytest.raises(ValueError, match=r"data_origin = 'phantom', this call asks for "
                                         r"data_origin = 'real': use the same --data-root"):
        check_study(storage, "s", {**identity, "data_origin": "real"}, "h", "memory")


@needs_git
def test_temp_files_under_results_are_git_ignored():
    """A killed atomic write leaves ``.<name>.<random>`` beside the file: never committed."""
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")

    def ignored(path: str) -> bool:
        return subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=root).returncode == 0

    assert ignored("results/cpu/.runs.csv.k2j3h4") and ignored("results/cpu/runs/.a.json.x1")
    assert not ignored("results/cpu/runs.csv") and not ignored("results/cpu/runs/a.json")


def test_example_images_are_stored_for_phantom_data_only():
    test = SyntheticCXR(6)
    ev = SimpleNamespace(labels=test.labels, has_gaze=np.ones(6, bool),
                         gaze=test.gaze, cams=np.zeros((6, 3, 2, 2), np.float32))
    from ggcam.experiment import run as run_mod

    assert "image" in run_mod._examples(ev, test, "phantom")
    real = run_mod._examples(ev, test, "real")
    assert "image" not in real and set(real) == {"labels", "psi", "cam", "dicom_id"}


# --- 4. the command line: one line, exit 2, before any work --------------------------------

@pytest.fixture
def no_training(monkeypatch):
    """Any training or data preparation fails the test: the error must come first."""
    def boom(*a, **k):
        raise AssertionError("work started before the error")

    for name in ("run_one", "ProfileData"):
        monkeypatch.setattr(sweep_mod, name, boom)
    monkeypatch.setattr("ggcam.data.make_phantom", boom)
    monkeypatch.setattr("ggcam.data.prepare", boom)


PREPARE = ["prepare", "--egd-root", "{egd}", "--mimic-root", "{mimic}", "--cache"]  # + the cache folder
BAD_ARGS = [
    (["train", "--data-root", "{missing}"], r"--data-root .*missing does not exist"),
    (["train", "--data-root", "{empty}"], r"no EGD-CXR release under data_root .*empty"),
    (["train", "--data-root", "{file}"], r"--data-root .*afile is a file, not a folder"),
    (["train", "--results", "{file}"], r"--results .*afile is a file, not a folder"),
    (["sweep", "--work", "{file}"], r"--work .*afile is a file, not a folder"),
    (["sweep", "--results", "{file}/sub"], r"cannot write to .*afile/sub/smoke: Not a directory"),
    (["train", "--mimic-root", "{empty}"], r"--mimic-root is only used with --data-root"),
    (["sweep", "--device", "tpu"], r"--device 'tpu': expected cpu, cuda or cuda:N"),
    (["sweep", "--shard", "-1/2"], r"argument --shard: shard i/n needs 0 <= i < n .* '-1/2'"),
    (["sweep", "--shard", "2/2"], r"argument --shard: .* got '2/2'"),
    (["sweep", "--shard", "1/2/3"], r"argument --shard: expected i/n such as 0/4, got '1/2/3'"),
    (["sweep", "--fresh", "nope"], r"--fresh: no run \['nope'\] in profile 'smoke'"),
    (["train", "--seed", "-1"], r"argument --seed: expected an integer >= 0, got '-1'"),
    (["train", "--seed", str(2**32)], r"argument --seed: expected a seed in \[0, 2\*\*32\)"),
    (["train", "--threads", "0"], r"argument --threads: expected an integer >= 1, got '0'"),
    (["train", "--seed", "5"], r"resnet18__ggcam__s5: not a run of profile 'smoke'"),
    (["train", "--n-train", "7"], r"resnet18__ggcam__s0__n7: not a run of profile 'smoke'"),
    (["train", "--profile", "paper"], r"profile 'paper' reads the real EGD-CXR release: give --data-root"),
    (["phantom", "--out", "{file}"], r"--out .*afile is a file, not a folder"),
    (["phantom", "--out", "{nonempty}"], r"--out .*nonempty is not empty; use --force"),
    (["phantom", "--out", "{file}/sub"], r"cannot write to .*afile/sub: Not a directory"),
    (["phantom", "--out", "{tmp}/p", "--n", "0"], r"argument --n: expected an integer >= 1, got '0'"),
    (["phantom", "--out", "{tmp}/p", "--scale", "0"], r"argument --scale: expected a finite number > 0, got '0'"),
    (["phantom", "--out", "{tmp}/p", "--scale", "-1"], r"argument --scale: .* got '-1'"),
    (["phantom", "--out", "{tmp}/p", "--scale", "nan"], r"argument --scale: .* got 'nan'"),
    (["prepare", "--egd-root", "{mimic}", "--mimic-root", "{egd}", "--cache", "{tmp}/c"],
     r"--egd-root .*mimic-cxr/2.0.0 holds no master_sheet.csv, but --mimic-root .* does: are the two swapped\?"),
    (["prepare", "--egd-root", "{empty}", "--mimic-root", "{mimic}", "--cache", "{tmp}/c"],
     r"--egd-root .*empty holds no master_sheet.csv \(give the EGD-CXR folder"),
    (["prepare", "--egd-root", "{egd}", "--mimic-root", "{missing}", "--cache", "{tmp}/c"],
     r"--mimic-root .*missing does not exist"),
    ([*PREPARE, "{tmp}/c", "--input-shape", "-64x-64"],
     r"argument --input-shape: H and W must be positive multiples of 32"),
    ([*PREPARE, "{tmp}/c", "--input-shape", "65x64"], r"multiples of 32 .* got '65x64'"),
    ([*PREPARE, "{file}"], r"--cache .*afile is a file, not a folder"),
    ([*PREPARE, "{data}"], r"--cache .* overlaps --egd-root"),
    ([*PREPARE, "{nonempty}"], r"--cache .*nonempty is a non-empty folder that is not a ggcam cache"),
    (["rescore", "--results", "{tmp}"], r"no runs under .*cpu"),
]


@pytest.mark.parametrize("argv, needle", BAD_ARGS, ids=[" ".join(a[:3]) for a, _ in BAD_ARGS])
def test_user_errors_are_one_line_and_exit_2(argv, needle, phantom_root, tmp_path, capsys,
                                             no_training):
    data = Path(phantom_root["egd_root"]).parents[1]
    (tmp_path / "afile").write_text("keep me")
    (tmp_path / "empty").mkdir()
    (tmp_path / "nonempty").mkdir()
    (tmp_path / "nonempty" / "notes.txt").write_text("keep me")
    names = dict(missing=tmp_path / "missing", empty=tmp_path / "empty", file=tmp_path / "afile",
                 nonempty=tmp_path / "nonempty", tmp=tmp_path, data=data,
                 egd=phantom_root["egd_root"], mimic=phantom_root["mimic_root"])
    argv = [a.format(**names) for a in argv]
    if argv[0] in ("train", "sweep"):
        defaults = ["--work", tmp_path / "w", "--results", tmp_path / "r"]
        argv = [argv[0], *SMOKE, *defaults, *argv[1:]]  # later options win
    rc, out, err = _cli(argv, capsys)
    assert rc == 2 and out == ""
    line = _one_error_line(err)
    assert line.startswith(f"ggcam {argv[0]}: error: ") and re.search(needle, line), line
    # Nothing given was touched.
    assert (tmp_path / "afile").read_text() == "keep me"
    assert (tmp_path / "nonempty" / "notes.txt").read_text() == "keep me"
    assert (data / "egd-cxr" / "1.0.0" / "master_sheet.csv").is_file()


def test_unwritable_results_fail_before_training(tmp_path, capsys, no_training):
    argv = ["sweep", *SMOKE, "--work", tmp_path / "w"]
    if Path("/proc/self").is_dir():  # not writable even by root
        rc, _, err = _cli([*argv, "--results", "/proc/ggcam-results"], capsys)
        assert rc == 2 and "cannot write to /proc/ggcam-results/smoke" in _one_error_line(err)
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        for command in ("sweep", "train"):
            rc, _, err = _cli([command, *argv[1:], "--results", locked], capsys)
            assert rc == 2 and f"cannot write to {locked / 'smoke'}" in _one_error_line(err)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("command", ["train", "sweep"])
def test_cuda_without_a_gpu(command, tmp_path, capsys, no_training):
    rc, _, err = _cli([command, *SMOKE, "--work", tmp_path, "--results", tmp_path,
                       "--device", "cuda:1"], capsys)
    assert rc == 2 and "--device cuda:1: torch sees no CUDA GPU" in _one_error_line(err)


@pytest.mark.parametrize("command, hint", [
    ("train", "rerun with --resume to continue from the last finished epoch"),
    ("sweep", "rerun the same command to resume (finished runs are kept)"),
])
def test_ctrl_c_exits_130_and_says_how_to_resume(command, hint, tmp_path, monkeypatch, capsys):
    def interrupted(*a, **k):
        raise KeyboardInterrupt

    from ggcam.experiment import data as data_mod
    from ggcam.experiment import run as run_mod

    monkeypatch.setattr(sweep_mod, "run_sweep", interrupted)
    monkeypatch.setattr(run_mod, "run_one", interrupted)
    monkeypatch.setattr(data_mod, "ProfileData", interrupted)
    rc, _, err = _cli([command, *SMOKE, "--work", tmp_path, "--results", tmp_path], capsys)
    assert rc == 130 and err == f"ggcam {command}: interrupted; {hint}\n"


# --- 4-5. checkpoints: truncated, pickled code, killed writers, --fresh ---------------------

class _Payload:
    """Unpickling this creates ``path``: stands for any code in a pickle."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _malicious(path: Path, marker: Path) -> None:
    torch.save({"format": "ggcam-checkpoint", "version": 1, "x": _Payload(marker)}, path)


def _tiny_checkpoints(folder: Path, data_id: str | None = None) -> None:
    for name in ("last.pt", "best.pt"):
        save_checkpoint(folder / name, config={}, model=nn.Linear(2, 2), loss_fn=nn.Module(),
                        epoch=1, state={} if name == "last.pt" else None, data_id=data_id)


def test_a_checkpoint_trained_on_other_data_is_set_aside_not_resumed(tmp_path):
    # Before: a sweep rerun with another --data-root evaluated the old model on the new data.
    _tiny_checkpoints(tmp_path, data_id="phantom:aaaa")
    sweep_mod.prepare_checkpoints(tmp_path, "phantom:aaaa")  # same data: kept for resuming
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "last.pt"]
    with pytest.warns(UserWarning, match=r"trained on other data \(data identity phantom:aaaa, "
                                         r"now phantom:bbbb\).*the run restarts"):
        sweep_mod.prepare_checkpoints(tmp_path, "phantom:bbbb")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 2 and not (tmp_path / "last.pt").exists()
    assert any(n.startswith("last.stale-") for n in names)


def test_a_checkpoint_without_a_data_identity_is_not_resumed(tmp_path):
    _tiny_checkpoints(tmp_path)  # as written before checkpoints recorded their data
    with pytest.warns(UserWarning, match=r"records no data identity \(written before ggcam kept "
                                         r"one; the data now is phantom:bbbb\).*the run restarts"):
        sweep_mod.prepare_checkpoints(tmp_path, "phantom:bbbb")
    assert not (tmp_path / "last.pt").exists() and not (tmp_path / "best.pt").exists()


def test_resuming_on_other_data_is_an_error(tmp_path):
    again = _one_epoch_in(tmp_path, data_id="a")
    assert load_checkpoint(tmp_path / "last.pt")["data_id"] == "a"
    with pytest.raises(ValueError, match=r"last\.pt was trained on other data \(data identity a, now b\)"):
        again(resume=True, data_id="b")


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """One finished ``ggcam train`` of resnet18 × ggcam on the smoke phantom (made here)."""
    root = tmp_path_factory.mktemp("smoke")
    argv = ["train", *SMOKE, "--network", "resnet18", "--variant", "ggcam",
            "--work", root / "work", "--results", root / "results"]
    rc = main([str(a) for a in argv])
    assert rc == 0
    return SimpleNamespace(root=root, argv=argv, ckpt=root / "work" / "checkpoints" / "smoke" / RUN_ID,
                           record=root / "results" / "smoke" / "runs" / f"{RUN_ID}.json")


def test_run_record_holds_threads_and_commit(smoke_run):
    rec = json.loads(smoke_run.record.read_text())
    assert rec["threads"] == 1 and rec["data_origin"] == "phantom"
    assert re.fullmatch(r"[0-9a-f]{7,40}(\+dirty)?|unknown", rec["commit"])


def test_rerun_retrains_a_stored_run_to_identical_logits(smoke_run, capsys):
    where = ["--results", smoke_run.root / "results", "--work", smoke_run.root / "work"]
    rc, out, err = _cli(["rerun", "--profile", "smoke", RUN_ID, *where, "--quiet"], capsys)
    assert rc == 0, err
    assert out.startswith(f"{RUN_ID}: made at ") and "identical test logits" in out
    # A record whose configuration the profile no longer trains is refused, by name.
    rec = json.loads(smoke_run.record.read_text())
    edited = smoke_run.root / "edited" / "smoke" / "runs"
    edited.mkdir(parents=True)
    (edited / f"{RUN_ID}.json").write_text(json.dumps({**rec, "config_hash": "0000000000"}))
    rc, out, err = _cli(["rerun", "--profile", "smoke", RUN_ID, "--results", smoke_run.root / "edited",
                         "--work", smoke_run.root / "work", "--quiet"], capsys)
    assert rc == 2 and "now trains configuration" in err and "0000000000" in err


def test_truncated_last_pt_is_set_aside_and_the_run_restarts(smoke_run, capsys):
    last = smoke_run.ckpt / "last.pt"
    last.write_bytes(last.read_bytes()[:4096])
    rc, out, err = _cli([*smoke_run.argv, "--resume"], capsys)
    assert rc == 0, err
    assert re.search(rf"UserWarning: cannot read checkpoint {re.escape(str(last))}: .*; moved to "
                     r"last\.corrupt-\d+, the run restarts", err)
    assert load_checkpoint(last)["epoch"] == 2 and RUN_ID in out
    assert list(smoke_run.ckpt.glob("last.corrupt-*"))  # kept for a look, not deleted


def test_pickled_code_in_last_pt_never_runs_in_train_resume(smoke_run, tmp_path):
    marker = tmp_path / "payload-ran"
    last = smoke_run.ckpt / "last.pt"
    _malicious(last, marker)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "ggcam", *map(str, smoke_run.argv), "--resume"],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not marker.exists()
    assert f"cannot read checkpoint {last}: UnpicklingError" in proc.stderr
    # The file really carried code: the unsafe load runs it.
    torch.load(sorted(smoke_run.ckpt.glob("last.corrupt-*"))[-1], weights_only=False)
    assert marker.exists()


def test_pickled_code_in_the_work_folder_never_runs_in_sweep(smoke_run, tmp_path, monkeypatch, capsys):
    ran = []
    monkeypatch.setattr(sweep_mod, "run_one", lambda spec, *a, **k: ran.append(spec.run_id))
    marker = tmp_path / "payload-ran"
    target = "resnet18__standard__s0"  # the first run of the smoke sweep
    folder = smoke_run.root / "work" / "checkpoints" / "smoke" / target
    folder.mkdir(parents=True, exist_ok=True)
    _malicious(folder / "last.pt", marker)
    _malicious(folder / "best.pt", marker)
    rc, _, err = _cli(["sweep", *SMOKE, "--shard", "0/12", "--work", smoke_run.root / "work",
                       "--results", smoke_run.root / "results"], capsys)
    assert rc == 0 and ran == [target], err
    assert not marker.exists() and "UnpicklingError" in err
    assert not (folder / "last.pt").exists() and not (folder / "best.pt").exists()


def test_fresh_forgets_a_run(smoke_run, monkeypatch, capsys):
    target = "resnet18__standard__s0"
    record = smoke_run.root / "results" / "smoke" / "runs" / f"{target}.json"
    folder = smoke_run.root / "work" / "checkpoints" / "smoke" / target
    seen = {}

    def fake_run_one(spec, *a, **k):
        seen[spec.run_id] = (record.exists(), folder.exists())

    monkeypatch.setattr(sweep_mod, "run_one", fake_run_one)
    monkeypatch.setattr(sweep_mod, "is_done", lambda store, spec, *a: spec.run_id != target
                        and (store.path / "runs" / f"{spec.run_id}.json").is_file())
    base = ["sweep", *SMOKE, "--work", smoke_run.root / "work", "--results", smoke_run.root / "results"]
    for fresh in ([target], ["all"]):
        record.write_text("{}")
        _tiny_checkpoints(folder)
        rc, _, err = _cli([*base, "--shard", "0/12", "--fresh", *fresh], capsys)
        assert rc == 0 and seen == {target: (False, False)}, err
        seen.clear()


def test_temp_files_of_a_killed_writer_are_removed(tmp_path):
    """SIGKILL while ``atomic_torch_save`` writes: the old file is intact, a temp is left."""
    code = ("import sys, torch; from ggcam.runtime import atomic_torch_save\n"
            "x = {'w': torch.zeros(8_000_000)}\n"
            "while True: atomic_torch_save(x, sys.argv[1])\n")
    target = tmp_path / "last.pt"
    atomic_torch_save({"w": torch.ones(3)}, target)
    proc = subprocess.Popen([sys.executable, "-c", code, str(target)])
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob(".last.pt.*")) and time.monotonic() < deadline:
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert list(tmp_path.glob(".last.pt.*")), "the writer never got to write"
    assert torch.load(target, weights_only=True)["w"].numel() in (3, 8_000_000)
    (tmp_path / ".best.pt.x1y2").write_bytes(b"partial")
    target.unlink()
    _tiny_checkpoints(tmp_path)
    sweep_mod.prepare_checkpoints(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "last.pt"]


@pytest.mark.parametrize("bad, other", [("last.pt", "best.pt"), ("best.pt", "last.pt")])
def test_a_truncated_checkpoint_is_set_aside_with_a_warning(bad, other, tmp_path):
    _tiny_checkpoints(tmp_path)
    path = tmp_path / bad
    path.write_bytes(path.read_bytes()[:100])
    with pytest.warns(UserWarning, match=rf"cannot read checkpoint {re.escape(str(path))}: .*the run restarts"):
        sweep_mod.prepare_checkpoints(tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert not (tmp_path / "last.pt").exists() and not (tmp_path / "best.pt").exists()
    assert len(names) == 2  # the unreadable one and its (now stale) partner, both kept
    assert any(n.startswith(bad.replace(".pt", ".corrupt-")) for n in names)
    assert any(n.startswith(other.replace(".pt", ".stale-")) for n in names)
    sweep_mod.prepare_checkpoints(tmp_path)  # nothing left to trip on: a no-op
    assert len(list(tmp_path.iterdir())) == 2


def test_sweep_survives_a_truncated_checkpoint(smoke_run):
    """One real tiny sweep: its run has a truncated last.pt; it is set aside and the run done."""
    from dataclasses import replace

    from ggcam.experiment import Arm, get_profile

    profile = replace(get_profile("smoke"), name="tiny", arms=(Arm("ggcam", ("resnet18",), (0,)),),
                      doses=(), primary=("ggcam", "ggcam"))
    work, results = smoke_run.root / "work", smoke_run.root / "results"
    folder = work / "checkpoints" / "tiny" / RUN_ID
    folder.mkdir(parents=True)
    (folder / "last.pt").write_bytes((smoke_run.ckpt / "last.pt").read_bytes()[:5000])
    with pytest.warns(UserWarning, match=r"cannot read checkpoint .*tiny.*last\.pt"):
        runs = sweep_mod.run_sweep(profile, results_root=results, work_root=work, progress=False)
    assert list(runs["run_id"]) == [RUN_ID] and list(runs["epochs"]) == [2]
    assert load_checkpoint(folder / "last.pt")["epoch"] == 2


def test_ctrl_c_during_train_then_resume(smoke_run, capsys):
    """A real SIGINT after the first epoch: exit 130, the hint; --resume finishes the run."""
    argv = [a if a != "ggcam" else "standard" for a in map(str, smoke_run.argv)]
    ckpt = smoke_run.ckpt.parent / "resnet18__standard__s0"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "ggcam", *argv], stderr=subprocess.PIPE,
                            text=True, env=env)
    deadline = time.monotonic() + 300
    while not (ckpt / "last.pt").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the run finished before the signal arrived")
    assert proc.returncode == 130, err[-2000:]
    assert err.strip().splitlines()[-1] == ("ggcam train: interrupted; rerun with --resume to "
                                            "continue from the last finished epoch")
    first = load_checkpoint(ckpt / "last.pt")["epoch"]
    rc, _, err = _cli([*argv, "--resume"], capsys)
    assert rc == 0, err
    curves = pd.read_csv(smoke_run.root / "results" / "smoke" / "curves" / "resnet18__standard__s0.csv")
    assert first >= 1 and list(curves["epoch"]) == [1, 2]


def test_an_error_starts_on_a_line_of_its_own_after_a_progress_bar(monkeypatch, capsys):
    from tqdm import tqdm

    import ggcam.cli.commands as cli

    def interrupted(args):
        for i in tqdm(range(10), desc="work"):
            if i == 3:
                raise ValueError("boom")

    monkeypatch.setattr(cli, "_dispatch", interrupted)
    rc, _, err = _cli(["phantom", "--out", "x"], capsys)
    assert rc == 2 and err.splitlines()[-1] == "ggcam phantom: error: boom", err
