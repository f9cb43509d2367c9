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
# # Interpretability: where the networks look
#
# ```{glue:md} verdict_text
# :format: myst
# ```
#
# ```{glue:md} localisation_text
# :format: myst
# ```
#
# The intervals in this paragraph and in the paired table below resample replicates
# (bootstrap); the front page's are t intervals over replicates, so the two can differ.
#
# ```{glue:md} resplit_caveat
# :format: myst
# ```
#
# ## Overview
#
# Section 4.4 of the paper {cite:p}`zhu2022ggcam` calls a prediction interpretable when the
# peak of the true class's map lies in the organ of its disease, {eq}`eq-12`: the heart for
# CHF (the paper's cardiomegaly), the lungs for pneumonia. Figure 3c–f compares that rate
# between standard and GG-CAM networks; Table 3 shows Ψ and $\Omega^Y$ over test images. A rate
# means little without the rate a *random* peak would reach, so each score here comes with its
# chance baseline, and, because the phantom knows where its findings are, the peak is also
# scored against the **true findings** (the pointing game). How close network attention is to
# the radiologist's is measured with the saliency benchmark's metrics
# {cite:p}`bylinskii2019saliency` (CC, KL, SIM, NSS, AUC-Judd), beside the same metrics of the
# **mean-gaze map** (the mean training Ψ, the same map for every image). Finally, the native
# $\Omega^Y$ is compared with Grad-CAM {cite:p}`selvaraju2017gradcam`, HiResCAM
# {cite:p}`draelos2020hirescam` and AblationCAM on a small demonstration network trained on
# this page, with a faithfulness score (ROAD {cite:p}`rong2022road`) and a sanity check
# {cite:p}`adebayo2018sanity`.
#
# ```{glue:md} scope_text
# :format: myst
# ```

# %% tags=["hide-input"]
# %matplotlib inline
import warnings

import torch
from IPython.display import Markdown, display
from myst_nb import glue

from ggcam.analysis import constant_maps, headline, image_scores, summary
from ggcam.experiment import design_checks, get_profile
from ggcam.metrics.image_localisation import tolerance_at
from ggcam.viz import figures, report
from ggcam.viz.figures.study import image_scores_figure

warnings.filterwarnings("ignore", category=UserWarning)  # notes go into the tables

# %% tags=["parameters", "remove-cell"]
profile = ""  # results/<profile> to read; empty: the best profile with results
results_dir = ""  # the results root; empty: the repository's results/
n_boot = 1000  # bootstrap replicates of the paired ΔAUC interval (shared with page 06)
seed = 0  # seed of the bootstrap, and of the demonstration network trained on this page
cache_dir = "../.cache/book"  # the paired table, shared with the front page
explain_work_dir = "../.cache/book-explain"  # phantom, cache and scratch run of that network
explain_network = "resnet18"  # the demonstration network, for the CAM methods
explain_variant = "ggcam-warm"  # its arm
explain_images = 300  # phantom images it is trained (50%), validated (10%) and tested (40%) on
explain_epochs = 6  # its epochs (after 4, two classes are never predicted; 6 learn clearly)
threads = 2  # torch threads (both cores; book/build.py lets idle threads sleep, not spin)
dynamic_range_csv = "../benchmarks/dynamic_range.csv"  # benchmarks/dynamic_range.py's table

# %% tags=["remove-cell"]
torch.set_num_threads(threads)

# %%
store = summary.open_results(profile, results_dir or None)
runs = summary.runs_of(store)
study = get_profile(store.profile)
paired = summary.paired_table(store, n_boot=n_boot, seed=seed, cache_dir=cache_dir)

# %% tags=["remove-input"]
Markdown(summary.provenance_markdown(store) + " " + summary.progress_facts(store)["sentence"])

# %% tags=["remove-cell"]
glue("verdict_text", Markdown(headline.verdict_lines(store, ("localisation", "gaze"))), display=False)
glue("scope_text", Markdown(summary.scope_note(store)), display=False)
glue("resplit_caveat", Markdown(headline.resplit_caveat(study)), display=False)

