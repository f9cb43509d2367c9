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
# # Algorithm 1: the visual heat map Ψ
#
# ## Overview
#
# Algorithm 1 of the paper {cite:p}`zhu2022ggcam` turns the gaze coordinates $E_{1:M}$
# recorded on an $H_0 \times W_0$ image into a heat map Ψ on the $h \times w$ grid of Ω:
#
# :::{admonition} Algorithm 1: generate the visual heat map Ψ (as in the paper)
# :class: note
#
# 1. Construct $\mathcal{H}$ with horizontal and vertical bins corresponding to the positions
#    of each pixel in $I$.
# 2. $\Psi \leftarrow \mathcal{H}(E_{1:M})$, so that Ψ is $H_0 \times W_0$.
# 3. $\Psi \leftarrow \mathcal{G}(\Psi; B)$, the Gaussian blur with parameter $B$.
# 4. $\Psi \leftarrow \mathrm{Resample}(\Psi)$, so that Ψ is $H \times W$.
# 5. $\Psi \leftarrow \mathrm{Normalize}(\Psi)$, so that its elements lie in $[0, 1]$.
# 6. **return** Ψ
# :::
#
# The package has it twice. `ggcam.reference_heatmap` does the five steps literally: a
# histogram at full resolution, a `scipy.ndimage` blur, the mean over each Ω cell, division by
# the maximum. `ggcam.gaze_heatmap` uses that steps 2–4 are linear: the exact result on the
# grid is a sum over gaze points of separable Gaussian integrals over each cell (differences of
# the normal CDF), computed without building the $H_0 \times W_0$ image. This page runs both on
# one phantom case, then asks where the Ω grid lies on the image, and measures it.

# %% tags=["hide-input"]
# %matplotlib inline
import time
import warnings

import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display
from myst_nb import glue

import ggcam
from ggcam.data import EGDCXR, ensure_dataset
from ggcam.experiment import get_profile
from ggcam.viz import figures, report

warnings.filterwarnings("ignore", message=".*kept .* rows")

# %% tags=["parameters", "remove-cell"]
work_dir = "../.cache/book"  # where the page's phantom is generated (once) and reused
n_images = 12  # images of the full-size phantom
seed = 0  # phantom seed
case = 4  # which image of the phantom to show (a portrait pneumonia case)
kernel_size = 500  # B (Table 1, ResNet); OpenCV's rule gives σ = 75.5 px
grid_h = 48  # Ω grid rows at the paper's input (1536 / 32)
grid_w = 40  # Ω grid columns (1280 / 32)
small_profile = "cpu"  # the profile whose small grid is compared with the paper's
rf_input_h = 320  # input height for measuring receptive fields (a 10×8 grid)
rf_input_w = 256  # input width
threads = 1  # torch threads (one is fastest on a small, shared machine)

# %%
torch.set_num_threads(threads)  # the page's torch work runs on this many threads

# %% [markdown]
# ## Ψ for one image
#
# The raw gaze samples of one case ([the data page](02_data.ipynb) says why raw samples),
# through both implementations:

# %%
roots = ensure_dataset(None, work_root=work_dir, n_images=n_images, scale=1.0, seed=seed,
                       progress=False)
ds = EGDCXR(roots.egd_root, roots.mimic_root, gaze="eye_gaze", kernel_size=kernel_size,
            grid_shape=(grid_h, grid_w), progress=False)
image = ds.read_image(case)
xy = ds.gaze_points(case)[["x", "y"]].to_numpy()
H0, W0 = image.shape

t0 = time.perf_counter()
psi_reference = ggcam.reference_heatmap(xy, (H0, W0), (grid_h, grid_w), kernel_size=kernel_size)
t_reference = time.perf_counter() - t0
t0 = time.perf_counter()
psi = ggcam.gaze_heatmap(xy, (H0, W0), (grid_h, grid_w), kernel_size=kernel_size)
t_fast = time.perf_counter() - t0

sigma = ggcam.sigma_from_kernel_size(kernel_size)
geom = ggcam.grid_geometry((H0, W0), (grid_h, grid_w))
report.styled(pd.DataFrame([{"image (H0×W0)": f"{H0}×{W0}", "class": ds.metadata.class_name.iat[case],
                             "gaze samples M": len(xy), "B": kernel_size, "σ (px)": sigma,
                             "grid (h×w)": f"{grid_h}×{grid_w}", "cell c (px)": geom.cell}]),
              caption="The case")

# %% tags=["hide-input"]
psi_fig = figures.psi_figure(image, xy, psi, psi_reference)

# %% tags=["remove-cell"]
glue("sigma_px", report.number(sigma), display=False)
glue("max_diff", report.number(float(np.abs(psi - psi_reference).max()), 2), display=False)
glue("fig_psi", psi_fig, display=False)

# %% tags=["remove-cell", "nbval-ignore-output"]
# Timings differ from run to run: the regression tests do not compare this cell's output.
glue("speedup", report.number(t_reference / t_fast), display=False)

