"""The built book as a reader sees it: book/check_html.py on made-up pages (always), on
_build/html when the book has been built (`make book`; skipped otherwise), and the build-time
maths renderer (book/_ext/mathtext_math.py)."""

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
# `make test` builds the book first and sets this: there, a missing book is a failure.
BOOK_REQUIRED = os.environ.get("GGCAM_REQUIRE_BOOK") == "1"


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


check_html = load(ROOT / "book" / "check_html.py")
measure_tables = load(ROOT / "book" / "measure_tables.py")
mathtext_math = load(ROOT / "book" / "_ext" / "mathtext_math.py")


def page(tmp_path, body: str, head: str = "") -> Path:
    (tmp_path / "book").mkdir(exist_ok=True)
    (tmp_path / "_images").mkdir(exist_ok=True)
    (tmp_path / "_images" / "ok.png").write_bytes(b"png")
    (tmp_path / "book" / "p.html").write_text(
        f"<html><head>{head}</head><body>{body}</body></html>")
    return tmp_path


# ---- the checks, on made-up pages -------------------------------------------------------------


def test_a_clean_page_passes(tmp_path):
    figure = ('<figure><img src="{}" alt="a plot of three things"/><figcaption><p>'
              '<span class="caption-number">Fig. 1 </span>x</p></figcaption></figure>')
    root = page(tmp_path, '<table class="ggcam-table"><tr><td>1</td></tr></table>'
                          + figure.format("../_images/ok.png") + '<pre>| --- |</pre>'
                          '<p>a | b</p>' + figure.format("data:image/png;base64,AAAA"),
                head='<script src="../_static/x.js"></script><link rel="stylesheet" href="x.css">'
                     '<link rel="canonical" href="https://example.org/p.html">')
    assert check_html.check(root) == []


@pytest.mark.parametrize("body, head, problem", [
    ("<p>| a | b |\n| --- | --- |\n| 1 | 2 |</p>", "", "raw Markdown table"),
    ("<p>|---|:---:|</p>", "", "raw Markdown table"),
    ('<div class="output stderr highlight-myst-ansi notranslate"><pre>UserWarning</pre></div>', "",
     "on stderr"),
    ("<table><tr><td>1</td></tr></table>", "", "<table> without a class"),
    ('<table class=""><tr><td>1</td></tr></table>', "", "<table> without a class"),
    ("", '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>',
     "loads <script"),
    ("", '<script src="//cdn.example.org/x.js"></script>', "loads <script"),
    ("", '<link rel="stylesheet" href="https://fonts.googleapis.com/css">', "loads <link"),
    ('<img src="https://example.org/a.png"/>', "", "loads <img"),
    ('<img src="../_images/missing.png"/>', "", "missing image ../_images/missing.png"),
    ('<div class="output traceback"><pre>ValueError</pre></div>', "", "Python traceback"),
    ("<pre>Traceback (most recent call last):\n  File</pre>", "", "Python traceback"),
    ('<button class="btn search-button-field"></button>' * 2, "", "2 search fields"),
    ('<article><table class="ggcam-table"><tr>' + "<th>h</th>" * 8 + "</tr></table></article>", "",
     "8 columns"),
    ('<table class="ggcam-table"><tr><th>' + "a" * 40 + "</th><th>" + "b" * 40 + "</th></tr></table>",
     "", "add up to 80 characters"),
    ('<div class="cell_output"><img src="../_images/ok.png" alt="a plot"/></div>', "",
     "has no number and caption"),
    ('<figure><img src="../_images/ok.png" alt="3f2a9c0d1e4b5a6978"/><figcaption><p>'
     '<span class="caption-number">Fig. 1 </span>x</p></figcaption></figure>', "", "no alt text"),
    ('<div class="cell tag_parameters docutils container"></div>', "", "parameters cell"),
    ('<div class="cell_input docutils container"><pre>glue("x", 1)</pre></div>', "", "calling glue("),
    ('<div class="cell_input"><div><pre>display(report.rerun_admonition("01_answer"))</pre></div></div>',
     "", "calling rerun_admonition("),
    ("<p>fixed before issue 2</p>", "", "internal word 'issue 2'"),
    ("<p>made at 1a2b3c+dirty</p>", "", "internal word"),
    ('<p><a href="execution.md">run times</a></p>', "", "a link to 'execution.md'"),
    ('<div class="citation"><span class="label"><span class="fn-bracket">[</span>3'
     '<span class="fn-bracket">]</span></span><p>Holm</p></div>', "", "labelled by number"),
])
def test_each_problem_is_reported(tmp_path, body, head, problem):
    (found,) = check_html.check(page(tmp_path, body, head))
    assert found.startswith("book/p.html: ") and problem in found


