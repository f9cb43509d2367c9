"""The audit log of ``ggcam rerun`` (``ggcam.experiment.store_reruns``): ``reruns.csv`` keeps one
row per run and commit, refuses a file it cannot trust, and the book's sentence reads it.
The retraining itself is tested end to end in ``test_experiment_sweep.py``."""

from __future__ import annotations

import pytest

from ggcam.experiment.store import ResultsStore
from ggcam.experiment.store_reruns import record_rerun, recorded_reruns
from ggcam.experiment.verify import RerunReport
from ggcam.viz.figures import rerun_audits

RUN = "resnet18__standard__s3"


@pytest.fixture
def store(tmp_path):
    (tmp_path / "cpu" / "runs").mkdir(parents=True)
    (tmp_path / "cpu" / "runs" / f"{RUN}.json").write_text("{}")  # run_ids() reads the names
    return ResultsStore(tmp_path / "cpu")


def _report(commit_now="bbbbbbb", identical=True, diff=0.0, when="2026-12-07T10:00:00+00:00"):
    return RerunReport(RUN, "93ecd2d", commit_now, identical, diff, 0.746875, 0.746875 if identical else 0.75,
                       checked_utc=when)


def test_an_audit_of_the_same_run_at_the_same_commit_replaces_the_earlier_one(store):
    record_rerun(store, _report(identical=False, diff=2.5e-7))
    record_rerun(store, _report(when="2026-12-07T11:00:00+00:00"))
    record_rerun(store, _report(commit_now="ccccccc", when="2026-12-08T09:00:00+00:00"))
    audits = recorded_reruns(store)
    assert list(audits["commit_now"]) == ["bbbbbbb", "ccccccc"]
    assert list(audits["identical"]) == [True, True] and audits["max_abs_diff"].max() == 0.0


def test_the_book_sentence_names_commits_and_outcome(store):
    assert rerun_audits(store) == ("No run of the `cpu` sweep has been retrained with `ggcam rerun` "
                                   "and recorded yet.")
    record_rerun(store, _report(identical=False, diff=2.5e-7))
    text = rerun_audits(store)
    assert "(0 of 1 with identical logits)" in text
    assert (f"`{RUN}`: trained at `93ecd2d`, retrained at `bbbbbbb` on 2026-12-07: **different test "
            "logits** (largest difference 2.5e-07); test AUC 0.746875 then, 0.750000 now.") in text


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("auc_now,", "auc_later,"), r"reruns\.csv: no column auc_now"),
    (lambda t: t.replace(",True,", ",yes,"), r"column identical must be True or False, found 'yes'"),
    (lambda t: t.replace(f"{RUN},", "resnet18__standard__s9,"), r"run resnet18__standard__s9 is not a run of"),
])
def test_a_reruns_file_that_cannot_be_trusted_is_refused_by_name(store, edit, message):
    path = record_rerun(store, _report())
    path.write_text(edit(path.read_text()))
    with pytest.raises(ValueError, match=message):
        recorded_reruns(store)
