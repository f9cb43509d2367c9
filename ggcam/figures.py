"""The book's page-level figures and tables: what a page shows, computed here.

The pages hold no logic (``tests/test_structure.py``): every loop of a page lives in this
module, one function per figure or table, named after what it shows. The maths stays where it
is (``ggcam.gaze``, ``ggcam.geometry``, ``ggcam.cam``, ``ggcam.explain``): nothing here
re-implements Algorithm 1 or a metric, it arranges their results. Results pages get
"figure or note" wrappers: a figure when the store holds its runs, else a Markdown line
saying what is missing, so a page built while a sweep runs never fails.

Sections: the data (page 02), Algorithm 1 and the grid (03), the CAM layer and Figure 2
(04), training (05), results figures (06-07), CAM methods side by side (07), the released
code (08).
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from IPython.display import Markdown
from matplotlib.figure import Figure

from .config import FAMILY_OF, NETWORK_LABELS
from .geometry import grid_geometry
from .plot_style import MAP_CMAP, STYLE, figure

__all__ = [
    "alignment_effect", "area_vs_stride", "blur_sweep", "cam_equivalence", "cam_methods",
    "cam_methods_figure", "cases_figure", "config_table", "explain_model", "figure3",
    "geometry_table", "informativeness_effect", "omega_edges", "omega_figure",
    "paper_medians", "psi_figure", "psi_sources", "randomisation_table",
    "receptive_field_centres", "released_behaviours", "road_table", "sampling_figure",
    "sigma_figure", "split_table", "table3_figure", "training_figure", "tree",
    "truth_table",
]

STRIDE = 32  # input pixels per Ω cell (every supported network)


def _note(text: str) -> Markdown:
    return Markdown(f"*{text}*")


def _off(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


# ---- page 02: the data -----------------------------------------------------------------------


def tree(folder, depth: int = 1, limit: int = 8, indent: str = "") -> str:
    """A short listing of ``folder``: at most ``limit`` entries per folder, ``depth`` levels."""
    folder = Path(folder)
    lines = []
    entries = sorted(folder.iterdir())
    for p in entries[:limit]:
        lines.append(f"{indent}{p.name}{'/' if p.is_dir() else ''}")
        if p.is_dir() and depth > 0:
            lines.append(tree(p, depth - 1, limit, indent + "    "))
    if len(entries) > limit:
        lines.append(f"{indent}... ({len(entries) - limit} more)")
    return "\n".join(line for line in lines if line)


def truth_table(truth: pd.DataFrame) -> pd.DataFrame:
    """``phantom-truth.csv`` summarised: per class, images and boxes of each finding."""
    rows = []
    for name, part in truth.groupby("class_name", sort=False):
        found = part[part["finding"] != "none"]
        rows.append({"class": name, "images": part["dicom_id"].nunique(),
                     **{f: int((found["finding"] == f).sum())
                        for f in ("cardiomegaly", "edema", "effusion", "consolidation")}})
    return pd.DataFrame(rows)


def cases_figure(ds, cases, truth: pd.DataFrame | None = None) -> Figure:
    """One image per class: lung (blue) and mediastinum (orange) outlines, the true-finding
    boxes (cyan, dashed) and the simulated reader's fixations as a scanpath."""
    fig = figure(6.4, 3.2)
    with mpl.rc_context(STYLE):
        axes = fig.subplots(1, len(cases))
        for ax, i in zip(np.atleast_1d(axes), cases):
            full = ds.full_masks(i)
            pts = ds.gaze_points(i)
            ax.imshow(ds.read_image(i), cmap="gray")
            ax.contour(full["lung"], levels=[0.5], colors="tab:blue", linewidths=1)
            ax.contour(full["heart"], levels=[0.5], colors="tab:orange", linewidths=1)
            ax.plot(pts.x, pts.y, "-", color="yellow", lw=0.6, alpha=0.7)
            ax.scatter(pts.x, pts.y, s=30 * pts.duration / pts.duration.mean(), color="red",
                       alpha=0.6)
            if truth is not None:
                boxes = truth[(truth["dicom_id"] == ds.metadata["dicom_id"].iat[i])
                              & (truth["finding"] != "none")]
                for b in boxes.itertuples():
                    ax.add_patch(mpl.patches.Rectangle((b.x0, b.y0), b.x1 - b.x0, b.y1 - b.y0,
                                                       fill=False, ec="cyan", ls="--", lw=1.5))
            ax.set_title(f"{ds.metadata.class_name.iat[i]}: {len(pts)} fixations")
            _off(ax)
    return fig


