"""Eq. 12 of the mean-gaze map, scored from stored maps (``ggcam.analysis.constant_maps``)."""

import numpy as np
import pandas as pd
import pytest

from ggcam.analysis import constant_maps
from ggcam.experiment import get_profile


class _Store:
    """The two store methods prior_eq12 reads, over made-up maps of 3 images on a 2×2 grid."""

    def __init__(self, prior):
        heart = np.zeros((3, 2, 2), bool)
        heart[:, 0, 0] = True
        lung = np.zeros((3, 2, 2), bool)
        lung[:, 1, :] = True
        self._maps = {"cams": np.zeros((3, 3, 2, 2)), "centre_prior": np.asarray(prior, float),
                      "mask_heart": heart, "mask_lung": lung}

    def maps(self, run_id):
        return self._maps

    def predictions(self, run_id):
        return pd.DataFrame({"label": [1, 2, 2]})  # one CHF, two pneumonia images


def test_the_constant_map_is_scored_like_any_map():
    lungs = constant_maps.prior_eq12(_Store([[0, 0], [1, 0]]), pd.DataFrame({"run_id": ["r"]}))
    assert lungs.loc[0, "prior_interp_pneumonia"] == 1.0 and lungs.loc[0, "prior_interp_chf"] == 0.0
    assert lungs.loc[0, "prior_interp3x3_chf"] == 1.0  # the heart cell is within the 3×3
    heart = constant_maps.prior_eq12(_Store([[1, 0], [0, 0]]), pd.DataFrame({"run_id": ["r"]}))
    assert heart.loc[0, "prior_interp_chf"] == 1.0 and heart.loc[0, "prior_interp_pneumonia"] == 0.0
    assert np.isnan(heart.loc[0, "prior_pointing"])  # no true findings in these maps


def test_the_constant_map_plays_the_grid_pointing_game_against_the_true_findings():
    store = _Store([[0, 0], [0, 1]])  # peak in cell (1, 1)
    finding = np.zeros((3, 2, 2), bool)
    finding[0, 1, 1] = finding[1, 1, 1] = True  # the CHF image and one pneumonia image hit
    finding[2, 0, 0] = True  # the other pneumonia image's finding is elsewhere
    store._maps["mask_finding"] = finding
    out = constant_maps.prior_eq12(store, pd.DataFrame({"run_id": ["r"]}))
    assert out.loc[0, "prior_pointing"] == 2 / 3


def test_the_best_single_cell_is_the_best_any_constant_map_scores_on_these_images():
    store = _Store([[1, 0], [0, 0]])  # the mean-gaze map peaks in the heart cell (0, 0)
    finding = np.zeros((3, 2, 2), bool)
    finding[0, 1, 1] = finding[1, 1, 1] = True
    finding[2, 0, 0] = True
    store._maps["mask_finding"] = finding
    out = constant_maps.prior_eq12(store, pd.DataFrame({"run_id": ["r"]})).loc[0]
    assert out["prior_pointing"] == 1 / 3 and out["cell_pointing"] == 2 / 3  # cell (1, 1)
    assert out["prior_interp_pneumonia"] == 0.0 and out["cell_interp_pneumonia"] == 1.0  # a lung cell
    assert out["cell_interp_chf"] == 1.0  # the heart cell, for the one CHF image
    # No cell can beat a map that scores 1: the best cell never falls below any constant map.
    assert (out[[c for c in out.index if c.startswith("cell_")]].to_numpy(float)
            >= out[["prior_interp_chf", "prior_interp_pneumonia", "prior_pointing"]].to_numpy(float)).all()


def test_the_grid_pointing_table_sets_both_constant_maps_beside_each_arm():
    from ggcam.analysis import summary

    runs = pd.DataFrame({"run_id": ["a", "b", "c"], "network": "resnet18",
                         "variant": ["standard", "standard", "ggcam-warm"],
                         "seed": [0, 1, 0], "pointing": [0.3, 0.5, 0.8], "pointing_chance": 0.1})
    prior = pd.DataFrame({"run_id": ["a", "b", "c"], "prior_pointing": [0.6, 0.7, 0.65],
                          "cell_pointing": [0.9, 0.95, 0.92]})
    table = summary.pointing_table(runs, prior).set_index("arm")
    assert table.loc["standard", "mean-gaze map"] == pytest.approx(0.65)
    assert table.loc["standard", "best single cell"] == pytest.approx(0.925)
    assert table.loc["ggcam-warm", "best single cell"] == pytest.approx(0.92)
    assert "best single cell" not in summary.pointing_table(runs).columns


@pytest.mark.parametrize("best, words", [
    (1.0, ": one cell lies in the lungs of every pneumonia image, so on this grid eq. 12 rewards"),
    (0.85, ": at or above both arms, so"), (0.6, ", below `ggcam-warm`.")])
def test_the_sentence_says_when_a_single_cell_saturates_eq12(best, words):
    runs = pd.DataFrame({"run_id": ["a", "b"], "network": "resnet18",
                         "variant": ["standard", "ggcam-warm"], "interp_pneumonia": [0.3, 0.8]})
    prior = pd.DataFrame({"run_id": ["a", "b"], "prior_interp_pneumonia": 0.5,
                          "cell_interp_pneumonia": best})
    text = constant_maps.prior_sentence(runs, prior, get_profile("cpu"))
    assert f"The best single cell reaches {best:.2f}{words}" in text


