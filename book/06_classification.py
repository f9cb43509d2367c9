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
# # Classification: Table 1, Figure 3a–b, Table 2
#
# ```{glue:md} answer_text
# :format: myst
# ```
#
# ## Overview
#
# Section 4.3 of the paper {cite:p}`zhu2022ggcam` compares each standard CNN with its GG-CAM
# version by the test AUC of five independent trainings (Hand and Till's multi-class AUC
# {cite:p}`hand2001auc`), tests the difference with a one-way ANOVA (Figure 3a–b), and reports
# per-class precision and recall as "median ± std" (Table 2). Here the arms of one seed share
# its images, initial weights and batch order and differ only in the loss (and, in the first
# study, in the checkpoint rule: each arm's own validation loss), so the comparison is
# **paired**: per seed, the difference in test AUC between two arms, averaged over seeds,
# with a bootstrap interval (the primary comparison's resamples seeds, then test images
# {cite:p}`efron1993bootstrap`) and an exact sign-flip p-value. The primary comparison,
# named before the sweep, is reported unadjusted; every other comparison is Holm-adjusted
# {cite:p}`holm1979` within its family. The paper's ANOVA
# {cite:p}`welch1951anova` is shown beside it, because the paper used it.
#
# ```{glue:md} resplit_caveat
# :format: myst
# ```
#
# ```{glue:md} scope_text
# :format: myst
# ```

# %% tags=["hide-input"]
# %matplotlib inline
import warnings

from IPython.display import Markdown, display
from myst_nb import glue

from ggcam.analysis import checkpoint_rule, effects, first_study, headline, summary
from ggcam.experiment import get_profile
from ggcam.experiment.design import OTHER_ARMS
from ggcam.stats.equivalence import MIN_RECALL
from ggcam.viz import figures, report
from ggcam.viz.figures.study import validation_curves_figure

warnings.filterwarnings("ignore", category=UserWarning)  # notes go into the tables

# %% tags=["parameters", "remove-cell"]
profile = ""  # results/<profile> to read; empty: the best profile with results
results_dir = ""  # the results root; empty: the repository's results/
n_boot = 1000  # bootstrap replicates of the paired ΔAUC interval (seeds, then test images)
seed = 0  # seed of the bootstrap
cache_dir = "../.cache/book"  # the paired table, shared with the front page

# %%
store = summary.open_results(profile, results_dir or None)
runs = summary.runs_of(store)
study = get_profile(store.profile)
paired = summary.paired_table(store, n_boot=n_boot, seed=seed, cache_dir=cache_dir)

# %% tags=["remove-input"]
Markdown(summary.provenance_markdown(store) + " " + summary.progress_facts(store)["sentence"])

# %% tags=["remove-cell"]
glue("answer_text", Markdown(headline.verdict_lines(store, ("classification", "controls"))), display=False)
glue("scope_text", Markdown(summary.scope_note(store)), display=False)
glue("resplit_caveat", Markdown(headline.resplit_caveat(study)), display=False)
glue("configs_shared", Markdown(summary.configs_shared(store)), display=False)
glue("target_auc", summary.TARGET_AUC, display=False)
glue("min_recall", f"{MIN_RECALL:.0%}", display=False)
glue("probes_text", Markdown(summary.probes_sentence(runs)), display=False)
glue("n_runs", len(runs), display=False)

# %% [markdown]
# ## What was trained
#
# The paper's values are its [Table 1](05_training.ipynb) (on the training page). Each arm
# here takes Table 1's values (the released code's for `ggcam-legacy`) with one named change,
# and the profile sets sizes, learning rate and epoch cap:
#
# ```{glue:md} configs_shared
# :format: myst
# ```
#
# The settings where the arms differ, first the training and the loss (P: the plateau
# patience; σ_sm₀ and σ_ce₀: the initial σ of eq. {eq}`eq-11`), then how Ω and Ψ are made:

# %%
report.styled(summary.configs_loss(store),
              caption="Training and loss settings per arm")

# %%
Markdown(summary.lr_drop_sentence(summary.curves_of(store)))

# %%
report.styled(summary.configs_maps(store),
              caption="How Ω and Ψ are made, per arm")

