"""The book's house style for what a page shows besides figures: tables and notes.

``styled`` turns a DataFrame into a pandas ``Styler`` with explicit number formats, no index,
the CSS class ``ggcam-table`` (styled by ``_static/ggcam.css``: borders, padding, horizontal
scrolling on narrow screens) and a stable id, so an executed notebook is the same on every
run. ``number`` is the one rule for printing a float: never ``30.500000``.
``rerun_admonition`` is the "Rerun this page" note, as Markdown for ``display(Markdown(...))``
(the book renders Markdown outputs as MyST: ``nb_render_markdown_format: myst``).
"""

from __future__ import annotations

import hashlib
import math
import numbers
import re
import shlex
from collections.abc import Callable, Mapping

import pandas as pd

TABLE_CLASS = "ggcam-table"  # the CSS class of every table a page prints (_static/ggcam.css)
MISSING = "–"  # how a missing value (None, NaN) is shown
PAGE = re.compile(r"^\d\d_[A-Za-z0-9_]+$")  # a page's stem: book/06_classification.py


def number(x, digits: int = 3) -> str:
    """A number as a reader wants it: ``digits`` significant digits, no trailing zeros.

    1005.2 → "1,005"; 30.5 → "30.5"; 7.66 → "7.66"; 0.0076 → "0.0076"; 4.6e-06 → "4.6e-6";
    3.0 → "3"; 1.25e17 → "1.25e17" (from 1e7 on: more digits would be noise); None or NaN → "–".
    Integers keep every digit, with thousands separators.
    """
    if x is None or isinstance(x, bool):
        return MISSING if x is None else str(x)
    if isinstance(x, numbers.Integral):
        return f"{int(x):,}"
    if not isinstance(x, numbers.Real):
        raise ValueError(f"number() needs a real number, got {type(x).__name__}: {x!r}")
    x = float(x)
    if math.isnan(x):
        return MISSING
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == 0:
        return "0"
    if abs(x) >= 1e7:
        mantissa, exponent = f"{x:.{digits}g}".split("e")
        return f"{mantissa}e{int(exponent)}"
    if abs(x) >= 10 ** digits:
        return f"{x:,.0f}"
    text = f"{x:.{digits}g}"
    if "e" not in text:
        return text
    if abs(x) >= 1:  # e.g. 999.6 with 3 digits: "1e+03"
        return f"{x:,.0f}"
    mantissa, exponent = text.split("e")
    return f"{mantissa}e{int(exponent)}"


def _formatter(fmt) -> Callable:
    if callable(fmt):
        return fmt
    if isinstance(fmt, str):
        return lambda v: MISSING if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v)
    raise ValueError(f"a format must be a format string like '{{:.3g}}' or a callable, got {fmt!r}")


def styled(
    df: pd.DataFrame,
    formats: Mapping[str, str | Callable] | None = None,
    caption: str | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    index: bool = False,
    digits: int = 3,
):
    """A DataFrame as the book shows it: a ``Styler`` with the house style.

    Args:
        df: the table; any columns (a MultiIndex too).
        formats: column → format string (``"{:.3f}"``) or callable, for columns that need
            more than the default. Keys may be the original or the relabelled names.
            Every other numeric column goes through ``number(v, digits)``.
        caption: shown above the table.
        labels: column → readable header, e.g. ``{"auc_ovo": "AUC (Hand & Till)"}``.
        index: show the index (default: hidden; put what identifies a row in a column).
        digits: significant digits of the default number format.

    Returns:
        ``pandas.io.formats.style.Styler`` with class ``ggcam-table``, numeric columns right
        aligned, missing values as "–", and an id derived from the content (stable outputs).
    """
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"styled() needs a pandas DataFrame, got {type(df).__name__}")
    formats = dict(formats or {})
    labels = dict(labels or {})
    unknown = [c for c in [*formats, *labels] if c not in df.columns and c not in labels.values()]
    if unknown:
        raise ValueError(f"styled(): no column(s) {unknown}; the table has {list(df.columns)}")
    table = df.rename(columns=labels) if labels else df
    formats = {labels.get(k, k): v for k, v in formats.items()}

    def default(v) -> str:
        if isinstance(v, numbers.Number):
            return number(v, digits)
        return MISSING if v is None or v is pd.NA else str(v)

    by_column = {c: _formatter(formats[c]) if c in formats else default for c in table.columns}
    key = hashlib.sha1((table.to_csv() + repr(caption)).encode()).hexdigest()[:5]
    styler = table.style.format(by_column, na_rep=MISSING).set_uuid(key)
    styler = styler.set_table_attributes(f'class="{TABLE_CLASS}"')
    numeric = [c for c in table.columns
               if pd.api.types.is_numeric_dtype(table[c]) and not pd.api.types.is_bool_dtype(table[c])]
    if numeric and table.index.is_unique and table.columns.is_unique:
        classes = pd.DataFrame("", index=table.index, columns=table.columns)
        classes[numeric] = "num"  # right aligned, tabular figures (_static/ggcam.css)
        styler = styler.set_td_classes(classes)
    if caption:
        styler = styler.set_caption(caption)
    if not index:
        styler = styler.hide(axis="index")
    return styler


def rerun_admonition(page: str, parameters: Mapping[str, object], runtime_s: float | None) -> str:
    """The "Rerun this page" note: how long the page took and the command that reruns it.

    Args:
        page: the page's file stem, e.g. ``"06_classification"``.
        parameters: the page's ``parameters`` cell as a dict (name → value), as papermill
            takes them; the command sets each one with ``-p``.
        runtime_s: how long this run took, in seconds (None: not stated).

    Returns:
        Markdown (a MyST ``tip`` admonition) for ``display(Markdown(...))``.
    """
    if not isinstance(page, str) or not PAGE.match(page):
        raise ValueError(f"page must be a page's file stem like '06_classification', got {page!r}")
    if not isinstance(parameters, Mapping):
        raise ValueError(f"parameters must be a dict of name → value, got {type(parameters).__name__}")
    for name in parameters:
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"parameter names must be Python identifiers, got {name!r}")
    if runtime_s is not None and not (isinstance(runtime_s, numbers.Real) and runtime_s >= 0):
        raise ValueError(f"runtime_s must be a number of seconds >= 0 or None, got {runtime_s!r}")
    options = "".join(f" \\\n    -p {name} {shlex.quote(_cli_value(v))}" for name, v in parameters.items())
    took = "" if runtime_s is None else f" This run took {runtime_s:.0f} s."
    return (
        ":::{admonition} Rerun this page\n:class: tip\n\n"
        f"This page is the notebook `book/{page}.ipynb`, executed by papermill.{took} "
        f"`python book/build.py {page[:2]}` reruns it with the values above; to change them:\n\n"
        "```bash\n"
        f".venv/bin/papermill book/{page}.ipynb /tmp/{page}.ipynb --cwd book{options}\n"
        "```\n:::\n"
    )


def _cli_value(v) -> str:
    """A parameter as papermill's ``-p`` reads it back ("None", "True", "3", "0.5", text)."""
    return repr(v) if isinstance(v, float) else str(v)