# %% [markdown]
# ## Can these metrics tell a map that knows from one that does not?
#
# A localisation score is worth reporting only if a map that knows where the findings are
# beats a map that knows nothing of the image. Before the second study ran, each pneumonia
# metric was scored for the **oracle** (the true findings averaged onto the Ω grid, then
# upsampled like any Ω), the **best fixed location** (one place, fitted on training images)
# and the **mean-gaze map** (the mean training Ψ), on a phantom prepared as the study
# prepares its data. At the first study's input, {glue:text}`dr_first`, a consolidation is smaller than half an Ω
# cell: the oracle's pointing rate is {glue:text}`dr_first_oracle` against
# {glue:text}`dr_first_fixed` for a fixed location, so its pointing game cannot tell a real
# map from a constant one. The second study uses {glue:text}`dr_chosen`, the smallest input
# at which every pneumonia metric separates the oracle from the best fixed location by at
# least {glue:text}`dr_margin`. Both studies draw the phantom at the same scale (1/16 of the
# release's), so the larger input buys a finer Ω grid, not more detail in the image. CHF is
# not judged: its finding, the enlarged heart, barely
# moves between images, so a fixed location near the heart scores as well as any map.

# %% tags=["hide-input"]
dynamic_range = design_checks.read_dynamic_range(dynamic_range_csv)
report.styled(design_checks.dynamic_range_display(dynamic_range),
              caption="Pneumonia localisation of an oracle map against maps that know nothing of the image")

# %% tags=["remove-cell"]
glue("dr_first", design_checks.input_label(dynamic_range, 0), display=False)
glue("dr_first_oracle", design_checks.score(dynamic_range, 0, "pointing", "oracle"), display=False)
glue("dr_first_fixed", design_checks.score(dynamic_range, 0, "pointing", "best fixed"), display=False)
glue("dr_chosen", design_checks.input_label(dynamic_range, design_checks.chosen_input(dynamic_range)), display=False)
glue("dr_margin", design_checks.MARGIN, display=False)

# %% [markdown]
# ## Localisation in image space, beside constant maps
#
# Each map $\Omega^Y$ is upsampled to the network's input the way its receptive fields lie
# and scored against the phantom's true findings, per class: the **pointing game** (a hit
# when the map's peak lies within 15 pixels of a finding, counted at the release's full image
# size, as the pointing game usually is), the share of
# the map's **energy inside** the findings, and the **AUROC** of the map's values inside
# against outside them. Beside every score stand three maps that know nothing of the image,
# scored on the same test images. Normal images have no findings and are not scored.
#
# ```{glue:md} image_scores_text
# :format: myst
# ```

# %% tags=["hide-input"]
image_long = image_scores.scores_long(runs, study) if image_scores.has_image_scores(runs) else None
if image_long is not None:
    display(report.styled(image_scores.scores_table(image_long),
                          caption="Localisation in image space: means over replicates, networks and constant maps"))

# %% tags=["remove-cell"]
glue("image_scores_text", Markdown(image_scores.section_markdown(image_long, study, tolerance_at(study.input_shape))), display=False)
if image_long is not None:
    glue("fig_image_scores", image_scores_figure(image_long), display=False)

# %% [markdown]
# ## Eq. 12 and the pointing game, with their chance baselines
#
# Medians over seeds per network and arm. **Eq. {eq}`eq-12`** as the paper states it (the
# peak cell in the region) and with the released code's tolerance (any cell of the peak's
# 3×3 neighbourhood in the region), beside its chance: the share of grid cells inside the
# region, the rate of a peak placed at random. The **grid pointing game** scores the peak
# cell against the true findings of the phantom (`phantom-truth.csv`) on the Ω grid, with
# the organs' rule: a cell is a finding cell when at least half of it is covered. The peak
# cell must be one (no tolerance: a one-cell tolerance on a coarse grid would make a random
# hit likely), beside its chance, the share of finding cells. A consolidation smaller than
# half a cell covers no cell, so such images are not scored: on a coarse grid this score
# is mostly a CHF score. The image-space pointing game above has no such gap. Beside each
# grid score stand two constant maps: the **mean-gaze map** and the **best single cell**,
# one Ω cell given to every image, the cell that scores best on these very test images (no
# map that ignores the image can do better).

