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
# {eq}`eq-11`. This page trains one run of a profile on the page (the tiny `smoke` profile in
# the book build: a minute on a CPU), shows its curves and loss parameters, then reads the
# sweep's runs for what the paper's initial $\sigma_{sm}$ does: the saturation and overflow
# flags of every run. On a GPU the same page trains at the paper's size:
#
# ```bash
# papermill book/05_training.ipynb out.ipynb -p profile gpu -p network resnet50 -p variant ggcam
# papermill book/05_training.ipynb out.ipynb -p profile paper -p data_root /data/physionet.org/files
# ```

# %% tags=["hide-input"]
# %matplotlib inline
import math
import time
import warnings
from pathlib import Path

from IPython.display import Markdown, display
from myst_nb import glue

from ggcam.analysis import summary
from ggcam.config import RELEASED, TABLE1, WARM, table1_frame
from ggcam.evaluate import SATURATION_LOGIT
from ggcam.experiment import ResultsStore, RunSpec, get_profile, profiles_frame, run_config
from ggcam.experiment.sweep import ProfileData, forget_runs, run_one
from ggcam.train import SATURATION_SHARE
from ggcam.tune import (
                        best_vs_table1,
                        load_tuning,
                        plot_param_importances,
                        plot_search_history,
                        search_space_frame,
)
from ggcam.viz import figures, report

# Tiny smoke test sets leave some classes unpredicted; the run's record says so already.
warnings.filterwarnings("ignore", category=UserWarning)
started = time.perf_counter()

# %% tags=["parameters"]
profile = "smoke"  # the run trained here: smoke (CPU, a minute), cpu, gpu-fast, gpu, paper
network = "resnet50"  # a network of that profile
variant = "ggcam-warm"  # an arm: standard, ggcam, ggcam-fp64, ggcam-warm, ggcam-legacy, ...
seed = 0  # seeds the weights, the data order and the split
data_root = ""  # the real EGD-CXR download for profile "paper"; empty: generated phantom
device = ""  # empty: the profile's device (cpu for smoke and cpu, cuda otherwise)
work_dir = "../.cache/book-training"  # phantom, cache, checkpoints and this run's results
sweep_profile = ""  # the sweep whose runs are summarised below; empty: the best with results
results_dir = ""  # its results root; empty: the repository's results/
tuning_dir = "../results/smoke"  # a profile's results folder holding tuning/ (ggcam tune)
tuning_study = "resnet18__ggcam-warm__val_ce"  # the study shown: <network>__<arm>__<objective>

# %% [markdown]
# ## The profiles
#
# One code path, five sizes. A profile fixes the data, the image and network-input sizes, the
# arms and their seeds, the epoch cap, the batch and the device; everything else is Table 1's
# value for the network and arm, or the released code's for `ggcam-legacy`.

# %%
report.styled(profiles_frame(), caption="Profiles (ggcam.experiment.PROFILES)")

# %% [markdown]
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
# replacement for Table 1, and the sweep below trains with Table 1's values. The same command
# on the `cpu` or `gpu` profile, left running (it resumes), is the real search:
#
# ```bash
# ggcam tune --profile cpu --network resnet18 --variant ggcam-warm --trials 40 --epochs 6
# ```

# %%
trials, best_config = load_tuning(tuning_dir, tuning_study)
tuned_network, tuned_variant = best_config.network, best_config.variant
glue("tuning_trials", len(trials), display=False)
glue("tuning_complete", int((trials["state"] == "COMPLETE").sum()), display=False)
glue("tuning_best", report.number(trials["value"].min()), display=False)
glue("ln3", report.number(math.log(3), 4), display=False)
plot_search_history(trials)

# %% [markdown]
# Of its {glue:text}`tuning_trials` trials, {glue:text}`tuning_complete` ran to the end. The
# best validation cross-entropy, {glue:text}`tuning_best`, is close to ln 3 =
# {glue:text}`ln3`, the loss of a uniform guess: after two epochs on a few dozen images no
# trial has learned much, so the importances below (Optuna's PED-ANOVA) rank noise here. They
# show what the page draws for a real search:

