"""The dynamic-range check that chose the study's input size (``experiment.design_checks``)."""

import pytest

from ggcam.experiment import get_profile
from ggcam.experiment.design_checks import JUDGED, dynamic_range_at, passes


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("dynamic-range")


def test_the_cpu_input_is_the_smallest_at_which_the_oracle_beats_a_fixed_location(work):
    chosen = get_profile("cpu").input_shape
    table = dynamic_range_at(chosen, 300, work)
    assert passes(table), table
    judged = table[table["judged"]]
    assert set(judged["class"]) == set(JUDGED)
    assert (judged["oracle"] >= judged["best fixed"] + 0.1).all()
    assert (judged["oracle"] > judged["random"]).all()
    # One size down (Ω 6×5) a pneumonia consolidation is smaller than half a cell: it fails.
    smaller = dynamic_range_at((chosen[0] - 64, chosen[1] - 64), 300, work)
    assert not passes(smaller)


def test_a_table_without_a_judged_class_is_an_error():
    import pandas as pd

    with pytest.raises(ValueError, match="no judged class"):
        passes(pd.DataFrame({"judged": [False], "passes": [True]}))


def test_the_committed_dynamic_range_table_reads_and_picks_the_cpu_input():
    from pathlib import Path

    from ggcam.experiment import design_checks as dc
    from ggcam.experiment import get_profile

    table = dc.read_dynamic_range(Path(__file__).parent.parent / "benchmarks" / "dynamic_range.csv")
    h, w = get_profile("cpu").input_shape
    assert dc.chosen_input(table) == f"{h}x{w}"
    assert dc.input_label(table, 0) == "192×160 (Ω 6×5)"
    assert dc.score(table, 0, "pointing", "oracle") == 0.26
    shown = dc.dynamic_range_display(table)
    assert len(shown.columns) <= 7 and set(shown["≥ 0.1"]) == {"✓", "✗"}


def test_a_broken_dynamic_range_table_is_named(tmp_path):
    from ggcam.experiment import design_checks as dc

    path = tmp_path / "dr.csv"
    path.write_text("input,class\n192x160,CHF\n")
    with pytest.raises(ValueError, match=r"dr\.csv: the dynamic-range table lacks column"):
        dc.read_dynamic_range(path)
