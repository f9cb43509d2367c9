"""The front page's "What this study cannot tell" box for a study of independent replicates,
measured from its records and curves (``ggcam.analysis.study_limits``)."""

import pandas as pd
import pytest

from ggcam.analysis import study_limits
from ggcam.experiment import ResultsStore, RunRecord, get_profile

PROFILE = get_profile("cpu")


def _store(tmp_path, std_peaks=(12.0, 2.0, 6.0), std_learned=(False, True, True), warm_best=(30, 29, 10),
           shuffled=None, shuffled_learned=(True, True, True)):
    """Three replicates of the primary pair on the cpu profile's base point: standard stops
    early (AUC 0.75); ggcam-warm keeps ``warm_best`` of 30 epochs (AUC 0.85, 0.86, 0.87); each
    run's validation cross-entropy peaks once (standard at ``std_peaks``, ggcam-warm at 1.5);
    with ``shuffled``, the wrong-gaze control's AUC per seed."""
    store = ResultsStore(tmp_path / "cpu")
    (store.path / "curves").mkdir(parents=True)
    rows = []
    for s in range(3):
        arms = [("standard", 4, "early_stop", std_learned[s], 0.75, std_peaks[s]),
                ("ggcam-warm", warm_best[s], "max_epochs", True, 0.85 + 0.01 * s, 1.5)]
        if shuffled:
            arms.append(("ggcam-shuffled", 20, "early_stop", shuffled_learned[s], shuffled[s], 1.5))
        for variant, best, stop, learned, auc, peak in arms:
            rid = f"resnet18__{variant}__s{s}"
            row = dict.fromkeys(RunRecord.columns())
            row.update(profile="cpu", network="resnet18", variant=variant, seed=s, run_id=rid,
                       status="ok", best_epoch=best, epochs=30, stop_reason=stop, learned=learned,
                       learned_reason="ok", data_origin="phantom", n_train=400, informativeness=0.6,
                       auc_ovo=auc, auc_ovo_last=auc - 0.01, auc_ovo_low=0.6,
                       **{f"recall_{k}": 0.5 for k in ("normal", "chf", "pneumonia")})
            rows.append(row)
            pd.DataFrame({"epoch": [1, 2, 3], "val_ce": [1.0, peak, 1.0], "seconds": 30.0,
                          "run_id": rid}).to_csv(store.path / "curves" / f"{rid}.csv", index=False)
    pd.DataFrame(rows, columns=RunRecord.columns()).to_csv(store.path / "runs.csv", index=False)
    return store


def test_the_box_measures_the_budget_the_replicates_and_the_baseline(tmp_path):
    text = study_limits.limits_markdown(_store(tmp_path))
    assert text.startswith(":::{admonition} What this study cannot tell\n:class: note")
    # 3 standard early stops + 1 of 3 ggcam-warm before epoch 24: 4 of 6
    assert "Only 67% of the 6 runs of the primary comparison (standard 100%, GG-CAM 33%)" in text
    assert "**3 paired replicates (the design asked for 10).**" in text
    assert "smallest p an exact sign-flip test can give is 2/8 = 0.2500" in text
    assert "these families cannot reach p < 0.05 at all" in text and "controls (8 tests)" in text
    assert "1 of 3 standard runs did not learn by the study's bar. Standard's validation" in text
    assert "a run's largest has median 6.0 over replicates, against 1.5 for GG-CAM" in text
    assert "**Simulated images and a simulated reader.**" in text


def test_items_that_do_not_apply_are_left_out(tmp_path):
    store = _store(tmp_path, std_peaks=(1.6, 1.6, 1.6), std_learned=(True, True, True), warm_best=(5, 6, 7))
    text = study_limits.limits_markdown(store)
    assert "outgrew" not in text and "unsteady baseline" not in text
    assert "paired replicates" in text


def test_no_box_before_the_first_run_and_the_first_study_keeps_its_own(tmp_path):
    assert study_limits.limits_markdown(ResultsStore(tmp_path / "cpu")) == ""
    assert study_limits.limits_markdown(ResultsStore(tmp_path / "cpu-v1")) == ""  # no runs either


@pytest.mark.parametrize("shuffled, reading", [
    ((0.75, 0.76, 0.74), "the gain needs this image's gaze, not only a steadier loss or a class-typical map."),
    ((0.80, 0.81, 0.80), "part of the gain survives with another image's gaze of the same class"),
    ((0.85, 0.87, 0.86), "the gain may not need this image's gaze"),
])
def test_the_wrong_gaze_control_says_whether_the_gain_needs_the_gaze(tmp_path, shuffled, reading):
    text = study_limits.limits_markdown(_store(tmp_path, shuffled=shuffled))
    assert "The wrong-gaze control trains with the same loss on another image's gaze" in text
    assert f"; this suggests that {reading}" in text or f"; {reading}" in text
    assert "(Holm p = " in text  # the control's comparison is read within its family


def test_the_box_lists_the_cuts_in_their_agreed_order_and_the_time_against_the_aim(tmp_path, monkeypatch):
    # 6 runs of 3 epochs of 30 s: 540 s of training, 0.15 h.
    text = study_limits.limits_markdown(_store(tmp_path))
    assert ("**Cut to fit its budget.** The design aimed at 10 h of training on 2 CPU cores. At the "
            "input its dynamic-range check chose (256×224), it was cut, in the order agreed "
            "before its sweep: the other GG-CAM arms (`ggcam`, `ggcam-fp64`, `ggcam-legacy`) are not "
            "run (the first study's runs") in text
    assert ("stand in for them where a page shows them); the oracle runs at the base point only; 8 "
            "base replicates instead of 10. ") in text
    assert "Its training took 0.1 h, 6 of its 76 runs so far." in text
    monkeypatch.setitem(study_limits.AIM_HOURS, "cpu", 0.05)
    text = study_limits.limits_markdown(_store(tmp_path / "again"))
    assert "Its training still took 0.1 h, 6 of its 76 runs so far: 3.0 times the aim." in text


def test_the_baseline_item_names_the_other_arms_whose_runs_did_not_learn(tmp_path):
    text = study_limits.limits_markdown(_store(tmp_path, shuffled=(0.75, 0.76, 0.74),
                                               shuffled_learned=(False, True, False)))
    assert "1 of 3 standard runs did not learn by the study's bar, nor did 2 of 3 of the shuffled Ψ's." in text
