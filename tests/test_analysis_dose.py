"""Where gaze starts to help (``ggcam.analysis.dose``, ``dose_text.dose_findings``): the change of
the paired gain along a factor, by hand, and the sentences that read it."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from ggcam.analysis.dose import dose_response, dose_trend
from ggcam.analysis.dose_text import dose_findings
from ggcam.experiment import get_profile

CPU = get_profile("cpu")


def _runs(seeds=6, size_gain=(0.0, 0.1, 0.2), reader_gain=(0.05, 0.1, 0.15), noise=0.01):
    """standard and ggcam-warm at every planned point; the gain at 200/400/800 images and at
    informativeness 0.3/0.6/1 is given, plus per-run noise."""
    rng = np.random.default_rng(1)
    rows = []
    for s in range(seeds):
        level = 0.7 + rng.normal(0, 0.03)
        for n, gain in zip((200, 400, 800), size_gain):
            rows.append(dict(variant="standard", seed=s, n_train=n, informativeness=0.6,
                             auc_ovo=level + rng.normal(0, noise), pointing_pneumonia=0.1))
            if n != 400:
                rows.append(dict(variant="ggcam-warm", seed=s, n_train=n, informativeness=0.6,
                                 auc_ovo=level + gain + rng.normal(0, noise), pointing_pneumonia=0.3))
        for i, gain in zip((0.3, 0.6, 1.0), reader_gain):
            rows.append(dict(variant="ggcam-warm", seed=s, n_train=400, informativeness=i,
                             auc_ovo=level + gain + rng.normal(0, noise), pointing_pneumonia=0.3 + i / 10))
    return pd.DataFrame(rows)


def _by_seed(runs, **where):
    part = runs
    for column, value in where.items():
        part = part[np.isclose(part[column].astype(float), value) if column != "variant" else part[column] == value]
    return part.set_index("seed")["auc_ovo"]


def test_the_trend_is_the_per_replicate_change_of_the_gain_with_a_t_interval_and_exact_p():
    runs = _runs()
    trend = dose_trend(runs, CPU).set_index(["factor", "metric"])
    # Along the training-set size both runs of a replicate change.
    gain = {n: _by_seed(runs, variant="ggcam-warm", n_train=n) - _by_seed(runs, variant="standard", n_train=n)
            for n in (200, 800)}
    change = gain[800] - gain[200]
    half = sps.t.ppf(0.975, 5) * change.std(ddof=1) / np.sqrt(6)
    row = trend.loc[("n_train", "auc_ovo")]
    assert (row["from_value"], row["to_value"], row["n"]) == (200, 800, 6)
    assert (row["estimate"], row["low"], row["high"]) == pytest.approx((change.mean(), change.mean() - half, change.mean() + half))
    assert row["p"] == pytest.approx(2 / 64)  # every replicate's gain grew: the exact floor for 6
    # Along the reader the replicate's base standard run is shared: only GG-CAM's run changes.
    warm = {i: _by_seed(runs, variant="ggcam-warm", n_train=400, informativeness=i) for i in (0.3, 1.0)}
    row = trend.loc[("informativeness", "auc_ovo")]
    assert row["estimate"] == pytest.approx((warm[1.0] - warm[0.3]).mean())
    assert trend.loc[("informativeness", "pointing_pneumonia"), "estimate"] == pytest.approx(0.07)


def test_the_findings_say_where_the_gain_is_above_zero_and_whether_it_changes():
    runs = _runs()
    text = dose_findings(dose_response(runs, CPU), dose_trend(runs, CPU), CPU)
    size, reader, note = text.split("\n\n")
    assert note.startswith("These changes are descriptive")
    assert size.startswith("**Training-set size.** GG-CAM − standard in test AUC at 200 images: ")
    assert "Its interval lies above zero at 400 and 800, not at 200." in size
    assert "From 200 to 800 images the paired ΔAUC changed by +0.19" in size
    assert "the gain grows with the training-set size" in size
    assert "Its interval lies above zero at every value." in reader
    flat = _runs(size_gain=(0.1, 0.1, 0.1), noise=0.03)
    text = dose_findings(dose_response(flat, CPU), dose_trend(flat, CPU), CPU)
    assert "not shown to change with the training-set size" in text


def test_two_replicates_give_no_trend_verdict_and_a_factor_without_dose_runs_is_left_out():
    runs = _runs(seeds=2, noise=0.001)
    text = dose_findings(dose_response(runs, CPU), dose_trend(runs, CPU), CPU)
    assert ("(2 replicates, exact sign-flip p = 0.5; its t interval excludes zero, but with 2 replicates "
            "the exact test cannot go below p = 0.5), and the pneumonia pointing game's by") in text
    assert "not shown to change with the training-set size." in text
    base_only = runs[(runs["n_train"] == 400) | (runs["variant"] == "standard") & (runs["n_train"] == 400)]
    reader_only = pd.concat([base_only, runs[runs["informativeness"] != 0.6]])
    text = dose_findings(dose_response(reader_only, CPU), dose_trend(reader_only, CPU), CPU)
    assert "Training-set size" not in text and text.startswith("**The reader's informativeness.**")
    assert dose_findings(dose_response(base_only[base_only["informativeness"] == 0.6], CPU),
                         dose_trend(base_only, CPU), CPU) == ""


def test_an_interval_of_two_replicates_does_not_set_the_axis_but_ends_in_an_arrowhead():
    from ggcam.viz.figures.study import dose_response_figure

    dose = pd.DataFrame([
        {"factor": "n_train", "value": 400.0, "arm": "ggcam-warm", "metric": "auc_ovo", "n": 8,
         "estimate": 0.12, "low": 0.09, "high": 0.15},
        {"factor": "n_train", "value": 800.0, "arm": "ggcam-warm", "metric": "auc_ovo", "n": 2,
         "estimate": 0.07, "low": -0.87, "high": 1.01},
    ])
    fig = dose_response_figure(dose, 0.03, 0.055, metrics=("auc_ovo",))
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    assert -0.1 < low < -0.03 and 0.15 < high < 0.25  # zero, the margin and the steady point
    arrows = [line for line in ax.get_lines() if line.get_marker() in ("v", "^")]
    assert sorted(line.get_marker() for line in arrows) == ["^", "v"]
    assert {float(line.get_xdata()[0]) for line in arrows} == {800.0}
    steady = dose[dose["n"] == 8]
    fig = dose_response_figure(steady, 0.03, 0.055, metrics=("auc_ovo",))
    assert not [line for line in fig.axes[0].get_lines() if line.get_marker() in ("v", "^")]


def test_the_caption_names_the_arrowheads_only_while_a_point_has_two_replicates():
    from ggcam.analysis.dose_text import dose_markdown

    for seeds, named in ((2, True), (6, False)):
        runs = _runs(seeds=seeds).assign(run_id=lambda r: [f"r{i}" for i in range(len(r))])
        text = dose_markdown(CPU, dose_response(runs, CPU), runs)
        assert ("an arrowhead at a panel's edge" in text) is named
