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
# # Running on the real data
#
# ## Overview
#
# The paper's data is EGD-CXR (PhysioNet `egd-cxr` 1.0.0: gaze, masks, dictation) and the
# {glue:text}`n_release` MIMIC-CXR images it refers to (PhysioNet `mimic-cxr` 2.0.0). Both are
# **credentialed**: you need a PhysioNet account with the data use agreements signed. Nothing in
# this repository contains or downloads them; the code that reads the phantom reads the real
# release unchanged. This page lists the steps, start to finish, and what they cost.
#
# ## 1. Download
#
# ```bash
# # EGD-CXR: the whole release (about 500 MB, mostly eye_gaze.csv and the audio)
# wget -r -N -c -np --user YOUR_USER --ask-password https://physionet.org/files/egd-cxr/1.0.0/
# # MIMIC-CXR: only the 1,083 DICOMs EGD-CXR uses (paths from its master sheet)
# python - <<'PY'
# import pandas as pd
# paths = pd.read_csv("physionet.org/files/egd-cxr/1.0.0/master_sheet.csv", usecols=["path"])["path"]
# open("mimic_paths.txt", "w").write("\n".join("https://physionet.org/files/mimic-cxr/2.0.0/" + p for p in paths))
# PY
# wget -N -c -x -nH --cut-dirs=0 --user YOUR_USER --ask-password -i mimic_paths.txt
# ```
#
# You now have `physionet.org/files/egd-cxr/1.0.0/` and `physionet.org/files/mimic-cxr/2.0.0/files/…`.
#
# ## 2. Check the layout with the reader
#
# The reader drops calibration rows and off-image sentinels and reports how many; it names any
# missing file or column. On the real release it should find {glue:text}`n_release` images,
# balanced over the three classes.
#
# ```python
# from ggcam.data import EGDCXR
# ds = EGDCXR("physionet.org/files/egd-cxr/1.0.0", "physionet.org/files/mimic-cxr/2.0.0")
# print(ds.metadata.label.value_counts(), ds.gaze_report)
# ```
#
# ## 3. Train, and build the results pages
#
# The sweep prepares its own network-ready caches (one per blur and gaze table) on first use;
# `ggcam prepare` does the same by hand, e.g. to check the data first. Ψ is made from the raw
# gaze samples (`eye_gaze.csv`), as Algorithm 1 describes.
#
# ```bash
# ggcam prepare --egd-root physionet.org/files/egd-cxr/1.0.0 \
#               --mimic-root physionet.org/files/mimic-cxr/2.0.0 \
#               --cache .cache/prepared/paper --input-shape 1536x1280 --kernel-size 500 --gaze eye_gaze
# ggcam sweep --profile paper --data-root physionet.org/files             # every run, resumable
# ggcam sweep --profile paper --data-root physionet.org/files --shard 0/4 # one GPU of four
# torchrun --nproc_per_node 4 -m ggcam train --profile paper --data-root physionet.org/files \
#          --network resnet50 --variant ggcam-warm --seed 0              # one run on 4 GPUs (DDP)
# papermill book/01_answer.ipynb out.ipynb --cwd book -p profile paper
# papermill book/06_classification.ipynb out.ipynb --cwd book -p profile paper
# ```
#
# The results pages read `results/paper/` only when asked (`-p profile paper`): a page never
# picks real-data results by itself. `results/paper/` holds only tables and maps, never
# images (Table 3 is not drawn from it), and it is git-ignored by design: **never commit
# results computed from credentialed data**, and never publish a page that shows a patient
# image.
#
# ## What to expect: disk and time

# %% tags=["hide-input"]
import inspect

import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from ggcam.data import prepare
from ggcam.experiment import get_profile, run_specs
from ggcam.viz import report

# %% tags=["parameters", "remove-cell"]
n_images = 1083  # images in EGD-CXR
epochs_per_run = 250  # the paper: GG-CAM networks converge in 200-300 epochs
train_share = 0.7  # the paper's training share of the images

# %%
paper = get_profile("paper")
IMAGE_DTYPE = inspect.signature(prepare).parameters["image_dtype"].default  # the cache's default
h, w = paper.input_shape
itemsize = pd.api.types.pandas_dtype(IMAGE_DTYPE).itemsize
cache_gb = n_images * h * w * itemsize / 1e9
steps = epochs_per_run * round(train_share * n_images) / paper.batch_size
report.styled(pd.DataFrame([
    {"item": "EGD-CXR download", "size": "≈ 0.5 GB"},
    {"item": "the MIMIC-CXR DICOMs it uses", "size": "≈ 8 GB (about 7–8 MB each, uncompressed 16-bit)"},
    {"item": f"prepared cache, {h}×{w} {IMAGE_DTYPE}", "size": f"{report.number(cache_gb)} GB"},
]), caption="Disk")

# %% tags=["remove-cell"]
glue("n_release", f"{paper.n_images:,}", display=False)
glue("cache_gb", report.number(cache_gb), display=False)
glue("steps_per_run", report.number(steps), display=False)
glue("paper_runs", len(run_specs(paper)), display=False)
glue("epochs_per_run", epochs_per_run, display=False)
glue("paper_batch", paper.batch_size, display=False)

# %% [markdown]
# The cache of network-ready images takes {glue:text}`cache_gb` GB. The `paper` profile has
# {glue:text}`paper_runs` runs; one GG-CAM run of about {glue:text}`epochs_per_run` epochs at
# batch {glue:text}`paper_batch` is {glue:text}`steps_per_run` optimiser steps; the
# [performance page](10_performance.ipynb) gives measured step rates where a GPU was
# available.
#
# ## Summary
#
# - Point `--data-root` at the PhysioNet download; the same reader, cache and sweep serve the
#   phantom and the real data.
# - Results from credentialed data stay on your machine.

# %% tags=["remove-input"]
display(Markdown(report.rerun_admonition("09_real_data", {
    "n_images": n_images, "epochs_per_run": epochs_per_run, "train_share": train_share},
    None)))