# %% [markdown]
# ```{glue:figure} fig_psi
# :name: fig-psi
# :alt: A phantom radiograph with the gaze samples in red, and the two heat maps Ψ computed from them, side by side on the Ω grid.
#
# **Ψ of one case, two ways.** The raw gaze samples on the image (left), Ψ by the fast
# `gaze_heatmap` (middle) and by the literal `reference_heatmap` (right). Colours: viridis,
# yellow high, dark purple low.
# ```
#
# The two maps of {numref}`fig-psi` agree to {glue:text}`max_diff` (largest absolute
# difference), and the fast path was {glue:text}`speedup`× faster in this run. The fast path
# integrates the continuous Gaussian over each cell; the literal one blurs with a sampled
# kernel: they differ by a discretisation error that shrinks as σ grows.
#
# B is a *kernel size* in the released code: OpenCV's `GaussianBlur(ksize=B)` derives
# $\sigma = 0.3((B-1)/2 - 1) + 0.8$ for an odd B; OpenCV needs an odd kernel, and an even B
# is made odd (B + 1) first, as in the released code, so B = {glue:text}`kernel_size` means
# σ = {glue:text}`sigma_px` px (the formula at B = 501). The paper calls B a standard deviation; `sigma=` takes σ in
# pixels directly.
#
# ## The blur parameter B
#
# The paper reports the networks to be insensitive to B in [200, 1000]. What B does to Ψ
# ({numref}`fig-blur`):

# %% tags=["hide-input"]
blur_fig, blur_table = figures.blur_sweep(xy, (H0, W0), (grid_h, grid_w))

# %% tags=["remove-cell"]
glue("kernel_size", kernel_size, display=False)
glue("fig_blur", blur_fig, display=False)

# %% [markdown]
# ```{glue:figure} fig_blur
# :name: fig-blur
# :alt: Five heat maps Ψ of the same case on the Ω grid, for blur kernel sizes B from 201 to 1001, spreading wider as B grows.
#
# **Ψ for five values of B.** The same gaze samples as {numref}`fig-psi`; a larger kernel
# spreads each sample over more cells.
# ```

# %%
report.styled(blur_table, caption="Ψ of this case for five values of B")

# %% [markdown]
# ## Where the Ω grid lies on the image
#
# One rule places every image on the Ω grid, for Ψ, the masks and the network input alike
# (`ggcam.geometry`): the cell side is $c = \max(\lceil H_0/h \rceil, \lceil W_0/w \rceil)$
# image pixels and the image is centre-padded with zeros to a canvas of $(h c) \times (w c)$.
# For the paper's {glue:text}`paper_image` images on a {glue:text}`paper_grid` grid,
# c = {glue:text}`paper_cell` and the canvas is {glue:text}`paper_canvas`: the released
# code's padding exactly, and halving it gives the paper's {glue:text}`paper_input` network input. The
# phantom's images vary in size like the real ones (portrait, landscape, odd sides), so their
# cells and padding differ; this case, {glue:text}`case_image`, has c = {glue:text}`case_cell`
# and {glue:text}`case_padding` px of padding above and to the left. The `cpu` profile's small
# images sit on its {glue:text}`small_grid` grid with cells of {glue:text}`small_cell` px:

# %%
paper_geom = ggcam.grid_geometry((3056, 2544), (grid_h, grid_w))
small = get_profile(small_profile)
small_sizes = figures.phantom_sizes(small.phantom_images, small.scale, seed=0)
report.styled(pd.concat([figures.geometry_table([(3056, 2544)], [(grid_h, grid_w)]),
                         figures.geometry_table(figures.phantom_sizes(n_images, 1.0, seed),
                                                [(grid_h, grid_w)]),
                         figures.geometry_table(small_sizes[:3], [small.grid_shape])],
                        ignore_index=True),
              caption="The grid rule for the paper's image size, this phantom's sizes, and the "
                      "cpu profile's most frequent sizes")

# %% tags=["remove-cell"]
glue("paper_image", "3056×2544", display=False)
glue("paper_grid", f"{grid_h}×{grid_w}", display=False)
glue("paper_input", "×".join(map(str, get_profile("paper").input_shape)), display=False)
glue("paper_cell", paper_geom.cell, display=False)
glue("paper_canvas", "×".join(map(str, paper_geom.canvas_shape)), display=False)
glue("case_image", f"{H0}×{W0}", display=False)
glue("case_cell", geom.cell, display=False)
glue("case_padding", f"{geom.top} and {geom.left}", display=False)
glue("small_grid", "×".join(map(str, small.grid_shape)), display=False)
glue("small_cell", ggcam.grid_geometry(small_sizes[0], small.grid_shape).cell, display=False)

# %% [markdown]
# ### Which pixels does a cell cover? Measured
#
# Where does Ω cell $(i, j)$ look in the input? In torchvision's ResNets and EfficientNets
# every downsampling step is a 3×3 convolution or pooling with padding 1 (the stem 7×7 with
# padding 3), so the receptive field of cell $(i, j)$ should be centred on input pixel
# $(s i, s j)$, $s = 32$: the *corner* of the $s \times s$ block, not its centre. Measured by
# backpropagation (the centre of mass of $|\partial \Omega_{ij} / \partial x|$, random weights
# and input), against the two rules:

