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
# # The paper versus the released code
#
# ## Overview
#
# The authors released their implementation (GitHub `hz-zhu/GG-CAM`). Read line by line, it
# departs from the paper in several places. This project implements the **paper** by default
# and offers the released behaviour as explicit options — `variant="ggcam-legacy"` for
# training, `resample="stride"` for the heat map, `neighbourhood=1` for interpretability — so
# that the effect of each difference can be measured rather than argued.
#
# | | the paper | the released code | here |
# |---|---|---|---|
# | supervised map | Ω^Y of the true class (eq. 9) | always Ω⁰ (Normal): `int(sigmoid(label·α))` is 0 for every label | `mode="paper"` / `"legacy"` |
# | squashing | Sigmoid(αΩ^Y), α trainable (eq. 10) | raw Ω against Ψ ∈ [0, 1]; α never gets a gradient | same switch |
# | initial σ_sm, σ_ce | 2.0e-9 / 1.4e-11 and 1 (Table 1, section 3.4) | e^−23 ≈ 1.0e-10 / e^−16 ≈ 1.1e-7 and e^7 ≈ 1097 | `ggcam-legacy` uses the code's |
# | learning rate, P | 7e-3, 30 / 6e-3, 40 | 5e-3, 40 / 6e-3, 40 | Table 1 by default |
# | blur B | "standard deviation" B | OpenCV kernel size B (B = 500 → σ = 75.5 px) | `kernel_size=B` (OpenCV's rule) or `sigma` |
# | resampling | "resample" | centre-pad, keep every 64th pixel | `resample="area"` (exact) / `"stride"` |
# | interpretability | argmax in the region (eq. 12) | argmax's 3×3 neighbourhood touches it | `neighbourhood=0` / `1` |
# | split | random 70/10/20 per class | file order 70/10/20 per class | `split(..., "paper" / "released")` |

# %%
# %matplotlib inline
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import Markdown
from myst_nb import glue

import ggcam
from ggcam import plots, results, stats
from ggcam.data import EGDCXR, make_phantom

warnings.filterwarnings("ignore", message="anova of")
warnings.filterwarnings("ignore", message=".*kept .* rows")  # the reader's drop report

# %% tags=["parameters"]
profile = ""  # results/<profile> to read; empty: the best committed profile
phantom_dir = "../.cache/book-phantom"  # small full-size phantom shared by the data pages
n_images = 12  # phantom images (if it must be generated)
kernel_size = 500  # B, Table 1 (ResNet)

# %%
folder = results.profile_dir(profile or None)
runs = results.load_runs(folder)
Markdown(results.provenance_markdown(folder))

# %% [markdown]
# ## The selective MSE and the initial σ: paper versus legacy training
#
# `ggcam-legacy` trains with the released code's loss (class-0 map, raw Ω, α frozen) and its
# initial σ values and learning rates. Its test AUC, interpretability and attention agreement
# against the paper's GG-CAM (Table 1):

# %%
metrics = [m for m in ("auc_ovo", "interp_chf", "interp_pneumonia", "cc") if m in runs]
rows = []
for m in metrics:
    t = stats.anova(runs, m, levels=("ggcam", "ggcam-legacy"))
    rows.append(t)
legacy_tests = pd.concat(rows, ignore_index=True)
legacy_tests["network"] = legacy_tests["network"].map(plots.network_name)
legacy_tests[["metric", "network", "median_ggcam", "median_ggcam-legacy", "p", "kruskal_p", "note"]].style.format(
    precision=3, na_rep="–").hide(axis="index")

# %%
plots.metric_boxplots(runs, ["auc_ovo", "cc"], variants=("standard", "ggcam", "ggcam-legacy"))

# %% [markdown]
# The legacy σ_ce = e^7 makes the cross-entropy weight 1/σ_ce² ≈ 8e-7 at the start; σ values
# at the end of training, per model (median over seeds):

# %%
final_cols = [c for c in ("sigma_sm_final", "sigma_ce_final", "alpha_final", "w_sm_final", "w_ce_final") if c in runs]
finals = runs[runs.variant != "standard"].groupby(["network", "variant"])[final_cols].median().reset_index()
finals.insert(0, "model", [plots.model_name(n, v) for n, v in zip(finals.network, finals.variant)])
finals.drop(columns=["network", "variant"]).style.format("{:.3g}", subset=final_cols).hide(axis="index")

