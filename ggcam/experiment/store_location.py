"""Where the results stores are: the repository's ``results/`` folder (``results_root``) and
the store a page reads when it names no profile (``open_store``): the best profile whose
confirmatory runs are all in (``answers_its_questions``), so a study still training its
compared arms never replaces a finished one on the book's pages, while a study whose
exploratory dose-response points are still training already shows its final comparisons."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ggcam.experiment.store import ResultsStore

PREFERRED_PROFILES = ("paper", "gpu", "gpu-fast", "cpu", "cpu-v1")  # best first (the book's default)


def results_root(start: str | Path | None = None) -> Path:
    """The ``results/`` folder of the repository holding ``start`` (default: the cwd)."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "results").is_dir() and (folder / "pyproject.toml").is_file():
            return folder / "results"
    raise FileNotFoundError(f"no results/ folder beside a pyproject.toml above {here}")


def is_complete(store: ResultsStore, runs=None) -> bool:
    """Whether every run its profile plans is in ``store``'s runs table (``runs``, when the
    caller has read it already; a store of a profile ggcam no longer defines counts as
    complete: nothing more will be added to it)."""
    return _planned_in(store, runs, confirmatory_only=False)


def confirmatory_run_ids(profile) -> set[str]:
    """The runs a profile's fixed Holm families test: every replicate of their arms at the
    base point. Nothing else enters those families (the dose-response points are read as
    exploratory), so once these are in, every confirmatory number is final. A profile without
    fixed families plans only confirmatory runs."""
    from ggcam.experiment.profiles import run_specs

    specs = run_specs(profile)
    if not profile.families:
        return {s.run_id for s in specs}
    arms = {v for f in profile.families for pair in f.comparisons for v in pair}
    return {s.run_id for s in specs if s.is_base and s.variant in arms}


def answers_its_questions(store: ResultsStore, runs=None) -> bool:
    """Whether every confirmatory run of its profile is in (``confirmatory_run_ids``)."""
    return _planned_in(store, runs, confirmatory_only=True)


def _planned_in(store: ResultsStore, runs, confirmatory_only: bool) -> bool:
    from ggcam.experiment.profiles import PROFILES, run_specs

    if store.profile not in PROFILES:
        return True
    profile = PROFILES[store.profile]
    planned = (confirmatory_run_ids(profile) if confirmatory_only
               else {s.run_id for s in run_specs(profile)})
    return planned <= set((store.runs() if runs is None else runs)["run_id"])


def open_store(profile: str | None = None, root: str | Path | None = None,
               variants: tuple[str, ...] = ()) -> ResultsStore:
    """The store of ``profile``, or of the best profile with results (``PREFERRED_PROFILES``'s
    order), preferring one whose confirmatory runs are all in and, with ``variants``, one
    that trained every arm named there (a section about arms the current study does not
    train reads the study that did); only phantom results are considered unless a profile is
    named."""
    from ggcam.experiment.store import ResultsStore  # the store's module names this one

    root = Path(root) if root else results_root()
    names = [profile] if profile else list(PREFERRED_PROFILES)
    found = []
    for name in names:
        store = ResultsStore(root / name)
        if (store.path / "runs.csv").is_file():
            runs = store.runs() if profile is None else None
            if profile is None and "real" in set(runs["data_origin"]):
                continue  # never pick real-data results silently
            if profile is None and not set(variants) <= set(runs["variant"]):
                continue
            if profile is not None or answers_its_questions(store, runs):
                return store
            found.append(store)
    if found:
        return found[0]  # no study has its confirmatory runs: the best one under way
    raise FileNotFoundError(f"no results/<profile>/runs.csv for {names} under {root}; run "
                            "`ggcam sweep`")
