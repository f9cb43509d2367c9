"""Where the results stores are: the repository's ``results/`` folder (``results_root``) and
the store a page reads when it names no profile (``open_store``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ggcam.experiment.store import ResultsStore

PREFERRED_PROFILES = ("paper", "gpu", "gpu-fast", "cpu-v1")  # best first (the book's default)


def results_root(start: str | Path | None = None) -> Path:
    """The ``results/`` folder of the repository holding ``start`` (default: the cwd)."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "results").is_dir() and (folder / "pyproject.toml").is_file():
            return folder / "results"
    raise FileNotFoundError(f"no results/ folder beside a pyproject.toml above {here}")


def open_store(profile: str | None = None, root: str | Path | None = None) -> ResultsStore:
    """The store of ``profile``, or of the best profile with results (``gpu-fast`` before
    ``cpu``); only committed phantom results are considered unless a profile is named."""
    from ggcam.experiment.store import ResultsStore  # the store's module names this one

    root = Path(root) if root else results_root()
    names = [profile] if profile else list(PREFERRED_PROFILES)
    for name in names:
        store = ResultsStore(root / name)
        if (store.path / "runs.csv").is_file():
            if profile is None and "real" in set(store.runs()["data_origin"]):
                continue  # never pick real-data results silently
            return store
    raise FileNotFoundError(f"no results/<profile>/runs.csv for {names} under {root}; run "
                            "`ggcam sweep`")
