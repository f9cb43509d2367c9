"""``ggcam tune``: a study on the smoke profile that resumes, its files, and refused input.

Trials train ResNet18 (the smoke profile's ResNet family, 4× lighter than ResNet50) for one
epoch on one torch thread; the phantom and its caches are made once for the module.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from cli_helpers import SMOKE, run_cli
from matplotlib.figure import Figure

from ggcam.cli.tune import add_parser, run
from ggcam.config import TrainConfig, table1_config
from ggcam.experiment import get_profile
from ggcam.tune import (
    SEARCH_SPACE,
    Param,
    best_vs_table1,
    load_tuning,
    param_importances,
    plot_param_importances,
    plot_search_history,
    space_hash,
    trial_config,
)
from ggcam.tune.space import active_params, space_dict

pytestmark = pytest.mark.usefixtures("one_torch_thread")
ARM = ("--profile", "smoke", "--network", "resnet18", "--variant", "ggcam-warm")
STUDY = "resnet18__ggcam-warm__val_ce"  # the default name: <network>__<variant>__<objective>


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ggcam")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["tune", *argv])


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """Phantom and prepared caches, shared by the module's studies."""
    return tmp_path_factory.mktemp("tune-work")


def _tune(tmp_path, work, *argv: str) -> argparse.Namespace:
    return _args(*ARM, "--epochs", "1", "--threads", "1", "--quiet", "--sampler-seed", "3",
                 "--work", str(work), "--results", str(tmp_path / "results"), *argv)


def test_a_study_resumes_and_leaves_its_trials_and_best_config(tmp_path, work, capsys):
    assert run(_tune(tmp_path, work, "--trials", "2")) == 0
    assert f"{STUDY}: 2 trials" in capsys.readouterr().out
    folder = tmp_path / "results" / "smoke" / "tuning"
    assert (folder / f"{STUDY}.sqlite3").is_file()

    assert run(_tune(tmp_path, work, "--trials", "1")) == 0
    line = capsys.readouterr().out
    assert f"{STUDY}: 3 trials" in line and "1 new" in line
    study = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{folder / f'{STUDY}.sqlite3'}")
    assert len(study.trials) == 3 and study.user_attrs["search_space_hash"] == space_hash()
    assert not (work / "tuning" / "smoke" / STUDY).exists() or not any(
        (work / "tuning" / "smoke" / STUDY).iterdir())  # trial checkpoints are removed

    trials, best = load_tuning(tmp_path / "results" / "smoke", STUDY)
    assert list(trials["number"]) == [0, 1, 2]
    assert isinstance(best, TrainConfig)
    assert json.loads((folder / f"{STUDY}-best.json").read_text()) == best.to_dict()
    row = trials.loc[trials["value"].idxmin()]  # val_ce: lower is better
    profile = get_profile("smoke")
    assert (best.network, best.variant, best.optimizer) == ("resnet18", "ggcam-warm", row["params_optimizer"])
    assert best.lr == pytest.approx(row["params_lr"]) and best.sigma_sm == pytest.approx(row["params_sigma_sm"])
    assert best.plateau_patience == row["params_plateau_patience"]
    assert best.kernel_size is None
    assert best.blur_sigma == pytest.approx(profile.blur_sigma(int(row["params_kernel_size"])))
    assert best.max_epochs == profile.max_epochs  # the profile's budget, not the trial's cap
    assert set(trials["user_attrs_objective"]) == {"val_ce"}

    fig = plot_search_history(trials)  # one point per complete trial
    assert len(fig.axes[0].lines[0].get_xdata()) == (trials["state"] == "COMPLETE").sum()


