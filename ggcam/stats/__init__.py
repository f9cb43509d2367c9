"""Statistics over training runs: Table 2 and Figure 3's tests (``unpaired``, with the tests
between groups in ``group_tests`` and one run's AUC interval in ``auc_interval``), the study's
paired comparisons over replicates (``paired``, their bootstrap intervals in
``paired_intervals``), their equivalence tests and the bar a run must clear to count
(``equivalence``), and the input checks they share (``checks``).

``ggcam.stats.<name>`` is the public surface; the modules say where each name is computed.
"""

from ggcam.stats.equivalence import (
    Equivalence,
    Learned,
    excludes,
    exclusion_sentence,
    learned,
    learned_reason,
    tost,
    tost_from_interval,
)
from ggcam.stats.paired import (
    PairedCI,
    hierarchical_bootstrap_ci,
    hierarchical_bootstrap_mean_ci,
    holm,
    paired_differences,
    paired_predictions,
    paired_summary,
    sign_flip_test,
)
from ggcam.stats.unpaired import (
    MAX_EXACT,
    N_PERMUTATIONS,
    SMALL_N,
    TABLE2_CLASSES,
    TABLE2_METRICS,
    TEST_COLUMNS,
    BootstrapCI,
    RankTest,
    anova,
    bootstrap_auc_ci,
    format_cell,
    kruskal_test,
    mann_whitney_test,
    median_std,
    precision_recall_table,
    welch_anova,
)

__all__ = [
    "MAX_EXACT", "N_PERMUTATIONS", "SMALL_N", "TABLE2_CLASSES", "TABLE2_METRICS", "TEST_COLUMNS",
    "BootstrapCI", "Equivalence", "Learned", "PairedCI", "RankTest", "anova", "bootstrap_auc_ci",
    "excludes", "exclusion_sentence", "format_cell", "hierarchical_bootstrap_ci",
    "hierarchical_bootstrap_mean_ci", "holm", "kruskal_test", "learned", "learned_reason",
    "mann_whitney_test", "median_std", "paired_differences", "paired_predictions",
    "paired_summary", "precision_recall_table", "sign_flip_test", "tost", "tost_from_interval",
    "welch_anova",
]
