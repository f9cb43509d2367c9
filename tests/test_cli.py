"""The ``ggcam`` command (``ggcam.cli.commands``, ``ggcam.cli.parser``): a user error is one line
on stderr and exit status 2, before any work; Ctrl-C exits 130 with how to resume; results of
real data are git-ignored. The cases run ``main`` in-process (stderr through ``capsys``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest
import torch
from cli_helpers import SMOKE, git, needs_git, one_error_line, run_cli

import ggcam.experiment.sweep as sweep_mod

pytestmark = pytest.mark.usefixtures("one_torch_thread")


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
    rc, out, err = run_cli(argv, capsys)
    assert rc == 2 and out == ""
    line = one_error_line(err)
    assert line.startswith(f"ggcam {argv[0]}: error: ") and re.search(needle, line), line
    # Nothing given was touched.
    assert (tmp_path / "afile").read_text() == "keep me"
    assert (tmp_path / "nonempty" / "notes.txt").read_text() == "keep me"
    assert (data / "egd-cxr" / "1.0.0" / "master_sheet.csv").is_file()


def test_unwritable_results_fail_before_training(tmp_path, capsys, no_training):
    argv = ["sweep", *SMOKE, "--work", tmp_path / "w"]
    if Path("/proc/self").is_dir():  # not writable even by root
        rc, _, err = run_cli([*argv, "--results", "/proc/ggcam-results"], capsys)
        assert rc == 2 and "cannot write to /proc/ggcam-results/smoke" in one_error_line(err)
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        for command in ("sweep", "train"):
            rc, _, err = run_cli([command, *argv[1:], "--results", locked], capsys)
            assert rc == 2 and f"cannot write to {locked / 'smoke'}" in one_error_line(err)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("command", ["train", "sweep"])
def test_cuda_without_a_gpu(command, tmp_path, capsys, no_training):
    rc, _, err = run_cli([command, *SMOKE, "--work", tmp_path, "--results", tmp_path,
                       "--device", "cuda:1"], capsys)
    assert rc == 2 and "--device cuda:1: torch sees no CUDA GPU" in one_error_line(err)


@pytest.mark.parametrize("command, hint", [
    ("train", "rerun with --resume to continue from the last finished epoch"),
    ("sweep", "rerun the same command without --fresh to resume (finished runs are kept)"),
])
def test_ctrl_c_exits_130_and_says_how_to_resume(command, hint, tmp_path, monkeypatch, capsys):
    def interrupted(*a, **k):
        raise KeyboardInterrupt

    from ggcam.experiment import data as data_mod
    from ggcam.experiment import run as run_mod

    monkeypatch.setattr(sweep_mod, "run_sweep", interrupted)
    monkeypatch.setattr(run_mod, "run_one", interrupted)
    monkeypatch.setattr(data_mod, "ProfileData", interrupted)
    rc, _, err = run_cli([command, *SMOKE, "--work", tmp_path, "--results", tmp_path], capsys)
    assert rc == 130 and err == f"ggcam {command}: interrupted; {hint}\n"


def test_an_error_starts_on_a_line_of_its_own_after_a_progress_bar(monkeypatch, capsys):
    from tqdm import tqdm

    import ggcam.cli.commands as cli

    def interrupted(args):
        for i in tqdm(range(10), desc="work"):
            if i == 3:
                raise ValueError("boom")

    monkeypatch.setattr(cli, "_dispatch", interrupted)
    rc, _, err = run_cli(["phantom", "--out", "x"], capsys)
    assert rc == 2 and err.splitlines()[-1] == "ggcam phantom: error: boom", err


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
    git(tmp_path, "init", "-q")
    rc, _, err = run_cli([*argv, "--results", tmp_path / "results"], capsys)
    assert rc == 0 and calls == [False], err  # phantom data: committed as usual
    monkeypatch.setattr(roots, "is_phantom", lambda *a, **k: False)  # now it reads as real
    rc, _, err = run_cli([*argv, "--results", tmp_path / "results"], capsys)
    assert rc == 0 and calls == [False, True], err
    assert (tmp_path / "results" / "smoke" / ".gitignore").read_text().endswith("*\n")
    probe = tmp_path / "results" / "smoke" / "runs" / "x.json"
    probe.parent.mkdir(parents=True)
    probe.write_text("{}")
    assert git(tmp_path, "status", "--porcelain", "--untracked-files=all") == ""
