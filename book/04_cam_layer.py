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
# # The CAM layer and Figure 2
#
# ## Overview
#
# A classification CNN ends in global average pooling (GAP) and one linear layer,
# $y = \Lambda p + \lambda$ with $p_k = \frac{1}{HW}\sum_{ij} A_{k,i,j}$ (eq. 1–2). Swapping the
# two linear operations (eq. 3) gives the class activation maps
# $\Omega_{c,i,j} = \sum_k \Lambda_{c,k} A_{k,i,j}$ (eq. 4) and $y_c = \bar\Omega^c + \lambda_c$
# (eq. 5–6). The **CAM layer** computes exactly that, with the same parameters. This page checks
# the equivalence numerically and then shows the distribution of Ω in trained networks — the
# paper's Figure 2, the reason eq. 10 squashes Ω with a sigmoid before comparing it with Ψ.

# %%
# %matplotlib inline
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown
from myst_nb import glue
from torchvision import models

import ggcam
from ggcam import plots, results

# %% tags=["parameters"]
profile = ""  # results/<profile> to read; empty: the best committed profile
input_side = 64  # side of the random test images for the equivalence check (pixels)
seed = 0  # seed of the random weights and images

# %% [markdown]
# ## The CAM layer is GAP + Linear, reordered
#
# `ggcam.to_cam_model` takes a torchvision CNN, keeps every weight, and replaces its pooling and
# linear layer by `ggcam.CAMHead`. With random weights and random images, in float64, the
# logits of the two models agree to rounding error for both of the paper's networks:

# %%
torch.manual_seed(seed)
rows = []
for arch in ("resnet50", "efficientnet_v2_s"):
    tv = models.get_model(arch, weights=None, num_classes=3).eval().double()
    cam_model = ggcam.to_cam_model(tv).eval()
    x = torch.rand(2, 3, input_side, input_side, dtype=torch.float64)
    with torch.no_grad():
        y_tv = tv(x)
        y_cam, omega = cam_model.forward_cams(x)
    rows.append({
        "network": plots.network_name(arch),
        "parameters (torchvision)": sum(p.numel() for p in tv.parameters()),
        "parameters (CAM model)": sum(p.numel() for p in cam_model.parameters()),
        "max |Δ logit|": float((y_tv - y_cam).abs().max()),
        "Ω shape": tuple(omega.shape[1:]),
    })
equivalence = pd.DataFrame(rows)
max_diff = equivalence["max |Δ logit|"].max()
glue("max_logit_diff", f"{max_diff:.1e}", display=False)
equivalence.style.format({"max |Δ logit|": "{:.1e}"}).hide(axis="index")

# %% [markdown]
# The largest difference is {glue:text}`max_logit_diff` — float64 rounding — and the
# parameter counts are identical: the CAM layer adds nothing to the network. At the paper's
# input size (1536×1280) both backbones have stride 32, so Ω is 48×40 per class.

# %% [markdown]
# ## Figure 2: the distribution of Ω in trained networks
#
# The sweep stores, for every trained run, a histogram of all elements of Ω over its test set
# on fixed bins (fine near zero, wide in the tails). Summed over seeds, they give the density
# of Ω for each trained network, on a log scale as in the paper.

# %%
folder = results.profile_dir(profile or None)
info = results.provenance(folder)
glue("profile", info["profile"], display=False)
Markdown(results.provenance_markdown(folder))

# %%
hist = results.load_omega(folder)
plots.omega_distribution(hist)

# %%
def quantiles(group: pd.DataFrame, qs=(0.01, 0.5, 0.99)) -> pd.Series:
    """Quantiles of Ω from its histogram (linear within a bin)."""
    counts = group.groupby("bin_left")["count"].sum()
    edges = np.append(counts.index.to_numpy(), group["bin_right"].max())
    cdf = np.concatenate([[0], np.cumsum(counts.to_numpy())]) / counts.sum()
    return pd.Series({f"q{int(q * 100):02d}": float(np.interp(q, cdf, edges)) for q in qs})


omega_stats = hist.groupby(["network", "variant"]).apply(quantiles, include_groups=False).reset_index()
omega_stats["model"] = [plots.model_name(n, v) for n, v in zip(omega_stats.network, omega_stats.variant)]
omega_stats[["model", "q01", "q50", "q99"]].round(3).style.hide(axis="index")

# %% [markdown]
# Ω is unbounded: its median sits near zero while the tails reach far beyond the [0, 1] range
# of Ψ, which is why eq. 10 maps Ω through Sigmoid(αΩ) before the selective MSE (eq. 9). The
# released code compares the *raw* Ω with Ψ instead (see
# [the paper versus the released code](08_paper_vs_code.ipynb)).
#
# ## Summary
#
# - The CAM layer is a reordering of GAP + Linear: same parameters, same logits, plus Ω.
# - Ω of trained networks is heavy-tailed around zero (Figure 2), hence the sigmoid of eq. 10.
#
# ## References
#
# Zhou et al., *Learning Deep Features for Discriminative Localization*, CVPR 2016; the
# GG-CAM paper, sections 2.3 and 3.1.
