"""Which store a page reads when it names no profile (``ggcam.experiment.store_location``):
the best profile whose confirmatory runs are all in, so a study still training its compared
arms (or a GPU study cut short by its deadline) never replaces a finished one on the book's
pages, while one whose dose-response points are still training already does."""

import pandas as pd
import pytest

from ggcam.experiment import RunRecord, get_profile, run_specs
from ggcam.experiment.store_location import (
    answers_its_questions,
    confirmatory_run_ids,
    is_complete,
    open_store,
)


def _runs(root, profile, share=1.0):
    """``share`` of ``profile``'s planned runs (in sweep order) as rows of its runs table;
    ``share="base"``: its confirmatory runs and nothing else."""
    specs = run_specs(get_profile(profile))
    if share == "base":
        specs = [s for s in specs if s.run_id in confirmatory_run_ids(get_profile(profile))]
    else:
        specs = specs[:max(1, int(len(specs) * share))]
    rows = []
    for s in specs:
        row = dict.fromkeys(RunRecord.columns())
        row.update(profile=profile, network=s.network, variant=s.variant, seed=s.seed,
                   run_id=s.run_id, status="ok", flags="", message="", learned=True,
                   data_origin="phantom", commit="abc", device="cpu", date="2026-01-01", threads=1)
        rows.append(row)
    (root / profile).mkdir(parents=True)
    pd.DataFrame(rows, columns=RunRecord.columns()).to_csv(root / profile / "runs.csv", index=False)


@pytest.mark.parametrize("stores, shown", [
    ({"cpu": 0.25, "cpu-v1": 1.0}, "cpu-v1"),  # the current study still training
    ({"cpu": 0.5, "cpu-v1": 1.0}, "cpu-v1"),  # ... one run short of its compared arms
    ({"cpu": "base", "cpu-v1": 1.0}, "cpu"),  # ... its compared arms in, the dose points training
    ({"cpu": 1.0, "cpu-v1": 1.0}, "cpu"),  # ... and once it is complete
    ({"gpu-fast": 0.1, "cpu": 1.0, "cpu-v1": 1.0}, "cpu"),  # a GPU study cut short
    ({"cpu": 0.25}, "cpu"),  # nothing complete: the best one under way
])
def test_the_book_shows_the_best_study_whose_comparisons_are_final(tmp_path, stores, shown):
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


def test_the_confirmatory_runs_are_every_replicate_of_the_compared_arms_at_the_base_point():
    cpu = get_profile("cpu")
    ids = confirmatory_run_ids(cpu)
    specs = run_specs(cpu)
    compared = {v for f in cpu.families for pair in f.comparisons for v in pair}
    assert ids == {s.run_id for s in specs if s.is_base and s.variant in compared}
    assert len(ids) == 40 and len(specs) == 76  # 5 arms x 8 replicates; the rest are dose points
    assert all(s.is_base for s in specs[:40]) and not any(s.is_base for s in specs[40:])
    # a profile without fixed families (the paper's) counts every planned run
    assert confirmatory_run_ids(get_profile("paper")) == {s.run_id for s in run_specs(get_profile("paper"))}


def test_the_shown_store_says_whether_its_numbers_are_final(tmp_path):
    from ggcam.analysis.headline import short_provenance
    from ggcam.experiment import ResultsStore

    _runs(tmp_path, "cpu", "base")
    store = ResultsStore(tmp_path / "cpu")
    assert answers_its_questions(store) and not is_complete(store)
    assert short_provenance(store).startswith(
        "From `results/cpu/`: 40 runs on the phantom, not the paper's data (76 planned). Every run of "
        "its fixed comparisons is in, so their numbers are final; its dose–response points are still "
        "training (0 of 36 runs). [How and when")
    _runs(tmp_path, "cpu-v1", 0.5)  # a study still training its compared arms
    assert "runs on the phantom, not the paper's data (66 planned: an interim look, the sweep is " \
           "still running). [How" in short_provenance(ResultsStore(tmp_path / "cpu-v1"))


def test_the_page_names_the_study_still_training_until_the_book_moves_to_it(tmp_path):
    from ggcam.analysis.headline import running_study_line

    _runs(tmp_path, "cpu", 0.25)
    _runs(tmp_path, "cpu-v1")
    shown = open_store(None, tmp_path)
    assert shown.profile == "cpu-v1"
    assert ("(profile `cpu`) is running: 19 of 76 runs done; the book moves to it once every run "
            "of its fixed comparisons is in") in running_study_line("cpu", shown, tmp_path)
    assert running_study_line("cpu", open_store("cpu", tmp_path), tmp_path) == ""