def sampling_figure(fixations, raw, i: int) -> Figure:
    """The same image's gaze as fixations and as raw ~60 Hz samples."""
    fig = figure(6.4, 3.4)
    image = fixations.read_image(i)
    with mpl.rc_context(STYLE):
        axes = fig.subplots(1, 2)
        for ax, ds, what in ((axes[0], fixations, "fixations"), (axes[1], raw, "raw samples")):
            pts = ds.gaze_points(i)
            ax.imshow(image, cmap="gray")
            ax.scatter(pts.x, pts.y, s=3, color="red", alpha=0.5)
            ax.set_title(f"{what} ({len(pts)})")
            _off(ax)
    return fig


def split_table(metadata: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Images per side and class under each of ``ggcam.data.split``'s schemes."""
    from .data import CLASS_NAMES, split

    rows = []
    for scheme in ("paper", "released", "patient"):
        for side, idx in split(metadata, scheme, seed=seed).items():
            classes = metadata["class_name"].iloc[idx].value_counts()
            rows.append({"scheme": scheme, "side": side, "images": len(idx),
                         **{c: int(classes.get(c, 0)) for c in CLASS_NAMES}})
    return pd.DataFrame(rows)


def informativeness_effect(work_dir, values=(0.0, 0.6, 1.0), n_images: int = 30,
                           scale: float = 0.1, seed: int = 0) -> pd.DataFrame:
    """What the phantom reader's ``informativeness`` does: for small phantoms made with each
    value, the share of raw gaze samples of CHF and pneumonia images that fall in a true
    finding's box, beside the share of the image the boxes cover (where a blind reader's
    samples would fall)."""
    from .data import EGDCXR, make_phantom, read_phantom_truth
    from .data.truth import boxes_by_image, finding_mask

    rows = []
    for value in values:
        root = Path(work_dir) / f"informativeness-{value:g}"
        if not (root / "phantom-truth.csv").is_file():
            make_phantom(root, n_images=n_images, scale=scale, seed=seed, progress=False,
                         informativeness=value)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the reader's drop report
            ds = EGDCXR(root / "egd-cxr" / "1.0.0", root / "mimic-cxr" / "2.0.0",
                        gaze="eye_gaze", progress=False)
        truth = read_phantom_truth(root / "phantom-truth.csv")
        ids = list(ds.metadata["dicom_id"])
        boxes = boxes_by_image(truth, ids, root / "phantom-truth.csv")
        inside, area = [], []
        for i in np.flatnonzero(ds.labels > 0):
            mask = finding_mask(boxes[i], ds.image_shape(i))
            pts = ds.gaze_points(i)[["x", "y"]].to_numpy().astype(int)
            if len(pts):
                inside.append(mask[pts[:, 1], pts[:, 0]].mean())
                area.append(mask.mean())
        rows.append({"informativeness": value, "abnormal images": len(inside),
                     "samples in a finding box": float(np.mean(inside)),
                     "image area in a finding box": float(np.mean(area))})
    return pd.DataFrame(rows)


# ---- page 03: Algorithm 1 and the grid ---------------------------------------------------------


def geometry_table(shapes, grids) -> pd.DataFrame:
    """``grid_geometry`` of each image size on each grid: cell, canvas, padding."""
    rows = []
    for shape in shapes:
        for grid in grids:
            g = grid_geometry(shape, grid)
            rows.append({"image (H0×W0)": f"{shape[0]}×{shape[1]}",
                         "grid (h×w)": f"{grid[0]}×{grid[1]}", "cell c (px)": g.cell,
                         "canvas (h·c × w·c)": f"{g.canvas_shape[0]}×{g.canvas_shape[1]}",
                         "padding top, left (px)": f"{g.top}, {g.left}"})
    return pd.DataFrame(rows)


def _show_map(ax, m, title: str, vmin=0.0, vmax=1.0) -> None:
    ax.imshow(m, cmap=MAP_CMAP, vmin=vmin, vmax=vmax)
    ax.set_title(title)
    _off(ax)


def psi_figure(image, xy, psi, psi_reference) -> Figure:
    """The gaze points on the image, Ψ by ``gaze_heatmap`` and by ``reference_heatmap``."""
    fig = figure(6.4, 3.0)
    with mpl.rc_context(STYLE):
        axes = fig.subplots(1, 3)
        axes[0].imshow(image, cmap="gray")
        axes[0].scatter(xy[:, 0], xy[:, 1], s=2, color="red", alpha=0.5)
        axes[0].set_title("gaze samples $E_{1:M}$")
        _off(axes[0])
        _show_map(axes[1], psi, "gaze_heatmap")
        _show_map(axes[2], psi_reference, "reference_heatmap")
        bar = fig.colorbar(mpl.cm.ScalarMappable(mpl.colors.Normalize(0, 1), MAP_CMAP),
                           ax=list(axes[1:]), shrink=0.8)
        bar.set_label("Ψ")
    return fig


def blur_sweep(xy, image_shape, grid, kernel_sizes=(201, 401, 601, 801, 1001)):
    """Ψ for several B: a row of maps and a table (σ, cells above 0.5, mean of Ψ)."""
    from .gaze import gaze_heatmap, sigma_from_kernel_size

    fig = figure(6.4, 2.4)
    rows = []
    with mpl.rc_context(STYLE):
        axes = fig.subplots(1, len(kernel_sizes))
        for ax, b in zip(axes, kernel_sizes):
            m = gaze_heatmap(xy, image_shape, grid, kernel_size=b)
            _show_map(ax, m, f"B = {b}")
            rows.append({"B": b, "σ (px)": sigma_from_kernel_size(b),
                         "cells above 0.5": int((m > 0.5).sum()), "mean of Ψ": float(m.mean())})
    return fig, pd.DataFrame(rows)


def area_vs_stride(ds, grid, kernel_sizes=(51, 201, 501)) -> pd.DataFrame:
    """Ψ by exact area averaging against the released code's every-c-th-pixel sampling, over
    every image of ``ds`` with gaze: the mean and the worst image per B."""
    from .gaze import gaze_heatmap, sigma_from_kernel_size

    rows = []
    for b in kernel_sizes:
        per = []
        for i in range(len(ds)):
            xy = ds.gaze_points(i)[["x", "y"]].to_numpy()
            if len(xy) == 0:
                continue
            a = gaze_heatmap(xy, ds.image_shape(i), grid, kernel_size=b)
            s = gaze_heatmap(xy, ds.image_shape(i), grid, kernel_size=b, resample="stride")
            per.append((np.abs(a - s).max(), np.abs(a - s).mean(),
                        np.corrcoef(a.ravel(), s.ravel())[0, 1], np.argmax(a) == np.argmax(s)))
        d = np.array(per, dtype=float)
        rows.append({"B": b, "σ (px)": sigma_from_kernel_size(b), "images": len(d),
                     "max |Δ| (worst image)": d[:, 0].max(), "max |Δ| (mean)": d[:, 0].mean(),
                     "mean |Δ|": d[:, 1].mean(), "CC (mean)": d[:, 2].mean(),
                     "CC (worst image)": d[:, 2].min(), "same peak cell": d[:, 3].mean()})
    return pd.DataFrame(rows)


def psi_sources(ds, i: int):
    """Ψ of one image from the three point sets ``TrainConfig.gaze_points`` offers: the maps,
    and their CC with the default (raw samples)."""
    from .data import EGDCXR

    kinds = {"raw samples (default)": dict(gaze="eye_gaze"),
             "fixations": dict(gaze="fixations"),
             "fixations × duration": dict(gaze="fixations", weighting="duration")}
    maps = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the reader's drop report
        for name, kw in kinds.items():
            other = EGDCXR(ds.egd_root, ds.mimic_root, grid_shape=ds.grid_shape, progress=False,
                           **ds.blur, **kw)
            maps[name] = other.gaze_map(i)
    fig = figure(6.4, 2.8)
    with mpl.rc_context(STYLE):
        axes = fig.subplots(1, 3)
        for ax, (name, m) in zip(axes, maps.items()):
            _show_map(ax, m, name)
    ref = maps["raw samples (default)"].ravel()
    table = pd.DataFrame([{"Ψ from": k, "CC with raw samples": float(np.corrcoef(m.ravel(), ref)[0, 1])}
                          for k, m in maps.items()])
    return fig, table


def receptive_field_centres(archs=("resnet50", "efficientnet_v2_s", "resnet18", "efficientnet_b0"),
                            cells=((4, 3), (6, 5)), input_shape=(320, 256), seed: int = 0) -> pd.DataFrame:
    """Where Ω cell (i, j) looks, measured: the centre of mass of |∂Ω_ij / ∂x| over the input
    pixels (random weights and input), beside the two rules of ``ggcam.geometry``:
    receptive-field (cell centred on input pixel (s·i, s·j)) and block ((s·i + s/2, ...)).
    Distances in input pixels; pixel p spans [p, p + 1)."""
    import torch

    from .cam import build_model

    rows = []
    h, w = input_shape
    rr, cc = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing="ij")
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for arch in archs:
            model = build_model(arch).eval()
            for i, j in cells:
                x = torch.randn(1, 3, h, w, requires_grad=True)
                _, cams = model.forward_cams(x)
                cams[0, 0, i, j].backward()
                g = x.grad.abs().sum(dim=(0, 1)).double()
                r, c = float((g * rr).sum() / g.sum()), float((g * cc).sum() / g.sum())
                rf, block = (STRIDE * i, STRIDE * j), (STRIDE * i + STRIDE / 2, STRIDE * j + STRIDE / 2)
                rows.append({"network": NETWORK_LABELS.get(arch, arch), "cell (i, j)": f"({i}, {j})",
                             "measured row": r, "measured col": c,
                             "receptive-field rule": f"({rf[0]}, {rf[1]})",
                             "block rule": f"({block[0]:g}, {block[1]:g})",
                             "distance to receptive-field rule": float(np.hypot(r - rf[0], c - rf[1])),
                             "distance to block rule": float(np.hypot(r - block[0], c - block[1]))})
    return pd.DataFrame(rows)


