"""A map-level picture of a layer-table network (convolution, pooling, residual blocks) as Graphviz DOT.

Each layer is a box (its label, kind, settings and the shape of its map), each kernel and bias a box
beside the layer it feeds, a residual block a cluster with its skip path drawn dashed into the sum.
`stepgrad diagram` draws the architecture with the kernels' values (or their gradients, or their
values after the update); `stepgrad graph` draws the step: each map's values and its error signal
(dE_total/dnet, or dE_total/dout for a pool or flatten) as grids, the parameters with their gradients.
A map or kernel of more than MAX_CELLS values is drawn by its shape only, and the box says what was
left out and where to find it. Every number is the trace's (or, for a diagram of a spec without
samples, the spec's own parameters); this module only lays them out.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from itertools import product

from stepgrad.core import names
from stepgrad.core.digits import Precision, number
from stepgrad.core.layers.base import Layer
from stepgrad.core.layers.residual import Residual
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.trace import Trace

MAX_CELLS = 64  # values of one map (all its channels) or one parameter drawn as grids; more: shape only
FILL = {"map": "#f4f6fb", "param": "#fde9c8", "input": "#e4f1e1", "error": "#f8dede", "sum": "#ffffff"}
Lookup = Callable[[str], float | None]


def _shape(shape: tuple[int, ...] | list[int]) -> str:
    return " × ".join(map(str, shape))


def _grid(title: str, shape: tuple[int, ...], name_at: Callable[[tuple[int, ...]], str], lookup: Lookup,
          digits: Precision) -> str:
    """Rows of an HTML-like label: a title row, then one small table per channel (a vector: one row)."""
    planes = [()] if len(shape) == 1 else [(c,) for c in range(1, shape[0] + 1)]
    rows_cols = (1, shape[0]) if len(shape) == 1 else (1, shape[1]) if len(shape) == 2 else (shape[1], shape[2])
    tables = []
    for plane in planes:
        cells = []
        for r in range(1, rows_cols[0] + 1):
            tds = []
            for c in range(1, rows_cols[1] + 1):
                position = (c,) if not plane else (*plane, c) if len(shape) == 2 else (*plane, r, c)
                value = lookup(name_at(position))
                if value is None:
                    return ""
                tds.append(f'<TD>{escape(number(value, digits))}</TD>')
            cells.append("<TR>" + "".join(tds) + "</TR>")
        caption = f'<TR><TD COLSPAN="{rows_cols[1]}" BORDER="0"><FONT POINT-SIZE="9">channel {plane[0]}</FONT></TD></TR>' \
            if plane and shape[0] > 1 else ""
        tables.append(f'<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="2">{caption}{"".join(cells)}</TABLE>')
    body = "".join(f"<TD>{t}</TD>" for t in tables)
    return (f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="9">{escape(title)}</FONT></TD></TR>'
            f'<TR><TD><TABLE BORDER="0" CELLSPACING="4"><TR>{body}</TR></TABLE></TD></TR>')


def _cells(shape: tuple[int, ...] | list[int]) -> int:
    total = 1
    for n in shape:
        total *= n
    return total


class _Picture:
    def __init__(self, net: LayerNetwork, lookup: Lookup, digits: Precision, step: bool, show: str,
                 sample: int | None, samples: int, max_cells: int = MAX_CELLS) -> None:
        self.net, self.lookup, self.digits, self.step, self.show = net, lookup, digits, step, show
        self.max_cells = max_cells
        self.sample, self.samples = sample, samples
        self.lines: list[str] = []
        self.left_out: list[str] = []

    def node(self, ident: str, rows: list[str], fill: str, shape: str = "box") -> None:
        table = f'<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="1">{"".join(rows)}</TABLE>'
        style = "rounded,filled" if shape == "box" else "filled"
        self.lines.append(f'  "{ident}" [shape={shape}, style="{style}", fillcolor="{fill}", label=<{table}>];')

    def text(self, line: str, bold: bool = False) -> str:
        inner = f"<B>{escape(line)}</B>" if bold else escape(line)
        return f'<TR><TD ALIGN="LEFT">{inner}</TD></TR>'

    def map_rows(self, label: str | None, shape: tuple[int, ...], kinds: list[str]) -> list[str]:
        """Grids of a map's values (and, drawing the step, its error signal), or what was left out."""
        base = names.INPUT_MAP if label is None else label
        if _cells(shape) > MAX_CELLS:
            what = "values and error signals" if self.step and label is not None else "values"
            self.left_out.append(f"{base}: {_cells(shape)} {what}")
            return [self.text(f"({_cells(shape)} values left out, more than {MAX_CELLS}: stepgrad explain shows them)")]
        rows = []
        for kind in kinds:
            signal = kind.startswith("d")  # an error signal dE_total/dnet or dE_total/dout
            inner = kind[1:] if signal else kind if label is not None else "input"

            def name_at(p: tuple[int, ...], inner: str = inner, signal: bool = signal) -> str:
                value = names.map_value(inner, base, p, None if signal else self.sample)
                return self.signal(value) if signal else value

            title = names.map_label(inner, base) if label is not None else "x"
            rows.append(_grid(names.partial(names.TOTAL, title) if signal else title, shape, name_at, self.lookup,
                              self.digits))
        return [r for r in rows if r]

    def signal(self, quantity: str) -> str:
        """The name of dE_total/d(quantity) of the drawn sample (quantity without its sample tag)."""
        return names.partial(names.TOTAL, quantity, self.sample)

    def layer(self, layer: Layer, source: str) -> str:
        ident = layer.label
        rows = [self.text(f"{layer.label} · {layer.kind}", bold=True), self.text(layer.describe().split(": ", 1)[-1]),
                self.text(f"{names.map_label('out', layer.label)}: {_shape(layer.out_shape)}")]
        if self.step:
            kinds = ["net", "out", "dnet"] if layer.has_activation else ["out", "dout"]
            rows += self.map_rows(layer.label, layer.out_shape, kinds)
        fill = FILL["sum"] if isinstance(layer, Residual) else FILL["map"]
        self.node(ident, rows, fill)
        for role in layer.params:
            self.parameter(layer, role)
        return ident

    def parameter(self, layer: Layer, role: str, target: str | None = None, same_rank: bool = True,
                  edge: str = "") -> None:
        """A parameter's box beside `target` (default: the layer's box), its grids or what was left out;
        `edge`: more attributes of the dotted edge into `target`."""
        target = target or layer.label
        shape = layer.params[role].shape
        base = layer.parameter_name(role, (1,) * len(shape)).split("[")[0]
        entries = _cells(shape)
        ident = f"{layer.label}_{role}"
        rows = [self.text(f"{base}: {_shape(shape)}" + (" (out, in, rows, columns)" if len(shape) == 4 else ""), bold=True)]
        if entries > self.max_cells:
            self.left_out.append(f"{base}: {entries} entries")
            rows.append(self.text(f"({entries} entries left out; stepgrad explain shows them)"))
        else:
            for show in ["weights", "gradients"] if self.step else [self.show]:
                rows += self.parameter_grids(layer, role, shape, base, show)
        self.node(ident, rows, FILL["param"])
        self.lines.append(f'  "{ident}" -> "{target}" [style=dotted, arrowhead=empty{edge}];')
        if same_rank:
            self.lines.append(f'  {{rank=same; "{ident}"; "{target}"}}')

    def parameter_grids(self, layer: Layer, role: str, shape: tuple[int, ...], base: str, show: str) -> list[str]:
        def name_at(position: tuple[int, ...]) -> str:
            name = layer.parameter_name(role, position)
            return {"weights": name, "gradients": names.gradient(name), "updated": names.updated(name)}[show]

        title = {"weights": base, "gradients": names.gradient(base), "updated": names.updated(base)}[show]
        if len(shape) <= 2:  # biases (a row), dense weights (a unit per row)
            grid = _grid(title, tuple(shape) if len(shape) == 1 else (1, *shape),
                         (lambda p: name_at(p[1:])) if len(shape) == 2 else name_at, self.lookup, self.digits)
            return [grid] if grid else [self.text(f"({title}: not in this step)")]
        rows = []  # one row of kernel slices per out channel, a column per in channel
        for o in range(1, shape[0] + 1):
            cells = []
            for i in range(1, shape[1] + 1):
                def entry(p: tuple[int, ...], o: int = o, i: int = i) -> str:
                    return name_at((o, i, *p[1:]))

                grid = _grid(f"[{o},{i},·,·]" if len(shape) == 4 else f"[{o},{i},·]", (1, *shape[2:]), entry,
                             self.lookup, self.digits)
                if not grid:
                    return [self.text(f"({title}: not in this step)")]
                cells.append(f'<TD VALIGN="TOP"><TABLE BORDER="0" CELLSPACING="0">{grid}</TABLE></TD>')
            rows.append("<TR>" + "".join(cells) + "</TR>")
        return [self.text(title), f'<TR><TD><TABLE BORDER="0" CELLSPACING="2">{"".join(rows)}</TABLE></TD></TR>']

    def chain(self, layers: list[Layer], source: str) -> str:
        for layer in layers:
            if isinstance(layer, Residual):
                self.lines.append(f'  subgraph "cluster_{layer.label}" {{ label="residual block {layer.label}: '
                                  f'the block\'s output is added to its input"; style="rounded,dashed"; color="#8899aa";')
                inner = self.chain(layer.inner, source)
                ident = self.layer(layer, source)
                self.lines.append("  }")
                self.lines.append(f'  "{inner}" -> "{ident}" [label=" block"];')
                self.lines.append(f'  "{source}" -> "{ident}" [style=dashed, color="#aa3355", label=" skip path (+)", '
                                  'fontcolor="#aa3355", constraint=false];')
                source = ident
                continue
            ident = self.layer(layer, source)
            self.lines.append(f'  "{source}" -> "{ident}";')
            source = ident
        return source

    def build(self) -> str:
        self.lines = ["digraph network {", '  rankdir=TB; nodesep=0.3; ranksep=0.35; fontname="Helvetica"; fontsize=10;',
                      '  node [fontname="Helvetica", fontsize=10, margin="0.08,0.04"]; edge [color="#667788", '
                      'fontname="Helvetica", fontsize=9];']
        rows = [self.text("x · input", bold=True), self.text(f"x: {_shape(self.net.input_shape)}")]
        if self.step:
            rows += self.map_rows(None, self.net.input_shape, ["out"])
        self.node("x", rows, FILL["input"])
        last = self.chain(self.net.layers, "x")
        if self.step:
            error = self.lookup(names.TOTAL)
            label = [self.text(f"{names.TOTAL} = {number(error, self.digits)}" if error is not None else names.TOTAL,
                               bold=True), self.text(f"loss: {self.net.loss.replace('_', ' ')}")]
            self.node("E", label, FILL["error"])
            self.lines.append(f'  "{last}" -> "E";')
        notes = self.notes()
        if notes:
            self.lines.append(f'  labelloc=b; label="{notes}";')
        self.lines.append("}")
        return "\n".join(self.lines) + "\n"

    def notes(self) -> str:
        parts = []
        if self.step and self.samples > 1:
            parts.append(f"The maps of sample {self.sample} of {self.samples}; the parameters' gradients are the batch's.")
        if self.left_out:
            parts.append("Drawn by shape only (too many values to draw): " + "; ".join(self.left_out) +
                         ". stepgrad explain (--all) shows every value.")
        return "\\n".join(p.replace('"', "'") for p in parts)


