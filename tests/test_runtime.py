"""ggcam.runtime: workers and threads never exceed what the machine has."""

import os

import pytest

from ggcam import runtime


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
