"""The study's answer from a runs table (``ggcam.analysis.effects``), on made-up runs."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from ggcam.analysis.dose import dose_response
from ggcam.analysis.effects import arm_effects, best_epoch_share, paper_gain, verdicts
from ggcam.experiment import get_profile

CPU = get_profile("cpu")


def _runs(delta=0.01, oracle=0.05, seeds=8, noise=0.02):
    """Base runs of every arm plus the dose points, with known paired effects on AUC."""
    rng = np.random.default_rng(0)
    rows = []
    base = {s: 0.75 + rng.normal(0, 0.03) for s in range(seeds)}
    eff = {"standard": 0.0, "ggcam-warm": delta, "ggcam-oracle": oracle,
           "ggcam-shuffled": -0.05, "ggcam-centre": -0.02}
    for s in range(seeds):
        for arm, e in eff.items():
            rows.append(dict(variant=arm, seed=s, n_train=400, informativeness=0.6,
                             auc_ovo=base[s] + e + rng.normal(0, noise), pointing_pneumonia=0.1 + e,
                             cc_partial=0.1 + e, best_epoch=10, stop_reason="early_stop"))
        for n in (200, 800):
            for arm in ("standard", "ggcam-warm"):
                rows.append(dict(variant=arm, seed=s, n_train=n, informativeness=0.6,
                                 auc_ovo=base[s] + (n / 4000 if arm == "ggcam-warm" else 0),
                                 pointing_pneumonia=0.1, cc_partial=0.1, best_epoch=30,
                                 stop_reason="max_epochs"))
        for i in (0.3, 1.0):
            rows.append(dict(variant="ggcam-warm", seed=s, n_train=400, informativeness=i,
                             auc_ovo=base[s] + i / 10, pointing_pneumonia=0.1, cc_partial=0.1,
                             best_epoch=12, stop_reason="early_stop"))
    return pd.DataFrame(rows)


def test_arm_effects_pair_replicates_and_test_equivalence_by_hand():
    runs = _runs()
    eff = arm_effects(runs, CPU)
    row = eff[(eff["arm"] == "ggcam-warm") & (eff["metric"] == "auc_ovo") & (eff["family"] == "primary")].iloc[0]
    a = runs[(runs["variant"] == "standard") & (runs["n_train"] == 400) & (runs["informativeness"] == 0.6)]
    b = runs[(runs["variant"] == "ggcam-warm") & (runs["n_train"] == 400) & (runs["informativeness"] == 0.6)]
    d = b.set_index("seed")["auc_ovo"] - a.set_index("seed")["auc_ovo"]
    half = sps.t.ppf(0.975, 7) * d.std(ddof=1) / np.sqrt(8)
    assert row["n"] == 8 and row["estimate"] == pytest.approx(d.mean())
    assert (row["low"], row["high"]) == pytest.approx((d.mean() - half, d.mean() + half))
    assert bool(row["excludes_paper"]) == (d.mean() + half < paper_gain())
    assert set(eff["family"]) == {f.name for f in CPU.families}
    ctrl = eff[eff["family"] == "controls"]
    assert ctrl["p_holm"].notna().all() and (ctrl["p_holm"] >= ctrl["p"]).all()


def test_dose_points_pair_with_the_right_standard_run():
    runs = _runs()
    dose = dose_response(runs, CPU, metrics=("auc_ovo",))
    size = dose[(dose["factor"] == "n_train") & (dose["arm"] == "ggcam-warm")].set_index("value")
    assert size.loc[200, "estimate"] == pytest.approx(0.05) and size.loc[800, "estimate"] == pytest.approx(0.2)
    reader = dose[dose["factor"] == "informativeness"].set_index("value")
    # Another reader pairs with the replicate's base standard run (same images, other gaze).
    std = runs[(runs["variant"] == "standard") & (runs["n_train"] == 400)].set_index("seed")["auc_ovo"]
    for i in (0.3, 1.0):
        warm = runs[(runs["variant"] == "ggcam-warm") & (runs["informativeness"] == i)].set_index("seed")["auc_ovo"]
        assert reader.loc[i, "estimate"] == pytest.approx((warm - std).mean())
    # The wrong-gaze control at the base point stands at informativeness 0, paired as there.
    anchor = dose[dose["arm"] == "ggcam-shuffled"]
    assert list(anchor["factor"]) == ["informativeness"] and list(anchor["value"]) == [0.0]
    shuffled = runs[(runs["variant"] == "ggcam-shuffled")].set_index("seed")["auc_ovo"]
    assert anchor.iloc[0]["estimate"] == pytest.approx((shuffled - std).mean())
    assert (dose["n"] == 8).all()


def test_verdicts_are_plain_sentences_and_say_what_cannot_be_excluded():
    v = verdicts(arm_effects(_runs(delta=0.0, noise=0.04), CPU))
    assert v["classification"].startswith("Gaze supervision did not change ResNet18's test AUC")
    assert "exclude a gain of +0.055 (the paper's)" in v["classification"]
    empty = verdicts(arm_effects(_runs().iloc[:0], CPU))
    assert all(s.startswith("Not enough paired replicates yet") for s in empty.values())


def test_verdicts_name_the_oracle_and_the_mean_gaze_prior_only_where_the_study_has_them():
    effects = arm_effects(_runs(oracle=0.08, noise=0.01), CPU)
    v = verdicts(effects)
    assert v["oracle"].startswith("Supervising the maps with the true findings instead raised")
    assert "; the mean-gaze prior for every image: Δ -0.0" in v["controls"]
    prior = effects[(effects["arm"] == "ggcam-centre") & (effects["metric"] == "auc_ovo")
                    & (effects["reference"] == "standard")].iloc[0]
    said = ", equivalent to no change)" if prior["equivalent"] else ", not shown equivalent to no change)"
    assert said in v["controls"]
    assert list(v) == ["classification", "localisation", "gaze", "oracle", "controls"]
    no_oracle = arm_effects(_runs(), CPU)
    no_oracle = no_oracle[no_oracle["arm"] != "ggcam-oracle"]
    assert "oracle" not in verdicts(no_oracle)


def test_best_epoch_share_counts_early_stops_and_early_checkpoints():
    runs = _runs()
    share = best_epoch_share(runs, CPU)
    late = (runs["best_epoch"] > 24) & (runs["stop_reason"] != "early_stop")
    assert share == pytest.approx(1 - late.mean())


def test_the_headline_and_dose_response_figures_draw_every_arm_and_guide(tmp_path):
    from matplotlib.figure import Figure

    from ggcam.viz.figures.study import dose_response_figure, effects_figure

    runs = _runs()
    fig = effects_figure(arm_effects(runs, CPU), CPU.equivalence_margin, paper_gain())
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["GG-CAM", "oracle", "shuffled Ψ", "mean-gaze prior"]
    fig.savefig(tmp_path / "headline.png")
    points = dose_response(runs, CPU)
    dose = dose_response_figure(points, CPU.equivalence_margin, paper_gain(),
                                planned={"n_train": [200, 400, 800], "informativeness": [0.3, 0.6, 1.0]})
    assert len(dose.axes) == 4
    # Every planned value is a tick, with its paired replicates; a point not in yet gets "–".
    ticks = [t.get_text() for t in dose.axes[1].get_xticklabels()]
    n_at = points[points["metric"] == "auc_ovo"].groupby(["factor", "value"])["n"].max()
    assert ticks[0] == f"0\nn = {n_at[('informativeness', 0.0)]}" and len(ticks) == 4
    sparse = dose_response_figure(points[points["value"] != 800], CPU.equivalence_margin, paper_gain(),
                                  planned={"n_train": [200, 400, 800], "informativeness": [0.3, 0.6, 1.0]})
    assert sparse.axes[0].get_xticklabels()[-1].get_text() == "800\n–"
    assert sparse.axes[0].get_xscale() == "log"
    legend = [t.get_text() for t in dose.legends[0].get_texts()]
    assert "shuffled Ψ (another image's gaze)" in legend and "GG-CAM" in legend
    dose.savefig(tmp_path / "dose.png")


def test_a_resplit_pool_gets_nadeau_bengios_corrected_interval():
    v1 = get_profile("cpu-v1")  # one pool of 800 re-split per seed: 50% train, 40% test
    runs = _runs(delta=0.01, noise=0.03).assign(network="resnet18")
    eff = arm_effects(runs[(runs["n_train"] == 400) & (runs["informativeness"] == 0.6)], v1)
    row = eff[(eff["arm"] == "ggcam-warm") & (eff["metric"] == "auc_ovo")].iloc[0]
    base = runs[(runs["n_train"] == 400) & (runs["informativeness"] == 0.6)]
    d = (base[base["variant"] == "ggcam-warm"].set_index("seed")["auc_ovo"]
         - base[base["variant"] == "standard"].set_index("seed")["auc_ovo"])
    se = np.sqrt(1 / 8 + 0.4 / 0.5) * d.std(ddof=1)
    half = sps.t.ppf(0.975, 7) * se
    assert (row["low"], row["high"]) == pytest.approx((d.mean() - half, d.mean() + half))
    assert row["p"] == pytest.approx(2 * sps.t.sf(abs(d.mean()) / se, 7))
    assert row["interval"].startswith("corrected")
    plain = arm_effects(runs, CPU)
    assert (plain["interval"] == "t").all()


def test_verdicts_leave_out_a_metric_the_study_did_not_record():
    runs = _runs().drop(columns=["pointing_pneumonia"])
    runs["pointing_pneumonia"] = np.nan
    v = verdicts(arm_effects(runs, CPU))
    assert "localisation" not in v and "gaze" in v and v["controls"].startswith("Training on another")
    from ggcam.analysis.effects import verdict_markdown
    assert verdict_markdown(v).splitlines()[0].startswith("- **Classification.**")


def test_the_front_page_words_for_both_designs():
    from ggcam.analysis import headline

    v1 = get_profile("cpu-v1")
    runs = _runs().assign(network="resnet18")
    runs = runs[(runs["n_train"] == 400) & (runs["informativeness"] == 0.6)]
    corrected, plain = arm_effects(runs, v1), arm_effects(runs, CPU)
    assert "corrected resampled t (test/train ratio 0.80), 2.7 times as wide" in headline.interval_sentence(corrected, v1)
    assert "scored on one shared test set of 600 images" in headline.interval_sentence(plain, CPU)
    assert "t intervals over replicates" in headline.interval_sentence(plain, CPU)
    assert "2.7 times as wide at 8 seeds" in headline.resplit_caveat(v1)
    assert headline.resplit_caveat(CPU) == ""
    table = headline.effects_display(plain)
    assert list(table.columns) == ["comparison", "metric", "replicates", "Δ [95% interval]", "p (Holm)", "family"]
    assert table["comparison"].iloc[0] == "GG-CAM − standard" and (table["replicates"] == 8).all()


def test_a_raised_auc_is_compared_with_the_papers_gain_in_words():
    up = verdicts(arm_effects(_runs(delta=0.1, noise=0.01), CPU))["classification"]
    assert up.startswith("Gaze supervision raised") and "its interval lies above +0.055, the gain the paper reports for ResNet50 on real data" in up
    near = verdicts(arm_effects(_runs(delta=0.05, noise=0.02), CPU))["classification"]
    assert "raised" in near and "as large as the paper's (+0.055) is inside the interval" in near


def test_the_dose_section_waits_for_two_replicates_off_the_base_point():
    from ggcam.analysis.dose import dose_response
    from ggcam.analysis.headline import dose_markdown

    runs = _runs(seeds=3)
    runs["run_id"] = [f"r{i}" for i in range(len(runs))]
    full = dose_markdown(CPU, dose_response(runs, CPU), runs)
    assert "{glue:figure} fig_dose" in full and "{numref}`fig-dose`" in full
    assert "open marker at informativeness 0 is the wrong-gaze control" in full
    assert "3 replicates at the base point, up to 3 at the others" in full
    assert "(0 of 36 dose runs done: provisional, filled in as the sweep reaches them)" in full
    base = runs[(runs["n_train"] == 400) & (runs["informativeness"] == 0.6)]
    waiting = dose_markdown(CPU, dose_response(base, CPU), base)  # base pairs only
    assert waiting.startswith("Not enough paired replicates yet at the dose points (0 of ")
    assert waiting.endswith(
        "Planned, one factor at a time: training images 200 and 800 around the base point's 400 "
        "(`ggcam-warm`, `standard`); reader informativeness 0.3 and 1 around the base point's 0.6 "
        "(`ggcam-warm`); 6 replicates each, each GG-CAM run paired with its replicate's standard "
        "run on the same images. The oracle runs at the base point only (cut to fit the budget).")
    assert "measured one point only" in dose_markdown(get_profile("cpu-v1"), dose_response(base, CPU), base)
    assert "once a point off the base point has two" in waiting


def test_the_dose_figure_ticks_every_planned_value_with_the_base_point():
    from ggcam.analysis.dose_text import planned_values

    assert planned_values(CPU) == {"n_train": [200.0, 400.0, 800.0], "informativeness": [0.3, 0.6, 1.0]}


def test_the_learned_sensitivity_repeats_the_primary_comparison_on_replicates_where_both_learned():
    from ggcam.analysis.headline import learned_sensitivity

    runs = _runs(seeds=4).assign(learned=True)
    text = learned_sensitivity(runs, CPU)
    assert text.startswith("On the 4 of 4 replicates in which both arms learned")
    runs.loc[(runs["variant"] == "standard") & (runs["seed"] == 0), "learned"] = False
    base = runs[(runs["n_train"] == 400) & (runs["informativeness"] == 0.6)]
    d = (base[base["variant"] == "ggcam-warm"].set_index("seed")["auc_ovo"]
         - base[base["variant"] == "standard"].set_index("seed")["auc_ovo"]).drop(0)
    assert f"On the 3 of 4 replicates in which both arms learned, the primary ΔAUC is {d.mean():+.3f} [" \
        in learned_sensitivity(runs, CPU)
    runs.loc[runs["variant"] == "standard", "learned"] = False
    assert learned_sensitivity(runs, CPU).startswith("Fewer than two replicates have both arms learned (0 of 4)")


@pytest.mark.parametrize("ours, says", [
    (None, "radiologists' eye tracking: test AUC 0.770 without"),
    ({"estimate": -0.007, "low": -0.104, "high": 0.090},
     "found the same pattern as here (Δ -0.007, 95% interval -0.104 to +0.090): test AUC 0.770"),
    ({"estimate": 0.125, "low": 0.094, "high": 0.156},
     "unlike here (where the test AUC rose: Δ +0.125, 95% interval +0.094 to +0.156), found no "
     "change in classification: test AUC 0.770"),
])
def test_the_real_data_study_agrees_with_ours_only_where_our_interval_holds_zero(ours, says):
    # Before: "found the same pattern" was printed whatever our study found.
    from ggcam.analysis.paper_values import related_sentence

    text = related_sentence(ours)
    assert text.startswith("On real chest X-rays (REFLACX), {cite:t}`bigolinlanfredi2023localization`")
    assert says in text and ("same pattern" in text) == (ours is not None and ours["low"] <= 0)


def test_the_effnet_probes_are_pointed_to_only_where_the_study_trained_effnet():
    from ggcam.analysis.summary import probes_sentence

    assert probes_sentence(pd.DataFrame({"network": ["resnet18"]})) == ""
    assert "results/cpu-probes/README.md" in probes_sentence(pd.DataFrame({"network": ["resnet18", "efficientnet_b0"]}))


def test_a_family_that_cannot_reach_005_makes_its_intervals_descriptive():
    from ggcam.analysis.headline import holm_floor_clause

    effects = pd.DataFrame({"family": ["controls"] * 8 + ["primary"], "reference": "standard",
                            "arm": ["ggcam-shuffled"] + ["x"] * 7 + ["ggcam-warm"],
                            "metric": "auc_ovo", "n": 8, "p_holm": 0.0703, "interval": "t"})
    # 8 tests × 2/2^8 = 0.0625 > 0.05: no result in the family could be called
    assert holm_floor_clause(effects, "ggcam-shuffled") == (
        " As tests of a difference both are descriptive: with 8 replicates this family of 8 tests cannot reach p < 0.05 "
        "(its smallest possible Holm p is 0.0625; shuffled Ψ's is 0.0703).")
    assert holm_floor_clause(effects, "ggcam-warm") == ""  # 1 test: 0.0078
    assert holm_floor_clause(effects.assign(interval="corrected t (re-split pool)"), "ggcam-shuffled") == ""


def test_the_arms_table_names_each_arm_of_the_study_and_its_psi():
    from ggcam.analysis.headline import arms_table

    table = arms_table(CPU).set_index("arm")
    assert list(table.index) == ["standard", "ggcam-warm", "ggcam-oracle", "ggcam-shuffled", "ggcam-centre"]
    assert table.loc["ggcam-centre", "in figures"] == "mean-gaze prior"
    assert table.loc["ggcam-oracle", "its maps are pulled towards"] == "the phantom's true findings"
    assert "ggcam-oracle" not in set(arms_table(get_profile("cpu-v1"))["arm"])  # the first study had none


def test_an_auc_equivalent_to_no_change_says_so_with_its_tost_p():
    effects = arm_effects(_runs(delta=0.0, noise=0.005), CPU)
    row = effects[(effects["arm"] == "ggcam-warm") & (effects["metric"] == "auc_ovo")
                  & (effects["reference"] == "standard")].iloc[0]
    assert row["equivalent"] and row["tost_p"] < 0.05
    text = verdicts(effects)["classification"]
    assert text.startswith("Gaze supervision did not change ResNet18's test AUC")
    assert f"; it is equivalent to no change within ±0.03 (two one-sided tests, unadjusted p = {row['tost_p']:.2g})" in text
