"""Shared by the figure modules: a Markdown note in place of a figure, a bare image axis, a map."""

from __future__ import annotations

from IPython.display import Markdown

from ggcam.viz.style import MAP_CMAP


def note(text: str) -> Markdown:
    return Markdown(f"*{text}*")


def axis_off(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def show_map(ax, m, title: str, vmin=0.0, vmax=1.0) -> None:
    ax.imshow(m, cmap=MAP_CMAP, vmin=vmin, vmax=vmax)
    ax.set_title(title)
    axis_off(ax)
