"""Thin writers of a layer-table explanation's blocks (formats/maps.py): text, Markdown, HTML, LaTeX.

Text draws grids with aligned columns; Markdown and HTML write tables (HTML's scroll sideways in
their own box, so a page never overflows a phone's 390 px); LaTeX writes matrices (bmatrix).
"""

from __future__ import annotations

import textwrap

from stepgrad.core.trace import Trace
from stepgrad.formats import escape
from stepgrad.formats.formula import Precision
from stepgrad.formats.maps import Block, Equations, Grid, Heading, Paragraph, Table
from stepgrad.formats.maps_seq import blocks
from stepgrad.formats.text import MAX_INDENT, _words, wrap

RULE = 100


def _grid_text(grid: Grid) -> list[str]:
    width = max(len(v) for row in grid.rows for v in (*row, *grid.column_labels))
    label_width = max((len(label) for label in grid.row_labels), default=0)
    prefix = lambda label: "  " + label.rjust(label_width) + "  " if label_width else "  "  # noqa: E731
    lines = [grid.title, " " * len(prefix("")) + "  ".join(c.rjust(width) for c in grid.column_labels)]
    lines += [prefix(label) + "  ".join(v.rjust(width) for v in row) for label, row in zip(grid.row_labels, grid.rows)]
    return lines


def _equation_text(line: str) -> list[str]:
    """A derived line; one too long for the rule's width puts its formula, its numbers and its value each on
    their own lines, continued under the first "=" (a sum breaks before a + or -)."""
    if len(line) <= RULE:
        return [line]
    name, *parts = line.split(" = ")
    first = f"{name} = "
    indent = min(len(first), MAX_INDENT)
    out: list[str] = []
    for k, part in enumerate(parts):
        lead = first if k == 0 else " " * (indent - 2) + "= "
        wrapped = wrap(_words(part), lead, indent, RULE)
        out += [(lead if j == 0 else " " * indent) + " ".join(w for w, _ in words) for j, words in enumerate(wrapped)]
    return out


def _table_text(table: Table) -> list[str]:
    widths = [max(len(str(r[k])) for r in (table.header, *table.rows)) for k in range(len(table.header))]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return [line(table.header), line(tuple("-" * w for w in widths)), *(line(r) for r in table.rows)]


def text(items: list[Block]) -> str:
    """Terminal text: headings as rules, grids with aligned columns."""
    out: list[str] = []
    for item in items:
        if isinstance(item, Heading):
            rule = RULE - len(item.text) - 1
            out += ["", f"{item.text} " + "─" * rule if rule >= 3 else item.text]
        elif isinstance(item, Paragraph):
            out += textwrap.wrap(item.text, RULE, break_long_words=False, break_on_hyphens=False)
        elif isinstance(item, Equations):
            for line, note in zip(item.text, item.notes):
                out += _equation_text(line)
                if note:
                    out += textwrap.wrap(f"({note})", RULE, initial_indent="    ", subsequent_indent="     ",
                                         break_long_words=False, break_on_hyphens=False)
        elif isinstance(item, Grid):
            out += _grid_text(item)
        elif isinstance(item, Table):
            out += _table_text(item)
    return escape.terminal("\n".join(out).strip("\n")) + "\n"


def _md_table(header: tuple[str, ...], rows) -> list[str]:
    cell = lambda c: escape.markdown(str(c)).replace("|", r"\|")  # noqa: E731
    return ["| " + " | ".join(map(cell, header)) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(map(cell, r)) + " |" for r in rows), ""]


def markdown(items: list[Block]) -> str:
    """Markdown: headings, equations as display math, grids and tables as tables."""
    out: list[str] = []
    for item in items:
        if isinstance(item, Heading):
            out += [f"## {escape.markdown(item.text)}", ""]
        elif isinstance(item, Paragraph):
            out += [escape.markdown(item.text), ""]
        elif isinstance(item, Equations):
            for line, note in zip(item.latex, item.notes):
                out += [f"$$ {line} $$", ""]
                if note:
                    out += [f"*{escape.markdown(note)}*", ""]
        elif isinstance(item, Grid):
            out += [f"**{escape.markdown(item.title)}**", ""]
            out += _md_table(("", *item.column_labels), [(label, *row) for label, row in zip(item.row_labels, item.rows)])
        elif isinstance(item, Table):
            out += _md_table(item.header, item.rows)
    return "\n".join(out).rstrip() + "\n"


def render_text(trace: Trace, digits: Precision = 9, full: bool = False, matrix: bool = False,
                derive: bool = False, **_: object) -> str:
    """A layer-table trace as terminal text."""
    return text(blocks(trace, digits, full, matrix, derive))


def render_markdown(trace: Trace, digits: Precision = 9, full: bool = False, matrix: bool = False,
                derive: bool = False, **_: object) -> str:
    """A layer-table trace as Markdown."""
    return markdown(blocks(trace, digits, full, matrix, derive))
