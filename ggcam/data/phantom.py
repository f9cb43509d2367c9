"""``make_phantom``: a synthetic EGD-CXR + MIMIC-CXR in exactly the real release's layout.

The phantom is what the book, the tests and CI read: the same loader serves it and the real
data. Cases are drawn in two steps: the parent samples every case's identity (ids, class,
size, session) from one seeded generator, then each case is rendered from its own child seed
(``np.random.SeedSequence.spawn``), so ``workers > 1`` writes the same bytes as ``workers=1``.
The dataset is built in a temporary folder under ``root`` and moved into place at the end.

How hard the phantom is (``phantom_anatomy``): CHF enlarges the heart on average (CTR
0.54 ± 0.045 against 0.45 ± 0.035 for normals), with edema in about half and effusion in
about a third of the cases; pneumonia adds one to three focal consolidations of modest
density. Anatomy, exposure, rotation, lung markings and noise vary between patients. Measured
with a 5-block CNN trained from scratch for 30 epochs at 160×128 on 300 images (scale 0.0625,
70/10/20 split): train AUC ≈ 0.87, test AUC ≈ 0.75 (one-vs-one); one-vs-rest 0.77 for Normal
and CHF, 0.70 for pneumonia. Learnable, far from AUC 1.

Blur sizes are in image pixels: on a phantom of ``scale`` s use σ = 75.5·s (the paper's
B = 500 at full size), e.g. ``EGDCXR(..., sigma=75.5 * s)``.
"""

from __future__ import annotations

import multiprocessing
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import layout as L
from . import phantom_anatomy as pa
from . import phantom_draw, phantom_reader, phantom_tables

DX_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.1"
IMPLEMENTATION_UID = "2.25.163027004470911361254938458052393331526"  # ggcam phantom writer
FULL_SIZES = ((3056, 2544), (2544, 3056))  # portrait (58 %), landscape (25 %); the rest vary
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


def _uid(rng) -> str:
    return "2.25." + str(int.from_bytes(rng.bytes(16), "big"))


