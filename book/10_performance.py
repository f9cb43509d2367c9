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
# with a reference **in the same run** and reports a ratio; absolute times are only meaningful
# on the machine named beside them. `make bench` runs them all; the figures below are the ones
# recorded in `benchmarks/README.md`, with their machines.
#
# | benchmark | ours | reference |
# |---|---|---|
# | heat map | Algorithm 1 as separable erf integrals per gaze point | Algorithm 1 literally: full-resolution histogram, `scipy.ndimage` blur, resample |
# | CAM head | `CAMHead` (batched matrix product, or 1×1 conv for channels_last) | GAP + Linear; the released code's B×K×G×h×w broadcast |
# | data | the memory-mapped cache through a DataLoader | reading and preprocessing each DICOM on the fly |
# | training step | bf16 autocast, channels_last (GPU) | the released code's float32, NCHW |

# %%
from pathlib import Path

from IPython.display import Markdown

# %% tags=["parameters"]
readme = "../benchmarks/README.md"  # where the recorded figures live

# %%
text = Path(readme).read_text()
marker = "## Recorded figures"
if marker not in text:
    raise ValueError(f"{readme} has no '{marker}' section")
recorded = text.split(marker, 1)[1]
Markdown(recorded.replace("\n### ", "\n## ").replace("\n#### ", "\n### "))

# %% [markdown]
# ## Summary
#
# - The exact heat map is orders of magnitude faster than blurring at full resolution, and
#   agrees with it to float32 precision.
# - The CAM layer costs no more memory than the head it replaces, unlike the released code's
#   broadcast formulation.
# - GPU figures are recorded only where a GPU was available to the session that measured them.
