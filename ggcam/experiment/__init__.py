"""The experiment layer: profiles and run specs, the results store, the sweep.

``profiles`` says what runs (``Profile``, ``RunSpec``, ``run_config``); ``store`` owns the
on-disk format of ``results/<profile>/`` (``RunRecord``, ``ResultsStore``); ``metrics`` turns
a run's stored predictions and maps into its record's numbers; ``controls`` makes the
gaze-specificity controls; ``sweep`` trains and writes (orchestration only).
"""

from ggcam.experiment.profiles import (
    PROFILES,
    Arm,
    Profile,
    RunSpec,
    get_profile,
    profiles_frame,
    run_config,
    run_specs,
)
from ggcam.experiment.store import ResultsStore, RunRecord, open_store, results_root

__all__ = [
    "PROFILES",
    "Arm",
    "Profile",
    "ResultsStore",
    "RunRecord",
    "RunSpec",
    "get_profile",
    "open_store",
    "profiles_frame",
    "results_root",
    "run_config",
    "run_specs",
]
