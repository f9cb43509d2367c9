"""ggcam.runtime: workers and threads never exceed what the machine has; a run records the
commit of the code that ran; atomic writes leave the usual file mode and no committed temp."""

import os
import stat
import subprocess
from pathlib import Path

import pytest
import torch
from cli_helpers import git, needs_git

import ggcam
from ggcam import runtime
from ggcam.runtime import atomic_torch_save, atomic_write_text, git_commit


def test_usable_cpus_follows_the_affinity_mask():
    assert runtime.usable_cpus() == len(os.sched_getaffinity(0))


def test_capped_warns_and_caps_at_the_cores_and_the_jobs(monkeypatch):
    monkeypatch.setattr(runtime, "usable_cpus", lambda: 2)
    assert runtime.capped(2, "threads") == 2
    with pytest.warns(UserWarning, match="threads: 400 asked for, 2 used"):
        assert runtime.capped(400, "threads") == 2
    with pytest.warns(UserWarning, match="phantom workers: 64 asked for, 1 used .*1 jobs"):
        assert runtime.capped(64, "phantom workers", items=1) == 1


def test_a_phantom_of_two_images_starts_no_pool_of_64(tmp_path, monkeypatch):
    from ggcam.data.phantom import generate

    started = []
    real_pool = generate.multiprocessing.get_context().Pool

    class Context:
        def Pool(self, n, *a, **k):
            started.append(n)
            return real_pool(n, *a, **k)

    monkeypatch.setattr(generate.multiprocessing, "get_context", lambda: Context())
    with pytest.warns(UserWarning, match="phantom workers: 64 asked for"):
        generate.make_phantom(tmp_path / "p", n_images=2, scale=0.04, workers=64, progress=False)
    assert started == [min(2, runtime.usable_cpus())] or (started == [] and runtime.usable_cpus() == 1)


def _repo(path: Path) -> str:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q")
    (path / "a.txt").write_text("a\n")
    git(path, "add", "a.txt")
    git(path, "commit", "-qm", "a")
    return git(path, "rev-parse", "--short", "HEAD")


@needs_git
def test_git_commit_asks_the_package_folder_not_the_cwd(tmp_path, monkeypatch):
    other = _repo(tmp_path / "other")
    monkeypatch.chdir(tmp_path / "other")
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "other" / ".git"))  # no redirect either
    package = Path(ggcam.__file__).parent
    try:
        want = git(package, "rev-parse", "--short", "HEAD")
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
    git(repo, "checkout", "--", "a.txt")
    (repo / "new.py").write_text("x = 1\n")
    assert git_commit(repo) == f"{head}+dirty"  # untracked code beside it
    (repo / "new.py").unlink()
    # A copy installed in an ignored folder of some repository is not that repository's code.
    (repo / ".gitignore").write_text("/venv/\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-qm", "ignore")
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
