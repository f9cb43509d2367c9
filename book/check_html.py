"""What a reader must never see in the built book, checked on ``_build/html``.

Used by ``book/build.py`` (``make book`` fails on a problem) and ``tests/test_book_html.py``
(``make test``, when the book has been built). A page fails on:

* a raw Markdown table: ``| --- |`` in the rendered text (Markdown that was not parsed);
* a ``<table>`` without a class (printed without ``ggcam.viz.report.styled``);
* a script, style sheet, font or image fetched from another site (``http(s)://`` or ``//``):
  the book must work offline, MathJax included;
* an ``<img>`` whose file is not in the build;
* a Python traceback in an output;
* a cell's stderr (a warning or a progress bar the page forgot to silence);
* more than one search field (the theme pair's second one, in a header bar);
* a table too wide for the text column (``table_problem``: more than ``MAX_COLUMNS`` columns,
  or longest words adding up to more than ``MAX_WORD_CHARS`` characters: the table cannot
  wrap into the column; ``book/measure_tables.py`` shows in Chromium that this rule and the
  rendered widths agree on every table of the book);
* a figure without a number and a caption, or without alt text that says what it shows (a
  cell's plain image output: show figures with ``{glue:figure}``, ``:name:`` and ``:alt:``);
* bookkeeping on show: the papermill ``parameters`` cell, or a cell whose code calls
  ``glue(`` or ``rerun_admonition(`` (tag those ``remove-cell`` / ``remove-input``);
* internal words in reader text: an issue number, ``+dirty``, "uncommitted";
* a references list labelled by number while the pages cite author-year;
* a link to a page or file that is not in the build (an unresolved ``.md``/``.ipynb`` link
  from Markdown that MyST did not parse, e.g. an inline ``{glue:md}`` role).

    python book/check_html.py [_build/html]
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

PIPE_RULE = re.compile(r"\|\s*:?-{3,}:?\s*\|")  # the rule line of a Markdown pipe table
EXTERNAL = re.compile(r"^(https?:)?//", re.I)
MAX_COLUMNS = 7  # a table's columns (pages aim at 6)
MAX_WORD_CHARS = 72  # the longest word of each column, summed: ~780 px, the output column
INTERNAL = re.compile(r"\b(issues? #?\d+|\+dirty|uncommitted)\b", re.I)
BOOKKEEPING = re.compile(r"\b(glue|rerun_admonition)\(")
LOADED_LINKS = {"stylesheet", "preload", "modulepreload", "prefetch", "icon", "manifest",
                "apple-touch-icon", "mask-icon"}  # <link rel=...> that fetch their href


class _Page(HTMLParser):
    """Collects the tags to check and the text outside <pre>, <code> and <script>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables_without_class: int = 0
        self.external: list[str] = []
        self.images: list[str] = []
        self.text: list[str] = []
        self.traceback_outputs: int = 0
        self.stderr_outputs: int = 0
        self.search_fields: int = 0
        self._skip = 0  # depth inside pre/code/script/style
        self.tables: list[list[list[str]]] = []  # rows of cell texts, per table
        self._cell: list[str] | None = None
        self.figures: list[str] = []  # problems of images outside a numbered, captioned figure
        self._figure: list[dict] = []  # open <figure>s: has a caption number?
        self._loose_images: list[dict] = []  # content images with their alt, in order
        self.parameters_cells = 0
        self._inputs = 0  # depth inside a cell's input
        self.input_code: list[str] = []
        self.numbered_references = 0
        self.links: list[str] = []
        self._citation_label: list[str] | None = None
        self._label_depth = 0

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag in ("pre", "code", "script", "style", "textarea"):
            self._skip += 1
        if tag == "table" and not a.get("class", "").strip():
            self.tables_without_class += 1
        if tag == "script" and EXTERNAL.match(a.get("src", "")):
            self.external.append(f"<script src={a['src']}>")
        if tag == "link" and EXTERNAL.match(a.get("href", "")):
            rel = set(a.get("rel", "").lower().split())
            if rel & LOADED_LINKS:
                self.external.append(f"<link rel={a.get('rel')} href={a['href']}>")
        if tag in ("img", "iframe", "audio", "video", "source") and EXTERNAL.match(a.get("src", "")):
            self.external.append(f"<{tag} src={a['src']}>")
        if tag == "img" and a.get("src"):
            self.images.append(a["src"])
            if not {"math", "math-display"} & set(a.get("class", "").split()) and "logo" not in a.get("class", ""):
                image = {"src": a["src"], "alt": a.get("alt", ""), "numbered": False}
                (self._figure[-1].setdefault("images", []) if self._figure else
                 self._loose_images).append(image)
        if tag == "figure":
            self._figure.append({})
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "span" and self._citation_label is not None:
            self._label_depth += 1
        if tag == "span" and "label" in a.get("class", "").split() and self._citation_label is None:
            self._citation_label, self._label_depth = [], 0
        if tag == "table":
            self.tables.append([])
        if tag == "tr" and self.tables:
            self.tables[-1].append([])
        if tag in ("td", "th") and self.tables:
            self._cell = []
        if tag == "span" and "caption-number" in a.get("class", "") and self._figure:
            self._figure[-1]["numbered"] = True
        if tag == "figcaption" and self._figure:
            self._figure[-1]["caption"] = True
        classes = a.get("class", "").split()
        if "traceback" in classes:
            self.traceback_outputs += 1
        if "stderr" in classes and "output" in classes:
            self.stderr_outputs += 1
        if "search-button-field" in classes:
            self.search_fields += 1
        if "cell" in classes and "tag_parameters" in classes:
            self.parameters_cells += 1
        if tag == "div" and ("cell_input" in classes or self._inputs):
            self._inputs += 1

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in ("pre", "code", "script", "style", "textarea"):
            self._skip -= 1

    def handle_endtag(self, tag):
        if tag in ("pre", "code", "script", "style", "textarea") and self._skip:
            self._skip -= 1
        if tag in ("td", "th") and self._cell is not None and self.tables and self.tables[-1]:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        if tag == "figure" and self._figure:
            fig = self._figure.pop()
            for image in fig.get("images", []):
                self._loose_images.append({**image, "numbered": bool(fig.get("numbered") and fig.get("caption"))})
        if tag == "div" and self._inputs:
            self._inputs -= 1
        if tag == "span" and self._citation_label is not None and self._label_depth:
            self._label_depth -= 1
        elif tag == "span" and self._citation_label is not None:
            label = "".join(self._citation_label).strip("[] ")
            if label and label.isdigit():
                self.numbered_references += 1
            self._citation_label = None

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._inputs:
            self.input_code.append(data)
        if self._citation_label is not None:
            self._citation_label.append(data)


