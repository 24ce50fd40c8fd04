r"""The conv lecture's layout on a Beamer frame (formats/maps_slides.py): items' heights in points, grids as arrays.

The heights were measured with pdflatex (each item alone in a \vbox of the frame's width, beamer 16:9
at 11pt): a \small line is 12.3pt, a \footnotesize table row 11pt, an align* block 9pt of display
skips plus 15pt a plain row, 25pt a row with a fraction, 32pt a case distinction. A frame holds 223pt
below its title; FRAME_PT leaves a margin. A grid wider than the frame is cut into blocks of columns,
stacked, each with its column numbers, so that no grid is shrunk below the text's size.
"""

from __future__ import annotations

import re

from stepgrad.formats import latex as tex
from stepgrad.formats.maps import Grid

FRAME_PT = 207.0  # the height of a frame's body (223pt measured, less a margin for the estimates)
LINE_PT = 12.3  # a line of \small text
NOTE_PT = 10.8  # a line of \footnotesize text (a note)
ROW_PT = 11.0  # a row of a \footnotesize table or grid
LINE_CHARS = 90  # characters shown on a line of \small text across the frame
NOTE_CHARS = 112  # characters shown on a line of \footnotesize text
GRID_CHARS = 96  # characters of \footnotesize grids side by side across a frame
SHRINK = 1.12  # a grid up to this much wider than the frame is shrunk to it (9pt to 8pt), a wider one cut in blocks
Item = tuple[float, str]  # (height in points, LaTeX)


def escape(text: str) -> str:
    """Text for LaTeX, an option's -- kept as two hyphens (not an en dash)."""
    return tex.escape(text).replace("--", "-{}-")


def shown(latex: str) -> int:
    """About how many characters a piece of LaTeX shows (less its markup)."""
    return len(re.sub(r"\\[a-zA-Z]+|[{}_^]", "", latex))


def lines(text: str, per_line: int) -> int:
    """How many lines a paragraph of `text` (plain) takes at `per_line` characters a line, broken at spaces."""
    count, used = 1, 0
    for word in text.split():
        if used and used + 1 + len(word) > per_line:
            count, used = count + 1, 0
        used += len(word) + (1 if used else 0)
    return count


def paragraph(text: str) -> Item:
    """A paragraph of plain text as an item."""
    return LINE_PT * lines(text, LINE_CHARS) + 1.5, escape(text) + r"\par\smallskip"


def note_height(text: str) -> float:
    """The height of a \\footnotesize note of plain text."""
    return NOTE_PT * lines(text, NOTE_CHARS) + 1.0


def row_height(piece: str) -> float:
    """An align* row's height: a case distinction or a fraction is taller than a plain row."""
    if r"\begin{cases}" in piece or r"\sum_" in piece:  # a case distinction, a sum with its limits
        return 36.0 if r"\frac" in piece else 32.0
    if r"\frac" in piece:
        return 30.0 if "}^{[" in piece or r"\left(" in piece else 25.0
    return 17.0 if "^{" in piece or r"\left(" in piece else 15.0


ALIGN_PT = 9.0  # an align* block's display skips (4pt above and below, maps_slides.DISPLAY_SKIPS)


def table_height(rows: int) -> float:
    """A \\footnotesize table of a header and `rows` rows."""
    return ROW_PT * (rows + 1) + 1.5


def fit(body: str) -> str:
    r"""`body` shrunk to the line's width if it is wider (a safety net: the layout keeps things narrower)."""
    return r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{" + body + "}"


def _cell(value: str) -> str:
    return value.replace("e-", r"\mathrm{e}{-}").replace("e+", r"\mathrm{e}{+}")


def _widest(grid: Grid) -> int:
    return max((len(v) for row in grid.rows for v in row), default=1)


