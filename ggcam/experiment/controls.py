"""The gaze-specificity controls: train with a Ψ that is not this image's own.

* ``shuffled``: each image gets the Ψ of another image of the same class in the same set,
  a random cyclic derangement fixed by the seed. Same class, same kind of finding, same
  spatial statistics — only the correspondence to *this* image is broken.
* ``centre``: every image gets the mean training Ψ, a spatial prior with no per-image
  information (the "mean-gaze prior").
* ``oracle``: Ψ is the image's true findings on the Ω grid (the covered share of each cell,
  scaled to a peak of 1); only images with a finding are supervised. Not a control but the
  upper bound of what any attention supervision can do on this grid (phantom data only).

Images without gaze stay without gaze, so a control changes only what Ψ says. Test sets are
never changed: every arm is scored against each test image's own Ψ and true findings.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch.utils.data import Dataset


class GazeOverride(Dataset):
    """A dataset whose items carry another Ψ (``gaze``, (n, h, w)), all else unchanged."""

    def __init__(self, base: Dataset, gaze: np.ndarray, label: str,
                 has_gaze: np.ndarray | None = None) -> None:
        if gaze.shape[0] != len(base):
            raise ValueError(f"gaze has {gaze.shape[0]} maps for {len(base)} items")
        if has_gaze is not None and np.shape(has_gaze) != (len(base),):
            raise ValueError(f"has_gaze has shape {np.shape(has_gaze)}, expected ({len(base)},)")
        self.base, self.gaze, self.label = base, np.ascontiguousarray(gaze, np.float32), label
        self.has_gaze = None if has_gaze is None else np.asarray(has_gaze, dtype=bool)

    def __len__(self) -> int:
        return len(self.base)

    def _swap(self, item: dict, i: int) -> dict:
        out = {**item, "gaze": torch.from_numpy(self.gaze[i])}
        if self.has_gaze is not None:
            out["has_gaze"] = torch.tensor(bool(self.has_gaze[i]))
        return out

    def __getitem__(self, i) -> dict:
        return self._swap(self.base[i], i)

    def __getitems__(self, indices) -> list[dict]:
        items = (self.base.__getitems__(indices) if hasattr(self.base, "__getitems__")
                 else [self.base[i] for i in indices])
        return [self._swap(item, i) for item, i in zip(items, indices)]

    def __repr__(self) -> str:
        return f"GazeOverride({self.label}, {self.base!r})"


def gaze_arrays(data: Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ψ (n, h, w), has_gaze (n,) and labels (n,) of every item."""
    items = [data[i] for i in range(len(data))]
    gaze = np.stack([np.asarray(it["gaze"], dtype=np.float32) for it in items])
    has = np.array([bool(it["has_gaze"]) for it in items])
    labels = np.array([int(it["label"]) for it in items])
    return gaze, has, labels


def centre_prior(train: Dataset) -> np.ndarray:
    """The mean Ψ of the training images that have gaze, (h, w) float32."""
    gaze, has, _ = gaze_arrays(train)
    if not has.any():
        raise ValueError("no training image has gaze: the centre prior is undefined")
    return gaze[has].mean(axis=0).astype(np.float32)


def shuffled_gaze(data: Dataset, rng: np.random.Generator) -> np.ndarray:
    """Each image with gaze takes the Ψ of another image of its class (cyclic derangement)."""
    gaze, has, labels = gaze_arrays(data)
    out = gaze.copy()
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(has & (labels == c)))
        if len(members) < 2:
            warnings.warn(f"class {c} has {len(members)} image(s) with gaze in this set: "
                          "nothing to shuffle with, Ψ kept", stacklevel=2)
            continue
        out[members] = gaze[np.roll(members, -1)]
    return out


def oracle_gaze(data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Ψ = each image's true findings on the grid (peak 1), and which images have one."""
    if not getattr(data, "has_truth", False):
        raise ValueError(f"the oracle arm needs the phantom's true findings; {data!r} has none "
                         "(real data, or a cache prepared without phantom-truth.csv)")
    area = np.stack([np.asarray(data[i]["finding_area"], dtype=np.float32) for i in range(len(data))])
    peak = area.reshape(len(area), -1).max(axis=1)
    has = peak > 0
    area[has] /= peak[has, None, None]
    return area, has


def with_gaze_source(train: Dataset, val: Dataset, source: str,
                     seed: int) -> tuple[Dataset, Dataset]:
    """Train and validation sets with Ψ from ``source`` ("own", "shuffled", "centre", "oracle")."""
    if source == "own":
        return train, val
    if source == "oracle":
        out = []
        for part in (train, val):
            gaze, has = oracle_gaze(part)
            out.append(GazeOverride(part, gaze, "oracle", has_gaze=has))
        return out[0], out[1]
    if source == "shuffled":
        rng = np.random.default_rng([seed, 7])
        return (GazeOverride(train, shuffled_gaze(train, rng), "shuffled"),
                GazeOverride(val, shuffled_gaze(val, rng), "shuffled"))
    if source == "centre":
        prior = centre_prior(train)
        out = []
        for part in (train, val):
            gaze, has, _ = gaze_arrays(part)
            gaze[has] = prior
            out.append(GazeOverride(part, gaze, "centre"))
        return out[0], out[1]
    raise ValueError(f"gaze source must be 'own', 'shuffled', 'centre' or 'oracle', got {source!r}")