# %%
prior_eq12 = constant_maps.prior_eq12(store, runs)  # two constant maps, scored like any Ω^Y
report.styled(summary.eq12_by_class(runs, "chf", prior_eq12),
              caption="Eq. 12 for CHF, the heart (medians over seeds), the rate "
                      "of a random peak and of the mean-gaze map")

# %%
report.styled(summary.eq12_by_class(runs, "pneumonia", prior_eq12),
              caption="Eq. 12 for pneumonia, the lungs (medians over seeds), the "
                      "rate of a random peak and of the mean-gaze map")

# %%
report.styled(summary.pointing_table(runs, prior_eq12),
              caption="Grid pointing game against the true findings (medians over "
                      "seeds), the rate of a random peak and two constant maps")

# %% tags=["remove-cell"]
glue("prior_eq12_text", Markdown(constant_maps.prior_sentence(runs, prior_eq12, study)), display=False)
glue("localisation_text", Markdown(summary.localisation_markdown(store, paired, prior_eq12)), display=False)

# %% [markdown]
# On a coarse grid the 3×3 tolerance covers a large part of the image, so it inflates eq. 12;
# compare any rate with its chance column before reading it as localisation, and with the
# **mean-gaze map**: the mean training Ψ given to every image, a map that knows nothing of
# the image. {glue:md}`prior_eq12_text` Eq. 12 scores a
# CHF image against the heart alone, while the phantom's reader, like a radiologist, also
# looks at the edema and effusion of CHF cases, in the lungs: a map that follows gaze can peak
# in a lung, lose eq. 12 for CHF and still point at a true finding. And CHF fails the
# dynamic-range check above: the heart barely moves between images, so a fixed location near
# it scores as well as any map. Eq. 12 for CHF is shown because the paper reports it, not as
# evidence that a map localises.
#
# ## Figure 3c–f: eq. 12 per run
#
# Each dot is one run; the title carries the paper's ANOVA p-value. {numref}`fig-interp-primary`
# shows the primary comparison, {numref}`fig-interp-arms` every arm.

# %% tags=["hide-input"]
eq12 = ["interp_chf", "interp_pneumonia"]
constant_lines = constant_maps.figure_lines(prior_eq12)
fig_primary = figures.figure3(runs, eq12, ("standard", "ggcam-warm"), constants=constant_lines)
fig_arms = figures.figure3(runs, eq12, ("standard", "ggcam", "ggcam-fp64", "ggcam-warm", "ggcam-legacy",
                                        "ggcam-oracle", "ggcam-shuffled", "ggcam-centre"), planned=study.variants,
                           constants=constant_lines)

# %% tags=["remove-cell"]
glue("fig_interp_primary", fig_primary, display=False)
glue("fig_interp_arms", fig_arms, display=False)

