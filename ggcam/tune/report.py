"""A study's results as data and figures, for a book page: no storage needed, only its files.

``load_tuning`` reads ``<results>/<profile>/tuning/<study>-trials.csv`` and
``<study>-best.json``; the figures take that trials table. Parameter importances are
Optuna's (``get_param_importances``, PED-ANOVA by default), computed on a study rebuilt in
memory from the table and ``SEARCH_SPACE``'s distributions.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ggcam.config import TrainConfig
from ggcam.tune.space import OBJECTIVES, SEARCH_SPACE
from ggcam.tune.storage import study_files
from ggcam.viz.style import STYLE, figure, need


def load_tuning(results_dir: str | Path, study: str) -> tuple[pd.DataFrame, TrainConfig | None]:
    """The trials table of a study and its best configuration.

    Args:
        results_dir: a profile's results folder, ``<results>/<profile>``.
        study: the study's name.

    Returns:
        ``study.trials_dataframe()`` as written (one row per trial: number, value, state,
        params_*, user_attrs_*; datetimes and durations parsed), and the best
        ``TrainConfig`` (None while no trial is complete).
    """
    files = study_files(results_dir, study)
    if not files["trials"].is_file():
        raise FileNotFoundError(f"no trials table {files['trials']}: run ggcam tune first")
    trials = pd.read_csv(files["trials"])
    for col in ("datetime_start", "datetime_complete"):
        if col in trials:
            trials[col] = pd.to_datetime(trials[col])
    if "duration" in trials:
        trials["duration"] = pd.to_timedelta(trials["duration"])
    best = None
    if files["best"].is_file():
        best = TrainConfig.from_dict(json.loads(files["best"].read_text()))
    return trials, best


def _direction(trials: pd.DataFrame, objective: str | None) -> tuple[str, str]:
    if objective is None and "user_attrs_objective" in trials:
        named = trials["user_attrs_objective"].dropna().unique()
        objective = str(named[0]) if len(named) == 1 else None
    objective = objective or "val_ce"
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {tuple(OBJECTIVES)}, got {objective!r}")
    return objective, OBJECTIVES[objective]


def _complete(trials: pd.DataFrame) -> pd.DataFrame:
    need(trials, "trials", ("number", "value", "state"))
    return trials[(trials["state"] == "COMPLETE") & trials["value"].notna()].sort_values("number")


def param_importances(trials: pd.DataFrame, objective: str | None = None) -> dict[str, float]:
    """{parameter: importance} (sum 1, largest first) from the complete trials of a study.

    Raises:
        ValueError: fewer than 2 complete trials, or a value outside ``SEARCH_SPACE``.
    """
    with warnings.catch_warnings():
        # optuna imports tqdm.auto, which warns in a notebook without ipywidgets (no bar here).
        warnings.filterwarnings("ignore", message="IProgress not found")
        import optuna
        import optuna.importance

    _, direction = _direction(trials, objective)
    done = _complete(trials)
    if len(done) < 2:
        raise ValueError(f"parameter importances need at least 2 complete trials, got {len(done)}")
    space = {p.name: p for p in SEARCH_SPACE if f"params_{p.name}" in done}
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "new study created" line
    try:
        study = optuna.create_study(direction=direction)
    finally:
        optuna.logging.set_verbosity(verbosity)
    for _, row in done.iterrows():
        params = {k: (row[f"params_{k}"] if p.kind == "categorical" else
                      int(row[f"params_{k}"]) if p.kind == "int" else float(row[f"params_{k}"]))
                  for k, p in space.items() if pd.notna(row[f"params_{k}"])}
        study.add_trial(optuna.trial.create_trial(
            value=float(row["value"]), params=params,
            distributions={k: space[k].distribution() for k in params}))
    return optuna.importance.get_param_importances(study)


def plot_search_history(trials: pd.DataFrame, objective: str | None = None) -> Figure:
    """Each complete trial's value by trial number, and the best so far.

    Args:
        trials: ``load_tuning``'s table.
        objective: val_ce | val_loss | val_auc (default: the one the trials name, else val_ce).

    Returns:
        Figure, one Axes; log y axis when the values are positive and span over 2 decades.
        Pruned and failed trials are counted in the title.
    """
    objective, direction = _direction(trials, objective)
    done = _complete(trials)
    x, y = done["number"].to_numpy(), done["value"].to_numpy(dtype=float)
    best = np.minimum.accumulate(y) if direction == "minimize" else np.maximum.accumulate(y)
    fig = figure(6.2, 3.4)
    with mpl.rc_context(STYLE):
        ax = fig.subplots()
        ax.plot(x, y, "o", color="#0173b2", label="trial")
        ax.step(x, best, where="post", color="#d55e00", label="best so far")
        if len(y) and (y > 0).all() and y.max() / y.min() > 100:
            ax.set_yscale("log")
        other = len(trials) - len(done)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set(xlabel="trial", ylabel=f"{objective} ({'lower' if direction == 'minimize' else 'higher'} is better)",
               title=f"{len(done)} complete trials" + (f", {other} pruned or failed" if other else ""))
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return fig


def plot_param_importances(trials: pd.DataFrame, objective: str | None = None) -> Figure:
    """``param_importances`` as horizontal bars, the most important on top."""
    imp = param_importances(trials, objective)
    names = list(imp)[::-1]
    labels = {p.name: p.label or p.name for p in SEARCH_SPACE}
    fig = figure(5.0, 0.9 + 0.45 * len(names))
    with mpl.rc_context(STYLE):
        ax = fig.subplots()
        ax.barh([labels.get(n, n) for n in names], [imp[n] for n in names], color="#0173b2")
        ax.set(xlabel="importance (PED-ANOVA, sum 1)", xlim=(0, 1),
               title=f"{len(_complete(trials))} complete trials")
    return fig


def best_vs_table1(trials: pd.DataFrame, network: str, variant: str,
                   objective: str | None = None) -> pd.DataFrame:
    """The best complete trial's parameters beside Table 1's and the arm's defaults.

    One row per searched parameter of ``variant``: its range, the best trial's value, Table 1's
    value for the network's family (``config.FAMILY_OF``) and what the arm trains with by
    default (``config.variant_values``: Table 1 plus the arm's one change). The optimiser is
    Adam in Table 1 and in every arm. B is in full-size pixels everywhere.

    Raises:
        ValueError: no complete trial.
    """
    from ggcam.config import TABLE1, canonical_variant, variant_values
    from ggcam.study import FAMILY_OF
    from ggcam.tune.space import active_params

    _, direction = _direction(trials, objective)
    done = _complete(trials)
    if done.empty:
        raise ValueError("no complete trial: nothing to compare with Table 1")
    best = done.loc[done["value"].idxmin() if direction == "minimize" else done["value"].idxmax()]
    variant = canonical_variant(variant)
    table1 = {"optimizer": "adam", **TABLE1[(FAMILY_OF[network],
                                             "standard" if variant == "standard" else "ggcam")]}
    arm = {"optimizer": "adam", **variant_values(network, variant)}
    def text(value) -> str:  # one column holds names, integers and floats: shown as text
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "—"
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    rows = [{"parameter": p.label or p.name, "searched range": p.describe(),
             f"best (trial {int(best['number'])})": text(best.get(f"params_{p.name}")),
             "Table 1": text(table1.get(p.name)), f"{variant} default": text(arm.get(p.name))}
            for p in active_params(variant)]
    return pd.DataFrame(rows)
