"""Pages 04-07: the CAM layer against torchvision's head, and the figures drawn from a results
store (Figure 2, training curves, Figure 3, Table 3), each a figure or a note saying what is
missing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ggcam.study import FAMILY_OF, NETWORK_LABELS
from ggcam.viz.figures.common import note

# ---- page 04: the CAM layer and Figure 2 -------------------------------------------------------


def cam_equivalence(archs=("resnet50", "efficientnet_v2_s"), input_side: int = 64,
                    seed: int = 0) -> pd.DataFrame:
    """torchvision's GAP + Linear against the same network with ``CAMHead`` (float64, random
    weights and images): parameter counts, the largest logit difference, the shape of Ω."""
    import torch
    from torchvision import models

    from ggcam.cam import to_cam_model

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
    from ggcam.viz import paper_figures as plots

    if hist.empty:
        return note("No trained run in the store yet: Figure 2 appears after the first run.")
    return plots.omega_distribution(hist)


# ---- page 05: training -------------------------------------------------------------------------


def config_table(config) -> pd.DataFrame:
    """A ``TrainConfig`` as a two-column table (floats to 3 significant digits)."""
    from ggcam.viz.report import number

    return pd.DataFrame({"field": list(config.to_dict()),
                         "value": [number(v) if isinstance(v, float) else str(v)
                                   for v in config.to_dict().values()]})


def stored_run_config(store, spec):
    """The ``TrainConfig`` a stored run trained (``config_table``): ``run_config`` of the
    store's profile, checked against the config hash in the run's record; a note when the run
    is not in the store or the profile now gives another configuration."""
    from ggcam.experiment import get_profile, run_config

    record = store.record(spec.run_id)
    if record is None:
        return note(f"Run {spec.run_id} is not in the {store.profile} results.")
    config, _ = run_config(get_profile(store.profile), spec)
    if config.hash() != record.config_hash:
        return note(f"Profile {store.profile} now gives another configuration than run "
                     f"{spec.run_id} trained (config hash {record.config_hash}).")
    return config_table(config)


def run_facts(store, run_id: str) -> dict[str, str]:
    """What the page says about one stored run, as text: epochs, best epoch, test AUC and its
    95% interval, learned, training minutes and threads ("–" where the run is missing)."""
    from ggcam.viz.report import MISSING, number

    record = store.record(run_id)
    if record is None:
        return dict.fromkeys(("epochs", "best epoch", "test AUC", "AUC low", "AUC high",
                              "learned", "minutes", "threads"), MISSING)
    return {"epochs": number(record.epochs), "best epoch": number(record.best_epoch),
            "test AUC": number(record.auc_ovo), "AUC low": number(record.auc_ovo_low),
            "AUC high": number(record.auc_ovo_high), "learned": "yes" if record.learned else "no",
            "minutes": number(record.wall_s / 60, 2), "threads": number(record.threads)}


def train_commands(profile: str, spec) -> str:
    """Markdown: the commands that retrain a stored run (``ggcam rerun``, which compares the
    test logits with the stored ones bit for bit) and train it, or a one-minute smoke run,
    into a results folder of one's own."""
    own = "--results /tmp/ggcam-results --work /tmp/ggcam-work"
    return ("```bash\n"
            f"ggcam rerun {spec.run_id} --profile {profile}\n"
            f"ggcam train --profile {profile} --network {spec.network} --variant {spec.variant} "
            f"--seed {spec.seed} {own}\n"
            f"ggcam train --profile smoke --variant {spec.variant} {own}\n"
            "```\n")


def rerun_audits(store) -> str:
    """Markdown: the runs of ``store`` that ``ggcam rerun`` retrained at a later commit (its
    ``reruns.csv``) and whether their test logits came out bit-identical, or that none has been."""
    from ggcam.experiment.store_reruns import recorded_reruns

    audits = recorded_reruns(store)
    if audits.empty:
        return (f"No run of the `{store.profile}` sweep has been retrained with `ggcam rerun` "
                "and recorded yet.")
    lines = []
    for a in audits.itertuples():
        outcome = ("**bit-identical test logits**" if a.identical else
                   f"**different test logits** (largest difference {a.max_abs_diff:.3g})")
        lines.append(f"- `{a.run_id}`: trained at `{a.commit_then}`, retrained at `{a.commit_now}` "
                     f"on {a.checked_utc[:10]}: {outcome}; test AUC {a.auc_then:.6f} then, "
                     f"{a.auc_now:.6f} now.")
    same = int(audits["identical"].sum())
    return (f"Retrained with `ggcam rerun` ({same} of {len(audits)} with identical logits):\n\n"
            + "\n".join(lines) + "\n")


