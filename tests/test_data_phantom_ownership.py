"""``ggcam phantom --force`` removes or replaces only what a phantom wrote (issue 22).

Its help promises "only folders a phantom wrote are replaced". Before these checks it deleted
any ``.phantom-*`` folder of a user (the generator's temporary folders are named so), its own
truth file name overwrote a user's file, and a user's file inside a phantom's folders went
with them. Ownership is now proven by the generator's own files: the marker beside the
release, and an owner file inside each temporary folder.
"""

from __future__ import annotations

import subprocess
import sys

from cli_helpers import run_cli

from ggcam.cli.commands import main
from ggcam.data.phantom.marker import TEMP_OWNER

ARGS = ["--n", "3", "--scale", "0.02", "--force"]


def _phantom(out, capsys) -> tuple[int, str]:
    rc = main(["phantom", "--out", str(out), *ARGS])
    return rc, capsys.readouterr().err


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_users_folder_named_like_a_temporary_one_stays(tmp_path, capsys):
    out = tmp_path / "d"
    mine = [out / ".phantom-notes", out / f".phantom-{_dead_pid()}-backup"]
    for folder in mine:
        folder.mkdir(parents=True)
        (folder / "data.txt").write_text("a user's file")
    rc, err = _phantom(out, capsys)
    assert rc == 0, err
    for folder in mine:
        assert (folder / "data.txt").read_text() == "a user's file"
        assert f"{folder}: left alone" in err and TEMP_OWNER in err
    assert (out / "egd-cxr" / "1.0.0" / "master_sheet.csv").is_file()


def test_a_stale_temporary_folder_of_the_generator_is_removed(tmp_path, capsys):
    out = tmp_path / "d"
    stale = out / f".phantom-{_dead_pid()}-x1y2"
    stale.mkdir(parents=True)
    (stale / TEMP_OWNER).write_text(f"{stale.name.split('-')[1]}\n")
    (stale / "egd-cxr").mkdir()
    rc, err = _phantom(out, capsys)
    assert rc == 0, err
    assert not stale.exists()
    assert sorted(p.name for p in out.iterdir()) == [".ggcam-phantom.json", "egd-cxr", "mimic-cxr",
                                                     "phantom-truth.csv"]


def test_a_users_file_of_the_truth_files_name_is_never_overwritten(tmp_path, capsys):
    out = tmp_path / "d"
    out.mkdir()
    (out / "phantom-truth.csv").write_text("my own table\n")
    rc, err = _phantom(out, capsys)
    assert rc == 2 and "phantom-truth.csv" in err and "left alone" in err, err
    assert (out / "phantom-truth.csv").read_text() == "my own table\n"
    assert not (out / "egd-cxr").exists()


def test_a_users_file_inside_a_phantoms_folders_is_never_deleted(tmp_path, capsys):
    out = tmp_path / "d"
    rc, err = _phantom(out, capsys)
    assert rc == 0, err
    rc, err = _phantom(out, capsys)  # a phantom over a phantom: its own files only
    assert rc == 0, err
    notes = out / "egd-cxr" / "1.0.0" / "my-notes.txt"
    notes.write_text("keep me")
    rc, err = _phantom(out, capsys)
    assert rc == 2 and f"{notes}: {out} holds a file no phantom writes" in err, err
    assert notes.read_text() == "keep me"
    link = out / "mimic-cxr" / "2.0.0" / "files" / "mine"
    notes.unlink()
    link.symlink_to(tmp_path, target_is_directory=True)  # a link to someone's folder
    rc, err = _phantom(out, capsys)
    assert rc == 2 and f"{link}: " in err, err
    assert link.is_symlink()
    link.unlink()
    empty = out / "egd-cxr" / "1.0.0" / "my_empty_notes"  # a phantom writes no empty folder
    empty.mkdir()
    rc, err = _phantom(out, capsys)
    assert rc == 2 and f"{empty}: " in err, err
    assert empty.is_dir()


def test_phantom_force_writes_beside_a_users_files_but_never_over_them(tmp_path, capsys):
    foreign = tmp_path / "d" / "egd-cxr" / "mine.txt"
    foreign.parent.mkdir(parents=True)
    foreign.write_text("a user's file")
    (tmp_path / "d" / "notes.txt").write_text("notes")
    argv = ["phantom", "--out", tmp_path / "d", "--n", "6", "--scale", "0.02", "--force"]
    rc, _, err = run_cli(argv, capsys)
    assert rc == 2 and "was not written by make_phantom" in err and "left alone" in err
    assert foreign.read_text() == "a user's file"
    foreign.parent.rename(tmp_path / "kept")  # the user moves their folder away
    rc, _, err = run_cli(argv, capsys)
    assert rc == 0, err
    assert (tmp_path / "d" / "notes.txt").read_text() == "notes"
    assert (tmp_path / "d" / "egd-cxr" / "1.0.0" / "master_sheet.csv").is_file()
