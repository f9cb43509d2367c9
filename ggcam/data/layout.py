"""The EGD-CXR + MIMIC-CXR release on disk: file names, column lists, screen geometry.

Everything here is a constant or a pure function of one; the loader and the phantom
generator both import it, so the files one writes are the files the other reads
(``shared/docs/egd-cxr-format.md`` is the source of every fact).
"""

from __future__ import annotations

import numpy as np

from ggcam.study import CLASS_KEYS, CLASS_NAMES, PAPER_CLASS_NAMES  # noqa: F401  (the release's class columns)

MASTER_SHEET = "master_sheet.csv"
FIXATIONS = "fixations.csv"
EYE_GAZE = "eye_gaze.csv"
BOUNDING_BOXES = "bounding_boxes.csv"
CASE_DIR = "audio_segmentation_transcripts"
TRANSCRIPT = "transcript.json"
# The release spells the mediastinum mask "mediastanum"; a corrected copy may not.
MASK_FILES = {
    "left_lung": ("left_lung.png",),
    "right_lung": ("right_lung.png",),
    "mediastinum": ("mediastanum.png", "mediastinum.png"),
    "aortic_knob": ("aortic_knob.png",),
}

MASTER_COLUMNS = (
    "dicom_id", "path", "study_id", "patient_id", "stay_id", "gender", "anchor_age",
    "image_top_pad", "image_bottom_pad", "image_left_pad", "image_right_pad",
    "dx1", "dx1_icd", "dx2", "dx2_icd", "dx3", "dx3_icd", "dx4", "dx4_icd", "dx5", "dx5_icd",
    "dx6", "dx6_icd", "dx7", "dx7_icd", "dx8", "dx8_icd", "dx9", "dx9_icd",
    "normal_reports", "Normal", "CHF", "pneumonia",
    "consolidation", "enlarged_cardiac_silhouette", "linear__patchy_atelectasis",
    "lobar__segmental_collapse",
    "not_otherwise_specified_opacity___pleural__parenchymal_opacity__",
    "pleural_effusion_or_thickening", "pulmonary_edema__hazy_opacity", "normal_anatomically",
    "elevated_hemidiaphragm", "hyperaeration", "vascular_redistribution",
    "atelectasis__chx", "cardiomegaly__chx", "consolidation__chx", "edema__chx",
    "enlarged_cardiomediastinum__chx", "fracture__chx", "lung_lesion__chx",
    "lung_opacity__chx", "no_finding__chx", "pleural_effusion__chx", "pleural_other__chx",
    "pneumonia__chx", "pneumothorax__chx", "support_devices__chx", "cxr_exam_indication",
)
# MASTER_COLUMNS[33:44] are the 11 report flags (0/1); nothing here reads them.
CHEXPERT_COLUMNS = MASTER_COLUMNS[44:58]  # 14 CheXpert labels: 1, 0, -1 or blank
PAD_COLUMNS = ("image_top_pad", "image_bottom_pad", "image_left_pad", "image_right_pad")

GAZE_COLUMNS = (
    "SESSION_ID", "MEDIA_ID", "DICOM_ID", "CNT", "Time (in secs)", "TIMETICK(f=10000000)",
    "FPOGX", "FPOGY", "FPOGS", "FPOGD", "FPOGID", "FPOGV", "BPOGX", "BPOGY", "BPOGV",
    "LPCX", "LPCY", "LPD", "LPS", "LPV", "RPCX", "RPCY", "RPD", "RPS", "RPV",
    "BKID", "BKDUR", "BKPMIN", "LPMM", "LPMMV", "RPMM", "RPMMV",
    "SACCADE_MAG", "SACCADE_DIR", "VID_FRAME", "X_ORIGINAL", "Y_ORIGINAL",
)
GAZE_FILES = {"fixations": FIXATIONS, "eye_gaze": EYE_GAZE}