def alignment_effect(ds, grids=((48, 40), (6, 5)), kernel_size: int = 500) -> pd.DataFrame:
    """What the half-cell shift between the two alignments does, over the CHF and pneumonia
    images of ``ds`` (full-resolution masks and gaze, each grid):

    * the share of Ω cells in the eq. 12 region (heart for CHF, lungs for pneumonia), and the
      share of cells whose membership differs between the rules;
    * eq. 12 applied to the radiologist's own map: Ψ's peak in the region, with Ψ and the
      mask on the same rule, and with Ψ on receptive-field cells but the mask on blocks (the
      mismatch the old code had);
    * CC between Ψ computed on the two rules.
    """
    from .data.masks import to_grid
    from .gaze import gaze_heatmap

    rows = []
    for grid in grids:
        per = []
        for i in np.flatnonzero(ds.labels > 0):
            xy = ds.gaze_points(i)[["x", "y"]].to_numpy()
            if len(xy) == 0:
                continue
            shape = ds.image_shape(i)
            region = ds.full_masks(i)["heart" if ds.labels[i] == 1 else "lung"]
            mask = {a: to_grid(region, grid_geometry(shape, grid, a)) for a in ("receptive-field", "block")}
            psi = {a: gaze_heatmap(xy, shape, grid, kernel_size=kernel_size, align=a)
                   for a in ("receptive-field", "block")}
            peak = {a: np.unravel_index(np.argmax(psi[a]), grid) for a in psi}
            per.append((mask["receptive-field"].mean(), mask["block"].mean(),
                        (mask["receptive-field"] != mask["block"]).mean(),
                        mask["receptive-field"][peak["receptive-field"]],
                        mask["block"][peak["block"]], mask["block"][peak["receptive-field"]],
                        np.corrcoef(psi["receptive-field"].ravel(), psi["block"].ravel())[0, 1]))
        d = np.array(per, dtype=float)
        rows.append({"grid (h×w)": f"{grid[0]}×{grid[1]}", "images": len(d),
                     "cells in region (receptive-field)": d[:, 0].mean(),
                     "cells in region (block)": d[:, 1].mean(),
                     "cells that change side": d[:, 2].mean(),
                     "Ψ peak in region (both receptive-field)": d[:, 3].mean(),
                     "Ψ peak in region (both block)": d[:, 4].mean(),
                     "Ψ peak in region (Ψ receptive-field, mask block)": d[:, 5].mean(),
                     "CC(Ψ receptive-field, Ψ block)": d[:, 6].mean()})
    return pd.DataFrame(rows)


