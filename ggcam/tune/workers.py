"""Which tuning process runs a trial, so that a killed one's trial does not stay RUNNING.

Optuna's heartbeat fails a silent trial only after its grace period (``storage.GRACE_S``) and
only on RDB storages: a ``tune`` restarted sooner, or on a journal file, found the killed
trial still RUNNING. Here each process holds an exclusive ``flock`` on a lock file of its own
for as long as it lives, and tags each trial it starts with that file's path. A new process
tries each RUNNING trial's lock: if it can take it, the owner is dead (the kernel drops a
dead process's lock, however it died), so the trial is marked FAIL at once. A lock file this
machine cannot see (a worker on another machine) is left to Optuna's heartbeat.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from pathlib import Path

WORKER_ATTR = "worker_lock"  # trial user attribute: the path of its process's lock file


class WorkerLock:
    """This process's lock file under ``folder``, held (``flock``) until ``release``."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = (folder / f"worker-{os.getpid()}-{uuid.uuid4().hex[:8]}.lock").resolve()
        self._file = open(self.path, "w")
        fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def tag(self, trial) -> None:
        trial.set_user_attr(WORKER_ATTR, str(self.path))

    def release(self) -> None:
        if not self._file.closed:
            self._file.close()  # drops the lock
        self.path.unlink(missing_ok=True)
        try:
            self.path.parent.rmdir()  # the last worker leaves no folder behind
        except OSError:
            pass


def _owner_is_dead(path: Path) -> bool:
    """True when ``path`` exists here and its lock can be taken: nobody holds it."""
    try:
        with open(path, "r+") as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        return False
    except BlockingIOError:
        return False  # a live process holds it


def fail_orphaned_trials(study) -> list[int]:
    """Mark FAIL every RUNNING trial whose process is dead; their numbers."""
    from optuna.trial import TrialState

    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        lock = trial.user_attrs.get(WORKER_ATTR)
        if lock and _owner_is_dead(Path(lock)):
            study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            Path(lock).unlink(missing_ok=True)
            failed.append(trial.number)
    return failed
