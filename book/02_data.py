# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python (ggcam)
#     language: python
#     name: ggcam
# ---

# %% [markdown]
# # The data
#
# ## Overview
#
# The paper uses EGD-CXR (Karargyris et al., 2021): 1,083 MIMIC-CXR chest radiographs, each
# read by one radiologist while an eye tracker (Gazepoint GP3, ~60 Hz) recorded where they
# looked, with lung and mediastinum masks, 17 anatomical bounding boxes and the dictated report.
# The labels are balanced: Normal, CHF (the paper's "cardiomegaly") and pneumonia.
#
# Both EGD-CXR and MIMIC-CXR are credentialed, so this page — like the whole book — uses the
# **phantom**: synthetic radiographs and a simulated reader's gaze, written by
# `ggcam.data.make_phantom` in exactly the release's layout. `ggcam.data.EGDCXR` reads either.

# %%
# %matplotlib inline
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from myst_nb import glue

from ggcam.data import CLASS_NAMES, EGDCXR, PAPER_CLASS_NAMES, make_phantom, split

warnings.filterwarnings("ignore", message=".*kept .* rows")  # shown below as a table instead

# %% tags=["parameters"]
phantom_dir = "../.cache/book-phantom"  # small full-size phantom shared by the data pages
n_images = 12  # phantom images to generate (the release has 1,083)
seed = 0  # phantom seed; the same seed writes the same bytes

# %% [markdown]
# ## The layout on disk
#
# Two roots, as in the release: the gaze release `egd-cxr/1.0.0/` and the images under
# `mimic-cxr/2.0.0/files/p{patient[:2]}/p{patient}/s{study}/{dicom_id}.dcm`.

# %%
root = Path(phantom_dir)
if not (root / "egd-cxr" / "1.0.0" / "master_sheet.csv").is_file():
    make_phantom(root, n_images=n_images, scale=1.0, seed=seed, progress=False)
egd, mimic = root / "egd-cxr" / "1.0.0", root / "mimic-cxr" / "2.0.0"


def tree(folder: Path, depth: int = 2, limit: int = 4, indent: str = "") -> list[str]:
    """A short listing: at most ``limit`` entries per folder."""
    lines = []
    entries = sorted(folder.iterdir())
    for p in entries[:limit]:
        lines.append(f"{indent}{p.name}{'/' if p.is_dir() else ''}")
        if p.is_dir() and depth > 0:
            lines += tree(p, depth - 1, limit, indent + "    ")
    if len(entries) > limit:
        lines.append(f"{indent}... ({len(entries) - limit} more)")
    return lines


print("egd-cxr/1.0.0/")
print("\n".join(tree(egd, depth=1, limit=8, indent="    ")))

# %%
sheet = pd.read_csv(egd / "master_sheet.csv")
glue("n_columns", sheet.shape[1], display=False)
sheet[["dicom_id", "path", "patient_id", "Normal", "CHF", "pneumonia", "cxr_exam_indication"]].head(3)

# %% [markdown]
# `master_sheet.csv` has {glue:text}`n_columns` columns. The exam indication is free text with
# commas and embedded newlines, so the reader uses a real CSV parser and never counts lines.
#
# ## Reading it
#
# `EGDCXR` joins the master sheet, the gaze table, the masks and the DICOMs. It drops the rows
# of calibration screens (ids not in the master sheet) and off-image samples (negative
# X/Y_ORIGINAL), and says how many:

# %%
ds = EGDCXR(egd, mimic, gaze="fixations", grid_shape=(48, 40), kernel_size=500, progress=False)
raw = EGDCXR(egd, mimic, gaze="eye_gaze", grid_shape=(48, 40), kernel_size=500, progress=False)
report = pd.DataFrame({"fixations.csv": ds.gaze_report, "eye_gaze.csv": raw.gaze_report}).drop("file")
glue("calibration_rows", int(ds.gaze_report["calibration_rows"]), display=False)
report

# %%
counts = ds.metadata.groupby("class_name", sort=False).size().rename("images").to_frame()
counts.insert(0, "paper's name", [PAPER_CLASS_NAMES[CLASS_NAMES.index(c)] for c in counts.index])
counts

