"""Shared fixtures: a small phantom EGD-CXR, written once per test session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def phantom_root(tmp_path_factory) -> dict:
    """``make_phantom``'s dict for 12 images at scale 0.05 (≈153×127 px), seed 0.

    Read-only: a test that edits files copies them first (see ``tests/test_data_egdcxr.py``).
    """
    from ggcam.data import make_phantom

    root = tmp_path_factory.mktemp("phantom")
    return make_phantom(root, n_images=12, scale=0.05, seed=0, workers=1, progress=False)


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module of small forwards: on a busy 2-core machine a second
    OpenMP thread only spins against the first (10-40× slower). Restored afterwards."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def phantom_copy(phantom_root, tmp_path) -> dict:
    """A writable copy of the whole ``phantom_root`` folder (release, DICOMs, truth, marker).

    Same keys as ``make_phantom``'s dict plus ``root``; for tests that edit or delete files.
    """
    import shutil
    from pathlib import Path

    src = Path(phantom_root["egd_root"]).parents[1]
    root = Path(shutil.copytree(src, tmp_path / "phantom-copy"))
    return {"root": root, "egd_root": root / "egd-cxr" / "1.0.0",
            "mimic_root": root / "mimic-cxr" / "2.0.0", "truth_path": root / "phantom-truth.csv"}
