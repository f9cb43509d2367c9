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
# # Performance
#
# ## Overview
#
# Speed is measured, not assumed. Each benchmark in `benchmarks/` compares our implementation
# with a reference **in the same run** and reports a ratio; absolute times mean something only
# on the machine named beside them. `make bench` runs them all and records their tables in
# `benchmarks/results.json`; this page reads that file and shows every table with its machine,
# date and commit.
#
# | benchmark | ours | reference |
# |---|---|---|
# | heat map | Algorithm 1 as separable erf integrals per gaze point | Algorithm 1 literally: full-resolution histogram, `scipy.ndimage` blur, resample |
# | CAM head | `CAMHead` (batched matrix product, or 1×1 conv for channels_last) | GAP + Linear; the released code's B×K×G×h×w broadcast |
# | data | the memory-mapped cache through a DataLoader | reading and preprocessing each DICOM on the fly |
# | training step | bf16 autocast, channels_last (GPU) | the released code's float32, NCHW |
# | CPU options | channels_last, deterministic algorithms | plain float32 NCHW on the CPU |

# %% tags=["hide-input"]
from IPython.display import Markdown, display
from myst_nb import glue

from ggcam.analysis import bench as bench_results
from ggcam.analysis import summary
from ggcam.viz import report

# %% tags=["parameters", "remove-cell"]
results_file = "../benchmarks/results.json"  # the recorded figures (benchmarks/run_all.py)

# %% [markdown]
# ## The machines

# %%
data = bench_results.load(results_file)
report.styled(bench_results.machines_frame(data), caption="Machines the figures were measured on")


# %% [markdown]
# ## Heat map (Algorithm 1)

# %%
bench_results.show(data, "heatmap")
heat = bench_results.frame(bench_results.entries(data, "heatmap")[0]).set_index("resample")

# %% tags=["remove-cell"]
glue("heatmap_speedup", report.number(heat.loc["area", "speed-up (×)"]), display=False)

# %% [markdown]
# ## CAM head

# %%
bench_results.show(data, "cam_head")
cam = bench_results.frame(bench_results.entries(data, "cam_head")[0])
cam = cam[cam["device"] == "cpu"].set_index("variant")

# %% tags=["remove-cell"]
glue("cam_vs_broadcast", report.number(cam.loc["ggcam.CAMHead", "broadcast peak / this"]),
     display=False)

# %% [markdown]
# ## Data loading

# %%
bench_results.show(data, "data")

# %% [markdown]
# ## Training step
#
# The released code's float32 NCHW step against ours. The ratio that matters is a GPU's; a
# CPU only shows that the script works.

# %%
bench_results.show(data, "train_step")

# %% [markdown]
# ## Training on the CPU
#
# What the `cpu` study costs on a small machine (from its run records; the sentence changes as
# the sweep goes on), and which step options pay off there. At the study's input (256×224)
# channels_last is the faster option and is deterministic on the CPU, so the `cpu` profile
# trains with it; torch.compile gains less and must compile first (its on-disk cache makes a
# second compile short).

# %% tags=["nbval-ignore-output"]
display(Markdown(summary.progress_facts(summary.open_results("cpu"))["sentence"]))

# %%
bench_results.show(data, "cpu_options")
bench_results.show(data, "cpu_training")

# %%
bench_results.show_others(data, {"heatmap", "cam_head", "data", "train_step", "cpu_training",
                                 "cpu_options"})

# %% [markdown]
# ## Summary
#
# - The exact heat map is {glue:text}`heatmap_speedup`× faster than blurring at full
#   resolution, and agrees with it to float32 precision.
# - The CAM layer costs no more memory than the head it replaces, and
#   {glue:text}`cam_vs_broadcast`× less than the released code's broadcast formulation.
# - GPU figures appear here once `make bench` has run on a machine with a GPU: each machine's
#   tables are kept beside the others'.

# %% tags=["remove-input"]
display(Markdown(report.rerun_admonition("10_performance", {"results_file": results_file},
                                         None)))