def blocks(grid: Grid, width: float = GRID_CHARS * SHRINK) -> list[range]:
    """The grid's columns in blocks that fit across `width` characters at \\footnotesize (one block if it fits)."""
    count = len(grid.column_labels)
    per = max(1, int(width) // (max(_widest(grid), *(len(c) for c in grid.column_labels)) + 2) - 1)
    if count <= per:
        return [range(count)]
    parts = -(-count // per)
    size = -(-count // parts)  # blocks of equal size (24 columns in 9s: 8, 8, 8)
    return [range(k, min(count, k + size)) for k in range(0, count, size)]


_CHANNELS = re.compile(r" \(out channel \d+, in channel \d+\)")


def title(grid: Grid) -> str:
    """A grid's title as a frame shows it: a kernel slice k1[2,1,·,·] without its "(out channel 2, in channel 1)"
    (the conventions say what its indices are)."""
    return _CHANNELS.sub("", grid.title)


def grid_width(grid: Grid) -> int:
    """A grid's width in characters (its widest block, or its title)."""
    block = max(len(b) for b in blocks(grid)) if grid.column_labels else 0
    return max(len(title(grid)) + 2, (block + 1) * (_widest(grid) + 2))


def title_lines(grid: Grid, share: float) -> int:
    """How many lines a grid's bold title takes in a minipage of `share` of the line."""
    return -(-len(title(grid)) // max(1, int(share * 55)))


def grid_height(grid: Grid, share: float) -> float:
    """A grid's height: its title, then each block of columns (a header row and its rows)."""
    parts = blocks(grid)
    return 10.0 * title_lines(grid, share) + sum(ROW_PT * (len(grid.rows) + 1) for _ in parts) + 3.0 * len(parts)


def array(grid: Grid, bold: set[tuple[int, int]] | None = None) -> str:
    """A grid as its bold title over one array per block of columns (values in bold where `bold` says)."""
    arrays = []
    for block in blocks(grid):
        lines_ = [" & ".join(["", *(grid.column_labels[c] for c in block)]) + r" \\ \hline"]
        for r, (label, row) in enumerate(zip(grid.row_labels, grid.rows)):
            cells = [rf"\mathbf{{{_cell(row[c])}}}" if bold and (r, c) in bold else _cell(row[c]) for c in block]
            lines_.append(" & ".join([label, *cells]) + r" \\")
        arrays.append(fit("$\\begin{array}{r|" + "r" * len(block) + "}\n" + "\n".join(lines_) + "\n\\end{array}$"))
    head = escape(title(grid)).replace("/", r"/\allowbreak{}").replace(",", r",\allowbreak{}")
    return f"\\textbf{{{head}}}\\\\[1pt]\n" + "\\\\[3pt]\n".join(arrays)


def beside(grids: list[Grid]) -> bool:
    """Whether `grids` fit side by side across the frame (each at least 18% of it, at most 4)."""
    return len(grids) <= 4 and sum(max(0.18 * GRID_CHARS, grid_width(g)) for g in grids) <= GRID_CHARS


def grid_row(grids: list[Grid], bold: dict[str, set[tuple[int, int]]] | None = None) -> Item:
    """Grids side by side, each in a minipage of its share of the line."""
    total = sum(grid_width(g) for g in grids)
    boxes, height = [], 0.0
    for g in grids:
        share = max(0.18, min(1.0, grid_width(g) / max(total, GRID_CHARS))) * 0.98
        height = max(height, grid_height(g, share))
        boxes.append(f"\\begin{{minipage}}[t]{{{share:.2f}\\linewidth}}\n{array(g, (bold or {}).get(g.title))}\n"
                     "\\end{minipage}")
    return height + 2.0, "{\\footnotesize\\noindent\n" + "\\hfill\n".join(boxes) + "\n}\\par\\smallskip"


def column_part(grid: Grid, block: range, first: bool) -> Grid:
    """The grid's columns `block` as a grid of its own (its title says the columns after the first part)."""
    labels = grid.column_labels
    title = grid.title if first else f"{grid.title} (columns {labels[block.start]}-{labels[block.stop - 1]})"
    return Grid(title, tuple(tuple(row[c] for c in block) for row in grid.rows), grid.row_labels,
                tuple(grid.column_labels[c] for c in block))


def grid_rows(grids: list[Grid], bold: dict[str, set[tuple[int, int]]] | None = None) -> list[Item]:
    """Grids side by side, as many to a row as fit across the frame (at most 4); a grid too wide for the
    frame a row of its own per block of columns (so that frames can be cut between its blocks)."""
    rows: list[list[Grid]] = [[]]
    marks = dict(bold or {})
    for g in grids:
        parts = blocks(g)
        if len(parts) > 1:
            for k, block in enumerate(parts):
                part = column_part(g, block, k == 0)
                marks[part.title] = {(r, c - block.start) for r, c in marks.get(g.title, set()) if c in block}
                rows += [[part], []]
            continue
        if rows[-1] and not beside([*rows[-1], g]):
            rows.append([])
        rows[-1].append(g)
    return [grid_row(row, marks) for row in rows if row]
