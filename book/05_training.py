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
# # Training
#
# ## Overview
#
# Section 4.2 of the paper {cite:p}`zhu2022ggcam`: Adam, the learning rate reduced to 10%
# after P epochs without a lower validation loss, Table 1's learning rates, P, initial
# $\sigma_{sm}$ and blur B, five runs per network. GG-CAM trains three more parameters than
# the network: $\alpha$ of {eq}`eq-10` and the uncertainties $\sigma_{sm}$, $\sigma_{ce}$ of
# {eq}`eq-11`. This page shows one run of the study as the sweep stored it (its
# configuration, its curves per epoch and its loss parameters; nothing is trained while the
# book builds), then reads all of the sweep's runs for what the paper's initial
# $\sigma_{sm}$ does: the saturation and overflow flags of every run. The commands that
# retrain the run, or train one of your own, close the first part.

# %% tags=["hide-input"]
# %matplotlib inline
import math
import warnings

from IPython.display import Markdown, display
from myst_nb import glue

from ggcam import GGCAMLoss
from ggcam.analysis import design_text, summary
from ggcam.config import RELEASED, TABLE1, WARM, table1_frame
from ggcam.evaluate import SATURATION_LOGIT
from ggcam.experiment import RunSpec, get_profile, profiles_frame
from ggcam.stats.equivalence import MIN_RECALL
from ggcam.train import SATURATION_SHARE
from ggcam.tune import (
                        best_vs_table1,
                        load_tuning,
                        plot_param_importances,
                        plot_search_history,
                        search_space_frame,
)
from ggcam.viz import figures, report

# Notes on missing runs or classes go into the tables, not into warnings.
warnings.filterwarnings("ignore", category=UserWarning)

# %% tags=["parameters", "remove-cell"]
sweep_profile = ""  # the sweep whose runs are shown; empty: the best profile with results
results_dir = ""  # its results root; empty: the repository's results/
network = "resnet18"  # the run shown: a network of that sweep,
variant = "ggcam-warm"  # its arm (standard, ggcam, ggcam-fp64, ggcam-warm, ggcam-legacy, ...)
seed = 0  # and its seed
tuning_dir = "../results/smoke"  # a profile's results folder holding tuning/ (ggcam tune)
tuning_study = "resnet18__ggcam-warm__val_ce"  # the study shown: <network>__<arm>__<objective>

# %% [markdown]
# ## The profiles
#
# One code path, five sizes. A profile fixes the data, the image and network-input sizes, the
# arms and their seeds, the epoch cap, the batch and the device; everything else is Table 1's
# value for the network and arm, or the released code's for `ggcam-legacy`.

# %%
profiles = profiles_frame()
report.styled(profiles[["profile", "data", "images", "input (H×W)", "Ω grid", "networks", "runs"]],
              caption="Profiles: data and networks (ggcam.experiment.PROFILES)")

# %%
report.styled(profiles[["profile", "epoch cap", "batch", "device", "budget"]],
              caption="Profiles: training budget")

# %% [markdown]
# (training-study-design)=
# ### The study's design, fixed before its sweep
#
# The `cpu` study (the second; the first, `cpu-v1`, re-split one pool of images per seed and
# trained 12 epochs) was designed so that a referee can sign its answer. Everything below is
# read from its profile, which was committed before the sweep started; only the budget line
# has changed since, to the time its first runs measured:
#
# ```{glue:md} study_design
# :format: myst
# ```

# %% tags=["remove-cell"]
glue("study_design", Markdown(design_text.study_design_markdown(get_profile("cpu"))), display=False)

# %% [markdown]
# (training-table1)=
# Table 1 of the paper, as published (Adam for every network; B is the blur's kernel size):

# %%
report.styled(table1_frame(), formats={"learning rate": "{:.1e}", "σ_sm": "{:.1e}"},
              caption="Table 1 (the paper's)")

