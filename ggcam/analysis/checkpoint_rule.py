"""Does the answer hinge on the checkpoint rule? Every arm of a study chooses its epoch by one
criterion, and the last epoch's predictions are stored too (``auc_ovo_last``), so each paired
ΔAUC can be read twice: at the chosen epoch and at the last. ``convergence_sentence`` states
the study's bar that training was long enough (≥ 80% of runs choose an epoch before the last
fifth of the budget, or stop early).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ggcam.analysis.design_text import CRITERIA_WORDS
from ggcam.analysis.effects import REFERENCE, arm_effects, base_runs, best_epoch_share
from ggcam.analysis.headline import ci_text
from ggcam.experiment.profiles import Profile
from ggcam.study import short_label

CONVERGENCE_BAR = 0.8  # share of runs that must choose before the last fifth of the budget
CURVES_FIGURE = """{numref}`fig-validation` shows what the rule saw, run by run.

```{glue:figure} fig_validation
:name: fig-validation
:alt: Validation AUC and validation cross-entropy per epoch of every run of the primary comparison, one column per arm, a line per replicate and a dot at the epoch each run kept.

**What the checkpoint rule saw.** Validation AUC (top) and cross-entropy (bottom, log scale)
per epoch of each run of the primary comparison at the base point; dots: the epoch each run
kept. A run stops after its patience without a better validation AUC, so where a curve swings
widely from epoch to epoch the rule can stop a run before it has levelled off.
```"""


def has_last_epoch(runs: pd.DataFrame) -> bool:
    """True when the runs stored their last epoch's test AUC (the second study on)."""
    return "auc_ovo_last" in runs.columns and runs["auc_ovo_last"].notna().any()


def auc_effects(runs: pd.DataFrame, profile: Profile, column: str = "auc_ovo") -> pd.DataFrame:
    """Each arm's paired ΔAUC against the standard network, indexed by arm; ``column`` picks
    which AUC (``auc_ovo_last``: the last epoch's)."""
    e = arm_effects(runs.assign(auc_ovo=runs[column]), profile)
    return e[(e["metric"] == "auc_ovo") & (e["reference"] == REFERENCE)].set_index("arm")


def _delta(effects: pd.DataFrame, arm: str) -> str:
    return ci_text(effects.loc[arm]) if arm in effects.index and effects.loc[arm, "n"] > 0 else "–"


def checkpoint_table(runs: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """Per arm at the base point: runs, median epochs trained and chosen, the share chosen
    before the last fifth of the budget (or early-stopped), and ΔAUC against the standard
    network at the chosen epoch and at the last, with 95% intervals over replicates."""
    base = base_runs(runs, profile)
    chosen = auc_effects(base, profile, "auc_ovo")
    last = auc_effects(base, profile, "auc_ovo_last")
    rows = []
    for arm in [a for a in profile.variants if a in set(base["variant"])]:
        r = base[base["variant"] == arm]
        rows.append({
            "arm": short_label(arm),
            "runs": len(r),
            "epochs (median)": float(np.median(r["epochs"])),
            "chosen (median)": float(np.median(r["best_epoch"])),
            "before last fifth": f"{best_epoch_share(r, profile):.0%}",
            "ΔAUC, chosen": _delta(chosen, arm),
            "ΔAUC, last": _delta(last, arm),
        })
    return pd.DataFrame(rows)


def convergence_sentence(runs: pd.DataFrame, profile: Profile) -> str:
    """The convergence bar in words, over the primary arms' runs in ``runs`` (the pages pass
    the base point's)."""
    primary = runs[runs["variant"].isin(profile.primary)]
    if primary.empty:
        return "No run of the primary comparison has finished yet."
    share = best_epoch_share(primary, profile)
    shares = {short_label(a): best_epoch_share(primary[primary["variant"] == a], profile)
              for a in profile.primary if (primary["variant"] == a).any()}
    per_arm = ", ".join(f"{a} {v:.0%}" for a, v in shares.items())
    if share >= CONVERGENCE_BAR:
        return (f"{share:.0%} of the {len(primary)} runs of the primary comparison ({per_arm}) "
                f"chose an epoch before the last fifth of their {profile.max_epochs}-epoch budget "
                f"or stopped early: the study meets its bar of {CONVERGENCE_BAR:.0%}.")
    return (f"Only {share:.0%} of the {len(primary)} runs of the primary comparison ({per_arm}) "
            f"chose an epoch before the last fifth of their {profile.max_epochs}-epoch budget or "
            f"stopped early, below the study's bar of {CONVERGENCE_BAR:.0%}: some runs were still "
            f"improving when the budget ended, which favours the arm that converges faster"
            f"{_faster(shares)}.")


def _faster(shares: dict[str, float]) -> str:
    """", here X (the arm that stopped improving sooner)", when the arms' shares differ."""
    if len(shares) < 2 or len(set(shares.values())) < 2:
        return ""
    ranked = sorted(shares.items(), key=lambda kv: kv[1])
    (slow, _), (fast, fast_share) = ranked[0], ranked[-1]
    return (f", here {fast}: the runs the budget cut short are {'all' if fast_share >= 1 else 'mostly'} "
            f"{slow}'s, so the budget, if anything, understates {slow}'s results. Early stopping "
            f"cuts the other way: where the validation AUC swings from epoch to epoch it can end a "
            f"run before it levels off, and it is {fast}'s runs that ended or peaked early; so the "
            f"net direction of the two is not known")


def last_epoch_sentence(runs: pd.DataFrame, profile: Profile) -> str:
    """Whether the primary ΔAUC keeps its sign and interval at the last epoch."""
    base = base_runs(runs, profile)
    arm = profile.primary[1]
    chosen = auc_effects(base, profile, "auc_ovo")
    last = auc_effects(base, profile, "auc_ovo_last")
    if arm not in chosen.index or chosen.loc[arm, "n"] < 2 or last.loc[arm, "n"] < 2:
        return "Not enough paired replicates yet to compare the checkpoint rules."
    c, e = chosen.loc[arm], last.loc[arm]
    same = (c["low"] > 0) == (e["low"] > 0) and (c["high"] < 0) == (e["high"] < 0)
    label = short_label(arm)
    return (f"{label} against the standard network: ΔAUC {ci_text(c)} at the chosen epoch, "
            f"{ci_text(e)} at each run's last epoch (where early stopping or the budget ended it). "
            f"The answer "
            f"{'does not hinge' if same else 'hinges'} on which of these two epochs is kept: the "
            f"two intervals {'say the same' if same else 'disagree'} about whether the effect "
            "is above, below or around zero. Whether a run left to train its whole budget, "
            "without early stopping, would change it was not tested.")


def checkpoint_markdown(runs: pd.DataFrame, profile: Profile) -> str:
    """The page's paragraph: the checkpoint rule, the convergence bar, chosen against last."""
    if not has_last_epoch(runs) or not profile.criterion:
        return (f"The study shown (`{profile.name}`) let each arm choose its epoch by its own "
                "criterion and stored only that epoch's predictions, so it cannot answer this; "
                "the current study can.")
    rule = CRITERIA_WORDS.get(profile.criterion, profile.criterion)
    return (f"Every arm keeps the epoch with the best {rule} on its replicate's "
            f"{profile.replicates.n_val} validation images, and every run also stores its last "
            f"epoch's predictions. {convergence_sentence(runs, profile)} "
            f"{last_epoch_sentence(runs, profile)}")
