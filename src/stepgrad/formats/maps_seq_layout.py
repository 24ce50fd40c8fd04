r"""How the sequence lecture (formats/maps_seq_slides.py) lays its blocks out on frames: time steps as columns, fit.

A grid with a row per time step (or position) is turned so the steps are columns, and cut into several when
they do not fit across a frame; word labels are upright text; a grid's minipage is its own width's share of
the frame, so its numbers keep the frame's type size. A paragraph stays on the frame of what it introduces;
heights are in points, measured as the conv lecture's (formats/maps_layout.py), and the items are packed by
formats/maps_frames.py; a long sum over a denominator is opened so that it can break between its terms.
Nothing here computes: the cells and lines are the trace's, formatted.
"""

from __future__ import annotations

import re

from stepgrad.formats import latex as tex
from stepgrad.formats.maps import Block, Equations, Grid, Paragraph
from stepgrad.formats.maps_frames import KEEP, WIDTH, Part, frame, packed, titled
from stepgrad.formats.maps_frames import equation_items as frame_equations
from stepgrad.formats.maps_frames import items as frame_items
from stepgrad.formats.maps_layout import (
    ALIGN_PT,
    FRAME_PT,
    GRID_CHARS,
    NOTE_PT,
    Item,
    array,
    escape,
    grid_height,
    note_height,
    paragraph,
    row_height,
)
from stepgrad.formats.maps_seq import MASKED


def top_level(latex: str, at: str = " + ") -> list[str]:
    """A formula cut at each `at` outside every brace and parenthesis."""
    pieces, depth, start, k = [], 0, 0, 0
    while k < len(latex):
        char = latex[k]
        depth += 1 if char in "{(" else -1 if char in "})" else 0
        if depth == 0 and latex.startswith(at, k):
            pieces.append(latex[start:k])
            start = k + len(at)
            k = start
            continue
        k += 1
    return [*pieces, latex[start:]]


def _text(label: str) -> str:
    """A grid's label or cell as upright text in the array's math (a number or t=1 as it is)."""
    if not label or label.replace(".", "").replace("-", "").isdigit() or label.startswith("t="):
        return label
    return rf"\text{{{escape(label)}}}"


def upright(grid: Grid) -> Grid:
    """The grid with its word labels (and a masked cell) as text, not math italics."""
    return Grid(grid.title, tuple(tuple(_text(v) if v == MASKED else v for v in row) for row in grid.rows),
                tuple(map(_text, grid.row_labels)), tuple(map(_text, grid.column_labels)))


