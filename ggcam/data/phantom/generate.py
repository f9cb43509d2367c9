"""``make_phantom``: a synthetic EGD-CXR + MIMIC-CXR in exactly the real release's layout.

The phantom is what the book, the tests and CI read: the same loader serves it and the real
data. Cases are drawn in two steps: the parent samples every case's identity (ids, class,
size, session) from one seeded generator, then each case is rendered from its own child seed
(``np.random.SeedSequence.spawn``), so ``workers > 1`` writes the same bytes as ``workers=1``.
The dataset is built in a temporary folder under ``root`` (holding its owner file,
``TEMP_OWNER``) and moved into place at the end; ``root/.ggcam-phantom.json`` marks the folder
as the phantom's. Nothing is removed or replaced without its own proof of ownership
(``ownership.check_owned``, ``remove_stale_temps``): a user's file or folder stays, and the
call says so. Beside the release, ``root/phantom-truth.csv`` holds every drawn finding's box
(``truth``): the ground truth real data does not have.

How hard the phantom is (``phantom_anatomy``): CHF enlarges the heart on average (CTR
0.54 ± 0.045 against 0.45 ± 0.035 for normals), with edema in about half and effusion in
about a third of the cases; pneumonia adds one to three focal consolidations of modest
density. Anatomy, exposure, rotation, lung markings and noise vary between patients. Measured
with a 5-block CNN trained from scratch for 30 epochs at 160×128 on 300 images (scale 0.0625,
70/10/20 split): train AUC ≈ 0.87, test AUC ≈ 0.75 (one-vs-one); one-vs-rest 0.77 for Normal
and CHF, 0.70 for pneumonia. Learnable, far from AUC 1.

Blur sizes are in image pixels: on a phantom of ``scale`` s use σ = 75.5·s (the paper's
B = 500 at full size), e.g. ``EGDCXR(..., sigma=75.5 * s)``.

How informative the gaze is: after a systematic scan (about 20 fixations) the simulated
reader aims a share ``informativeness`` of its remaining fixations at the findings (default
0.6, ``phantom_reader.INFORMATIVENESS``); 0 makes the gaze ignore the findings beyond the
scan, 1 dwells only on them.
"""

from __future__ import annotations

import math
import multiprocessing
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ggcam.data import layout as L
from ggcam.data.phantom import anatomy as pa
from ggcam.data.phantom import draw as phantom_draw
from ggcam.data.phantom import reader as phantom_reader
from ggcam.data.phantom import tables as phantom_tables
from ggcam.data.phantom.files import write_dicom, write_png
from ggcam.data.phantom.marker import install, remove_stale_temps
from ggcam.data.phantom.ownership import OWN_FILES, check_owned, make_temp
from ggcam.data.phantom.truth import TRUTH_COLUMNS, TRUTH_FILE, truth_rows
from ggcam.runtime import capped

__all__ = ["AGES", "FULL_SIZES", "OWN_FILES", "PHANTOM_VERSION", "CaseSpec", "build_case",
           "case_specs", "check_owned", "make_phantom", "phantom_params"]

FULL_SIZES = ((3056, 2544), (2544, 3056))  # portrait (58 %), landscape (25 %); the rest vary
PHANTOM_VERSION = 1  # bump when the same parameters would write different bytes
AGES = ("20 - 30", "30 - 40", "40 - 50", "50 - 60", "60 - 70", "70 - 80", "80 - 90")


@dataclass(frozen=True)
class CaseSpec:
    index: int  # row in the master sheet
    seed: np.random.SeedSequence  # child seed: everything drawn for this case
    dicom_id: str
    study_id: str
    patient_id: str
    stay_id: str  # blank for some records, as in the release
    label: int  # 0 Normal, 1 CHF, 2 pneumonia
    shape: tuple[int, int]  # (Rows, Columns) at this scale
    female: bool
    age: str
    date: str  # StudyDate, YYYYMMDD (MIMIC dates are shifted into the future)
    pixel_mm: float  # pixel spacing at this scale

    @property
    def path(self) -> str:
        return L.dicom_relpath(self.patient_id, self.study_id, self.dicom_id)


def _digits(rng, lead: str, used: set) -> str:
    while True:
        value = lead + "".join(str(d) for d in rng.integers(0, 10, 7))
        if value not in used:
            used.add(value)
            return value


def _shape(rng, scale: float) -> tuple[int, int]:
    kind = rng.choice(3, p=[0.58, 0.25, 0.17])
    H, W = FULL_SIZES[kind] if kind < 2 else (int(rng.integers(2000, 3057)), int(rng.integers(1700, 3057)))
    H, W = max(8, round(H * scale)), max(8, round(W * scale))
    H, W = H + H % 2, W + W % 2
    if rng.random() < 0.045:  # 46 of 1,083 real images have an odd side
        H, W = (H - 1, W) if rng.random() < 0.5 else (H, W - 1)
    return H, W


