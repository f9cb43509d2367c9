"""What a results store says: the tables and sentences the book's results pages show.

Pages call these and display the result; the logic lives here (design.md, "The book").

* ``arm_status``: per network × arm, how many runs learned (``RunRecord.learned``). An arm
  whose runs mostly did not learn is marked and kept out of conclusions.
* ``paired_table``: the paired comparisons of the study (``ggcam.stats.paired_summary``):
  the primary comparison, named in the profile before the sweep ran, unadjusted; every other
  comparison Holm-adjusted together.
* ``answer``: one row per network — the paper's medians beside ours, the paired ΔAUC with its
  95% interval, the pointing-game change, whether gaze beats the two controls.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import FAMILY_OF, NETWORK_LABELS, VARIANT_LABELS, VARIANTS
from ..paper_values import PAPER_MEDIAN_AUC
from ..stats import paired_summary
from .profiles import CONTROLS, PROFILES, RunSpec, get_profile, run_config
from .store import ResultsStore

LEARNED_SHARE = 0.5  # an arm "learned" when at least this share of its runs did
PAIRED_METRICS = ("auc_ovo", "pointing", "cc")


def network_label(network: str) -> str:
    return NETWORK_LABELS.get(network, network)


def variant_label(variant: str) -> str:
    return VARIANT_LABELS.get(variant, variant)


def all_predictions(store: ResultsStore) -> pd.DataFrame:
    """Every run's test predictions, with its network, variant and seed."""
    runs = store.runs()
    frames = [store.predictions(r.run_id).assign(network=r.network, variant=r.variant, seed=r.seed)
              for r in runs.itertuples()]
    return pd.concat(frames, ignore_index=True)


def arm_status(runs: pd.DataFrame) -> pd.DataFrame:
    """Per network × arm: runs, how many learned, single-class runs, median AUC, flags."""
    g = runs.groupby(["network", "variant"], sort=False)
    table = pd.DataFrame({
        "runs": g.size(), "learned": g["learned"].sum().astype(int),
        "single class": g["single_class"].sum().astype(int),
        "σ_sm frozen": g["sigma_frozen"].sum().astype(int),
        "sigmoid saturated": g["sigmoid_saturated"].sum().astype(int),
        "median AUC": g["auc_ovo"].median(),
    }).reset_index()
    table["arm learned"] = table["learned"] >= LEARNED_SHARE * table["runs"]
    order = {v: i for i, v in enumerate(VARIANTS)}
    return table.sort_values(["network", "variant"], key=lambda c: c.map(order) if c.name == "variant"
                             else c).reset_index(drop=True)


def comparisons(runs: pd.DataFrame, primary: tuple[str, str]) -> list[tuple[str, str]]:
    """The study's comparisons among the arms present: primary, gaze vs each control, and
    each other GG-CAM arm against standard."""
    present = set(runs["variant"])
    ref, arm = primary
    pairs = [primary] + [(c, arm) for c in CONTROLS]
    pairs += [(ref, v) for v in VARIANTS if v not in (ref, arm, *CONTROLS)]
    return [(a, b) for a, b in pairs if a in present and b in present]


def paired_table(store: ResultsStore, metrics=PAIRED_METRICS, n_boot: int = 2000,
                 seed: int = 0) -> pd.DataFrame:
    """Paired differences (b − a) per network × comparison × metric, with intervals and
    p-values; ``usable`` is False where either arm did not learn."""
    runs = store.runs()
    primary = _primary(store)
    pairs = comparisons(runs, primary)
    preds = all_predictions(store)
    status = arm_status(runs).set_index(["network", "variant"])["arm learned"]
    tables = []
    for metric in metrics:
        if runs[metric].notna().sum() == 0:
            continue
        t = paired_summary(runs, metric, pairs, primary=primary, predictions=preds,
                           n_boot=n_boot, seed=seed)
        tables.append(t)
    table = pd.concat(tables, ignore_index=True)
    table["usable"] = [bool(status.get((n, a), False) and status.get((n, b), False))
                       for n, a, b in zip(table["network"], table["a"], table["b"])]
    return table


def _primary(store: ResultsStore) -> tuple[str, str]:
    prof = PROFILES.get(store.profile)
    return prof.primary if prof else ("standard", "ggcam-warm")


def _fmt_ci(row) -> str:
    return f"{row['estimate']:+.3f} [{row['low']:+.3f}, {row['high']:+.3f}]"