# %% [markdown]
# ## Searching Table 1 again
#
# Section 4.2 says Table 1 was *searched* (optimiser, learning rate, P; for GG-CAM also the
# initial $\sigma_{sm}$ and B) but gives a range only for B. `ggcam tune` runs that search
# again with [Optuna](https://optuna.org): each trial a short run of a profile, scored by its
# best validation cross-entropy, hopeless trials pruned. The space, each range with its source:

# %%
report.styled(search_space_frame(), caption="Search space (ggcam.tune.SEARCH_SPACE)")

# %% [markdown]
# The study committed with the repository is a **demonstration of the machinery on the
# `smoke` profile** (two-epoch trials on a few dozen images): its best values are not a
# replacement for Table 1, and the sweep below trains with Table 1's values wherever its
# profile sets none. The same command
# on the `cpu` or `gpu` profile, left running (it resumes), is the real search:
#
# ```bash
# ggcam tune --profile cpu --network resnet18 --variant ggcam-warm --trials 40 --epochs 6
# ```

# %%
trials, best_config = load_tuning(tuning_dir, tuning_study)
tuned_network, tuned_variant = best_config.network, best_config.variant
history_fig = plot_search_history(trials)

# %% tags=["remove-cell"]
glue("tuning_trials", len(trials), display=False)
glue("tuning_complete", int((trials["state"] == "COMPLETE").sum()), display=False)
glue("tuning_best", report.number(trials["value"].min()), display=False)
glue("ln3", report.number(math.log(3), 4), display=False)
glue("fig_tuning_history", history_fig, display=False)

# %% [markdown]
# ```{glue:figure} fig_tuning_history
# :name: fig-tuning-history
# :alt: The validation cross-entropy of each trial of the smoke-profile search, in trial order, with the best value so far.
#
# **The demonstration search, trial by trial.** Each trial's best validation cross-entropy
# and the best so far.
# ```
#
# Of its {glue:text}`tuning_trials` trials, {glue:text}`tuning_complete` ran to the end
# ({numref}`fig-tuning-history`). The best validation cross-entropy, {glue:text}`tuning_best`,
# is close to ln 3 = {glue:text}`ln3`, the loss of a uniform guess: after two epochs on a few
# dozen images no trial has learned much, so the importances of
# {numref}`fig-tuning-importances` (Optuna's PED-ANOVA) rank noise here. They show what the
# page draws for a real search.

# %% tags=["hide-input"]
importances_fig = plot_param_importances(trials)

# %% tags=["remove-cell"]
glue("fig_tuning_importances", importances_fig, display=False)

# %% [markdown]
# ```{glue:figure} fig_tuning_importances
# :name: fig-tuning-importances
# :alt: Bars of the importance of each searched hyperparameter in the demonstration search.
#
# **Which searched value mattered (here: noise).** Optuna's PED-ANOVA importances of the
# demonstration search's parameters.
# ```

# %%
report.styled(best_vs_table1(trials, tuned_network, tuned_variant),
              caption=f"The best trial beside Table 1 ({tuning_study})")

# %% [markdown]
# ## One run of the study
#
# The run shown is one of the sweep's, read from its results store
# (`ggcam.experiment.ResultsStore`): the record, predictions, maps and curves that
# `ggcam.experiment.run.run_one` wrote when the sweep trained it. Its configuration (below):
# the profile's sizes and learning rate, its checkpoint rule where it sets one, and Table 1's
# values for its arm wherever the profile sets none.

# %%
sweep = summary.open_results(sweep_profile, results_dir or None)
spec = RunSpec(sweep.profile, network, variant, seed)
facts = figures.run_facts(sweep, spec.run_id)
display(Markdown(summary.provenance_markdown(sweep)))
report.styled(figures.stored_run_config(sweep, spec),
              caption=f"TrainConfig of {spec.run_id} ({sweep.profile} profile)")

