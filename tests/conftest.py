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
