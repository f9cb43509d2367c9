"""The learning-rate drops of a study's runs, from their curves (``summary_training.lr_drops``,
``lr_drop_sentence``): whether the arms' different plateau patience P ever acted."""

import pandas as pd

from ggcam.analysis.summary_training import lr_drop_sentence, lr_drops


def _curves(lrs: dict[str, list[float]]) -> pd.DataFrame:
    rows = [{"run_id": rid, "network": "resnet18", "variant": rid.split("__")[1], "epoch": e + 1, "lr": lr}
            for rid, series in lrs.items() for e, lr in enumerate(series)]
    return pd.DataFrame(rows)


def test_no_drop_means_p_never_acted():
    curves = _curves({"resnet18__standard__s0": [1e-3] * 5, "resnet18__ggcam-warm__s0": [1e-3] * 7})
    assert lr_drops(curves)["lr drops"].tolist() == [0, 0]
    assert lr_drop_sentence(curves).startswith("No run of the 2 shown ever lowered its learning rate")


def test_drops_are_counted_per_arm():
    curves = _curves({"resnet18__standard__s0": [1e-3, 1e-3, 1e-4, 1e-5],
                      "resnet18__standard__s1": [1e-3, 1e-4],
                      "resnet18__ggcam-warm__s0": [1e-3] * 4})
    table = lr_drops(curves).set_index("variant")
    assert table.loc["standard", "lr drops"] == 3 and table.loc["ggcam-warm", "lr drops"] == 0
    assert "in all (standard 3)" in lr_drop_sentence(curves)
    assert lr_drop_sentence(curves.iloc[:0]) == ""


def test_the_flags_count_each_test_of_the_learned_rule():
    from ggcam.analysis.summary_training import flags_table

    base = {"network": "resnet18", "variant": "standard", "status": "ok", "sigma_frozen": False,
            "optimizer_overflow": False, "sigmoid_saturated": False, "single_class": False,
            "auc_ci_covers_chance": False, "recall_chf": 0.6, "recall_pneumonia": 0.5}
    runs = pd.DataFrame([{**base, "recall_normal": 0.0, "learned": False},   # a class never recalled
                         {**base, "recall_normal": 0.09, "learned": False},  # just under 10%
                         {**base, "recall_normal": 0.10, "learned": True}])
    row = flags_table(runs).iloc[0]
    assert (row["runs"], row["low recall"], row["learned"]) == (3, 2, 1)
