"""The sweep and a stored run end to end (``ggcam.experiment.sweep``, ``run``, ``verify``):
checkpoints of other data, truncated or carrying pickled code are set aside and never
unpickled; a run resumes after Ctrl-C, ``--fresh`` forgets it, ``rerun`` retrains it to the same
logits. Training uses the ``smoke`` profile, one thread, in ``tmp_path``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import torch
from cli_helpers import SMOKE, run_cli
from torch import nn

import ggcam.experiment.sweep as sweep_mod
from ggcam.checkpoint import load_checkpoint, save_checkpoint
from ggcam.cli.commands import main
from ggcam.runtime import atomic_torch_save

pytestmark = pytest.mark.usefixtures("one_torch_thread")

RUN_ID = "resnet18__ggcam__s0"


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
    rc, out, err = run_cli(["rerun", "--profile", "smoke", RUN_ID, *where, "--quiet"], capsys)
    assert rc == 0, err
    assert out.startswith(f"{RUN_ID}: made at ") and "identical test logits" in out
    audits = pd.read_csv(smoke_run.root / "results" / "smoke" / "reruns.csv")  # kept for the book
    assert list(audits["run_id"]) == [RUN_ID] and bool(audits["identical"].iloc[0])
    assert audits["auc_then"].iloc[0] == json.loads(smoke_run.record.read_text())["auc_ovo"]
    # A record whose configuration the profile no longer trains is refused, by name.
    rec = json.loads(smoke_run.record.read_text())
    edited = smoke_run.root / "edited" / "smoke" / "runs"
    edited.mkdir(parents=True)
    (edited / f"{RUN_ID}.json").write_text(json.dumps({**rec, "config_hash": "0000000000"}))
    rc, out, err = run_cli(["rerun", "--profile", "smoke", RUN_ID, "--results", smoke_run.root / "edited",
                         "--work", smoke_run.root / "work", "--quiet"], capsys)
    assert rc == 2 and "now trains configuration" in err and "0000000000" in err


def test_truncated_last_pt_is_set_aside_and_the_run_restarts(smoke_run, capsys):
    last = smoke_run.ckpt / "last.pt"
    last.write_bytes(last.read_bytes()[:4096])
    rc, out, err = run_cli([*smoke_run.argv, "--resume"], capsys)
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
    rc, _, err = run_cli(["sweep", *SMOKE, "--shard", "0/12", "--work", smoke_run.root / "work",
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
        rc, _, err = run_cli([*base, "--shard", "0/12", "--fresh", *fresh], capsys)
        assert rc == 0 and seen == {target: (False, False)}, err
        seen.clear()


def test_a_data_failure_after_fresh_or_a_new_train_deletes_nothing(smoke_run, monkeypatch, capsys):
    """--fresh (and train without --resume) forget a run only once its data has loaded."""
    from ggcam.experiment.data import ProfileData

    target = "resnet18__standard__s0"
    record = smoke_run.root / "results" / "smoke" / "runs" / f"{target}.json"
    folder = smoke_run.root / "work" / "checkpoints" / "smoke" / target
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text("{}")
    _tiny_checkpoints(folder)
    kept = sorted(p.name for p in folder.iterdir())

    def unreadable(self, spec, config):
        raise ValueError("unreadable pixel data in DICOM file x.dcm")

    monkeypatch.setattr(ProfileData, "sets", unreadable)
    base = ["--work", smoke_run.root / "work", "--results", smoke_run.root / "results"]
    try:
        for argv in (["sweep", *SMOKE, "--shard", "0/12", "--fresh", target, *base],
                     ["train", *SMOKE, "--network", "resnet18", "--variant", "standard", "--seed", "0", *base]):
            rc, _, err = run_cli(argv, capsys)
            assert rc == 2 and "unreadable pixel data" in err
            assert record.exists() and sorted(p.name for p in folder.iterdir()) == kept
    finally:  # the shared smoke folders are other tests' too (one waits for this run's last.pt)
        shutil.rmtree(folder, ignore_errors=True)
        record.unlink(missing_ok=True)


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
    shutil.rmtree(ckpt, ignore_errors=True)  # the wait below is for this run's own last.pt
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
    rc, _, err = run_cli([*argv, "--resume"], capsys)
    assert rc == 0, err
    curves = pd.read_csv(smoke_run.root / "results" / "smoke" / "curves" / "resnet18__standard__s0.csv")
    assert first >= 1 and list(curves["epoch"]) == [1, 2]
    runs = pd.read_csv(smoke_run.root / "results" / "smoke" / "runs.csv").set_index("run_id")
    assert runs.loc["resnet18__standard__s0", "wall_s"] >= curves["seconds"].sum() - 0.1  # both processes


def test_a_resumed_runs_wall_time_includes_its_earlier_epochs():
    from ggcam.experiment.run import _resumed_seconds
    from ggcam.train import FitResult

    history = pd.DataFrame({"epoch": [1, 2, 3], "seconds": [10.0, 20.0, 30.0]})
    assert _resumed_seconds(FitResult(history, 3, 3, "max_epochs", resumed_epochs=2)) == 30.0
    assert _resumed_seconds(FitResult(history, 3, 3, "max_epochs")) == 0.0
    assert _resumed_seconds(None) == 0.0