# %% [markdown]
# ## Did each arm learn?
#
# A run *learned* if the 95% bootstrap interval of its test AUC lies above 0.5 and every class
# is recalled at least {glue:text}`min_recall` of the time (a minimal bar; records written
# under the first study's weaker rule are judged by this one from their stored scores). The
# paired comparisons keep every seed (dropping the seeds
# where one arm failed would hide that arm's failures); an arm where fewer than half of the
# runs learned is marked ✗ under "arm counts", shown, and left out of conclusions. "CI width"
# is the median width of a run's 95% bootstrap interval of its test AUC.

# %%
report.styled(summary.run_summary(runs),
              caption="Runs per arm: how many learned, their test AUC")

# %% [markdown]
# Before the sweep the study set itself a **learning target** per network (on the
# [front page](01_answer.ipynb)): the reference arm's median test AUC at least
# {glue:text}`target_auc`, and at most one run in ten of either primary arm predicting a
# single class. A network that misses it still gets its comparison, marked in the front
# page's target table: read it as exploratory, since a gain or loss between undertrained
# models says little about gaze.
# {glue:md}`probes_text`
#
# ## Figure 3a–b: test AUC, standard against GG-CAM
#
# Each dot is one run (one seed); the title carries the paper's one-way ANOVA p-value, as in
# the paper. Red diamonds: the paper's medians for ResNet50 and EffNetV2-S on the real data
# (standard, and GG-CAM beside each of our GG-CAM arms). {numref}`fig-auc-primary` shows the
# primary comparison, {numref}`fig-auc-arms` the paper's GG-CAM as published (Table 1,
# float32), the same in float64 and the released code's, and {numref}`fig-auc-controls` the
# primary GG-CAM arm beside the oracle and the two gaze controls (same settings, only Ψ
# differs).

# %% tags=["hide-input"]
paper = figures.paper_medians(runs)
fig_primary = figures.figure3(runs, ["auc_ovo"], ("standard", "ggcam-warm"), paper)
# The paper's arms as published: the current study does not train them, the first one did.
arms_store = summary.open_results(profile, results_dir or None, variants=OTHER_ARMS)
arms_runs = summary.runs_of(arms_store)
fig_arms = figures.figure3(arms_runs, ["auc_ovo"], ("standard", *OTHER_ARMS),
                           figures.paper_medians(arms_runs), planned=get_profile(arms_store.profile).variants)
fig_controls = figures.figure3(runs, ["auc_ovo"], ("ggcam-warm", "ggcam-oracle", "ggcam-shuffled", "ggcam-centre"),
                               None, planned=study.variants)

# %% tags=["remove-cell"]
glue("fig_auc_primary", fig_primary, display=False)
glue("fig_auc_arms", fig_arms, display=False)
glue("arms_note", Markdown(first_study.borrowed_with_limits(arms_store, store, "these three arms",
                                                           "The next figure")), display=False)
glue("fig_auc_controls", fig_controls, display=False)

# %% [markdown]
# ```{glue:figure} fig_auc_primary
# :name: fig-auc-primary
# :alt: Dot plots of the test AUC of every run, standard against ggcam-warm, one panel per network trained, with the paper's medians as red diamonds.
#
# **The paper's Figure 3a–b: the primary comparison.** Test AUC of each run of the standard network and
# of `ggcam-warm`, one panel per network trained; red diamonds: the paper's medians on real data.
# ```
#
# ```{glue:md} arms_note
# :format: myst
# ```
#
# ```{glue:figure} fig_auc_arms
# :name: fig-auc-arms
# :alt: Dot plots of the test AUC of every run of the standard network and of the paper's, float64 and released-code GG-CAM arms, one panel per network trained.
#
# **The paper's GG-CAM as published, in float64, and the released code's.** Test AUC of
# each run beside the standard network's.
# ```
#
# ```{glue:figure} fig_auc_controls
# :name: fig-auc-controls
# :alt: Dot plots of the test AUC of every run of ggcam-warm, of the oracle and of the two gaze controls, shuffled and centre, one panel per network trained.
#
# **The oracle and the gaze controls.** `ggcam-warm` beside the same arm trained with the true
# findings as Ψ (`ggcam-oracle`, where the study has it), with Ψ of another image
# (`ggcam-shuffled`) and with the mean Ψ for every image (`ggcam-centre`).
# ```
#
# ## The paired comparisons
#
# Per network: Δ = AUC(second arm) − AUC(first arm), averaged over the seeds both arms have.
# The primary comparison's interval resamples seeds and then test images; the others resample
# seeds (with few seeds such an interval is narrow: read it with its p-value). "p" is the
# exact sign-flip p-value, Holm-adjusted within its family; the primary comparison's is not
# adjusted. A study that fixed its families before its sweep (the current one) adjusts each
# comparison they hold within them, so its p here is the [front page](01_answer.ipynb)'s;
# a comparison outside them is exploratory, adjusted within this page's groups (per network:
# the gaze controls against the GG-CAM arm; the other arms against standard; the primary
# pair's localisation metrics on the next page). The first study fixed none and uses this
# page's groups throughout. "smallest p possible" is the best p the family's test could give
# with these seeds (2 / 2ⁿ for n seeds, times the family's size under Holm): where it exceeds
# 0.05, no difference could be called, whatever its size. A comparison needs two paired
# seeds before it is tested.
#
# For the current study, whose replicates are independent, the front page's intervals are t
# intervals over replicates on the study's test set and its p-values are the ones here; the
# primary interval here also resamples the test images, so the two intervals can differ.
# Where the first study is shown (the figure of the other arms above), its seeds re-split
# one pool: the front page read such a study with Nadeau and Bengio's corrected t, wider
# than the intervals here.

