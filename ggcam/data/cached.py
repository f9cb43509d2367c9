"""``CachedDataset``: the training-time view of a ``prepare``d cache, as torch tensors.

Items follow the data schema as tensors: ``image`` float32 (1, H, W) in [0, 1], ``label``
int64 scalar, ``gaze`` float32 (h, w), ``has_gaze`` bool scalar, ``masks`` {"heart", "lung",
"finding"} bool (h, w) (``finding``: the phantom's true findings, all False on real data, see
``has_truth``), ``dicom_id`` str and ``index``, the row in the cache (its ``metadata.csv``).
The arrays are memory-mapped and opened lazily, so the dataset pickles cheaply into
DataLoader workers; ``__getitems__`` serves a whole batch in one call.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from ggcam.data.cache import CACHE_VERSION, GRID_ARRAYS, INPUT_ARRAYS

ARRAYS = ("images", *GRID_ARRAYS, *INPUT_ARRAYS, "labels", "has_gaze", "gaze_offsets", "gaze_xy",
          "gaze_duration")
MASK_ARRAYS = {"heart": "heart", "lung": "lung", "finding": "findings"}  # item key → array


class CachedDataset(Dataset):
    """A cache written by ``prepare``, optionally restricted to some of its rows.

    Args:
        cache_dir: the folder ``prepare`` returned.
        indices: rows of the cache to serve (e.g. ``split(...)["train"]``); all when None.
    """

    def __init__(self, cache_dir, indices=None):
        self.cache_dir = Path(cache_dir)
        try:
            self.manifest = json.loads((self.cache_dir / "manifest.json").read_text())
        except FileNotFoundError:
            raise FileNotFoundError(f"not a prepared cache (no manifest.json): {self.cache_dir}") from None
        version = self.manifest.get("params", {}).get("version")
        if version != CACHE_VERSION:
            raise ValueError(f"{self.cache_dir}: cache version {version!r}, this ggcam reads "
                             f"{CACHE_VERSION}; run prepare() again")
        for name in ARRAYS:
            if not (self.cache_dir / f"{name}.npy").is_file():
                raise FileNotFoundError(f"cache file missing: {self.cache_dir / f'{name}.npy'}")
        n = int(self.manifest["n_images"])
        self.indices = (np.arange(n, dtype=np.int64) if indices is None
                        else np.asarray(indices, dtype=np.int64).reshape(-1))
        if len(self.indices) and (self.indices.min() < -n or self.indices.max() >= n):
            raise IndexError(f"indices must lie in [0, {n}), got {self.indices.min()}..{self.indices.max()}")
        self.indices %= max(n, 1)
        full = pd.read_csv(self.cache_dir / "metadata.csv", dtype={"dicom_id": str, "patient_id": str,
                                                                   "study_id": str})
        self.metadata = full.iloc[self.indices].reset_index(drop=True)
        self.metadata.insert(0, "cache_index", self.indices)
        self._ids = full["dicom_id"].to_numpy(dtype=object)
        params = self.manifest["params"]
        self.input_shape = tuple(params["input_shape"])
        self._scale = 1.0 / 65535.0 if params["image_dtype"] == "uint16" else None
        self.grid_shape = tuple(params["grid_shape"])
        self.stride = int(params["stride"])  # input pixels per Ω cell
        self._arrays = None

    def _open(self) -> dict:
        if self._arrays is None:
            # Copy-on-write maps: writable views for torch.from_numpy, the files stay untouched.
            self._arrays = {name: np.load(self.cache_dir / f"{name}.npy", mmap_mode="c")
                            for name in ARRAYS}
        return self._arrays

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_arrays"] = None  # memmaps reopen in the receiving process
        return state

    def __len__(self) -> int:
        return len(self.indices)

    def _row(self, i) -> int:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"index must be an int, got {type(i).__name__}")
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} items")
        return int(self.indices[i])

    def _image(self, stored: np.ndarray) -> torch.Tensor:
        # torch converts to float32 on all intra-op threads (faster than numpy here).
        image = torch.from_numpy(stored).to(torch.float32)
        return (image.mul_(self._scale) if self._scale else image)[None]

    def _item(self, a: dict, j: int, grid: dict) -> dict:
        return {"image": self._image(a["images"][j]),
                "label": torch.tensor(int(a["labels"][j]), dtype=torch.int64),
                "gaze": grid["gaze"], "has_gaze": torch.tensor(bool(a["has_gaze"][j])),
                "masks": {key: grid[name] for key, name in MASK_ARRAYS.items()},
                "finding_area": grid["findings_area"],
                "dicom_id": str(self._ids[j]), "index": j}

    def __getitem__(self, i) -> dict:
        j, a = self._row(i), self._open()
        return self._item(a, j, {k: torch.from_numpy(np.array(a[k][j])) for k in GRID_ARRAYS})

    def __getitems__(self, indices) -> list[dict]:
        """A batch of items (the list default collate expects), small arrays read at once."""
        rows = [self._row(i) for i in indices]
        a = self._open()
        grids = {k: torch.from_numpy(a[k][rows]) for k in GRID_ARRAYS}
        return [self._item(a, j, {k: g[b] for k, g in grids.items()}) for b, j in enumerate(rows)]

    @property
    def has_truth(self) -> bool:
        """Whether ``masks["finding"]`` holds true findings (a phantom with its truth file)."""
        return bool(self.manifest.get("has_truth", False))

    def finding_masks(self) -> np.ndarray:
        """The true findings of every item in network-input pixels, bool (n, H, W); all False
        where there is no finding, and everywhere without a truth file (real data)."""
        return np.array(self._open()["findings_input"][self.indices], dtype=bool)

    def labels(self) -> np.ndarray:
        """Every item's label, (n,) int64, without reading images."""
        return np.array(self._open()["labels"][self.indices], dtype=np.int64)

    def input_gaze_points(self, i) -> tuple[np.ndarray, np.ndarray]:
        """Item i's gaze points in network-input pixels: (M, 2) as (x, y), and durations (M,).

        Not ``EGDCXR.gaze_points``, which is a DataFrame in image pixels.
        """
        j, a = self._row(i), self._open()
        lo, hi = a["gaze_offsets"][j], a["gaze_offsets"][j + 1]
        return np.array(a["gaze_xy"][lo:hi]), np.array(a["gaze_duration"][lo:hi])

    def gaze_points(self, i) -> tuple[np.ndarray, np.ndarray]:
        """Deprecated name of ``input_gaze_points`` (it clashed with ``EGDCXR.gaze_points``)."""
        warnings.warn("CachedDataset.gaze_points is deprecated: use input_gaze_points (network-"
                      "input pixels); EGDCXR.gaze_points is the image-pixel DataFrame",
                      DeprecationWarning, stacklevel=2)
        return self.input_gaze_points(i)

    def subset(self, indices) -> CachedDataset:
        """The items at positions ``indices`` of this dataset, as a new CachedDataset."""
        return CachedDataset(self.cache_dir, self.indices[np.asarray(indices, dtype=np.int64)])

    def __repr__(self) -> str:
        truth = ", with truth" if self.has_truth else ""
        return (f"CachedDataset({len(self)} of {self.manifest['n_images']} images, input "
                f"{self.input_shape}, grid {self.grid_shape}{truth}, {self.cache_dir})")