# %%
plot_param_importances(trials)

# %%
report.styled(best_vs_table1(trials, tuned_network, tuned_variant),
              caption=f"The best trial beside Table 1 ({tuning_study})")

# %% [markdown]
# ## One run, trained on this page
#
# The configuration of the run: Table 1's values for its arm, the profile's sizes.

# %%
prof = get_profile(profile)
spec = RunSpec(prof.name, network, variant, seed)
config, options = run_config(prof, spec, device or None)
report.styled(figures.config_table(config), caption=f"TrainConfig of {spec.run_id}")

# %% [markdown]
# The phantom is generated and cached on first use; the run starts from scratch on every
# build. `run_one` is what the sweep runs for each of its runs: train (resumable, a checkpoint
# every epoch), test, and write the record, predictions, maps and curves to a results store.

# %%
work = Path(work_dir)
store = ResultsStore(work / "results" / prof.name)
checkpoints = work / "checkpoints" / prof.name
forget_runs(store, checkpoints, [spec.run_id])
data = ProfileData(prof, Path(data_root) if data_root else None, work, progress=False)
record = run_one(spec, prof, data, store, checkpoints, device=device or None, progress=False)
store.collect()
report.styled(summary.run_table(store).query("arm == @variant and seed == @seed"),
              caption="The run's record (AUC, its interval, whether it learned)")

# %% [markdown]
# ## Its curves
#
# Losses, validation AUC and, on a log scale, $\sigma_{sm}$, $\sigma_{ce}$, $\alpha$ and the
# effective weights $1/(2\sigma_{sm}^2)$ and $1/\sigma_{ce}^2$ of the two terms of eq.
# {eq}`eq-11`. In the book build this is a `smoke` run, far too small to learn: it shows the
# machinery; the sweep's runs below are the evidence.

# %%
curves = store.curves()
glue("run_epochs", record.epochs, display=False)
glue("saturation_logit", SATURATION_LOGIT, display=False)
glue("saturation_share", f"{SATURATION_SHARE:.0%}", display=False)
glue("saturation_tail", report.number(1 / (1 + math.exp(SATURATION_LOGIT)), 2), display=False)
figures.training_figure(curves, spec.run_id)

# %% [markdown]
# Two diagnostics are recorded every epoch for the gaze term. `val_saturated` is the share of
# cells of $\Omega^Y$ where $|\alpha \Omega^Y|$ exceeds {glue:text}`saturation_logit`: there the
# sigmoid of {eq}`eq-10` is within {glue:text}`saturation_tail` of 0 or 1 and passes back no
# gradient, so {eq}`eq-9` cannot move
# those cells. `val_sm_ratio` is $\mathcal{L}_{sm}$ divided by the mean of $\Psi^2$, the loss of
# predicting $\tilde{\Omega}^Y = 0$ everywhere: 1 means the maps have learned nothing of Ψ.
# A run is flagged `sigmoid-saturated@epochN` at the first epoch where more than
# {glue:text}`saturation_share` of the cells are saturated: the gaze term has then stopped
# giving gradient, whichever side the sigmoid sits on.

# %%
report.styled(curves.loc[curves["run_id"] == spec.run_id,
                         ["epoch", "lr", "train_loss", "val_loss", "val_auc", "val_saturated",
                          "val_sm_ratio", "sigma_sm", "sigma_ce", "alpha"]],
              caption="Per epoch (the run above)")

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
# $\sigma_{sm}$ is small enough, and then $\sigma_{sm}$ never moves again. The arms separate
# these effects: `ggcam` (Table 1, float32), `ggcam-fp64` (the same, with eq. 11, its three
# parameters and their optimiser state in float64; the network stays float32), and `ggcam-warm`
# (float64 and $\sigma_{sm}$ starting
# at {glue:text}`warm_sigma`), the primary GG-CAM arm.
#
# What happened in the sweep's runs, per network and arm: runs whose loss went non-finite
# (diverged), whose $\log \sigma_{sm}$ optimiser state overflowed ($\sigma_{sm}$ frozen), with an
# overflow in any optimiser state, whose gaze term saturated, and the did-it-learn checks.