def training_figure(curves: pd.DataFrame, run_id: str):
    """One run's curves (``plots.training_curves``), or a note."""
    from ggcam.viz import paper_figures as plots

    one = curves[curves["run_id"] == run_id] if "run_id" in curves else curves.iloc[:0]
    if one.empty:
        return note(f"No curves for run {run_id}.")
    return plots.training_curves(one.drop(columns=["network", "variant", "seed"], errors="ignore"))


def sigma_figure(curves: pd.DataFrame):
    """σ_sm of every GG-CAM run of the store (``plots.sigma_trajectories``), or a note."""
    from ggcam.viz import paper_figures as plots

    if curves.empty or "sigma_sm" not in curves or curves["sigma_sm"].notna().sum() == 0:
        return note("No GG-CAM run in the store yet.")
    return plots.sigma_trajectories(curves)


# ---- pages 06-07: results figures --------------------------------------------------------------


def paper_medians(runs: pd.DataFrame, arms=("ggcam", "ggcam-warm")) -> dict:
    """``plots.metric_boxplots``'s reference marks for our networks: the paper's median AUC of
    the network's family (ResNet50, EffNetV2-S; real data) beside our standard box and beside
    each GG-CAM arm in ``arms``."""
    from ggcam.analysis.paper_values import PAPER_MEDIAN_AUC

    marks = {}
    for network in pd.unique(runs["network"]) if len(runs) else []:
        fam = FAMILY_OF.get(network, network)
        if (fam, "standard") in PAPER_MEDIAN_AUC:
            marks[(network, "standard")] = PAPER_MEDIAN_AUC[(fam, "standard")]
            marks |= {(network, a): PAPER_MEDIAN_AUC[(fam, "ggcam")] for a in arms}
    return {"auc_ovo": marks}


CONSTANT_LINES = {"the mean-gaze map": "--", "the best single cell": ":"}


def figure3(runs: pd.DataFrame, metrics, variants, paper: dict | None = None, planned=None,
            constants: dict | None = None):
    """Figure 3 panels (``plots.metric_boxplots``) for the ``variants`` present, or a note.
    ``planned``: the arms the study trains (default: all); only those are named "not run yet".
    ``constants``: metric → {label of ``CONSTANT_LINES``: score}, drawn across its panels as
    grey lines (maps that ignore the image, which a network's dots must clear)."""
    from ggcam.viz import paper_figures as plots

    present = [v for v in variants if len(runs) and v in set(runs["variant"])]
    if len(present) < 1 or runs[runs["variant"].isin(present)][list(metrics)].notna().sum().sum() == 0:
        return note(f"No runs of {', '.join(variants)} with these metrics yet.")
    missing = [v for v in variants if v not in present and (planned is None or v in planned)]
    fig = plots.metric_boxplots(runs, list(metrics), variants=present, paper_medians=paper)
    if missing:
        fig.suptitle(f"not run yet: {', '.join(missing)}", fontsize=10)
    ncols = runs["network"].nunique()  # one panel per network, one row per metric (row-major)
    for i, metric in enumerate(metrics):
        for label, value in (constants or {}).get(metric, {}).items():
            for ax in fig.axes[i * ncols:(i + 1) * ncols]:
                ax.axhline(value, ls=CONSTANT_LINES[label], color="0.45", lw=1, zorder=0)
    return fig


def table3_figure(examples: dict, networks=None, variants=None):
    """Table 3 (``plots.table3``) from the store's examples, or a note (no examples yet, or
    real data, whose results never hold images)."""
    from ggcam.data import CLASS_NAMES
    from ggcam.viz import paper_figures as plots

    if not examples:
        return note("No Table 3 examples in the store yet.")
    if "image" not in next(iter(examples.values())):
        return note("These results hold no images (credentialed data): Table 3 is not shown.")
    keys = [k for k in examples if (networks is None or k[0] in networks)
            and (variants is None or k[1] in variants)]
    if not keys:
        return note("No Table 3 examples of these arms yet.")
    return plots.table3({k: examples[k] for k in keys}, CLASS_NAMES)
