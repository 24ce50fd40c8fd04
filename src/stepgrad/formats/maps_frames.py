r"""The conv lecture's frames (formats/maps_slides.py): its blocks as LaTeX items with their heights, packed into frames.

A derived line becomes align* rows of at most WIDTH characters, a table a part the frames cut where a frame
is full (each part with its header), grids side by side while they fit (formats/maps_layout.py); a frame
holds FRAME_PT points. A summary's sections share a frame when a short one fits at the foot of the one
before it (Sections), the title naming both. Nothing here computes: the blocks carry the trace's numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stepgrad.formats import latex as tex
from stepgrad.formats.maps import Block, Equations, Grid, Paragraph, Table
from stepgrad.formats.maps_layout import (
    ALIGN_PT,
    FRAME_PT,
    GRID_CHARS,
    NOTE_PT,
    Item,
    beside,
    escape,
    fit,
    grid_rows,
    note_height,
    paragraph,
    row_height,
    shown,
    table_height,
)
from stepgrad.formats.maps_summary import shortened

_escape, _fit = escape, fit


WIDTH = 80  # characters of a formula row on a frame before it breaks at a top-level =, + or -
DISPLAY_SKIPS = (r"\newcommand{\displayskips}{\setlength{\abovedisplayskip}{4pt}\setlength{\belowdisplayskip}{4pt}"
                 r"\setlength{\abovedisplayshortskip}{2pt}\setlength{\belowdisplayshortskip}{4pt}}")  # after \small
SHORT = {"dE_total/d(name)": "gradient"}  # a table's heading as a slide shows it (the text formats keep theirs)
LONG_WIDTH = 72  # the same for a line of long numbers (9 digits: wider than the letters the estimate counts)
CASES_WIDTH = 60  # the same for a line with a case distinction (its branches' widths are overestimated as a sum)


def frame(title: str, body: str, size: str = "small") -> str:
    return f"\\begin{{frame}}\n\\frametitle{{{tex.title(title)}}}\n\\{size}\\displayskips\n{body}\n\\end{{frame}}\n"


def _split_max(piece: str, width: int) -> list[str]:
    """A row holding a long max(...) (a max-pool's window) cut between its arguments, as tex.wrap never cuts
    inside parentheses: rows of about `width` characters."""
    if r"\max(" not in piece or shown(piece) <= width * 5 // 4:
        return [piece]
    rows, current, depth = [], "", 0
    for k, char in enumerate(piece):
        current += char
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 1 and piece[k + 1:k + 2] == " " and shown(current) >= width:
            rows.append(current)
            current = ""
    return [*rows, current] if current.strip() else rows


def equation_items(item: Equations, short: bool = False) -> list[Item]:
    """Each derived line as align* rows of at most WIDTH characters; a line taller than a frame is cut into
    several align* blocks (the frames that follow continue it). `short` (a summary): a long line's middle
    rows become a row of dots, said in its note."""
    out = []
    for line, note in zip(item.latex, item.notes):
        width = CASES_WIDTH if r"\begin{cases}" in line or r"\left(" in line else (
            LONG_WIDTH if re.search(r"\d\.\d{7}", line) else WIDTH)
        pieces = [row for p in tex.wrap(line, width, at=(" = ", " + ", " - ")) for row in _split_max(p, width)]
        if short:
            pieces, left = shortened(pieces)
            if left:
                note = (note + " " if note else "") + f"({left} rows of terms left out; --all writes every one.)"
        rows = [(row_height(p), ("&" if k == 0 else r"&\quad ") + p) for k, p in enumerate(pieces)]
        chunks: list[list[tuple[float, str]]] = [[]]
        for row in rows:
            if chunks[-1] and sum(h for h, _ in chunks[-1]) + row[0] > FRAME_PT - ALIGN_PT - 2 * NOTE_PT:
                chunks.append([])
            chunks[-1].append(row)
        for k, chunk in enumerate(chunks):
            latex = "\\begin{align*}\n" + " \\\\\n".join(r for _, r in chunk) + "\n\\end{align*}"
            height = ALIGN_PT + sum(h for h, _ in chunk)
            if note and k == len(chunks) - 1:
                latex += f"\n{{\\footnotesize\\emph{{{_escape(note)}}}}}\\par"
                height += note_height(note)
            out.append((height, latex))
    return out


def _tabular(header: tuple[str, ...], rows: tuple[tuple[str, ...], ...]) -> str:
    header = tuple(SHORT.get(h, h) for h in header)
    cells = [" & ".join(_escape(str(c)) for c in r) + r" \\" for r in (header, *rows)]
    return (f"\\begin{{tabular}}{{{'l' * len(header)}}}\n{cells[0]} \\hline\n" + "\n".join(cells[1:])
            + "\n\\end{tabular}")


def halves_fit(table: Table) -> bool:
    """Whether a table's rows fit in two halves side by side at \\footnotesize without shrinking."""
    header = tuple(SHORT.get(h, h) for h in table.header)
    widths = [max(len(str(row[c])) for row in (header, *table.rows)) for c in range(len(header))]
    return 2 * (sum(widths) + 2 * len(widths)) <= GRID_CHARS


@dataclass(frozen=True)
class Rows:
    """A table the frames cut where a frame is full (each part with its header); `columns` 2: each part's rows
    in two halves side by side."""

    table: Table
    columns: int = 1

    def height(self, rows: int) -> float:
        return table_height(-(-rows // self.columns) if rows >= 4 else rows)

    def fitting(self, room: float) -> int:
        """How many rows fit in `room` points."""
        count = 0
        while count < len(self.table.rows) and self.height(count + 1) <= room:
            count += 1
        return count

    def latex(self, rows: tuple[tuple[str, ...], ...]) -> str:
        if self.columns == 1 or len(rows) < 4:
            return f"{{\\footnotesize{_fit(_tabular(self.table.header, rows))}}}\\par"
        half = -(-len(rows) // self.columns)
        return "{\\footnotesize\\noindent\n" + "\\hfill\n".join(
            f"\\begin{{minipage}}[t]{{{0.98 / self.columns:.2f}\\linewidth}}\n"
            f"{_fit(_tabular(self.table.header, rows[k:k + half]))}\n\\end{{minipage}}"
            for k in range(0, len(rows), half)) + "\n}\\par"


Part = Item | Rows
KEEP = "%keep with the next\n"  # a lead-in paragraph ("The biases b_c1:") stays on its table's frame


def items(parts: list[Block], short: bool = False) -> list[Part]:
    """LaTeX items with their heights; consecutive grids side by side while they fit across the frame."""
    out: list[Part] = []
    row: list[Grid] = []

    def flush() -> None:
        if row:
            out.extend(grid_rows(list(row)))
            row.clear()

    for part in parts:
        if isinstance(part, Grid):
            if row and not beside([*row, part]):
                flush()
            row.append(part)
            continue
        flush()
        if isinstance(part, Paragraph):
            height, latex = paragraph(part.text)
            if part.text.startswith("Left out here") and out and isinstance(out[-1], tuple):  # with its grids
                out[-1] = (out[-1][0] + height, out[-1][1] + "\n" + latex)
                continue
            out.append((height, (KEEP if part.text.rstrip().endswith(":") else "") + latex))
        elif isinstance(part, Equations):
            out += equation_items(part, short)
        elif isinstance(part, Table):
            out.append(Rows(part, 2 if short and part.header[0] == "name" and halves_fit(part) else 1))
    flush()
    return out


Page = tuple[list[str], float]  # a frame's LaTeX items and their height in points


def packed(items: list[Part], budget: float = FRAME_PT, start: float = 0.0, scale: float = 1.0) -> list[Page]:
    """The items packed into frames of `budget` points (the first with `start` points used already; left empty
    if nothing fits there): a table cut where a frame is full, a lead-in kept with what it leads into."""
    pages: list[Page] = [([], start)]

    def room_for(k: int) -> float:  # the least of item k that must go on the frame it starts on
        item = items[k]
        if isinstance(item, Rows):
            return item.height(min(3, len(item.table.rows)))
        height, latex = item
        height *= 1.0 if "minipage" in latex or "tabular" in latex else scale
        return height + (room_for(k + 1) if latex.startswith(KEEP) and k + 1 < len(items) else 0.0)

    def add(latex: str, height: float) -> None:
        pages[-1] = (pages[-1][0] + [latex], pages[-1][1] + height)

    for k, item in enumerate(items):
        if (pages[-1][0] or len(pages) == 1 and start) and pages[-1][1] + room_for(k) > budget:
            pages.append(([], 0.0))
        if isinstance(item, Rows):
            rows = item.table.rows
            while rows:
                count = item.fitting(budget - pages[-1][1])
                if count < min(3, len(rows)) and (pages[-1][0] or len(pages) == 1 and start):  # the next frame
                    pages.append(([], 0.0))
                    continue
                if 0 < len(rows) - count < 3 and count > 3:  # no frame for the last row or two alone
                    count = len(rows) - 3
                part = Rows(Table(item.table.header, rows[:max(1, count)]), item.columns)
                add(part.latex(part.table.rows), part.height(len(part.table.rows)))
                rows = rows[len(part.table.rows):]
            continue
        add(item[1], item[0] * (1.0 if "minipage" in item[1] or "tabular" in item[1] else scale))
    return [p for k, p in enumerate(pages) if p[0] or k == 0 and start]


def titled(title: str, pages: list[Page]) -> list[tuple[str, list[str], float]]:
    """Pages titled "(2/3)" when a part runs over several frames."""
    return [(title + (f" ({k + 1}/{len(pages)})" if len(pages) > 1 else ""), latex, used)
            for k, (latex, used) in enumerate(pages)]


def frames(title: str, items: list[Part], scale: float = 1.0, size: str = "small") -> list[str]:
    return [frame(t, "\n".join(latex), size) for t, latex, _ in titled(title, packed(items, scale=scale))]


HEAD_PT = 17.0  # a section's heading inside a frame it shares
MERGED_PT = 25.0  # the least of a section worth starting at the foot of the frame before


class Sections:
    """A summary's sections into frames: a section that fits whole in the room left on the frame of the
    section before it (of the same pass) goes on that frame under its own heading, the title naming both."""

    def __init__(self, scale: float = 1.0, size: str = "small") -> None:
        self.scale, self.size = scale, size
        self.frames: list[str] = []
        self.open: list[tuple[str, list[str], float]] = []  # the last section's frames, not yet written

    def add(self, heading: str, items: list[Part], merge: bool) -> None:
        last = self.open[-1] if self.open else None
        after_kernel = last is not None and last[0].startswith("One kernel weight") and heading.startswith("Backward pass")
        if merge and last and (heading.split(":")[0] == last[0].split(":")[0] or after_kernel):
            pages = packed(items, start=last[2] + HEAD_PT, scale=self.scale)
            if pages[0][0] and pages[0][1] >= last[2] + HEAD_PT + MERGED_PT:
                head = heading if after_kernel else heading.split(": ", 1)[1]
                same = head.rsplit(", ", 1)[0]
                if ", " in head and not after_kernel and re.sub(r" \(\d+/\d+\)$", "", last[0]).split(": ", 1)[1].startswith(same + ", "):
                    head = head.rsplit(", ", 1)[1]  # "k1[1,1,1,1], the plan and the sum over positions"
                count = f" (1/{len(pages)})" if len(pages) > 1 else ""
                self.open[-1] = (f"{last[0]} and {head}{count}",
                                 [*last[1], f"\\textbf{{{_escape(head)}}}\\par\\smallskip", *pages[0][0]], pages[0][1])
                self.flush()
                self.open = titled(heading, [([], 0.0)] + pages[1:])[1:]
                return
        self.flush()
        self.open = titled(heading, [p for p in packed(items, scale=self.scale) if p[0]])

    def flush(self) -> list[str]:
        self.frames += [frame(title, "\n".join(latex), self.size) for title, latex, _ in self.open]
        self.open = []
        return self.frames
