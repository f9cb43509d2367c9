"""The book: pages and executed notebooks in sync, a clean table of contents, no error
outputs, and the training page running under papermill with the smoke profile."""

import json
from pathlib import Path

import jupytext
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
PAGES = sorted(BOOK.glob("[0-9][0-9]_*.py"))


def cells(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells
            if "injected-parameters" not in c.metadata.get("tags", [])]


def test_there_are_pages():
    assert len(PAGES) >= 9


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_page_and_notebook_in_sync(page):
    notebook = page.with_suffix(".ipynb")
    assert notebook.is_file(), f"{notebook.name} missing: run `make book`"
    assert cells(jupytext.read(page)) == cells(jupytext.read(notebook)), (
        f"{page.name} and {notebook.name} differ: run `python book/build.py {page.name[:2]}`")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_executed_notebook_has_no_errors(page):
    nb = json.loads(page.with_suffix(".ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(c.get("execution_count") for c in code), "notebook not fully executed"
    for c in code:
        for out in c.get("outputs", []):
            assert out["output_type"] != "error", f"{page.name}: {out.get('ename')}: {out.get('evalue')}"
            assert "Traceback" not in "".join(out.get("text", "")), f"{page.name}: traceback in output"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_page_has_parameters_cell(page):
    nb = jupytext.read(page)
    assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells)


def test_toc_lists_every_page_once():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    assert len(files) == len(set(files))
    for f in files:
        assert any((ROOT / f).with_suffix(s).is_file() for s in (".md", ".ipynb")), f
    for page in PAGES:
        assert f"book/{page.stem}" in files, f"{page.stem} not in _toc.yml"
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "off"


def test_training_page_runs_under_papermill_with_the_smoke_profile(tmp_path):
    import papermill

    out = tmp_path / "training.ipynb"
    papermill.execute_notebook(
        str(BOOK / "05_training.ipynb"), str(out), kernel_name="ggcam", cwd=str(BOOK),
        parameters={"profile": "smoke", "variant": "ggcam", "work_dir": str(tmp_path / "work")},
        progress_bar=False)
    nb = json.loads(out.read_text())
    text = json.dumps(nb)
    assert '"output_type": "error"' not in text
    assert (tmp_path / "work" / "results" / "smoke" / "runs" / "resnet50__ggcam__s0.json").is_file()
