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
# # GG-CAM, reproduced
#
# *Gaze-Guided Class Activation Mapping* {cite:p}`zhu2022ggcam` teaches a chest X-ray
# classifier's class activation maps where a radiologist looked, and reports a higher median
# test AUC on real data ({glue:text}`paper_resnet`, ResNet50). Retrained here on synthetic
# radiographs whose truth is known, each GG-CAM network is compared with the same network
# trained without gaze, replicate by replicate:
#
# ```{glue:md} verdicts
# :format: myst
# ```
#
# ```{glue:figure} fig_headline
# :name: fig-headline
# :alt: Dot-and-interval plot of each arm's mean paired difference against the standard network, in test AUC and in a localisation score, with the equivalence margin shaded and the paper's gain dashed.
#
# **Each arm against the same network trained without gaze.** Mean paired difference over
# replicates with its 95% interval; grey band: the equivalence margin fixed before the
# study; dashed line: the paper's gain in AUC. The arms are defined on the
# [training page](05_training.ipynb). Localisation is compared for the arms the study named
# before its sweep; the [interpretability page](07_interpretability.ipynb) scores every arm's
# maps.
# ```
#
# ```{glue:md} provenance_line
# :format: myst
# ```
#
# ```{glue:md} study_limits
# :format: myst
# ```
#
# ```{glue:md} running_line
# :format: myst
# ```

# %% tags=["hide-input"]
# %matplotlib inline
import warnings

from IPython.display import Markdown, display
from myst_nb import glue

from ggcam.analysis import effects, headline, image_scores, study_limits, summary
from ggcam.analysis.dose import dose_response
from ggcam.analysis.dose_text import planned_values
from ggcam.analysis.paper_values import paper_auc_change
from ggcam.config import WARM
from ggcam.experiment import get_profile
from ggcam.stats.equivalence import MIN_RECALL
from ggcam.viz import figures, report
from ggcam.viz.figures.study import dose_response_figure, effects_figure

warnings.filterwarnings("ignore", category=UserWarning)  # notes go into the tables

# %% tags=["parameters", "remove-cell"]
profile = ""  # results/<profile> to read; empty: the best profile with results
results_dir = ""  # the results root; empty: the repository's results/
running_profile = "cpu"  # the study still training, whose progress the page reports

# %% [markdown]
# The verdicts and {numref}`fig-headline` come from the paired differences below: per
# comparison and metric, the mean over replicates of Δ (second arm − first; the controls are
# compared with the standard network and with GG-CAM), its 95% t interval, and Holm-adjusted
# p-values {cite:p}`holm1979` within the current study's families of comparisons, fixed before
# its sweep. The first study fixed none in advance (its page groups were redefined after 32
# of its runs); where a page still shows it, it is read with the current study's families.

# %% tags=["hide-input"]
store = summary.open_results(profile, results_dir or None)
runs = summary.runs_of(store)
study = get_profile(store.profile)
paired_effects = effects.arm_effects(runs, study)
fig_headline = effects_figure(paired_effects, study.equivalence_margin, effects.paper_gain())

# %% tags=["remove-cell"]
glue("verdicts", Markdown(headline.verdict_lines(store)), display=False)
glue("fig_headline", fig_headline, display=False)
glue("provenance_line", Markdown(headline.short_provenance(store)), display=False)
glue("study_limits", Markdown(study_limits.limits_markdown(store)), display=False)
glue("paper_resnet", paper_auc_change("resnet50"), display=False)

# %% tags=["remove-cell", "nbval-ignore-output"]
glue("running_line", Markdown(headline.running_study_line(running_profile, store, results_dir or None)), display=False)

# %% [markdown]
# ## Where gaze starts to help
#
# A single point cannot say why an effect is what it is, so the current study varies one thing
# at a time around its base point, the number of training images and how informative the
# simulated reader's gaze is, and pairs each GG-CAM run with the standard network trained on
# the same images.
#
# ```{glue:md} dose_section
# :format: myst
# ```

# %% tags=["hide-input"]
all_runs = summary.runs_of(store, dose_points=True)  # the base point and every dose point
dose = dose_response(all_runs, study) if study.doses else None
fig_dose = (dose_response_figure(dose[dose["n"] >= 2], study.equivalence_margin, effects.paper_gain(),
                                 planned=planned_values(study))
            if dose is not None and (dose["n"] >= 2).any() else None)

# %% tags=["remove-cell"]
glue("dose_section", Markdown(headline.dose_markdown(study, dose, all_runs)), display=False)
if fig_dose is not None:
    glue("fig_dose", fig_dose, display=False)

