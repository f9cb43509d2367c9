"""Run every ``benchmarks/bench_*.py``, print their markdown sections and record their
tables in ``benchmarks/results.json`` (``make bench``).

Each benchmark is a script whose ``main()`` prints one markdown section and returns its
tables (a list of dicts: table, title, setup, columns, rows, summary); each runs in its own
process (so memory figures do not mix). This script adds the machine, date and commit and
merges them into ``results.json`` (format: ``ggcam.analysis.bench``): an entry replaces the
one of the same benchmark, table and machine; other machines' figures stay. The book's
performance page reads that file. New ``bench_*.py`` files are picked up by the glob.

    python benchmarks/run_all.py             # all of them
    python benchmarks/run_all.py heatmap     # only those whose name contains "heatmap"
    python benchmarks/run_all.py --no-record heatmap   # print only, leave results.json alone
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from ggcam.analysis import bench as bench_results

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
# Runs one script's main() in a fresh interpreter and writes what it returns as JSON.
RUNNER = """
import json, runpy, sys
script, out = sys.argv[1], sys.argv[2]
sys.argv = [script]
tables = runpy.run_path(script, run_name="__bench__")["main"]()
with open(out, "w") as f:
    json.dump(tables or [], f)
"""


def describe() -> dict:
    """This machine for results.json: id, cpu, cores, gpu, torch."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    cores = os.cpu_count() or 0
    return {"id": bench_results.machine_id(cpu, cores, gpu), "cpu": cpu, "cores": cores,
            "gpu": gpu, "torch": torch.__version__}


def commit() -> str:
    """The short commit, "(modified)" when the working tree differs from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=HERE, text=True,
                               capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (modified)" if dirty else "")


def run(script: Path) -> tuple[list[dict] | None, str]:
    """Run one benchmark in its own process: (its tables, or None if it failed; its output)."""
    with tempfile.TemporaryDirectory(prefix="ggcam-bench-") as tmp:
        out = Path(tmp) / "tables.json"
        proc = subprocess.run([sys.executable, "-c", RUNNER, str(script), str(out)], text=True,
                              capture_output=True, check=False)
        if proc.returncode != 0:
            tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
            return None, f"## {script.name}: FAILED (exit {proc.returncode})\n\n```\n{tail}\n```\n"
        return json.loads(out.read_text()), proc.stdout.rstrip() + "\n"


def entries(script: Path, tables: list[dict], machine: str, when: str, at: str) -> list[dict]:
    """A script's tables as results.json entries (benchmark = file name without bench_)."""
    name = script.stem.removeprefix("bench_")
    return [{"benchmark": name, "table": t.get("table", ""), "title": t["title"], "machine": machine,
             "date": when, "commit": at, "setup": t.get("setup", ""), "columns": t["columns"],
             "rows": t["rows"], "summary": t.get("summary", ""),
             "source": f"benchmarks/{script.name}"} for t in tables]


def main(argv: list[str] | None = None, results: Path = RESULTS, folder: Path = HERE) -> int:
    wanted = list(sys.argv[1:] if argv is None else argv)
    record = "--no-record" not in wanted
    wanted = [w for w in wanted if w != "--no-record"]
    scripts = sorted(Path(folder).glob("bench_*.py"))
    if wanted:
        scripts = [s for s in scripts if any(w in s.stem for w in wanted)]
    machine, when, at = describe(), datetime.date.today().isoformat(), commit()
    print(f"# Benchmarks\n\n{machine['cpu']}, {machine['cores']} cores, GPU: {machine['gpu']}, "
          f"torch {machine['torch']}; commit {at}; {when}\n", flush=True)
    failed, new = [], []
    for script in scripts:
        tables, text = run(script)
        print(text, flush=True)
        if tables is None:
            failed.append(script.name)
        else:
            new += entries(script, tables, machine["id"], when, at)
    if record and new:
        bench_results.save(results, bench_results.merge(bench_results.load(results), machine, new))
        print(f"recorded {len(new)} table(s) in {results}", flush=True)
    if failed:
        print(f"Failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