# %% tags=["remove-cell"]
glue("run_epochs", facts["epochs"], display=False)
glue("run_best_epoch", facts["best epoch"], display=False)
glue("run_auc", facts["test AUC"], display=False)
glue("run_auc_ci", f"{facts['AUC low']}–{facts['AUC high']}", display=False)
glue("run_learned", facts["learned"], display=False)
glue("run_minutes", facts["minutes"], display=False)
glue("run_threads", facts["threads"], display=False)

# %% [markdown]
# Its record beside the same arm and seed on every network of the sweep (AUC, its interval,
# whether it learned); every run of the sweep is in the
# [classification page's table of runs](06_classification.ipynb):

# %%
records = summary.run_table(sweep).query("arm == @variant and seed == @seed")
report.styled(records[["network", "arm", "seed", "AUC", "95% CI low", "95% CI high", "learned"]],
              formats={"learned": {True: "✓", False: "✗"}.get},
              caption=f"The records of {variant}, seed {seed}")

# %% [markdown]
# ## Its curves
#
# The run trained {glue:text}`run_epochs` epochs in {glue:text}`run_minutes` minutes on
# {glue:text}`run_threads` CPU thread(s); the weights of epoch {glue:text}`run_best_epoch`
# were kept and tested: test AUC {glue:text}`run_auc` (95% CI {glue:text}`run_auc_ci`),
# learned: {glue:text}`run_learned`. {numref}`fig-run-curves` shows its curves.

# %% tags=["hide-input"]
sweep_curves = summary.curves_of(sweep)
curves_fig = figures.training_figure(sweep_curves, spec.run_id)

# %% tags=["remove-cell"]
glue("saturation_logit", SATURATION_LOGIT, display=False)
glue("saturation_share", f"{SATURATION_SHARE:.0%}", display=False)
glue("saturation_tail", report.number(1 / (1 + math.exp(SATURATION_LOGIT)), 2), display=False)
glue("fig_run_curves", curves_fig, display=False)

# %% [markdown]
# ```{glue:figure} fig_run_curves
# :name: fig-run-curves
# :alt: Three stacked panels over the epochs of one run: training and validation loss, validation AUC, and the loss parameters on a log scale.
#
# **The run's curves, epoch by epoch.** Losses, validation AUC and, on a log scale,
# $\sigma_{sm}$, $\sigma_{ce}$, $\alpha$ and the effective weights $1/(2\sigma_{sm}^2)$ and
# $1/\sigma_{ce}^2$ of the two terms of eq. {eq}`eq-11`.
# ```

# %% [markdown]
# Two diagnostics are recorded every epoch for the gaze term. The *saturated share*
# (`val_saturated`) is the share of cells of $\Omega^Y$ where $|\alpha \Omega^Y|$ exceeds {glue:text}`saturation_logit`: there the
# sigmoid of {eq}`eq-10` is within {glue:text}`saturation_tail` of 0 or 1 and passes back no
# gradient, so {eq}`eq-9` cannot move
# those cells. The ratio $\mathcal{L}_{sm}$ / mean $\Psi^2$ (`val_sm_ratio`) divides
# $\mathcal{L}_{sm}$ by the mean of $\Psi^2$, the loss of
# predicting $\tilde{\Omega}^Y = 0$ everywhere: 1 means the maps have learned nothing of Ψ.
# A run is flagged `sigmoid-saturated@epochN` at the first epoch where more than
# {glue:text}`saturation_share` of the cells are saturated: the gaze term has then stopped
# giving gradient, whichever side the sigmoid sits on. The run's values per epoch (click to
# show):

# %% tags=["hide-output"]
run_curves = sweep_curves[sweep_curves["run_id"] == spec.run_id]
report.styled(run_curves[["epoch", "lr", "train_loss", "val_loss", "val_auc", "val_saturated",
                          "val_sm_ratio"]],
              caption="Per epoch: losses and the gaze term (the run above)",
              labels={"lr": "learning rate", "train_loss": "training loss",
                      "val_loss": "validation loss", "val_auc": "validation AUC",
                      "val_saturated": "saturated share", "val_sm_ratio": "L_sm / mean Ψ²"})