# %%
report.styled(summary.paired_brief(paired, "auc_ovo"),
              formats={"p": "{:.3g}", "smallest p possible": "{:.3g}"},
              caption="Paired differences in test AUC")

# %% [markdown]
# The paper's test, one-way ANOVA of the runs' AUCs between two arms (it ignores the
# pairing), with Welch's ANOVA and Kruskal–Wallis, which assume neither equal variances nor
# normal AUCs; "runs" counts the runs of standard and of the other arm, "median" their median
# test AUCs:

# %%
report.styled(summary.anova_display(summary.anova_table(runs, "auc_ovo")),
              caption="The paper's ANOVA, per network and arm")

# %% [markdown]
# ## Does the answer hinge on the checkpoint rule?
#
# ```{glue:md} checkpoint_text
# :format: myst
# ```

# %% tags=["hide-input"]
one_rule = checkpoint_rule.has_last_epoch(runs) and bool(study.criterion)
if one_rule:
    display(report.styled(checkpoint_rule.checkpoint_table(runs, study),
                          caption="Chosen and last epoch per arm, with ΔAUC against standard at each"))
    base = effects.base_runs(runs, study)
    fig_validation = validation_curves_figure(summary.curves_of(store), base, study.primary)

# %% tags=["remove-cell"]
glue("checkpoint_text", Markdown(checkpoint_rule.checkpoint_markdown(runs, study)
                                 + ("\n\n" + checkpoint_rule.CURVES_FIGURE if one_rule else "")), display=False)
if one_rule:
    glue("fig_validation", fig_validation, display=False)

# %% [markdown]
# ## How certain is one run's AUC?
#
# Each of the {glue:text}`n_runs` runs' test AUC with its 95% bootstrap interval (test images
# resampled within classes), its epochs (the best one in brackets) and its flags; per arm,
# the table under "Did each arm learn?" sums them up. Click to show the table:

# %% tags=["hide-output"]
report.styled(summary.run_display(store), caption="Every run")

# %% [markdown]
# ## Table 2: precision and recall per class
#
# Median ± standard deviation over seeds, ours:

# %%
report.styled(summary.table2(runs), caption="Table 2, ours (phantom)")

# %% [markdown]
# and the paper's, as published (real EGD-CXR data, ResNet50 and EffNetV2-S, five runs each):

# %%
report.styled(summary.table2_paper(), caption="Table 2, the paper's (real data)")

# %% [markdown]
# ## Summary
#
# - The answer at the top of this page is the primary comparison: paired by seed, with its
#   interval and p-value; arms that did not learn are marked and not concluded from.
# - The gaze controls say whether the radiologist's gaze itself matters, or any map would do.
# - The paper's ANOVA, medians and Table 2 are shown beside ours, labelled as the paper's.

# %% tags=["remove-input"]
display(Markdown(report.rerun_admonition("06_classification", {
    "profile": profile, "results_dir": results_dir, "n_boot": n_boot, "seed": seed,
    "cache_dir": cache_dir}, None)))
