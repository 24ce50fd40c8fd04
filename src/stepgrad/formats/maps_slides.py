r"""A Beamer lecture of one training step of a layer-table network (convolution, pooling, residual blocks).

The frames: the network as a picture of maps (TikZ: a stack of squares per map, its shape, the kernel
on the arrow, the skip path as an arc), its conventions, the forward pass as grids with one position
derived, the error, each pooling layer's route (the cells a window sends its gradient to, in bold),
each residual block's skip path (the sum of the two paths, derived), the backward pass, one kernel
weight's plan, factors and sum over positions, and the update. The body is the explanation's blocks
(formats/maps.py) packed into frames of at most BUDGET rows; a part that does not fit continues on the
next frame, titled "(2/3)". Every number is the trace's; this module only lays them out.

    stepgrad explain cnn.toml --format slides -o conv.tex && pdflatex conv.tex && pdflatex conv.tex
"""

from __future__ import annotations

import re
from typing import Any

from stepgrad.core import names
from stepgrad.core.trace import Trace
from stepgrad.formats import latex as tex
from stepgrad.formats.formula import Precision, equation, number, substituted, symbol
from stepgrad.formats.maps import Block, Equations, Grid, Heading, Paragraph, Table
from stepgrad.formats.maps_seq import blocks
from stepgrad.formats.slides import PREAMBLE

WIDTH = 60  # characters of a formula row on a frame before it breaks at a top-level =, + or -
BUDGET = 11.5  # a frame's height in rows of \small text
GRID_CHARS = 96  # characters of \footnotesize grids side by side across a frame
TABLE_ROWS = 9  # rows of a table of kernel entries on one frame
Item = tuple[float, str]  # (height in rows, LaTeX)


def _frame(title: str, body: str) -> str:
    return f"\\begin{{frame}}\n\\frametitle{{{tex.title(title)}}}\n\\small\n{body}\n\\end{{frame}}\n"


def _fit(body: str) -> str:
    return r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{" + body + "}"


def _cell(value: str) -> str:
    return value.replace("e-", r"\mathrm{e}{-}").replace("e+", r"\mathrm{e}{+}")


def _grid_width(grid: Grid) -> int:
    widest = max((len(v) for row in grid.rows for v in row), default=1)
    return max(len(grid.title) + 2, (len(grid.column_labels) + 1) * (widest + 2))


def _array(grid: Grid, bold: set[tuple[int, int]] | None = None) -> str:
    lines = [" & ".join(["", *grid.column_labels]) + r" \\ \hline"]
    for r, (label, row) in enumerate(zip(grid.row_labels, grid.rows)):
        cells = [rf"\mathbf{{{_cell(v)}}}" if bold and (r, c) in bold else _cell(v) for c, v in enumerate(row)]
        lines.append(" & ".join([label, *cells]) + r" \\")
    array = "$\\begin{array}{r|" + "r" * len(grid.column_labels) + "}\n" + "\n".join(lines) + "\n\\end{array}$"
    title = tex.escape(grid.title).replace("/", r"/\allowbreak{}").replace(",", r",\allowbreak{}")
    return f"\\textbf{{{title}}}\\\\[1pt]\n{_fit(array)}"


def _grid_row(grids: list[Grid], bold: dict[str, set[tuple[int, int]]] | None = None) -> Item:
    """Grids side by side, each in a minipage of its share of the line."""
    total = sum(_grid_width(g) for g in grids)
    boxes = []
    for g in grids:
        share = max(0.18, min(1.0, _grid_width(g) / max(total, GRID_CHARS))) * 0.98
        boxes.append(f"\\begin{{minipage}}[t]{{{share:.2f}\\linewidth}}\n{_array(g, (bold or {}).get(g.title))}\n"
                     "\\end{minipage}")
    height = max(len(g.rows) for g in grids) * 0.6 + 1.5
    return height, "{\\footnotesize\\noindent\n" + "\\hfill\n".join(boxes) + "\n}\\par\\smallskip"


def _shown(latex: str) -> int:
    """About how many characters a formula piece shows (its LaTeX less the markup)."""
    return len(re.sub(r"\\[a-zA-Z]+|[{}_^]", "", latex))