# ---- page 04: the CAM layer and Figure 2 -------------------------------------------------------


def cam_equivalence(archs=("resnet50", "efficientnet_v2_s"), input_side: int = 64,
                    seed: int = 0) -> pd.DataFrame:
    """torchvision's GAP + Linear against the same network with ``CAMHead`` (float64, random
    weights and images): parameter counts, the largest logit difference, the shape of Ω."""
    import torch
    from torchvision import models

    from .cam import to_cam_model

    rows = []
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for arch in archs:
            tv = models.get_model(arch, weights=None, num_classes=3).eval().double()
            cam_model = to_cam_model(tv).eval()
            x = torch.rand(2, 3, input_side, input_side, dtype=torch.float64)
            with torch.no_grad():
                y_tv = tv(x)
                y_cam, omega = cam_model.forward_cams(x)
            rows.append({"network": NETWORK_LABELS.get(arch, arch),
                         "parameters (torchvision)": sum(p.numel() for p in tv.parameters()),
                         "parameters (CAM model)": sum(p.numel() for p in cam_model.parameters()),
                         "max |Δ logit|": float((y_tv - y_cam).abs().max()),
                         "Ω shape (K×h×w)": "×".join(map(str, omega.shape[1:]))})
    return pd.DataFrame(rows)


def omega_edges() -> np.ndarray:
    """Figure 2's fixed bins: symmetric, logarithmic from 10⁻³ to 10⁵, one bin across 0."""
    pos = np.logspace(-3, 5, 97)
    return np.concatenate([-pos[::-1], pos])


def omega_figure(hist: pd.DataFrame):
    """Figure 2 (``plots.omega_distribution``), or a note when the store has no maps yet."""
    from . import plots

    if hist.empty:
        return _note("No trained run in the store yet: Figure 2 appears after the first run.")
    return plots.omega_distribution(hist)


# ---- page 05: training -------------------------------------------------------------------------


