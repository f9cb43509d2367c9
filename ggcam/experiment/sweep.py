"""The sweep: every run of a profile, resumable and sharded; orchestration only.

Training is ``ggcam.train.fit``, metrics are ``metrics.run_metrics``, the files are
``store.ResultsStore``'s. A finished run (its record exists with the same config hash and
data identity) is never redone; an interrupted one resumes from its last checkpoint (kept
outside ``results/``, under ``<work>/checkpoints/<profile>/<run_id>/``); ``shard=(i, n)``
splits the runs between machines.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from ggcam.experiment.data import ProfileData
from ggcam.experiment.profiles import Profile, RunSpec, run_config, run_specs
from ggcam.experiment.run import is_done, prepare_checkpoints, run_one
from ggcam.experiment.store import ResultsStore
from ggcam.runtime import probe_writable

__all__ = ["ProfileData", "check_writable", "forget_runs", "forget_when_ready", "prepare_checkpoints", "run_one", "run_sweep"]


def check_writable(folder: Path) -> None:
    try:
        probe_writable(folder)
    except OSError as err:
        raise ValueError(f"cannot write to {folder}: {err.strerror or err}") from None


def forget_runs(store: ResultsStore, ckpt_root: Path, run_ids: list[str]) -> int:
    """Delete the records and checkpoints of ``run_ids`` so they run afresh; returns the count."""
    n = 0
    for rid in run_ids:
        n += store.forget(rid)
        shutil.rmtree(ckpt_root / rid, ignore_errors=True)
    return n


def forget_when_ready(spec: RunSpec, profile: Profile, data: ProfileData, store: ResultsStore,
                      ckpt_root: Path, device: str | None = None) -> None:
    """Forget ``spec``'s record and checkpoints once its data has loaded, just before it is
    trained again: a data failure (an unreadable image, a missing cache) then costs nothing."""
    data.sets(spec, run_config(profile, spec, device)[0])  # raises before anything is deleted
    forget_runs(store, ckpt_root, [spec.run_id])


def _only(specs: list[RunSpec], profile: Profile, networks, variants) -> list[RunSpec]:
    for name, wanted, known in (("network", networks, profile.networks),
                                ("variant", variants, profile.variants)):
        if wanted:
            unknown = sorted(set(wanted) - set(known))
            if unknown:
                raise ValueError(f"--{name}: {unknown} not in profile {profile.name!r} "
                                 f"(it has {', '.join(known)})")
            specs = [s for s in specs if getattr(s, name) in wanted]
    return specs


def run_sweep(profile: Profile, *, data_root: str | Path | None = None,
              mimic_root: str | Path | None = None, results_root: str | Path = "results",
              work_root: str | Path = ".cache", shard: tuple[int, int] = (0, 1),
              device: str | None = None, progress: bool = True,
              fresh: list[str] | str | None = None, networks=None, variants=None) -> pd.DataFrame:
    """Run (or resume) every run of ``profile`` in this shard; return the runs table.

    ``networks`` / ``variants`` (optional) keep only those runs, e.g. one network's share.
    """
    from tqdm import tqdm

    store = ResultsStore(Path(results_root) / profile.name)
    ckpt_root = Path(work_root) / "checkpoints" / profile.name
    specs = _only(run_specs(profile, shard), profile, networks, variants)
    check_writable(store.path)
    check_writable(ckpt_root)
    if fresh:
        ids = [s.run_id for s in specs] if fresh == "all" else list(fresh)
        unknown = set(ids) - {s.run_id for s in run_specs(profile)}
        if unknown:
            raise ValueError(f"--fresh: no run {sorted(unknown)} in profile {profile.name!r}")
        # A finished run is never forgotten by a call that will not train it again.
        outside = set(ids) - {s.run_id for s in specs}
        if outside:
            raise ValueError(f"--fresh: {sorted(outside)} not among the runs this call trains "
                             "(its --shard, --network and --variant leave them out): nothing forgotten")
    fresh_ids = set(ids) if fresh else set()
    data = ProfileData(profile, Path(data_root) if data_root else None, Path(work_root),
                       Path(mimic_root) if mimic_root else None, progress=progress)
    todo = [s for s in specs if s.run_id in fresh_ids
            or not is_done(store, s, run_config(profile, s, device)[0], data.data_key(s))]
    bar = tqdm(todo, desc=f"sweep {profile.name}", disable=not progress)
    for spec in bar:
        bar.set_postfix_str(spec.run_id)
        if spec.run_id in fresh_ids:
            forget_when_ready(spec, profile, data, store, ckpt_root, device)
        # Unreadable checkpoints (a truncated file, or one carrying pickled code) are set aside
        # before anything loads them; run_one then sets aside those of other data.
        prepare_checkpoints(ckpt_root / spec.run_id)
        run_one(spec, profile, data, store, ckpt_root, device=device, progress=progress)
        store.collect()
    return store.collect()

