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
# A classification CNN ends in global average pooling (GAP) and one linear layer. Swapping
# the two linear operations gives the class activation maps Ω {cite:p}`zhou2016cam`; the
# paper's **CAM layer** computes them explicitly, with the same parameters, and GG-CAM
# supervises them with the radiologist's gaze {cite:p}`zhu2022ggcam`. This page states the
# paper's twelve equations (the other pages refer to them by these numbers), checks the
# layer's equivalence with GAP + Linear numerically, and shows the distribution of Ω in the
# trained networks: the paper's Figure 2, the reason eq. {eq}`eq-10` squashes Ω before
# comparing it with Ψ.
#
# ## The CAM layer, eqs. 1–6
#
# Let $A$ be the backbone's output, $G$ features on an $H \times W$ grid (the pages call the
# grid $h \times w$), $p$ its global average, and $y$ the $C$ logits of the linear layer with
# weights $\Lambda$ ($C \times G$) and biases $\lambda$:
#
# $$
# y = \Lambda p + \lambda
# $$ (eq-1)
#
# $$
# y_c = \sum_{k=1}^{G} \Lambda_{c,k} \left( \frac{1}{HW} \sum_{i=1}^{H} \sum_{j=1}^{W} A_{k,i,j} \right) + \lambda_c
# $$ (eq-2)
#
# Changing the order of the sums,
#
# $$
# y_c = \frac{1}{HW} \sum_{i=1}^{H} \sum_{j=1}^{W} \left[ \sum_{k=1}^{G} \Lambda_{c,k} A_{k,i,j} \right] + \lambda_c
# $$ (eq-3)
#
# and the class activation map is the innermost sum:
#
# $$
# \Omega_{c,i,j} = \sum_{k=1}^{G} \Lambda_{c,k} A_{k,i,j}
# $$ (eq-4)
#
# so that each logit is the mean of its map plus the bias:
#
# $$
# y_c = \bar{\Omega}^c + \lambda_c
# $$ (eq-5)
#
# $$
# \bar{\Omega}^c = \frac{1}{HW} \sum_{i=1}^{H} \sum_{j=1}^{W} \Omega^c_{i,j}
# $$ (eq-6)
#
# `ggcam.CAMHead` computes {eq}`eq-4` with one `einsum` and {eq}`eq-5`–{eq}`eq-6` as a mean;
# `model.forward(x)` returns the logits (so any tooling works unchanged) and
# `model.forward_cams(x)` returns the logits and Ω.
#
# ## What GG-CAM adds, eqs. 7–12
#
# The cross-entropy of the true class $Y$, with $\hat{y} = \mathrm{Softmax}(y)$, sees only the
# means of the maps:
#
# $$
# \mathcal{L}_{ce} = -\ln \hat{y}_Y
# $$ (eq-7)
#
# $$
# \mathcal{L}_{ce} = -\bar{\Omega}^Y - \lambda_Y + \ln \left[ \sum_{i=1}^{C} \exp \left( \bar{\Omega}^i + \lambda_i \right) \right]
# $$ (eq-8)
#
# so the maps can be shaped without changing the loss. The **selective MSE** compares the true
# class's map, squashed by a sigmoid with a trainable $\alpha > 0$, with the gaze heat map Ψ of
# [Algorithm 1](03_algorithm1.ipynb):
#
# $$
# \mathcal{L}_{sm} = \frac{1}{HW} \sum_{i=1}^{H} \sum_{j=1}^{W} \left( \tilde{\Omega}^Y_{i,j} - \Psi_{i,j} \right)^2
# $$ (eq-9)
#
# $$
# \tilde{\Omega}^c = \mathrm{Sigmoid}(\alpha \Omega^c)
# $$ (eq-10)
#
# The two losses are balanced by trainable uncertainties $\sigma_{sm}, \sigma_{ce} > 0$
# {cite:p}`kendall2018multitask`; the logarithms keep them from growing without bound:
#
# $$
# \mathcal{L} = \frac{1}{2\sigma_{sm}^2} \mathcal{L}_{sm} + \frac{1}{\sigma_{ce}^2} \mathcal{L}_{ce} + \ln(\sigma_{sm} + 1) + \ln(\sigma_{ce} + 1)
# $$ (eq-11)
#
# After training, a prediction counts as interpretable when the peak of the true class's map
# lies in the organ of its disease, $S^Y$ (the heart for CHF, the lungs for pneumonia), on the
# grid of Ω:
#
# $$
# \underset{i,j}{\operatorname{argmax}} \left( \Omega^Y_{i,j} \right) \in S^Y
# $$ (eq-12)
#
# [Training](05_training.ipynb) is about {eq}`eq-9`–{eq}`eq-11`,
# [interpretability](07_interpretability.ipynb) about {eq}`eq-12`.