# %% [markdown]
# ## Does σ_sm freeze?
#
# The gradient of log σ_sm is about L_sm/σ_sm²; Adam keeps its square in float32, which
# overflows (≈3.4e38) once σ_sm is below roughly 1e-10 — and then log σ_sm never moves again
# (design notes, "Hazards"). The sweep flags every run whose optimiser state for a loss
# parameter became non-finite:

# %%
gg = runs[runs.variant != "standard"].copy()
gg["σ_sm frozen"] = gg["flags"].fillna("").str.contains("adam-overflow:log_sigma_sm")
frozen = gg.groupby(["network", "variant"]).agg(runs=("seed", "size"), frozen=("σ_sm frozen", "sum"),
                                                 sigma_sm_final=("sigma_sm_final", "median")).reset_index()
frozen.insert(0, "model", [plots.model_name(n, v) for n, v in zip(frozen.network, frozen.variant)])
frozen.drop(columns=["network", "variant"]).style.format({"sigma_sm_final": "{:.2e}"}).hide(axis="index")

# %% [markdown]
# The paper's EffNet value (σ_sm = 1.4e-11) and the released code's ResNet value
# (e^−23 ≈ 1.0e-10) both sit on the wrong side of that line; `ggcam-stable` keeps the loss
# parameters in float64 and does not freeze.
#
# ## Resampling: exact area average versus every 64th pixel
#
# The released code keeps every 64th pixel of the blurred, padded image; the paper only says
# "resample". Our default averages the blurred image over each Ω cell, exactly. On the phantom's
# full-size images, with B = 500:

# %%
root = Path(phantom_dir)
if not (root / "egd-cxr" / "1.0.0" / "master_sheet.csv").is_file():
    make_phantom(root, n_images=n_images, scale=1.0, seed=0, progress=False)
ds = EGDCXR(root / "egd-cxr" / "1.0.0", root / "mimic-cxr" / "2.0.0", kernel_size=kernel_size,
            progress=False)
diffs = []
for i in range(len(ds)):
    pts = ds.gaze_points(i)[["x", "y"]].to_numpy()
    if len(pts) == 0:
        continue
    area = ggcam.gaze_heatmap(pts, ds.image_shape(i), (48, 40), kernel_size=kernel_size)
    stride = ggcam.gaze_heatmap(pts, ds.image_shape(i), (48, 40), kernel_size=kernel_size, resample="stride")
    diffs.append({"max |Δ|": float(np.abs(area - stride).max()),
                  "mean |Δ|": float(np.abs(area - stride).mean()),
                  "same peak cell": bool(np.argmax(area) == np.argmax(stride)),
                  "CC": float(np.corrcoef(area.ravel(), stride.ravel())[0, 1])})
diffs = pd.DataFrame(diffs)
glue("resample_mean_diff", f"{diffs['mean |Δ|'].mean():.3f}", display=False)
glue("resample_cc", f"{diffs['CC'].mean():.4f}", display=False)
diffs.describe().loc[["mean", "min", "max"]].round(4)

# %% [markdown]
# With a blur this wide (σ = 75.5 px against 64-px cells) the two maps are nearly the same —
# mean absolute difference {glue:text}`resample_mean_diff`, correlation
# {glue:text}`resample_cc` — so this difference matters little at the paper's B; it grows as
# B shrinks (see [Algorithm 1](03_algorithm1.ipynb)).
#
# ## Interpretability: strict argmax versus its 3×3 neighbourhood

# %%
interp = runs.groupby(["network", "variant"])[["interp_chf", "interp3x3_chf", "interp_pneumonia",
                                                "interp3x3_pneumonia"]].median().reset_index()
interp.insert(0, "model", [plots.model_name(n, v) for n, v in zip(interp.network, interp.variant)])
gain = float((interp["interp3x3_chf"] - interp["interp_chf"]).median())
glue("interp_gain", f"{gain:.2f}", display=False)
interp.drop(columns=["network", "variant"]).style.format(precision=3, na_rep="–").hide(axis="index")

# %% [markdown]
# The released code's tolerance raises the median CHF interpretability by
# {glue:text}`interp_gain` here: on a coarse grid a 3×3 neighbourhood is a large part of the
# image. The paper's eq. 12 is the strict version; we report both.
#
# ## Summary
#
# - Every difference between the paper and the released code is an explicit option here.
# - The legacy loss supervises only the Normal map with raw Ω; its effect on AUC and attention
#   is measured above rather than assumed.