def config_table(config) -> pd.DataFrame:
    """A ``TrainConfig`` as a two-column table (floats to 3 significant digits)."""
    from .report import number

    return pd.DataFrame({"field": list(config.to_dict()),
                         "value": [number(v) if isinstance(v, float) else str(v)
                                   for v in config.to_dict().values()]})


def training_figure(curves: pd.DataFrame, run_id: str):
    """One run's curves (``plots.training_curves``), or a note."""
    from . import plots

    one = curves[curves["run_id"] == run_id] if "run_id" in curves else curves.iloc[:0]
    if one.empty:
        return _note(f"No curves for run {run_id}.")
    return plots.training_curves(one.drop(columns=["network", "variant", "seed"], errors="ignore"))


def sigma_figure(curves: pd.DataFrame):
    """σ_sm of every GG-CAM run of the store (``plots.sigma_trajectories``), or a note."""
    from . import plots

    if curves.empty or "sigma_sm" not in curves or curves["sigma_sm"].notna().sum() == 0:
        return _note("No GG-CAM run in the store yet.")
    return plots.sigma_trajectories(curves)


# ---- pages 06-07: results figures --------------------------------------------------------------


def paper_medians(runs: pd.DataFrame, arms=("ggcam", "ggcam-warm")) -> dict:
    """``plots.metric_boxplots``'s reference marks for our networks: the paper's median AUC of
    the network's family (ResNet50, EffNetV2-S; real data) beside our standard box and beside
    each GG-CAM arm in ``arms``."""
    from .paper_values import PAPER_MEDIAN_AUC

    marks = {}
    for network in pd.unique(runs["network"]) if len(runs) else []:
        fam = FAMILY_OF.get(network, network)
        if (fam, "standard") in PAPER_MEDIAN_AUC:
            marks[(network, "standard")] = PAPER_MEDIAN_AUC[(fam, "standard")]
            marks |= {(network, a): PAPER_MEDIAN_AUC[(fam, "ggcam")] for a in arms}
    return {"auc_ovo": marks}


def figure3(runs: pd.DataFrame, metrics, variants, paper: dict | None = None):
    """Figure 3 panels (``plots.metric_boxplots``) for the ``variants`` present, or a note."""
    from . import plots

    present = [v for v in variants if len(runs) and v in set(runs["variant"])]
    if len(present) < 1 or runs[runs["variant"].isin(present)][list(metrics)].notna().sum().sum() == 0:
        return _note(f"No runs of {', '.join(variants)} with these metrics yet.")
    missing = [v for v in variants if v not in present]
    fig = plots.metric_boxplots(runs, list(metrics), variants=present, paper_medians=paper)
    if missing:
        fig.suptitle(f"not run yet: {', '.join(missing)}", fontsize=10)
    return fig


def table3_figure(examples: dict, networks=None, variants=None):
    """Table 3 (``plots.table3``) from the store's examples, or a note (no examples yet, or
    real data, whose results never hold images)."""
    from . import plots
    from .data import CLASS_NAMES

    if not examples:
        return _note("No Table 3 examples in the store yet.")
    if "image" not in next(iter(examples.values())):
        return _note("These results hold no images (credentialed data): Table 3 is not shown.")
    keys = [k for k in examples if (networks is None or k[0] in networks)
            and (variants is None or k[1] in variants)]
    if not keys:
        return _note("No Table 3 examples of these arms yet.")
    return plots.table3({k: examples[k] for k in keys}, CLASS_NAMES)


# ---- page 07: CAM methods side by side ----------------------------------------------------------


def explain_model(work_dir, network: str = "resnet18", variant: str = "ggcam-warm",
                  seed: int = 0, n_images: int = 300, input_shape=(128, 96), epochs: int = 8,
                  lr: float = 1e-3, threads: int = 1):
    """Train a small CAM network on a small phantom, for the CAM-method comparisons.

    The sweep keeps no weights in ``results/`` (and none are committed), so the page trains
    its own: ``n_images`` phantom images at ``input_shape``, the profile machinery of the
    sweep (``ProfileData``, ``run_config``, the paper's split) and ``ggcam.train.fit``.

    Returns:
        (model, test set, {"test AUC": ..., "epochs": ..., "seconds": ...}).
    """
    from .config import RunOptions
    from .data import split
    from .experiment.controls import with_gaze_source
    from .experiment.profiles import Arm, Profile, RunSpec, run_config
    from .experiment.sweep import ProfileData
    from .metrics import auc
    from .runtime import seed_everything
    from .train import fit, make_loss, make_model

    t0 = time.perf_counter()
    prof = Profile("book-explain", "phantom", n_images=n_images,
                   scale=input_shape[0] / 3072, input_shape=tuple(input_shape),
                   arms=(Arm(variant, (network,), (seed,)),), primary=("standard", variant),
                   max_epochs=epochs, early_stop_patience=epochs, batch_size=16,
                   split_fractions=(0.5, 0.1), lr=lr, options=RunOptions(threads=threads))
    data = ProfileData(prof, None, Path(work_dir), progress=False)
    config, options = run_config(prof, RunSpec(prof.name, network, variant, seed))
    dataset = data(config)
    parts = split(dataset.metadata, "paper", seed=seed, fractions=prof.split_fractions)
    train, val, test = (dataset.subset(parts[k]) for k in ("train", "val", "test"))
    train, val = with_gaze_source(train, val, config.gaze_source, seed)
    seed_everything(seed)
    model, loss_fn = make_model(config), make_loss(config)
    result = fit(model, loss_fn, train, val, config, options=options, progress=False)
    from .evaluate import evaluate

    ev = evaluate(model, test, options=options)
    info = {"network": NETWORK_LABELS.get(network, network), "arm": variant,
            "input": f"{input_shape[0]}×{input_shape[1]}", "train images": len(train),
            "test images": len(test), "epochs": result.epochs,
            "test AUC": float(auc(ev.labels, ev.logits, multi_class="ovo", from_logits=True)),
            "seconds": time.perf_counter() - t0}
    return model.eval(), test, info


