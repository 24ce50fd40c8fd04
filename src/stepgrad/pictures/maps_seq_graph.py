"""Map-level Graphviz pictures of sequence and normalization networks (rnn, attention, layernorm, batchnorm).

Built on pictures/maps_graph.py's picture of conv networks. An rnn is drawn unrolled over its time
steps: the initial state, one box per step (net_h and h of that step), the recurrent edge from step
t-1 to step t, and Wx, Wh and b as grids shared by every step. An attention head is drawn as its
boxes Q, K, V, the scores, the weights a (a heat grid with their values: rows the queries, columns
the keys, a masked key marked) and the output. A layernorm or batchnorm is drawn as its three
boxes: the statistics mu and var, xhat and out, so that its three backward paths (through xhat, var
and mu) are the edges. `stepgrad graph` adds each quantity's value and its error signal dE_total/d...
from the trace; a sequence map is a grid with a row per time step (or position) and a column per
feature. Only the trace's numbers are drawn (the spec's parameters for a diagram without samples);
a map too big to draw is drawn by its shape and the picture says what was left out.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from html import escape

from stepgrad.core import names
from stepgrad.core.digits import Precision, number
from stepgrad.core.layers.attention import Attention
from stepgrad.core.layers.base import Layer
from stepgrad.core.layers.conv import Conv
from stepgrad.core.layers.dense import Dense
from stepgrad.core.layers.flatten import Flatten
from stepgrad.core.layers.norm import BatchNorm, Norm
from stepgrad.core.layers.pool import Pool
from stepgrad.core.layers.rnn import Rnn, Sequence
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.layers.values import truncation
from stepgrad.core.trace import Trace
from stepgrad.pictures.maps_graph import FILL, MAX_CELLS, Lookup, _cells, _grid, _lookup, _Picture, _shape

MAX_STEPS = 6  # an rnn's time steps drawn as boxes; more: the first MAX_STEPS - 1 and the last, the rest said
MASKED = "–"  # a key after the query under a causal mask: no score, a[i,j] = 0
RECURRENT = "#aa3355"
Edge = tuple[str, str]  # (node, edge label) that feeds the next layer
NameAt = Callable[[tuple[int, ...]], str | None]  # 1-based position -> name (None: masked)


def drawable(net: object) -> bool:
    """Whether these pictures draw the network: a layer-table network with an rnn, attention, layernorm or
    batchnorm layer (or a sequence input), its other layers dense, conv, pool or flatten (no residual block)."""
    if not isinstance(net, LayerNetwork):
        return False
    layers = list(net.all_layers())
    sequence = isinstance(net.input_shape, Sequence) or any(isinstance(x, (Rnn, Attention, Norm)) for x in layers)
    return sequence and all(isinstance(x, (Rnn, Attention, Norm, Dense, Conv, Pool, Flatten)) for x in layers)


def _norm_name(which: str, label: str, position: tuple[int, ...], after: bool = False) -> str:
    return names.norm_value(which, label, position, after=after)


def _step_name(kind: str, label: str, step: int, position: tuple[int, ...]) -> str:
    return names.recurrent_value(kind, label, step, position[0])


def _heat(value: float) -> str:
    """A cell colour from white (0) to deep blue (1) for an attention weight."""
    t = min(max(value, 0.0), 1.0) if math.isfinite(value) else 0.0
    r, g, b = (round(255 + (c - 255) * t) for c in (40, 90, 190))
    return f"#{r:02x}{g:02x}{b:02x}"


class _SeqPicture(_Picture):
    def __init__(self, net: LayerNetwork, lookup: Lookup, digits: Precision, step: bool, show: str,
                 sample: int | None, samples: int, mixing: bool, max_cells: int = MAX_CELLS) -> None:
        super().__init__(net, lookup, digits, step, show, sample, samples, max_cells)
        self.mixing = mixing

    # -- names and grids ---------------------------------------------------------------------------

    def cut(self, quantity: str) -> int | None:
        """Truncated BPTT's k when what reaches `quantity` is its sum (bptt<k>_...), not a derivative; else None."""
        window, inexact = truncation(self.net)
        label = names.label_of(quantity)
        return window if window is not None and (label is None or label in inexact) else None

    def parameter_grids(self, layer: Layer, role: str, shape: tuple[int, ...], base: str, show: str) -> list[str]:
        """A parameter's grids (maps_graph's); its truncated-BPTT sums, not gradients, at or below a truncated rnn."""
        window = self.cut(layer.parameter_name(role, (1,) * len(shape)))
        if show != "gradients" or window is None or len(shape) > 2:
            return super().parameter_grids(layer, role, shape, base, show)

        def name_at(position: tuple[int, ...]) -> str:
            return names.truncated(layer.parameter_name(role, position), window)

        title = f"bptt{window} sums for {base}"
        grid = _grid(title, tuple(shape) if len(shape) == 1 else (1, *shape),
                     (lambda p: name_at(p[1:])) if len(shape) == 2 else name_at, self.lookup, self.digits)
        return [grid] if grid else [self.text(f"({title}: not in this step)")]

    def signal(self, quantity: str) -> str:
        if self.cut(quantity):
            return names.truncated(quantity, self.cut(quantity), self.sample)  # type: ignore[arg-type]
        if self.mixing:  # batchnorm in training mode mixes the samples: the batch error's derivative
            return names.batch_partial(names.TOTAL, quantity, self.sample or 1)
        return names.partial(names.TOTAL, quantity, self.sample)

    def table(self, title: str, shape: tuple[int, ...], name_at: NameAt, heat: bool = False,
              row_tag: str = "t", column_tag: str = "") -> list[str]:
        """A grid of named values (a vector: one row; 2-d: a row per time step or position, headed), or
        a line saying the trace has no such values."""
        rows_n, cols_n = (1, shape[0]) if len(shape) == 1 else (shape[0], shape[1])
        small = '<TD BORDER="0"><FONT POINT-SIZE="8">{}</FONT></TD>'
        cells = []
        if len(shape) == 2 and column_tag:
            cells.append('<TR><TD BORDER="0"> </TD>' + "".join(small.format(f"{column_tag}{c}")
                                                          for c in range(1, cols_n + 1)) + "</TR>")
        for r in range(1, rows_n + 1):
            tds = [small.format(f"{row_tag}{r}")] if len(shape) == 2 else []
            for c in range(1, cols_n + 1):
                name = name_at((c,) if len(shape) == 1 else (r, c))
                if name is None:
                    tds.append(f"<TD>{MASKED}</TD>")
                    continue
                value = self.lookup(name)
                if value is None:
                    return [self.text(f"({title}: not in this step)")]
                shown = escape(number(value, self.digits))
                tds.append(f'<TD BGCOLOR="{_heat(value)}"><FONT COLOR="{"white" if value > 0.55 else "black"}">'
                           f"{shown}</FONT></TD>" if heat else f"<TD>{shown}</TD>")
            cells.append("<TR>" + "".join(tds) + "</TR>")
        grid = f'<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="2">{"".join(cells)}</TABLE>'
        return [f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="9">{escape(title)}</FONT></TD></TR>',
                f"<TR><TD>{grid}</TD></TR>"]

    def quantity(self, title: str, shape: tuple[int, ...], name_at: NameAt, heat: bool = False,
                 row_tag: str = "t", column_tag: str = "", per_sample: bool = True, left_out: str = "",
                 signals: bool = True) -> list[str]:
        """A quantity's values (per sample: the drawn sample's) and, drawing the step and `signals`, its error
        signal dE_total/d(quantity)."""
        if _cells(shape) > self.max_cells:
            self.left_out.append(f"{left_out or title}: {_cells(shape)} values")
            return [self.text(f"({title}: {_cells(shape)} values left out, more than {self.max_cells}: "
                              "stepgrad explain shows them)")]

        def value(p: tuple[int, ...]) -> str | None:
            name = name_at(p)
            return None if name is None else names.at(name, self.sample) if per_sample else name

        def signal(p: tuple[int, ...]) -> str | None:
            name = name_at(p)
            if name is None or per_sample:
                return None if name is None else self.signal(name)
            return names.truncated(name, self.cut(name)) if self.cut(name) else names.gradient(name)  # type: ignore[arg-type]

        rows = self.table(title, shape, value, heat, row_tag, column_tag)
        if self.step and signals:
            first = name_at((1,) * len(shape))
            window = self.cut(first) if first else None
            heading = f"bptt{window} sums at {title}" if window else names.partial(names.TOTAL, title)
            rows += self.table(heading, shape, signal, False, row_tag, column_tag)
        return rows

    def map_rows(self, label: str | None, shape: tuple[int, ...], kinds: list[str]) -> list[str]:
        if not isinstance(shape, Sequence) and not (label is None and isinstance(self.net.input_shape, Sequence)):
            return super().map_rows(label, shape, kinds)
        base = names.INPUT_MAP if label is None else label
        rows: list[str] = []
        for kind in kinds:
            if kind.startswith("d"):
                continue  # quantity() draws the signal after its value
            inner = kind if label is not None else "input"
            title = names.map_label(inner, base) if label is not None else names.INPUT_MAP

            def name_at(p: tuple[int, ...], inner: str = inner) -> str:
                return names.map_value(inner, base, p)

            rows += self.quantity(title, tuple(shape), name_at, signals=label is not None and "d" + kind in kinds)
        return rows

    # -- the chain -----------------------------------------------------------------------------------

    def join(self, sources: list[Edge], ident: str) -> str:
        """One node the next layer's edges leave from: the source itself, or a point every step's edge enters."""
        if len(sources) == 1:
            return sources[0][0]
        point = f"{ident}_in"
        self.lines.append(f'  "{point}" [shape=point, width=0.06];')
        for node, label in sources:
            self.lines.append(f'  "{node}" -> "{point}" [label=" {label}"];')
        return point

    def chain(self, layers: list[Layer], source: str) -> str:
        self.lines.append("  compound=true;")
        sources: list[Edge] = [(source, "")]
        for layer in layers:
            if isinstance(layer, Rnn):
                sources = self.rnn(layer, sources)
            elif isinstance(layer, Attention):
                sources = self.attention(layer, self.join(sources, layer.label))
            elif isinstance(layer, Norm):
                sources = self.norm(layer, self.join(sources, layer.label))
            else:
                entry = self.join(sources, layer.label)
                ident = self.layer(layer, entry)
                self.lines.append(f'  "{entry}" -> "{ident}";')
                sources = [(ident, "")]
        return self.join(sources, "E")

    def cluster(self, layer: Layer, note: str) -> None:
        text = f"{layer.describe()}{note}".replace('"', "'")
        self.lines.append(f'  subgraph "cluster_{layer.label}" {{ label="{text}"; style="rounded,dashed"; '
                          'color="#8899aa"; fontsize=10;')

    # -- rnn -------------------------------------------------------------------------------------------

    def rnn(self, layer: Rnn, sources: list[Edge]) -> list[Edge]:
        steps, hidden = layer.in_shape[0], layer.hidden
        shown = list(range(1, steps + 1)) if steps <= MAX_STEPS else [*range(1, MAX_STEPS), steps]
        label, act = layer.label, layer.recurrent_activation
        stems = {role: layer.parameter_name(role, (1,) * layer.params[role].ndim).split("[")[0] for role in layer.params}
        self.cluster(layer, ": unrolled over its time steps, the same weights at every step")
        start = [self.text(f"{label}_t0 · initial state", bold=True),
                 self.text(f"{hidden} units, " + ("zeros" if layer.h0 is None else "given in the spec"))]
        if self.step:  # h0 is given, not learned: its value only
            start += self.quantity(f"{label}_t0", (hidden,), lambda p: names.recurrent_value("h", label, 0, p[0]),
                                   signals=False)
        self.node(f"{label}_t0", start, FILL["input"])
        previous = f"{label}_t0"
        row = [previous]  # the boxes of the unrolled steps, left to right
        for t in shown:
            if t == steps and steps > MAX_STEPS:
                gap = f"{label}_gap"
                self.node(gap, [self.text(f"steps {MAX_STEPS} to {steps - 1}"),
                                self.text("left out (stepgrad explain shows them)")], FILL["sum"])
                self.lines.append(f'  "{previous}" -> "{gap}" [color="{RECURRENT}", penwidth=1.4, weight=10];')
                self.left_out.append(f"{label}: time steps {MAX_STEPS} to {steps - 1}")
                previous = gap
                row.append(gap)
            ident = f"{label}_t{t}"
            bias = f" + {stems['bias']}" if "bias" in stems else ""
            net, state = names.recurrent_label("net", label, t), names.recurrent_label("h", label, t)
            before = names.recurrent_label("h", label, t - 1)
            rows = [self.text(f"{label} · step {t}", bold=True),
                    self.text(f"{net} = {stems['weight_x']} · x[{t}] + {stems['weight_h']} · {before}{bias}"),
                    self.text(f"{state} = {act}({net}): {hidden} units")]
            if self.step:
                for kind, title in (("net", net), ("h", state)):
                    rows += self.quantity(title, (hidden,), partial(_step_name, kind, label, t),
                                          left_out=f"{label} step {t}")
            self.node(ident, rows, FILL["map"])
            self.lines.append(f'  "{previous}" -> "{ident}" [color="{RECURRENT}", penwidth=1.4, weight=10, '
                              f'xlabel="{stems["weight_h"]}", fontcolor="{RECURRENT}"];')
            previous = ident
            row.append(ident)
        self.lines.append("  {rank=same; " + " ".join(f'"{node}";' for node in row) + "}")
        for role in layer.params:
            self.parameter(layer, role, target=f"{label}_t{shown[0]}", same_rank=False,
                           edge=', constraint=false, label=" every step"')
        self.lines.append("  }")
        if len(sources) == steps:  # a sequence from an rnn below: step t feeds step t
            for t in shown:
                self.lines.append(f'  "{sources[t - 1][0]}" -> "{label}_t{t}" [label=" {sources[t - 1][1]}"];')
        else:
            entry = self.join(sources, label)
            for t in shown:
                self.lines.append(f'  "{entry}" -> "{label}_t{t}" [label=" x[{t}]"];')
        if layer.output == "last":
            return [(f"{label}_t{steps}", f"{label}_t{steps}")]
        return [(f"{label}_t{t}", f"{label}_t{t}") for t in range(1, steps + 1)] if steps <= MAX_STEPS else \
            [(f"{label}_t{t}", f"{label}_t{t}") for t in shown]

    # -- attention -----------------------------------------------------------------------------------

    def attention(self, layer: Attention, entry: str) -> list[Edge]:
        label, steps = layer.label, layer.in_shape[0]
        sizes = {role: layer.params[f"weight_{role}"].shape[0] for role in ("q", "k", "v", "o")}
        masked = layer.mask(steps)
        scale = f" · 1/sqrt({sizes['k']})" if layer.scaled else " (not scaled)"
        self.cluster(layer, "")
        boxes = {
            "q": ("Q", f"q_{label} = Wq · x + bq", (steps, sizes["q"]), False),
            "k": ("K", f"k_{label} = Wk · x + bk", (steps, sizes["k"]), False),
            "v": ("V", f"v_{label} = Wv · x + bv", (steps, sizes["v"]), False),
            "score": ("scores", f"score_{label}[i,j] = q[i] · k[j]{scale}", (steps, steps), False),
            "a": ("weights a", f"a_{label}[i,j]: softmax of row i over the keys j (each row adds to 1)",
                  (steps, steps), True),
            "z": ("z", f"z_{label}[i] = sum over j of a[i,j] · v[j]", (steps, sizes["v"]), False),
            "out": ("output", names.map_label("out", label) + " = Wo · z + bo" + ("" if layer.output == "sequence" else
                                                                   "; the last position's passes on"),
                    (steps, sizes["o"]), False),
        }
        for which, (title, formula, shape, heat) in boxes.items():
            rows = [self.text(f"{title} · {which}_{label}: {_shape(shape)}", bold=True), self.text(formula)]
            if self.step:
                square = which in ("score", "a")

                def name_at(p: tuple[int, ...], which: str = which, square: bool = square) -> str | None:
                    if square and masked[p[0] - 1, p[1] - 1]:
                        return None
                    return names.attention_value(which, label, p)

                rows += self.quantity(f"{which}_{label}", shape, name_at, heat=heat,
                                      row_tag="j" if which in ("k", "v") else "i",
                                      column_tag="j" if square else "")
            self.node(f"{label}_{which}", rows, FILL["sum"] if which == "a" else FILL["map"])
        for a, b, text in (("q", "score", ""), ("k", "score", ""), ("score", "a", " softmax"), ("a", "z", ""),
                           ("v", "z", ""), ("z", "out", "")):
            self.lines.append(f'  "{label}_{a}" -> "{label}_{b}" [label="{text}"];')
        for role in layer.params:
            self.parameter(layer, role, target=f"{label}_{role.split('_')[1].replace('o', 'out')}")
        self.lines.append("  }")
        self.lines.append(f'  {{rank=same; "{label}_q"; "{label}_k"; "{label}_v"}}')
        for which in ("q", "k", "v"):
            self.lines.append(f'  "{entry}" -> "{label}_{which}";')
        return [(f"{label}_out", "")]

    # -- layernorm, batchnorm ------------------------------------------------------------------------

    def norm(self, layer: Norm, entry: str) -> list[Edge]:
        label, shape = layer.label, layer.in_shape
        batch = isinstance(layer, BatchNorm)
        training = not isinstance(layer, BatchNorm) or layer.mode == "training"
        groups = (shape[0],) if batch or len(shape) == 2 else (1,)  # a group's statistics per feature, step or sample
        self.cluster(layer, "")
        if training:
            over = "over the batch, per feature" if batch else "over each sample's features" + (
                ", per time step" if isinstance(shape, Sequence) else "")
            rows = [self.text(f"statistics · mu_{label}, var_{label}: {_shape(groups)}", bold=True),
                    self.text(f"mu and var ({layer.variance} variance) {over}")]
            if self.step:
                for which in ("mu", "var"):
                    rows += self.quantity(f"{which}_{label}", groups, partial(_norm_name, which, label),
                                          per_sample=not batch)
                if isinstance(layer, BatchNorm):
                    rows += self.running(layer, after=True)
        else:
            rows = [self.text(f"running statistics · {_shape(groups)}", bold=True),
                    self.text("evaluation mode: the running mean and variance, constants (xhat's path only)")]
            if self.step and isinstance(layer, BatchNorm):
                rows += self.running(layer, after=False)
        self.node(f"{label}_stats", rows, FILL["param" if not training else "map"])
        root = "sqrt(var + eps)" if training else "sqrt(running_var + eps)"
        mean = "mu" if training else "running_mean"
        rows = [self.text(f"xhat_{label}: {_shape(shape)}", bold=True),
                self.text(f"xhat_{label} = (x - {mean}) / {root}, eps {layer.eps:g}")]
        if self.step:
            rows += self.quantity(f"xhat_{label}", shape, lambda p: names.norm_value("xhat", label, p),
                                  row_tag="t" if isinstance(shape, Sequence) else "c")
        self.node(f"{label}_xhat", rows, FILL["map"])
        affine = f"gamma_{label} · xhat_{label} + beta_{label}" if "gamma" in layer.params else f"xhat_{label}"
        rows = [self.text(f"{label} · {layer.kind}", bold=True), self.text(f"{names.map_label('out', label)} = {affine}: {_shape(shape)}")]
        if self.step:
            rows += self.map_rows(label, shape, ["out", "dout"])
        self.node(label, rows, FILL["map"])
        self.lines.append(f'  "{label}_stats" -> "{label}_xhat" [label=" {mean}, {"var" if training else "running_var"}"];')
        self.lines.append(f'  "{label}_xhat" -> "{label}";')
        for role in layer.params:
            self.parameter(layer, role)
        self.lines.append("  }")
        if training:
            self.lines.append(f'  "{entry}" -> "{label}_stats" [label=" mu, var"];')
        self.lines.append(f'  "{entry}" -> "{label}_xhat" [label=" x"];')
        return [(label, "")]

    def running(self, layer: BatchNorm, after: bool) -> list[str]:
        rows: list[str] = []
        for which in ("running_mean", "running_var"):
            title = names.updated(f"{which}_{layer.label}") if after else f"{which}_{layer.label}"
            rows += self.table(title, (layer.in_shape[0],), partial(_norm_name, which, layer.label, after=after))
        return rows

    def notes(self) -> str:
        text = super().notes()
        if self.step and self.mixing:
            extra = ("batchnorm in training mode mixes the samples: mu and var are the batch's, and each "
                     "dE_total/d... is the batch error's derivative by the drawn sample's value.")
            text = f"{text}\\n{extra}" if text else extra
        return text


def network_dot(net: LayerNetwork, trace: Trace | None, *, show: str = "weights", digits: Precision = 4,
                max_cells: int = MAX_CELLS) -> str:
    """The architecture of a sequence network: the rnn unrolled, the attention head's and the normalization's
    boxes, the parameters as grids of `show` ("weights", "gradients" or "updated")."""
    return _SeqPicture(net, _lookup(trace, net), digits, step=False, show=show, sample=None, samples=1,
                       mixing=False, max_cells=max_cells).build()


def step_dot(net: LayerNetwork, trace: Trace, *, digits: Precision = 4, sample: int | None = None) -> str:
    """One training step of a sequence network drawn by maps: every quantity's value and error signal."""
    samples = int(trace.meta.get("samples", 1))
    tag = None if samples == 1 else (sample or 1)
    return _SeqPicture(net, _lookup(trace, net), digits, step=True, show="weights", sample=tag, samples=samples,
                       mixing=bool(trace.meta.get("mixing"))).build()
