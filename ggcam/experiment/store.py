"""The results store: the on-disk format of ``results/<profile>/``, written down once.

Every reader and writer of results goes through this module (its readers check what they read,
``store_checks``). Files (all written atomically; ``<run_id>`` is
``<network>__<variant>__s<seed>``, with ``__n<N>`` / ``__i<x>`` at a dose point):

``runs/<run_id>.json``
    One ``RunRecord`` (the fields below), the run's result. A run is done when its record
    exists with the current config hash and data identity.
``runs.csv``
    All records, one row each, sorted by network, variant, seed; rebuilt from ``runs/``
    after every run (safe with several shards writing). Columns = ``RunRecord`` fields, each
    described (with its unit) where ``RunRecord`` declares it.
``predictions/<run_id>.csv``
    One row per test image, in test-set order: ``dicom_id`` (str), ``label`` (int, 0 Normal,
    1 CHF, 2 pneumonia), ``logit_0`` … ``logit_{K-1}`` (the network's float32 logits written
    as float64 text that round-trips exactly).
``maps/<run_id>.npz``
    The test set on the Ω grid, row-aligned with the predictions: ``cams`` (N, K, h, w)
    float32 Ω; ``gaze`` (N, h, w) float32 Ψ; ``has_gaze`` (N,) bool; ``fixations``
    (N, h, w) bool, the cells holding a gaze point; ``mask_<name>`` (N, h, w) bool for each
    region (``heart``, ``lung``; ``finding`` = true findings where the data has ground truth);
    ``centre_prior`` (h, w) float32, the mean training Ψ (the chance baseline's map);
    ``dicom_id`` (N,) str, the images in order; with true findings, ``fixed_location`` (K, 2)
    int64, per class the input pixel (row, col) fitted on the training images ((-1, -1) for a
    class without findings): the best-fixed-location baseline; ``run_id`` () str and
    ``config_hash`` () str, the run it belongs to, ``predictions_sha1`` () str, the SHA-1 of its
    predictions file (files written before lack them).
``predictions/<run_id>__last.csv``, ``maps/<run_id>__last.npz``
    The same for the last epoch's weights (maps: ``cams``, ``dicom_id`` and the identity only).
``test_set.npz``
    The test set shared by every run (independent replicates): ``dicom_id`` (N,), ``labels``
    (N,) int64, ``findings`` (N, H, W) bool, the true findings in network-input pixels.
``curves/<run_id>.csv``
    One row per epoch: run_id, epoch, lr, train_loss, train_ce, train_sm, val_loss, val_ce, val_auc,
    val_saturated (share of Ω^Y cells with |αΩ^Y| > 10), val_sm_ratio (L_sm / mean Ψ²),
    val_omega_y_min/max, sigma_sm, sigma_ce, alpha, w_sm, w_ce (GG-CAM arms),
    optimizer_state_finite, seconds.
``examples/<network>__<variant>.npz``
    For Table 3, from the first seed: ``labels``, ``psi``, ``cam`` (Ω^Y), ``dicom_id`` of one
    test image per class and, for phantom data only, ``image`` (a thumbnail). Real images are
    never stored.

Every metric of a record is a function of its ``predictions`` and ``maps`` files and
``test_set.npz`` (``ggcam.experiment.metrics.run_metrics``), so it can be recomputed exactly.
Which store a page reads is ``store_location``'s (``open_store``, named here too);
``reruns.csv``, the audits of ``ggcam rerun``, is ``store_reruns``'s.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from ggcam.experiment import store_checks as checks
from ggcam.experiment import store_validation as validation
from ggcam.experiment.record import RunRecord, json_default
from ggcam.experiment.store_location import PREFERRED_PROFILES, open_store, results_root
from ggcam.runtime import atomic_write_bytes, atomic_write_text
from ggcam.study import CLASS_NAMES

LAST = "__last"  # suffix of a run's last-epoch predictions and maps
TEST_SET = "test_set.npz"  # the shared test set's true findings (independent replicates)

__all__ = ["LAST", "PREFERRED_PROFILES", "TEST_SET", "ResultsStore", "RunRecord", "open_store",
           "results_root"]


def _csv_bytes(df: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    df.to_csv(buf, index=False)  # repr of float64: round-trips exactly
    return buf.getvalue().encode()


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


class ResultsStore:
    """``results/<profile>/``: typed readers and writers for one profile's results."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._test_set: tuple = (None, None)  # (file version, arrays): read_test_set's last read

    @property
    def profile(self) -> str:
        return self.path.name

    @property
    def runs_csv(self) -> Path:  # the runs table, one row per record (``collect`` rebuilds it)
        return self.path / "runs.csv"

    def write_run(self, record: RunRecord, predictions: pd.DataFrame, maps: dict[str, np.ndarray],
                  curves: pd.DataFrame | None,
                  last: tuple[pd.DataFrame, dict[str, np.ndarray]] | None = None) -> None:
        """A run's files; the record last, so a run is "done" only when everything is there.
        ``last``: the predictions and maps of the last epoch's weights. Results of data that
        is not the phantom get a ``.gitignore`` of ``*`` first."""
        rid = record.run_id
        if record.data_origin != "phantom" and not (self.path / ".gitignore").is_file():
            atomic_write_text("# made from real (credentialed) data: never commit\n*\n",
                              self.path / ".gitignore")
        for suffix, (preds, arrays) in {"": (predictions, maps), LAST: last or (None, None)}.items():
            if preds is not None:
                table = _csv_bytes(preds)
                atomic_write_bytes(table, self.path / "predictions" / f"{rid}{suffix}.csv")
                atomic_write_bytes(_npz_bytes({**arrays, **validation.identity_arrays(record, table)}),
                                   self.path / "maps" / f"{rid}{suffix}.npz")
        if curves is not None and len(curves):
            atomic_write_bytes(_csv_bytes(curves.assign(run_id=rid)),
                               self.path / "curves" / f"{rid}.csv")
        atomic_write_text(json.dumps(asdict(record), indent=1, default=json_default) + "\n",
                          self.path / "runs" / f"{rid}.json")

    def write_example(self, network: str, variant: str, example: dict[str, np.ndarray]) -> None:
        atomic_write_bytes(_npz_bytes(example), self.path / "examples" / f"{network}__{variant}.npz")

    def collect(self) -> pd.DataFrame:
        """Rebuild ``runs.csv`` from the records and return it."""
        records = [self.record_dict(p, self.profile) for p in sorted((self.path / "runs").glob("*.json"))]
        df = pd.DataFrame(records, columns=RunRecord.columns())
        if len(df):
            df = df.sort_values(["network", "variant", "seed"]).reset_index(drop=True)
        atomic_write_bytes(_csv_bytes(df), self.runs_csv)
        return df

    @staticmethod
    def record_dict(path: Path, profile: str | None = None) -> dict:
        """The record in ``path`` as written, checked against its file name (and, given
        ``profile``, the store's profile): ``store_checks.check_record``."""
        path = Path(path)
        record = validation.read_json_record(path)
        checks.check_record(record, path, profile)
        return record

    def record(self, run_id: str) -> RunRecord | None:
        path = self.path / "runs" / f"{run_id}.json"
        return RunRecord.from_dict(self.record_dict(path, self.profile)) if path.exists() else None

    def records(self) -> list[RunRecord]:
        """Every run's typed record, in ``runs.csv``'s order (network, variant, seed)."""
        records = [RunRecord.from_dict(self.record_dict(p, self.profile))
                   for p in (self.path / "runs").glob("*.json")]
        return sorted(records, key=lambda r: (r.network, r.variant, r.seed))

    def runs(self) -> pd.DataFrame:
        path = self.runs_csv
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist; run `ggcam sweep --profile {self.profile}`")
        try:
            df = pd.read_csv(path, dtype={"commit": str, "message": str, "flags": str})
            checks.unique_header(path)
        except (OSError, ValueError) as err:  # empty file, undecodable text, bad dtype
            raise ValueError(f"cannot read {path}: {err}") from None
        missing = set(RunRecord.required()) - set(df.columns)
        if missing:
            raise ValueError(f"{path} lacks columns {sorted(missing)}: written by an older ggcam; "
                             f"rerun `ggcam sweep --profile {self.profile}`")
        checks.check_runs_table(df, path, self.profile)
        if self.exists():  # a table with records behind it is theirs (a hand-made one has none)
            validation.check_runs_agree(df, path, {r: self.record_dict_of(r) for r in self.run_ids()},
                                        self.path / "runs", f"rebuild it: `ggcam rescore --profile {self.profile}`")
        return df.fillna({"flags": "", "message": ""})

    def run_ids(self) -> list[str]:
        """Every run with a record, sorted."""
        return sorted(p.stem for p in (self.path / "runs").glob("*.json"))

    def has_last(self, run_id: str) -> bool:
        """Whether the run stored its last epoch's predictions and maps too."""
        return (self.path / "predictions" / f"{run_id}{LAST}.csv").is_file()

    def has_test_set(self) -> bool:
        return (self.path / TEST_SET).is_file()

    def update_record(self, run_id: str, values: dict) -> None:
        """Rewrite fields of a run's record (``rescore``); the record must exist."""
        path = self.path / "runs" / f"{run_id}.json"
        record = self.record_dict(path)
        unknown = set(values) - set(RunRecord.columns())
        if unknown:
            raise ValueError(f"{path}: no record field(s) {sorted(unknown)}")
        record.update(values)
        atomic_write_text(json.dumps(record, indent=1, default=json_default) + "\n", path)

    def exists(self) -> bool:
        """Whether any run was ever written here."""
        return (self.path / "runs").is_dir()

    def forget(self, run_id: str) -> bool:
        """Delete a run's record, so that the sweep trains it again; True if there was one.
        Its other files stay until the new run overwrites them."""
        path = self.path / "runs" / f"{run_id}.json"
        if not path.is_file():
            return False
        path.unlink()
        return True

    def record_dict_of(self, run_id: str) -> dict | None:
        """The record of ``run_id`` as written, or None when the run has none."""
        path = self.path / "runs" / f"{run_id}.json"
        if not path.exists():
            return None
        return self.record_dict(path, self.profile)  # its run_id is its file's name

    def test_findings(self, test) -> dict[str, np.ndarray] | None:
        """The shared test set's true findings in input pixels (``test_set.npz``), written
        the first time and checked against ``test`` after: every run is scored on one truth.
        None for data without truth (real data)."""
        if not getattr(test, "has_truth", False):
            return None
        path = self.path / TEST_SET
        ids = test.metadata["dicom_id"].to_numpy(dtype=str)
        if not path.is_file():
            arrays = {"dicom_id": ids, "labels": test.labels(), "findings": test.finding_masks()}
            atomic_write_bytes(_npz_bytes(arrays), path)
        found = self.read_test_set()
        if not np.array_equal(found["dicom_id"], ids):
            raise ValueError(f"{path} holds another test set than this run's ({len(found['dicom_id'])} "
                             f"vs {len(ids)} images, or other ids): delete it only if the study changed")
        return found

    def read_test_set(self) -> dict[str, np.ndarray]:
        """``test_set.npz``, checked: unique dicom_id, labels in [0, K), findings (N, H, W).
        Read once per version of the file (every run's files are checked against it)."""
        path = self.path / TEST_SET
        key = (path.stat().st_mtime_ns, path.stat().st_size) if path.is_file() else None
        if key is None or self._test_set[0] != key:
            arrays = checks.load_arrays(path, "test set")
            checks.check_test_set(arrays, path, len(CLASS_NAMES))
            self._test_set = (key, arrays)
        return self._test_set[1]

    def predictions(self, run_id: str, last: bool = False) -> pd.DataFrame:
        """A run's predictions, checked (``store_checks.check_predictions``): finite logits,
        integer labels in [0, K), one row per dicom_id."""
        path = self.path / "predictions" / f"{run_id}{LAST if last else ''}.csv"
        try:
            df = pd.read_csv(path, dtype={"dicom_id": str})
            checks.unique_header(path)
        except (OSError, ValueError) as err:  # UnicodeDecodeError is a ValueError
            raise ValueError(f"cannot read predictions {path}: {err}") from None
        missing = [c for c in ("dicom_id", "label", "logit_0") if c not in df.columns]
        if missing:
            raise ValueError(f"{path} lacks columns {missing}: not a ggcam predictions file "
                             "(dicom_id, label, logit_0 … logit_{K-1})")
        df = checks.check_predictions(df, path)
        if self.has_test_set():
            validation.check_test_set_rows(df, path, self.read_test_set(), self.path / TEST_SET)
        return df

    def maps(self, run_id: str, last: bool = False) -> dict[str, np.ndarray]:
        """A run's maps, checked against the documented dtypes and shapes and row-aligned
        with its predictions (same images, same order: ``store_checks.check_maps``)."""
        suffix = LAST if last else ""
        path = self.path / "maps" / f"{run_id}{suffix}.npz"
        maps = checks.load_arrays(path, "maps")
        validation.check_own_run(maps, path, run_id, self.record_dict_of(run_id))
        validation.check_predictions_digest(maps, path, self.path / "predictions" / f"{run_id}{suffix}.csv")
        shape = self.read_test_set()["findings"].shape[1:] if self.has_test_set() else None
        checks.check_maps(maps, path, self.predictions(run_id, last),
                          self.path / "predictions" / f"{run_id}{suffix}.csv", full=not last,
                          input_shape=shape)
        return maps

    def curves(self) -> pd.DataFrame:
        """Every run's per-epoch curves with network, variant and seed columns."""
        runs = self.runs()[["run_id", "network", "variant", "seed"]]
        files = sorted((self.path / "curves").glob("*.csv"))
        if not files:
            raise FileNotFoundError(f"no curves in {self.path / 'curves'}")
        curves = pd.concat([checks.read_curves(f) for f in files], ignore_index=True)
        return curves.merge(runs, on="run_id", how="inner")

    def examples(self) -> dict[tuple[str, str], dict[str, np.ndarray]]:
        """{(network, variant): {"labels", "psi", "cam", "dicom_id", ["image"]}} for Table 3."""
        out = {}
        test_ids = self.read_test_set()["dicom_id"] if self.has_test_set() else None
        for f in sorted((self.path / "examples").glob("*.npz")):
            parts = f.stem.split("__")
            if len(parts) != 2:
                raise ValueError(f"{f}: an example file is named <network>__<variant>.npz")
            out[tuple(parts)] = checks.load_arrays(f, "examples archive")
            validation.check_example(out[tuple(parts)], f, len(CLASS_NAMES), test_ids)
        return out

    def provenance(self) -> dict:
        """Where the numbers come from: profile, data origin, commits, devices, dates, runs."""
        runs = self.runs()
        join = lambda col: ", ".join(sorted(set(map(str, runs[col].dropna())))) or "?"
        return {"profile": self.profile, "runs": len(runs), "origin": join("data_origin"),
                **{k: join(k) for k in ("commit", "device", "date", "threads")}}