def _test_batch(test, per_class: int = 1):
    """One (or ``per_class``) test image(s) of each class with gaze: input x, labels, Ψ."""
    import torch

    labels = np.array([int(test[i]["label"]) for i in range(len(test))])
    gaze = np.array([bool(test[i]["has_gaze"]) for i in range(len(test))])
    rows = [int(r) for c in range(3) for r in np.flatnonzero((labels == c) & gaze)[:per_class]]
    items = [test[r] for r in rows]
    x = torch.stack([it["image"] for it in items]).expand(-1, 3, -1, -1).contiguous()
    return x, np.array([int(it["label"]) for it in items]), np.stack([it["gaze"].numpy() for it in items])


def cam_methods(model, test, methods=("native", "gradcam", "hirescam", "ablationcam"),
                per_class: int = 1) -> dict:
    """Maps of each CAM method for the true class of one test image per class (``explain_maps``),
    with the inputs, labels and Ψ they belong to."""
    from .explain import explain_maps

    x, y, psi = _test_batch(test, per_class)
    return {"x": x, "labels": y, "psi": psi, "maps": explain_maps(model, x, y, methods=methods)}


def cam_methods_figure(result: dict) -> Figure:
    """Rows: Ψ, then each method; columns: the images. Each map min-max scaled on its own
    (viridis: yellow high, dark purple low) over the input image."""
    from .data import CLASS_NAMES
    from .plots_maps import attention_grid

    images = [list(result["x"][:, 0].numpy())] * (1 + len(result["maps"]))
    maps = [list(result["psi"])] + [list(m) for m in result["maps"].values()]
    names = {"native": "native $\\Omega^Y$", "gradcam": "Grad-CAM", "hirescam": "HiResCAM",
             "ablationcam": "AblationCAM"}
    labels = ["Ψ (gaze)"] + [names.get(k, k) for k in result["maps"]]
    return attention_grid(images, maps, labels, [CLASS_NAMES[int(c)] for c in result["labels"]])


def road_table(model, result: dict, percentiles=(20, 50, 80)) -> pd.DataFrame:
    """ROAD (``explain.road``) of each method's maps, per image and their mean; higher is
    more faithful, a constant map scores about 0. Native Ω^Y is ReLU'd and min-max scaled
    like the library's maps first."""
    from .data import CLASS_NAMES
    from .explain import road

    rows = []
    for name, maps in result["maps"].items():
        m = np.maximum(maps, 0) if name == "native" else maps
        scores = road(model, result["x"], m, result["labels"], percentiles=percentiles)
        rows.append({"method": name, **{CLASS_NAMES[int(c)]: s for c, s in zip(result["labels"], scores)},
                     "mean": float(np.mean(scores))})
    rows.append({"method": "constant map (reference)",
                 **dict(zip([CLASS_NAMES[int(c)] for c in result["labels"]],
                            road(model, result["x"], np.ones_like(result["psi"]), result["labels"],
                                 percentiles=percentiles)))})
    table = pd.DataFrame(rows)
    table.loc[table.index[-1], "mean"] = table.iloc[-1, 1:-1].astype(float).mean()
    return table


def randomisation_table(model, result: dict) -> pd.DataFrame:
    """Spearman ρ between the trained Ω^Y and Ω^Y after re-initialising the head, then also
    the last block (``explain.randomization_check``): near 1 would fail the sanity check."""
    from .data import CLASS_NAMES
    from .explain import randomization_check

    rho = randomization_check(model, result["x"], result["labels"])
    return pd.DataFrame([{"randomised": k, **{CLASS_NAMES[int(c)]: r for c, r in zip(result["labels"], v)}}
                         for k, v in rho.items()])


