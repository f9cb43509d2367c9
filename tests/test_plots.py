"""Figures: axes, labels, titles (with p-values) and artist counts, not pixels."""

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from ggcam import plots
from ggcam.stats import anova

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (only to check that no pyplot figure is made)


def hist_frame(seeds=2):
    rows = []
    edges = np.array([-2.0, -1.0, 0.0, 0.5, 2.0])
    for network in ("resnet50", "efficientnet_v2_s"):
        for variant in ("standard", "ggcam"):
            for seed in range(seeds):
                counts = [1, 3, 4, 0] if network == "resnet50" else [2, 2, 2, 2]
                for left, right, n in zip(edges[:-1], edges[1:], counts):
                    rows.append({"network": network, "variant": variant, "seed": seed,
                                 "bin_left": left, "bin_right": right, "count": n})
    return pd.DataFrame(rows)


def runs_frame(n=4):
    rng = np.random.default_rng(0)
    rows = []
    for network in ("resnet50", "efficientnet_v2_s"):
        for variant, gain in (("standard", 0.0), ("ggcam", 0.05), ("ggcam-legacy", 0.02)):
            for seed in range(n):
                rows.append({"network": network, "variant": variant, "seed": seed,
                             "auc_ovo": 0.72 + gain + rng.normal(0, 0.02),
                             "interp_chf": rng.integers(0, 11) / 10})
    return pd.DataFrame(rows)


def data_lines(ax):
    return [ln for ln in ax.lines if ln.get_label().startswith("_child")]


# ---- Figure 2 -------------------------------------------------------------------------------


def test_omega_distribution_density_and_legend():
    fig = plots.omega_distribution(hist_frame())
    assert isinstance(fig, Figure) and plt.get_fignums() == []
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    assert len(data_lines(ax)) == 4  # 2 networks × 2 variants
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["network", "ResNet", "EffNet", "variant", "standard", "GG-CAM"]
    # ResNet: counts (1, 3, 4, 0) × 2 seeds, total 16; widths 1, 1, 0.5, 1.5
    # density = 2/16, 6/16, 8/(16·0.5) = 1; the empty last bin is not drawn
    x, y = data_lines(ax)[0].get_data()
    np.testing.assert_allclose(x, [-1.5, -0.5, 0.25])
    np.testing.assert_allclose(y, [2 / 16, 6 / 16, 1.0])
    # EffNet: 2 per bin, total 16: density 1/8 / width
    x, y = data_lines(ax)[2].get_data()
    np.testing.assert_allclose(y, [4 / 16, 4 / 16, 4 / 8, 4 / 24])
    assert ax.get_xlabel() and ax.get_ylabel() == "density (log scale)"


def test_omega_distribution_errors():
    h = hist_frame()
    with pytest.raises(ValueError, match=r"no column\(s\) \['count'\]"):
        plots.omega_distribution(h.drop(columns="count"))
    with pytest.raises(ValueError, match="bin_right > bin_left"):
        plots.omega_distribution(h.assign(bin_right=h["bin_left"]))
    with pytest.raises(ValueError, match="non-negative"):
        plots.omega_distribution(h.assign(count=-1))
    with pytest.raises(ValueError, match="no counts"):
        plots.omega_distribution(h.assign(count=0))
    with pytest.raises(ValueError, match="empty"):
        plots.omega_distribution(h.iloc[:0])


# ---- Figure 3 -------------------------------------------------------------------------------


def test_metric_boxplots_panels_titles_and_points():
    runs = runs_frame()
    fig = plots.metric_boxplots(runs, ["auc_ovo", "interp_chf"])
    assert len(fig.axes) == 4 and plt.get_fignums() == []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = anova(runs, "auc_ovo").set_index("network")["p"]
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == f"(a) ResNet: ANOVA p = {p['resnet50']:.3g}"
    assert titles[1] == f"(b) EffNet: ANOVA p = {p['efficientnet_v2_s']:.3g}"
    assert titles[2].startswith("(c) ResNet: ANOVA p = ")
    ax = fig.axes[1]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["EffNet", "EffNet+GG-CAM"]
    assert fig.axes[0].get_ylabel() == "AUC (Hand & Till)" and fig.axes[1].get_ylabel() == ""
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert [len(c.get_offsets()) for c in points] == [4, 4]  # one dot per run
    assert len(ax.patches) == 2  # one box per variant
    # points spread by a fixed rule: the same figure twice has the same offsets
    again = plots.metric_boxplots(runs, ["auc_ovo", "interp_chf"]).axes[1]
    again_points = [c for c in again.collections if isinstance(c, PathCollection)]
    np.testing.assert_array_equal(points[0].get_offsets(), again_points[0].get_offsets())


def test_metric_boxplots_n_too_small_and_options():
    runs = runs_frame()
    runs = runs.drop(runs[(runs.network == "resnet50") & (runs.variant == "ggcam")].index[1:])
    fig = plots.metric_boxplots(runs, "auc_ovo", networks=["resnet50"],
                                variants=("standard", "ggcam", "ggcam-legacy"))
    (ax,) = fig.axes
    assert ax.get_title() == "(a) ResNet: n too small"
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["ResNet", "ResNet+GG-CAM", "ResNet+GG-CAM (legacy)"]
    same = runs_frame().assign(interp_chf=0.5)
    assert plots.metric_boxplots(same, ["interp_chf"]).axes[0].get_title().endswith("no test")


