"""The search: an Optuna study over ``SEARCH_SPACE`` for one network × variant of a profile.

A trial is the profile's run (its sizes, split and seed; ``epochs`` caps its epochs) with the
trial's values. ``ggcam.train.fit`` trains it one epoch at a time: each call resumes from the
trial's last checkpoint with a budget one epoch longer (``max_epochs`` is a budget field, so
this is the uninterrupted run), and each epoch's validation number goes to Optuna, whose
``MedianPruner`` stops trials worse than the median of the finished ones. A trial's value is
its best epoch's. Orchestration only: data, split, gaze source and training are the sweep's.
"""

from __future__ import annotations

import json
import math
import shutil
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

from ggcam.config import canonical_variant
from ggcam.experiment.profiles import Profile, RunSpec, get_profile, run_config
from ggcam.runtime import atomic_write_text
from ggcam.study import FAMILY_OF, VARIANTS
from ggcam.tune.space import OBJECTIVES, space_dict, space_hash, suggest, trial_config
from ggcam.tune.storage import (
    check_storage_place,
    check_study,
    default_storage,
    describe,
    open_storage,
    output_name,
    study_files,
)
from ggcam.tune.workers import WorkerLock, fail_orphaned_trials

# Optuna's default of 5 finished trials before any pruning; none before epoch 3, as the first
# epochs' validation numbers say little about where a run ends.
PRUNER = dict(n_startup_trials=5, n_warmup_steps=3)


@dataclass(frozen=True)
class TuneResult:
    """What a call did and where its files are."""

    study: str
    storage: str  # the storage URL, password hidden
    objective: str
    n_new: int  # trials this call ran
    states: dict  # trials of the study by state: {"COMPLETE": 3, "PRUNED": 1, ...}
    best_value: float | None  # None while no trial is complete
    best_trial: int | None
    trials_csv: Path
    best_json: Path | None

    def summary(self) -> str:
        counts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(self.states.items()))
        best = (f"best {self.objective} {self.best_value:.6g} (trial {self.best_trial})"
                if self.best_value is not None else "no complete trial yet")
        return (f"{self.study}: {sum(self.states.values())} trials ({counts}), {self.n_new} new; "
                f"{best}; study in {self.storage}; trials in {self.trials_csv}"
                + (f"; best config in {self.best_json}" if self.best_json else ""))


class _Trial:
    """One trial: the profile's run with the trial's values, trained and reported per epoch."""

    def __init__(self, profile, spec, base, options, data, objective, epochs, ckpt_root):
        self.profile, self.spec, self.base, self.options = profile, spec, base, options
        self.data, self.objective, self.epochs, self.ckpt_root = data, objective, epochs, ckpt_root
        self.started = 0  # trials this process ran (other workers may add to the study too)
        self.worker = None  # this process's WorkerLock: tags each trial with its owner

    def __call__(self, trial) -> float:
        import optuna

        from ggcam.runtime import seed_everything
        from ggcam.train import NonFiniteLoss, fit, make_loss, make_model

        self.started += 1
        if self.worker is not None:
            self.worker.tag(trial)
        config = trial_config(self.profile, self.base, suggest(trial, self.spec.variant), self.epochs)
        sets = self.data.sets(self.spec, config)  # the run's training and validation sets
        train, val = sets.train_fit, sets.val_fit
        for key, value in (("objective", self.objective), ("config_hash", config.hash()),
                           ("data_id", sets.data_id)):
            trial.set_user_attr(key, value)
        ckpt = self.ckpt_root / f"trial-{trial.number}"
        shutil.rmtree(ckpt, ignore_errors=True)
        seed_everything(self.spec.seed)
        model, loss_fn = make_model(config), make_loss(config)
        try:
            for epoch in range(1, config.max_epochs + 1):
                result = fit(model, loss_fn, train, val, replace(config, max_epochs=epoch),
                             options=self.options, checkpoint_dir=ckpt, resume=True, progress=False)
                if result.epochs < epoch:  # stopped early, or the learning rate fell below min_lr
                    break
                value = float(result.history[self.objective].iloc[-1])
                if math.isfinite(value):
                    trial.report(value, epoch)
                if trial.should_prune():
                    trial.set_user_attr("epochs", epoch)
                    raise optuna.TrialPruned(f"{self.objective} {value:.4g} at epoch {epoch}")
        except (NonFiniteLoss, OverflowError) as err:  # as hopeless as a pruned trial, said why
            # OverflowError: fit's epoch record takes exp(log σ) in Python floats, which raise
            # rather than give inf once log σ has run past ~709.
            trial.set_user_attr("diverged", f"{type(err).__name__}: {err}")
            raise optuna.TrialPruned(f"diverged: {type(err).__name__}: {err}") from None
        finally:
            shutil.rmtree(ckpt, ignore_errors=True)
        values = result.history[self.objective].astype(float)
        trial.set_user_attr("epochs", int(result.epochs))
        trial.set_user_attr("stop_reason", result.stop_reason)
        best = values.min() if OBJECTIVES[self.objective] == "minimize" else values.max()
        if not math.isfinite(best):
            raise ValueError(f"trial {trial.number}: {self.objective} was never finite (a class "
                             "missing from a tiny validation set?); use --objective val_ce")
        return float(best)