# ---- page 08: the released code ----------------------------------------------------------------


def released_behaviours() -> pd.DataFrame:
    """Every behaviour of the released code that changes training, and whether the
    ``ggcam-legacy`` arm reproduces it (docs: released-code.md; ``ggcam.config.RELEASED``)."""
    rows = [
        ("Ω = (1/F) Σ_k Λ_ck A_k, the mean over channels", "yes", "cam_reduction='mean'"),
        ("the Normal-class map Ω⁰ against Ψ for every label (int() of a sigmoid is 0)", "yes",
         "GGCAMLoss(mode='legacy')"),
        ("raw Ω against Ψ ∈ [0, 1], no sigmoid", "yes", "GGCAMLoss(mode='legacy')"),
        ("α never gets a gradient (frozen at 1)", "yes", "GGCAMLoss(mode='legacy')"),
        ("σ_sm₀ = e^−23 (ResNet), e^−16 (EffNet); σ_ce₀ = e^7", "yes", "ggcam.config.RELEASED"),
        ("lr 5e-3, P = 40 (ResNet); lr 6e-3, P = 40 (EffNet)",
         "P yes; lr yes where the profile keeps Table 1's", "the cpu profile sets one lr for every arm"),
        ("blur B = 500 for both networks (OpenCV kernel size, σ ≈ 75.5 px)", "yes",
         "kernel_size=500 (scaled with the phantom)"),
        ("ReduceLROnPlateau and the checkpoint on the validation total loss", "yes",
         "checkpoint_criterion='val_loss'"),
        ("the best weights reloaded at each learning-rate drop", "yes",
         "reload_best_on_lr_drop=True"),
        ("no input normalisation: grey image / its maximum, copied to 3 channels", "yes",
         "the cache and batch_inputs"),
        ("its own ResNet50-like (no max-pool, conv biases) and EffNetV2-S port (1792 channels)",
         "no", "torchvision networks, so every arm shares one backbone"),
        ("batch 4, up to 1024 epochs or 23.5 h, stop after 83 epochs without improvement",
         "no", "the profile's batch and epoch cap (sized to its machine)"),
        ("no seeds", "no", "every run is seeded: arms are paired by seed"),
        ("fraction = 0.01 left in the split code (1% of each split)", "no",
         "a leftover that would train on a handful of images"),
        ("landscape images cropped, not rotated", "no",
         "every image is centre-padded onto the grid by one rule (ggcam.geometry), kept whole"),
        ("split per class in file order, 70/10/20", "no (an option: split(..., 'released'))",
         "the sweep uses the paper's random split, seeded"),
    ]
    return pd.DataFrame(rows, columns=["released code", "ggcam-legacy reproduces it", "how, or why not"])


# ---- page 01: the method in one figure ---------------------------------------------------------


def method_figure() -> Figure:
    """GG-CAM in one picture, drawn for a narrow column (4.6 in wide, so its text stays
    readable on a phone): the classifier with its CAM layer on the left, the gaze heat map Ψ
    (used only while training) on the right, the paper's equation numbers on every box."""
    left, right = 0.27, 0.7
    boxes = {  # name: (x, y, text, kind); axes coordinates of the centres
        "x": (left, 0.94, "chest X-ray $I$\n$H_0 \\times W_0$ pixels", "net"),
        "A": (left, 0.79, "CNN backbone\nfeatures $A$, $G \\times h \\times w$", "net"),
        "cam": (left, 0.64, "CAM layer (eq. 4)\n$\\Omega_c = \\Sigma_k\\,\\Lambda_{ck} A_k$", "net"),
        "y": (left, 0.46, "logits (eq. 5–6)\n$y_c = \\bar{\\Omega}^c + \\lambda_c$", "net"),
        "ce": (left, 0.28, "cross-entropy\n$\\mathcal{L}_{ce}$ (eq. 7)", "loss"),
        "gaze": (right, 0.94, "radiologist's\ngaze $E_{1:M}$", "gaze"),
        "psi": (right, 0.79, "Algorithm 1\nheat map $\\Psi$", "gaze"),
        "sig": (right, 0.55, "true class $Y$ (eq. 10)\n$\\mathrm{sigmoid}(\\alpha\\Omega^Y)$", "net"),
        "sm": (right, 0.28, "selective MSE\n$\\mathcal{L}_{sm}$ (eq. 9)", "loss"),
        "L": (0.5, 0.08, "balanced loss (eq. 11)\ntrained $\\sigma_{sm}$, $\\sigma_{ce}$", "loss"),
    }
    style = {"net": ("#f4f6fb", "#34495e"), "gaze": ("#fff4e6", "#d35400"),
             "loss": ("#eafaf1", "#1e8449")}
    arrows = [((left, 0.9), (left, 0.835)), ((left, 0.745), (left, 0.685)),
              ((left, 0.595), (left, 0.505)), ((left, 0.415), (left, 0.325)),
              ((right, 0.9), (right, 0.835)), ((0.44, 0.63), (right - 0.18, 0.575)),
              ((right, 0.505), (right, 0.325)), ((left, 0.235), (0.4, 0.125)),
              ((right, 0.235), (0.6, 0.125))]
    fig = figure(4.6, 6.2)
    with mpl.rc_context(STYLE):
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.axis("off")
        for x, y, text, kind in boxes.values():
            face, edge = style[kind]
            ax.text(x, y, text, ha="center", va="center", fontsize=11, linespacing=1.5,
                    bbox={"boxstyle": "round,pad=0.4", "fc": face, "ec": edge})
        for start, end in arrows:
            ax.annotate("", xy=end, xytext=start,
                        arrowprops={"arrowstyle": "-|>", "color": "#333", "lw": 1.2})
        # Ψ to the selective MSE, around the right of the sigmoid box
        ax.annotate("", xy=(right + 0.13, 0.3), xytext=(right + 0.13, 0.77),
                    arrowprops={"arrowstyle": "-|>", "color": "#d35400", "lw": 1.2,
                                "connectionstyle": "bar,fraction=-0.25"})
        ax.text(right, 0.685, "training only", ha="center", va="center", fontsize=10,
                color="#d35400", style="italic")
    return fig


