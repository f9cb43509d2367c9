"""Image-space localisation beside the constant maps (``ggcam.analysis.image_scores``)."""

import numpy as np
import pandas as pd

from ggcam.analysis import image_scores
from ggcam.experiment import get_profile

CPU = get_profile("cpu")


def _runs(seeds=3):
    rows = []
    for s in range(seeds):
        fixed = 0.10 + 0.02 * s  # fitted on the replicate's own training images
        for arm, hit in (("standard", 0.02), ("ggcam-warm", 0.30 + 0.01 * s)):
            row = dict(variant=arm, seed=s, n_train=400, informativeness=0.6)
            for c in ("chf", "pneumonia"):
                row |= {f"pointing_{c}": hit, f"energy_{c}": 0.02, f"inside_auroc_{c}": 0.9,
                        f"prior_pointing_{c}": 0.06, f"prior_energy_{c}": 0.03,
                        f"prior_inside_auroc_{c}": 0.85, f"fixed_pointing_{c}": fixed,
                        f"fixed_energy_{c}": 0.05, f"fixed_inside_auroc_{c}": 0.7,
                        f"random_pointing_{c}": 0.01}
            rows.append(row)
    rows.append(dict(rows[-1], n_train=200, **{"pointing_pneumonia": 0.99}))  # a dose point
    return pd.DataFrame(rows)


def test_the_table_averages_replicates_at_the_base_point_and_counts_each_baseline_once():
    long = image_scores.scores_long(_runs(), CPU)
    assert (long.groupby(["map", "class", "metric"]).size() == 3).all()  # 3 replicates each
    table = image_scores.scores_table(long).set_index("map")
    assert table.loc["GG-CAM", "pointing, pneumonia"] == "0.31"  # not the dose point's 0.99
    assert table.loc["best fixed location (constant)", "pointing, pneumonia"] == "0.12"
    assert table.loc["random peak", "energy inside, CHF"] == "–"
    assert list(table.index) == ["standard", "GG-CAM", "mean-gaze map (constant)",
                                 "best fixed location (constant)", "random peak"]
    assert table.shape[1] == 6  # with the row labels: 7 columns, the book's limit


def test_the_sentence_names_who_beats_both_constant_maps():
    long = image_scores.scores_long(_runs(), CPU)
    text = image_scores.scores_markdown(long, CPU, 1.26)
    assert "GG-CAM's maps point within 1.3 input pixels" in text
    assert "on 31% of images, the standard network's on 2%" in text
    assert "reaches 12% at the best fixed location and 6%" in text
    # pneumonia only (CHF fails the dynamic-range check), with the numbers; means over seeds:
    # GG-CAM pointing 0.31, mean-gaze map 0.06, best fixed 0.12
    assert text.endswith("On pneumonia, GG-CAM clears both constant maps (the mean-gaze map, the "
                         "best fixed location) on pointing (0.31 against 0.06 and 0.12), AUROC "
                         "inside (0.90 against 0.85 and 0.70); it does not on energy inside (0.02 "
                         "against 0.03 and 0.05). CHF is not judged: it fails the dynamic-range check.")
    assert "fig_image_scores" in image_scores.section_markdown(long, CPU, 1.26)


def test_the_front_pages_localisation_verdict_carries_the_hit_rates():
    from ggcam.analysis.effects import arm_effects, verdicts

    runs = _runs()
    levels = image_scores.pointing_levels(runs, CPU)
    assert levels == {"localisation": "hit rates: GG-CAM 0.31, standard 0.02, "
                                      "best fixed location (constant) 0.12"}
    v = verdicts(arm_effects(runs.assign(auc_ovo=0.8, cc_partial=0.1), CPU), levels=levels)
    assert v["localisation"].endswith("to +0.31; hit rates: GG-CAM 0.31, standard 0.02, "
                                      "best fixed location (constant) 0.12).")
    assert image_scores.pointing_levels(runs.drop(columns="pointing_pneumonia"), CPU) == {}


def test_a_study_scored_on_the_grid_only_says_so():
    runs = _runs().drop(columns=[c for c in _runs().columns if "pointing_" in c])
    assert not image_scores.has_image_scores(runs)
    text = image_scores.section_markdown(None, get_profile("cpu-v1"), 1.0)
    assert "scored its maps on the Ω grid only" in text


def test_the_figure_draws_every_panel_and_baseline(tmp_path):
    from ggcam.viz.figures.study import image_scores_figure

    fig = image_scores_figure(image_scores.scores_long(_runs(), CPU))
    assert len(fig.axes) == 6
    pointing = fig.axes[0]
    assert len(pointing.get_lines()) >= 2 + 3  # two arms' dots and three constant lines
    assert np.isclose(pointing.get_lines()[-1].get_ydata()[0], 0.01)  # the random peak
    fig.savefig(tmp_path / "scores.png")


def test_the_front_pages_effects_table_says_where_gaze_supervision_beats_the_constant_maps():
    note = image_scores.constant_maps_note(_runs(), CPU)
    assert note.startswith("A localisation row compares two networks, not a network with a map that "
                           "knows nothing of the image (means over replicates). On pneumonia, GG-CAM clears")
    assert "it fails the dynamic-range check. The [interpretability" in note
    no_scores = _runs().drop(columns=[c for c in _runs().columns if c.startswith("pointing_")])
    assert image_scores.constant_maps_note(no_scores, CPU) == ""  # the first study scored none
