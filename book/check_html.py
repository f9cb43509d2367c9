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
* more than one search field (the theme pair's second one, in a header bar).

    python book/check_html.py [_build/html]
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

PIPE_RULE = re.compile(r"\|\s*:?-{3,}:?\s*\|")  # the rule line of a Markdown pipe table
EXTERNAL = re.compile(r"^(https?:)?//", re.I)
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
        classes = a.get("class", "").split()
        if "traceback" in classes:
            self.traceback_outputs += 1
        if "stderr" in classes and "output" in classes:
            self.stderr_outputs += 1
        if "search-button-field" in classes:
            self.search_fields += 1

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in ("pre", "code", "script", "style", "textarea"):
            self._skip -= 1

    def handle_endtag(self, tag):
        if tag in ("pre", "code", "script", "style", "textarea") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


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
