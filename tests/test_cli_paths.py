"""The command line never writes inside the data it reads, and names the place it failed to
write (issue 22).

The README promises the data root is never written to; before these checks ``--results``,
``--work``, ``--cache``, ``--out`` or an Optuna ``--storage`` file could point inside
``--data-root`` (or its ``--mimic-root``), and the defaults did whenever a command ran from
inside the data. A full disk said "No space left on device" without saying where.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

import pytest

import ggcam.experiment.sweep as sweep_mod
from ggcam.cli.commands import main


@pytest.fixture
def data(phantom_root) -> Path:
    return Path(phantom_root["egd_root"]).parents[1]


@pytest.fixture
def no_work(monkeypatch):
    """Any training, sweep, tuning, rerun or generation fails the test: the error must come first."""
    def boom(*a, **k):
        raise AssertionError("work started before the error")

    for name in ("run_one", "ProfileData", "run_sweep"):
        monkeypatch.setattr(sweep_mod, name, boom)
    for target in ("ggcam.data.make_phantom", "ggcam.data.prepare", "ggcam.tune.search.tune",
                   "ggcam.experiment.verify.rerun"):
        monkeypatch.setattr(target, boom)


def _tree(folder: Path) -> list[str]:
    return sorted(os.path.relpath(os.path.join(d, n), folder)
                  for d, dirs, files in os.walk(folder) for n in dirs + files)


def _cli(argv, capsys) -> tuple[int, str]:
    rc = main([str(a) for a in argv])
    return rc, capsys.readouterr().err


SMOKE = ["--profile", "smoke", "--quiet"]
CASES = [
    (["sweep", *SMOKE, "--data-root", "{data}", "--results", "{data}/results", "--work", "{tmp}/w"],
     r"--results {data}/results is inside --data-root {data}"),
    (["train", *SMOKE, "--data-root", "{data}", "--results", "{tmp}/r", "--work", "{data}/egd-cxr/w"],
     r"--work {data}/egd-cxr/w is inside --data-root {data}"),
    (["train", *SMOKE, "--data-root", "{data}", "--mimic-root", "{data}/mimic-cxr/2.0.0",
      "--results", "{data}/mimic-cxr/2.0.0/files", "--work", "{tmp}/w"],
     r"--results .*files is inside --data-root {data}"),
    (["sweep", *SMOKE, "--data-root", "{tmp}/link", "--results", "{data}/r", "--work", "{tmp}/w"],
     r"--results {data}/r is inside --data-root {tmp}/link"),  # through a symlink
    (["rerun", "resnet18__ggcam__s0", "--profile", "smoke", "--data-root", "{data}",
      "--results", "{tmp}/r", "--work", "{data}"], r"--work {data} is inside --data-root {data}"),
    (["prepare", "--egd-root", "{data}/egd-cxr/1.0.0", "--mimic-root", "{data}/mimic-cxr/2.0.0",
      "--cache", "{data}/mimic-cxr/2.0.0/cache"], r"--cache .*/cache is inside --mimic-root"),
    (["tune", *SMOKE, "--data-root", "{data}", "--results", "{tmp}/r", "--work", "{tmp}/w",
      "--storage", "sqlite:///{data}/t.sqlite3"], r"--storage {data}/t\.sqlite3 is inside --data-root"),
    (["sweep", *SMOKE, "--results", "{tmp}/w/phantom/n24/egd-cxr", "--work", "{tmp}/w"],
     r"--results .*/w/phantom/n24/egd-cxr is inside .*/w/phantom, the data this command generates"),
    (["tune", *SMOKE, "--data-root", "{data}", "--results", "{tmp}/r", "--work", "{tmp}/w",
      "--storage", "journal://{data}/egd-cxr/1.0.0/study.log"],
     r"--storage {data}/egd-cxr/1\.0\.0/study\.log is inside --data-root"),
]


@pytest.mark.parametrize("argv, needle", CASES, ids=[" ".join(map(str, a[:1] + a[-2:])) for a, _ in CASES])
def test_outputs_inside_the_data_are_refused(argv, needle, data, tmp_path, capsys, no_work):
    (tmp_path / "link").symlink_to(data, target_is_directory=True)
    before = _tree(data)
    names = {"data": data, "tmp": tmp_path}
    rc, err = _cli([a.format(**names) for a in argv], capsys)
    assert rc == 2 and "Traceback" not in err, err
    assert re.search(needle.format(**{k: re.escape(str(v)) for k, v in names.items()}), err), err
    assert _tree(data) == before


def test_default_outputs_from_inside_the_data_are_refused(data, capsys, monkeypatch, no_work):
    monkeypatch.chdir(data)  # --results results and --work .cache would land in the data
    rc, err = _cli(["sweep", *SMOKE, "--data-root", "."], capsys)
    assert rc == 2 and re.search(r"--results results is inside --data-root \.", err), err


def test_outputs_beside_the_data_are_fine(data, tmp_path, capsys, monkeypatch):
    calls = []
    monkeypatch.setattr(sweep_mod, "run_sweep", lambda *a, **k: calls.append(k) or [])
    rc, err = _cli(["sweep", *SMOKE, "--data-root", data, "--results", tmp_path / "r",
                    "--work", tmp_path / "w"], capsys)
    assert rc == 0 and len(calls) == 1, err


def test_a_full_disk_names_where_the_command_was_writing(tmp_path, capsys, monkeypatch):
    def full(*a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as write() reports it: no path

    monkeypatch.setattr("ggcam.data.make_phantom", full)
    rc, err = _cli(["phantom", "--out", tmp_path / "p", "--n", "3", "--scale", "0.02"], capsys)
    assert rc == 2
    assert err.strip() == (f"ggcam phantom: error: while writing under --out {tmp_path / 'p'}: "
                           f"{os.strerror(errno.ENOSPC)}"), err


@pytest.mark.parametrize("argv", [
    ["train", "--profile", "smoke", "--network", "resnet18", "--variant", "standard", "--work", "LOOP"],
    ["sweep", "--profile", "smoke", "--results", "LOOP"],
    ["prepare", "--egd-root", "e", "--mimic-root", "m", "--cache", "LOOP"],
    ["tune", "--profile", "smoke", "--network", "resnet18", "--variant", "standard", "--work", "LOOP"],
])
def test_a_symlink_loop_is_named_not_a_traceback(argv, tmp_path, capsys):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    loop = str(tmp_path / "a")
    with pytest.raises(SystemExit) as stop:  # argparse's usage error
        main([loop if a == "LOOP" else a for a in argv])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert f"{loop}: a loop of symbolic links" in err and "Traceback" not in err
