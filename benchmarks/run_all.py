"""Run every ``benchmarks/bench_*.py`` and print their markdown sections (``make bench``).

Each benchmark is a script whose ``main()`` prints one markdown section; each runs in its own
process (so memory figures do not mix). New ``bench_*.py`` files are picked up by the glob.

    python benchmarks/run_all.py             # all of them
    python benchmarks/run_all.py heatmap     # only those whose name contains "heatmap"
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def machine() -> str:
    """One line: CPU model and cores, GPU if any, torch version, commit, date."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    parts = [f"{cpu}, {os.cpu_count()} cores"]
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
        parts += [gpu, f"torch {torch.__version__}"]
    except ImportError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, text=True,
                                capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=HERE, text=True,
                               capture_output=True, check=True).stdout.strip()
        parts.append(f"commit {commit}{' (modified)' if dirty else ''}")
    except (OSError, subprocess.CalledProcessError):
        pass
    parts.append(datetime.date.today().isoformat())
    return "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    wanted = sys.argv[1:] if argv is None else argv
    scripts = sorted(HERE.glob("bench_*.py"))
    if wanted:
        scripts = [s for s in scripts if any(w in s.stem for w in wanted)]
    print(f"# Benchmarks\n\n{machine()}\n", flush=True)
    failed = []
    for script in scripts:
        out = subprocess.run([sys.executable, str(script)], text=True, capture_output=True)
        if out.returncode == 0:
            print(out.stdout.rstrip() + "\n", flush=True)
        else:
            failed.append(script.name)
            tail = "\n".join(out.stderr.strip().splitlines()[-15:])
            print(f"## {script.name}: FAILED (exit {out.returncode})\n\n```\n{tail}\n```\n",
                  flush=True)
    if failed:
        print(f"Failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