# %% [markdown]
# ```{glue:figure} fig_interp_primary
# :name: fig-interp-primary
# :alt: Dot plots of the eq. 12 rate of every run for CHF and for pneumonia, standard against ggcam-warm, one panel per network trained and class.
#
# **The paper's Figure 3c–f: the primary comparison.** The share of test images whose map peaks in the
# organ of the true class (eq. 12), per run of the standard network and of `ggcam-warm`. Grey
# lines: maps that ignore the image, the mean-gaze map (dashed) and the best single cell
# (dotted), medians over runs.
# ```
#
# ```{glue:figure} fig_interp_arms
# :name: fig-interp-arms
# :alt: Dot plots of the eq. 12 rate of every run of every arm, for CHF and for pneumonia, one panel per network and class, arms coloured as in the legend.
#
# **The paper's Figure 3c–f: every arm of the study.** The same rate for each arm, coloured as
# in the legend; grey lines as above.
# ```
#
# ## Paired: does GG-CAM move the peak, or the map towards Ψ?
#
# The pointing game, CC$(\Omega^Y, \Psi)$ and eq. 12 per class, paired by seed as on the
# [classification page](06_classification.ipynb): each cell is the mean difference (second
# arm − first) with its 95% interval over seeds, and its p-value. Every row is a secondary
# comparison, Holm-adjusted within its family, as on the classification page: where the study
# fixed its families before its sweep, a comparison they hold (the CC with Ψ) carries their
# adjusted p, the front page's; the paper's grid metrics here (the grid pointing game, eq. 12)
# are no such family's and are exploratory, adjusted within the page's groups (per network:
# the primary pair's localisation metrics; the gaze controls; the other arms). The study's own
# localisation comparisons (image space, per class) are on the
# [front page](01_answer.ipynb) and in the section above.

# %%
localisation = ["pointing", "cc", "interp_chf", "interp_pneumonia"]
report.styled(summary.paired_by_metric(paired, localisation),
              caption="Paired differences in localisation and agreement: "
                      "Δ [95% CI], Holm-adjusted p")

# %% [markdown]
# ## Agreement between $\Omega^Y$ and Ψ, against the mean-gaze map
#
# Per run, the mean over test images with gaze of Pearson's CC (1: the same pattern), the KL
# divergence of $\Omega^Y$ from Ψ (0: the same distribution), histogram intersection SIM (1:
# the same), NSS of $\Omega^Y$ at the cells the radiologist's gaze fell in (0: chance) and
# AUC-Judd (0.5: chance); $\Omega^Y$ min-max scaled first; medians over seeds. The
# **mean-gaze map** row after each network's arms scores the mean training Ψ, the same map for every
# image, the same way (median over every run of the network): the bar a network must clear to
# claim that it attends like *this* radiologist on *this* image, rather than where
# radiologists look on average.

# %%
report.styled(summary.agreement_display(runs),
              caption="Agreement of Ωʸ with Ψ (medians over seeds), and of the "
                      "mean-gaze map")

# %% [markdown]
# ```{glue:md} partial_cc_text
# :format: myst
# ```

# %% tags=["remove-cell"]
glue("partial_cc_text", Markdown(constant_maps.partial_cc_sentence(runs, study)), display=False)

# %% [markdown]
# ## Table 3: where the radiologist and the networks look
#
# {numref}`fig-table3` shows one test image per class (the same images for every arm, from its
# first seed's run), Ψ in the first row and below it $\Omega^Y$ of the standard network,
# `ggcam-warm`, the released code's arm and the oracle, where the study trained them.

# %% tags=["hide-input"]
fig_table3 = figures.table3_figure(
    # the primary pair, the released code's arm and the oracle: every arm's row would pass 5 MB
    store.examples(), variants=("standard", "ggcam-warm", "ggcam-legacy", "ggcam-oracle"))

# %% tags=["remove-cell"]
glue("fig_table3", fig_table3, display=False)

# %% [markdown]
# ```{glue:figure} fig_table3
# :name: fig-table3
# :alt: A grid of heat maps over three phantom radiographs, one per class: the radiologist's gaze map in the first row, each arm's class activation map below.
#
# **Table 3, ours.** Ψ (first row) and $\Omega^Y$ of the standard network, `ggcam-warm`, the
# released code's arm and the oracle, where the study shown trained them (rows labelled), over
# the same test images; each map scaled to [0, 1] on its own (viridis: yellow high, dark purple
# low).
# ```
#
# ## CAM methods side by side
#
# The sweep keeps no weights (and none are committed), so this section trains a
# **demonstration network** of its own, in under a minute on two CPU cores, through the
# study's one train-one-run path (`ggcam.experiment.run.run_one`): {glue:text}`explain_model`.
# It is far smaller and shorter-trained than the sweep's runs, and it is here to show the
# methods on a network that has learned something, not to rank them. Its test images are
# explained four ways, all on the Ω grid ({numref}`fig-cam-methods`): the native $\Omega^Y$
# of the CAM layer, Grad-CAM, HiResCAM and AblationCAM (pytorch-grad-cam). For a CAM layer
# $\partial y_c / \partial A_{kij} = \Lambda_{ck}/(hw)$, so Grad-CAM and HiResCAM are the ReLU
# of $\Omega^c$ up to scale: they show the part of the native map above zero. AblationCAM,
# which removes feature maps and watches the logit, is the independent view.

