"""The `gpu-fast` study as one prepared script, for a session that is lent a GPU.

Runs the profile's sweep as ``--jobs`` concurrent shard processes on one GPU (each trains one
run at a time; several keep the GPU busy while another evaluates or loads), then the
training-step benchmark, and prints the wall times with the device's name. Everything is
resumable: run it again to continue. Not a ratio benchmark (``run_all.py`` does not pick it up).

    python benchmarks/gpu_study.py                     # gpu-fast on cuda, 4 shards, then the benchmark
    python benchmarks/gpu_study.py --deadline 540      # stop starting new runs after 9 minutes
    python benchmarks/gpu_study.py --dry-run           # the same script on CPU at toy size (a test)

``--deadline`` stops the shards (SIGINT: the finished runs stay, an interrupted one resumes next
time) so that the call fits a lent machine's time.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DRY_VARIANTS = ("standard", "ggcam-warm")  # the dry run's share of the smoke profile


def shard_commands(profile: str, jobs: int, results: Path, work: Path, device: str | None,
                   variants=None) -> list[list[str]]:
    """One ``ggcam sweep`` command per shard i/jobs."""
    base = [sys.executable, "-m", "ggcam", "sweep", "--profile", profile, "--results", str(results),
            "--work", str(work), "--quiet"]
    if device:
        base += ["--device", device]
    if variants:
        base += ["--variant", *variants]
    return [[*base, "--shard", f"{i}/{jobs}"] for i in range(jobs)]


def run_shards(commands: list[list[str]], deadline: float | None) -> list[int]:
    """Start every shard, print a line as each ends, interrupt them all at the deadline."""
    t0 = time.perf_counter()
    procs = [subprocess.Popen(c, cwd=ROOT) for c in commands]
    print(f"{len(procs)} shard(s) started", flush=True)
    while any(p.poll() is None for p in procs):
        if deadline is not None and time.perf_counter() - t0 > deadline:
            print(f"deadline {deadline:.0f} s: interrupting the shards (finished runs stay)", flush=True)
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGINT)
            break
        time.sleep(1)
    codes = [p.wait() for p in procs]
    print(f"shards done in {time.perf_counter() - t0:.0f} s, exit codes {codes}", flush=True)
    return codes


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="gpu-fast")
    p.add_argument("--jobs", type=int, default=4, help="concurrent shard processes (default 4)")
    p.add_argument("--results", type=Path, default=ROOT / "results")
    p.add_argument("--work", type=Path, default=ROOT / ".cache")
    p.add_argument("--deadline", type=float, default=None, help="seconds before the shards are stopped")
    p.add_argument("--no-bench", dest="bench", action="store_false", help="skip the training-step benchmark")
    p.add_argument("--dry-run", action="store_true",
                   help="the smoke profile on CPU (two arms, two shards): checks the script itself")
    a = p.parse_args(argv)
    import torch

    from ggcam.runtime import device_name

    device = "cpu" if a.dry_run else None
    profile, jobs = ("smoke", min(a.jobs, 2)) if a.dry_run else (a.profile, a.jobs)
    print(f"device: {device_name('cuda' if torch.cuda.is_available() and not a.dry_run else 'cpu')}", flush=True)
    codes = run_shards(shard_commands(profile, jobs, a.results, a.work, device,
                                      DRY_VARIANTS if a.dry_run else None), a.deadline)
    if a.bench and not a.dry_run:
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "train_step"], cwd=ROOT)
    return 0 if all(c in (0, 130) for c in codes) else 1


if __name__ == "__main__":
    sys.exit(main())
