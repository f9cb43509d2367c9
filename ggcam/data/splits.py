"""Train / validation / test splits of a metadata table.

* ``"paper"``: 70/10/20 within each class, shuffled with the seed (label-balanced).
* ``"released"``: the released code's split: 70/10/20 within each class in file order,
  no shuffling (the seed is ignored).
* ``"patient"``: 80/10/10 of the images, grouped by ``patient_id`` so no patient is on two
  sides; patients are shuffled within their (first image's) class, so classes stay balanced.

Counts are ``floor(fraction · n)`` for train and validation, the rest is test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SCHEMES = ("paper", "released", "patient")
FRACTIONS = {"paper": (0.7, 0.1), "released": (0.7, 0.1), "patient": (0.8, 0.1)}


def _cuts(n: int, fractions) -> tuple[int, int]:
    n_train = int(np.floor(fractions[0] * n + 1e-9))
    n_val = int(np.floor(fractions[1] * n + 1e-9))
    return n_train, n_train + n_val


def _require(metadata: pd.DataFrame, column: str) -> None:
    if column not in metadata.columns:
        raise ValueError(f"metadata has no {column!r} column (columns: {list(metadata.columns)})")


def split(metadata: pd.DataFrame, scheme: str = "paper", seed: int = 0,
          fractions: tuple[float, float] | None = None) -> dict[str, np.ndarray]:
    """Row indices (into ``metadata``) of the train, validation and test sets.

    Args:
        metadata: one row per image, with a ``label`` column (and ``patient_id`` for
            ``"patient"``), e.g. ``EGDCXR(...).metadata``.
        scheme: ``"paper"``, ``"released"`` or ``"patient"``.
        seed: the shuffle's seed; the same seed gives the same split.
        fractions: (train, validation) shares instead of the scheme's (the rest is test), e.g.
            a larger held-out test set for a phantom study.

    Returns:
        {"train", "val", "test"} → sorted int64 arrays, disjoint, covering all rows.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    _require(metadata, "label")
    if fractions is not None:
        a, b = (float(f) for f in fractions)
        if not (0 < a and 0 < b and a + b < 1):
            raise ValueError(f"fractions must be (train, val) > 0 with a sum < 1, got {fractions!r}")
    fractions = tuple(fractions) if fractions is not None else FRACTIONS[scheme]
    labels = metadata["label"].to_numpy()
    rng = np.random.default_rng(seed)
    out: dict[str, list] = {"train": [], "val": [], "test": []}
    if scheme in ("paper", "released"):
        for c in np.unique(labels):
            rows = np.flatnonzero(labels == c)
            if scheme == "paper":
                rows = rng.permutation(rows)
            a, b = _cuts(len(rows), fractions)
            out["train"].append(rows[:a])
            out["val"].append(rows[a:b])
            out["test"].append(rows[b:])
    else:
        _require(metadata, "patient_id")
        patients = metadata["patient_id"].astype(str).to_numpy()
        first = pd.Series(labels).groupby(patients, sort=True).first()
        for c in np.unique(first.to_numpy()):
            group = rng.permutation(first.index[first.to_numpy() == c].to_numpy())
            rows = [np.flatnonzero(patients == p) for p in group]
            sizes = np.cumsum([len(r) for r in rows])
            a, b = _cuts(int(sizes[-1]), fractions)
            # A patient goes to the side where its last image would fall.
            side = np.searchsorted([a, b], sizes, side="left")
            for name, k in (("train", 0), ("val", 1), ("test", 2)):
                out[name] += [r for r, s in zip(rows, side) if s == k]
    return {k: np.sort(np.concatenate(v)).astype(np.int64) if v else np.zeros(0, np.int64)
            for k, v in out.items()}