def time_columns(grid: Grid) -> list[Grid]:
    """A grid with a row per time step (or position) turned so the steps are columns, cut into several grids
    when the steps do not fit across a frame; other grids as they are (their word labels upright)."""
    labels = grid.row_labels
    if not labels or not all(lbl.startswith(("t=", "position ")) for lbl in labels):
        return [upright(grid)]
    steps = tuple(lbl.replace("position ", "t=") for lbl in labels)
    rows = tuple(tuple(row[c] for row in grid.rows) for c in range(len(grid.column_labels)))
    title = grid.title.replace(": a row per time step", "")
    turned = Grid(title + ": a column per step", rows, grid.column_labels, steps)
    widest = max((len(v) for row in rows for v in row), default=1)
    fit = max(2, GRID_CHARS // (widest + 2) - 1)
    if len(steps) <= fit:
        return [upright(turned)]
    return [upright(Grid(f"{turned.title} ({steps[k]} to {steps[min(k + fit, len(steps)) - 1]})",
                 tuple(row[k:k + fit] for row in rows), turned.row_labels, steps[k:k + fit]))
            for k in range(0, len(steps), fit)]


def turned(parts: list[Block]) -> list[Block]:
    """The blocks with every sequence grid turned, the time steps as columns (time_columns)."""
    return [g for part in parts for g in (time_columns(part) if isinstance(part, Grid) else [part])]


def cut_out(parts: list[Block], start: str) -> tuple[list[Block], list[Block]]:
    """The blocks before the paragraph starting with `start` and those after it, less that paragraph and what
    follows it up to the next paragraph (its derivation)."""
    at = next((k for k, p in enumerate(parts) if isinstance(p, Paragraph) and p.text.startswith(start)), None)
    if at is None:
        return parts, []
    end = next((k for k in range(at + 1, len(parts)) if isinstance(parts[k], Paragraph)), len(parts))
    return parts[:at], parts[end:]


def opened(latex: str, width: int = WIDTH) -> str:
    r"""Top-level fractions too wide for a row written (A) / (B) with A in \left( \right), so that a long sum over
    a denominator can break between its terms (tex.wrap writes {A} / (B), a group it never breaks)."""
    depths = tex._depths(latex)
    out, i = [], 0
    while i < len(latex):
        if depths[i] == 0 and latex.startswith(r"\frac{", i):
            top_end = tex._group_end(latex, i + 5)
            bottom_end = tex._group_end(latex, top_end)
            top, bottom = latex[i + 6:top_end - 1], latex[top_end + 1:bottom_end - 1]
            if tex._visible(top) > width and tex._visible(bottom) <= width:
                out.append(rf"\left({top}\right) / ({bottom})")
                i = bottom_end
                continue
        out.append(latex[i])
        i += 1
    return "".join(out)


WHERE = re.compile(r"\\quad \\text\{\((.*)\)\}$")  # a rule's condition at its line's end (formats/rule_forms.py)
WHERE_CHARS = 40  # a longer condition goes under the line, in its note (a \text{} never breaks across rows)


def unconditioned(latex: str, note: str) -> tuple[str, str]:
    """A rule line with a long condition at its end: the line without it, and the condition in its note."""
    found = WHERE.search(latex)
    if found is None or len(found.group(1)) <= WHERE_CHARS:
        return latex, note
    where = found.group(1).replace(r"\_", "_").replace(r"$\le$", "<=")
    return latex[:found.start()].rstrip(), f"({where})" + (f" {note}" if note else "")


def breakable(parts: list[Block]) -> list[Block]:
    """The blocks with each derived line's wide fractions opened (_opened), between its = signs, and a rule's
    long condition moved into its note."""
    def line(latex: str) -> str:
        return " = ".join(opened(piece) for piece in top_level(latex, " = "))

    def block(part: Equations) -> Equations:
        lines = [unconditioned(latex, note) for latex, note in zip(part.latex, part.notes)]
        return Equations(part.text, tuple(line(latex) for latex, _ in lines), tuple(note for _, note in lines))
    return [block(p) if isinstance(p, Equations) else p for p in parts]


def _width(grid: Grid) -> int:
    """About how many characters a grid takes across a frame: its row labels' column and its values' columns."""
    def shown(text: str) -> int:
        return len(text.replace("\\text{", "").replace("}", "").replace("\\_", "_"))
    label = max((shown(lbl) for lbl in grid.row_labels), default=0)
    widest = max((shown(v) for row in grid.rows for v in row), default=1)
    columns = max((shown(c) for c in grid.column_labels), default=1)
    return max(len(grid.title) + 2, label + 2 + len(grid.column_labels) * (max(widest, columns) + 2))


def grid_items(grids: list[Grid]) -> list[Item]:
    """Grids side by side as many as fit across a frame, each in a minipage of its own width's share (so that
    its numbers keep the frame's type size: a grid is shrunk only when it alone is wider than the frame)."""
    rows: list[list[Grid]] = [[]]
    for g in grids:
        if rows[-1] and (sum(_width(x) + 4 for x in [*rows[-1], g]) > GRID_CHARS or len(rows[-1]) == 4):
            rows.append([])
        rows[-1].append(g)
    out: list[Item] = []
    for row in rows:
        shares = [min(0.98, (_width(g) + 2) / GRID_CHARS) for g in row]
        boxes = [f"\\begin{{minipage}}[t]{{{share:.2f}\\linewidth}}\n{array(g)}\n\\end{{minipage}}"
                 for g, share in zip(row, shares)]
        height = max(grid_height(g, share) for g, share in zip(row, shares)) + 2.0
        out.append((height, "{\\footnotesize\\noindent\n" + "\\hfill\n".join(boxes) + "\n}\\par\\smallskip"))
    return out


def glued(parts: list[Block], short: bool) -> list[Part]:
    """The blocks as frame items, a paragraph kept on the frame of what it introduces (a table, grid, line)."""
    runs: list[list[Block]] = []
    for part in parts:
        if runs and isinstance(part, Grid) and all(isinstance(p, Grid) for p in runs[-1]):
            runs[-1].append(part)
        else:
            runs.append([part])
    items: list[Part] = []
    held: Item | None = None
    for run in runs:
        grids = [g for g in run if isinstance(g, Grid)]
        if len(run) == 1 and isinstance(run[0], Paragraph):
            if not run[0].text:
                continue
            height, latex = paragraph(run[0].text)
            last = items[-1] if items else None
            if run[0].text.startswith("Left out here") and isinstance(last, tuple) and held is None:
                items[-1] = (last[0] + height, last[1] + "\n" + latex)  # a note on the grids above
                continue
            held = (height, latex) if held is None else (held[0] + height, held[1] + "\n" + latex)
            continue
        made: list[Part] = (list(grid_items(grids)) if len(grids) == len(run) else
                            list(equations(run[0], short)) if isinstance(run[0], Equations) else
                            frame_items(run, short))
        if not made:
            continue
        if held is not None:  # kept with what it introduces (maps_frames.packed), on a frame of its own if need be
            items.append((held[0], KEEP + held[1]))
        held = None
        items += made
    return items + ([held] if held is not None else [])


def frames(title: str, items: list[Part]) -> list[str]:
    """The items packed into frames of FRAME_PT points, titled "(2/3)" when they run over several."""
    return [frame(t, "\n".join(latex)) for t, latex, _ in titled(title, packed(items, budget=FRAME_PT))]


def split_at(parts: list[Block], taken: set[str]) -> tuple[list[Block], list[Block]]:
    """The blocks before and after the first derived line whose name is in `taken`, those lines left out."""
    before: list[Block] = []
    after: list[Block] = []
    for part in parts:
        if isinstance(part, Equations) and not after:
            keep = [k for k, line in enumerate(part.text) if line.split(" = ", 1)[0] not in taken]
            cut = next((k for k, line in enumerate(part.text) if line.split(" = ", 1)[0] in taken), None)
            if cut is not None:
                head = [k for k in keep if k < cut]
                tail = [k for k in keep if k > cut]
                for target, ks in ((before, head), (after, tail)):
                    if ks:
                        target.append(Equations(*(tuple(col[k] for k in ks) for col in (part.text, part.latex,
                                                                                          part.notes))))
                if not tail:
                    after.append(Paragraph(""))  # the split happened: what follows goes after
                continue
        (after if after else before).append(part)
    return before, [p for p in after if not (isinstance(p, Paragraph) and not p.text)]


FRAC_PT = 3.0  # a sequence model's fraction is this much taller than maps_layout's estimate (compiled: --all)
TIME_PT = 10.0  # and one of time-indexed names (h^<t> over net^<t>) this much more
NESTED_PT = 12.0  # and a fraction over a square root (a normalization's 1/sqrt(var + eps)) this much more


def seq_row_height(row: str) -> float:
    """An align* row's height: maps_layout's, a fraction of time-indexed names or over a fraction taller."""
    if r"\frac" not in row:
        return row_height(row)
    return (row_height(row) + FRAC_PT + (TIME_PT if r"\langle" in row else 0.0)
            + (NESTED_PT if r"\frac{\frac" in row else 0.0))


def equations(block: Equations, short: bool = False) -> list[Item]:
    """maps_frames.equation_items' rows and cuts, each fraction of time-indexed names the taller it is."""
    out = []
    for height, latex in frame_equations(block, short):
        rows = latex.split("\\end{align*}")[0].split(" \\\\\n")
        out.append((height + sum(seq_row_height(r) - row_height(r) for r in rows), latex))
    return out


def align(rows: list[str], note: str = "") -> list[Item]:
    """Rows already cut to fit, as align* items, as many as it takes for each to fit a frame (the note after
    the last)."""
    chunks: list[list[str]] = [[]]
    for row in rows:
        if chunks[-1] and sum(map(seq_row_height, [*chunks[-1], row])) > FRAME_PT - ALIGN_PT - 2 * NOTE_PT:
            chunks.append([])
        chunks[-1].append(row)
    items = []
    for k, chunk in enumerate(chunks):
        height = ALIGN_PT + sum(map(seq_row_height, chunk))
        latex = "\\begin{align*}\n" + " \\\\\n".join(chunk) + "\n\\end{align*}"
        if note and k == len(chunks) - 1:
            latex += f"\n{{\\footnotesize\\emph{{{escape(note)}}}}}\\par"
            height += note_height(note)
        items.append((height, latex))
    return items


def wrap_row(word: str, row: str) -> list[str]:
    """An align row (`word` in its first column) cut at its top-level = and + signs when long, the continuation
    rows indented."""
    pieces = tex.wrap(row, WIDTH - len(word) // 2, at=(" = ", " + ", " - "))
    return [f"{word}& {pieces[0]}"] + [r"&\quad " + p for p in pieces[1:]]
