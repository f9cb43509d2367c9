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
# The paper uses EGD-CXR {cite:p}`karargyris2021egdcxr`: MIMIC-CXR chest radiographs
# {cite:p}`johnson2019mimiccxr`, each read by one radiologist while an eye tracker recorded
# where they looked, with lung and mediastinum masks, anatomical bounding boxes and the
# dictated report. The labels are balanced: Normal, CHF (the paper's "cardiomegaly") and
# pneumonia.
#
# Both releases are credentialed, so this page, like the whole book, uses the **phantom**:
# synthetic radiographs and a simulated reader's gaze, written by `ggcam.data.make_phantom` in
# exactly the release's layout, plus one file the real release cannot have: the **ground
# truth**, where each drawn finding is. `ggcam.data.EGDCXR` reads either release. This page
# shows the layout, the truth file, the simulated reader and its one knob
# (`informativeness`), and which gaze points Algorithm 1 is fed.

# %% tags=["hide-input"]
# %matplotlib inline
import warnings

import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from ggcam.config import GAZE_POINTS, TrainConfig
from ggcam.data import EGDCXR, ensure_dataset, read_phantom_truth
from ggcam.data.phantom.reader import INFORMATIVENESS
from ggcam.viz import figures, report

warnings.filterwarnings("ignore", message=".*kept .* rows")  # shown below as a table instead

# %% tags=["parameters", "remove-cell"]
work_dir = "../.cache/book"  # where the page's phantoms are generated (once) and reused
n_images = 12  # images of the full-size phantom shown here (the release has 1,083)
seed = 0  # phantom seed; the same seed writes the same bytes
informativeness_images = 30  # images of each small phantom of the informativeness table
informativeness_scale = 0.1  # their size relative to the release

# %% [markdown]
# ## The layout on disk
#
# Two roots, as in the release: the gaze release `egd-cxr/1.0.0/` and the images under
# `mimic-cxr/2.0.0/files/p{patient[:2]}/p{patient}/s{study}/{dicom_id}.dcm`. The phantom
# writes its truth file `phantom-truth.csv` **beside** the two roots, never inside the release,
# so the release layout stays exactly the real one:

# %%
roots = ensure_dataset(None, work_root=work_dir, n_images=n_images, scale=1.0, seed=seed,
                       progress=False)
print(figures.tree(roots.egd_root.parent.parent, depth=0))
print("\negd-cxr/1.0.0/")
print(figures.tree(roots.egd_root, depth=1, limit=6, indent="    "))

# %%
sheet = pd.read_csv(roots.egd_root / "master_sheet.csv")
report.styled(sheet[["dicom_id", "patient_id", "Normal", "CHF", "pneumonia"]].head(3),
              formats={"patient_id": "{}"},
              caption="master_sheet.csv, first rows (a few of its columns)")

# %% tags=["remove-cell"]
glue("n_columns", sheet.shape[1], display=False)

# %% [markdown]
# `master_sheet.csv` has {glue:text}`n_columns` columns. The exam indication is free text with
# commas and embedded newlines, so the reader uses a real CSV parser and never counts lines.
#
# ## Reading it
#
# `EGDCXR` joins the master sheet, a gaze table, the masks and the DICOMs. It drops the rows of
# calibration screens (ids not in the master sheet) and off-image samples (negative
# X/Y_ORIGINAL), and says how many, for each gaze table:

# %%
fixations = EGDCXR(roots.egd_root, roots.mimic_root, gaze="fixations", progress=False)
raw = EGDCXR(roots.egd_root, roots.mimic_root, gaze="eye_gaze", progress=False)
drops = pd.DataFrame({"fixations.csv": fixations.gaze_report,
                      "eye_gaze.csv": raw.gaze_report}).drop("file").reset_index(names="count")
report.styled(drops, caption="What the reader kept and dropped, per gaze table")

# %% tags=["remove-cell"]
glue("calibration_rows", int(fixations.gaze_report["calibration_rows"]), display=False)
glue("calibration_rows_raw", int(raw.gaze_report["calibration_rows"]), display=False)

# %%
report.styled(figures.class_counts(raw.metadata), caption="Images per class", labels={"class_name": "class"})

# %% [markdown]
# ## The ground truth: `phantom-truth.csv`
#
# One row per drawn finding per image, in image pixels, the box half-open
# $[x_0, x_1) \times [y_0, y_1)$: `cardiomegaly` (every CHF image: the cardiac silhouette),
# `edema` and `effusion` (CHF), `consolidation` (pneumonia, one per focus), or one `none` row
# for an image without a finding, so a truncated file is detected rather than read as "no
# findings". `ggcam.data.read_phantom_truth` reads it; the training cache puts the boxes on
# the Ω grid (`masks["finding"]`), and the [interpretability page](07_interpretability.ipynb)
# scores where the networks look against them (the pointing game).

# %%
truth = read_phantom_truth(roots.truth_path)
report.styled(figures.truth_table(truth), caption="Findings per class in phantom-truth.csv "
              "(images, then boxes of each finding)")

# %% [markdown]
# ## One case per class
#
# Each phantom image has two lungs, a mediastinum and heart, ribs and soft tissue. CHF
# enlarges the cardiac silhouette (sometimes with edema or effusion); pneumonia adds focal
# consolidations. {numref}`fig-data-cases` shows the first image of each class.

# %% tags=["hide-input"]
cases = figures.first_case_per_class(raw.labels)
cases_fig = figures.cases_figure(fixations, cases, truth)

