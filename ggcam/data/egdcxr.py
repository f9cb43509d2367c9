"""``EGDCXR``: the EGD-CXR gaze release + MIMIC-CXR DICOMs as a dataset of items.

Every item follows one schema (a dict):

* ``image``: float32 (H0, W0) in [0, 1], the DICOM at its original resolution;
* ``label``: int, 0 = Normal, 1 = CHF, 2 = pneumonia;
* ``gaze``: Ψ, float32 (h, w) on the Ω grid (Algorithm 1, ``ggcam.gaze_heatmap``);
* ``has_gaze``: bool, False when no gaze point of the image survived (Ψ is then all zeros);
* ``masks``: {"heart", "lung"}, bool (h, w) on the Ω grid (``ggcam.data.masks``);
* ``dicom_id``: str.

``.metadata`` is a DataFrame row-aligned with the items, ``.gaze_points(i)`` the raw points.
The same code reads the real release and the phantom (``make_phantom``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from ggcam.data import masks as M
from ggcam.data.checks import check_distinct_files, check_roots, require_dir
from ggcam.data.dicom import dicom_shape, read_dicom
from ggcam.data.layout import BOUNDING_BOXES, CASE_DIR, CLASS_NAMES, GAZE_FILES, MASTER_SHEET
from ggcam.data.tables import (
    check_dicom_names,
    fit_to_images,
    one_hot_labels,
    read_cardiac_boxes,
    read_gaze_table,
    read_master_sheet,
)
from ggcam.gaze import RESAMPLE_MODES, gaze_heatmap
from ggcam.geometry import grid_geometry

HEART_REGIONS = ("mediastinum", "cardiac_bbox")
WEIGHTINGS = (None, "duration")


def _choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


class EGDCXR:
    """The EGD-CXR images with gaze maps and region masks on the Ω grid.

    Args:
        egd_root: the gaze release, ``.../egd-cxr/1.0.0``.
        mimic_root: MIMIC-CXR, ``.../mimic-cxr/2.0.0`` (joined with the sheet's ``path``).
        gaze: ``"eye_gaze"`` (the raw ~60 Hz samples Algorithm 1 histograms; the default) or
            ``"fixations"`` (fixations.csv).
        grid_shape: (h, w) of the Ω grid (48×40 for the paper's 1536×1280 input).
        sigma: blur σ in image pixels; when None, ``kernel_size`` (the released code's B,
            OpenCV's rule: 500 → σ = 75.5 px) is used.
        weighting: None (one count per point, Algorithm 1) or ``"duration"`` (FPOGD, seconds;
            fixations only).
        resample: ``"area"`` (exact) or ``"stride"`` (the released code), see ``gaze_heatmap``.
        heart: ``"mediastinum"`` (the mediastanum.png mask, as the released code) or
            ``"cardiac_bbox"`` (the ``cardiac silhouette`` bounding box).
        mask_rule: ``"majority"`` (a cell is in a region when ≥ half of it is covered) or
            ``"any"``.
        progress: show progress bars while reading.
    """

    def __init__(self, egd_root: str | Path, mimic_root: str | Path, *, gaze: str = "eye_gaze",
                 grid_shape: tuple[int, int] = (48, 40), sigma: float | None = None,
                 kernel_size: int | None = 500, weighting: str | None = None,
                 resample: str = "area", heart: str = "mediastinum", mask_rule: str = "majority",
                 progress: bool = True) -> None:
        _choice("gaze", gaze, tuple(GAZE_FILES))
        _choice("weighting", weighting, WEIGHTINGS)
        _choice("resample", resample, RESAMPLE_MODES)
        _choice("heart", heart, HEART_REGIONS)
        _choice("mask_rule", mask_rule, M.MASK_RULES)
        if weighting == "duration" and gaze != "fixations":
            raise ValueError("weighting='duration' needs gaze='fixations': eye_gaze rows are "
                             "~60 Hz samples, each already worth the same time")
        self.egd_root, self.mimic_root = Path(egd_root), Path(mimic_root)
        check_roots(self.egd_root, self.mimic_root)
        self.grid_shape = tuple(int(s) for s in grid_shape)
        grid_geometry((1, 1), self.grid_shape)  # validates grid_shape
        self.blur = {"sigma": sigma} if sigma is not None else {"kernel_size": kernel_size}
        gaze_heatmap(np.zeros((0, 2)), (1, 1), self.grid_shape, **self.blur)  # validates blur
        self.gaze, self.weighting, self.resample = gaze, weighting, resample
        self.heart, self.mask_rule = heart, mask_rule

        sheet_path = self.egd_root / MASTER_SHEET
        sheet = read_master_sheet(sheet_path)
        labels = one_hot_labels(sheet, sheet_path)
        ids = pd.Index(sheet["dicom_id"])
        self._paths = [self.mimic_root / p for p in sheet["path"]]
        shapes = np.array([dicom_shape(p) for p in tqdm(self._paths, desc="DICOM headers",
                                                         disable=not progress, unit="file")],
                          dtype=np.int64).reshape(-1, 2)
        self._check_cases(sheet, sheet_path)  # after the headers: a missing file is named first
        table = read_gaze_table(self.egd_root / GAZE_FILES[gaze], ids, progress=progress)
        # X/Y_ORIGINAL scale by the even-rounded size (§6): on an odd side the last value is
        # one past the edge and goes onto the border pixel; points further out are dropped.
        table = fit_to_images(table, shapes)
        self._offsets, self._xy, self._duration = table.offsets, table.xy, table.duration
        self._check_durations(ids)
        counts = np.diff(self._offsets)
        r = self.gaze_report = table.report
        warnings.warn(
            f"{r['file']}: kept {r['kept_rows']} of {r['rows']} rows; dropped "
            f"{r['calibration_rows']} calibration rows ({r['calibration_ids']} ids not in the "
            f"master sheet), {r['off_image_rows']} off-image rows (negative X/Y_ORIGINAL, or "
            f"{r['beyond_image_rows']} beyond the image) and {r['invalid_rows']} blank rows; "
            f"{r['images_without_gaze']} image(s) have no gaze",
            stacklevel=2,
        )
        self._boxes = (read_cardiac_boxes(self.egd_root / BOUNDING_BOXES, ids)
                       if heart == "cardiac_bbox" else None)
        self.labels = labels
        meta = {"dicom_id": sheet["dicom_id"], "patient_id": sheet["patient_id"],
                "study_id": sheet["study_id"], "label": labels,
                "class_name": [CLASS_NAMES[k] for k in labels],
                "rows": shapes[:, 0], "columns": shapes[:, 1], "n_gaze": counts,
                "has_gaze": counts > 0, "path": sheet["path"]}
        for extra in ("gender", "anchor_age"):
            if extra in sheet.columns:
                meta[extra] = sheet[extra]
        self.metadata = pd.DataFrame(meta)

    def _check_durations(self, ids: pd.Index) -> None:
        """FPOGD weighs each point (``weighting="duration"``): a negative or infinite duration
        is a broken row, named here rather than deep inside ``gaze_heatmap``."""
        if self.weighting != "duration":
            return  # unweighted: FPOGD is never read into Ψ
        path = self.egd_root / GAZE_FILES[self.gaze]
        bad = ~np.isfinite(self._duration) | (self._duration < 0)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            image = int(np.searchsorted(self._offsets, k, side="right")) - 1
            raise ValueError(f"{path}: column FPOGD = {float(self._duration[k])!r} on a row of dicom_id "
                             f"{ids[image]!r}; durations weigh the gaze points, so they must be "
                             f"finite seconds >= 0 ({int(bad.sum())} such row(s))")

    def _check_cases(self, sheet: pd.DataFrame, sheet_path: Path) -> None:
        """Every row's DICOM is named after it (``check_dicom_names``), and every image's
        folder and the masks it needs exist (one error, naming the first)."""
        check_dicom_names(sheet, sheet_path)
        ids = list(sheet["dicom_id"])
        check_distinct_files(list(zip(ids, self._paths)), self.mimic_root, "DICOM", sheet_path)
        keys = ("left_lung", "right_lung") + (("mediastinum",) if self.heart == "mediastinum" else ())
        folders, masks = [], {key: [] for key in keys}
        for dicom_id in ids:
            folder = self.egd_root / CASE_DIR / dicom_id
            require_dir(folder, f"folder of dicom_id {dicom_id!r}")
            folders.append((dicom_id, folder))
            for key in keys:
                masks[key].append((dicom_id, M.mask_path(folder, key)))
        check_distinct_files(folders, self.egd_root, "case folder", sheet_path)
        for key, files in masks.items():
            check_distinct_files(files, self.egd_root, f"{key} mask", sheet_path)

    def __len__(self) -> int:
        return len(self.metadata)

    def _index(self, i) -> int:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"index must be an int, got {type(i).__name__}")
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"index {i} out of range for {n} images")
        return int(i) % n

    def image_shape(self, i) -> tuple[int, int]:
        """(Rows, Columns) of image i, from its DICOM header."""
        row = self.metadata.iloc[self._index(i)]
        return int(row["rows"]), int(row["columns"])

    def gaze_points(self, i) -> pd.DataFrame:
        """Image i's kept gaze points: columns x, y (image pixels) and duration (FPOGD, s)."""
        i = self._index(i)
        a, b = self._offsets[i], self._offsets[i + 1]
        return pd.DataFrame({"x": self._xy[a:b, 0], "y": self._xy[a:b, 1],
                             "duration": self._duration[a:b]})

    def gaze_map(self, i) -> np.ndarray:
        """Ψ of image i: float32 (h, w) on the Ω grid, all zeros without gaze."""
        i = self._index(i)
        a, b = self._offsets[i], self._offsets[i + 1]
        weights = self._duration[a:b] if self.weighting == "duration" else None
        return gaze_heatmap(self._xy[a:b], self.image_shape(i), self.grid_shape, **self.blur,
                            weights=weights, resample=self.resample)

    def full_masks(self, i) -> dict[str, np.ndarray]:
        """Heart and lung regions of image i at full resolution, bool (H0, W0)."""
        i = self._index(i)
        shape = self.image_shape(i)
        folder = self.egd_root / CASE_DIR / self.metadata["dicom_id"].iat[i]
        lung = (M.read_mask(M.mask_path(folder, "left_lung"), shape)
                | M.read_mask(M.mask_path(folder, "right_lung"), shape))
        if self.heart == "mediastinum":
            heart = M.read_mask(M.mask_path(folder, "mediastinum"), shape)
        else:
            heart = M.box_mask(self._boxes[i], shape)
        return {"heart": heart, "lung": lung}

    def to_grid(self, i, mask: np.ndarray) -> np.ndarray:
        """A full-resolution bool region (H0, W0) of image i on the Ω grid, bool (h, w), by
        ``mask_rule``: the one reduction of every region (organs, true findings)."""
        geom = grid_geometry(self.image_shape(i), self.grid_shape)
        return M.to_grid(mask, geom, self.mask_rule)

    def masks(self, i) -> dict[str, np.ndarray]:
        """Heart and lung regions of image i on the Ω grid, bool (h, w) (``mask_rule``)."""
        return {k: self.to_grid(i, m) for k, m in self.full_masks(i).items()}

    def read_image(self, i) -> np.ndarray:
        """Image i as float32 (H0, W0) in [0, 1] (``read_dicom``)."""
        i = self._index(i)
        image = read_dicom(self._paths[i])
        if image.shape != self.image_shape(i):
            raise ValueError(f"{self._paths[i]}: pixel data {image.shape} differs from the "
                             f"header's Rows×Columns {self.image_shape(i)}")
        return image

    def __getitem__(self, i) -> dict:
        i = self._index(i)
        return {"image": self.read_image(i), "label": int(self.labels[i]),
                "gaze": self.gaze_map(i), "has_gaze": bool(self.metadata["has_gaze"].iat[i]),
                "masks": self.masks(i), "dicom_id": str(self.metadata["dicom_id"].iat[i])}

    def __repr__(self) -> str:
        counts = np.bincount(self.labels, minlength=3)
        return (f"EGDCXR({len(self)} images: " + ", ".join(f"{n} {c}" for n, c in zip(counts, CLASS_NAMES))
                + f"; gaze={self.gaze!r}, grid={self.grid_shape}, {self.blur})")
