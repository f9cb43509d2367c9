"""Page 07, CAM methods side by side: a small network trained for the page, each method's
maps, ROAD and the randomisation sanity check."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ggcam.config import NETWORK_LABELS


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
    from ggcam.config import RunOptions
    from ggcam.data import split
    from ggcam.experiment.controls import with_gaze_source
    from ggcam.experiment.profiles import Arm, Profile, RunSpec, run_config
    from ggcam.experiment.sweep import ProfileData
    from ggcam.metrics.classification import auc
    from ggcam.runtime import seed_everything
    from ggcam.train import fit, make_loss, make_model

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
    from ggcam.evaluate import evaluate

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
    from ggcam.metrics.explain import explain_maps

    x, y, psi = _test_batch(test, per_class)
    return {"x": x, "labels": y, "psi": psi, "maps": explain_maps(model, x, y, methods=methods)}


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


def road_table(model, result: dict, percentiles=(20, 50, 80)) -> pd.DataFrame:
    """ROAD (``explain.road``) of each method's maps, per image and their mean; higher is
    more faithful, a constant map scores about 0. Native Ω^Y is ReLU'd and min-max scaled
    like the library's maps first."""
    from ggcam.data import CLASS_NAMES
    from ggcam.metrics.explain import road

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
    from ggcam.data import CLASS_NAMES
    from ggcam.metrics.explain import randomization_check

    rho = randomization_check(model, result["x"], result["labels"])
    return pd.DataFrame([{"randomised": k, **{CLASS_NAMES[int(c)]: r for c, r in zip(result["labels"], v)}}
                         for k, v in rho.items()])