# %%
centres = figures.receptive_field_centres(input_shape=(rf_input_h, rf_input_w), seed=seed)
report.styled(centres, caption="Receptive-field centres (input pixels, row and column)",
              labels={"distance to receptive-field rule": "distance to receptive-field rule (px)",
                      "distance to block rule": "distance to block rule (px)"})

# %% tags=["remove-cell"]
glue("rf_worst", report.number(centres["distance to receptive-field rule"].max()), display=False)
glue("block_best", report.number(centres["distance to block rule"].min()), display=False)

# %% [markdown]
# The measured centres lie within {glue:text}`rf_worst` px of the receptive-field rule and at
# least {glue:text}`block_best` px from the block rule. So the package's default
# (`align="receptive-field"`) makes cell $(i, j)$ cover the canvas pixels
# $[c i - c/2,\ c i + c/2)$ in each direction, centred where the network looks. The released
# code's resampling (keep every c-th pixel of the padded canvas, c = {glue:text}`paper_cell`
# for the paper's images) samples exactly those centres; a block average over $[c i,\ c (i+1))$
# (`align="block"`, the rule this package used before) is half a cell off.
#
# ### What the half-cell shift changes
#
# On this phantom's CHF and pneumonia images, for the paper's grid and the `cpu` profile's: the
# share of cells in the eq. {eq}`eq-12` region (heart for CHF, lungs for pneumonia) under each rule and
# how many cells change side; eq. {eq}`eq-12` applied to the radiologist's own Ψ (is its peak in the
# region?) with Ψ and mask on the same rule, and on different rules; and the correlation of Ψ
# computed on the two rules.

# %%
shift = figures.alignment_effect(ds, grids=((grid_h, grid_w), small.grid_shape),
                                 kernel_size=kernel_size)
# One column per grid: the measures are the rows.
report.styled(shift.set_index("grid (h×w)").T.infer_objects().reset_index(names="on the grid"),
              caption="The two alignments compared (means over images)")

# %% tags=["remove-cell"]
glue("shift_cc_small", report.number(shift["CC(Ψ receptive-field, Ψ block)"].iloc[-1]), display=False)
glue("shift_change_small", report.number(shift["cells that change side"].iloc[-1]), display=False)
glue("shift_cc_paper", report.number(shift["CC(Ψ receptive-field, Ψ block)"].iloc[0]), display=False)

# %% [markdown]
# On the paper's fine grid the two Ψ correlate at {glue:text}`shift_cc_paper`; on the
# {glue:text}`small_grid` grid the half-cell shift is a large fraction of the image: a share
# of {glue:text}`shift_change_small` of the cells change side of the region boundary and the
# two Ψ correlate at {glue:text}`shift_cc_small`. Whatever the grid, Ψ, the masks and the
# fixation cells must use the same rule, and the right one is the receptive field's.
#
# ## Area versus stride resampling
#
# `resample="stride"` reproduces the released code (blur with OpenCV's truncated kernel and
# border, keep every c-th canvas pixel); `"area"` (the default) averages the blurred image over
# each cell, exactly. Over every image of this phantom, for three values of B:

# %%
report.styled(figures.area_vs_stride(ds, (grid_h, grid_w)),
              caption="Ψ by area averaging against every-c-th-pixel sampling")

# %% [markdown]
# The two agree better as the blur widens compared with a cell and part ways when it is
# narrow; [the paper versus the released code](08_paper_vs_code.ipynb) looks at the paper's B.
#
# ## Raw samples, fixations, and duration weighting
#
# The three point sets `TrainConfig.gaze_points` offers, on this case ({numref}`fig-psi-sources`):

# %% tags=["hide-input"]
sources_fig, sources_table = figures.psi_sources(ds, case)

# %% tags=["remove-cell"]
glue("fig_psi_sources", sources_fig, display=False)

# %% [markdown]
# ```{glue:figure} fig_psi_sources
# :name: fig-psi-sources
# :alt: Three heat maps Ψ of the same case on the Ω grid, made from the raw samples, from the fixations, and from the fixations weighted by duration.
#
# **Ψ from each point set.** Raw samples (the default), fixations, and fixations weighted by
# their duration, for the case of {numref}`fig-psi`.
# ```

# %%
report.styled(sources_table, caption="Ψ from each point set, against the default")

# %% [markdown]
# ## Summary
#
# - `gaze_heatmap` computes Algorithm 1 exactly on the Ω grid from erf integrals, without the
#   full-resolution image; `reference_heatmap` is the literal algorithm it is tested against.
# - B is a kernel size (OpenCV's rule); `sigma=` takes σ in pixels directly.
# - Ω cells are centred on their receptive fields (measured); Ψ, the masks and the network
#   input share that one placement.

# %% tags=["remove-input"]
display(Markdown(report.rerun_admonition("03_algorithm1", {
    "threads": threads, "work_dir": work_dir, "n_images": n_images, "seed": seed, "case": case,
    "kernel_size": kernel_size, "grid_h": grid_h, "grid_w": grid_w,
    "small_profile": small_profile, "rf_input_h": rf_input_h, "rf_input_w": rf_input_w},
    None)))
