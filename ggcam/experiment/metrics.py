"""A run's metrics from its stored predictions and maps, and nothing else.

``run_metrics`` is the one function that turns a run's test-set files (``store.py``:
predictions with logits, maps on the Ω grid) into the metric fields of its ``RunRecord``. The
sweep calls it on the arrays it is about to write; ``tests/test_results_recompute.py`` calls
it on the files read back and demands the same numbers.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ggcam.metrics import classification as metrics
from ggcam.metrics.localisation import centre_prior_agreement, pointing_game
from ggcam.stats.unpaired import bootstrap_auc_ci
from ggcam.study import CLASS_KEYS, CLASS_NAMES

AGREEMENT = ("cc", "kl", "sim", "nss", "auc_judd")
# Cells the arg-max may miss a true finding by. The pointing game's usual 15 px at image
# resolution is far below one Ω cell here (≥ 32 input px), and a 3×3 tolerance on the cpu
# profile's 6×5 grid would make a random hit 57% likely: strict.
POINTING_TOLERANCE = 0
N_BOOT = 500  # bootstrap replicates of a run's test-AUC interval (the "did it learn" check)


def logits_of(predictions: pd.DataFrame) -> np.ndarray:
    cols = sorted((c for c in predictions.columns if c.startswith("logit_")),
                  key=lambda c: int(c.split("_")[1]))
    if not cols:
        raise ValueError(f"predictions have no logit_<k> columns: {list(predictions.columns)}")
    return predictions[cols].to_numpy(dtype=np.float64)


def classification_metrics(labels: np.ndarray, logits: np.ndarray) -> dict:
    """AUC (ovo, ovr, with the ovo bootstrap interval), per-class precision and recall."""
    out: dict = {}
    for mc in ("ovo", "ovr"):
        try:
            out[f"auc_{mc}"] = float(metrics.auc(labels, logits, multi_class=mc, from_logits=True))
        except ValueError as err:
            warnings.warn(f"test AUC ({mc}) not computed: {err}", stacklevel=2)
            out[f"auc_{mc}"] = None
    if out["auc_ovo"] is not None:
        ci = bootstrap_auc_ci(labels, logits, n_boot=N_BOOT, seed=0, from_logits=True)
        out["auc_ovo_low"], out["auc_ovo_high"] = float(ci.low), float(ci.high)
    else:
        out["auc_ovo_low"] = out["auc_ovo_high"] = None
    pred = logits.argmax(axis=1)
    pr = metrics.precision_recall(labels, pred, num_classes=len(CLASS_NAMES))
    for key, name in CLASS_KEYS.items():
        out[f"precision_{key}"] = float(pr.loc[name, "precision"])
        out[f"recall_{key}"] = float(pr.loc[name, "recall"])
    out["single_class"] = bool(len(np.unique(pred)) == 1)
    low, high = out["auc_ovo_low"], out["auc_ovo_high"]
    out["auc_ci_covers_chance"] = bool(low is None or low <= 0.5 <= high)
    return out


def _mean(values) -> float | None:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else None


def localisation_metrics(labels: np.ndarray, maps: dict[str, np.ndarray]) -> dict:
    """Eq. 12 (strict and 3×3) with chance, and the pointing game against true findings."""
    cams = maps["cams"]
    regions = {"heart": maps["mask_heart"], "lung": maps["mask_lung"]}
    out: dict = {}
    for nb, prefix in ((0, "interp"), (1, "interp3x3")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # a class absent from a small test set
            res = metrics.interpretability(cams, labels, regions, neighbourhood=nb)
        out[f"{prefix}_chf"], out[f"{prefix}_pneumonia"] = res.get("CHF"), res.get("pneumonia")
    # Chance of eq. 12: a uniformly random arg-max hits the region with its share of cells.
    out["interp_chance_chf"] = _mean(regions["heart"][labels == 1].mean(axis=(1, 2)))
    out["interp_chance_pneumonia"] = _mean(regions["lung"][labels == 2].mean(axis=(1, 2)))
    out["pointing"] = out["pointing_chance"] = None
    finding = maps.get("mask_finding")
    if finding is not None and finding.any():  # only where the data has ground truth
        game = pointing_game(cams, labels, finding, tolerance=POINTING_TOLERANCE)
        out["pointing"], out["pointing_chance"] = game.rate, game.chance
    return out


def agreement_metrics(labels: np.ndarray, maps: dict[str, np.ndarray]) -> dict:
    """CC, KL, SIM, NSS, AUC-Judd of Ω^Y against Ψ, and of the centre prior (chance)."""
    keep = maps["has_gaze"].astype(bool)
    out = {k: None for k in AGREEMENT} | {f"{k}_centre": None for k in AGREEMENT}
    if not keep.any():
        return out
    cams, gaze, fix = maps["cams"][keep], maps["gaze"][keep], maps["fixations"][keep]
    y = labels[keep]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # images without fixated cells: NaN, left out
        ours = metrics.attention_agreement(cams, y, gaze, list(fix))
        centre = centre_prior_agreement(maps["centre_prior"][None], gaze, list(fix))
    for k in AGREEMENT:
        out[k] = _mean(ours[k])
        out[f"{k}_centre"] = _mean(centre[k])
    return out


def run_metrics(predictions: pd.DataFrame, maps: dict[str, np.ndarray]) -> dict:
    """Every metric field of a ``RunRecord`` from a run's predictions and maps."""
    labels = predictions["label"].to_numpy(dtype=np.int64)
    logits = logits_of(predictions)
    if maps["cams"].shape[0] != len(labels):
        raise ValueError(f"maps hold {maps['cams'].shape[0]} images, predictions {len(labels)}")
    return {**classification_metrics(labels, logits), **localisation_metrics(labels, maps),
            **agreement_metrics(labels, maps)}


def learned(scores: dict) -> bool:
    """A run is used in conclusions unless it predicts one class or its AUC CI covers 0.5."""
    return not (scores["single_class"] or scores["auc_ci_covers_chance"])


def rescore(store) -> int:
    """Recompute every record's metric fields from its stored files (after a metrics change).

    Training is untouched; returns the number of records rewritten.
    """
    import json

    from ggcam.experiment.store import json_default
    from ggcam.runtime import atomic_write_text

    n = 0
    for path in sorted((store.path / "runs").glob("*.json")):
        rec = store.record_dict(path)
        scores = run_metrics(store.predictions(rec["run_id"]), store.maps(rec["run_id"]))
        rec.update(scores, learned=learned(scores))
        atomic_write_text(json.dumps(rec, indent=1, default=json_default) + "\n", path)
        n += 1
    store.collect()
    return n