def _split_max(piece: str, width: int) -> list[str]:
    """A row holding a long max(...) (a max-pool's window) cut between its arguments, as tex.wrap never cuts
    inside parentheses: rows of about `width` characters."""
    if r"\max(" not in piece or _shown(piece) <= width * 5 // 4:
        return [piece]
    rows, current, depth = [], "", 0
    for k, char in enumerate(piece):
        current += char
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 1 and piece[k + 1:k + 2] == " " and _shown(current) >= width:
            rows.append(current)
            current = ""
    return [*rows, current] if current.strip() else rows


def _grid_rows(grids: list[Grid], bold: dict[str, set[tuple[int, int]]] | None = None) -> list[Item]:
    """Grids side by side, as many to a row as fit across the frame."""
    rows: list[list[Grid]] = [[]]
    for g in grids:
        if rows[-1] and (sum(_grid_width(x) for x in [*rows[-1], g]) > GRID_CHARS or len(rows[-1]) == 4):
            rows.append([])
        rows[-1].append(g)
    return [_grid_row(row, bold) for row in rows if row]


def _equation_items(item: Equations) -> list[Item]:
    """Each derived line as align* rows of at most WIDTH characters; a line taller than a frame is cut into
    several align* blocks (the frames that follow continue it)."""
    out = []
    for line, note in zip(item.latex, item.notes):
        pieces = [row for p in tex.wrap(line, WIDTH, at=(" = ", " + ", " - ")) for row in _split_max(p, WIDTH)]
        rows = [(1.8 if r"\frac" in p else 1.0, ("&" if k == 0 else r"&\quad ") + p) for k, p in enumerate(pieces)]
        chunks: list[list[tuple[float, str]]] = [[]]
        for row in rows:
            if chunks[-1] and sum(h for h, _ in chunks[-1]) + row[0] > BUDGET - 1.5:
                chunks.append([])
            chunks[-1].append(row)
        for k, chunk in enumerate(chunks):
            latex = "\\begin{align*}\n" + " \\\\\n".join(r for _, r in chunk) + "\n\\end{align*}"
            height = sum(h for h, _ in chunk) + 0.4
            if note and k == len(chunks) - 1:
                latex += f"\n{{\\footnotesize\\emph{{{tex.escape(note)}}}}}\\par"
                height += 0.8 + len(note) // 110
            out.append((height, latex))
    return out


def _table_items(table: Table) -> list[Item]:
    out = []
    for start in range(0, len(table.rows), TABLE_ROWS):
        rows = table.rows[start:start + TABLE_ROWS]
        cells = [" & ".join(tex.escape(str(c)) for c in r) + r" \\" for r in (table.header, *rows)]
        body = (f"{{\\footnotesize\\begin{{tabular}}{{{'l' * len(table.header)}}}\n{cells[0]} \\hline\n"
                + "\n".join(cells[1:]) + "\n\\end{tabular}}\\par")
        out.append((len(rows) * 0.75 + 1.4, body))
    return out


