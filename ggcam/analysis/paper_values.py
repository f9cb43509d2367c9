"""Numbers the paper reports, as data, so the book can show them beside ours, labelled.

Nothing here is computed: these are the published values (Zhu, Salcudean, Rohling), typed
from the paper's section 4.3 and Table 2. Our own numbers always come from ``results/``.
"""

from collections.abc import Mapping

import pandas as pd

# Section 4.3: median test AUC (Hand & Till) over 5 runs.
PAPER_MEDIAN_AUC = {
    ("efficientnet_v2_s", "standard"): 0.723,
    ("efficientnet_v2_s", "ggcam"): 0.801,
    ("resnet50", "standard"): 0.721,
    ("resnet50", "ggcam"): 0.776,
}

# Table 2: median ± std over 5 runs, (precision, recall) per class.
PAPER_TABLE2 = {
    ("efficientnet_v2_s", "ggcam"): {"Normal": ("0.649 ± 0.042", "0.611 ± 0.080"),
                                     "CHF": ("0.660 ± 0.015", "0.699 ± 0.136"),
                                     "pneumonia": ("0.500 ± 0.042", "0.486 ± 0.086")},
    ("resnet50", "ggcam"): {"Normal": ("0.633 ± 0.024", "0.556 ± 0.040"),
                            "CHF": ("0.658 ± 0.023", "0.699 ± 0.054"),
                            "pneumonia": ("0.450 ± 0.026", "0.500 ± 0.054")},
    ("efficientnet_v2_s", "standard"): {"Normal": ("0.569 ± 0.035", "0.611 ± 0.147"),
                                        "CHF": ("0.654 ± 0.065", "0.699 ± 0.053"),
                                        "pneumonia": ("0.418 ± 0.065", "0.389 ± 0.178")},
    ("resnet50", "standard"): {"Normal": ("0.586 ± 0.043", "0.528 ± 0.153"),
                               "CHF": ("0.540 ± 0.048", "0.712 ± 0.228"),
                               "pneumonia": ("0.375 ± 0.028", "0.389 ± 0.122")},
}


def paper_table2() -> pd.DataFrame:
    """Table 2 as published, in the layout of ``ggcam.stats.unpaired.precision_recall_table``."""
    rows = {}
    for key, classes in PAPER_TABLE2.items():
        rows[key] = {(c, m): v for c, (p, r) in classes.items() for m, v in (("precision", p), ("recall", r))}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index = pd.MultiIndex.from_tuples(table.index, names=["network", "variant"])
    table.columns = pd.MultiIndex.from_tuples(table.columns, names=["class", "metric"])
    return table


def paper_median_auc() -> pd.DataFrame:
    return pd.DataFrame([{"network": n, "variant": v, "median AUC (paper)": a}
                         for (n, v), a in PAPER_MEDIAN_AUC.items()])


def paper_auc_change(network: str) -> str:
    """The paper's median test AUC without and with GG-CAM, e.g. "0.721 to 0.776"."""
    return " to ".join(f"{PAPER_MEDIAN_AUC[network, v]:.3f}" for v in ("standard", "ggcam"))


# A published real-data study of the same idea, as its authors report it (Bigolin Lanfredi,
# Schroeder and Tasdizen, Front. Radiol. 2023, on REFLACX): the test AUC without localisation
# supervision, with radiologists' ellipses and with eye-tracking annotation. Localisation
# improved with supervision; the classification AUC did not.
RELATED_AUC = {"source": "bigolinlanfredi2023localization", "data": "REFLACX",
               "no supervision": 0.770, "ellipses": 0.764, "eye tracking": 0.763}


def related_sentence(ours: Mapping[str, float] | None = None) -> str:
    """The related study's result in one sentence, labelled as real data (MyST, with its cite),
    set against ``ours``: the primary arm's paired ΔAUC (``estimate``, ``low``, ``high``, a row
    of ``arm_effects``; None while it has too few replicates). The two agree only where our
    interval holds 0: a gain here is said to be unlike theirs, not "the same pattern"."""
    r = RELATED_AUC
    theirs = (f"test AUC {r['no supervision']:.3f} without localisation supervision, "
              f"{r['ellipses']:.3f} with radiologists' ellipses and {r['eye tracking']:.3f} with "
              "eye tracking, while localisation improved")
    opening = (f"On real chest X-rays ({r['data']}), {{cite:t}}`{r['source']}` supervised the same kind "
               "of maps with radiologists' eye tracking")
    if ours is None:
        return f"{opening}: {theirs}."
    here = f"Δ {ours['estimate']:+.3f}, 95% interval {ours['low']:+.3f} to {ours['high']:+.3f}"
    if ours["low"] <= 0 <= ours["high"]:
        return f"{opening} and found the same pattern as here ({here}): {theirs}."
    direction = "rose" if ours["low"] > 0 else "fell"
    return (f"{opening} and, unlike here (where the test AUC {direction}: {here}), found no "
            f"change in classification: {theirs}. Our phantom's reader and findings are "
            "simulated; the dose–response section asks how our gain depends on them.")
