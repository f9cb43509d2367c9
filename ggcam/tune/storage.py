"""Where a study lives: its Optuna storage, its files, and the check that it is the same study.

The storage is any Optuna storage URL: an RDB URL that SQLAlchemy knows (``sqlite:///…``,
``postgresql://…``, ``mysql://…``) or a journal file (``journal:///path/file.log``, for
shared file systems without a database server). The default is one SQLite file per study
under ``<results>/<profile>/tuning/``. Several processes, machines or a Slurm job array may
work on one study at once: Optuna's storage is the only coordination.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from ggcam.tune.space import space_dict

STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # it names files, so no separators
# What makes two calls "the same study" (stored in study.user_attrs), and the option to change.
IDENTITY = {"profile": "--profile", "network": "--network", "variant": "--variant",
            "objective": "--objective", "epochs": "--epochs", "seed": "--seed",
            "data_origin": "--data-root"}
# The data's origin (phantom or real) is part of a study: trials on both never mix. Not the
# full data identity: for real data it holds the roots' paths, which differ between the
# machines of one study; each trial records the data_id it trained on instead.
HEARTBEAT_S, GRACE_S = 60, 180  # RDB only: a trial silent this long is failed and retried once
URL_HELP = ("sqlite:///file.sqlite3, postgresql://user@host/db, mysql://user@host/db (any "
            "SQLAlchemy database URL) or journal:///path/file.log")


def storage_file(url: str | None) -> Path | None:
    """The file an Optuna storage URL writes, else None: ``sqlite:///rel`` or
    ``sqlite:////abs`` (SQLAlchemy's rule), ``journal:///abs/file.log`` (the path after ``://``)."""
    url = url or ""
    if url.startswith("journal://"):
        rest = url.partition("://")[2]
        return Path(rest) if rest else None
    m = re.fullmatch(r"sqlite:///(.+)", url)
    return Path(m.group(1)) if m and m.group(1) != ":memory:" else None


def output_name(study: str, url: str, default_url: str) -> str:
    """The name of a study's exported files: the study's own for the default storage; with
    the storage's digest for any other, so two storages never overwrite each other's files."""
    import hashlib

    if url == default_url:
        return study
    return f"{study}-{hashlib.sha1(url.encode()).hexdigest()[:8]}"


def check_storage_place(url: str, results_dir: str | Path) -> None:
    """A storage file inside the results store may only live in its ``tuning/`` folder: one
    elsewhere would sit among (or replace) the run records and ``runs.csv``."""
    path = storage_file(url)
    if path is None:
        return
    where, store = path.expanduser().resolve(), Path(results_dir).resolve()
    if where.is_relative_to(store) and not where.is_relative_to(store / "tuning"):
        raise ValueError(f"--storage {url!r} is inside the results store {store}, outside its "
                         "tuning/ folder: it would sit among the run records; choose another path")


def study_files(results_dir: str | Path, study: str) -> dict[str, Path]:
    """The files of a study under a profile's results folder (``<results>/<profile>``)."""
    if not isinstance(study, str) or not STUDY_NAME.match(study):
        raise ValueError(f"study name must be letters, digits, '.', '_' or '-' (it names "
                         f"files), got {study!r}")
    folder = Path(results_dir) / "tuning"
    return {"folder": folder, "sqlite": folder / f"{study}.sqlite3",
            "trials": folder / f"{study}-trials.csv", "best": folder / f"{study}-best.json"}


def default_storage(results_dir: str | Path, study: str) -> str:
    """``sqlite:///<results>/<profile>/tuning/<study>.sqlite3`` (absolute)."""
    return f"sqlite:///{study_files(results_dir, study)['sqlite'].resolve()}"


def describe(url: str) -> str:
    """The storage URL with any password hidden, for messages."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if url.startswith("journal://"):
        return url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def open_storage(url: str):
    """The Optuna storage for ``url``; ValueError naming the URL if it cannot be one."""
    import optuna
    from optuna.exceptions import ExperimentalWarning
    from optuna.storages import RetryHeartbeatStaleTrialCallback
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"--storage {url!r} is not a URL; use {URL_HELP}")
    if scheme == "journal":
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        if not rest:
            raise ValueError(f"--storage {url!r} names no file; use journal:///path/file.log")
        path = Path(rest)
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    try:
        parsed = make_url(url)
        parsed.get_dialect()
    except ArgumentError:  # NoSuchModuleError is one: a scheme SQLAlchemy has no dialect for
        raise ValueError(f"--storage {describe(url)!r}: unknown scheme {scheme!r}; use "
                         f"{URL_HELP}") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise ValueError(f"--storage {url!r}: an in-memory SQLite database keeps no trial after "
                         "this call (and Optuna's heartbeat thread cannot share it); give a file, "
                         "sqlite:///path/study.sqlite3")
    if parsed.get_backend_name() == "sqlite":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():  # heartbeats are "experimental" since Optuna 2.8
            warnings.simplefilter("ignore", ExperimentalWarning)
            return optuna.storages.RDBStorage(
                url, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1))
    except ImportError as err:
        raise ValueError(f"--storage {describe(url)!r}: its database driver is not installed "
                         f"({err})") from None
    except SQLAlchemyError as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(f"--storage {describe(url)!r}: cannot open the database: {first}") from None


def check_study(storage, name: str, identity: dict, space_hash: str, where: str) -> int:
    """Raise ValueError if study ``name`` exists in ``storage`` for another search, naming both.

    Returns the number of trials already in the study (0 for a new one).
    """
    try:
        study_id = storage.get_study_id_from_name(name)
    except KeyError:
        return 0
    attrs = storage.get_study_user_attrs(study_id)
    n_trials = len(storage.get_all_trials(study_id, deepcopy=False))
    if "search_space_hash" not in attrs:
        if n_trials:
            raise ValueError(f"study {name!r} in {where} was not made by ggcam tune (it has "
                             "trials but no search space): use another --study")
        return 0  # made, but killed before its attributes were written
    if attrs["search_space_hash"] != space_hash:
        old, new = attrs.get("search_space", {}), space_dict()
        diff = [f"{k}: {old.get(k, 'absent')} → {new.get(k, 'absent')}"
                for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        raise ValueError(
            f"study {name!r} in {where} was searched over another space (hash "
            f"{attrs['search_space_hash']}, this ggcam's is {space_hash}"
            + (f"; {'; '.join(diff)}" if diff else "") + "): start a new study with --study")
    for key, option in IDENTITY.items():
        if key not in identity or (key == "data_origin" and key not in attrs):
            continue  # not known yet (checked again once the data is read), or an older study
        if attrs.get(key) != identity[key]:
            raise ValueError(f"study {name!r} in {where} is for {key} = {attrs.get(key)!r}, this "
                             f"call asks for {key} = {identity[key]!r}: use the same {option} or "
                             "another --study")
    return n_trials