def table_problem(rows: list[list[str]]) -> str | None:
    """Why a table (rows of cell texts) will not fit the text column, or None.

    A browser wraps cell text at spaces, so a table is as narrow as the longest word of each
    of its columns allows; measured in Chromium at 1400 px (``book/measure_tables.py``), every
    table of at most ``MAX_COLUMNS`` columns whose longest words add up to at most
    ``MAX_WORD_CHARS`` characters fits, and every wider one that overflowed broke one of them.
    """
    columns = max((len(r) for r in rows), default=0)
    if columns > MAX_COLUMNS:
        return f"{columns} columns (at most {MAX_COLUMNS} fit the text column)"
    longest = [0] * columns
    for row in rows:
        for j, cell in enumerate(row):
            longest[j] = max(longest[j], max((len(w) for w in cell.split()), default=0))
    if sum(longest) > MAX_WORD_CHARS:
        return (f"its longest words add up to {sum(longest)} characters (at most "
                f"{MAX_WORD_CHARS} fit the text column: shorter headers or values)")
    return None


def _says_something(alt: str) -> bool:
    """Alt text that describes a figure: words, not empty and not a file name or hash."""
    return len(alt.split()) >= 3 and not re.fullmatch(r"[0-9a-f]{16,}(\.\w+)?", alt.strip())


