"""Runs of the dose-response points stay out of every per-arm table and figure: ``runs_of``
and ``curves_of`` read the base design point unless asked for every point (the dose-response
section and the study's progress). Before: a network trained on 200 images joined its arm's
runs at 400, and a seed appeared three times in a paired comparison."""

import numpy as np
import pandas as pd

from ggcam.analysis import summary
from ggcam.experiment import ResultsStore, RunRecord

N = 30


def _store(tmp_path, with_dose=True):
    """cpu-profile runs of standard and ggcam-warm, seeds 0-2 at the base point (400 images,
    informativeness 0.6) and at the 200-image dose point; the dose runs score far lower."""
    store = ResultsStore(tmp_path / "cpu")
    for sub in ("predictions", "curves"):
        (store.path / sub).mkdir(parents=True)
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), N // 3)
    rows = []
    points = ((400, "", 1.0), (200, "__n200", 0.0))
    for n_train, suffix, signal in points if with_dose else points[:1]:
        for variant, gain in (("standard", 0.0), ("ggcam-warm", 1.0)):
            for s in range(3):
                rid = f"resnet18__{variant}__s{s}{suffix}"
                logits = rng.normal(size=(N, 3)) + (signal + gain) * np.eye(3)[labels]
                pd.DataFrame({"dicom_id": [f"img{i}" for i in range(N)], "label": labels,
                              **{f"logit_{k}": logits[:, k] for k in range(3)}}).to_csv(
                    store.path / "predictions" / f"{rid}.csv", index=False)
                pd.DataFrame({"epoch": [1, 2], "val_ce": 1.0, "seconds": 30.0, "lr": 1e-3,
                              "run_id": rid}).to_csv(
                    store.path / "curves" / f"{rid}.csv", index=False)
                row = dict.fromkeys(RunRecord.columns())
                row.update(profile="cpu", network="resnet18", variant=variant, seed=s, run_id=rid,
                           status="ok", flags="", message="", learned=True, single_class=False,
                           auc_ovo=0.3 + 0.2 * (signal + gain) + 0.01 * s, n_train=n_train,
                           informativeness=0.6, data_origin="phantom", commit="abc", device="cpu",
                           date="2026-01-01", threads=1, wall_s=60.0)
                rows.append(row)
    pd.DataFrame(rows, columns=RunRecord.columns()).to_csv(store.path / "runs.csv", index=False)
    return store


def test_tables_read_the_base_point_and_progress_counts_every_point(tmp_path):
    store = _store(tmp_path)
    assert len(summary.runs_of(store)) == 6 and len(summary.runs_of(store, dose_points=True)) == 12
    assert not summary.runs_of(store)["run_id"].str.contains("__n200").any()
    assert set(summary.curves_of(store)["run_id"]) == set(summary.runs_of(store)["run_id"])
    assert len(summary.curves_of(store, dose_points=True)["run_id"].unique()) == 12
    counts = summary.run_summary(summary.runs_of(store)).set_index("arm")["learned"]
    assert counts.to_dict() == {"standard": "3 of 3", "ggcam-warm": "3 of 3"}
    # The paired comparisons are those of a store without the dose points, seed for seed.
    paired = summary.paired_table(store, n_boot=20)
    alone = summary.paired_table(_store(tmp_path / "base-only", with_dose=False), n_boot=20)
    assert paired["n_seeds"].max() == 3
    pd.testing.assert_frame_equal(paired, alone)
    facts = summary.progress_facts(store)
    assert facts["done"] == 12 and "6 of " in facts["sentence"]