# %% tags=["hide-input"]
# %matplotlib inline
import warnings

import torch
from IPython.display import Markdown, display
from myst_nb import glue

from ggcam.analysis import summary
from ggcam.viz import figures, report

warnings.filterwarnings("ignore", category=UserWarning)

# %% tags=["parameters", "remove-cell"]
profile = ""  # results/<profile> to read; empty: the best profile with results
results_dir = ""  # the results root; empty: the repository's results/
input_side = 64  # side of the random test images of the equivalence check (pixels)
seed = 0  # seed of the random weights and images
threads = 1  # torch threads (one is fastest on a small, shared machine)

# %%
torch.set_num_threads(threads)  # the page's torch work runs on this many threads

# %% [markdown]
# ## The CAM layer is GAP + Linear, reordered
#
# `ggcam.to_cam_model` takes a torchvision CNN, keeps every weight, and replaces its pooling
# and linear layer by `ggcam.CAMHead`. With random weights and random images, in float64, the
# logits of the two models agree to rounding error for both of the paper's networks:

# %%
equivalence = figures.cam_equivalence(("resnet50", "efficientnet_v2_s"), input_side, seed)
report.styled(equivalence, formats={"max |Δ logit|": "{:.1e}"},
              caption="torchvision's head against the CAM layer (float64)")

# %% tags=["remove-cell"]
glue("max_logit_diff", report.number(equivalence["max |Δ logit|"].max(), 2), display=False)

# %% [markdown]
# The largest difference is {glue:text}`max_logit_diff`, float64 rounding, and the parameter
# counts are identical: the CAM layer adds nothing to the network.
#
# ## Figure 2: the distribution of Ω in trained networks
#
# {numref}`fig-omega` counts every element of Ω of every test image, per network and arm,
# summed over the seeds. The paper's Figure 2 (ResNet50 and EffNetV2-S on the real data) is
# heavy-tailed "with median, mode and mean values around 0".

# %%
store = summary.open_results(profile, results_dir or None)
display(Markdown(summary.provenance_markdown(store)))
display(Markdown(summary.scope_note(store)))
hist = summary.omega_histograms(store, figures.omega_edges())

# %% tags=["hide-input"]
omega_fig = figures.omega_figure(hist)

# %% tags=["remove-cell"]
glue("fig_omega", omega_fig, display=False)

# %% [markdown]
# ```{glue:figure} fig_omega
# :name: fig-omega
# :alt: Density of the elements of the class activation maps Ω on a log scale, one panel per network trained, one line per arm, over a symmetric-log axis of values.
#
# **The paper's Figure 2, reproduced: the distribution of Ω in the trained networks.** Every element of Ω
# of every test image, on fixed bins (logarithmic beyond ±10⁻³), density on a log scale as in
# the paper; one colour per arm.
# ```

# %%
quantiles = summary.omega_quantiles(hist)
report.styled(quantiles, caption="Quantiles of Ω per network and arm (left edge of the bin "
              "where the cumulative share is reached)", labels={"q1": "1%", "q50": "median", "q99": "99%"})

# %% tags=["remove-cell"]
glue("q50_low", report.number(quantiles["q50"].min() if len(quantiles) else None), display=False)
glue("q50_high", report.number(quantiles["q50"].max() if len(quantiles) else None), display=False)
glue("q01_low", report.number(quantiles["q1"].min() if len(quantiles) else None), display=False)
glue("q99_high", report.number(quantiles["q99"].max() if len(quantiles) else None), display=False)

# %% [markdown]
# In our runs the median of Ω lies between {glue:text}`q50_low` and {glue:text}`q50_high`
# depending on the network and arm, with 1% and 99% quantiles as far out as
# {glue:text}`q01_low` and {glue:text}`q99_high`. Ψ lies in [0, 1], which is why
# {eq}`eq-10` maps Ω through a sigmoid before {eq}`eq-9` compares the two. The released code
# compares the *raw* Ω with Ψ instead ([the paper versus the released code](08_paper_vs_code.ipynb)).
#
# ## Summary
#
# - The CAM layer is a reordering of GAP + Linear: same parameters, same logits, plus Ω.
# - The distribution of Ω in the trained networks is shown in {numref}`fig-omega`, per arm;
#   where its median and tails lie is read from the table, not assumed.

# %% tags=["remove-input"]
display(Markdown(report.rerun_admonition("04_cam_layer", {
    "profile": profile, "results_dir": results_dir, "input_side": input_side, "seed": seed,
    "threads": threads},
    None)))
