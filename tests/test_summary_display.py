"""The narrow tables the results pages show (``ggcam.analysis.summary_display``): at most seven
columns, the values of the wide tables they come from, headers in words."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_book import _synthetic_store

from ggcam.viz.report import number

_spec = importlib.util.spec_from_file_location(
    "check_html", Path(__file__).resolve().parent.parent / "book" / "check_html.py")
check_html = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_html)
table_problem = check_html.table_problem


def _fits(frame: pd.DataFrame) -> None:
    """As a page shows it (``report.styled`` prints floats with ``number``)."""
    cells = frame.map(lambda v: number(v) if isinstance(v, float) else str(v))
    rows = [list(map(str, frame.columns))] + cells.to_numpy().tolist()
    assert table_problem(rows) is None, table_problem(rows)


def test_paired_brief_keeps_the_paired_values(tmp_path):
    from ggcam.analysis import summary

    store = _synthetic_store(tmp_path)
    paired = summary.paired_table(store, n_boot=50)
    brief = summary.paired_brief(paired, "auc_ovo")
    auc = paired[paired["metric"] == "auc_ovo"]
    assert list(brief.columns) == ["network", "comparison", "seeds", "Δ [95% CI]", "p",
                                   "smallest p possible", "both arms learned"]
    assert len(brief) == len(auc) == 2
    assert brief["comparison"].iloc[0] == "ggcam-warm − standard (primary)"
    np.testing.assert_allclose(brief["p"], auc["p_holm"])
    assert brief["p"].iloc[0] == auc["p"].iloc[0]  # the primary p is not adjusted
    assert set(brief["both arms learned"]) == {"✓"}
    _fits(brief)


def test_paired_by_metric_puts_each_metric_in_a_column(tmp_path):
    from ggcam.analysis import summary

    store = _synthetic_store(tmp_path)
    paired = summary.paired_table(store, n_boot=50)
    wide = summary.paired_by_metric(paired, ["auc_ovo", "pointing", "cc", "interp_chf"])
    # interp_chf is not in the synthetic store: no column for it
    assert list(wide.columns) == ["network", "comparison", "seeds", "AUC (Hand & Till)",
                                  "pointing game", "CC(Ωʸ, Ψ)"]
    assert list(wide["comparison"]) == ["ggcam-warm − standard", "ggcam-warm − ggcam-shuffled"]
    assert list(wide["seeds"]) == ["6", "6"]
    row = paired[(paired["metric"] == "cc") & (paired["a"] == "standard")].iloc[0]
    assert wide["CC(Ωʸ, Ψ)"].iloc[0] == (f"{row['estimate']:+.3f} [{row['low']:+.3f}, "
                                         f"{row['high']:+.3f}], p {number(row['p_holm'], 2)}")
    _fits(wide)
    assert summary.paired_by_metric(paired.iloc[:0], ["auc_ovo"]).empty


def test_run_display_and_summary(tmp_path):
    from ggcam.analysis import summary

    store = _synthetic_store(tmp_path)
    runs = pd.read_csv(store.path / "runs.csv")
    runs.loc[0, ["auc_ovo_low", "auc_ovo_high", "epochs", "best_epoch"]] = [0.5, 0.7, 12, 9]
    runs.loc[1:, ["auc_ovo_low", "auc_ovo_high", "epochs", "best_epoch"]] = [0.4, 0.6, 12, 3]
    runs.loc[0, ["sigma_frozen", "optimizer_overflow", "learned"]] = [True, True, False]
    runs[["recall_normal", "recall_chf", "recall_pneumonia"]] = 0.5
    runs["learned_reason"] = "as recorded"  # judged by the current rule when written: kept
    runs.loc[1, ["recall_normal", "learned"]] = [0.05, False]  # why it did not learn, in its flags
    runs.to_csv(store.path / "runs.csv", index=False)
    shown = summary.run_display(store)
    assert list(shown.columns) == ["network", "arm", "seed", "AUC [95% CI]", "learned",
                                   "epochs (best)", "flags"]
    first = shown[(shown["arm"] == "standard") & (shown["seed"] == 0)].iloc[0]
    assert first["flags"] == "σ_sm frozen" and first["learned"] == "✗"
    assert first["epochs (best)"] == "12 (9)" and first["AUC [95% CI]"].endswith("[0.500, 0.700]")
    second = shown[(shown["arm"] == "standard") & (shown["seed"] == 1)].iloc[0]
    assert second["flags"] == "normal recalled < 10%" and second["learned"] == "✗"
    assert list(shown["arm"].unique()) == ["standard", "ggcam-warm", "ggcam-shuffled"]
    _fits(shown)
    per_arm = summary.run_summary(summary.runs_of(store))
    standard = per_arm[per_arm["arm"] == "standard"].iloc[0]
    assert standard["learned"] == "4 of 6" and standard["arm counts"] == "✓"
    assert standard["CI width"] == pytest.approx(0.2)
    _fits(per_arm)
    assert summary.run_display(summary.open_results("cpu", tmp_path / "none")).empty


def test_anova_display_keeps_the_tests(tmp_path):
    from ggcam.analysis import summary

    runs = summary.runs_of(_synthetic_store(tmp_path))
    anova = summary.anova_table(runs, "auc_ovo")
    shown = summary.anova_display(anova)
    assert len(shown.columns) == 7 and list(shown["p, Welch"]) == list(anova["p (Welch)"])
    assert list(shown["arms"]) == ["ggcam-warm vs standard", "ggcam-shuffled vs standard"]
    no_runs = anova.assign(**{"median (arm)": [np.nan, anova["median (arm)"].iloc[1]]})
    assert list(summary.anova_display(no_runs)["arms"]) == ["ggcam-shuffled vs standard"]
    assert shown["median"].iloc[0] == (f"{number(anova['median (reference)'].iloc[0])} → "
                                       f"{number(anova['median (arm)'].iloc[0])}")


def test_configs_split_shared_and_differing_settings(tmp_path):
    from ggcam.analysis import summary

    store = summary.open_results("cpu", tmp_path)  # no runs: the profile's arms
    shared = summary.configs_shared(store)
    assert shared.startswith("Every arm: ") and "optimiser adam" in shared
    loss, maps = summary.configs_loss(store), summary.configs_maps(store)
    assert "optimizer" not in loss and "P" in loss and len(loss.columns) <= 7
    assert "Ψ" in maps and "Ω" not in maps and len(maps.columns) <= 7  # Ω: Σ in every arm
    assert "Ω = Σ (eq. 4)" in shared
    arms = ("ggcam-warm", "ggcam-shuffled")  # the same settings, but Ψ
    compared = summary.configs_compared(store, arms)
    assert list(compared["setting"]) == ["Ψ"]
    assert list(compared.columns) == ["setting", "ResNet18 ggcam-warm", "ResNet18 ggcam-shuffled"]
    everything = summary.configs_compared(store, arms, differing_only=False)
    assert len(everything) > len(compared)
    for frame in (loss, maps, compared):
        _fits(frame)


def test_eq12_by_class_and_agreement_with_the_centre_prior(tmp_path):
    from ggcam.analysis import summary

    runs = summary.runs_of(_synthetic_store(tmp_path))
    runs = runs.assign(interp_chf=0.2, interp3x3_chf=0.8, interp_chance_chf=0.05,
                       **{f"{k}_centre": 0.5 for k in ("cc", "kl", "sim", "nss", "auc_judd")},
                       kl=1.0, sim=0.4, nss=0.3, auc_judd=0.7)
    eq12 = summary.eq12_by_class(runs, "chf")
    assert list(eq12.columns) == ["network", "arm", "runs", "peak in region", "3×3 in region",
                                  "random peak"]
    assert eq12["3×3 in region"].eq(0.8).all()
    with pytest.raises(ValueError, match="cls must be one of"):
        summary.eq12_by_class(runs, "normal")
    agreement = summary.agreement_display(runs)
    assert list(agreement.columns) == ["network", "arm", "CC", "KL", "SIM", "NSS", "AUC-Judd"]
    assert list(agreement["arm"]) == ["standard", "ggcam-warm", "ggcam-shuffled", "mean-gaze map"]
    assert agreement.iloc[-1, 2:].eq(0.5).all()
    _fits(agreement)