def write_dicom(path: Path, pixels: np.ndarray, spec: CaseSpec, window, rng) -> None:
    """A MIMIC-CXR-like DX DICOM: Explicit VR Little Endian, MONOCHROME2, 12 of 16 bits."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    sop = _uid(rng)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = DX_FOR_PRESENTATION
    meta.MediaStorageSOPInstanceUID = sop
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = DX_FOR_PRESENTATION, sop
    ds.StudyInstanceUID, ds.SeriesInstanceUID = _uid(rng), _uid(rng)
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = spec.date
    ds.StudyTime = f"{rng.integers(0, 24):02d}{rng.integers(0, 60):02d}{rng.integers(0, 60):02d}"
    ds.PatientID, ds.PatientName, ds.PatientSex = spec.patient_id, "Phantom", "F" if spec.female else "M"
    ds.StudyID, ds.AccessionNumber = spec.study_id, ""
    ds.Modality, ds.ViewPosition, ds.PresentationIntentType = "DX", "PA", "FOR PRESENTATION"
    ds.ImageType = ["DERIVED", "PRIMARY"]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.WindowCenter, ds.WindowWidth = f"{window[0]:.1f}", f"{window[1]:.1f}"
    ds.PixelSpacing = ds.ImagerPixelSpacing = [f"{spec.pixel_mm:.6g}"] * 2
    ds.PixelData = np.ascontiguousarray(pixels, dtype="<u2").tobytes()
    ds["PixelData"].VR = "OW"
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


def _write_png(path: Path, mask: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(mask.astype(np.uint8) * np.uint8(255)).save(path, format="PNG", compress_level=1)


def build_case(spec: CaseSpec, egd: Path, mimic: Path) -> dict:
    """Render one case, write its DICOM, masks and transcript; return its table rows."""
    rng = np.random.default_rng(spec.seed)
    anat = pa.sample_anatomy(rng, spec.label, spec.shape, spec.female)
    fnd = pa.sample_findings(rng, spec.label, anat)
    pixels, masks, window, boxes = phantom_draw.render(anat, fnd, spec.shape, rng)
    write_dicom(mimic / spec.path, pixels, spec, window, rng)
    folder = egd / L.CASE_DIR / spec.dicom_id
    folder.mkdir(parents=True, exist_ok=True)
    for stem, mask in masks.items():
        _write_png(folder / f"{stem}.png", mask)
    fix, raw = phantom_reader.read_image(rng, anat, fnd, spec.shape)
    cal = phantom_reader.calibrate(rng, spec.shape)
    duration = float(raw["Time (in secs)"][-1])
    (folder / L.TRANSCRIPT).write_text(phantom_tables.transcript(fnd, spec.label, duration, rng))
    row = phantom_tables.master_row(spec, anat, fnd, L.screen_pads(spec.shape), rng)
    return {"row": row, "boxes": phantom_tables.bbox_rows(spec.dicom_id, boxes),
            "screens": {"image": (fix, raw), "calibration": cal}}


def _build(args):
    return build_case(*args)


def _format(args):
    table, kwargs = args
    return phantom_tables.gaze_text(table, **kwargs)


def _screens(specs, results, rng) -> list[tuple[dict, dict, dict]]:
    """Reading order, sessions and counters: (fixation table, raw table, row kwargs) per screen."""
    out = []
    order = rng.permutation(len(specs))
    session, cnt0, fid0, tick0, left = 0, 0, 0, 0, 0
    for k in order:
        spec, screens = specs[k], results[k]["screens"]
        if left == 0:  # a new session starts with a calibration screen
            session, media, cnt0, fid0, left = session + 1, 0, 0, 0, int(rng.integers(15, 46))
            tick0 = int(rng.integers(10**11, 10**12))
        # A calibration screen opens each session and comes back now and then.
        names = ["calibration", "image"] if media == 0 or rng.random() < 0.08 else ["image"]
        for name in names:
            fix, raw = screens[name]
            screen_id = spec.dicom_id
            if name == "calibration":  # the release's two spellings of a calibration id
                screen_id = spec.dicom_id[:-5] if rng.random() < 0.5 else f"{spec.dicom_id}_calibration"
            media += 1
            kw = dict(session=session, media=media, dicom_id=screen_id, cnt0=cnt0, fid0=fid0,
                      tick0=tick0)
            out.append((fix, raw, kw))
            cnt0 += len(raw["CNT"])
            fid0 += len(fix["CNT"])
            tick0 += int(round((raw["Time (in secs)"][-1] + rng.uniform(2.0, 8.0)) * 1e7))
        left -= 1
    return out


def make_phantom(root, n_images: int = 1083, scale: float = 1.0, seed: int = 0, workers: int = 1,
                 progress: bool = True) -> dict:
    """Write a phantom EGD-CXR under ``root`` (``egd-cxr/1.0.0``, ``mimic-cxr/2.0.0/files``).

    Args:
        root: folder to write into; existing ``egd-cxr``/``mimic-cxr`` there are replaced.
        n_images: number of images; classes are split as evenly as possible.
        scale: image size relative to the release (1.0: mostly 3056×2544); sizes, boxes,
            masks and gaze coordinates all scale together.
        seed: the same seed writes the same bytes, whatever ``workers`` is.
        workers: processes rendering cases in parallel.
        progress: show a tqdm progress bar.

    Returns:
        {"egd_root": Path, "mimic_root": Path}.
    """
    if isinstance(n_images, bool) or not isinstance(n_images, (int, np.integer)) or n_images < 1:
        raise ValueError(f"n_images must be a positive int, got {n_images!r}")
    if not (isinstance(scale, (int, float)) and 0 < scale <= 2):
        raise ValueError(f"scale must be in (0, 2], got {scale!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive int, got {workers!r}")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    specs = case_specs(int(n_images), float(scale), seed)
    tmp = Path(tempfile.mkdtemp(prefix=".phantom-", dir=root))
    egd, mimic = tmp / "egd-cxr" / "1.0.0", tmp / "mimic-cxr" / "2.0.0"
    egd.mkdir(parents=True)
    try:
        bar = tqdm(total=len(specs), desc="phantom", disable=not progress, unit="image")
        tasks = [(s, egd, mimic) for s in specs]
        pool = multiprocessing.get_context().Pool(workers) if workers > 1 else None
        try:
            results = []
            for r in (pool.imap(_build, tasks, chunksize=2) if pool else map(_build, tasks)):
                results.append(r)
                bar.update()
            bar.close()
            rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[2])
            screens = _screens(specs, results, rng)
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
        (egd / L.MASTER_SHEET).write_text(
            phantom_tables.csv_text([r["row"] for r in results], L.MASTER_COLUMNS), newline="")
        (egd / L.BOUNDING_BOXES).write_text(
            phantom_tables.csv_text([b for r in results for b in r["boxes"]], L.BBOX_COLUMNS), newline="")
        for part in ("egd-cxr", "mimic-cxr"):
            if (root / part).exists():
                shutil.rmtree(root / part)
            (tmp / part).rename(root / part)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"egd_root": root / "egd-cxr" / "1.0.0", "mimic_root": root / "mimic-cxr" / "2.0.0"}
