"""``reruns.csv`` of a results store: the audits ``ggcam rerun`` made of its runs, one row per
run and commit it was retrained at (``RERUN_COLUMNS``), so the book can say which runs were
retrained, when, and whether their test logits came out bit-identical. Written whole
(atomically); read back with checks that name the file, column and value.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ggcam.runtime import atomic_write_text

if TYPE_CHECKING:
    from ggcam.experiment.store import ResultsStore
    from ggcam.experiment.verify import RerunReport

RERUNS = "reruns.csv"  # in the store's folder
RERUN_COLUMNS = ["run_id", "commit_then", "commit_now", "identical", "max_abs_diff",
                 "auc_then", "auc_now", "checked_utc"]


def recorded_reruns(store: ResultsStore) -> pd.DataFrame:
    """The audits kept in ``store``'s ``reruns.csv`` (``RERUN_COLUMNS``; empty if none yet).

    Raises:
        ValueError: the file lacks a column, names a run the store does not hold, or has an
            ``identical`` value other than True/False.
    """
    path = store.path / RERUNS
    if not path.is_file():
        return pd.DataFrame(columns=RERUN_COLUMNS)
    df = pd.read_csv(path, dtype={"commit_then": str, "commit_now": str, "identical": str})
    missing = [c for c in RERUN_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: no column {', '.join(missing)} (expected {', '.join(RERUN_COLUMNS)})")
    bad = df.loc[~df["identical"].isin(["True", "False"]), "identical"]
    if len(bad):
        raise ValueError(f"{path}: column identical must be True or False, found {bad.iloc[0]!r}")
    unknown = sorted(set(df["run_id"]) - set(store.run_ids()))
    if unknown:
        raise ValueError(f"{path}: run {unknown[0]} is not a run of {store.path}")
    return df.assign(identical=df["identical"] == "True")[RERUN_COLUMNS]


def record_rerun(store: ResultsStore, report: RerunReport) -> Path:
    """Add ``report`` to ``store``'s ``reruns.csv``, replacing an earlier audit of the same run
    at the same commit; returns the file's path. Written whole (atomically): an interrupted
    write leaves the previous file."""
    row = pd.DataFrame([{c: getattr(report, c) for c in RERUN_COLUMNS}])
    old = recorded_reruns(store)
    old = old[~((old["run_id"] == report.run_id) & (old["commit_now"] == report.commit_now))]
    table = pd.concat([old, row], ignore_index=True) if len(old) else row
    path = store.path / RERUNS
    atomic_write_text(table.sort_values(["run_id", "checked_utc"]).to_csv(index=False), path)
    return path
