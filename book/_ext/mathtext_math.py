"""Sphinx HTML math renderer "mathtext": each formula drawn at build time by Matplotlib's
mathtext as an SVG under ``_images/math/``, so the built book loads no MathJax and nothing
from a CDN, and needs no LaTeX installation (Matplotlib is already a dependency).

Mathtext covers the TeX the book uses (fractions, sub/superscripts, Greek, \\mathbf,
\\mathcal, \\operatorname, \\underset, \\left( \\right), accents, \\sum, \\text). A few
amsmath spellings are mapped to it (\\tfrac, \\le, \\lVert, ...); display environments
(equation, align, aligned, gather, split, multline) become one image per line, with ``&``
dropped and ``\\tag{n}`` as the equation number. A formula mathtext cannot parse is a Sphinx
warning naming it (an error under ``-W``) and is shown as its TeX source.

Enable with ``html_math_renderer = "mathtext"``. Settings: ``mathtext_fontset`` ("cm":
Computer Modern), ``mathtext_fontsize`` (points drawn), ``mathtext_scale`` (shown at this
many em per ``mathtext_fontsize``; 1.15 matches the theme's sans serif).
"""

from __future__ import annotations

import hashlib
import html
import io
import re
from pathlib import Path

from docutils import nodes
from sphinx.util import logging

logger = logging.getLogger(__name__)
SCALE = 4  # parse at 4 × 72 dpi, so sizes are exact to 1/4 pt
SIZES: dict[str, tuple[float, float, float]] = {}  # image file → width, height, depth (pt)
ALIASES = [  # amsmath spelling → mathtext spelling
    (r"\\tfrac(?![a-zA-Z])", r"\\frac"),
    (r"\\l[vV]ert|\\r[vV]ert", lambda m: r"\Vert" if "V" in m.group() else "|"),
    (r"\\le(?![a-zA-Z])", r"\\leq"),
    (r"\\ge(?![a-zA-Z])", r"\\geq"),
    (r"\\ne(?![a-zA-Z])", r"\\neq"),
    (r"\\(display|text|script)style(?![a-zA-Z])", ""),
    (r"\\operatorname\*", r"\\operatorname"),
    (r"\\text(rm|normal)\{", r"\\mathrm{"),
    (r"\\textbf\{", r"\\mathbf{"),
    (r"\\textit\{", r"\\mathit{"),
    (r"\\boldsymbol\{", r"\\mathbf{"),
    (r"\\dots(?![a-zA-Z])", r"\\ldots"),
    (r"\\coloneqq(?![a-zA-Z])", ":="),
    (r"\\!", ""),
    (r"\\(label|notag|nonumber)(\{[^}]*\})?", ""),
]
ENVIRONMENT = re.compile(r"\\(begin|end)\{(equation|align|aligned|alignat|gather|gathered|split|"
                         r"multline|eqnarray)\*?\}(\{\d+\})?")


class MathError(ValueError):
    """A formula mathtext cannot draw."""


def to_mathtext(tex: str) -> str:
    for pattern, replacement in ALIASES:
        tex = re.sub(pattern, replacement, tex)
    return " ".join(tex.split())  # mathtext reads one line


def display_lines(tex: str) -> tuple[list[str], str | None]:
    """A display formula → its lines (environments, ``&`` and ``\\\\`` removed) and its \\tag."""
    tag = re.search(r"\\tag\*?\{([^}]*)\}", tex)
    tex = re.sub(r"\\tag\*?\{[^}]*\}", "", tex)
    tex = ENVIRONMENT.sub("", tex)
    tex = re.sub(r"\\frac(?![a-zA-Z])", r"\\dfrac", tex)  # display-style fractions, as in LaTeX
    lines = [line.replace("&", " ").strip() for line in re.split(r"\\\\(?:\[[^\]]*\])?", tex)]
    return [line for line in lines if line], (tag.group(1) if tag else None)


