"""Shared by the tests that run the ``ggcam`` command in-process or need git: the smoke
options, the command's (status, stdout, stderr), its one error line, and git."""

from __future__ import annotations

import os
import subprocess

import pytest

from ggcam.cli.commands import main

SMOKE = ["--profile", "smoke", "--threads", "1", "--quiet"]  # training on the smoke profile, one thread


def run_cli(argv, capsys) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``ggcam argv`` run in-process."""
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as err:  # argparse
        rc = err.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def one_error_line(err: str) -> str:
    """The single line a user error prints (warnings aside); fails on a traceback or more."""
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip() and "UserWarning" not in ln]
    assert len(lines) == 1, err
    return lines[0]


def git(cwd, *args) -> str:
    """``git args`` in ``cwd`` with a throwaway identity and no inherited GIT_* redirection."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd,
                          env=env, check=True, capture_output=True, text=True).stdout.strip()


needs_git = pytest.mark.skipif(subprocess.run(["git", "--version"], capture_output=True).returncode,
                               reason="git not installed")
