"""Build the book: pair each jupytext page with its notebook, run it with papermill, then
``jupyter-book build`` and check the HTML (``book/check_html.py``). Called by ``make book``;
pages run in book/ with the ``ggcam`` kernel.

    python book/build.py            # every page, then the HTML
    python book/build.py 03 05      # only pages whose file name starts with these, no HTML

A rebuild of an unchanged page leaves its notebook byte for byte as it was, so ``git status``
stays clean: cell ids are derived from the cells (``cell_ids``), papermill's per-cell times
are dropped (``normalise``), and a notebook whose outputs differ from the committed one only
where ``tests/nbval_sanitize.cfg`` says outputs legitimately vary (run times, Styler ids,
memory addresses, absolute paths) or in cells tagged ``nbval-ignore-output`` is not
rewritten: it still shows the run that made it, papermill's run time included.
"""

from __future__ import annotations

import configparser
import copy
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BOOK = Path(__file__).resolve().parent
ROOT = BOOK.parent
KERNEL = "ggcam"
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"  # what nbval ignores is what a rebuild ignores
VOLATILE_TAGS = {"nbval-ignore-output", "nbval-skip"}  # cells whose outputs vary by design
SLOW_CELL_S = 20  # cells slower than this are listed after the page (they must print stages)


def pages() -> list[Path]:
    return sorted(p for p in BOOK.glob("[0-9][0-9]_*.py"))


def cell_ids(nb, page: str) -> None:
    """Give every cell an id made from the page's name and the cell's own text, so ids do not
    change between builds and editing one cell changes only its id (a repeat gets a suffix)."""
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        digest = hashlib.sha1(f"{page}\n{cell.cell_type}\n{cell.source}".encode()).hexdigest()[:8]
        cell.id = digest if digest not in seen else f"{digest}-{index}"
        seen.add(cell.id)


def sync(page: Path, out: Path | None = None) -> Path:
    """Write the notebook of page.py (jupytext percent format), with the ggcam kernel and
    stable cell ids, to ``out`` (default: page.ipynb)."""
    import jupytext

    nb = jupytext.read(page)
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python (ggcam)", "language": "python"}
    nb.metadata.setdefault("jupytext", {})["formats"] = "ipynb,py:percent"
    cell_ids(nb, page.stem)
    out = out or page.with_suffix(".ipynb")
    jupytext.write(nb, out)
    return out


class _Indented:
    """What a page prints while it runs, shown indented under its name in the build log."""

    def write(self, text: str) -> None:
        sys.stdout.write("".join(f"    {line}" for line in text.splitlines(keepends=True)))
        sys.stdout.flush()

    def flush(self) -> None:
        sys.stdout.flush()


def execute(notebook: Path, output: Path | None = None, **parameters) -> None:
    """Run ``notebook`` in book/ with the ggcam kernel; what it prints goes to the build log
    as it comes. The kernel's OpenMP threads sleep instead of spinning while they wait
    (``OMP_WAIT_POLICY=PASSIVE``, unless set): on a 2-core machine shared with another busy
    process, spinning threads made two-thread training 3× slower than one thread (page 07)."""
    import papermill

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    papermill.execute_notebook(str(notebook), str(output or notebook), parameters=parameters,
                               kernel_name=KERNEL, cwd=str(BOOK), progress_bar=False,
                               stdout_file=_Indented())


def normalise(nb, page: Path) -> None:
    """Drop what changes on every run and says nothing about the page: papermill's per-cell
    start/end times and status, the kernel's per-cell timestamps, empty tag lists. The
    notebook's papermill record (its run time, for the execution-statistics page) stays,
    with paths relative to the repository."""
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if not cell.metadata.get("tags", True):
            del cell.metadata["tags"]
    record = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if key in record:
            record[key] = page.with_suffix(".ipynb").relative_to(ROOT).as_posix()
    cell_ids(nb, page.stem)


