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
# # GG-CAM, reproduced: the answer so far
#
# *Gaze-Guided Class Activation Mapping* {cite:p}`zhu2022ggcam` asks whether a chest X-ray
# classifier learns better, and looks at the right places, when its class activation maps
# {cite:p}`zhou2016cam` are taught where a radiologist looked. The paper reports that it does:
# the median test AUC of five trainings rose from {glue:text}`paper_resnet` (ResNet50) and
# from {glue:text}`paper_effnet` (EfficientNetV2-S) on the real EGD-CXR data
# {cite:p}`karargyris2021egdcxr`. This book
# reimplements the method, trains it on data whose truth is known, and compares each GG-CAM
# network with the same network trained without gaze, **seed by seed**.
#
# ```{glue:md} answer_text
# :format: myst
# ```
#
# **Where the networks look** (details on the [interpretability page](07_interpretability.ipynb)):
#
# ```{glue:md} localisation_text
# :format: myst
# ```
#
# ```{glue:md} scope_text
# :format: myst
# ```
#
# {glue:md}`progress_sentence` The tables below are recomputed from `results/` every time
# the book is built.

# %% tags=["hide-input"]
# %matplotlib inline
import time
import warnings

from IPython.display import Markdown, display
from myst_nb import glue

from ggcam.analysis import summary
from ggcam.analysis.paper_values import paper_auc_change
from ggcam.config import WARM
from ggcam.viz import figures, report

warnings.filterwarnings("ignore", category=UserWarning)  # notes go into the tables
started = time.perf_counter()

# %% tags=["parameters"]
profile = ""  # results/<profile> to read; empty: the best profile with results
results_dir = ""  # the results root; empty: the repository's results/
n_boot = 1000  # bootstrap replicates of the paired ΔAUC interval (seeds, then test images)
seed = 0  # seed of the bootstrap
cache_dir = "../.cache/book"  # where the paired table is kept for the next page

# %% [markdown]
# ## The answer
#
# The **primary comparison** was named before the sweep ran: the standard network against
# GG-CAM with its loss in float64 and $\sigma_{sm}$ starting at
# {glue:text}`warm_sigma` (`ggcam-warm`; the [training page](05_training.ipynb) says why not Table 1's tiny
# $\sigma_{sm}$). Both arms share the learning rate, the split and the seed, so they differ in
# the loss, and in Table 1's plateau patience P, which cannot act within the `cpu` profile's
# 12-epoch cap (no run drops its learning rate; see the
# [paper-versus-code page](08_paper_vs_code.ipynb)). The difference in test AUC {cite:p}`hand2001auc` is averaged over the
# paired seeds, with a 95% interval that resamples the seeds and then the test images
# {cite:p}`efron1993bootstrap` and an exact sign-flip p-value. Two controls ask whether the
# *radiologist's* gaze matters or any map would do: Ψ of another image of the same class
# (`ggcam-shuffled`), and the mean Ψ for every image (`ggcam-centre`); their p-values are
# Holm-adjusted {cite:p}`holm1979` within their family (per network: the controls; the primary
# pair's localisation metrics; the other arms), and each table gives the smallest p its test
# could reach with the seeds in. The paper's medians stand beside ours, labelled.

# %%
store = summary.open_results(profile, results_dir or None)
runs = summary.runs_of(store)
display(Markdown(summary.provenance_markdown(store)))
paired = summary.paired_table(store, n_boot=n_boot, seed=seed, cache_dir=cache_dir)
report.styled(summary.answer_rows(store, paired),
              caption="The answer per network: ours (phantom) beside the paper's (real data)")

# %% tags=["remove-cell"]
glue("answer_text", Markdown(summary.answer_markdown(store, paired)), display=False)
glue("localisation_text", Markdown(summary.localisation_markdown(store, paired)), display=False)
glue("scope_text", Markdown(summary.scope_note(store)), display=False)
glue("paper_resnet", paper_auc_change("resnet50"), display=False)
glue("paper_effnet", paper_auc_change("efficientnet_v2_s"), display=False)
glue("warm_sigma", report.number(WARM["sigma_sm"]), display=False)

# %% [markdown]
# ## Did each arm learn?
#
# A run *learned* if it does not predict one class for every test image and the 95%
# bootstrap interval of its test AUC excludes 0.5 (chance). The paired comparisons keep every
# seed, learned or not: dropping a seed where one arm failed would hide that arm's failures
# (and make the seeds unpaired). What the check decides is the *arm*: an arm where fewer than
# half of the runs learned is marked here, and every comparison involving it says so instead
# of drawing a conclusion.

# %%
report.styled(summary.arm_status_display(runs), caption="Runs per arm, how many learned",
              labels={"variant": "arm"})

# %% [markdown]
# Before the sweep the study set itself a **learning target** per network: the reference
# arm's median test AUC at least {glue:text}`target_auc`, and at most one run in ten of either
# primary arm predicting a single class. A network that misses it still gets its comparison,
# but the sentences above call it exploratory: a gain or loss between undertrained models says
# little about gaze.

