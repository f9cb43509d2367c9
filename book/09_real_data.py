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
# 1,083 MIMIC-CXR images it refers to (PhysioNet `mimic-cxr` 2.0.0). Both are
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
# missing file or column. On the real release it should find 1,083 images (360 Normal,
# 363 CHF, 360 pneumonia).
#
# ```python
# from ggcam.data import EGDCXR
# ds = EGDCXR("physionet.org/files/egd-cxr/1.0.0", "physionet.org/files/mimic-cxr/2.0.0")
# print(ds.metadata.label.value_counts(), ds.gaze_report)
# ```
#
# ## 3. Prepare the cache, train, and build the book
#
# ```bash
# ggcam prepare --egd-root physionet.org/files/egd-cxr/1.0.0 \
#               --mimic-root physionet.org/files/mimic-cxr/2.0.0 \
#               --cache .cache/prepared/paper --input-shape 1536x1280 --kernel-size 500
# ggcam sweep --profile paper --data-root physionet.org/files        # all 20 runs, resumable
# ggcam sweep --profile paper --data-root physionet.org/files --shard 0/4   # one GPU of four
# torchrun --nproc_per_node 4 -m ggcam train --profile paper --data-root physionet.org/files \
#          --network resnet50 --variant ggcam --seed 0                 # one run on 4 GPUs (DDP)
# papermill book/06_classification.ipynb out.ipynb -p profile paper
# ```
#
# `results/paper/` holds only tables and maps, never images; it is git-ignored by design:
# **never commit results computed from credentialed data**, and never publish a page that
# shows a patient image.
#
# ## What to expect: disk and time

# %%
import inspect

import pandas as pd
from myst_nb import glue

from ggcam.data import prepare
from ggcam.profiles import get_profile

# %% tags=["parameters"]
n_images = 1083  # images in EGD-CXR
epochs_per_run = 250  # the paper: GG-CAM networks converge in 200-300 epochs

# %%
paper = get_profile("paper")
IMAGE_DTYPE = inspect.signature(prepare).parameters["image_dtype"].default  # the cache's default
h, w = paper.input_shape
itemsize = pd.api.types.pandas_dtype(IMAGE_DTYPE).itemsize
cache_gb = n_images * h * w * itemsize / 1e9
glue("cache_gb", f"{cache_gb:.1f}", display=False)
steps = epochs_per_run * round(0.7 * n_images) / paper.batch_size
glue("steps_per_run", f"{steps:,.0f}", display=False)
pd.DataFrame([
    {"item": "EGD-CXR download", "size": "≈ 0.5 GB"},
    {"item": "1,083 MIMIC-CXR DICOMs", "size": "≈ 8 GB (about 7–8 MB each, uncompressed 16-bit)"},
    {"item": f"prepared cache, {h}×{w} {IMAGE_DTYPE}", "size": f"{cache_gb:.1f} GB"},
]).style.hide(axis="index")

# %% [markdown]
# The cache of network-ready images takes {glue:text}`cache_gb` GB. One GG-CAM run of about
# 250 epochs at batch 4 is {glue:text}`steps_per_run` optimiser steps; the
# [performance page](10_performance.ipynb) gives measured step rates where a GPU was available.
#
# ## Summary
#
# - Point `--data-root` at the PhysioNet download; the same reader, cache and sweep serve the
#   phantom and the real data.
# - Results from credentialed data stay on your machine.