def case_specs(n_images: int, scale: float, seed: int) -> list[CaseSpec]:
    """Every case's identity, from one generator; the second of each pair is a child seed."""
    master_seq, case_seq = np.random.SeedSequence(seed).spawn(2)
    rng = np.random.default_rng(master_seq)
    counts = [n_images // 3 + (k < n_images % 3) for k in range(3)]
    labels = rng.permutation(np.repeat(np.arange(3), counts))
    used: dict[str, set] = {"dicom": set(), "p": set(), "s": set(), "stay": set()}
    specs = []
    for k, child in enumerate(case_seq.spawn(n_images)):
        dicom_id = "-".join(f"{x:08x}" for x in rng.integers(0, 2**32, 5))
        while dicom_id in used["dicom"]:
            dicom_id = "-".join(f"{x:08x}" for x in rng.integers(0, 2**32, 5))
        used["dicom"].add(dicom_id)
        if specs and rng.random() < 0.03:  # a second image of an earlier patient
            prev = specs[int(rng.integers(len(specs)))]
            patient, female, age = prev.patient_id, prev.female, prev.age
        else:
            patient, female, age = _digits(rng, "1", used["p"]), bool(rng.random() < 0.5), AGES[rng.integers(7)]
        stay = _digits(rng, "3", used["stay"]) if rng.random() < 0.7 else ""
        date = f"21{rng.integers(10, 90)}{rng.integers(1, 13):02d}{rng.integers(1, 29):02d}"
        shape = _shape(rng, scale)
        specs.append(CaseSpec(k, child, dicom_id, _digits(rng, "5", used["s"]), patient, stay,
                              int(labels[k]), shape, female, age, date, 0.139 / scale))
    return specs


def _finding_boxes(spec: CaseSpec, extents, boxes) -> list:
    """(finding, (x0, y0, x1, y1)) of one case: the heart for CHF, then each drawn finding."""
    out = []
    if spec.label == 1:  # CHF: the (on average enlarged) heart is the finding
        x1, x2, y1, y2 = boxes["cardiac silhouette"]
        out.append(("cardiomegaly", (x1, y1, x2, y2)))
    for name, low_res in extents:
        box = phantom_draw.box_of(low_res, spec.shape)
        if box is not None:
            out.append((name, (box[0], box[2], box[1], box[3])))
    return out


def build_case(spec: CaseSpec, egd: Path, mimic: Path, informativeness=None) -> dict:
    """Render one case, write its DICOM, masks and transcript; return its table rows."""
    rng = np.random.default_rng(spec.seed)
    anat = pa.sample_anatomy(rng, spec.label, spec.shape, spec.female)
    fnd = pa.sample_findings(rng, spec.label, anat)
    extents: list = []
    pixels, masks, window, boxes = phantom_draw.render(anat, fnd, spec.shape, rng, extents)
    write_dicom(mimic / spec.path, pixels, spec, window, rng)
    folder = egd / L.CASE_DIR / spec.dicom_id
    folder.mkdir(parents=True, exist_ok=True)
    for stem, mask in masks.items():
        write_png(folder / f"{stem}.png", mask)
    fix, raw = phantom_reader.read_image(rng, anat, fnd, spec.shape, informativeness)
    cal = phantom_reader.calibrate(rng, spec.shape)
    duration = float(raw["Time (in secs)"][-1])
    (folder / L.TRANSCRIPT).write_text(phantom_tables.transcript(fnd, spec.label, duration, rng))
    row = phantom_tables.master_row(spec, anat, fnd, L.screen_pads(spec.shape), rng)
    return {"row": row, "boxes": phantom_tables.bbox_rows(spec.dicom_id, boxes),
            "truth": truth_rows(spec.dicom_id, spec.label, _finding_boxes(spec, extents, boxes)),
            "screens": {"image": (fix, raw), "calibration": cal}}


def _build(args):
    return build_case(*args)


def _format(args):
    table, kwargs = args
    return phantom_tables.gaze_text(table, **kwargs)


def phantom_params(n_images: int, scale: float, seed: int, informativeness=None) -> dict:
    """The generation parameters, as the marker file records them."""
    return {"generator": "ggcam.data.make_phantom", "version": PHANTOM_VERSION,
            "n_images": int(n_images), "scale": float(scale), "seed": int(seed),
            "informativeness": None if informativeness is None else float(informativeness)}


def make_phantom(root, n_images: int = 1083, scale: float = 1.0, seed: int = 0, workers: int = 1,
                 progress: bool = True, informativeness: float | None = None) -> dict:
    """Write a phantom EGD-CXR under ``root`` (``egd-cxr/1.0.0``, ``mimic-cxr/2.0.0/files``).

    Args:
        root: folder to write into. Existing ``egd-cxr``/``mimic-cxr`` there are replaced
            only when ``root`` carries the phantom's marker (``.ggcam-phantom.json``); without
            it they may be real data, and the call refuses.
        n_images: number of images; classes are split as evenly as possible.
        scale: image size relative to the release (1.0: mostly 3056×2544); sizes, boxes,
            masks and gaze coordinates all scale together.
        seed: the same seed writes the same bytes, whatever ``workers`` is.
        workers: processes rendering cases in parallel.
        progress: show a tqdm progress bar.
        informativeness: share of the reader's free fixations aimed at the findings, in
            [0, 1]; None is today's reader (0.6), byte for byte.

    Returns:
        {"egd_root": Path, "mimic_root": Path, "truth_path": Path} (``root/phantom-truth.csv``).

    Raises:
        ValueError: a bad argument, or ``root`` holds ``egd-cxr``/``mimic-cxr`` without the
            marker (the message names the folder).
    """
    _check_arguments(n_images, scale, workers, informativeness)
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise ValueError(f"root {root} is a file, expected a folder")
    root.mkdir(parents=True, exist_ok=True)
    check_owned(root)  # refuse before any work
    remove_stale_temps(root)
    params = phantom_params(n_images, scale, seed, informativeness)
    specs = case_specs(int(n_images), float(scale), seed)
    tmp = make_temp(root)
    egd, mimic = tmp / "egd-cxr" / "1.0.0", tmp / "mimic-cxr" / "2.0.0"
    egd.mkdir(parents=True)
    try:
        results = _write_cases(specs, egd, mimic, informativeness, seed, workers, progress)
        _write_tables(results, egd, tmp)
        install(tmp, root, params, extra_files=(TRUTH_FILE,))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"egd_root": root / "egd-cxr" / "1.0.0", "mimic_root": root / "mimic-cxr" / "2.0.0",
            "truth_path": root / TRUTH_FILE}


