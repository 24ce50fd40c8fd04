"""The conv lecture's summary of a big network (formats/maps_slides.py): what of the explanation's blocks it shows.

A network of more than SUMMARY_PARAMETERS parameters (or whose lecture would run over SUMMARY_FRAMES
frames): of each map its first channel, of each kernel its slice [1,1,·,·], the first sample, of a table
of entries its first slice, and a note of what was left out; a long derived line keeps its first and
last rows with a row of dots between (said in its note). `explain --format slides --all` shows everything.
Nothing here computes: the blocks carry the trace's numbers.
"""

from __future__ import annotations

import re

from stepgrad.core import names
from stepgrad.formats.maps import ENTRIES, Block, Equations, Grid, Paragraph, Table
from stepgrad.formats.maps_layout import GRID_CHARS, SHRINK, blocks, column_part

SUMMARY_PARAMETERS = 40  # more parameters than this: the lecture is a summary by default (--all: everything)
SUMMARY_FRAMES = 45  # a lecture of fewer parameters but more frames than this is summarised too
TABLE_ROWS = 9  # rows of a table of kernel entries on one frame
COMPACT_ROWS = 6  # a compact summary's grids: their first rows (and columns for half the frame's width)
LONG_ROWS = 3  # a part of a derived line longer than this shows its first row, a row of dots and its last


def shortened(pieces: list[str]) -> tuple[list[str], int]:
    """The rows of a derived line with each long part (the formula, the numbers: split at a row starting with
    '=') cut to its first row, a row of dots and its last row; and how many rows were left out."""
    parts: list[list[str]] = [[]]
    for k, piece in enumerate(pieces):
        if k and piece.startswith("= "):
            parts.append([])
        parts[-1].append(piece)
    out, left = [], 0
    for part in parts:
        if len(part) > LONG_ROWS:
            left += len(part) - 2
            part = [part[0], r"+ \cdots", part[-1]]
        out += part
    return out, left




_SLICE = re.compile(r"\[(\d+),(\d+),·,·\]")


def _left_out(grid: Grid) -> str | None:
    """A summary leaves out a map's channels after the first, a kernel's slices after [1,1,·,·] and the samples
    after the first: what of `grid` it leaves out (None: shown)."""
    sample = re.search(r"\(sample (\d+)\)", grid.title)
    if sample and sample.group(1) != "1":
        return f"sample {sample.group(1)}"
    channel = re.search(r", channel (\d+)", grid.title)
    if channel and channel.group(1) != "1":
        return f"channel {channel.group(1)}"
    piece = _SLICE.search(grid.title)
    if piece and piece.groups() != ("1", "1"):
        return "slice [" + ",".join(piece.groups()) + ",·,·]"
    return None


def _first_sample(line: str) -> bool:
    """Whether a derived line (text) is about sample 1 or no sample."""
    try:
        sample = names.parse(line.split(" = ", 1)[0].strip()).sample
    except (ValueError, KeyError):
        return True
    return sample in (None, 1)


