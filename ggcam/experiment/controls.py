"""The gaze-specificity controls: train with a Ψ that is not this image's own.

* ``shuffled``: each image gets the Ψ of another image of the same class in the same set,
  a random cyclic derangement fixed by the seed. Same class, same kind of finding, same
  spatial statistics — only the correspondence to *this* image is broken.
* ``centre``: every image gets the mean training Ψ, a spatial prior with no per-image
  information.

Images without gaze stay without gaze, so a control changes only what Ψ says. Test sets are
never changed: a control is scored against each test image's own Ψ.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch.utils.data import Dataset


class GazeOverride(Dataset):
    """A dataset whose items carry another Ψ (``gaze``, (n, h, w)), all else unchanged."""

    def __init__(self, base: Dataset, gaze: np.ndarray, label: str) -> None:
        if gaze.shape[0] != len(base):
            raise ValueError(f"gaze has {gaze.shape[0]} maps for {len(base)} items")
        self.base, self.gaze, self.label = base, np.ascontiguousarray(gaze, np.float32), label

    def __len__(self) -> int:
        return len(self.base)

    def _swap(self, item: dict, i: int) -> dict:
        return {**item, "gaze": torch.from_numpy(self.gaze[i])}

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


def with_gaze_source(train: Dataset, val: Dataset, source: str,
                     seed: int) -> tuple[Dataset, Dataset]:
    """Train and validation sets with Ψ from ``source`` ("own", "shuffled", "centre")."""
    if source == "own":
        return train, val
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
    raise ValueError(f"gaze source must be 'own', 'shuffled' or 'centre', got {source!r}")
