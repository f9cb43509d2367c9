"""Page 07, CAM methods side by side: a demonstration network trained in seconds for the page
(through the study's ``run_one``), each method's maps, ROAD and the randomisation sanity
check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ggcam.study import NETWORK_LABELS


def _stage(progress: bool, line: str) -> None:
    """A long cell says what it is doing (in the notebook, and in the build's log)."""
    if progress:
        print(line, flush=True)


def explain_model(work_dir, network: str = "resnet18", variant: str = "ggcam-warm",
                  seed: int = 0, n_images: int = 300, input_shape=(128, 96), epochs: int = 6,
                  threads: int = 2, progress: bool = True):
    """The page's demonstration network: one small run trained in seconds for the CAM-method
    comparisons, through the study's one train-one-run path (``run_one``).

    The sweep keeps no weights in ``results/`` (and none are committed), so the page trains
    its own: ``n_images`` phantom images at ``input_shape`` re-split 50/10/40 with ``seed``,
    Table 1's values for the arm, Adam at 10⁻³, batch 16, ``epochs`` epochs. Its record,
    predictions and checkpoints go to a scratch store under ``work_dir`` (emptied first, so
    every build trains afresh); the phantom and its cache are made once and kept there.
    With ``progress``, one line per stage is printed (phantom, training, test).

    Returns:
        (model with the checkpoint's weights, in eval mode; its test set; {"network", "arm",
        "input", "train images", "test images", "epochs", "best epoch", "test AUC",
        "AUC low", "AUC high", "learned", "learned because"}).
    """
    import shutil

    from ggcam.checkpoint import load_checkpoint
    from ggcam.config import RunOptions
    from ggcam.experiment import Arm, Profile, ResultsStore, RunSpec, run_config
    from ggcam.experiment.data import ProfileData
    from ggcam.experiment.run import run_one
    from ggcam.train import make_model
    from ggcam.viz.report import number

    work, (h, w) = Path(work_dir), input_shape
    label = NETWORK_LABELS.get(network, network)
    prof = Profile("book-explain", "phantom", n_images=n_images, scale=h / 3072,
                   input_shape=(h, w), arms=(Arm(variant, (network,), (seed,)),),
                   primary=("standard", variant), max_epochs=epochs, early_stop_patience=epochs,
                   batch_size=16, split_fractions=(0.5, 0.1), lr=1e-3,
                   options=RunOptions(threads=threads))
    spec = RunSpec(prof.name, network, variant, seed)
    _stage(progress, f"phantom: {n_images} images at {h}×{w} (generated on first use, then cached)")
    data = ProfileData(prof, None, work, progress=False)
    scratch = work / "demonstration-run"
    shutil.rmtree(scratch, ignore_errors=True)
    _stage(progress, f"training {label} `{variant}` for {epochs} epochs (ggcam.experiment.run.run_one) …")
    record = run_one(spec, prof, data, ResultsStore(scratch / "results" / prof.name),
                     scratch / "checkpoints", progress=False)
    _stage(progress, f"tested on {record.n_test} images: AUC {number(record.auc_ovo)} (95% CI "
                     f"{number(record.auc_ovo_low)}–{number(record.auc_ovo_high)}), best epoch "
                     f"{record.best_epoch}; learned: {'yes' if record.learned else 'no'}")
    config, _ = run_config(prof, spec)
    model = make_model(config)
    model.load_state_dict(load_checkpoint(scratch / "checkpoints" / spec.run_id / "best.pt")["model"])
    info = {"network": label, "arm": variant, "input": f"{h}×{w}", "train images": record.n_train,
            "test images": record.n_test, "epochs": record.epochs, "best epoch": record.best_epoch,
            "test AUC": record.auc_ovo, "AUC low": record.auc_ovo_low,
            "AUC high": record.auc_ovo_high, "learned": record.learned,
            "learned because": record.learned_reason}
    return model.eval(), data.sets(spec, config).test, info


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
    from ggcam.metrics.explain import explain_maps

    x, y, psi = _test_batch(test, per_class)
    return {"x": x, "labels": y, "psi": psi, "maps": explain_maps(model, x, y, methods=methods)}


METHOD_NAMES = {"native": "native Ωʸ", "gradcam": "Grad-CAM", "hirescam": "HiResCAM",
                "ablationcam": "AblationCAM"}  # how tables name the methods of explain_maps
RANDOMISED = {"head": "the CAM head", "head+last_block": "head and last block"}


def cam_methods_figure(result: dict) -> Figure:
    """Rows: Ψ, then each method; columns: the images. Each map min-max scaled on its own
    (viridis: yellow high, dark purple low) over the input image."""
    from ggcam.data import CLASS_NAMES
    from ggcam.viz.maps import attention_grid

    images = [list(result["x"][:, 0].numpy())] * (1 + len(result["maps"]))
    maps = [list(result["psi"])] + [list(m) for m in result["maps"].values()]
    names = {"native": "native $\\Omega^Y$", "gradcam": "Grad-CAM", "hirescam": "HiResCAM",
             "ablationcam": "AblationCAM"}
    labels = ["Ψ (gaze)"] + [names.get(k, k) for k in result["maps"]]
    return attention_grid(images, maps, labels, [CLASS_NAMES[int(c)] for c in result["labels"]])


def _min_max(maps: np.ndarray) -> np.ndarray:
    """Each (h, w) map shifted to 0 and divided by its maximum, as pytorch-grad-cam scales."""
    m = maps - maps.min(axis=(-2, -1), keepdims=True)
    return m / (1e-7 + m.max(axis=(-2, -1), keepdims=True))


def road_table(model, result: dict, percentiles=(20, 50, 80)) -> pd.DataFrame:
    """ROAD (``explain.road``) of each method's maps, per image and their mean; higher is
    more faithful, a constant map scores about 0. Native Ω^Y is ReLU'd and min-max scaled
    like the library's maps first. ROAD depends on a map only through its ranking of the
    pixels, so a map equal (to 10⁻⁵ after scaling) to one already scored takes that score
    instead of repeating the imputations: on a CAM layer Grad-CAM and HiResCAM equal the
    native map's ReLU (``ggcam.metrics.explain``), and ROAD is the slow part of the page."""
    from ggcam.data import CLASS_NAMES
    from ggcam.metrics.explain import road

    names = [CLASS_NAMES[int(c)] for c in result["labels"]]
    scored: list[tuple[np.ndarray, np.ndarray]] = []
    rows = []
    for name, maps in result["maps"].items():
        m = _min_max(np.maximum(maps, 0))
        same = [s for done, s in scored if np.allclose(done, m, rtol=0, atol=1e-5)]
        scores = same[0] if same else road(model, result["x"], m, result["labels"],
                                           percentiles=percentiles)
        scored.append((m, scores))
        rows.append({"method": METHOD_NAMES.get(name, name), **dict(zip(names, scores)),
                     "mean": float(np.mean(scores))})
    constant = road(model, result["x"], np.ones_like(result["psi"]), result["labels"],
                    percentiles=percentiles)
    rows.append({"method": "constant map (reference)", **dict(zip(names, constant)),
                 "mean": float(np.mean(constant))})
    return pd.DataFrame(rows)


def randomisation_table(model, result: dict) -> pd.DataFrame:
    """Spearman ρ between the trained Ω^Y and Ω^Y after re-initialising the head, then also
    the last block (``explain.randomization_check``): near 1 would fail the sanity check."""
    from ggcam.data import CLASS_NAMES
    from ggcam.metrics.explain import randomization_check

    rho = randomization_check(model, result["x"], result["labels"])
    return pd.DataFrame([{"randomised": RANDOMISED.get(k, k),
                          **{CLASS_NAMES[int(c)]: r for c, r in zip(result["labels"], v)}}
                         for k, v in rho.items()])
