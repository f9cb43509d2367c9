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
