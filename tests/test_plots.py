"""Figures: axes, labels, titles (with p-values) and artist counts, not pixels."""

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from ggcam import config, study
from ggcam.stats.unpaired import anova
from ggcam.viz import paper_figures as plots
from ggcam.viz.style import MAX_WIDTH, MIN_FONT_PT, model_name, network_name, variant_label

matplotlib.use("Agg")
import matplotlib.pyplot as plt


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
    return list(ax.lines)


def texts(fig):
    return [t for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text()]


def assert_readable(fig):
    """At most MAX_WIDTH inches wide and no text below MIN_FONT_PT: legible at 400 px."""
    assert fig.get_figwidth() <= MAX_WIDTH + 1e-9
    small = {t.get_text(): t.get_fontsize() for t in texts(fig) if t.get_fontsize() < MIN_FONT_PT}
    assert not small, f"text smaller than {MIN_FONT_PT} pt: {small}"


def assert_no_overlap(fig):
    """No two tick labels of an axis, and no legend, overlap once the figure is drawn."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
            boxes = [t.get_window_extent(renderer) for t in labels if t.get_visible() and t.get_text()]
            for i, a in enumerate(boxes):
                for b in boxes[i + 1:]:
                    assert not a.overlaps(b), f"tick labels overlap: {a} {b}"
    for legend in fig.legends:
        box = legend.get_window_extent(renderer)
        for ax in fig.axes:
            assert not box.overlaps(ax.get_window_extent(renderer)), "legend over the data"


# ---- Figure 2 -------------------------------------------------------------------------------


def test_omega_distribution_panels_density_and_legend():
    fig = plots.omega_distribution(hist_frame())
    assert isinstance(fig, Figure) and plt.get_fignums() == []
    resnet, effnet = fig.axes  # one panel per network, in ggcam.config order
    assert [ax.get_title() for ax in fig.axes] == [network_name("resnet50"),
                                                    network_name("efficientnet_v2_s")]
    assert resnet.get_yscale() == "log" and resnet.get_xscale() == "symlog"
    assert len(data_lines(resnet)) == len(data_lines(effnet)) == 2  # one per variant
    (legend,) = fig.legends  # outside the panels
    assert [t.get_text() for t in legend.get_texts()] == [variant_label("standard"),
                                                          variant_label("ggcam")]
    # ResNet: counts (1, 3, 4, 0) × 2 seeds, total 16; widths 1, 1, 0.5, 1.5
    # density = 2/16, 6/16, 8/(16·0.5) = 1; the empty last bin is not drawn
    x, y = data_lines(resnet)[0].get_data()
    np.testing.assert_allclose(x, [-1.5, -0.5, 0.25])
    np.testing.assert_allclose(y, [2 / 16, 6 / 16, 1.0])
    # EffNet: 2 per bin, total 16: density 1/8 / width
    x, y = data_lines(effnet)[0].get_data()
    np.testing.assert_allclose(y, [4 / 16, 4 / 16, 4 / 8, 4 / 24])
    assert resnet.get_ylabel() == "density (log scale)" and "Ω" in resnet.get_xlabel()
    assert_readable(fig)
    assert_no_overlap(fig)


def test_omega_distribution_orders_variants_and_picks_networks():
    h = hist_frame()
    h = pd.concat([h.assign(variant="ggcam-legacy"), h])  # legacy first in the data
    fig = plots.omega_distribution(h, networks=["efficientnet_v2_s"])
    assert len(fig.axes) == 1
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    want = [v for v in study.VARIANTS if v in ("standard", "ggcam", "ggcam-legacy")]
    assert labels == [variant_label(v) for v in want]
    with pytest.raises(ValueError, match="not in the data"):
        plots.omega_distribution(h, networks=["densenet121"])


def test_symlog_ticks_are_sparse_and_labelled():
    ticks = plots._symlog_ticks(-1e4, 7e3)
    assert ticks == [-1e4, -1e2, 0.0, 1e2]
    assert plots._power_of_ten(-1e4) == r"$\mathregular{−10^{4}}$" and plots._power_of_ten(0) == "0"
    assert plots._symlog_ticks(-0.5, 3.0) == [-1.0, 0.0, 1.0]


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
    fig = plots.metric_boxplots(runs, ["auc_ovo", "interp_chf"], variants=("standard", "ggcam"))
    assert len(fig.axes) == 4 and plt.get_fignums() == []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = anova(runs, "auc_ovo").set_index("network")["p"]
    titles = [ax.get_title() for ax in fig.axes]
    # the paper's letters: AUC (a, b), interpretability for CHF (c, d)
    assert titles[0] == f"(a) {network_name('resnet50')}\nANOVA p = {p['resnet50']:.3g}"
    assert titles[1] == f"(b) {network_name('efficientnet_v2_s')}\nANOVA p = {p['efficientnet_v2_s']:.3g}"
    assert titles[2].startswith(f"(c) {network_name('resnet50')}\nANOVA p = ")
    ax = fig.axes[1]
    ticks = [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()]
    assert ticks == [variant_label("standard"), variant_label("ggcam")]
    assert fig.axes[0].get_ylabel() == "AUC (Hand & Till)" and fig.axes[1].get_ylabel() == ""
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert [len(c.get_offsets()) for c in points[:2]] == [4, 4]  # one dot per run
    assert len(ax.patches) == 2  # one box per variant
    # the paper's medians of the AUC, as reference marks beside the boxes
    marks = points[2:]
    assert [m.get_offsets()[0][1] for m in marks] == [0.723, 0.801]  # EffNet, EffNet+GG-CAM
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["median reported in the paper"]
    assert not [c for c in fig.axes[3].collections if len(c.get_offsets()) == 1]  # none for CHF
    # points spread by a fixed rule: the same figure twice has the same offsets
    again = plots.metric_boxplots(runs, ["auc_ovo", "interp_chf"], variants=("standard", "ggcam"))
    again_points = [c for c in again.axes[1].collections if isinstance(c, PathCollection)]
    np.testing.assert_array_equal(points[0].get_offsets(), again_points[0].get_offsets())
    assert_readable(fig)
    assert_no_overlap(fig)


def test_metric_boxplots_many_variants_in_config_order_with_a_legend():
    runs = runs_frame()
    extra = [v for v in ("ggcam-fp64", "ggcam-warm", "ggcam-shuffled", "ggcam-centre", "ggcam-stable")]
    runs = pd.concat([runs] + [runs[runs.variant == "ggcam"].assign(variant=v) for v in extra])
    fig = plots.metric_boxplots(runs, ["auc_ovo"], paper_medians=None)
    ax = fig.axes[0]
    aliases = getattr(config, "VARIANT_ALIASES", {})
    rank = {v: study.VARIANTS.index(aliases.get(v, v)) if aliases.get(v, v) in study.VARIANTS
            else len(study.VARIANTS) for v in pd.unique(runs.variant)}
    want = sorted(pd.unique(runs.variant), key=rank.get)  # stable: unknown ones as given
    assert len(ax.patches) == len(want) == 8
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [variant_label(v) for v in want]
    assert all(not t.get_text() for t in ax.get_xticklabels())  # the legend names the boxes
    assert_readable(fig)
    assert_no_overlap(fig)


def test_metric_boxplots_n_too_small_and_options():
    runs = runs_frame()
    runs = runs.drop(runs[(runs.network == "resnet50") & (runs.variant == "ggcam")].index[1:])
    fig = plots.metric_boxplots(runs, "auc_ovo", networks=["resnet50"],
                                variants=("ggcam-legacy", "standard", "ggcam"))
    (ax,) = fig.axes
    assert ax.get_title() == f"(a) {network_name('resnet50')}\nn too small"
    labels = [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()]
    order = [v for v in study.VARIANTS if v in ("standard", "ggcam", "ggcam-legacy")]
    assert labels == [variant_label(v) for v in order]
    same = runs_frame().assign(interp_chf=0.5)
    assert plots.metric_boxplots(same, ["interp_chf"]).axes[0].get_title().endswith("no test")
    # Figure 3's interpretability panels keep the paper's letters; other metrics count from a
    fig = plots.metric_boxplots(runs_frame(), ["interp_chf"], variants=("standard", "ggcam"))
    assert [ax.get_title()[:4] for ax in fig.axes] == ["(c) ", "(d) "]
    fig = plots.metric_boxplots(runs_frame().assign(cc=0.3), ["cc", "auc_ovo"],
                                variants=("standard", "ggcam"))
    assert [ax.get_title()[:4] for ax in fig.axes] == ["(a) ", "(b) ", "(c) ", "(d) "]


def test_metric_boxplots_errors():
    runs = runs_frame()
    with pytest.raises(ValueError, match=r"no column\(s\) \['auc_ovr'\]"):
        plots.metric_boxplots(runs, ["auc_ovr"])
    with pytest.raises(ValueError, match="not in the data"):
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


def test_attention_grid_layout_overlay_and_colour_bars():
    rng = np.random.default_rng(1)
    images, maps = rng.random((2, 3, 40, 32)), rng.random((2, 3, 5, 4))
    fig = plots.attention_grid(images, torch.tensor(maps), ["Ψ", "ResNet+GG-CAM"],
                               ["normal", "CHF", "pneumonia"])
    assert len(fig.axes) == 6 + 2 and plt.get_fignums() == []  # 6 images, a colour bar per row
    assert [ax.get_title() for ax in fig.axes[:3]] == ["normal", "CHF", "pneumonia"]
    assert [fig.axes[i].get_ylabel() for i in (0, 3)] == ["Ψ", "ResNet+GG-CAM"]
    ax = fig.axes[4]
    assert len(ax.images) == 2 and ax.get_xticks().size == 0 and ax.get_yticks().size == 0
    base, overlay = ax.images
    assert base.get_cmap().name == "gray" and overlay.get_cmap().name == "viridis"
    assert overlay.get_alpha() == 0.55 and overlay.get_array().shape == (40, 32)
    assert (overlay.norm.vmin, overlay.norm.vmax) == (0.0, 1.0)
    up = plots.upsample_bilinear(maps[1, 1], (40, 32))
    np.testing.assert_allclose(overlay.get_array(), (up - up.min()) / (up.max() - up.min()))
    bars = fig.axes[6:]
    assert [b.get_ylabel() for b in bars] == ["scaled to [0, 1]"] * 2
    assert_readable(fig)


def test_attention_grid_nested_lists_with_blanks():
    img, hm = np.ones((8, 6)), np.zeros((2, 2))
    fig = plots.attention_grid([[img, None]], [[hm, None]], ["EffNet"], ["CHF", "pneumonia"],
                               cmap="magma", alpha=0.3)
    assert [len(ax.images) for ax in fig.axes[:2]] == [2, 0]
    assert fig.axes[0].images[1].get_cmap().name == "magma"
    assert not fig.axes[0].images[1].get_array().any()  # a constant map shows as 0
    assert len(fig.axes) == 3  # one colour bar for the row
    fig = plots.attention_grid([[img]], [[None]], ["EffNet"], ["CHF"])
    assert len(fig.axes) == 1  # no overlay, no colour bar


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
    with pytest.raises(ValueError, match="colour map"):
        plots.attention_grid(images, maps, ["a", "b"], ["x", "y", "z"], cmap="no-such-map")


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
    assert auc_ax.get_legend() is None and par.get_legend() is not None  # one line: no legend
    assert_readable(fig)
    assert_no_overlap(fig)


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


def test_training_curves_log_loss_when_it_falls_by_orders_of_magnitude():
    curves = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [1e17, 1e3, 2.0]})
    fig = plots.training_curves(curves)
    assert fig.axes[0].get_yscale() == "log" and fig.axes[0].get_ylabel() == "loss (log)"
    assert_readable(fig)


def sigma_frame():
    rows = []
    for network in ("efficientnet_v2_s", "resnet50"):
        for variant in ("ggcam-legacy", "standard", "ggcam"):
            for seed in range(2):
                for epoch in (1, 2, 3):
                    rows.append({"network": network, "variant": variant, "seed": seed,
                                 "epoch": epoch,
                                 "sigma_sm": np.nan if variant == "standard" else 1e-9 * epoch})
    return pd.DataFrame(rows)


def test_sigma_trajectories_networks_variants_and_legend():
    fig = plots.sigma_trajectories(sigma_frame())
    resnet = fig.axes[0]  # ggcam.config order, whatever the data's
    assert [ax.get_title() for ax in fig.axes] == [network_name("resnet50"),
                                                    network_name("efficientnet_v2_s")]
    assert len(resnet.lines) == 4 and resnet.get_yscale() == "log"  # 2 variants × 2 seeds
    order = [v for v in study.VARIANTS if v in ("ggcam", "ggcam-legacy")]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [variant_label(v) for v in order]
    assert_readable(fig)
    assert_no_overlap(fig)
    with pytest.raises(ValueError, match="no GG-CAM run"):
        plots.sigma_trajectories(sigma_frame().assign(sigma_sm=np.nan))


# ---- names and the module graph -------------------------------------------------------------


def test_names_come_from_config():
    assert network_name("resnet50") == study.NETWORK_LABELS["resnet50"]
    assert network_name("vgg16") == "vgg16" and variant_label("ggcam-new") == "ggcam-new"
    assert model_name("resnet50", "standard") == study.NETWORK_LABELS["resnet50"]
    plus = study.VARIANT_LABELS["ggcam"]
    assert model_name("resnet50", "ggcam") == study.NETWORK_LABELS["resnet50"] + plus
    assert model_name("resnet50", "ggcam-new") == study.NETWORK_LABELS["resnet50"] + ", ggcam-new"
    for alias, new in getattr(config, "VARIANT_ALIASES", {}).items():
        assert variant_label(alias) == study.VARIANT_LABELS[new]


def test_plot_modules_import_without_a_cycle():
    import ast
    from pathlib import Path

    folder = Path(plots.__file__).parent
    for name in ("style", "training", "maps"):
        tree = ast.parse((folder / f"{name}.py").read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert "ggcam.viz.paper_figures" not in imported, f"ggcam/viz/{name}.py imports ggcam.viz.paper_figures"


def test_table3_from_store_examples():
    rng = np.random.default_rng(2)
    ex = {"labels": np.array([0, 1, 2]), "psi": rng.random((3, 4, 3)),
          "image": rng.random((3, 16, 12))}
    examples = {("resnet50", "standard"): dict(ex, cam=rng.random((3, 4, 3))),
                ("resnet50", "ggcam"): dict(ex, cam=rng.random((3, 4, 3))),
                ("efficientnet_v2_s", "ggcam"): dict(ex, cam=rng.random((3, 4, 3)))}
    fig = plots.table3(examples, ["normal", "CHF", "pneumonia"])
    images = fig.axes[:12]  # 4 rows × 3 columns, then a colour bar per row
    order = sorted([("resnet50", "standard"), ("resnet50", "ggcam")],
                   key=lambda k: study.VARIANTS.index(k[1])) + [("efficientnet_v2_s", "ggcam")]
    labels = [images[3 * i].get_ylabel().replace("\n", " ") for i in range(4)]
    assert labels == ["Ψ (gaze)"] + [model_name(*k) for k in order]  # wrapped, same words
    assert [ax.get_title() for ax in images[:3]] == ["normal", "CHF", "pneumonia"]
    np.testing.assert_allclose(images[1].images[0].get_array(), ex["image"][1])
    with pytest.raises(ValueError, match="no images"):
        plots.table3({k: {kk: vv for kk, vv in v.items() if kk != "image"}
                      for k, v in examples.items()}, ["a", "b", "c"])
    with pytest.raises(ValueError, match="no examples for networks"):
        plots.table3(examples, ["a", "b", "c"], variants=["ggcam-legacy"])


def test_figure3_names_only_planned_arms_as_not_run_yet():
    import pandas as pd

    from ggcam.viz import figures

    runs = pd.DataFrame({"network": "resnet18", "variant": ["standard"] * 3 + ["ggcam-warm"] * 3,
                         "seed": [0, 1, 2] * 2, "auc_ovo": [0.7, 0.72, 0.71, 0.8, 0.82, 0.81]})
    arms = ("standard", "ggcam-warm", "ggcam-legacy", "ggcam-oracle")
    fig = figures.figure3(runs, ["auc_ovo"], arms, planned=("standard", "ggcam-warm", "ggcam-oracle"))
    assert fig._suptitle.get_text() == "not run yet: ggcam-oracle"
    assert figures.figure3(runs, ["auc_ovo"], arms[:2], planned=arms)._suptitle is None


def test_figure3_draws_the_constant_maps_across_their_metric_s_panels_only():
    import pandas as pd

    from ggcam.viz import figures

    runs = pd.DataFrame({"network": ["resnet18"] * 4 + ["efficientnet_b0"] * 4,
                         "variant": ["standard", "standard", "ggcam-warm", "ggcam-warm"] * 2,
                         "seed": [0, 1] * 4, "interp_chf": 0.5, "interp_pneumonia": 0.6})
    runs.loc[::2, ["interp_chf", "interp_pneumonia"]] = 0.4
    lines = {"interp_pneumonia": {"the mean-gaze map": 0.77, "the best single cell": 1.0}}
    fig = figures.figure3(runs, ["interp_chf", "interp_pneumonia"], ("standard", "ggcam-warm"),
                          constants=lines)
    flat = lambda ax: sorted(float(line.get_ydata()[0]) for line in ax.get_lines()
                             if line.get_color() == "0.45" and len(set(line.get_ydata())) == 1)
    first_row, second_row = fig.axes[:2], fig.axes[2:4]
    assert [flat(ax) for ax in first_row] == [[], []]
    assert [flat(ax) for ax in second_row] == [[0.77, 1.0], [0.77, 1.0]]