# %% [markdown]
# ## One case per class
#
# Each phantom image is drawn with two lungs, a mediastinum and heart, ribs and soft tissue.
# CHF enlarges the cardiac silhouette (sometimes with edema or effusion); pneumonia adds focal
# consolidations. Outlined: the lung masks (blue) and the mediastinum (orange) — the regions of
# eq. 12. The simulated reader's fixations are drawn as a scanpath (numbered by order, area by
# duration).

# %%
cases = [int(np.flatnonzero(ds.labels == c)[0]) for c in range(3)]
fig = Figure(figsize=(10, 4.4), layout="constrained")
axes = fig.subplots(1, 3)
for ax, i in zip(axes, cases):
    image = ds.read_image(i)
    full = ds.full_masks(i)
    pts = ds.gaze_points(i)
    ax.imshow(image, cmap="gray")
    ax.contour(full["lung"], levels=[0.5], colors="tab:blue", linewidths=1)
    ax.contour(full["heart"], levels=[0.5], colors="tab:orange", linewidths=1)
    ax.plot(pts.x, pts.y, "-", color="yellow", lw=0.6, alpha=0.7)
    ax.scatter(pts.x, pts.y, s=40 * pts.duration / pts.duration.mean(), color="red", alpha=0.6)
    ax.set_title(f"{ds.metadata.class_name.iat[i]}: {len(pts)} fixations", fontsize=9)
    ax.axis("off")
fig

# %% [markdown]
# ### Fixations and raw samples
#
# `fixations.csv` holds one row per fixation (with its start FPOGS and duration FPOGD);
# `eye_gaze.csv` the raw ~60 Hz samples, jittering around each fixation. Either can feed
# Algorithm 1.

# %%
i = cases[2]
fx, rw = ds.gaze_points(i), raw.gaze_points(i)
fig = Figure(figsize=(8, 4), layout="constrained")
axes = fig.subplots(1, 2, sharex=True, sharey=True)
image = ds.read_image(i)
for ax, pts, title in ((axes[0], fx, f"fixations ({len(fx)})"), (axes[1], rw, f"raw samples ({len(rw)})")):
    ax.imshow(image, cmap="gray")
    ax.scatter(pts.x, pts.y, s=4, color="red", alpha=0.5)
    ax.set_title(title, fontsize=9)
    ax.axis("off")
glue("n_raw", len(rw), display=False)
glue("n_fix", len(fx), display=False)
fig

# %% [markdown]
# This pneumonia case has {glue:text}`n_fix` fixations and {glue:text}`n_raw` raw samples.
#
# ## The splits
#
# `ggcam.data.split` offers three schemes: `"paper"` (random 70/10/20 within each class, as
# section 4.1 describes), `"released"` (the released code's 70/10/20 per class in file order)
# and `"patient"` (80/10/10 grouped by patient, so no patient is on two sides — some patients
# have two images).

# %%
rows = []
for scheme in ("paper", "released", "patient"):
    parts = split(ds.metadata, scheme, seed=seed)
    for side, idx in parts.items():
        classes = ds.metadata.class_name.iloc[idx].value_counts()
        rows.append({"scheme": scheme, "side": side, "images": len(idx),
                     **{c: int(classes.get(c, 0)) for c in CLASS_NAMES}})
pd.DataFrame(rows).set_index(["scheme", "side"])

# %% [markdown]
# ## How the real release differs
#
# The reader was written against the real release's documented quirks, and each has a test:
# calibration-screen rows in both gaze tables ({glue:text}`calibration_rows` rows here), off-image
# samples coded as small negative X/Y_ORIGINAL, the mask file spelled `mediastanum.png`,
# free text with embedded newlines, landscape and odd-sized DICOMs, BitsStored other than 12,
# multi-valued window tags and rescale tags. On the real data expect 1,083 images
# (360 / 363 / 360), ~49,000 fixations and ~1.5 M raw samples.
#
# ## Summary
#
# - One reader serves the phantom and the real release; the phantom follows the layout to the
#   letter, so everything downstream is exercised on the real format.
# - The drop report says how many calibration and off-image rows were removed.