def phantom_sizes(n_images: int, scale: float, seed: int = 0) -> list[tuple[int, int]]:
    """The image sizes (H0, W0) a phantom of these parameters has, most frequent first
    (from ``make_phantom``'s case specs; nothing is generated)."""
    from .data.phantom import case_specs

    shapes = pd.Series([s.shape for s in case_specs(n_images, scale, seed)])
    return list(shapes.value_counts().index)


def paper_vs_code() -> pd.DataFrame:
    """The paper against the released code, item by item, with the values of each from
    ``ggcam.config`` (TABLE1, RELEASED) and the option that selects each here."""
    import math

    from .config import RELEASED, TABLE1
    from .gaze import sigma_from_kernel_size
    from .report import number

    def ln(x):
        return f"e^{round(math.log(x)):d} ≈ {number(x)}"

    t1r, t1e = TABLE1[("resnet50", "ggcam")], TABLE1[("efficientnet_v2_s", "ggcam")]
    rr, re_ = RELEASED["resnet50"], RELEASED["efficientnet_v2_s"]
    rows = [
        ("supervised map", "Ω^Y of the true class (eq. 9)",
         "always Ω⁰ (Normal): int(sigmoid(label·α)) is 0 for every label", "mode='paper' | 'legacy'"),
        ("squashing", "Sigmoid(αΩ^Y), α trainable (eq. 10)",
         "raw Ω against Ψ in [0, 1]; α gets no gradient", "the same switch"),
        ("Ω", "Σ_k Λ_ck A_k (eq. 4)", "the mean over the F channels", "cam_reduction='sum' | 'mean'"),
        ("initial σ_sm (ResNet, EffNet)", f"{number(t1r['sigma_sm'])}, {number(t1e['sigma_sm'])} (Table 1)",
         f"{ln(rr['sigma_sm'])}, {ln(re_['sigma_sm'])}", "ggcam-legacy takes the code's"),
        ("initial σ_ce", "1 (section 3.4)", ln(rr["sigma_ce"]), "ggcam-legacy takes the code's"),
        ("learning rate, P (ResNet)", f"{number(t1r['lr'])}, {t1r['plateau_patience']}",
         f"{number(rr['lr'])}, {rr['plateau_patience']}", "Table 1 by default"),
        ("learning rate, P (EffNet)", f"{number(t1e['lr'])}, {t1e['plateau_patience']}",
         f"{number(re_['lr'])}, {re_['plateau_patience']}", "Table 1 by default"),
        ("blur B (ResNet, EffNet)", f"{t1r['kernel_size']}, {t1e['kernel_size']}: a standard deviation",
         f"{rr['kernel_size']} for both: OpenCV's kernel size (σ = "
         f"{number(sigma_from_kernel_size(rr['kernel_size']))} px)", "kernel_size=B or sigma="),
        ("resampling", "Resample", "centre-pad, keep every c-th canvas pixel",
         "resample='area' (exact) | 'stride'"),
        ("interpretability", "the peak in the region (eq. 12)",
         "any cell of the peak's 3×3 neighbourhood in the region", "both reported"),
        ("split", "random 70/10/20 per class", "file order 70/10/20 per class",
         "split(..., 'paper' | 'released')"),
    ]
    return pd.DataFrame(rows, columns=["", "the paper", "the released code", "here"])