def test_a_numbered_captioned_figure_and_maths_pass(tmp_path):
    body = ('<figure id="fig-x"><img src="../_images/ok.png" alt="Two panels of paired differences"/>'
            '<figcaption><p><span class="caption-number">Fig. 1 </span>Caption.</p></figcaption></figure>'
            '<p><img class="math" src="../_images/ok.png" alt="x"/></p>'
            '<p><img class="math-display" src="../_images/ok.png" alt="y"/></p>'
            '<div class="cell tag_hide-input"><div class="cell_input"><pre>import ggcam</pre></div></div>')
    assert check_html.check(page(tmp_path, body)) == []


def test_the_table_rule_counts_columns_and_the_longest_word_of_each():
    assert check_html.table_problem([["a"] * 7]) is None
    assert "8 columns" in check_html.table_problem([["a"] * 8])
    wide = [["AUC", "x" * 36], ["y" * 37, "short words only"]]
    assert "73 characters" in check_html.table_problem(wide)
    assert check_html.table_problem([["a b c " * 40, "d"]]) is None  # long text wraps


def test_check_needs_a_built_book(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a built book"):
        check_html.check(tmp_path / "nothing")
    with pytest.raises(FileNotFoundError, match="no HTML pages"):
        check_html.check(tmp_path)


# ---- the built book ---------------------------------------------------------------------------


def needs_book(test):
    """Run on the built book; skip without one, unless ``make test`` asked for it."""
    built = (HTML / "index.html").is_file()
    if BOOK_REQUIRED and not built:
        raise RuntimeError(f"GGCAM_REQUIRE_BOOK=1 but {HTML / 'index.html'} is missing: run make book")
    return pytest.mark.skipif(not built, reason="book not built (make book)")(test)


@needs_book
def test_built_book_has_nothing_a_reader_must_not_see():
    problems = check_html.check(HTML)
    assert not problems, "\n".join(problems)


@needs_book
@pytest.mark.skipif(measure_tables.chromium() is None, reason="no Chromium (apt-get install chromium)")
def test_the_table_rule_agrees_with_the_browser():
    """Every table the rule passes fits the text column in Chromium at 1400 px, so the rule can
    stand in for a browser in CI (book/measure_tables.py)."""
    rows = measure_tables.measure(HTML, 1400)
    assert rows
    too_wide = [f"{r['page']} table {r['index'] + 1}: {r['table_px']} > {r['column_px']} px"
                for r in rows if r["overflows"]]
    assert not too_wide, "\n".join(too_wide)


@needs_book
def test_built_book_draws_maths_without_mathjax():
    pages = list(HTML.rglob("*.html"))
    assert not [p for p in pages if "mathjax" in p.read_text().lower().replace(
        "mathjax_ignore", "").replace("tex2jax_ignore", "")]
    drawn = list((HTML / "_images" / "math").glob("*.svg"))
    assert drawn and all(f.read_bytes().startswith(b"<?xml") for f in drawn)


# ---- maths drawn at build time ----------------------------------------------------------------


def test_mathtext_renders_the_papers_equations():
    for tex in (r"\tilde{\mathbf{\Omega}}^c = \operatorname{Sigmoid}(\alpha \mathbf{\Omega}^c)",
                r"\mathcal{L} = \frac{1}{2\sigma_{sm}^2} \mathcal{L}_{sm} + \ln(\sigma_{sm} + 1)",
                r"\underset{i,j}{\operatorname{argmax}} \left( \mathbf{\Omega}_{i,j}^{Y} \right)"
                r" \in \mathbf{S}^{Y}",
                r"p_k = \tfrac{1}{HW}\sum_{ij} A_{k,i,j}, \quad \lVert x \rVert \le 1"):
        svg, width, height, depth = mathtext_math.render(tex, "cm", 12.0)
        assert svg.startswith(b"<?xml") and b"<path" in svg
        assert width > height > 0 and 0 <= depth < height
    with pytest.raises(mathtext_math.MathError):
        mathtext_math.render(r"\nosuchcommand{x}", "cm", 12.0)


def test_display_environments_become_lines_with_their_tag():
    lines, tag = mathtext_math.display_lines(
        "\\begin{aligned} a &= b \\\\ c &= d \\tag{9} \\end{aligned}")
    assert lines == ["a  = b", "c  = d"] and tag == "9"
    assert mathtext_math.display_lines("x = 1") == (["x = 1"], None)
    lines, tag = mathtext_math.display_lines("\na = b\n  + c \\tag{11}\n")
    assert tag == "11" and mathtext_math.render(lines[0], "cm", 12.0)[1] > 0  # newlines
    assert mathtext_math.to_mathtext(r"\tfrac{a}{b} \le \lVert c \rVert") == r"\frac{a}{b} \leq \Vert c \Vert"
    assert mathtext_math.display_lines(r"\frac{a}{b}")[0] == [r"\dfrac{a}{b}"]  # display style
