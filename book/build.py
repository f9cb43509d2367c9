"""Build the book: pair each jupytext page with its notebook, run it with papermill, then
``jupyter-book build`` and check the HTML (``book/check_html.py``). Called by ``make book``;
pages run in book/ with the ``ggcam`` kernel.

    python book/build.py            # every page, then the HTML
    python book/build.py 03 05      # only pages whose file name starts with these, no HTML
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

BOOK = Path(__file__).resolve().parent
ROOT = BOOK.parent
KERNEL = "ggcam"


def pages() -> list[Path]:
    return sorted(p for p in BOOK.glob("[0-9][0-9]_*.py"))


def sync(page: Path) -> Path:
    """Write page.ipynb from page.py (jupytext percent format), with the ggcam kernel."""
    import jupytext

    nb = jupytext.read(page)
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python (ggcam)", "language": "python"}
    nb.metadata.setdefault("jupytext", {})["formats"] = "ipynb,py:percent"
    out = page.with_suffix(".ipynb")
    jupytext.write(nb, out)
    return out


def execute(notebook: Path, **parameters) -> None:
    import papermill

    papermill.execute_notebook(str(notebook), str(notebook), parameters=parameters,
                               kernel_name=KERNEL, cwd=str(BOOK), progress_bar=False)


def main(argv: list[str]) -> int:
    chosen = [p for p in pages() if not argv or any(p.name.startswith(a) for a in argv)]
    for page in chosen:
        t0 = time.perf_counter()
        execute(sync(page))
        print(f"{page.name}: executed in {time.perf_counter() - t0:.0f} s", flush=True)
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