# %% [markdown]
# ## The answer in detail
#
# :::{dropdown} The comparisons, the paper beside us, and what each interval means
# The **primary comparison** was named before the sweep ran: the standard network against
# GG-CAM with its loss in float64 and $\sigma_{sm}$ starting at {glue:text}`warm_sigma`
# (the [training page](05_training.ipynb) says why not Table 1's tiny $\sigma_{sm}$). Both
# arms share the learning rate, the data and the seed. In the current study they also share
# the checkpoint rule (the epoch with the best validation AUC), so they differ only in the
# loss; the first study kept each arm's epoch with its own lowest validation loss. Two
# controls ask whether the *radiologist's* gaze matters or any map would do: Ψ of another
# image of the same class, and the mean Ψ for every image.
#
# ```{glue} arms_table
# ```
#
# ```{glue:md} interval_text
# :format: myst
# ```
#
# ```{glue} effects_table
# ```
#
# ```{glue:md} constant_note
# :format: myst
# ```
#
# ```{glue:md} related_text
# :format: myst
# ```
#
# ```{glue:md} scope_text
# :format: myst
# ```
# :::
#
# :::{dropdown} Did each arm learn?
# A run *learned* if the 95% bootstrap interval of its test AUC lies above 0.5 and every
# class is recalled at least {glue:text}`min_recall` of the time: a minimal bar, which a run
# that names one class nearly always fails even where its scores rank above chance. The
# paired comparisons keep every replicate, learned or not: dropping one where an arm failed
# would hide that arm's failures. {glue:md}`learned_sensitivity` Before the sweep the
# study also set a **learning target** per network (the reference arm's median test AUC at
# least {glue:text}`target_auc`, and at most one run in ten of either primary arm predicting
# a single class); a network that misses it is marked in the table below, and its
# comparisons are between undertrained networks: read them as exploratory.
#
# ```{glue} arm_status
# ```
#
# ```{glue} learning_targets
# ```
# :::
#
# :::{dropdown} How much of the study is done
# The sweep runs the primary comparison first, replicate by replicate, then the oracle and the
# controls, then the dose points, then the other arms where a study trains them (this one was
# cut to fit its budget before its sweep began). A page built while it runs shows what
# exists. {glue:md}`progress_sentence`
#
# ```{glue} progress
# ```
# :::

# %% tags=["remove-cell"]
facts = summary.progress_facts(store)
glue("arms_table", report.styled(headline.arms_table(study), caption="The arms of this study"), display=False)
glue("interval_text", Markdown(headline.interval_sentence(paired_effects, study)), display=False)
glue("scope_text", Markdown(summary.scope_note(store)), display=False)
glue("related_text", Markdown(headline.related_text(paired_effects)), display=False)
glue("effects_table", report.styled(headline.effects_display(paired_effects), caption="Each comparison of the primary network, paired by replicate"), display=False)
glue("constant_note", Markdown(image_scores.constant_maps_note(runs, study)), display=False)
glue("arm_status", report.styled(summary.arm_status_display(runs), caption="Runs per arm, how many learned", labels={"variant": "arm"}), display=False)
glue("learning_targets", report.styled(summary.learning_target_table(store), caption="The learning target per network"), display=False)
glue("target_auc", summary.TARGET_AUC, display=False)
glue("min_recall", f"{MIN_RECALL:.0%}", display=False)
glue("learned_sensitivity", Markdown(headline.learned_sensitivity(runs, study)), display=False)
glue("progress_sentence", Markdown(facts["sentence"]), display=False)
glue("runs_done", facts["done"], display=False)
glue("progress", report.styled(summary.progress_table(store), caption="Runs planned and done, in sweep order", labels={"variant": "arm"}), display=False)
glue("warm_sigma", report.number(WARM["sigma_sm"]), display=False)

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
# After training the network needs no gaze ({numref}`fig-method`). The paper's equation
# numbers are on every box; the [CAM layer page](04_cam_layer.ipynb) states all twelve.

# %% tags=["hide-input"]
fig_method = figures.method_figure()

# %% tags=["remove-cell"]
glue("fig_method", fig_method, display=False)

# %% [markdown]
# ```{glue:figure} fig_method
# :name: fig-method
# :alt: Block diagram: an image goes through the backbone to the CAM layer, which gives logits and maps; the true class's map, squashed by a sigmoid, meets the gaze heat map in the selective MSE, the logits meet the label in the cross-entropy, and eq. 11 balances the two.
#
# **GG-CAM in one figure.** Training uses the gaze heat map Ψ; the trained network does not.
# ```

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
# | [Interpretability](07_interpretability.ipynb) | localisation in image space beside constant maps, eq. 12 and the pointing game against chance, Figure 3c–f, Table 3, CAM methods side by side |
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
# - The verdicts and {numref}`fig-headline` are the result of the study shown, with the limits
#   its box states; runs that did not learn are counted, not dropped, and said so.
# - Every number comes from `results/`; the paper's numbers are labelled as the paper's.

# %% tags=["remove-input"]
display(Markdown(report.rerun_admonition("01_answer", {
    "profile": profile, "results_dir": results_dir, "running_profile": running_profile}, None)))
