"""The shape of the code: no import cycles inside ggcam, small modules and functions, no logic
in the book's pages, ``ruff check`` clean."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ggcam"


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _module_level_imports(path: Path) -> set[str]:
    """ggcam modules imported at module level (not inside functions: those are lazy)."""
    tree = ast.parse(path.read_text())
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("ggcam")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("ggcam"):
                found.add(mod)
                found |= {f"{mod}.{a.name}" for a in node.names}
    return found


def test_no_import_cycles_inside_ggcam():
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {m: {d for d in _module_level_imports(p) if d in modules and d != m}
             for m, p in modules.items()}
    # A package's __init__ importing its own submodules is not a cycle of interest.
    for m in graph:
        graph[m] = {d for d in graph[m] if not (modules[m].name == "__init__.py" and d.startswith(m + "."))}
    state: dict[str, int] = {}
    cycles = []

    def visit(m, stack):
        state[m] = 1
        for d in graph[m]:
            if state.get(d) == 1:
                cycles.append(stack[stack.index(d):] + [d] if d in stack else [m, d])
            elif d not in state:
                visit(d, stack + [d])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, f"module-level import cycles: {cycles}"


MAX_MODULE_LINES = 300  # style.md: "a module past ~300 lines is two modules"
MAX_FUNCTION_LINES = 60  # a function read in one screen; past it, name its pieces


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_modules_stay_small():
    long = {_rel(p): n for p in sorted(PACKAGE.rglob("*.py"))
            if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split along a seam): {long}"


def test_functions_stay_small():
    long = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1  # decorators aside, docstring included
                if n > MAX_FUNCTION_LINES:
                    long[f"{_rel(path)}:{node.name}"] = n
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines (extract named helpers): {long}"


def test_import_ggcam_loads_no_data_layer():
    """``import ggcam`` is the maths (CAM, Ψ, losses, metrics, stats): the data layer, the
    phantom generator and the experiment load only when asked for."""
    code = ("import sys, ggcam; print(' '.join(m for m in sys.modules if m.startswith("
            "('ggcam.data', 'ggcam.experiment', 'ggcam.train', 'ggcam.viz', 'ggcam.analysis'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == [], f"import ggcam loads {out.stdout.split()}"


PAGES = sorted((ROOT / "book").glob("[0-9][0-9]_*.py"))


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_book_pages_hold_no_logic(page):
    """A page calls the package and shows the result: no function, class or loop of its own."""
    tree = ast.parse(page.read_text())
    bad = [f"line {n.lineno}: {type(n).__name__}" for n in ast.walk(tree)
           if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.For,
                             ast.While, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                             ast.GeneratorExp))]
    assert not bad, f"{page.name} holds logic: {bad}"


@pytest.mark.skipif(shutil.which("ruff") is None and not (Path(sys.executable).parent / "ruff").exists(),
                    reason="ruff not installed")
def test_ruff_check_is_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    out = subprocess.run([ruff, "check", "ggcam", "tests", "benchmarks"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-3000:]