def check_page(page: Path, root: Path) -> list[str]:
    """The problems of one HTML file, each "path: what is wrong"."""
    source = page.read_text(encoding="utf8", errors="replace")
    parsed = _Page()
    parsed.feed(source)
    name = page.relative_to(root).as_posix()
    problems = []
    text = "".join(parsed.text)
    if PIPE_RULE.search(text):
        line = next(ln for ln in text.splitlines() if PIPE_RULE.search(ln))
        problems.append(f"{name}: a raw Markdown table: {line.strip()[:80]!r}")
    if parsed.tables_without_class:
        problems.append(f"{name}: {parsed.tables_without_class} <table> without a class "
                        "(print tables with ggcam.viz.report.styled)")
    problems += [f"{name}: loads {what} from another site" for what in parsed.external]
    for src in parsed.images:
        if src.startswith("data:") or EXTERNAL.match(src):
            continue
        if not (page.parent / src.split("#")[0].split("?")[0]).is_file():
            problems.append(f"{name}: missing image {src}")
    if parsed.traceback_outputs or "Traceback (most recent call last)" in source:
        problems.append(f"{name}: shows a Python traceback")
    if parsed.stderr_outputs:
        problems.append(f"{name}: {parsed.stderr_outputs} cell output(s) on stderr (a warning "
                        "or progress bar: silence it in the page)")
    for i, rows in enumerate(parsed.tables):
        why = table_problem(rows)
        if why:
            head = " | ".join(rows[0])[:60] if rows else ""
            problems.append(f"{name}: table {i + 1} ({head!r}) is too wide: {why}")
    for image in parsed._loose_images:
        src = image["src"].split("#")[0].split("?")[0]
        if EXTERNAL.match(src) or (not src.startswith("data:") and not (page.parent / src).is_file()):
            continue  # reported above
        if not image["numbered"]:
            problems.append(f"{name}: figure {image['src'][-40:]} has no number and caption "
                            "(show it with {glue:figure} and :name:)")
        elif not _says_something(image["alt"]):
            problems.append(f"{name}: figure {image['src'][-40:]} has no alt text (:alt:)")
    if parsed.parameters_cells:
        problems.append(f"{name}: shows its papermill parameters cell (tag it remove-cell)")
    code = "".join(parsed.input_code)
    for call in sorted(set(BOOKKEEPING.findall(code))):
        problems.append(f"{name}: shows code calling {call}( (put it in a remove-cell or "
                        "remove-input cell)")
    for word in sorted({m.group(0) for m in INTERNAL.finditer(text)}):
        problems.append(f"{name}: internal word {word!r} in reader text")
    for href in sorted(set(parsed.links)):
        target = href.split("#")[0].split("?")[0]
        if not target or EXTERNAL.match(href) or re.match(r"^[a-z][a-z0-9+.-]*:", href, re.I):
            continue  # an anchor on the page, another site, mailto:
        if not (page.parent / target).exists():
            problems.append(f"{name}: a link to {href!r}, which is not in the build (write it "
                            "in MyST Markdown, or use a glue:md directive with :format: myst)")
    if parsed.numbered_references:
        problems.append(f"{name}: {parsed.numbered_references} references labelled by number "
                        "(the pages cite author-year: bibtex_default_style author_year)")
    if parsed.search_fields > 1:
        problems.append(f"{name}: {parsed.search_fields} search fields (set the theme's "
                        "navbar_persistent: [])")
    return problems


def check(html: str | Path) -> list[str]:
    """The problems of every page under ``html`` (``_build/html``); [] when all is well."""
    root = Path(html)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a built book (run `make book`)")
    pages = sorted(p for p in root.rglob("*.html") if "_static" not in p.parts)
    if not pages:
        raise FileNotFoundError(f"{root} holds no HTML pages")
    return [problem for page in pages for problem in check_page(page, root)]


if __name__ == "__main__":
    found = check(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent.parent / "_build" / "html")
    print("\n".join(found) or "book HTML: no problems")
    sys.exit(1 if found else 0)