# %%
glue("sigma_resnet", report.number(TABLE1[("resnet50", "ggcam")]["sigma_sm"]), display=False)
glue("sigma_effnet", report.number(TABLE1[("efficientnet_v2_s", "ggcam")]["sigma_sm"]), display=False)
glue("w_resnet", report.number(1 / (2 * TABLE1[("resnet50", "ggcam")]["sigma_sm"] ** 2)), display=False)
glue("w_effnet", report.number(1 / (2 * TABLE1[("efficientnet_v2_s", "ggcam")]["sigma_sm"] ** 2)),
     display=False)
glue("warm_sigma", report.number(WARM["sigma_sm"]), display=False)
glue("legacy_sigma_ce", report.number(RELEASED["resnet50"]["sigma_ce"]), display=False)
glue("legacy_w_ce", report.number(RELEASED["resnet50"]["sigma_ce"] ** -2, 2), display=False)
glue("legacy_b", RELEASED["resnet50"]["kernel_size"], display=False)
sweep = summary.open_results(sweep_profile, results_dir or None)
sweep_runs = summary.runs_of(sweep)
display(Markdown(summary.provenance_markdown(sweep)))
report.styled(summary.flags_table(sweep_runs), caption="Flags of the sweep's runs (counts of runs)",
              labels={"variant": "arm"})

# %% [markdown]
# The saturation diagnostics of the sweep's GG-CAM runs at their first and last epoch
# (medians over seeds):

# %%
sweep_curves = summary.curves_of(sweep)
report.styled(summary.saturation_table(sweep_curves), caption="Saturation of the gaze term",
              labels={"variant": "arm"})

# %% [markdown]
# $\sigma_{sm}$ per epoch of every GG-CAM run of the sweep (one line per seed):

# %%
figures.sigma_figure(sweep_curves)

# %% [markdown]
# And the loss parameters at the end of training (medians over seeds):

# %%
report.styled(summary.final_parameters(sweep_runs), caption="Loss parameters at the end",
              formats={"w_sm_final": "{:.3g}", "w_ce_final": "{:.3g}"},
              labels={"variant": "arm", "sigma_sm_final": "σ_sm", "sigma_ce_final": "σ_ce",
                      "alpha_final": "α", "w_sm_final": "1/(2σ_sm²)", "w_ce_final": "1/σ_ce²"})

# %% [markdown]
# ## What the legacy arm trains
#
# `ggcam-legacy` trains what the authors' released code trains: Ω as the *mean* over
# channels, the Normal-class map compared *raw* with Ψ for every label, $\alpha$ frozen, the
# code's initial $\sigma$ values ($\sigma_{ce}$ = {glue:text}`legacy_sigma_ce`, so the
# cross-entropy starts with a weight of {glue:text}`legacy_w_ce`), B = {glue:text}`legacy_b`
# for both networks, and the best weights reloaded at every drop of
# the learning rate. [The paper versus the released code](08_paper_vs_code.ipynb) lists every
# such behaviour and measures the arm.
#
# ## Summary
#
# - One code path trains every profile, from this CPU smoke run to the paper's GPU runs; the
#   run above took {glue:text}`run_epochs` epochs.
# - Each epoch records $\sigma_{sm}$, $\sigma_{ce}$, $\alpha$, the effective weights and the
#   saturation of the gaze term; an optimiser state that overflows is flagged in the run's
#   record, and the tables above count the flags of the sweep.

# %%
display(Markdown(report.rerun_admonition("05_training", {
    "profile": profile, "network": network, "variant": variant, "seed": seed,
    "data_root": data_root, "device": device, "work_dir": work_dir,
    "sweep_profile": sweep_profile, "results_dir": results_dir, "tuning_dir": tuning_dir,
    "tuning_study": tuning_study}, time.perf_counter() - started)))
