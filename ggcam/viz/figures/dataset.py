"""Page 02, the data: the release's folders, the phantom's truth, one case per class, the
gaze as fixations and as raw samples, the split, what the reader's informativeness does."""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ggcam.study import CLASS_NAMES, PAPER_CLASS_NAMES
from ggcam.viz.figures.common import axis_off
from ggcam.viz.style import STYLE, figure


def tree(folder, depth: int = 1, limit: int = 8, indent: str = "") -> str:
    """A short listing of ``folder``: at most ``limit`` entries per folder, ``depth`` levels."""
    folder = Path(folder)
    lines = []
    entries = sorted(folder.iterdir())
    for p in entries[:limit]:
        lines.append(f"{indent}{p.name}{'/' if p.is_dir() else ''}")
        if p.is_dir() and depth > 0:
            lines.append(tree(p, depth - 1, limit, indent + "    "))
    if len(entries) > limit:
        lines.append(f"{indent}... ({len(entries) - limit} more)")
    return "\n".join(line for line in lines if line)


def truth_table(truth: pd.DataFrame) -> pd.DataFrame:
    """``phantom-truth.csv`` summarised: per class, images and boxes of each finding."""
    rows = []
    for name, part in truth.groupby("class_name", sort=False):
        found = part[part["finding"] != "none"]
        rows.append({"class": name, "images": part["dicom_id"].nunique(),
                     **{f: int((found["finding"] == f).sum())
                        for f in ("cardiomegaly", "edema", "effusion", "consolidation")}})
    return pd.DataFrame(rows)


def class_counts(metadata: pd.DataFrame) -> pd.DataFrame:
    """Images per class, in label order, with the name the paper gives each class."""
    counts = metadata.groupby("class_name", sort=False).size()
    counts = counts.reindex([c for c in CLASS_NAMES if c in counts.index])
    return pd.DataFrame({"class_name": counts.index,
                         "paper's name": [PAPER_CLASS_NAMES[CLASS_NAMES.index(c)] for c in counts.index],
                         "images": counts.to_numpy()})


def first_case_per_class(labels) -> list[int]:
    """The position of the first image of each class that occurs (the page's example cases)."""
    labels = np.asarray(labels)
    return [int(np.flatnonzero(labels == c)[0]) for c in range(len(CLASS_NAMES)) if (labels == c).any()]


def cases_figure(ds, cases, truth: pd.DataFrame | None = None) -> Figure:
    """One image per class: lung (blue) and mediastinum (orange) outlines, the true-finding
    boxes (cyan, dashed) and the simulated reader's fixations as a light scanpath (hollow
    circles, area by duration) that leaves the anatomy visible."""
    fig = figure(6.4, 3.2)
    with mpl.rc_context(STYLE):
        axes = fig.subplots(1, len(cases))
        for ax, i in zip(np.atleast_1d(axes), cases):
            full = ds.full_masks(i)
            pts = ds.gaze_points(i)
            ax.imshow(ds.read_image(i), cmap="gray")
            ax.contour(full["lung"], levels=[0.5], colors="tab:blue", linewidths=1)
            ax.contour(full["heart"], levels=[0.5], colors="tab:orange", linewidths=1)
            # Thin, light path and hollow circles, so the drawn chest shows through.
            ax.plot(pts.x, pts.y, "-", color="yellow", lw=0.35, alpha=0.45)
            ax.scatter(pts.x, pts.y, s=14 * pts.duration / pts.duration.mean(), facecolors="none",
                       edgecolors="red", linewidths=0.6, alpha=0.8)
            if truth is not None:
                boxes = truth[(truth["dicom_id"] == ds.metadata["dicom_id"].iat[i])
                              & (truth["finding"] != "none")]
                for b in boxes.itertuples():
                    ax.add_patch(mpl.patches.Rectangle((b.x0, b.y0), b.x1 - b.x0, b.y1 - b.y0,
                                                       fill=False, ec="cyan", ls="--", lw=1.5))
            ax.set_title(f"{ds.metadata.class_name.iat[i]}: {len(pts)} fixations")
            axis_off(ax)
    return fig


def sampling_figure(fixations, raw, i: int) -> Figure:
    """The same image's gaze as fixations and as raw ~60 Hz samples."""
    fig = figure(6.4, 3.4)
    image = fixations.read_image(i)
    with mpl.rc_context(STYLE):
        axes = fig.subplots(1, 2)
        for ax, ds, what, size in ((axes[0], fixations, "fixations", 10),
                                   (axes[1], raw, "raw samples", 2)):
            pts = ds.gaze_points(i)
            ax.imshow(image, cmap="gray")
            ax.scatter(pts.x, pts.y, s=size, color="red", alpha=0.6, linewidths=0)
            ax.set_title(f"{what} ({len(pts)})")
            axis_off(ax)
    return fig


def split_table(metadata: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Images per side and class under each of ``ggcam.data.split``'s schemes."""
    from ggcam.data import CLASS_NAMES, split

    rows = []
    for scheme in ("paper", "released", "patient"):
        for side, idx in split(metadata, scheme, seed=seed).items():
            classes = metadata["class_name"].iloc[idx].value_counts()
            rows.append({"scheme": scheme, "side": side, "images": len(idx),
                         **{c: int(classes.get(c, 0)) for c in CLASS_NAMES}})
    return pd.DataFrame(rows)


def informativeness_effect(work_dir, values=(0.0, 0.6, 1.0), n_images: int = 30,
                           scale: float = 0.1, seed: int = 0) -> pd.DataFrame:
    """What the phantom reader's ``informativeness`` does: for small phantoms made with each
    value, the share of raw gaze samples of CHF and pneumonia images that fall in a true
    finding's box, beside the share of the image the boxes cover (where a blind reader's
    samples would fall)."""
    from ggcam.data import EGDCXR, make_phantom, read_phantom_truth
    from ggcam.data.phantom.truth import boxes_by_image, finding_mask

    rows = []
    for value in values:
        root = Path(work_dir) / f"informativeness-{value:g}"
        if not (root / "phantom-truth.csv").is_file():
            make_phantom(root, n_images=n_images, scale=scale, seed=seed, progress=False,
                         informativeness=value)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the reader's drop report
            ds = EGDCXR(root / "egd-cxr" / "1.0.0", root / "mimic-cxr" / "2.0.0",
                        gaze="eye_gaze", progress=False)
        truth = read_phantom_truth(root / "phantom-truth.csv")
        ids = list(ds.metadata["dicom_id"])
        boxes = boxes_by_image(truth, ids, root / "phantom-truth.csv")
        inside, area = [], []
        for i in np.flatnonzero(ds.labels > 0):
            mask = finding_mask(boxes[i], ds.image_shape(i))
            pts = ds.gaze_points(i)[["x", "y"]].to_numpy().astype(int)
            if len(pts):
                inside.append(mask[pts[:, 1], pts[:, 0]].mean())
                area.append(mask.mean())
        rows.append({"informativeness": value, "abnormal images": len(inside),
                     "samples in a finding box": float(np.mean(inside)),
                     "image area in a finding box": float(np.mean(area))})
    return pd.DataFrame(rows)