def _lookup(trace: Trace | None, net: LayerNetwork) -> Lookup:
    if trace is None:  # a diagram of a spec without samples: the spec's own parameters
        given = {layer.parameter_name(role, tuple(i + 1 for i in index)): float(value[index])
                 for layer in net.all_layers() for role, value in layer.params.items()
                 for index in product(*(range(n) for n in value.shape))}
        return given.get
    values = trace.values

    def find(name: str) -> float | None:
        return values.get(name)

    return find


def network_dot(net: LayerNetwork, trace: Trace | None, *, show: str = "weights", digits: Precision = 4,
                max_cells: int = MAX_CELLS) -> str:
    """The architecture: layers as boxes with their shapes, kernels and biases as grids of `show`
    ("weights", "gradients" or "updated"; the last two from the trace of one step); a parameter of more
    than `max_cells` entries by its shape only."""
    return _Picture(net, _lookup(trace, net), digits, step=False, show=show, sample=None, samples=1,
                    max_cells=max_cells).build()


def step_dot(net: LayerNetwork, trace: Trace, *, digits: Precision = 4, sample: int | None = None) -> str:
    """One training step at the level of maps: each map's values and error signal, the parameters with
    their gradients, E_total. `sample` (1-based) names the maps of that sample when the trace has several."""
    samples = int(trace.meta.get("samples", 1))
    tag = None if samples == 1 else (sample or 1)
    return _Picture(net, _lookup(trace, net), digits, step=True, show="weights", sample=tag, samples=samples).build()


def dot_svg(dot: str, fmt: str = "svg") -> bytes:
    """The DOT laid out by Graphviz (svg, pdf or png)."""
    from stepgrad.core.errors import StepgradError

    try:
        import graphviz  # type: ignore[import-untyped]
    except ImportError:
        raise StepgradError("drawing the picture needs the graphviz Python package: "
                            "pip install 'stepgrad[graph]' (or write .dot, which needs nothing)") from None
    try:
        return bytes(graphviz.Source(dot).pipe(format=fmt))
    except graphviz.ExecutableNotFound:
        raise StepgradError("Graphviz's dot program is not installed (Debian/Ubuntu: apt install graphviz; "
                            "macOS: brew install graphviz)") from None