def test_importances_find_the_parameter_that_matters():
    """Trials whose value depends on the learning rate alone: lr is by far the most important."""
    rng = np.random.default_rng(0)
    n = 30
    lr = 10 ** rng.uniform(-5, -1, n)
    trials = pd.DataFrame({
        "number": range(n), "value": (np.log10(lr) + 3) ** 2, "state": "COMPLETE",
        "params_optimizer": rng.choice(["adam", "sgd"], n), "params_lr": lr,
        "params_plateau_patience": rng.choice(np.arange(10, 61, 5), n),
        "params_sigma_sm": 10 ** rng.uniform(-12, 0, n),
        "params_kernel_size": rng.choice(np.arange(200, 1001, 100), n)})
    imp = param_importances(trials, "val_ce")
    assert list(imp)[0] == "lr" and imp["lr"] > 0.5 and sum(imp.values()) == pytest.approx(1)
    fig = plot_param_importances(trials, "val_ce")
    assert isinstance(fig, Figure) and len(fig.axes[0].patches) == 5
    with pytest.raises(ValueError, match="at least 2 complete trials, got 1"):
        param_importances(trials.head(1), "val_ce")


def test_the_best_trial_sits_beside_table_1():
    trials = pd.DataFrame({
        "number": [0, 1, 2], "value": [0.9, 0.7, float("nan")],
        "state": ["COMPLETE", "COMPLETE", "PRUNED"], "params_optimizer": ["sgd", "adamax", "adam"],
        "params_lr": [1e-2, 3e-3, 1e-4], "params_plateau_patience": [10, 40, 60],
        "params_sigma_sm": [1e-3, 0.2, 1e-9], "params_kernel_size": [200, 800, 500]})
    table = best_vs_table1(trials, "resnet18", "ggcam-warm", "val_ce").set_index("parameter")
    assert list(table.columns) == ["searched range", "best (trial 1)", "Table 1", "ggcam-warm default"]
    assert table.loc["learning rate"].tolist()[1:] == ["0.003", "0.007", "0.007"]
    assert table.loc["initial σ_sm"].tolist()[1:] == ["0.2", "2e-09", "0.1"]  # Table 1 vs warm
    assert table.loc["optimiser"].tolist()[1:] == ["adamax", "adam", "adam"]
    best_auc = best_vs_table1(trials.assign(value=[0.9, 0.7, 0.5]), "resnet18", "standard", "val_auc")
    assert "best (trial 0)" in best_auc and len(best_auc) == 3  # no σ_sm, B for standard
    with pytest.raises(ValueError, match="no complete trial"):
        best_vs_table1(trials.tail(1), "resnet18", "ggcam", "val_ce")


def test_a_journal_file_holds_a_study(tmp_path, work, capsys):
    log = tmp_path / "shared" / "study.log"
    assert run(_tune(tmp_path, work, "--trials", "1", "--storage", f"journal://{log}",
                     "--study", "journal-study")) == 0
    assert log.is_file() and "journal-study: 1 trials" in capsys.readouterr().out
    assert len(optuna.load_study(study_name="journal-study", storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(log)))).trials) == 1


def _existing_study(tmp_path, **changes) -> None:
    """A study named like the default one, made by hand with ggcam's attributes changed."""
    folder = tmp_path / "results" / "smoke" / "tuning"
    folder.mkdir(parents=True)
    study = optuna.create_study(study_name=STUDY, storage=f"sqlite:///{folder / f'{STUDY}.sqlite3'}")
    attrs = dict(profile="smoke", network="resnet18", variant="ggcam-warm", objective="val_ce",
                 epochs=1, seed=0, search_space_hash=space_hash(), search_space=space_dict())
    for key, value in {**attrs, **changes}.items():
        study.set_user_attr(key, value)


@pytest.mark.parametrize("changes, message", [
    (dict(search_space_hash="0123456789", search_space={**space_dict(), "lr": "1e-06 … 1 (log)"}),
     rf"another space \(hash 0123456789, this ggcam's is {space_hash()}; lr: 1e-06 … 1 \(log\) → "),
    (dict(variant="standard"), "variant = 'standard', this call asks for variant = 'ggcam-warm'"),
    (dict(epochs=2), "epochs = 2, this call asks for epochs = 1: use the same --epochs"),
])
def test_a_study_made_for_another_search_is_refused(tmp_path, work, changes, message):
    _existing_study(tmp_path, **changes)
    with pytest.raises(ValueError, match=message):
        run(_tune(tmp_path, work, "--trials", "1"))


