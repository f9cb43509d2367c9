"""The references list labelled the way the pages cite: "Zhu et al., 2022", not "[1]".

The pages cite author–year (``bibtex_reference_style: author_year``), but the list's labels come
from the pybtex formatting style, whose labels are numbers in ``plain``. This registers
``author_year``: pybtex's ``plain`` formatting and sorting (by author) with labels built like
the citations (one author: "Hand"; two: "Hand and Till"; more: "Zhu et al."), then the year,
with a, b, ... when two entries would share a label.
"""

from __future__ import annotations

from collections import Counter

from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as Plain
from pybtex.style.labels import BaseLabelStyle


def _authors(entry) -> str:
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    last = [" ".join(p.last_names) for p in people]
    if not last:
        return entry.fields.get("organization", entry.key)
    if len(last) == 1:
        return last[0]
    return f"{last[0]} and {last[1]}" if len(last) == 2 else f"{last[0]} et al."


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        plain = [f"{_authors(e)}, {e.fields.get('year', 'n.d.')}" for e in entries]
        repeated = Counter(plain)
        seen: Counter = Counter()
        for label in plain:
            if repeated[label] > 1:
                seen[label] += 1
                label = f"{label}{'abcdefghijklmnopqrstuvwxyz'[seen[label] - 1]}"
            yield label


class AuthorYear(Plain):
    default_label_style = AuthorYearLabels


def setup(app):
    register_plugin("pybtex.style.formatting", "author_year", AuthorYear)
    return {"parallel_read_safe": True}