# %% tags=["hide-output"]
report.styled(run_curves[["epoch", "sigma_sm", "sigma_ce", "alpha", "w_sm", "w_ce"]],
              caption="Per epoch: the loss parameters of eq. 11 (the run above)",
              labels={"sigma_sm": "σ_sm", "sigma_ce": "σ_ce", "alpha": "α",
                      "w_sm": "1/(2σ_sm²)", "w_ce": "1/σ_ce²"})

# %% [markdown]
# ## Train it yourself
#
# `ggcam rerun` trains the run above again at the current commit and compares its test logits
# with the stored ones bit for bit (it keeps the outcome in the store's `reruns.csv`, listed
# below the commands); `ggcam train` trains it (or any network, arm and seed of a
# profile) into a results folder of your own, and the `smoke` profile trains a toy run in
# about a minute on a CPU, far too small to learn: it shows the machinery only. Each
# command resumes where it was interrupted.

# %%
Markdown(figures.train_commands(sweep.profile, spec))

# %%
Markdown(figures.rerun_audits(sweep))

# %% [markdown]
# ## The loss parameters and the paper's tiny $\sigma_{sm}$
#
# Table 1 starts $\sigma_{sm}$ at {glue:text}`sigma_resnet` (ResNet) and
# {glue:text}`sigma_effnet` (EffNet): {eq}`eq-11` then weighs the gaze term
# {glue:text}`w_resnet` and {glue:text}`w_effnet` times, the cross-entropy once. Two things
# follow. Adam moves $\log \sigma_{sm}$ by about one learning rate per step, so the classifier
# gains weight only after thousands of steps: for a long while the network is trained on gaze
# alone. And the gradient of $\log \sigma_{sm}$ is about $\mathcal{L}_{sm} / \sigma_{sm}^2$;
# Adam keeps its square in float32, which overflows (above $3.4 \times 10^{38}$) once
# $\sigma_{sm}$ is small enough, and then $\sigma_{sm}$ never moves again. Three arms separate
# these effects (the first study, `cpu-v1`, trained all three; the current one trains only the
# last): `ggcam` (Table 1, float32), `ggcam-fp64` (the same, with eq. {eq}`eq-11`, its three
# parameters and their optimiser state in float64; the network stays float32), and `ggcam-warm`
# (float64 and $\sigma_{sm}$ starting
# at {glue:text}`warm_sigma`), the primary GG-CAM arm.
#
# (training-flags)=
# ### Flags of the sweep's runs
#
# What happened in the sweep's runs, per network and arm: runs whose loss went non-finite
# (diverged), whose $\log \sigma_{sm}$ optimiser state overflowed ($\sigma_{sm}$ frozen), with an
# overflow in any optimiser state, whose gaze term saturated, and the did-it-learn checks.

# %% tags=["remove-cell"]
glue("sigma_resnet", report.number(TABLE1[("resnet50", "ggcam")]["sigma_sm"]), display=False)
glue("sigma_effnet", report.number(TABLE1[("efficientnet_v2_s", "ggcam")]["sigma_sm"]), display=False)
glue("w_resnet", report.number(GGCAMLoss.weight_sm(TABLE1[("resnet50", "ggcam")]["sigma_sm"])), display=False)
glue("w_effnet", report.number(GGCAMLoss.weight_sm(TABLE1[("efficientnet_v2_s", "ggcam")]["sigma_sm"])),
     display=False)
glue("warm_sigma", report.number(WARM["sigma_sm"]), display=False)
glue("legacy_sigma_ce", report.number(RELEASED["resnet50"]["sigma_ce"]), display=False)
glue("legacy_w_ce", report.number(GGCAMLoss.weight_ce(RELEASED["resnet50"]["sigma_ce"]), 2), display=False)
glue("legacy_b", RELEASED["resnet50"]["kernel_size"], display=False)