def render(tex: str, fontset: str, size: float) -> tuple[bytes, float, float, float]:
    """One formula (without $) → (SVG bytes, width, height, depth in points)."""
    import matplotlib as mpl
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.mathtext import MathTextParser

    expression = f"${to_mathtext(tex)}$"
    prop = FontProperties(size=size, math_fontfamily=fontset)
    try:
        width, height, depth, _, _ = MathTextParser("path").parse(expression, dpi=72 * SCALE, prop=prop)
    except ValueError as err:
        raise MathError(str(err).strip().splitlines()[-1]) from err
    if width <= 0 or height <= 0:
        raise MathError("the formula draws nothing")
    with mpl.rc_context({"svg.fonttype": "path", "svg.hashsalt": tex}):
        fig = Figure(figsize=(width / (72 * SCALE), height / (72 * SCALE)))
        fig.text(0, depth / height, expression, fontproperties=prop, color="black")
        out = io.BytesIO()
        fig.savefig(out, format="svg", transparent=True, metadata={"Date": None})
    return out.getvalue(), width / SCALE, height / SCALE, depth / SCALE


def _image(self, tex: str, css: str) -> str:
    """Render ``tex`` (cached by content) into _images/math/ and return its <img> tag."""
    config = self.builder.config
    size = float(config.mathtext_fontsize)
    key = hashlib.sha1(f"{config.mathtext_fontset}|{size}|{tex}".encode()).hexdigest()[:16]
    name = f"{key}.svg"
    folder = Path(self.builder.outdir) / self.builder.imagedir / "math"
    if name not in SIZES or not (folder / name).is_file():
        svg, width, height, depth = render(tex, config.mathtext_fontset, size)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(svg)
        SIZES[name] = (width, height, depth)
    width, height, depth = SIZES[name]

    def em(pt: float) -> str:  # Computer Modern looks small beside the page's sans serif
        return f"{pt / size * config.mathtext_scale:.3f}em"

    if css == "math":  # inline: sits on the baseline of the text
        style = f"height: {em(height)}; width: {em(width)}; vertical-align: -{em(depth)}"
    else:  # display: shrinks to the column on a narrow screen (CSS max-width: 100%)
        style = f"width: {em(width)}"
    src = f"{self.builder.imgpath}/math/{name}"
    return (f'<img class="{css}" src="{src}" alt="{html.escape(tex, quote=True)}" '
            f'style="{style}"/>')


def _fail(self, node, tex: str, err: Exception, inline: bool) -> None:
    logger.warning("mathtext cannot draw %r: %s", tex, err, location=node, type="mathtext")
    tag = "code" if inline else "pre"
    self.body.append(f'<{tag} class="math-source">{html.escape(tex)}</{tag}>')


def visit_math(self, node: nodes.math) -> None:
    tex = node.astext()
    try:
        self.body.append(_image(self, tex, "math"))
    except MathError as err:
        _fail(self, node, tex, err, inline=True)
    raise nodes.SkipNode


def visit_displaymath(self, node: nodes.math_block) -> None:
    from sphinx.util.math import get_node_equation_number

    tex = node.astext()
    lines, tag = display_lines(tex)
    self.body.append(self.starttag(node, "div", CLASS="math mathtext"))
    self.body.append("<p>")
    if node["number"] or tag:
        number = get_node_equation_number(self, node) if node["number"] else tag
        self.body.append(f'<span class="eqno">({number})')
        if node["number"]:
            self.add_permalink_ref(node, "Link to this equation")
        self.body.append("</span>")
    try:
        images = [_image(self, line, "math-display") for line in lines]
        self.body.append("<br/>".join(images))
    except MathError as err:
        _fail(self, node, tex, err, inline=False)
    self.body.append("</p>\n</div>\n")
    raise nodes.SkipNode


def setup(app):
    app.add_config_value("mathtext_fontset", "cm", "html")
    app.add_config_value("mathtext_fontsize", 12.0, "html")
    app.add_config_value("mathtext_scale", 1.15, "html")
    app.add_html_math_renderer("mathtext", (visit_math, None), (visit_displaymath, None))
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": False}