def sanitizers() -> list[tuple[re.Pattern, str]]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(SANITIZE, encoding="utf8")
    return [(re.compile(parser[s]["regex"]), parser[s]["replace"]) for s in parser.sections()]


def _sanitised(value, rules):
    if isinstance(value, str):
        for pattern, replace in rules:
            value = pattern.sub(replace, value)
        return value
    if isinstance(value, dict):  # images are compared as they are
        return {k: v if k.startswith("image/") else _sanitised(v, rules) for k, v in value.items()}
    if isinstance(value, list):
        return [_sanitised(v, rules) for v in value]
    return value


def comparable(nb, rules) -> dict:
    """The notebook as a rebuild compares it: without papermill's run record, the outputs of
    cells tagged ``nbval-ignore-output``, and the output text ``rules`` replace."""
    d = copy.deepcopy(dict(nb))
    d["metadata"] = {k: v for k, v in d["metadata"].items() if k != "papermill"}
    for cell in d["cells"]:
        if VOLATILE_TAGS & set(cell.get("metadata", {}).get("tags", [])):
            cell["outputs"] = []
        elif "outputs" in cell:
            cell["outputs"] = _sanitised(cell["outputs"], rules)
    return d


def slow_cells(nb) -> list[str]:
    """The cells slower than ``SLOW_CELL_S``, from papermill's per-cell times."""
    return [f"cell {i} took {c.metadata['papermill']['duration']:.0f} s"
            for i, c in enumerate(nb.cells)
            if (c.metadata.get("papermill", {}).get("duration") or 0) > SLOW_CELL_S]


def build(page: Path) -> bool:
    """Execute ``page`` and write its notebook unless only what varies by design changed.
    Returns whether page.ipynb was written. A run where a cell raised leaves page.ipynb as it
    was: its notebook goes to _build/failed/ and the error is raised again."""
    import nbformat
    from papermill.exceptions import PapermillExecutionError

    target = page.with_suffix(".ipynb")
    with tempfile.TemporaryDirectory(prefix="ggcam-book-") as tmp:
        scratch = Path(tmp) / target.name
        sync(page, scratch)
        error = None
        try:
            execute(scratch)
        except PapermillExecutionError as err:
            error = err
        nb = nbformat.read(scratch, as_version=4)
    for line in slow_cells(nb):
        print(f"  {line}", flush=True)
    normalise(nb, page)
    if error is not None:
        failed = ROOT / "_build" / "failed" / target.name
        failed.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, failed)
        print(f"{page.name} failed; the notebook up to the error: {failed}", flush=True)
        raise error
    if target.is_file():
        rules = sanitizers()
        if comparable(nbformat.read(target, as_version=4), rules) == comparable(nb, rules):
            return False
    nbformat.write(nb, target)
    return True


def main(argv: list[str]) -> int:
    chosen = [p for p in pages() if not argv or any(p.name.startswith(a) for a in argv)]
    for page in chosen:
        print(f"executing {page.stem} …", flush=True)
        t0 = time.perf_counter()
        written = build(page)
        print(f"{page.name}: executed in {time.perf_counter() - t0:.0f} s, notebook "
              f"{'updated' if written else 'unchanged'}", flush=True)
    if argv:
        return 0
    # Pages a previous build left (a renamed or removed page) would stay reachable: start clean.
    shutil.rmtree(ROOT / "_build" / "html", ignore_errors=True)
    cmd = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(ROOT), "-W", "-n", "--keep-going"]
    subprocess.run(cmd, cwd=ROOT, check=True)
    check_html(ROOT / "_build" / "html")
    print(f"book: {ROOT / '_build' / 'html' / 'index.html'}")
    return 0


def check_html(html: Path) -> None:
    """Fail on what a reader must never see (book/check_html.py: raw Markdown tables, tables
    without a class, anything fetched from another site, missing images, tracebacks)."""
    from check_html import check

    problems = check(html)
    if problems:
        raise SystemExit("book check failed:\n" + "\n".join(problems))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