# %% tags=["remove-cell"]
glue("fig_data_cases", cases_fig, display=False)

# %% [markdown]
# ```{glue:figure} fig_data_cases
# :name: fig-data-cases
# :alt: Three synthetic chest radiographs, Normal, CHF and pneumonia, with lung and mediastinum outlines, dashed finding boxes and the reader's fixations.
#
# **One phantom case per class.** Outlined: the lung masks (blue) and the mediastinum
# (orange), the regions of eq. {eq}`eq-12`; dashed cyan: the true findings. The simulated reader's
# fixations are drawn as a scanpath, hollow circles with area by duration.
# ```

# %% [markdown]
# ## Which gaze points make Ψ
#
# Algorithm 1 takes "a sequence of 2D coordinates of tracked eye-gaze position at time indices
# 1 through M", $E_{1:M}$: the eye tracker's raw samples. EGD-CXR has them in `eye_gaze.csv`,
# and also `fixations.csv`, one row per fixation with its start and duration. **Ψ is built
# from the raw samples by default** (the default of `TrainConfig.gaze_points` is
# {glue:text}`default_points`); fixations, unweighted or weighted by their duration, are the options
# ({glue:text}`points_options`). Raw samples weight every fixation by how long it lasted
# (more samples), which the duration weighting reproduces for fixations
# ({numref}`fig-data-sampling`); the [Algorithm 1 page](03_algorithm1.ipynb) compares the
# three maps.

# %% tags=["hide-input"]
sampling_fig = figures.sampling_figure(fixations, raw, cases[2])

# %% tags=["remove-cell"]
glue("default_points", TrainConfig().gaze_points, display=False)
glue("points_options", ", ".join(GAZE_POINTS), display=False)
glue("n_raw", len(raw.gaze_points(cases[2])), display=False)
glue("n_fix", len(fixations.gaze_points(cases[2])), display=False)
glue("fig_data_sampling", sampling_fig, display=False)

# %% [markdown]
# ```{glue:figure} fig_data_sampling
# :name: fig-data-sampling
# :alt: The same pneumonia radiograph twice, with the reader's fixations on the left and its raw eye-tracker samples on the right.
#
# **Fixations against raw samples.** The pneumonia case of {numref}`fig-data-cases`: its
# {glue:text}`n_fix` fixations (left) and {glue:text}`n_raw` raw samples (right), which
# cluster where the fixations were long.
# ```
#
# ## The simulated reader's `informativeness`
#
# After a systematic scan of the chest, the simulated reader aims a share of its remaining
# fixations at the findings; `make_phantom(..., informativeness=)` sets that share
# (default {glue:text}`default_informativeness`). At 0 the gaze says nothing about where the
# findings are beyond the scan; at 1 every free fixation goes to one. It is the phantom's way
# to ask how much GG-CAM depends on how informative the radiologist's gaze is. Measured on
# small phantoms made with three values: the share of raw samples of the CHF and pneumonia
# images that fall in a finding's box, beside the share of the image the boxes cover (where
# samples spread blindly would land).

# %% tags=["remove-cell"]
glue("default_informativeness", INFORMATIVENESS, display=False)

# %%
report.styled(figures.informativeness_effect(f"{work_dir}/informativeness",
                                             n_images=informativeness_images,
                                             scale=informativeness_scale, seed=seed),
              caption="Gaze on the findings, by the reader's informativeness")

# %% [markdown]
# ## The splits
#
# `ggcam.data.split` offers three schemes: `"paper"` (random 70/10/20 within each class, as
# the paper's section 4.1 describes; the sweep's profiles may set other fractions),
# `"released"` (the released code's 70/10/20 per class in file order) and `"patient"`
# (grouped by patient, so no patient is on two sides). The seed of a run fixes its split, so
# two arms with the same seed see the same test images. On this page's small phantom
# ({glue:text}`n_split_images` images) the shares are rounded per class, so the table below
# is far from 70/10/20. The first study (`cpu-v1`) re-split one pool of 800 images 50/10/40
# per seed; the current one (`cpu`) draws each replicate's own phantom, split into 400
# training and 200 validation images, and scores every run on one shared test phantom of 600.

# %% tags=["remove-cell"]
glue("n_split_images", len(raw.metadata), display=False)

# %%
report.styled(figures.split_table(raw.metadata, seed=seed), caption="Images per side and class")

# %% [markdown]
# ## How the real release differs
#
# The reader was written against the real release's documented quirks, and each has a test:
# calibration-screen rows in both gaze tables (here {glue:text}`calibration_rows` in `fixations.csv` and {glue:text}`calibration_rows_raw`
# in `eye_gaze.csv`),
# off-image samples coded as small negative X/Y_ORIGINAL, the mask file spelled
# `mediastanum.png`, free text with embedded newlines, landscape and odd-sized DICOMs,
# BitsStored other than 12, multi-valued window and rescale tags. The real release has no
# truth file: there, localisation is scored against the organ masks (eq. {eq}`eq-12`) and the gaze.
#
# ## Summary
#
# - One reader serves the phantom and the real release; the phantom follows the layout to the
#   letter and adds its ground truth beside it.
# - Ψ is made from Algorithm 1's raw gaze samples by default; fixations are an option.
# - The reader's `informativeness` sets how much its gaze points at the findings.

# %% tags=["remove-input"]
display(Markdown(report.rerun_admonition("02_data", {
    "work_dir": work_dir, "n_images": n_images, "seed": seed,
    "informativeness_images": informativeness_images,
    "informativeness_scale": informativeness_scale}, None)))
