r"""A Beamer lecture of one training step of a layer-table network (convolution, pooling, residual blocks).

The frames: the network as a picture of maps (TikZ: a stack of squares per map, its shape, the kernel
on the arrow, the skip path as an arc), its conventions, the forward pass as grids with one position
derived, the error, each pooling layer's route (the cells a window sends its gradient to, in bold),
each residual block's skip path (the sum of the two paths, derived), the backward pass, one kernel
weight's plan, factors and sum over positions, and the update. The body is the explanation's blocks
(formats/maps.py) packed into frames (formats/maps_frames.py, by the heights of formats/maps_layout.py); a
part that does not fit continues on the next frame, titled "(2/3)". Every number is the trace's; this module
only lays them out. A big network (over 40 parameters, or a lecture over 45 frames) gets a summary
(formats/maps_summary.py) and a closing frame saying what it left out; --all shows everything.

    stepgrad explain cnn.toml --format slides -o conv.tex && pdflatex conv.tex && pdflatex conv.tex
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from stepgrad.core import names
from stepgrad.core.trace import Trace
from stepgrad.formats.formula import Precision, equation, number, substituted, symbol
from stepgrad.formats.maps import ENTRIES, Block, Equations, Grid, Heading, Paragraph, Table
from stepgrad.formats.maps_frames import DISPLAY_SKIPS, Part
from stepgrad.formats.maps_frames import Rows as _Rows
from stepgrad.formats.maps_frames import Sections as _Sections
from stepgrad.formats.maps_frames import equation_items as _equation_items
from stepgrad.formats.maps_frames import frame as _frame
from stepgrad.formats.maps_frames import frames as _frames
from stepgrad.formats.maps_frames import halves_fit as _halves_fit
from stepgrad.formats.maps_frames import items as _items
from stepgrad.formats.maps_layout import escape as _escape
from stepgrad.formats.maps_layout import fit as _fit
from stepgrad.formats.maps_layout import (
    grid_rows,
    paragraph,
)
from stepgrad.formats.maps_seq import blocks
from stepgrad.formats.maps_summary import (
    COMPACT_ROWS,
    SUMMARY_FRAMES,
    SUMMARY_PARAMETERS,
    biases_with_entries,
    summarised,
    unsaid,
)
from stepgrad.formats.slides import PREAMBLE

NEW_VALUES = ("Each new value is in the last column of the backward pass's tables (of the parameters this summary shows; "
              "--all lists every parameter here).")
COMPACT_TEXT = 0.95  # a compact summary's text and formulas (\footnotesize) take this much of their \small height


class _Lecture:
    def __init__(self, trace: Trace, digits: Precision, full: bool, matrix: bool, derive: bool) -> None:
        self.trace, self.digits, self.full = trace, digits, full
        self.meta: dict[str, Any] = trace.meta
        self.summary = not full and self.parameters() > SUMMARY_PARAMETERS
        self.compact = False  # a summary still over SUMMARY_FRAMES: one kernel weight derived in full in all
        self.samples = int(self.meta["samples"])
        self.parts = blocks(trace, digits, full, matrix, derive=derive)

    def body(self) -> tuple[float, str]:
        """The scale of the text's estimated heights (made for \\small) and its size: a compact summary's text is
        \\footnotesize (9pt, as its grids and tables, whose heights stay)."""
        return (COMPACT_TEXT, "footnotesize") if self.compact else (1.0, "small")

    def tag(self) -> int | None:
        return None if self.samples == 1 else 1

    def parameters(self) -> int:
        """How many parameter entries the network has (kernels, weights, biases)."""
        return sum(int(np.prod(shape)) for layer in self.meta["layers"] for shape in layer["parameters"].values())

    def left_out_frame(self) -> str:
        """The last frame of a summary: what it left out and how to see it."""
        size = (f"This network has {self.parameters()} parameters (more than {SUMMARY_PARAMETERS})"
                if self.parameters() > SUMMARY_PARAMETERS else
                f"Not summarised, this lecture would run over {SUMMARY_FRAMES} frames")
        derived = ("one kernel weight derived in full, the other kernels' entries as tables"
                   if self.compact else "one kernel weight derived in full per kind of kernel (size, stride, padding)")
        corner = ("; of a map wider than half a frame its first columns, of one taller than "
                  f"{COMPACT_ROWS} rows its first rows" if self.compact else "; of a grid wider than a frame its first columns")
        body = (f"{size}, so it is a summary: of each map its first channel, of each kernel its slice [1,1,·,·], "
                f"the first sample{corner}; {derived}; the other entries as tables of their gradient and "
                "update (their first slice); the middle terms of a long sum as a row of dots. Every frame's numbers "
                "are the whole network's.")
        how = "Everything, every position derived: stepgrad explain SPEC --format slides --all. One sample: --sample N."
        return _frame("What this summary left out", f"{_escape(body)}\\par\\medskip\n{_escape(how)}")

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
            out.append(f"\\node[below] at ({x + side / 2:.2f},-0.05) {{{_escape(name)}}};")
            size = r" $\times$ ".join(map(str, shape))
            out.append(f"\\node[below] at ({x + side / 2:.2f},-0.4) {{{size}}};")
            left[label], right[label] = x, x + side + 0.12 * (channels - 1)
            if layer is not None:
                previous = maps[[m[0] for m in maps].index(label) - 1][0]  # the block's last layer, for a sum
                if kind == "residual":
                    source = layer["input"] or "x"
                    out.append(f"\\draw[->, thick, red!60!black] ({(left[source] + right[source]) / 2:.2f},1.9) "
                               f"to[out=40, in=140] node[above] {{skip path: $+$ {_escape(name)}}} "
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
            maps = [g for g in grids if g.title.startswith(names.map_label("out", source))]
            bold = {g.title: self._routed(source, label, g) for g in maps}
            rule = ("a max-pool sends each window's gradient to the one cell that won it (in bold; the others get 0)"
                    if layer["kind"] == "maxpool" else
                    "an average pool sends each cell 1/(window size) of each window's gradient (every cell is bold)")
            items: list[Part] = [paragraph(f"{layer['description']}: {rule}.")]
            n = 1 if self.summary else 2  # a summary: channel 1 (its note says the others are alike)
            grids = maps[:n] + self._grids_of(signal)[:n] + self._grids_of(routed)[:n]
            if self.compact:  # their first rows and columns, as the compact summary's other grids
                grids = [g for g in summarised(list(grids), compact=True) if isinstance(g, Grid)]
            items += grid_rows(grids, bold)
            frames += _frames(f"The pooling route: {label}", items, *self.body())
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
            items: list[Part] = [paragraph(text)]
            items += _equation_items(Equations((equation(step, self.trace, self.digits, "text"),), (line,),
                                               (step.note,)), short=self.summary)
            frames += _frames(f"The skip path: {layer['label']}", items, *self.body())
        return frames

    def _without_first_kernel(self, parts: list[Block], layer: Any) -> list[Block]:
        """The section's blocks less the first kernel entry's derivation (its own frames show it)."""
        entry = names.with_position(layer["parameter_names"]["kernel"], (1,) * len(layer["parameters"]["kernel"]))
        return self._without_entry(parts, entry)

    @staticmethod
    def _without_entry(parts: list[Block], entry: str) -> list[Block]:
        """The section's blocks less one parameter entry's derivation."""
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

    def _biases_in_table(self, parts: list[Block], layer: Any) -> list[Block]:
        """A summary's section: the first bias's derivation left out, its row added to the table of the others."""
        if layer is None or "bias" not in layer["parameters"]:
            return parts
        base = layer["parameter_names"]["bias"]
        entry = names.with_position(base, (1,) * len(layer["parameters"]["bias"]))
        if not self.has(names.gradient(entry)):
            return parts
        row = (entry, number(self.trace.lookup(entry), self.digits),
               number(self.trace.lookup(names.gradient(entry)), self.digits),
               number(self.trace.lookup(names.updated(entry)), self.digits) if self.has(names.updated(entry))
               else "(not updated)")
        rows: list[tuple[str, ...]] = [row]
        out: list[Block] = []
        for part in self._without_entry(parts, entry):
            if isinstance(part, Paragraph) and part.text.startswith(f"The other entries of {base} ("):
                continue
            if isinstance(part, Table) and part.rows and part.rows[0][0].startswith(base + "["):
                rows += part.rows
                continue
            out.append(part)
        return out + [Paragraph(f"The biases {base} (--all derives each one):"),
                      Table(ENTRIES, tuple(rows))]

    def derived_like(self, layer: Any, derived: dict[str, str]) -> str | None:
        """The kernel already derived in full with the same kind, kernel size, stride and padding as `layer`'s
        (a compact summary: any kernel; None: this one is derived, and noted in `derived`)."""
        found = re.search(r"kernel [^,]+, stride [^,]+, padding [^,]+", layer["description"])
        kind = "any" if self.compact else f"{layer['kind']}: {found.group(0) if found else layer['label']}"
        if kind in derived:
            return derived[kind]
        derived[kind] = layer["parameter_names"]["kernel"]
        return None

    def _kernel_in_table(self, parts: list[Block], layer: Any, like: str) -> list[Block]:
        """A summary's section of a kernel like one derived already: its first entry's row heads the table of
        its entries, introduced by the plan they follow."""
        base = layer["parameter_names"]["kernel"]
        entry = names.with_position(base, (1,) * len(layer["parameters"]["kernel"]))
        row = (entry, number(self.trace.lookup(entry), self.digits),
               number(self.trace.lookup(names.gradient(entry)), self.digits),
               number(self.trace.lookup(names.updated(entry)), self.digits) if self.has(names.updated(entry))
               else "(not updated)")
        out: list[Block] = []
        for part in parts:
            if isinstance(part, Paragraph) and part.text.startswith(f"The other entries of {base} ("):
                part = Paragraph(f"{base} has the kernel size, stride and padding of {like}: each entry's gradient is "
                                 f"derived as {like}[{','.join('1' * len(layer['parameters']['kernel']))}]'s above, "
                                 "the sum over positions of the error signal times the input met (--all derives "
                                 "each one):")
            elif isinstance(part, Table) and part.rows and part.rows[0][0].startswith(base + "["):
                part = Table(part.header, (row, *part.rows))
            out.append(part)
        return out

    def kernel_sections(self, layer: dict[str, Any]) -> list[tuple[str, list[Part]]]:
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
        items: list[Part] = [paragraph(plan)]
        signals = [g for g in self._grids_of(signal) if "channel " not in g.title
                   or g.title.rsplit("channel ", 1)[1].split()[0] == "1"]  # the weight's out channel: 1
        met_channel = [g for g in inputs if any(bold[g.title])]  # the input channel the weight meets
        shown = (met_channel or inputs)[:1] + ([] if self.compact else signals[:1])  # compact: the signal's grid is above
        if self.compact:
            shown = [g for g in summarised(list(shown), compact=True) if isinstance(g, Grid)]
        items += grid_rows(shown, bold)
        planned = (f"One kernel weight: {entry}, the plan", items)
        rows = tuple((self._position(st.name), number(self.trace.lookup(self._signal_of(st.name)), self.digits),
                      f"{st.text.strip('«»')} = {number(st.value, self.digits)}") for st in factors)
        table = Table(("position", f"{names.partial(names.TOTAL, 'net')} there", "factor: the input met"), rows)
        total = (rf"{symbol(gradient, 'latex')} = \sum_{{\text{{positions}}}} "
                 rf"\frac{{\partial E_{{\mathrm{{total}}}}}}{{\partial \mathrm{{net}}}} \cdot "
                 rf"\frac{{\partial \mathrm{{net}}}}{{\partial {symbol(entry, 'latex')}}} = "
                 f"{substituted(step, self.trace, self.digits, 'latex')} = {number(step.value, self.digits, 'latex')}")
        items = [_Rows(table, 2 if len(rows) > 8 and _halves_fit(table) else 1), *_equation_items(Equations(("",), (total,), ("",)))]
        update = names.updated(entry)
        if self.has(update):
            items += _equation_items(Equations(("",), (equation(self.trace.step(update), self.trace, self.digits,
                                                                 "latex"),), ("",)))
        return [planned, (f"One kernel weight: {entry}, the sum over positions", items)]

    @staticmethod
    def _position(factor: str) -> str:
        """The position of a factor dnet_c1[1,2,3][s]/dk1[...]: "1,2,3" (", sample s" with samples)."""
        name = names.parse(factor)
        assert name.top is not None and name.top.position is not None
        return ",".join(map(str, name.top.position)) + (f", sample {name.sample}" if name.sample else "")

    def _signal_of(self, factor: str) -> str:
        """The error signal at a factor's position: dnet_c1[..][s]/dk1[..] -> dE_total[s]/dnet_c1[..][s]."""
        name = names.parse(factor)
        return names.partial(names.TOTAL, str(name.top), name.sample)

    def _cell_name(self, grid: Grid, r: int, c: int, source: str | None) -> str:
        channel = int(grid.title.rsplit("channel ", 1)[1].split()[0]) if "channel " in grid.title else 1
        position = (channel, r + 1, c + 1) if grid.row_labels[0] else (channel, c + 1)
        if source is None:
            return names.map_value("input", names.INPUT_MAP, position, self.tag())
        return names.map_value("out", source, position, self.tag())

    def sections(self) -> list[tuple[str, list[Block]]]:
        """The explanation's sections as (heading, blocks); the conventions and the network's values one
        section (the layers are listed under the picture, the learning rate among the conventions)."""
        described = {layer["description"] for layer in self.meta["layers"]}
        sections: list[tuple[str, list[Block]]] = []
        for part in self.parts:
            if isinstance(part, Heading):
                if not (part.text == "The network" and sections and sections[-1][0].startswith("The network")):
                    sections.append((part.text, []))
            elif sections and not (isinstance(part, Paragraph) and (part.text in described
                                                                    or part.text.startswith("eta = "))):
                sections[-1][1].append(part)
        return sections

    def build(self) -> str:
        title = "One training step of a convolutional network"
        out = [PREAMBLE, r"\usepackage{graphicx}", DISPLAY_SKIPS, f"\\title{{{title}}}", r"\subtitle{derived number by number}",
               r"\author{stepgrad}", r"\date{}", r"\begin{document}", r"\begin{frame}\titlepage\end{frame}"]
        out.append(_frame("The network as maps", "\\begin{center}\n" + self.picture() + "\n\\end{center}\n{\\footnotesize " + "\\\\\n".join(
            _escape(layer["description"]) for layer in self.meta["layers"]) + "}"))
        said: set[str] = set()
        derived: dict[str, str] = {}
        extra_done = False
        packed = _Sections(*self.body())
        for heading, parts in self.sections():
            if heading.startswith("Backward pass") and not extra_done:
                packed.frames = packed.flush() + self.route_frames() + self.skip_frames()
                extra_done = True
            layer = next((m for m in self.meta["layers"] if heading.startswith("Backward pass: ")
                          and heading.split(": ", 1)[1].split(" ")[0] == m["label"]), None)
            kernel = layer is not None and "kernel" in layer["parameters"] and not self.full
            kept: list[Block] = self._without_first_kernel(parts, layer) if kernel else parts
            like = self.derived_like(layer, derived) if kernel and self.summary else None
            if like is not None:  # a summary derives one kernel weight per kind of kernel in full
                kept, kernel = self._kernel_in_table(kept, layer, like), False
            if self.summary and heading == "The update":  # the new values are in the tables' last column
                plain = [p for p in kept if not isinstance(p, Grid)]
                kept = [*plain[:1], Paragraph(NEW_VALUES), *plain[1:]]
            if self.summary:
                kept = biases_with_entries(summarised(unsaid(self._biases_in_table(kept, layer), said), self.compact))
            packed.add(heading, _items(kept, short=self.summary), merge=self.summary)
            if kernel and layer is not None:
                packed.flush()
                for title, items in self.kernel_sections(layer):  # a summary: the sum may start on the plan's frame
                    packed.add(title, items, merge=self.summary)
                packed.flush()
        out += packed.flush()
        if self.summary:
            out.append(self.left_out_frame())
        out.append(r"\end{document}")
        return "\n".join(out) + "\n"


def render_slides(trace: Trace, digits: Precision = 9, full: bool = False, matrix: bool = False,
                  derive: bool = False, **_: object) -> str:
    """A layer-table trace as a Beamer lecture (pdflatex twice)."""
    lecture = _Lecture(trace, digits, full, matrix, derive)
    source = lecture.build()
    if not full and not lecture.summary and source.count(r"\begin{frame}") > SUMMARY_FRAMES:
        lecture.summary = True  # few parameters but big maps or several samples: summarised all the same
        source = lecture.build()
    if lecture.summary and source.count(r"\begin{frame}") > SUMMARY_FRAMES:
        lecture.compact = True
        source = lecture.build()
    return source

