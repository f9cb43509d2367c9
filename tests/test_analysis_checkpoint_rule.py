"""Chosen against last epoch, and the convergence bar (``ggcam.analysis.checkpoint_rule``)."""

import pandas as pd

from ggcam.analysis import checkpoint_rule as rule
from ggcam.experiment import get_profile

CPU = get_profile("cpu")  # 30 epochs: the last fifth starts after epoch 24


def _runs(last_gain=(0.10, 0.12, 0.08), warm_best=(20, 22, 29)):
    rows = []
    for s, (g, b) in enumerate(zip(last_gain, warm_best)):
        rows.append(dict(variant="standard", seed=s, n_train=400, informativeness=0.6,
                         auc_ovo=0.75, auc_ovo_last=0.74, epochs=14, best_epoch=8,
                         stop_reason="early_stop"))
        rows.append(dict(variant="ggcam-warm", seed=s, n_train=400, informativeness=0.6,
                         auc_ovo=0.75 + 0.1 + 0.01 * s, auc_ovo_last=0.74 + g, epochs=30,
                         best_epoch=b, stop_reason="max_epochs"))
    return pd.DataFrame(rows)


def test_the_table_pairs_chosen_and_last_epochs_by_replicate():
    table = rule.checkpoint_table(_runs(), CPU).set_index("arm")
    assert table.loc["GG-CAM", "ΔAUC, chosen"].startswith("+0.110 [")  # 0.10, 0.11, 0.12
    assert table.loc["GG-CAM", "ΔAUC, last"].startswith("+0.100 [")  # 0.10, 0.12, 0.08
    assert table.loc["GG-CAM", "before last fifth"] == "67%"  # epoch 29 of 30 is late
    assert table.loc["standard", "before last fifth"] == "100%" and table.loc["standard", "ΔAUC, last"] == "–"
    assert table.loc["GG-CAM", "chosen (median)"] == 22


def test_the_bar_and_the_rule_in_words():
    text = rule.checkpoint_markdown(_runs(warm_best=(20, 27, 29)), CPU)
    assert "Only 67% of the 6 runs" in text and "(standard 100%, GG-CAM 33%)" in text
    assert ("converges faster, here standard: the runs the budget cut short are all GG-CAM's, so the "
            "budget, if anything, understates GG-CAM's results. Early stopping cuts the other way") in text
    assert "so the net direction of the two is not known." in text
    assert "does not hinge on which of these two epochs is kept" in text and "was not tested." in text
    met = rule.convergence_sentence(_runs(), CPU)  # 5 of 6: 83%
    assert met.startswith("83% of the 6 runs") and "meets its bar of 80%" in met
    flips = rule.last_epoch_sentence(_runs(last_gain=(0.0, -0.02, 0.02)), CPU)
    assert "The answer hinges on which of these two epochs is kept" in flips


def test_a_study_without_last_epochs_says_it_cannot_answer():
    runs = _runs().drop(columns="auc_ovo_last")
    assert not rule.has_last_epoch(runs)
    assert "cannot answer this" in rule.checkpoint_markdown(runs, get_profile("cpu-v1"))
    assert rule.last_epoch_sentence(_runs().iloc[:2], CPU).startswith("Not enough paired")


def test_the_validation_curves_figure_marks_each_runs_chosen_epoch(tmp_path):
    import numpy as np

    from ggcam.viz.figures.study import validation_curves_figure

    runs = _runs().assign(run_id=lambda r: r["variant"] + r["seed"].astype(str))
    curves = pd.concat([pd.DataFrame({"run_id": rid, "epoch": np.arange(1, e + 1),
                                      "val_auc": np.linspace(0.5, 0.9, e), "val_ce": np.linspace(2, 1, e)})
                        for rid, e in zip(runs["run_id"], runs["epochs"])])
    fig = validation_curves_figure(curves, runs, CPU.primary)
    assert [a.get_title() for a in fig.axes[:2]] == ["standard", "GG-CAM"]
    dots = [line for line in fig.axes[1].get_lines() if line.get_marker() == "o"]
    assert sorted(int(d.get_xdata()[0]) for d in dots) == [20, 22, 29]  # GG-CAM's chosen epochs
    fig.savefig(tmp_path / "curves.png")