# %%
sweep_runs = summary.runs_of(sweep)
flags = summary.flags_table(sweep_runs)
report.styled(flags[["network", "variant", "runs", "diverged", "σ_sm frozen", "optimiser overflow",
                     "sigmoid saturated"]],
              caption="What went wrong in the sweep's runs (counts of runs)",
              labels={"variant": "arm"})

# %%
report.styled(flags[["network", "variant", "runs", "single class", "low recall", "AUC CI covers 0.5", "learned"]],
              caption="Did the sweep's runs learn? (counts of runs)",
              labels={"variant": "arm", "single class": "one class predicted",
                      "low recall": f"a class recalled < {MIN_RECALL:.0%}",
                      "AUC CI covers 0.5": "AUC interval covers 0.5"})

# %% [markdown]
# (training-saturation)=
# ### Saturation of the gaze term
#
# The saturation diagnostics of the sweep's GG-CAM runs at their first and last epoch
# (medians over seeds):

# %%
report.styled(summary.saturation_table(sweep_curves), caption="Saturation of the gaze term",
              labels={"variant": "arm"})

# %% [markdown]
# $\sigma_{sm}$ per epoch of every GG-CAM run of the sweep is in {numref}`fig-sigma-sm`.

# %% tags=["hide-input"]
sigma_fig = figures.sigma_figure(sweep_curves)

# %% tags=["remove-cell"]
glue("fig_sigma_sm", sigma_fig, display=False)

# %% [markdown]
# ```{glue:figure} fig_sigma_sm
# :name: fig-sigma-sm
# :alt: The uncertainty sigma_sm per epoch on a log scale, one panel per network trained, one line per GG-CAM run coloured by arm.
#
# **$\sigma_{sm}$ during training.** Every GG-CAM run of the sweep, one line per seed, coloured
# by arm.
# ```
#
# (training-final-parameters)=
# ### The loss parameters at the end
#
# The loss parameters at the end of training (medians over seeds; the number of runs is in the
# flags tables above):

# %%
report.styled(summary.final_parameters(sweep_runs).drop(columns="runs"),
              caption="Loss parameters at the end",
              formats={"w_sm_final": "{:.3g}", "w_ce_final": "{:.3g}"},
              labels={"variant": "arm", "sigma_sm_final": "σ_sm", "sigma_ce_final": "σ_ce",
                      "alpha_final": "α", "w_sm_final": "1/(2σ_sm²)", "w_ce_final": "1/σ_ce²"})

# %% [markdown]
# ## What the legacy arm trains
#
# `ggcam-legacy` (trained in the first study, `cpu-v1`; the current one does not) trains
# what the authors' released code trains: Ω as the *mean* over
# channels, the Normal-class map compared *raw* with Ψ for every label, $\alpha$ frozen, the
# code's initial $\sigma$ values ($\sigma_{ce}$ = {glue:text}`legacy_sigma_ce`, so the
# cross-entropy starts with a weight of {glue:text}`legacy_w_ce`), B = {glue:text}`legacy_b`
# for both networks, and the best weights reloaded at every drop of
# the learning rate. [The paper versus the released code](08_paper_vs_code.ipynb) lists every
# such behaviour and measures the arm.
#
# ## Summary
#
# - One code path (`run_one`) trains every run of every profile, from a one-minute CPU smoke
#   run to the paper's GPU runs; the sweep's run shown above trained {glue:text}`run_epochs`
#   epochs and learned ({glue:text}`run_learned`: test AUC {glue:text}`run_auc`).
# - Each epoch records $\sigma_{sm}$, $\sigma_{ce}$, $\alpha$, the effective weights and the
#   saturation of the gaze term; an optimiser state that overflows is flagged in the run's
#   record, and the tables above count the flags of the sweep.

# %% tags=["remove-input"]
display(Markdown(report.rerun_admonition("05_training", {
    "sweep_profile": sweep_profile, "results_dir": results_dir, "network": network,
    "variant": variant, "seed": seed, "tuning_dir": tuning_dir, "tuning_study": tuning_study}, None)))