@pytest.mark.parametrize("rate, words", [(0.9, "at or above both"), (0.5, "between"), (0.1, "below both")])
def test_the_sentence_places_the_constant_map_among_the_arms(rate, words):
    runs = pd.DataFrame({"run_id": ["a", "b"], "network": "resnet18",
                         "variant": ["standard", "ggcam-warm"], "interp_pneumonia": [0.3, 0.8]})
    prior = pd.DataFrame({"run_id": ["a", "b"], "prior_interp_pneumonia": [rate, rate]})
    text = constant_maps.prior_sentence(runs, prior, get_profile("cpu"))
    assert text == (f"On ResNet18 for pneumonia it reaches {rate:.2f}, {words} `standard` (0.30) "
                    "and `ggcam-warm` (0.80), medians over seeds.")


def test_the_partial_cc_sentence_sets_each_arm_beside_the_mean_gaze_map():
    runs = pd.DataFrame({"variant": ["standard", "standard", "ggcam-warm", "ggcam-warm"],
                         "seed": [0, 1, 0, 1], "n_train": 400, "informativeness": 0.6,
                         "cc": [0.1, 0.3, 0.6, 0.7], "cc_partial": [0.0, 0.02, 0.1, 0.2],
                         "cc_centre": 0.74})
    text = constant_maps.partial_cc_sentence(runs, get_profile("cpu"))
    assert "standard 0.20 / +0.01; GG-CAM 0.65 / +0.15." in text
    assert "The mean-gaze map itself reaches a CC of 0.74" in text
    assert constant_maps.partial_cc_sentence(runs.drop(columns="cc_partial"), get_profile("cpu")) == ""


@pytest.mark.parametrize("oracle, why", [(0.25, True), (0.12, False), (None, False)])
def test_the_gaze_verdict_sets_the_oracle_which_never_sees_gaze_beside_gaze_supervision(oracle, why):
    # An oracle that follows the reader as far as GG-CAM does says the partial CC also
    # measures finding the findings, which the simulated reader looks at.
    arms = ["standard", "standard", "ggcam-warm", "ggcam-warm"] + (["ggcam-oracle"] * 2 if oracle else [])
    partial = [0.0, 0.02, 0.1, 0.2] + ([oracle, oracle] if oracle else [])
    runs = pd.DataFrame({"variant": arms, "seed": [0, 1] * (len(arms) // 2), "n_train": 400,
                         "informativeness": 0.6, "cc_partial": partial})
    level = constant_maps.gaze_level(runs, get_profile("cpu"))["gaze"]
    assert level.startswith("medians: GG-CAM +0.15, standard +0.01")
    assert (", the oracle, which never sees gaze, " in level) == (oracle is not None)
    assert oracle is None or f"never sees gaze, {oracle:+.2f}" in level
    assert level.endswith("so maps that find them follow its gaze too, and nothing here shows that "
                          "GG-CAM's maps learned the reader rather than the findings") == why
    assert constant_maps.gaze_level(runs.drop(columns="cc_partial"), get_profile("cpu")) == {}


def test_the_centre_note_reads_raw_cc_beside_the_partial_cc(tmp_path):
    # Before: "the maps do not follow this image's gaze more closely than the average gaze map",
    # next to a verdict that they follow it beyond that map (partial CC): both read as one.
    from ggcam.analysis.summary_text import _centre_note
    from ggcam.experiment import ResultsStore, RunRecord

    store = ResultsStore(tmp_path / "cpu")
    store.path.mkdir(parents=True)
    rows = []
    for s, (cc, partial) in enumerate(((0.60, 0.15), (0.65, 0.17), (0.70, 0.20))):
        row = dict.fromkeys(RunRecord.columns())
        row.update(profile="cpu", network="resnet18", variant="ggcam-warm", seed=s, status="ok",
                   run_id=f"resnet18__ggcam-warm__s{s}", cc=cc, cc_centre=0.74, cc_partial=partial,
                   data_origin="phantom", learned=True, n_train=400, informativeness=0.6)
        rows.append(row)
    pd.DataFrame(rows, columns=RunRecord.columns()).to_csv(store.path / "runs.csv", index=False)
    assert _centre_note(store, "resnet18", "ggcam-warm") == (
        " Its median CC with Ψ, 0.650, is below that of the mean-gaze map, the same map for every "
        "image (0.740): as a whole the "
        "maps match this image's gaze less closely than the average gaze map does. What they follow "
        "of this image's gaze beyond the average map is the partial CC, median +0.170 (below).")


def test_the_grid_sentence_says_when_the_arm_stays_below_the_best_single_cell():
    from ggcam.analysis.summary_text import _below_cell

    runs = pd.DataFrame({"variant": ["standard", "ggcam-warm", "ggcam-warm"],
                         "pointing": [0.3, 0.8, 0.84], "interp_pneumonia": [0.35, 0.86, 0.88],
                         "cell_pointing": 0.87, "cell_interp_pneumonia": 1.0})
    assert _below_cell(runs, "ggcam-warm") == (
        " On the grid pointing game and eq. 12 for pneumonia `ggcam-warm`'s median stays below the "
        "best single cell, a map that ignores the image: on this grid these scores do not show "
        "that its maps localise (the image-space scores above can).")
    runs.loc[1:, "pointing"] = 0.9  # above the best cell on one score: no sentence
    assert _below_cell(runs, "ggcam-warm") == ""
    assert _below_cell(runs.drop(columns=["cell_pointing", "cell_interp_pneumonia"]), "ggcam-warm") == ""