def test_metric_boxplots_errors():
    runs = runs_frame()
    with pytest.raises(ValueError, match=r"no column\(s\) \['auc_ovr'\]"):
        plots.metric_boxplots(runs, ["auc_ovr"])
    with pytest.raises(ValueError, match="not in runs"):
        plots.metric_boxplots(runs, ["auc_ovo"], networks=["densenet121"])
    with pytest.raises(ValueError, match="at least one"):
        plots.metric_boxplots(runs, [])


# ---- Table 3 --------------------------------------------------------------------------------


def test_upsample_bilinear_equals_torch():
    m = np.random.default_rng(0).random((6, 5))
    want = torch.nn.functional.interpolate(torch.tensor(m)[None, None], size=(20, 13),
                                           mode="bilinear", align_corners=False)[0, 0].numpy()
    np.testing.assert_allclose(plots.upsample_bilinear(m, (20, 13)), want, atol=1e-12)
    with pytest.raises(ValueError, match=r"\(h, w\)"):
        plots.upsample_bilinear(m[None], (20, 13))


def test_attention_grid_layout_and_overlay():
    rng = np.random.default_rng(1)
    images, maps = rng.random((2, 3, 40, 32)), rng.random((2, 3, 5, 4))
    fig = plots.attention_grid(images, torch.tensor(maps), ["Ψ", "ResNet+GG-CAM"],
                               ["normal", "CHF", "pneumonia"])
    assert len(fig.axes) == 6 and plt.get_fignums() == []
    assert [ax.get_title() for ax in fig.axes[:3]] == ["normal", "CHF", "pneumonia"]
    assert [fig.axes[i].get_ylabel() for i in (0, 3)] == ["Ψ", "ResNet+GG-CAM"]
    ax = fig.axes[4]
    assert len(ax.images) == 2 and ax.get_xticks().size == 0 and ax.get_yticks().size == 0
    base, overlay = ax.images
    assert base.get_cmap().name == "gray" and overlay.get_cmap().name == "jet"
    assert overlay.get_alpha() == 0.5 and overlay.get_array().shape == (40, 32)
    up = plots.upsample_bilinear(maps[1, 1], (40, 32))
    np.testing.assert_allclose(overlay.get_array(), (up - up.min()) / (up.max() - up.min()))


def test_attention_grid_nested_lists_with_blanks():
    img, hm = np.ones((8, 6)), np.zeros((2, 2))
    fig = plots.attention_grid([[img, None]], [[hm, None]], ["EffNet"], ["CHF", "pneumonia"],
                               cmap="viridis", alpha=0.3)
    assert [len(ax.images) for ax in fig.axes] == [2, 0]
    assert not fig.axes[0].images[1].get_array().any()  # a constant map shows as 0


def test_attention_grid_errors():
    images, maps = np.zeros((2, 3, 8, 8)), np.zeros((2, 3, 2, 2))
    with pytest.raises(ValueError, match="need 2 row labels and 3 column labels"):
        plots.attention_grid(images, maps, ["a"], ["x", "y", "z"])
    with pytest.raises(ValueError, match="maps must be a full 2×3 grid"):
        plots.attention_grid(images, maps[:, :2], ["a", "b"], ["x", "y", "z"])
    with pytest.raises(ValueError, match="images must be an"):
        plots.attention_grid(np.zeros((8, 8)), maps, ["a", "b"], ["x", "y", "z"])
    with pytest.raises(ValueError, match="alpha"):
        plots.attention_grid(images, maps, ["a", "b"], ["x", "y", "z"], alpha=2)
    with pytest.raises(ValueError, match="must be 2-D"):
        plots.attention_grid([[np.zeros((2, 8, 8))]], [[np.zeros((2, 2))]], ["a"], ["x"])


# ---- training curves ------------------------------------------------------------------------


def test_training_curves_ggcam_run():
    ep = np.arange(1, 11)
    curves = pd.DataFrame({"epoch": ep, "train_loss": 1 / ep, "val_loss": 1.1 / ep,
                           "val_auc": np.linspace(0.5, 0.8, 10), "sigma_sm": 1e-9 * 2.0**ep,
                           "sigma_ce": np.ones(10), "alpha": np.ones(10)})
    fig = plots.training_curves(curves.iloc[::-1])  # any row order
    loss, auc_ax, par = fig.axes
    assert [ln.get_label() for ln in loss.lines] == ["train", "validation"]
    assert len(auc_ax.lines) == 1 and par.get_yscale() == "log"
    assert len(par.lines) == 5
    w_sm = par.lines[3]
    np.testing.assert_allclose(w_sm.get_ydata(), 1 / (2 * (1e-9 * 2.0**ep) ** 2))
    np.testing.assert_array_equal(w_sm.get_xdata(), ep)
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "validation AUC",
                                                    "loss parameters (log)"]


def test_training_curves_standard_run_and_errors():
    curves = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [1.0, 0.8, 0.7],
                           "val_auc": [0.6, np.nan, 0.7]})
    fig = plots.training_curves(curves)
    assert len(fig.axes[0].lines) == 1
    assert fig.axes[1].lines[0].get_xdata().tolist() == [1, 3]  # NaN skipped
    assert [t.get_text() for t in fig.axes[2].texts] == ["nothing to plot"]
    with pytest.raises(ValueError, match="epochs are repeated"):
        plots.training_curves(pd.DataFrame({"epoch": [1, 1], "train_loss": [1.0, 0.9]}))
    with pytest.raises(ValueError, match=r"no column\(s\) \['epoch'\]"):
        plots.training_curves(pd.DataFrame({"step": [1]}))
    with pytest.warns(UserWarning, match="non-positive alpha"):
        plots.training_curves(pd.DataFrame({"epoch": [1, 2], "alpha": [1.0, 0.0]}))
