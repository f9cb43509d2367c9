"""Measure every table of the built book in a real browser: is it wider than the text column?

Headless Chromium (Debian's ``chromium``) opens each page at a given window width, a small
script reads each ``<table>``'s rendered width and the width of the article column it sits
in, and the result is printed (or returned) as rows. ``book/check_html.py`` enforces a rule
on columns and cell text that needs no browser; ``tests/test_book_html.py`` uses this module
to show, when Chromium is installed, that the rule and the browser agree on every table.

    python book/measure_tables.py [_build/html] [--width 1400]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

# Injected at the end of <body>: one JSON row per table, written into a <pre> the dump keeps.
_PROBE = """
<script>
(function () {
  var rows = [];
  document.querySelectorAll('article table').forEach(function (t, i) {
    var box = t.closest('.cell_output, .output, section, article');
    var column = document.querySelector('article.bd-article') || document.querySelector('article');
    var cols = 0;
    var first = t.querySelector('tr');
    if (first) { first.querySelectorAll('th, td').forEach(function (c) { cols += c.colSpan || 1; }); }
    rows.push({index: i, columns: cols, table_px: Math.ceil(t.scrollWidth),
               column_px: Math.floor(column.clientWidth),
               caption: (t.querySelector('caption') || {textContent: ''}).textContent.trim().slice(0, 80)});
  });
  var pre = document.createElement('pre');
  pre.id = 'ggcam-measure';
  pre.textContent = JSON.stringify(rows);
  document.body.appendChild(pre);
})();
</script>
"""
_RESULT = re.compile(r'<pre id="ggcam-measure"[^>]*>(.*?)</pre>', re.S)


def chromium() -> str | None:
    """The Chromium executable, or None when none is installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def measure_page(page: Path, width: int = 1400, browser: str | None = None) -> list[dict]:
    """Each table of ``page`` as rendered ``width`` px wide: columns, its width, the column's."""
    browser = browser or chromium()
    if browser is None:
        raise FileNotFoundError("no Chromium found (apt-get install chromium)")
    probe = page.with_name(f".measure-{uuid.uuid4().hex[:8]}-{page.name}")
    source = page.read_text(encoding="utf8")
    probe.write_text(source.replace("</body>", _PROBE + "</body>"), encoding="utf8")
    try:
        done = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--window-size={width},1000", "--virtual-time-budget=3000", "--dump-dom",
             probe.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    finally:
        probe.unlink(missing_ok=True)
    found = _RESULT.search(done.stdout)
    if not found:
        raise RuntimeError(f"{page}: Chromium returned no measurement (exit {done.returncode}): "
                           f"{done.stderr.strip()[-300:]}")
    import html

    rows = json.loads(html.unescape(found.group(1)))
    for row in rows:
        row["page"] = page.name
        row["overflows"] = row["table_px"] > row["column_px"]
    return rows


def measure(html_root: str | Path, width: int = 1400) -> list[dict]:
    """Every table of every page under ``html_root/book``."""
    pages = sorted((Path(html_root) / "book").glob("*.html"))
    if not pages:
        raise FileNotFoundError(f"{html_root} holds no book pages (run `make book`)")
    return [row for page in pages for row in measure_page(page, width)]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", nargs="?", default=Path(__file__).parent.parent / "_build" / "html")
    parser.add_argument("--width", type=int, default=1400)
    args = parser.parse_args()
    rows = measure(args.html, args.width)
    for r in rows:
        flag = "WIDE" if r["overflows"] else "ok  "
        print(f"{flag} {r['page']:<28} #{r['index']:<2} {r['columns']:>2} cols "
              f"{r['table_px']:>5}/{r['column_px']} px  {r['caption']}")
    wide = sum(r["overflows"] for r in rows)
    print(f"{wide} of {len(rows)} tables wider than the text column at {args.width} px")
    sys.exit(1 if wide else 0)