def _first_slice(entries: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
    """The rows of a table of entries (name first) in the first entry's slice (a kernel's [o,i,·,·], a weight
    matrix's row), at most TABLE_ROWS."""
    def head(name: str) -> str:
        inside = name.split("[", 1)[1].split("]")[0].split(",") if "[" in name else []
        return ",".join(inside[:-2] if len(inside) > 2 else inside[:-1])
    first = head(entries[0][0]) if entries else ""
    return tuple(r for r in entries if head(r[0]) == first)[:TABLE_ROWS]


def _counted(whats: list[str]) -> str:
    """What a summary left out of one map, briefly: "channels 2-3", "5 more slices", "samples 2-3"."""
    said = []
    for kind in ("channel", "sample"):
        numbers = sorted({int(w.split()[1]) for w in whats if w.startswith(kind + " ")})
        if numbers:
            said.append(f"{kind} {numbers[0]}" if len(numbers) == 1 else f"{kind}s {numbers[0]}-{numbers[-1]}")
    said += sorted({w for w in whats if w.startswith(("rows ", "columns ", "column "))}) + (["the map"] if "the map" in whats else [])
    slices = len({w for w in whats if w.startswith("slice")})
    if slices:
        said.append(f"{slices} more slice{'s' if slices > 1 else ''}")
    return ", ".join(said)


def _stem(grid: Grid) -> str:
    """The map or kernel a grid is a channel, slice or sample of: "net_c2", "k2"."""
    return re.split(r", channel | \(sample |\[\d+,\d+,·,·\]", grid.title)[0]


_LOCAL = re.compile(r"dout_\w+/dnet_")  # compact: the activation's slope map


def summarised(parts: list[Block], compact: bool = False) -> list[Block]:
    """A section's blocks as a summary shows them: a map's first channel, a kernel's first slice, the first
    sample, the first slice of a table of entries; a note after the grids says what was left out (--all:
    everything)."""
    dropped: dict[str, list[str]] = {}
    for part in parts:
        what = _left_out(part) if isinstance(part, Grid) else None
        if what is not None:
            dropped.setdefault(_stem(part), []).append(what)  # type: ignore[arg-type]
    out: list[Block] = []
    for part in parts:
        if isinstance(part, Grid):
            if _left_out(part) is not None:
                continue
            if compact and _LOCAL.match(part.title):  # the activation's slope map: its first position is derived
                dropped.setdefault(_stem(part), []).append("the map")
                continue
            columns = blocks(part, GRID_CHARS / 2 if compact else GRID_CHARS * SHRINK)
            if len(columns) > 1:  # wider than a frame (compact: than half of it): its first block of columns
                labels = part.column_labels
                first = labels[columns[1].start]
                dropped.setdefault(_stem(part), []).append(f"columns {first}-{labels[-1]}" if first != labels[-1]
                                                           else f"column {first}")
                part = column_part(part, columns[0], True)
            if compact and len(part.rows) > COMPACT_ROWS:  # and its first rows
                dropped.setdefault(_stem(part), []).append(f"rows {part.row_labels[COMPACT_ROWS]}-{part.row_labels[-1]}")
                part = Grid(part.title, part.rows[:COMPACT_ROWS], part.row_labels[:COMPACT_ROWS], part.column_labels)
        elif isinstance(part, Equations):
            keep = [k for k, line in enumerate(part.text) if _first_sample(line)]
            if not keep:
                continue
            part = Equations(*(tuple(column[k] for k in keep) for column in (part.text, part.latex, part.notes)))
        elif isinstance(part, Table) and part.header[0] == "name" and len(part.rows) > 1:
            rows = _first_slice(part.rows)
            if len(rows) < len(part.rows) and out and isinstance(out[-1], Paragraph) and "other entries" in out[-1].text:
                base = rows[0][0].split("[", 1)[0]
                out[-1] = Paragraph(f"The other entries of {base}, each derived the same way: {len(rows)} here, "
                                    f"{len(part.rows) - len(rows)} more left out (--all shows every one):")
            out.append(Table(part.header, rows))
            continue
        out.append(part)
    if dropped:  # after the last grid shown, so it goes with the grids
        by_what: dict[str, list[str]] = {}
        for stem, whats in dropped.items():
            by_what.setdefault(_counted(whats), []).append(stem)
        said = "; ".join(f"{what} of {', '.join(stems)}" for what, stems in by_what.items())
        last = max((k for k, p in enumerate(out) if isinstance(p, Grid)), default=len(out) - 1)
        out.insert(last + 1, Paragraph(f"Left out here (the same way; --all shows them): {said}."))
    return out


_SENTENCE = re.compile(r"(?<=[.:]) (?=[A-Z])")


def unsaid(parts: list[Block], said: set[str]) -> list[Block]:
    """A summary's section without the sentences an earlier section said already (a conv layer's "The kernel
    slides over the input: ..." is said once); `said` gathers the sentences said so far."""
    out: list[Block] = []
    for part in parts:
        if isinstance(part, Paragraph):
            sentences = _SENTENCE.split(part.text)
            kept = [x for x in sentences if len(x) < 40 or x not in said]
            said.update(sentences)
            if not kept:
                continue
            part = Paragraph(" ".join(kept))
        out.append(part)
    return out


def biases_with_entries(parts: list[Block]) -> list[Block]:
    """A summary's section with its biases' table joined to the table of its kernel's other entries (one
    header, one lead-in) when it has one."""
    out: list[Block] = []
    for k, part in enumerate(parts):
        lead = out[-2] if len(out) > 1 else None
        intro = parts[k - 1] if k else None
        if (isinstance(part, Table) and isinstance(intro, Paragraph) and intro.text.startswith("The biases ")
                and isinstance(lead, Table) and lead.header == ENTRIES and part.header == ENTRIES):
            out.pop()  # the biases' lead-in
            out[-1] = Table(ENTRIES, lead.rows + part.rows)
            before = next((j for j in range(len(out) - 2, -1, -1) if isinstance(out[j], Paragraph)), None)
            said = out[before] if before is not None else None
            if before is not None and isinstance(said, Paragraph):
                out[before] = Paragraph(said.text.rstrip(":") + f"; then the biases {intro.text.split()[2]}:")
            continue
        out.append(part)
    return out
