"""A run's metrics from its stored predictions and maps, and nothing else.

``run_metrics`` is the one function that turns a run's test-set files (``store.py``:
predictions with logits, maps on the Ω grid) into the metric fields of its ``RunRecord``. The
sweep calls it on the arrays it is about to write; ``tests/test_results_recompute.py`` calls
it on the files read back and demands the same numbers.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from ggcam.metrics import baselines
from ggcam.metrics import classification as metrics
from ggcam.metrics import image_localisation as imloc
from ggcam.metrics.localisation import centre_prior_agreement, pointing_game
from ggcam.stats.equivalence import Learned
from ggcam.stats.equivalence import learned_reason as _learned_rule
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


FINDING_CLASSES = {1: "chf", 2: "pneumonia"}  # the classes with true findings to point at


def fixed_locations(train_masks: np.ndarray, train_labels: np.ndarray, tolerance_px: float) -> np.ndarray:
    """Per class, the input pixel (row, col) a peak placed there would hit most often on the
    training images (``image_localisation.best_fixed_location``); (-1, -1) for a class without
    findings. Fitted at training time and stored with the run's maps (``fixed_location``)."""
    out = np.full((len(CLASS_NAMES), 2), -1, dtype=np.int64)
    for c in FINDING_CLASSES:
        masks = train_masks[train_labels == c]
        if masks.any():
            out[c] = baselines.best_fixed_location(masks, tolerance_px)
    return out


def _partial_cc(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float | None:
    """Mean over images of the partial correlation of x and y given z, over cells (N, h, w)."""
    def r(a, b):
        a = a.reshape(len(a), -1) - a.reshape(len(a), -1).mean(1, keepdims=True)
        b = b.reshape(len(b), -1) - b.reshape(len(b), -1).mean(1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1))
    rxy, rxz, ryz = r(x, y), r(x, z), r(y, z)
    with np.errstate(invalid="ignore", divide="ignore"):
        partial = (rxy - rxz * ryz) / np.sqrt((1 - rxz**2) * (1 - ryz**2))
    return _mean(partial)


def image_localisation_metrics(labels: np.ndarray, maps: dict[str, np.ndarray],
                               test_set: dict[str, np.ndarray]) -> dict:
    """Localisation in input pixels per class, beside the mean-gaze prior, the best fixed
    location (fitted on the run's training set) and a random peak (``image_localisation``)."""
    if "dicom_id" not in maps:  # maps written before ggcam stored it cannot be matched
        raise ValueError("the maps hold no 'dicom_id' array: they cannot be matched with the test "
                         "set's findings")
    if not np.array_equal(maps["dicom_id"], test_set["dicom_id"]):
        raise ValueError("the maps and the test set's findings hold different images (dicom_id)")
    masks = test_set["findings"]
    shape = masks.shape[1:]
    tol = imloc.tolerance_at(shape)
    omega = maps["cams"][np.arange(len(labels)), labels]
    n = len(labels)
    prior = imloc.upsample_maps(maps["centre_prior"][None], shape)  # one map, every image's
    candidates = {"": imloc.upsample_maps(omega, shape), "prior_": np.broadcast_to(prior, (n, *shape))}
    out: dict = {}
    for c, key in FINDING_CLASSES.items():
        rows = labels == c
        loc = maps["fixed_location"][c]
        maps_c = {**{p: up[rows] for p, up in candidates.items()},
                  **({"fixed_": baselines.fixed_location_maps(loc, int(rows.sum()), shape)}
                     if loc[0] >= 0 and rows.any() else {})}
        for prefix in ("", "prior_", "fixed_"):
            up = maps_c.get(prefix)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # constant maps, documented
                vals = (None, None, None) if up is None or not rows.any() else (
                    imloc.pointing_hits(up, masks[rows], tol), imloc.energy_inside(up, masks[rows]),
                    imloc.inside_auroc(up, masks[rows]))
            for name, v in zip(("pointing", "energy", "inside_auroc"), vals):
                out[f"{prefix}{name}_{key}"] = None if v is None else _mean(v)
        out[f"random_pointing_{key}"] = _mean(baselines.random_peak_chance(masks[rows], tol)) if rows.any() else None
    keep = maps["has_gaze"].astype(bool)
    out["cc_partial"] = (_partial_cc(omega[keep], maps["gaze"][keep],
                                     np.repeat(maps["centre_prior"][None], int(keep.sum()), 0))
                         if keep.any() else None)
    return out