# %%
glue("target_auc", summary.TARGET_AUC, display=False)
report.styled(summary.learning_target_table(store), caption="The learning target per network")

# %% [markdown]
# ## How much of the study is done
#
# The sweep runs the primary comparison first, seed by seed on both networks, then the two
# controls, then the other arms. A page built while it runs
# shows what exists. {glue:md}`progress_sentence`

# %%
facts = summary.progress_facts(store)
glue("progress_sentence", Markdown(facts["sentence"]), display=False)
glue("runs_done", facts["done"], display=False)
report.styled(summary.progress_table(store), caption="Runs planned and done, in sweep order",
              labels={"variant": "arm"})

# %% [markdown]
# ## GG-CAM in one figure
#
# The network's usual head (global average pooling and a linear layer) is replaced by an
# equivalent **CAM layer** that outputs both the logits and the maps Ω. During training the
# map of the true class, squashed by a sigmoid, is pulled towards the radiologist's gaze heat
# map Ψ by a **selective MSE**, balanced against the cross-entropy by two trainable
# uncertainties {cite:p}`kendall2018multitask`, {eq}`eq-11`:
#
# $$
# \mathcal{L} = \frac{1}{2\sigma_{sm}^2} \mathcal{L}_{sm} + \frac{1}{\sigma_{ce}^2} \mathcal{L}_{ce}
#   + \ln(\sigma_{sm} + 1) + \ln(\sigma_{ce} + 1) \tag{11}
# $$
#
# After training the network needs no gaze. The paper's equation numbers are on every box;
# the [CAM layer page](04_cam_layer.ipynb) states all twelve.

# %% tags=["hide-input"]
figures.method_figure()

# %% [markdown]
# ## What this book is
#
# The executable companion of the `ggcam` Python package. Each page is a notebook: its
# source is a plain-text `book/NN_name.py` (jupytext percent format), executed by papermill
# into `book/NN_name.ipynb`, and this HTML is built from the executed notebooks. Every number
# in the prose is computed by the page's own code and inserted with `glue`.
#
# | page | what it shows |
# |---|---|
# | [The data](02_data.ipynb) | the EGD-CXR layout, the phantom's ground truth, where Ψ's points come from |
# | [Algorithm 1](03_algorithm1.ipynb) | the heat map Ψ, its blur, and where the Ω grid lies on the image |
# | [The CAM layer and Figure 2](04_cam_layer.ipynb) | eqs. 1–12; the layer's equivalence with GAP + Linear; the distribution of Ω |
# | [Training](05_training.ipynb) | one run on the page, the loss parameters, what saturates or freezes |
# | [Classification](06_classification.ipynb) | Table 1, Figure 3a–b, the paired tests, Table 2 |
# | [Interpretability](07_interpretability.ipynb) | eq. 12 and the pointing game against chance, Figure 3c–f, Table 3, CAM methods side by side |
# | [The paper versus the released code](08_paper_vs_code.ipynb) | what the released code does, and which of it the legacy arm reproduces |
# | [Running on the real data](09_real_data.ipynb) | the commands for a user with PhysioNet access |
# | [Performance](10_performance.ipynb) | benchmark figures with their machines |
# | [Execution statistics](execution.md) | when each page last ran, and how long it took |
# | [References](references.md) | the paper, the data and the methods, with DOIs |
#
# ### Phantom and real data
#
# The paper's data, EGD-CXR {cite:p}`karargyris2021egdcxr` with its MIMIC-CXR images
# {cite:p}`johnson2019mimiccxr`, is **credentialed** on PhysioNet. It is never committed here
# and no page shows a patient image. Instead the package generates a **phantom**: synthetic
# chest radiographs with a simulated radiologist's gaze, in exactly the layout of the real
# release, and with its ground truth (where each finding is) written beside it. So **our
# numbers are not the paper's**: they say what the method does on data whose truth we know,
# with networks small enough for a laptop. The same notebooks read the real release unchanged
# ([Running on the real data](09_real_data.ipynb)).
#
# ### How to rebuild it
#
# ```bash
# make book                    # sets up .venv, runs every page, builds _build/html
# make reproduce PROFILE=cpu   # trains every run of the cpu profile (hours, resumable), then the book
# make test                    # unit tests and notebook regression tests
# ```
#
# The results pages read only `results/<profile>/`, the files a sweep writes
# (`ggcam sweep --profile cpu`); each states its provenance (profile, commit, device, date)
# and ends with the command that reruns it alone. The book works offline: formulas are drawn
# when it is built, and nothing is fetched from other sites.
#
# ## Summary
#
# - The answer table and sentences above are the study's result as far as the sweep has got;
#   arms that did not learn are marked and not used for conclusions.
# - Every number comes from `results/`; the paper's numbers are labelled as the paper's.

# %%
display(Markdown(report.rerun_admonition("01_answer", {
    "profile": profile, "results_dir": results_dir, "n_boot": n_boot, "seed": seed,
    "cache_dir": cache_dir}, time.perf_counter() - started)))
