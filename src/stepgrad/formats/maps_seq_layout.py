r"""How the sequence lecture (formats/maps_seq_slides.py) lays its blocks out on frames: time steps as columns, fit.

A grid with a row per time step (or position) is turned so the steps are columns, and cut into several when
they do not fit across a frame; word labels are upright text; a grid's minipage is its own width's share of
the frame, so its numbers keep the frame's type size. A paragraph stays on the frame of what it introduces;
heights are estimated for fuller frames than the conv lecture's; a long sum over a denominator is opened so
that it can break between its terms. Nothing here computes: the cells and lines are the trace's, formatted.
"""

from __future__ import annotations

from stepgrad.formats import latex as tex
from stepgrad.formats.maps import Block, Equations, Grid, Paragraph
from stepgrad.formats.maps_seq import MASKED
from stepgrad.formats.maps_slides import GRID_CHARS, WIDTH, Item, _array, _escape, _items

BUDGET = 13.0  # a frame's height in rows of \small text (the conv lecture's 11.5 leaves its frames half empty here)


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
    return rf"\text{{{_escape(label)}}}"


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


def breakable(parts: list[Block]) -> list[Block]:
    """The blocks with each derived line's wide fractions opened (_opened), between its = signs."""
    def line(latex: str) -> str:
        return " = ".join(opened(piece) for piece in top_level(latex, " = "))
    return [Equations(p.text, tuple(map(line, p.latex)), p.notes) if isinstance(p, Equations) else p for p in parts]


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
    out = []
    for row in rows:
        boxes = [f"\\begin{{minipage}}[t]{{{min(0.98, (_width(g) + 2) / GRID_CHARS):.2f}\\linewidth}}\n{_array(g)}\n"
                 "\\end{minipage}" for g in row]
        height = max(len(g.rows) for g in row) * 0.6 + 0.8 + 0.7 * max(1, max(len(g.title) for g in row) // 40)
        out.append((height, "{\\footnotesize\\noindent\n" + "\\hfill\n".join(boxes) + "\n}\\par\\smallskip"))
    return out


def glued(parts: list[Block], short: bool) -> list[Item]:
    """The blocks as frame items, a paragraph kept on the frame of what it introduces (a table, grid, line)."""
    runs: list[list[Block]] = []
    for part in parts:
        if runs and isinstance(part, Grid) and all(isinstance(p, Grid) for p in runs[-1]):
            runs[-1].append(part)
        else:
            runs.append([part])
    items: list[Item] = []
    held: Item | None = None
    for run in runs:
        grids = [g for g in run if isinstance(g, Grid)]
        made = (grid_items(grids) if len(grids) == len(run) else equation_items(run[0])
                if isinstance(run[0], Equations) else _items(run, short))
        made = [_height(item) for item in made]
        if not made:
            continue
        if len(run) == 1 and isinstance(run[0], Paragraph):
            height = 1.15 * -(-len(run[0].text) // 100) + 0.3  # lines of about 100 characters
            if run[0].text.startswith("Left out here") and items and held is None:  # a note on the grids above
                items[-1] = (items[-1][0] + height, items[-1][1] + "\n" + made[0][1])
                continue
            held = (height, made[0][1]) if held is None else (held[0] + height, held[1] + "\n" + made[0][1])
            continue
        if held is not None and held[0] + made[0][0] <= BUDGET:
            made[0] = (held[0] + made[0][0], held[1] + "\n" + made[0][1])
        elif held is not None:  # together they would not fit a frame
            items.append(held)
        held = None
        items += made
    return items + ([held] if held is not None else [])


def _height(item: Item) -> Item:
    """An item's height for fuller frames than the conv lecture's: grids and tables take more room than its
    estimate, and a displayed line its skips above and below, a sample's superscript its height."""
    height, latex = item
    if "minipage" in latex or "tabular" in latex:
        return height * 1.2, latex
    return item


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


def _row_height(row: str) -> float:
    """A displayed row's height in rows of text: a fraction is taller, a sample's superscript taller still."""
    if r"\begin{cases}" in row:
        return 2.4
    return (1.6 if r"\frac" in row else 1.0) + (0.3 if "}^{[" in row else 0.0)


def align(rows: list[str], note: str = "") -> list[Item]:
    """Rows already cut to fit, as align* items, as many as it takes for each to fit a frame (the note after
    the last)."""
    chunks: list[list[str]] = [[]]
    for row in rows:
        if chunks[-1] and sum(map(_row_height, [*chunks[-1], row])) > BUDGET - 1.5:
            chunks.append([])
        chunks[-1].append(row)
    items = []
    for k, chunk in enumerate(chunks):
        height = sum(map(_row_height, chunk)) + 1.0
        latex = "\\begin{align*}\n" + " \\\\\n".join(chunk) + "\n\\end{align*}"
        if note and k == len(chunks) - 1:
            latex += f"\n{{\\footnotesize\\emph{{{_escape(note)}}}}}\\par"
            height += 0.8
        items.append((height, latex))
    return items


def equation_items(block: Equations) -> list[Item]:
    """Each derived line as align* rows of at most WIDTH characters, cut between frames only when it is taller
    than a frame (its note after its last row)."""
    out: list[Item] = []
    for line, note in zip(block.latex, block.notes):
        pieces = tex.wrap(line, WIDTH, at=(" = ", " + ", " - "))
        out += align([("&" if k == 0 else r"&\quad ") + p for k, p in enumerate(pieces)], note)
    return out


def wrap_row(word: str, row: str) -> list[str]:
    """An align row (`word` in its first column) cut at its top-level = and + signs when long, the continuation
    rows indented."""
    pieces = tex.wrap(row, WIDTH - len(word) // 2, at=(" = ", " + ", " - "))
    return [f"{word}& {pieces[0]}"] + [r"&\quad " + p for p in pieces[1:]]