def _check(network: str, variant: str, objective: str, trials, epochs) -> None:
    if network not in FAMILY_OF:
        raise ValueError(f"network must be one of {sorted(FAMILY_OF)}, got {network!r}")
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {tuple(OBJECTIVES)}, got {objective!r}")
    for name, v, allow_none in (("trials", trials, False), ("epochs", epochs, True)):
        if not (allow_none and v is None) and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")


def tune(profile: Profile | str, network: str, variant: str, *, trials: int,
         storage: str | None = None, study: str | None = None, objective: str = "val_ce",
         epochs: int | None = None, seed: int = 0, data_root=None, mimic_root=None,
         work_root: str | Path = ".cache", results_root: str | Path = "results",
         device: str | None = None, threads: int | None = None, sampler_seed: int | None = None,
         progress: bool = True) -> TuneResult:
    """Run ``trials`` more trials of a study (created, or resumed from its storage).

    Writes ``<results>/<profile>/tuning/<study>-trials.csv`` (``study.trials_dataframe()``)
    and ``<study>-best.json`` (the best trial's ``TrainConfig`` with the profile's full
    budget), also when interrupted. Trial checkpoints live under
    ``<work>/tuning/<profile>/<study>/`` and are deleted when the trial ends.

    ``sampler_seed`` seeds Optuna's TPE sampler, offset by the number of trials already in
    the study so that a resumed search does not repeat its first suggestions; None (the
    default) draws fresh entropy, as parallel workers on one study must.
    """
    import optuna  # noqa: F401 (a missing Optuna fails here, before any data work)

    from ggcam.experiment.data import ProfileData

    profile = get_profile(profile) if isinstance(profile, str) else profile
    variant = canonical_variant(variant)
    _check(network, variant, objective, trials, epochs)
    name = study or f"{network}__{variant}__{objective}"
    results_dir = Path(results_root) / profile.name
    url = storage or default_storage(results_dir, name)
    files = study_files(results_dir, output_name(name, url, default_storage(results_dir, name)))
    check_storage_place(url, results_dir)
    store = open_storage(url)
    spec = RunSpec(profile.name, network, variant, seed)
    base, options = run_config(profile, spec, device)
    if threads is not None:
        options = replace(options, threads=threads)
    identity = dict(profile=profile.name, network=network, variant=variant, objective=objective,
                    epochs=trial_config(profile, base, {}, epochs).max_epochs, seed=seed)
    check_study(store, name, identity, space_hash(), describe(url))  # before minutes of data work
    data = ProfileData(profile, Path(data_root) if data_root else None, Path(work_root),
                       Path(mimic_root) if mimic_root else None, progress=progress)
    identity["data_origin"] = data.origin
    n_old = check_study(store, name, identity, space_hash(), describe(url))
    st = _open_study(store, name, identity, sampler_seed, n_old)
    ckpt_root = Path(work_root) / "tuning" / profile.name / name
    worker = WorkerLock(ckpt_root / "workers")
    orphans = fail_orphaned_trials(st)
    if orphans:
        warnings.warn(f"study {name}: trial(s) {orphans} were left RUNNING by a process that "
                      "died; marked FAIL", stacklevel=2)
    objective_fn = _Trial(profile, spec, base, options, data, objective, epochs, ckpt_root)
    objective_fn.worker = worker
    try:
        st.optimize(objective_fn, n_trials=trials, gc_after_trial=True)
    finally:
        worker.release()
        best_json = _export(st, files, profile, base)
    return _result(st, name, describe(url), objective, objective_fn.started, files["trials"],
                   best_json)


def _open_study(store, name: str, identity: dict, sampler_seed: int | None, n_old: int):
    """The Optuna study, created or resumed; a new one records its identity and search space."""
    import optuna

    sampler = optuna.samplers.TPESampler(seed=None if sampler_seed is None else sampler_seed + n_old)
    st = optuna.create_study(storage=store, study_name=name, direction=OBJECTIVES[identity["objective"]],
                             sampler=sampler, pruner=optuna.pruners.MedianPruner(**PRUNER),
                             load_if_exists=True)
    if "search_space_hash" not in st.user_attrs:
        for key, value in {**identity, "search_space_hash": space_hash(),
                           "search_space": space_dict()}.items():
            st.set_user_attr(key, value)
    elif "data_origin" not in st.user_attrs:  # a study begun before the origin was recorded
        st.set_user_attr("data_origin", identity["data_origin"])
    return st


def _result(st, name: str, storage: str, objective: str, n_new: int, trials_csv: Path,
            best_json: Path | None) -> TuneResult:
    states = {}
    for t in st.trials:
        states[t.state.name] = states.get(t.state.name, 0) + 1
    best = st.best_trial if best_json is not None else None
    return TuneResult(name, storage, objective, n_new, states,
                      best.value if best else None, best.number if best else None,
                      trials_csv, best_json)


def _export(st, files: dict, profile: Profile, base) -> Path | None:
    """The trials table and the best configuration (None while no trial is complete)."""
    files["folder"].mkdir(parents=True, exist_ok=True)
    atomic_write_text(st.trials_dataframe().to_csv(index=False), files["trials"])
    try:
        best = st.best_trial
    except ValueError:
        return None
    config = trial_config(profile, base, best.params)
    atomic_write_text(json.dumps(config.to_dict(), indent=2) + "\n", files["best"])
    return files["best"]
