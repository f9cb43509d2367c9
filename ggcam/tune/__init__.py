"""Hyper-parameter search (paper section 4.2, Table 1): ``ggcam tune``.

``space`` holds the search space as data (each range with its source); ``storage`` where a
study lives and the check that a rerun continues the same study; ``search`` runs the trials;
``report`` reads a study's files and draws them; the subcommand lives in ``ggcam.cli.tune``.
Optuna and matplotlib are imported when used, so importing this package is free.
"""

from ggcam.tune.search import TuneResult, tune
from ggcam.tune.space import OBJECTIVES, SEARCH_SPACE, Param, search_space_frame, space_hash, trial_config

_REPORT = ("best_vs_table1", "load_tuning", "param_importances", "plot_param_importances", "plot_search_history")

__all__ = [
    "OBJECTIVES",
    "SEARCH_SPACE",
    "Param",
    "TuneResult",
    "best_vs_table1",
    "load_tuning",
    "param_importances",
    "plot_param_importances",
    "plot_search_history",
    "search_space_frame",
    "space_hash",
    "trial_config",
    "tune",
]


def __getattr__(name: str):
    if name in _REPORT:  # the figures need matplotlib: loaded on first use
        from ggcam.tune import report

        return getattr(report, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
