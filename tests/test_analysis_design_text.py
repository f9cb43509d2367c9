"""A study's design in words, read off its profile (``ggcam.analysis.design_text``)."""

from dataclasses import replace

from ggcam.analysis import design_text
from ggcam.experiment import get_profile
from ggcam.experiment.design import OTHER_ARMS, Arm, study_design


def test_the_cuts_follow_the_agreed_order_and_only_those_made():
    cpu = get_profile("cpu")
    cuts = design_text.budget_cuts(cpu)
    assert [c.split(" (")[0].split(" runs")[0] for c in cuts] == [
        "the other GG-CAM arms", "the oracle", "8 base replicates instead of 10"]
    # A design that keeps everything cuts nothing.
    arms, doses = study_design("resnet18", base_seeds=10, other_seeds=3, dose_seeds=6, n_train=400)
    assert design_text.budget_cuts(replace(cpu, arms=arms, doses=doses)) == []
    # Replicates alone: the oracle still runs at every training-set size.
    arms, doses = study_design("resnet18", base_seeds=8, other_seeds=3, dose_seeds=6, n_train=400)
    assert design_text.budget_cuts(replace(cpu, arms=arms, doses=doses)) == [
        "8 base replicates instead of 10"]
    # Arms listed with no seeds are not run.
    empty = tuple(Arm(a.variant, a.networks, ()) if a.variant in OTHER_ARMS else a for a in arms)
    assert design_text.budget_cuts(replace(cpu, arms=empty, doses=doses))[0].startswith("the other GG-CAM arms")


def test_the_design_list_names_every_fixed_choice_and_the_cuts():
    text = design_text.study_design_markdown(get_profile("cpu"))
    assert text.count("\n- ") == 6
    assert "400 training and 200 validation images" in text and "600 images is the test set" in text
    assert "the best epoch by validation AUC, at most 30 epochs" in text
    assert "equivalence margin ±0.03" in text
    assert text.endswith("8 base replicates instead of 10.")
    assert "re-splits one pool of 800 images" in design_text.study_design_markdown(get_profile("cpu-v1"))
