"""The first study's limits, measured from its records (``ggcam.analysis.first_study``)."""

import pandas as pd

from ggcam.analysis import first_study
from ggcam.experiment import ResultsStore, RunRecord


def _store(tmp_path, profile="cpu-v1"):
    store = ResultsStore(tmp_path / profile)
    (store.path / "predictions").mkdir(parents=True)
    rows = []
    for s, ids in enumerate((["a", "b", "c", "d"], ["a", "b", "x", "y"], ["a", "z", "w", "v"])):
        for variant, best, commit in (("standard", 5, "abc"), ("ggcam-warm", 12, "def+dirty")):
            rid = f"resnet18__{variant}__s{s}"
            pd.DataFrame({"dicom_id": ids, "label": [0, 1, 2, 0], "logit_0": 0.0, "logit_1": 0.0,
                          "logit_2": 0.0}).to_csv(store.path / "predictions" / f"{rid}.csv", index=False)
            row = dict.fromkeys(RunRecord.columns())
            row.update(profile=profile, network="resnet18", variant=variant, seed=s, run_id=rid,
                       status="ok", best_epoch=best, epochs=12, stop_reason="max_epochs",
                       commit=commit, learned=True, learned_reason="ok", data_origin="phantom")
            rows.append(row)
    pd.DataFrame(rows, columns=RunRecord.columns()).to_csv(store.path / "runs.csv", index=False)
    return store


def test_the_limits_are_measured_from_the_runs(tmp_path):
    store = _store(tmp_path)
    runs = pd.read_csv(store.path / "runs.csv")
    # pairs share 2, 1 and 1 of 4 test images: (0.5 + 0.25 + 0.25) / 3
    assert first_study.shared_test_share(store, runs) == 1 / 3
    text = first_study.limits_markdown(store)
    assert text.startswith(":::{admonition} What this study cannot tell")
    assert "test sets share 33% of their images" in text
    assert "100% of its GG-CAM-type runs chose an epoch in the last fifth of their 12-epoch budget (standard: 0%)" in text
    assert "Its 6 runs were made at 2 commits, 3 of them from a working tree" in text


def test_a_study_of_independent_replicates_has_no_such_box(tmp_path):
    assert first_study.limits_markdown(_store(tmp_path, "cpu")) == ""


def test_a_section_borrowing_the_first_studys_arms_states_its_limits_and_the_budget_result(tmp_path):
    store = _store(tmp_path)
    runs = pd.read_csv(store.path / "runs.csv")
    extra = runs[runs["variant"] == "ggcam-warm"].assign(
        variant="ggcam", run_id=lambda d: d["run_id"].str.replace("ggcam-warm", "ggcam"),
        w_sm_final=[1e17, 2e17, 3e17], w_ce_final=[1.0, 1.0, 1.0])
    pd.concat([runs, extra]).to_csv(store.path / "runs.csv", index=False)
    main = _store(tmp_path, "cpu")
    note = first_study.borrowed_with_limits(store, main, "these arms")
    assert note.startswith("The study the other pages show (`cpu`) does not train these arms")
    assert "re-split one pool of 800 images per seed" in note and "trained 12 epochs" in note
    assert "(`ggcam` 2e17 times; medians over its ResNet18 runs): in 12 epochs at learning rate" in note
    assert note.endswith("so where they did not learn, that is a result of the budget, not of the method.")
    assert first_study.borrowed_with_limits(store, store, "these arms") == ""  # not borrowed
    assert first_study.borrowed_limits(main) == ""  # independent replicates: nothing to add
