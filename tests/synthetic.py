"""A tiny in-memory dataset with the item schema of ggcam.data, for training tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset


class SyntheticCXR(Dataset):
    """Class c has a bright blob in a class-specific place; Ψ marks the blob."""

    def __init__(self, n: int = 24, shape=(64, 64), seed: int = 0, indices=None) -> None:
        rng = np.random.default_rng(seed)
        H, W = shape
        h, w = H // 32, W // 32
        self.labels = np.arange(n) % 3
        self.images = rng.normal(0.5, 0.1, size=(n, 1, H, W)).astype(np.float32)
        self.gaze = np.zeros((n, h, w), np.float32)
        for i, c in enumerate(self.labels):
            r, q = [(0, 0), (h - 1, w - 1), (0, w - 1)][c]
            self.images[i, 0, r * 32:(r + 1) * 32, q * 32:(q + 1) * 32] += 0.3
            self.gaze[i, r, q] = 1.0
        self.grid_shape, self.stride = (h, w), 32  # as CachedDataset: input pixels per Ω cell
        self.finding = self.gaze > 0  # the blob is the true finding
        self.heart = np.zeros((n, h, w), bool)
        self.heart[:, -1, -1] = True
        self.lung = ~self.heart
        self.indices = np.arange(n) if indices is None else np.asarray(indices)
        self._meta = pd.DataFrame({"dicom_id": [f"id{i:03d}" for i in range(n)],
                                   "label": self.labels, "patient_id": np.arange(n)})

    @property
    def metadata(self) -> pd.DataFrame:
        return self._meta.iloc[self.indices].reset_index(drop=True)

    def subset(self, indices) -> SyntheticCXR:
        sub = SyntheticCXR.__new__(SyntheticCXR)
        sub.__dict__.update(self.__dict__)
        sub.indices = self.indices[np.asarray(indices)]
        return sub

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict:
        j = int(self.indices[i])
        return {
            "image": torch.from_numpy(self.images[j]),
            "label": torch.tensor(int(self.labels[j])),
            "gaze": torch.from_numpy(self.gaze[j]),
            "has_gaze": torch.tensor(True),
            "masks": {"heart": torch.from_numpy(self.heart[j]), "lung": torch.from_numpy(self.lung[j]),
                      "finding": torch.from_numpy(self.finding[j])},
            "dicom_id": self._meta.dicom_id[j],
            "index": i,
        }

    def input_gaze_points(self, i: int):
        """One gaze point at the centre of the blob's cell, network-input pixels (x, y)."""
        j = int(self.indices[i])
        r, q = np.argwhere(self.gaze[j] > 0)[0]
        return np.array([[q * 32.0, r * 32.0]], np.float32), np.array([0.3], np.float32)