def answer(store: ResultsStore, paired: pd.DataFrame | None = None, n_boot: int = 2000) -> pd.DataFrame:
    """The front page's table: per network, the paper beside ours and the paired answer."""
    paired = paired if paired is not None else paired_table(store, n_boot=n_boot)
    runs = store.runs()
    ref, arm = _primary(store)
    rows = []
    for network, part in runs.groupby("network", sort=False):
        fam = FAMILY_OF.get(network, network)
        p = paired[paired["network"] == network]

        def cell(a, b, metric):
            r = p[(p["a"] == a) & (p["b"] == b) & (p["metric"] == metric)]
            return (_fmt_ci(r.iloc[0]) + ("" if r.iloc[0]["usable"] else " (did not learn)")
                    if len(r) else "–")

        def pval(a, b, metric, col):
            r = p[(p["a"] == a) & (p["b"] == b) & (p["metric"] == metric)]
            return float(r.iloc[0][col]) if len(r) else np.nan

        med = part.groupby("variant")["auc_ovo"].median()
        rows.append({
            "network": network_label(network),
            "paper: median AUC standard → GG-CAM": (
                f"{PAPER_MEDIAN_AUC[(fam, 'standard')]:.3f} → {PAPER_MEDIAN_AUC[(fam, 'ggcam')]:.3f}"
                f" ({network_label(fam)}, real data)"),
            f"ours: median AUC {ref} → {arm}": f"{med.get(ref, np.nan):.3f} → {med.get(arm, np.nan):.3f}",
            "paired ΔAUC [95% CI]": cell(ref, arm, "auc_ovo"),
            "p (sign-flip)": pval(ref, arm, "auc_ovo", "p"),
            "Δ pointing game [95% CI]": cell(ref, arm, "pointing"),
            "gaze − shuffled ΔAUC": cell("ggcam-shuffled", arm, "auc_ovo"),
            "gaze − centre ΔAUC": cell("ggcam-centre", arm, "auc_ovo"),
            "seeds": int(p[(p["a"] == ref) & (p["b"] == arm) & (p["metric"] == "auc_ovo")]["n_seeds"].max())
            if len(p) else 0,
        })
    return pd.DataFrame(rows)


def answer_sentence(store: ResultsStore, paired: pd.DataFrame, network: str) -> str:
    """One sentence per network: the paired ΔAUC, the controls, the pointing-game change."""
    ref, arm = _primary(store)
    p = paired[paired["network"] == network]

    def row(a, b, metric):
        r = p[(p["a"] == a) & (p["b"] == b) & (p["metric"] == metric)]
        return r.iloc[0] if len(r) else None

    main = row(ref, arm, "auc_ovo")
    if main is None:
        return f"{network_label(network)}: no paired seeds of {ref} and {arm} yet."
    verdict = ("higher" if main["low"] > 0 else "lower" if main["high"] < 0
               else "not distinguishable from")
    text = (f"On {network_label(network)}, {variant_label(arm)} gives a test AUC "
            f"{verdict}{' than' if verdict != 'not distinguishable from' else ''} "
            f"{variant_label(ref)}: paired ΔAUC {_fmt_ci(main)} over {int(main['n_seeds'])} seeds "
            f"(sign-flip p = {main['p']:.3g}).")
    if not main["usable"]:
        text += " One of the two arms did not learn, so this is not a conclusion."
    for control in CONTROLS:
        c = row(control, arm, "auc_ovo")
        if c is not None:
            text += (f" Against {variant_label(control)}: ΔAUC {_fmt_ci(c)} "
                     f"(Holm p = {c['p_holm']:.3g}).")
    pt = row(ref, arm, "pointing")
    if pt is not None:
        text += f" Pointing game against the true findings: Δ {_fmt_ci(pt)}."
    return text


def configs_table(store: ResultsStore) -> pd.DataFrame:
    """The configuration each arm of the store trained (Table 1 + the profile)."""
    runs = store.runs()
    prof = get_profile(store.profile)
    rows = []
    for network, variant in runs[["network", "variant"]].drop_duplicates().itertuples(index=False):
        c, _ = run_config(prof, RunSpec(prof.name, network, variant, 0))
        gg = variant != "standard"
        rows.append({"network": network_label(network), "arm": variant, "optimizer": c.optimizer,
                     "lr": c.lr, "P": c.plateau_patience,
                     "σ_sm₀": c.sigma_sm if gg else None, "σ_ce₀": c.sigma_ce if gg else None,
                     "loss parameters": c.loss_param_dtype if gg else "–",
                     "Ω": "Σ (eq. 4)" if c.cam_reduction == "sum" else "mean (released)",
                     "Ψ": c.gaze_source if gg else "–",
                     "blur σ (px)": c.blur_sigma, "B": c.kernel_size, "batch": c.batch_size,
                     "epochs": c.max_epochs})
    return pd.DataFrame(rows)


def run_table(store: ResultsStore) -> pd.DataFrame:
    """Every run: AUC with its 95% interval and the did-it-learn flags."""
    runs = store.runs()
    return pd.DataFrame({
        "network": runs["network"].map(network_label), "arm": runs["variant"], "seed": runs["seed"],
        "AUC": runs["auc_ovo"], "95% CI low": runs["auc_ovo_low"], "95% CI high": runs["auc_ovo_high"],
        "learned": runs["learned"], "single class": runs["single_class"],
        "flags": runs["flags"].str.replace(";", "; "),
    })


def omega_quantiles(hist: pd.DataFrame, qs=(0.01, 0.5, 0.99)) -> pd.DataFrame:
    """Quantiles of Ω per network × arm from the binned counts (bin-edge resolution)."""
    rows = []
    for (network, variant), part in hist.groupby(["network", "variant"], sort=False):
        counts = part.groupby("bin_left")["count"].sum()
        cdf = counts.cumsum() / counts.sum()
        edges = counts.index.to_numpy()
        rows.append({"network": network_label(network), "arm": variant,
                     **{f"q{int(q * 100)}": float(edges[np.searchsorted(cdf.to_numpy(), q)])
                        for q in qs}})
    return pd.DataFrame(rows)
