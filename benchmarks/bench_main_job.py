"""The main job as a newcomer meets it: `make book` then `make test` on a fresh clone.

Clones this repository's HEAD into a temporary folder (nothing of this checkout's `.venv/`,
`.cache/` or `_build/` comes along), times `make book` (set-up included) and then `make test`,
and checks that `git status --porcelain` is empty after both. The reference is the budget the
README promises (5 and 15 minutes on 2 cores): the ratio is measured / budget. Takes about
10 minutes; `run_all.py main_job` records it for the performance page.

    python benchmarks/bench_main_job.py
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_S = {"make book": 300, "make test": 900}  # the README's promise, 2 cores


def _timed(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return time.perf_counter() - t0


def main() -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="ggcam-fresh-") as tmp:
        clone = Path(tmp) / "ggcam"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        for step in BUDGET_S:
            seconds = _timed(["make", step.split()[1]], clone)
            rows.append({"step": step + (" (fresh clone, set-up included)" if step == "make book" else
                                         " (after make book)"),
                         "seconds": round(seconds), "budget s": BUDGET_S[step],
                         "ratio to budget": round(seconds / BUDGET_S[step], 2)})
            print(rows[-1], flush=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True,
                               text=True, check=True).stdout.strip()
    summary = ("`git status --porcelain` was empty after both." if not dirty else
               f"`git status --porcelain` after both listed: {dirty.splitlines()[:5]}")
    print(summary)
    return [{"table": "", "title": "The main job on a fresh clone",
             "setup": "A fresh `git clone` of the commit; `make book` (which creates `.venv/` and "
                      "installs the package) then `make test`; wall-clock seconds against the "
                      "README's budget.",
             "columns": list(rows[0]), "rows": rows, "summary": summary}]


if __name__ == "__main__":
    main()