def _check_arguments(n_images, scale, workers, informativeness) -> None:
    if isinstance(n_images, bool) or not isinstance(n_images, (int, np.integer)) or n_images < 1:
        raise ValueError(f"n_images must be a positive int, got {n_images!r}")
    if not (isinstance(scale, (int, float)) and 0 < scale <= 2):
        raise ValueError(f"scale must be in (0, 2], got {scale!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive int, got {workers!r}")
    if informativeness is not None and (isinstance(informativeness, bool) or not isinstance(
            informativeness, (int, float)) or not (0 <= informativeness <= 1) or math.isnan(informativeness)):
        raise ValueError(f"informativeness must be None or in [0, 1], got {informativeness!r}")


def _write_cases(specs: list[CaseSpec], egd: Path, mimic: Path, informativeness, seed: int,
                 workers: int, progress: bool) -> list[dict]:
    """Render every case (DICOM, masks, transcript), then write the two gaze tables in the
    reading order of ``phantom_tables.screens_in_reading_order``; returns each case's table rows."""
    bar = tqdm(total=len(specs), desc="phantom", disable=not progress, unit="image")
    tasks = [(s, egd, mimic, informativeness) for s in specs]
    workers = capped(workers, "phantom workers", items=len(specs))
    pool = multiprocessing.get_context().Pool(workers) if workers > 1 else None
    try:
        results = []
        for r in (pool.imap(_build, tasks, chunksize=2) if pool else map(_build, tasks)):
            results.append(r)
            bar.update()
        bar.close()
        rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[2])
        screens = phantom_tables.screens_in_reading_order(specs, results, rng)
        for name, col in ((L.FIXATIONS, 0), (L.EYE_GAZE, 1)):
            jobs = [(s[col], s[2]) for s in screens]
            chunks = pool.imap(_format, jobs, chunksize=8) if pool else map(_format, jobs)
            with open(egd / name, "w", newline="") as f:
                f.write(",".join(L.GAZE_COLUMNS) + "\n")
                f.writelines(chunks)
    finally:
        if pool:
            pool.close()
            pool.join()
    return results


def _write_tables(results: list[dict], egd: Path, tmp: Path) -> None:
    """The master sheet, the bounding boxes and, beside the release, the true findings."""
    (egd / L.MASTER_SHEET).write_text(
        phantom_tables.csv_text([r["row"] for r in results], L.MASTER_COLUMNS), newline="")
    (egd / L.BOUNDING_BOXES).write_text(
        phantom_tables.csv_text([b for r in results for b in r["boxes"]], L.BBOX_COLUMNS), newline="")
    (tmp / TRUTH_FILE).write_text(
        phantom_tables.csv_text([t for r in results for t in r["truth"]], TRUTH_COLUMNS), newline="")