def _items(parts: list[Block]) -> list[Item]:
    """LaTeX items with their heights; consecutive grids side by side while they fit across the frame."""
    out: list[Item] = []
    row: list[Grid] = []

    def flush() -> None:
        if row:
            out.append(_grid_row(list(row)))
            row.clear()

    for part in parts:
        if isinstance(part, Grid):
            if row and sum(_grid_width(g) for g in [*row, part]) > GRID_CHARS or len(row) == 4:
                flush()
            row.append(part)
            continue
        flush()
        if isinstance(part, Paragraph):
            out.append((1.0 + len(part.text) // 105, tex.escape(part.text) + r"\par\smallskip"))
        elif isinstance(part, Equations):
            out += _equation_items(part)
        elif isinstance(part, Table):
            out += _table_items(part)
    flush()
    return out


def _pages(items: list[Item]) -> list[list[str]]:
    pages: list[list[str]] = [[]]
    used = 0.0
    for height, latex in items:
        if pages[-1] and used + height > BUDGET:
            pages.append([])
            used = 0.0
        pages[-1].append(latex)
        used += height
    return pages


def _frames(title: str, items: list[Item]) -> list[str]:
    pages = [p for p in _pages(items) if p]
    return [_frame(title + (f" ({k + 1}/{len(pages)})" if len(pages) > 1 else ""), "\n".join(page))
            for k, page in enumerate(pages)]


class _Lecture:
    def __init__(self, trace: Trace, digits: Precision, full: bool, matrix: bool, derive: bool) -> None:
        self.trace, self.digits, self.full = trace, digits, full
        self.meta: dict[str, Any] = trace.meta
        self.samples = int(self.meta["samples"])
        self.parts = blocks(trace, digits, full, matrix, derive=derive)

    def tag(self) -> int | None:
        return None if self.samples == 1 else 1

    def has(self, name: str) -> bool:
        return name in self.trace.values

    # -- the picture of maps ----------------------------------------------------------------------
    def picture(self) -> str:
        """Each map a stack of squares (one per channel, at most 4 drawn), its shape below, the layer's kind and
        kernel on the arrow into it; a residual block's skip path an arc over the block into its sum."""
        maps = [("x", "input", self.meta["input_shape"], None)] + [
            (layer["label"], layer["kind"], layer["out_shape"], layer) for layer in self.meta["layers"]]
        left: dict[str, float] = {}
        right: dict[str, float] = {}
        out = [r"\begin{tikzpicture}[>=stealth, every node/.style={font=\scriptsize}]"]
        x, top = 0.0, 0.0
        for label, kind, shape, layer in maps:
            side = min(1.5, 0.3 + 0.15 * shape[-1]) if len(shape) > 1 else 0.25
            height = min(1.5, 0.3 + 0.15 * shape[-2]) if len(shape) == 3 else 0.3 if len(shape) == 2 else min(
                2.2, 0.2 * shape[0] + 0.3)
            channels = min(shape[0], 4) if len(shape) > 1 else 1
            for c in reversed(range(channels)):
                fill = "green!10" if label == "x" else "orange!15" if kind == "residual" else "blue!8"
                out.append(f"\\draw[fill={fill}] ({x + 0.12 * c:.2f},{0.12 * c:.2f}) rectangle "
                           f"({x + side + 0.12 * c:.2f},{height + 0.12 * c:.2f});")
            top = max(top, height + 0.12 * channels)
            name = "x" if label == "x" else names.map_label("out", label)
            out.append(f"\\node[below] at ({x + side / 2:.2f},-0.05) {{{tex.escape(name)}}};")
            size = r" $\times$ ".join(map(str, shape))
            out.append(f"\\node[below] at ({x + side / 2:.2f},-0.4) {{{size}}};")
            left[label], right[label] = x, x + side + 0.12 * (channels - 1)
            if layer is not None:
                previous = maps[[m[0] for m in maps].index(label) - 1][0]  # the block's last layer, for a sum
                if kind == "residual":
                    source = layer["input"] or "x"
                    out.append(f"\\draw[->, thick, red!60!black] ({(left[source] + right[source]) / 2:.2f},1.9) "
                               f"to[out=40, in=140] node[above] {{skip path: $+$ {tex.escape(name)}}} "
                               f"({x + side / 2:.2f},1.9);")
                out.append(f"\\draw[->] ({right[previous] + 0.1:.2f},0.25) -- ({x - 0.1:.2f},0.25) "
                           f"node[midway, above, align=center] {{{self._arrow(layer)}}};")
            x += side + 0.12 * (channels - 1) + 1.9
        out.append(r"\end{tikzpicture}")
        return _fit("\n".join(out))

    def _shape(self, label: str) -> list[int]:
        if label == "x":
            return list(self.meta["input_shape"])
        return next(list(layer["out_shape"]) for layer in self.meta["layers"] if layer["label"] == label)

    @staticmethod
    def _arrow(layer: dict[str, Any]) -> str:
        kind = layer["kind"]
        if kind.startswith("conv"):
            kernel = layer["parameters"]["kernel"]
            size = r"$\times$".join(map(str, kernel[2:]))
            return f"{layer['label']}: {size}" + r"\\kernel"
        words = {"maxpool": "max", "avgpool": "avg", "flatten": "flatten", "dense": "dense", "residual": "$+$"}
        return f"{layer['label']}: {words.get(kind, kind)}"

    # -- the lecture's own frames ------------------------------------------------------------------
    def route_frames(self) -> list[str]:
        """Each pooling layer's route: the cells of its input that receive a window's gradient, in bold
        (read from the trace: those whose dE_total/dout formula holds the pool's error signal)."""
        frames = []
        for layer in self.meta["layers"]:
            if layer["kind"] not in ("maxpool", "avgpool") or layer["input"] is None:
                continue
            source, label = layer["input"], layer["label"]
            grids = self._grids_of(names.map_label("out", source))
            signal = names.partial(names.TOTAL, names.map_label("out", label))
            routed = names.partial(names.TOTAL, names.map_label("out", source))
            shown = [g for g in grids if g.title.startswith(names.map_label("out", source))]
            bold = {g.title: self._routed(source, label, g) for g in shown}
            rule = ("a max-pool sends each window's gradient to the one cell that won it (in bold; the others get 0)"
                    if layer["kind"] == "maxpool" else
                    "an average pool sends each cell 1/(window size) of each window's gradient (every cell is bold)")
            items = [(1.6, tex.escape(f"{layer['description']}: {rule}.") + r"\par\smallskip")]
            items += _grid_rows(shown[:2] + self._grids_of(signal)[:2] + self._grids_of(routed)[:2], bold)
            frames += _frames(f"The pooling route: {label}", items)
        return frames

    def _grids_of(self, title: str) -> list[Grid]:
        return [p for p in self.parts if isinstance(p, Grid) and p.title.split(",")[0].split(" (")[0] == title]

    def _routed(self, source: str, pool: str, grid: Grid) -> set[tuple[int, int]]:
        channel = int(grid.title.rsplit("channel ", 1)[1].split()[0]) if "channel " in grid.title else 1
        marked = set()
        for r in range(len(grid.rows)):
            for c in range(len(grid.rows[r])):
                position = (channel, r + 1, c + 1) if grid.row_labels[0] else (channel, c + 1)
                name = names.partial(names.TOTAL, names.map_value("out", source, position), self.tag())
                if self.has(name) and names.partial(names.TOTAL, names.map_label("out", pool)) + "[" in self.trace.step(name).text:
                    marked.add((r, c))
        return marked

    def skip_frames(self) -> list[str]:
        """Each residual block's skip path: the gradient at the block's input, the sum of the two paths."""
        frames = []
        for layer in self.meta["layers"]:
            if layer["kind"] != "residual" or layer["input"] is None:
                continue
            source = layer["input"]
            first = (1,) * len(layer["out_shape"])
            name = names.partial(names.TOTAL, names.map_value("out", source, first), self.tag())
            if not self.has(name):
                continue
            text = (f"{layer['label']} adds the block's output to its input: net_{layer['label']} = {source}'s out + "
                    f"the block's out, so dnet_{layer['label']}/dout_{source} = 1 along the skip path. The gradient "
                    f"at the block's input is the sum of the two paths: the skip path's term (the error signal of "
                    f"{layer['label']} itself) plus the terms through the block.")
            step = self.trace.step(name)
            line = equation(step, self.trace, self.digits, "latex")
            items = [(2.2, tex.escape(text) + r"\par\smallskip")]
            items += _equation_items(Equations((equation(step, self.trace, self.digits, "text"),), (line,),
                                               (step.note,)))
            frames += _frames(f"The skip path: {layer['label']}", items)
        return frames

    def _without_first_kernel(self, parts: list[Block], layer: Any) -> list[Block]:
        """The section's blocks less the first kernel entry's derivation (its own frames show it)."""
        entry = names.with_position(layer["parameter_names"]["kernel"], (1,) * len(layer["parameters"]["kernel"]))
        out, skipping = [], False
        for part in parts:
            if isinstance(part, Paragraph):
                skipping = part.text.startswith(f"The gradient of {entry}:") or part.text == f"The gradient of {entry}."
                if skipping:
                    continue
            if skipping and isinstance(part, Equations):
                continue
            skipping = False if not isinstance(part, Equations) else skipping
            out.append(part)
        return out

    def kernel_frames(self, layer: dict[str, Any]) -> list[str]:
        """One kernel weight's gradient as a lecture shows it: the plan (the input cells the weight met, in bold,
        beside the error signals at the positions it touches), the factors and error signals as a table, the
        sum over positions with its numbers, the update."""
        base = layer["parameter_names"]["kernel"]
        entry = names.with_position(base, (1,) * len(layer["parameters"]["kernel"]))
        gradient = names.gradient(entry)
        if not self.has(gradient):
            return []
        step = self.trace.step(gradient)
        factors = [st for st in self.trace.section(f"backward_{layer['label']}").steps
                   if st.kind == "partial" and str(names.parse(st.name).bottom) == entry]
        met = {st.text.strip("«»") for st in factors}
        source = layer["input"]
        inputs = [g for g in self._grids_of("x" if source is None else names.map_label("out", source))
                  if "sample" not in g.title or "sample 1" in g.title]
        bold = {g.title: {(r, c) for r in range(len(g.rows)) for c in range(len(g.rows[r]))
                          if self._cell_name(g, r, c, source) in met} for g in inputs}
        signal = names.partial(names.TOTAL, names.map_label("net", layer["label"]))
        plan = (f"The plan: {entry} {step.note}. At each position it meets one input cell (in bold): the factor "
                f"{names.partial('net', entry)} is that cell; the error signal there is {signal}.")
        items = [(2.0, tex.escape(plan) + r"\par\smallskip")]
        signals = [g for g in self._grids_of(signal) if "channel " not in g.title
                   or g.title.rsplit("channel ", 1)[1].split()[0] == "1"]  # the weight's out channel: 1
        items += _grid_rows(inputs[:2] + signals[:1], bold)
        frames = _frames(f"One kernel weight: {entry}, the plan", items)
        rows = tuple((st.name.split("/d", 1)[0][1:].split("[", 1)[1].rstrip("]"),
                      number(self.trace.lookup(names.partial(names.TOTAL, st.name.split("/d", 1)[0][1:])), self.digits),
                      f"{st.text.strip('«»')} = {number(st.value, self.digits)}") for st in factors)
        table = Table(("position", f"{names.partial(names.TOTAL, 'net')} there", "factor: the input met"), rows)
        total = (rf"{symbol(gradient, 'latex')} = \sum_{{\text{{positions}}}} "
                 rf"\frac{{\partial E_{{\mathrm{{total}}}}}}{{\partial \mathrm{{net}}}} \cdot "
                 rf"\frac{{\partial \mathrm{{net}}}}{{\partial {symbol(entry, 'latex')}}} = "
                 f"{substituted(step, self.trace, self.digits, 'latex')} = {number(step.value, self.digits, 'latex')}")
        items = _table_items(table) + _equation_items(Equations(("",), (total,), ("",)))
        update = names.updated(entry)
        if self.has(update):
            items += _equation_items(Equations(("",), (equation(self.trace.step(update), self.trace, self.digits,
                                                                 "latex"),), ("",)))
        return frames + _frames(f"One kernel weight: {entry}, the sum over positions", items)

    def _cell_name(self, grid: Grid, r: int, c: int, source: str | None) -> str:
        channel = int(grid.title.rsplit("channel ", 1)[1].split()[0]) if "channel " in grid.title else 1
        position = (channel, r + 1, c + 1) if grid.row_labels[0] else (channel, c + 1)
        if source is None:
            return names.map_value("input", names.INPUT_MAP, position, self.tag())
        return names.map_value("out", source, position, self.tag())

    def build(self) -> str:
        title = "One training step of a convolutional network"
        out = [PREAMBLE, r"\usepackage{graphicx}", f"\\title{{{title}}}", r"\subtitle{derived number by number}",
               r"\author{stepgrad}", r"\date{}", r"\begin{document}", r"\begin{frame}\titlepage\end{frame}"]
        out.append(_frame("The network as maps", "\\begin{center}\n" + self.picture() + "\n\\end{center}\n{\\footnotesize " + "\\\\\n".join(
            tex.escape(layer["description"]) for layer in self.meta["layers"]) + "}"))
        sections: list[tuple[str, list[Block]]] = []
        for part in self.parts:
            if isinstance(part, Heading):
                sections.append((part.text, []))
            elif sections:
                sections[-1][1].append(part)
        extra_done = False
        for heading, parts in sections:
            if heading.startswith("Backward pass") and not extra_done:
                out += self.route_frames() + self.skip_frames()
                extra_done = True
            layer = next((m for m in self.meta["layers"] if heading.startswith("Backward pass: ")
                          and heading.split(": ", 1)[1].split(" ")[0] == m["label"]), None)
            kernel = layer is not None and "kernel" in layer["parameters"] and not self.full
            out += _frames(heading, _items(self._without_first_kernel(parts, layer) if kernel else parts))
            if kernel and layer is not None:
                out += self.kernel_frames(layer)
        out.append(r"\end{document}")
        return "\n".join(out) + "\n"


def render_slides(trace: Trace, digits: Precision = 9, full: bool = False, matrix: bool = False,
                  derive: bool = False, **_: object) -> str:
    """A layer-table trace as a Beamer lecture (pdflatex twice)."""
    return _Lecture(trace, digits, full, matrix, derive).build()