@pytest.mark.parametrize("url, message", [
    ("foo://host/db", "--storage 'foo://host/db': unknown scheme 'foo'; use sqlite:///"),
    ("results.sqlite3", "--storage 'results.sqlite3' is not a URL; use sqlite:///"),
    ("postgresql://me:secret@localhost/db", r"'postgresql://me:\*\*\*@localhost/db': its database driver"),
])
def test_a_storage_that_cannot_be_opened_is_a_clear_error(tmp_path, work, url, message):
    with pytest.raises(ValueError, match=message):
        run(_tune(tmp_path, work, "--trials", "1", "--storage", url))


@pytest.mark.parametrize("url", ["sqlite:///", "sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_storage_is_refused(tmp_path, work, url):
    with pytest.raises(ValueError, match="an in-memory SQLite database keeps no trial"):
        run(_tune(tmp_path, work, "--trials", "1", "--storage", url))


def test_a_storage_among_the_run_records_is_refused(tmp_path, work):
    store = tmp_path / "results" / "smoke"
    for inside in ("runs.csv", "runs/x.json"):
        with pytest.raises(ValueError, match="inside the results store .* outside its tuning/ folder"):
            run(_tune(tmp_path, work, "--trials", "1", "--storage", f"sqlite:///{store / inside}"))
    assert not (store / "runs.csv").exists() and not (store / "runs").exists()


def test_storage_paths_and_output_names():
    from ggcam.tune.storage import output_name, storage_file

    assert storage_file("journal:///data/egd/study.log") == Path("/data/egd/study.log")
    assert storage_file("sqlite:////abs/s.sqlite3") == Path("/abs/s.sqlite3")
    assert storage_file("sqlite:///rel/s.sqlite3") == Path("rel/s.sqlite3")
    assert storage_file("sqlite:///:memory:") is None and storage_file("postgresql://h/db") is None
    assert output_name("s", "sqlite:///a", "sqlite:///a") == "s"
    other = output_name("s", "sqlite:///b", "sqlite:///a")
    assert other.startswith("s-") and other != output_name("s", "sqlite:///c", "sqlite:///a")


def test_bad_names_are_refused(tmp_path, work):
    with pytest.raises(ValueError, match="study name must be letters"):
        run(_tune(tmp_path, work, "--trials", "1", "--study", "../elsewhere"))
    with pytest.raises(FileNotFoundError, match="no trials table"):
        load_tuning(tmp_path, "never-run")
    with pytest.raises(ValueError, match=r"not in the search space: \['alpha'\]"):
        trial_config(get_profile("smoke"), table1_config("resnet50", "ggcam"), {"alpha": 2.0})


def test_a_trial_config_takes_b_in_full_size_pixels():
    base = table1_config("resnet50", "ggcam")
    smoke = trial_config(get_profile("smoke"), base, {"kernel_size": 500, "lr": 1e-3}, epochs=1)
    assert smoke.kernel_size is None and smoke.blur_sigma == pytest.approx(75.5 * 0.04)  # σ(B=500) × scale
    assert (smoke.lr, smoke.max_epochs) == (1e-3, 1)
    paper = trial_config(get_profile("paper"), base, {"kernel_size": 600}, epochs=5000)
    assert (paper.kernel_size, paper.blur_sigma, paper.max_epochs) == (600, None, base.max_epochs)


def test_the_search_space_is_section_4_2s():
    names = [p.name for p in active_params("ggcam")]
    assert names == ["optimizer", "lr", "plateau_patience", "sigma_sm", "kernel_size"]
    assert [p.name for p in active_params("standard")] == ["optimizer", "lr", "plateau_patience"]
    b = next(p for p in SEARCH_SPACE if p.name == "kernel_size")
    assert (b.low, b.high) == (200, 1000)  # §4.2: not sensitive to B in [200, 1000]
    for table1 in (7e-3, 6e-3, 1e-3, 1e-4):  # Table 1's optima lie inside the space
        lr = next(p for p in SEARCH_SPACE if p.name == "lr")
        assert lr.low < table1 < lr.high
    sigma = next(p for p in SEARCH_SPACE if p.name == "sigma_sm")
    assert sigma.low < 1.4e-11 and 2e-9 < sigma.high and math.log10(sigma.high / sigma.low) == 12
    assert all(p.source for p in SEARCH_SPACE)
    wider = (*SEARCH_SPACE[:1], Param("lr", "float", 1e-6, 1.0, log=True), *SEARCH_SPACE[2:])
    assert space_hash(wider) != space_hash()
    assert space_hash(tuple(Param(**{**p.__dict__, "source": "x"}) for p in SEARCH_SPACE)) == space_hash()


def test_a_killed_workers_running_trial_is_failed_at_once_a_live_ones_is_not(tmp_path):
    """Optuna's heartbeat would wait out its grace period (or never act, on a journal file)."""
    import subprocess
    import sys
    import textwrap

    import optuna
    from optuna.trial import TrialState

    from ggcam.tune.workers import WorkerLock, fail_orphaned_trials

    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=url, study_name="s")
    live = WorkerLock(tmp_path / "workers")
    kept = study.ask()
    live.tag(kept)
    script = textwrap.dedent(f"""
        import os, signal, optuna
        from pathlib import Path
        from ggcam.tune.workers import WorkerLock
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.load_study(storage={url!r}, study_name="s")
        trial = study.ask()
        WorkerLock(Path({str(tmp_path / "workers")!r})).tag(trial)
        os.kill(os.getpid(), signal.SIGKILL)  # dies holding its lock, the trial RUNNING
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == -9, done.stderr
    study = optuna.load_study(storage=url, study_name="s")
    assert [t.state for t in study.trials] == [TrialState.RUNNING, TrialState.RUNNING]
    assert fail_orphaned_trials(study) == [1]
    assert [t.state for t in study.trials] == [TrialState.RUNNING, TrialState.FAIL]
    live.release()
    assert fail_orphaned_trials(study) == []  # released: its file is gone, nothing to judge


def test_tuning_on_real_data_is_git_ignored(phantom_root, tmp_path, monkeypatch, capsys):
    import ggcam.data.roots as roots
    import ggcam.tune.search as search

    seen = []

    def fake_tune(profile, *a, results_root, **kw):  # what the search sees when it starts
        seen.append((Path(results_root) / profile / ".gitignore").is_file())
        raise ValueError("stop here")

    monkeypatch.setattr(search, "tune", fake_tune)
    monkeypatch.setattr(roots, "is_phantom", lambda *a, **k: False)  # the data reads as real
    data = Path(phantom_root["egd_root"]).parents[1]
    rc, _, err = run_cli(["tune", *SMOKE, "--data-root", data, "--work", tmp_path / "w",
                       "--results", tmp_path / "results", "--trials", "1"], capsys)
    assert rc == 2 and "stop here" in err and seen == [True]
    assert (tmp_path / "results" / "smoke" / ".gitignore").read_text().endswith("*\n")


def test_a_study_never_mixes_phantom_and_real_trials(tmp_path):
    import optuna

    from ggcam.tune.storage import check_study

    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage, study_name="s")
    identity = dict(profile="smoke", network="resnet18", variant="ggcam", objective="val_ce",
                    epochs=2, seed=0, data_origin="phantom")
    for key, value in {**identity, "search_space_hash": "h", "search_space": {}}.items():
        study.set_user_attr(key, value)
    assert check_study(storage, "s", identity, "h", "memory") == 0
    with pytest.raises(ValueError, match=r"data_origin = 'phantom', this call asks for "
                                         r"data_origin = 'real': use the same --data-root"):
        check_study(storage, "s", {**identity, "data_origin": "real"}, "h", "memory")