def run_metrics(predictions: pd.DataFrame, maps: dict[str, np.ndarray],
                test_set: dict[str, np.ndarray] | None = None, classification_only: bool = False) -> dict:
    """Every metric field of a ``RunRecord`` from a run's predictions and maps (and, with
    independent replicates, the store's shared test set of true findings)."""
    labels = predictions["label"].to_numpy(dtype=np.int64)
    logits = logits_of(predictions)
    if maps["cams"].shape[0] != len(labels):
        raise ValueError(f"maps hold {maps['cams'].shape[0]} images, predictions {len(labels)}")
    if "dicom_id" in maps and not np.array_equal(maps["dicom_id"], predictions["dicom_id"].to_numpy(dtype=str)):
        raise ValueError("maps and predictions list different images (dicom_id) or another order")
    scores = classification_metrics(labels, logits)
    if classification_only:
        return scores
    scores.update({**localisation_metrics(labels, maps), **agreement_metrics(labels, maps)})
    if test_set is not None and "fixed_location" in maps:
        scores.update(image_localisation_metrics(labels, maps, test_set))
    return scores


def learned_reason(scores: dict) -> Learned:
    """The study's bar for "learned": the test-AUC interval above 0.5 and every class
    recalled at least 10% of the time (``ggcam.stats.equivalence.learned_reason``)."""
    if scores.get("auc_ovo_low") is None:
        return Learned(False, "no test AUC (a class is missing from the test set)")
    return _learned_rule(scores["auc_ovo_low"], {k: scores[f"recall_{k}"] for k in CLASS_KEYS})


def learned(scores: dict) -> bool:
    return learned_reason(scores).learned


def learned_v1(scores: dict) -> bool:
    """The first study's bar (results/cpu-v1), kept so its records recompute as written:
    neither one predicted class nor a test-AUC interval covering 0.5."""
    return not (scores["single_class"] or scores["auc_ci_covers_chance"])


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _rescored(store, run_id: str, record: dict, test_set) -> dict:
    """One run's metric fields recomputed from its files; errors name the run."""
    try:
        scores = run_metrics(store.predictions(run_id), store.maps(run_id), test_set)
        if store.has_last(run_id):
            scores["auc_ovo_last"] = run_metrics(store.predictions(run_id, last=True),
                                                 store.maps(run_id, last=True), None,
                                                 classification_only=True)["auc_ovo"]
    except ValueError as err:
        raise ValueError(f"run {run_id} of {store.path}: {err}") from err
    if "learned_reason" in record:
        verdict = learned_reason(scores)
        scores.update(learned=verdict.learned, learned_reason=verdict.reason)
    else:  # a record of the first study keeps its own bar
        scores["learned"] = learned_v1(scores)
    lost = [k for k, v in scores.items() if _is_number(record.get(k)) and not _is_number(v)]
    if lost:
        k = lost[0]
        raise ValueError(f"run {run_id} of {store.path}: rescoring would replace {k} = {record[k]!r} "
                         f"with {scores[k]!r}" + (f" (and {len(lost) - 1} more field(s): "
                                                  f"{', '.join(lost[1:])})" if len(lost) > 1 else "")
                         + "; no record was rewritten")
    return scores


def rescore(store) -> int:
    """Recompute every record's metric fields from its stored files (after a metrics change),
    through the store (``ResultsStore.update_record``). Training is untouched; returns the
    number of records rewritten.

    Every run is recomputed and checked before any record is written: a run whose files cannot
    be read, or whose recomputation gives None or NaN where its record holds a number, stops
    the call with an error naming the run and the field, and no record is rewritten.
    """
    test_set = store.read_test_set() if store.has_test_set() else None
    updates = {}
    for run_id in store.run_ids():
        record = store.record_dict_of(run_id)  # a file that is no record is named before any work
        updates[run_id] = _rescored(store, run_id, record, test_set)
    for run_id, scores in updates.items():
        store.update_record(run_id, scores)
    store.collect()
    return len(updates)