BBOX_COLUMNS = ("dicom_id", "bbox_name", "x1", "x2", "y1", "y2")  # note the x1, x2, y1, y2 order
BBOX_NAMES = (
    "cardiac silhouette", "left clavicle", "left costophrenic angle", "left hilar structures",
    "left lower lung zone", "left lung", "left mid lung zone", "left upper lung zone",
    "right clavicle", "right costophrenic angle", "right hilar structures",
    "right lower lung zone", "right lung", "right mid lung zone", "right upper lung zone",
    "trachea", "upper mediastinum",
)

# The reading screen (format doc §6): a 1920×1080 display, the image fitted into 1920×1024.
SCREEN_W, SCREEN_H, CANVAS_H = 1920, 1080, 1024


def dicom_relpath(patient_id: str, study_id: str, dicom_id: str) -> str:
    """The master sheet's ``path``: files/p{pid[:2]}/p{pid}/s{sid}/{dicom_id}.dcm."""
    return f"files/p{patient_id[:2]}/p{patient_id}/s{study_id}/{dicom_id}.dcm"


def screen_pads(image_shape) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) screen pads of an (H, W) image, the master sheet's pads (§6)."""
    H, W = (int(s) for s in image_shape)
    ratio = CANVAS_H / max(H, W)
    nh, nw = int(H * ratio), int(W * ratio)
    dh, dw = CANVAS_H - nh, SCREEN_W - nw
    return dh // 2, dh - dh // 2, dw // 2, dw - dw // 2


def screen_to_image(fpogx, fpogy, image_shape, *, sentinel_floor: bool = False
                    ) -> tuple[np.ndarray, np.ndarray]:
    """X_ORIGINAL, Y_ORIGINAL from screen fractions FPOGX, FPOGY, exactly as the release (§6).

    Args:
        fpogx, fpogy: shape (M,), fractions of the 1920×1080 screen.
        image_shape: (H, W) of the DICOM.
        sentinel_floor: make the off-image sentinel at most −1. The release's int(−scale)
            is −2 or −1 on its ~2000-3000-px images, but truncates to 0 (a valid pixel) on
            images under ~1000 px; the phantom's scaled-down images use this option.

    Returns:
        two int64 arrays (M,): x = column, y = row; off-image gaze gives the release's small
        negative sentinel int(−scale) (−2 on ~3000-px images).
    """
    H, W = (int(s) for s in image_shape)
    top, bottom, left, right = screen_pads((H, W))
    He, We = H + H % 2, W + W % 2
    ex = np.asarray(fpogx, dtype=np.float64) * SCREEN_W
    ey = np.asarray(fpogy, dtype=np.float64) * SCREEN_H
    inside = (left < ex) & (ex < SCREEN_W - right) & (top < ey) & (ey < SCREEN_H - bottom)
    xo = np.where(inside, ex - left, -1.0)
    yo = np.where(inside, ey - top, -1.0)
    # int() truncates toward zero, as Python's int() in the authors' script.
    x = np.trunc(We / (SCREEN_W - left - right) * xo).astype(np.int64)
    y = np.trunc(He / (SCREEN_H - top - bottom) * yo).astype(np.int64)
    if sentinel_floor:
        x, y = np.where(inside, x, np.minimum(x, -1)), np.where(inside, y, np.minimum(y, -1))
    return x, y


def image_to_screen(x, y, image_shape) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of ``screen_to_image`` for points on the image: (x, y) pixels → FPOGX, FPOGY.

    A continuous point (x, y) maps back to X_ORIGINAL = floor(x), Y_ORIGINAL = floor(y) up
    to float rounding at integer coordinates.
    """
    H, W = (int(s) for s in image_shape)
    top, bottom, left, right = screen_pads((H, W))
    He, We = H + H % 2, W + W % 2
    ex = left + np.asarray(x, dtype=np.float64) * (SCREEN_W - left - right) / We
    ey = top + np.asarray(y, dtype=np.float64) * (SCREEN_H - top - bottom) / He
    return ex / SCREEN_W, ey / SCREEN_H
