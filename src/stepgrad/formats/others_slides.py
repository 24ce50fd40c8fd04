r"""The dense lecture's "others, computed the same way" on slides: a row per weight (or neuron), a column per quantity.

A wide network derives each kind of quantity once per layer (formats/document.py: repeated) and lists the
others; on a slide they were name = value pairs, two to a row, in \scriptsize. Here each of them is put in
the row of the weight (or bias) it is about, or else of the neuron, and the column of its kind: the factors
(dnet_o1[1]/dw, dE_total[1]/dw, ...), the gradient, the new value; a column's heading is the quantity's
symbol with the row's weight or neuron left out. The values are the document's own lines (the trace's
numbers); tables longer than a frame continue on the next, wider ones are cut into column groups, \footnotesize.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from stepgrad.core import names
from stepgrad.core.names import latex_symbol
from stepgrad.formats.document import Line, Table

OTHERS = "The others, computed the same way"
ROWS = 14  # rows of tables on one frame (\footnotesize, 9pt: a row is about 12pt with its inline fractions)
COLUMNS = 5  # value columns of a table on one frame, at most
WIDTH = 84  # characters of \footnotesize table across a frame
_NEURON = re.compile(r"_\{[a-z]_\{[\d,]+\}\}")  # a neuron's subscript: _{o_{1}}, _{h_{1,2}}


def subject(name: str) -> tuple[str, str] | None:
    """The weight, bias or neuron a quantity is about, with its kind ("weight", "bias", "neuron"); None if none."""
    try:
        parsed = names.parse(name)
    except (ValueError, KeyError):
        return None
    if parsed.parameter:
        return _kind(parsed.parameter), parsed.parameter
    if parsed.kind == "partial" and parsed.bottom is not None:
        if parsed.bottom.parameter:
            return _kind(parsed.bottom.parameter), parsed.bottom.parameter
        if parsed.bottom.neuron:
            return "neuron", parsed.bottom.neuron
    if parsed.neuron:
        return "neuron", parsed.neuron
    return None


def _kind(parameter: str) -> str:
    return "bias" if parameter.startswith("b") else "weight"


def heading(line: Line, kind: str, about: str) -> str:
    """The column a quantity goes in: its symbol without the row's weight or neuron (LaTeX)."""
    symbol = line.symbol
    if kind in ("weight", "bias"):
        return _NEURON.sub("", symbol.replace(latex_symbol(about), kind[0]))
    return symbol.replace(latex_symbol(names.net(about)).removeprefix(r"\mathrm{net}"), "")


Grid = tuple[str, list[str], list[tuple[str, list[str | None]]]]  # kind, column headings, (row label, cells)


def grids(table: Table) -> list[Grid] | None:
    """The table's lines as grids, one per kind of row (parameters, neurons); None if a line has no subject."""
    lines = [cell for _, row in table.rows for cell in row if cell is not None]
    found: dict[str, tuple[list[str], dict[str, dict[str, str]]]] = {}
    for line in lines:
        about = subject(line.name)
        if about is None:
            return None
        kind, label = about
        columns, rows = found.setdefault(kind, ([], {}))
        column = heading(line, kind, label)
        if column not in columns:
            columns.append(column)
        rows.setdefault(label, {})[column] = line.value_latex
    out: list[Grid] = []
    for kind in ("neuron", "weight", "bias"):  # the neurons' factors first, as the derivation goes
        if kind in found:
            columns, rows = found[kind]
            out.append((kind, columns, [(latex_symbol(label), [rows[label].get(c) for c in columns])
                                        for label in rows]))
    return out


def _shown(latex: str) -> int:
    """About how many characters a piece of LaTeX shows."""
    return len(re.sub(r"\\[a-zA-Z]+|[{}_^ ]", "", latex))


def _column_groups(columns: list[str], rows: list[tuple[str, list[str | None]]]) -> list[range]:
    """The columns in groups that fit across a frame at \\footnotesize (at most COLUMNS to a group)."""
    widths = [max(_shown(columns[c]) * 1.2, *(len(cells[c] or "") for _, cells in rows)) + 3
              for c in range(len(columns))]
    groups: list[range] = []
    start = 0
    for c in range(len(columns)):
        if c > start and (sum(widths[start:c + 1]) > WIDTH or c - start == COLUMNS):
            groups.append(range(start, c))
            start = c
    return groups + [range(start, len(columns))]


def _array(head: str, body: list[str], count: int) -> str:
    return "$\\begin{array}{l|" + "r" * count + "}\n" + head + r" \\ \hline" + "\n" + "\n".join(body) + "\n\\end{array}$"


def frames(title: str, table: Table, frame: Callable[[str, str, str], str],
           value: Callable[[str], Line | None] | None = None) -> list[str] | None:
    """The table as frames of \\footnotesize tables ("title (k/n)"); None if it is not of that shape. `value`
    (the document's line of a name) adds the old value and the gradient beside a new weight."""
    found = grids(_with_gradients(table, value) if value else table)
    if not found:
        return None
    pieces: list[tuple[int, str]] = []  # (rows, LaTeX)
    for kind, columns, rows in found:
        for shown in _column_groups(columns, rows):
            head = " & ".join([rf"\text{{{kind}}}",
                               *(columns[c] for c in shown)])
            lines = [" & ".join([label, *(cells[c] or "" for c in shown)]) + r" \\" for label, cells in rows]
            narrow = sum(max(_shown(columns[c]), 12) for c in shown) < WIDTH // 2 - 8 and len(lines) > ROWS // 2
            step = 2 * ROWS if narrow else ROWS
            for first in range(0, len(lines), step):
                part = lines[first:first + step]
                if narrow and len(part) > 3:  # two halves side by side
                    half = -(-len(part) // 2)
                    latex = _array(head, part[:half], len(shown)) + "\\qquad\n" + _array(head, part[half:], len(shown))
                    pieces.append((half + 2, latex))
                else:
                    pieces.append((len(part) + 2, _array(head, part, len(shown))))
    pages: list[list[str]] = [[]]
    used = 0
    for height, piece in pieces:  # tables one under the other while they fit a frame
        if pages[-1] and used + height > ROWS + 2:
            pages.append([])
            used = 0
        pages[-1].append(piece)
        used += height
    out = []
    for k, page in enumerate(pages):
        numbered = f"{title}: {OTHERS}" + (f" ({k + 1}/{len(pages)})" if len(pages) > 1 else "")
        out.append(frame(numbered, "\\begin{center}\n" + "\n\n\\medskip\n".join(page) + "\n\\end{center}",
                         r"\footnotesize"))
    return out


def _with_gradients(table: Table, value: Callable[[str], Line | None]) -> Table:
    """A table of new weights (w2+, ...) with each one's old value and gradient before it (their lines)."""
    out = []
    for label, row in table.rows:
        cells: list[Line | None] = []
        for cell in row:
            parsed = names.parse(cell.name) if cell is not None and names.is_name(cell.name) else None
            if cell is not None and parsed is not None and parsed.after and parsed.parameter:
                cells += [value(parsed.parameter), value(names.gradient(parsed.parameter))]
            cells.append(cell)
        out.append((label, tuple(cells)))
    return Table(table.title, table.corner, table.columns, tuple(out))
