"""Which store a page reads when it names no profile (``ggcam.experiment.store_location``):
the best profile whose sweep is complete, so a study still training (or a GPU study cut short
by its deadline) never replaces a finished one on the book's pages."""

import pandas as pd
import pytest

from ggcam.experiment import RunRecord, get_profile, run_specs
from ggcam.experiment.store_location import is_complete, open_store


def _runs(root, profile, share=1.0):
    """``share`` of ``profile``'s planned runs as rows of its runs table."""
    specs = run_specs(get_profile(profile))
    rows = []
    for s in specs[:max(1, int(len(specs) * share))]:
        row = dict.fromkeys(RunRecord.columns())
        row.update(profile=profile, network=s.network, variant=s.variant, seed=s.seed,
                   run_id=s.run_id, status="ok", flags="", message="", learned=True,
                   data_origin="phantom", commit="abc", device="cpu", date="2026-01-01", threads=1)
        rows.append(row)
    (root / profile).mkdir(parents=True)
    pd.DataFrame(rows, columns=RunRecord.columns()).to_csv(root / profile / "runs.csv", index=False)


@pytest.mark.parametrize("stores, shown", [
    ({"cpu": 0.25, "cpu-v1": 1.0}, "cpu-v1"),  # the current study still training
    ({"cpu": 1.0, "cpu-v1": 1.0}, "cpu"),  # ... and once it is complete
    ({"gpu-fast": 0.1, "cpu": 1.0, "cpu-v1": 1.0}, "cpu"),  # a GPU study cut short
    ({"cpu": 0.25}, "cpu"),  # nothing complete: the best one under way
])
def test_the_book_shows_the_best_complete_study(tmp_path, stores, shown):
    for profile, share in stores.items():
        _runs(tmp_path, profile, share)
    assert open_store(None, tmp_path).profile == shown
    assert open_store("cpu", tmp_path).profile == "cpu"  # a named profile is read as it is


def test_completeness_counts_the_profiles_planned_runs(tmp_path):
    from ggcam.experiment import ResultsStore

    _runs(tmp_path, "smoke", 0.99)
    assert not is_complete(ResultsStore(tmp_path / "smoke"))
    (tmp_path / "smoke" / "runs.csv").unlink()
    (tmp_path / "smoke").rmdir()
    _runs(tmp_path, "smoke")
    assert is_complete(ResultsStore(tmp_path / "smoke"))


def test_a_section_about_arms_the_study_left_out_reads_the_study_that_trained_them(tmp_path):
    from ggcam.analysis.summary_store import borrowed_note

    _runs(tmp_path, "cpu")
    _runs(tmp_path, "cpu-v1")
    main = open_store(None, tmp_path)
    legacy = open_store(None, tmp_path, variants=("ggcam", "ggcam-legacy"))
    assert (main.profile, legacy.profile) == ("cpu", "cpu-v1")
    assert borrowed_note(legacy, main, "these arms") == (
        "The study the other pages show (`cpu`) does not train these arms (cut to fit its budget). "
        "This section reads the study that does, `cpu-v1` (`results/cpu-v1/`).")
    assert borrowed_note(main, main, "these arms") == ""
