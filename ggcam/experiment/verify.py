"""Retrain one committed run at the current code and compare its test logits exactly.

A sweep that runs for hours spans many commits; its records name the commit each run was
made at. ``rerun`` is the audit a referee can run: it retrains the run with the same
configuration (its ``config_hash`` must still match the profile), the same data (its
``data_id``) and the same number of threads, into a scratch store, and compares the stored
float64 logits with the new ones. On CPU with deterministic algorithms the two are
bit-identical when nothing that trains has changed since. ``ggcam rerun`` is the command;
it keeps each audit in the store's ``reruns.csv`` (``store_reruns``), so the book can say which
runs were retrained, at which commit, and with what outcome.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ggcam.experiment.profiles import get_profile, run_config, run_specs
from ggcam.experiment.store import ResultsStore
from ggcam.experiment.store_reruns import RERUN_COLUMNS, RERUNS, record_rerun, recorded_reruns

__all__ = ["RERUNS", "RERUN_COLUMNS", "RerunReport", "record_rerun", "recorded_reruns", "rerun"]


@dataclass(frozen=True)
class RerunReport:
    run_id: str
    commit_then: str  # the commit the stored run was made at
    commit_now: str
    identical: bool  # every test logit equal, bit for bit
    max_abs_diff: float  # largest |Δ logit|
    auc_then: float
    auc_now: float
    checked_utc: str = ""  # when the rerun finished, ISO 8601

    def sentence(self) -> str:
        verdict = ("identical test logits" if self.identical else
                   f"different test logits (max |Δ| = {self.max_abs_diff:.3g})")
        return (f"{self.run_id}: made at {self.commit_then}, retrained at {self.commit_now}: "
                f"{verdict}; test AUC {self.auc_then:.6f} then, {self.auc_now:.6f} now")


def rerun(store: ResultsStore, run_id: str, work_root: str | Path, *,
          data_root: str | Path | None = None, mimic_root: str | Path | None = None,
          progress: bool = False) -> RerunReport:
    """Retrain ``run_id`` of ``store`` into ``work_root/reruns/<profile>/<run_id>`` and compare
    its test logits with the stored ones.

    Raises:
        FileNotFoundError: no such run in the store.
        ValueError: the profile now trains another configuration than the run's, or the data
            is not the data the run read (the comparison would mean nothing).
    """
    from ggcam.experiment.data import ProfileData
    from ggcam.experiment.run import run_one

    rec = store.record_dict_of(run_id)
    if rec is None:
        raise FileNotFoundError(f"no run {run_id!r} in {store.path}")
    profile = get_profile(rec["profile"])
    spec = next((s for s in run_specs(profile) if s.run_id == run_id), None)
    if spec is None or (spec.network, spec.variant, spec.seed) != (rec["network"], rec["variant"], int(rec["seed"])):
        raise ValueError(f"run {run_id!r} of {store.path}: its record's network, variant and seed are "
                         f"not a run of profile {profile.name!r} with that id")
    threads = int(rec["threads"]) if rec.get("threads") else None
    profile = replace(profile, options=replace(profile.options, threads=threads))
    config, _ = run_config(profile, spec)
    if config.hash() != rec["config_hash"]:
        raise ValueError(f"{run_id}: profile {profile.name!r} now trains configuration "
                         f"{config.hash()}, the run was {rec['config_hash']}: not the same run")
    scratch = Path(work_root) / "reruns" / profile.name / run_id
    shutil.rmtree(scratch, ignore_errors=True)
    data = ProfileData(profile, Path(data_root) if data_root else None, Path(work_root),
                       Path(mimic_root) if mimic_root else None, progress=progress)
    then = rec.get("data_key") or rec["data_id"]
    if data.data_key(spec) != then:
        raise ValueError(f"{run_id}: the data now reads as {data.data_key(spec)}, the run read "
                         f"{then}: not the same data")
    before = torch.get_num_threads()
    try:
        new = run_one(spec, profile, data, ResultsStore(scratch / "store"), scratch / "checkpoints",
                      progress=progress)
    finally:
        torch.set_num_threads(before)
    then, now = store.predictions(run_id), ResultsStore(scratch / "store").predictions(run_id)
    cols = [c for c in then.columns if c.startswith("logit_")]
    same_rows = list(then["dicom_id"]) == list(now["dicom_id"])
    diff = (np.abs(then[cols].to_numpy() - now[cols].to_numpy()).max() if same_rows
            else float("inf"))
    return RerunReport(run_id, rec["commit"], new.commit,
                       identical=bool(same_rows and diff == 0), max_abs_diff=float(diff),
                       auc_then=float(rec["auc_ovo"]), auc_now=float(new.auc_ovo),
                       checked_utc=pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"))