# %%
model, test, info = figures.explain_model(
    explain_work_dir, explain_network, explain_variant, seed=seed,
    n_images=explain_images, epochs=explain_epochs, threads=threads)
explained = figures.cam_methods(model, test)
fig_methods = figures.cam_methods_figure(explained)

# %% tags=["remove-cell"]
glue("explain_model", f"{info['network']} {info['arm']} at {info['input']}, "
     f"{info['train images']} training images, {info['epochs']} epochs, test AUC "
     f"{report.number(info['test AUC'])} (95% CI {report.number(info['AUC low'])}–"
     f"{report.number(info['AUC high'])}) on {info['test images']} test images",
     display=False)
glue("fig_cam_methods", fig_methods, display=False)

# %% [markdown]
# ```{glue:figure} fig_cam_methods
# :name: fig-cam-methods
# :alt: A grid of heat maps over three test radiographs, one per class: the gaze map, then the native class activation map, Grad-CAM, HiResCAM and AblationCAM of the demonstration network.
#
# **Four explanations of the demonstration network.** Ψ in the first row, then the native
# $\Omega^Y$ (the raw map, negative values included), Grad-CAM, HiResCAM and AblationCAM for
# the true class; each map min-max scaled on its own (viridis: yellow high).
# ```
#
# **Faithfulness (ROAD).** Remove the pixels a map ranks most relevant (or least relevant),
# fill them in by noisy interpolation, and watch the true class's probability: ROAD is the mean
# over thresholds of (change when the least relevant go − change when the most relevant go) / 2,
# a change being the new probability minus the old. A faithful map loses more when its most
# relevant pixels go, so higher is more faithful; a constant map scores about 0. Three test images, one per class,
# of the demonstration network: this shows how to read ROAD beside the maps above, not how
# faithful each method is in general. (ROAD depends on a map only through its ranking of the
# pixels, so Grad-CAM and HiResCAM, equal to the native map's ReLU, share its score.)

# %%
report.styled(figures.road_table(model, explained),
              caption="ROAD per image and method")

# %% [markdown]
# **Sanity check.** Re-initialise the CAM head, then also the last block, and compare
# $\Omega^Y$ with the trained one (Spearman ρ per image). A map that explains the trained
# network must change: ρ near 1 would fail the check.

# %%
report.styled(figures.randomisation_table(model, explained),
              caption="Spearman ρ between the trained and the randomised Ωʸ")

# %% [markdown]
# ## Summary
#
# - Eq. 12 and the pointing game are reported with the rate of a random peak; the released
#   code's 3×3 tolerance inflates eq. 12 on coarse grids.
# - Agreement with Ψ is set against the mean-gaze map, which any network can match by looking
#   where radiologists usually look.
# - On a CAM network Grad-CAM and HiResCAM reduce to the native map; ROAD and the
#   randomisation check say whether a map follows the network (shown here on a demonstration
#   network trained on the page, not on the sweep's runs).

# %% tags=["remove-input"]
display(Markdown(report.rerun_admonition("07_interpretability", {
    "threads": threads, "profile": profile, "results_dir": results_dir, "n_boot": n_boot, "seed": seed,
    "cache_dir": cache_dir, "explain_work_dir": explain_work_dir,
    "explain_network": explain_network, "explain_variant": explain_variant,
    "explain_images": explain_images, "explain_epochs": explain_epochs}, None)))
