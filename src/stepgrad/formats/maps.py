"""The explanation of a layer-table network (convolution, pooling, residual blocks) as one format-neutral list of blocks.

Feature maps, kernels and their gradients are grids (a row of the map per row of the grid); one
position of each map is derived in full, the deck's line name = formula = numbers = value, and the
rest shown as the grid of values (`full=True`: every position derived). Each parameter's gradient
is derived as the deck derives w5: the plan (the positions it touches), each factor, their sum,
the update; the others of the same kernel as a table. Text, Markdown, HTML and LaTeX write these
blocks (formats/maps_writers.py); nothing here computes: every number is the trace's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import product
from typing import Any

from stepgrad.core import names
from stepgrad.core.trace import Step, Trace
from stepgrad.formats.formula import Precision, equation, number


@dataclass(frozen=True)
class Heading:
    """A section title."""

    text: str


@dataclass(frozen=True)
class Paragraph:
    """A line of prose."""

    text: str


@dataclass(frozen=True)
class Equations:
    """Derived lines: each the deck's name = formula = numbers = value, in text and LaTeX, with its note."""

    text: tuple[str, ...]
    latex: tuple[str, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Grid:
    """A matrix of values with a title: a channel of a map, a kernel slice, a row of units."""

    title: str
    rows: tuple[tuple[str, ...], ...]  # formatted values
    row_labels: tuple[str, ...]
    column_labels: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table of named values: a header and rows of text cells."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


Block = Heading | Paragraph | Equations | Grid | Table
ENTRIES = ("name", "value", "dE_total/d(name)", "new value")  # the header of a table of parameter entries


def _positions(shape: list[int]) -> list[tuple[int, ...]]:
    return [tuple(i + 1 for i in p) for p in product(*(range(n) for n in shape))]


_PAIR = re.compile(r"«(k\d+\[[\d,]+\])» \* «([^»]+)»")


class _Blocks:
    def __init__(self, trace: Trace, digits: Precision, full: bool, matrix: bool = False, derive: bool = False) -> None:
        self.trace, self.digits, self.full, self.matrix, self.derive_rules = trace, digits, full, matrix, derive
        self.meta: dict[str, Any] = trace.meta
        self.samples = int(self.meta["samples"])
        self.out: list[Block] = []

    def tag(self, s: int) -> int | None:
        return None if self.samples == 1 else s + 1

    def has(self, name: str) -> bool:
        try:
            self.trace.lookup(name)
        except KeyError:
            return False
        return True

    def value(self, name: str) -> str:
        return number(self.trace.lookup(name), self.digits)

    def derive(self, steps: list[Step], notes: bool = True) -> None:
        if steps:
            self.out.append(Equations(tuple(equation(s, self.trace, self.digits, "text") for s in steps),
                                      tuple(equation(s, self.trace, self.digits, "latex") for s in steps),
                                      tuple(s.note if notes else "" for s in steps)))

    def grids(self, title: str, shape: list[int], name_at, sequence: bool = False) -> None:
        """One grid per channel of a map (a vector: one row; a sequence: a row per time step) from
        name_at(position) -> name."""
        if sequence:
            table = [[name_at((t, j)) for j in range(1, shape[1] + 1)] for t in range(1, shape[0] + 1)]
            if all(self.has(n) for row in table for n in row):
                self.out.append(Grid(f"{title}: a row per time step", tuple(tuple(map(self.value, row)) for row in table),
                                     tuple(f"t={t}" for t in range(1, shape[0] + 1)),
                                     tuple(str(j) for j in range(1, shape[1] + 1))))
            return
        if len(shape) == 1:
            names_ = [name_at((j,)) for j in range(1, shape[0] + 1)]
            if all(self.has(n) for n in names_):
                self.out.append(Grid(title, (tuple(self.value(n) for n in names_),), ("",),
                                     tuple(str(j) for j in range(1, shape[0] + 1))))
            return
        for ch in range(1, shape[0] + 1):
            rows_shape = shape[1:] if len(shape) == 3 else [1, shape[1]]
            rows, labels = [], []
            for r in range(1, rows_shape[0] + 1):
                cells = []
                for c in range(1, rows_shape[1] + 1):
                    n = name_at((ch, r, c) if len(shape) == 3 else (ch, c))
                    if not self.has(n):
                        return
                    cells.append(self.value(n))
                rows.append(tuple(cells))
                labels.append(str(r) if len(shape) == 3 else "")
            self.out.append(Grid(f"{title}, channel {ch}" if shape[0] > 1 or len(shape) > 1 else title, tuple(rows),
                                 tuple(labels), tuple(str(c) for c in range(1, rows_shape[1] + 1))))

    # -- the parts --------------------------------------------------------------------------------
    def build(self) -> list[Block]:
        self.conventions()
        self.given()
        for layer in self.meta["layers"]:
            self.forward(layer)
        self.error()
        for layer in reversed(self.meta["layers"]):
            self.backward(layer)
        self.update()
        return self.out

    def conventions(self) -> None:
        m = self.meta
        self.out.append(Heading("The network and its conventions"))
        for layer in m["layers"]:
            self.out.append(Paragraph(layer["description"]))
        mode = ("true convolution: each kernel is turned by 180 degrees before it slides" if m["convolution"] == "convolution"
                else "cross-correlation (PyTorch's convolution): the kernel slides as it is, not flipped")
        if any(layer["kind"] not in ("dense", "rnn", "attention", "layernorm", "batchnorm") for layer in m["layers"]):
            self.out.append(Paragraph(f"Convolution: {mode}."))
        if m.get("step_reduction"):
            self.out.append(Paragraph(f"The output is a sequence: each sample's error is the {m['step_reduction']} "
                                      "over the time steps of the errors at each step."))
        if m.get("mixing"):
            self.out.append(Paragraph("Batchnorm in training mode mixes the samples: no error is one sample's, so every "
                                      "derivative is the batch error's (dE_total/dq[s]: by q in sample s) and the "
                                      "parameters have only the batch's gradient."))
        batch = "their mean" if m["reduction"] == "mean" else "their sum"
        self.out.append(Paragraph(f"Loss: {m['loss'].replace('_', ' ')}; samples: {self.samples} "
                                  f"(the batch's E_total and gradients are {batch}); learning rate eta = "
                                  f"{number(m['learning_rate'], self.digits)}; biases "
                                  f"{'updated' if m['update_biases'] else 'not updated'}."))
        if any(layer["kind"] not in ("dense", "rnn", "attention", "layernorm", "batchnorm") for layer in m["layers"]):
            self.out.append(Paragraph("Positions are 1-based: out_c1[channel,row,column] (a vector: out_d1[unit]); "
                                      + ("the sample comes last: out_c1[1,2,3][2]." if self.samples > 1 else
                                         "kernels k1[out_channel,in_channel,row,column].")))
        else:
            self.out.append(Paragraph("Positions are 1-based: out_d1[unit], w_d1[unit,input]"
                                      + ("; the sample comes last: out_d1[2][3] is unit 2 of sample 3." if self.samples > 1
                                         else ".")))

    def given(self) -> None:
        self.out.append(Heading("The network"))
        if self.meta.get("torch", {}).get("intro"):  # PyTorch's names of the parameters (tracing/torch_layer_names.py)
            self.out.append(Paragraph(self.meta["torch"]["intro"]))
        for s in range(self.samples):
            self.grids(f"x{self._of(s)}", self.meta["input_shape"], lambda p, s=s: names.map_value("input", "x", p, self.tag(s)),
                       sequence=bool(self.meta.get("sequence_input")))
        last = self.meta["layers"][-1]  # the output layer (a residual block's layers come before it)
        for s in range(self.samples):
            self.grids(names.map_label("target", last["label"]) + self._of(s), last["out_shape"],
                       lambda p, s=s: names.map_value("target", last["label"], p, self.tag(s)),
                       sequence=bool(last.get("sequence")))
        for layer in self.meta["layers"]:
            for role, shape in layer["parameters"].items():
                self.parameter_grids(layer, role, shape, after=False)
        self.out.append(Paragraph(f"eta = {self.value(names.LEARNING_RATE)}"))

    def _of(self, s: int) -> str:
        return f" (sample {s + 1})" if self.samples > 1 else ""

    def parameter_grids(self, layer: dict[str, Any], role: str, shape: list[int], after: bool) -> None:
        base = layer["parameter_names"][role]
        name = lambda p: names.with_position(base, p) + ("+" if after else "")  # noqa: E731
        label = base + ("+" if after else "")
        if len(shape) <= 2:  # biases, dense weights
            if len(shape) == 1:
                self.grids(label, shape, name)
            else:
                rows = tuple(tuple(self.value(name((j, i))) for i in range(1, shape[1] + 1)) for j in range(1, shape[0] + 1))
                self.out.append(Grid(f"{base}[unit,input]{'+' if after else ''}", rows, tuple(map(str, range(1, shape[0] + 1))),
                                     tuple(map(str, range(1, shape[1] + 1)))))
            return
        for o, i in product(range(1, shape[0] + 1), range(1, shape[1] + 1)):
            kernel_shape = shape[2:] if len(shape) == 4 else [1, shape[2]]
            rows = tuple(tuple(self.value(name((o, i, r, c) if len(shape) == 4 else (o, i, c)))
                               for c in range(1, kernel_shape[1] + 1)) for r in range(1, kernel_shape[0] + 1))
            self.out.append(Grid(f"{base}[{o},{i},·,·]{'+' if after else ''} (out channel {o}, in channel {i})", rows,
                                 tuple(map(str, range(1, kernel_shape[0] + 1))) if len(shape) == 4 else ("",),
                                 tuple(map(str, range(1, kernel_shape[1] + 1)))))

    def forward(self, layer: dict[str, Any]) -> None:
        label, shape = layer["label"], layer["out_shape"]
        section = self.trace.section(f"forward_{label}")
        self.out.append(Heading(section.title))
        if section.intro:
            self.out.append(Paragraph(section.intro))
        self.rules(layer, forward=True)
        kinds = ("net", "out") if layer["activation"] else ("out",)
        for s in range(self.samples):
            shown = section.steps if self.full else [
                st for st in section.steps if st.name in {names.map_value(k, label, (1,) * len(shape), self.tag(s)) for k in kinds}]
            self.derive(list(shown))
            for kind in kinds:
                self.grids(names.map_label(kind, label) + self._of(s), shape,
                           lambda p, k=kind, s=s: names.map_value(k, label, p, self.tag(s)), sequence=bool(layer.get("sequence")))
            if self.matrix and layer["kind"] in ("conv1d", "conv2d"):
                self.im2col(layer, s)

    def rules(self, layer: dict[str, Any], forward: bool) -> None:
        """--derive: the layer's general rule before its numbers (formats/maps_rules.py)."""
        if not self.derive_rules:
            return
        from stepgrad.formats.maps_rules import backward_rules, forward_rules

        found = (forward_rules if forward else backward_rules)(layer, self.meta["convolution"])
        if found:
            intro, lines = found
            self.out.append(Paragraph(intro))
            self.out.append(Equations(tuple(t for t, _ in lines), tuple(latex for _, latex in lines), ("",) * len(lines)))

    def im2col(self, layer: dict[str, Any], s: int) -> None:
        """The conv layer as a matrix product: a row per output position (the inputs its window holds, 0 on the
        padding), a column per kernel entry; net = rows x kernel + bias, read from the trace's own formulas."""
        label, shape = layer["label"], layer["out_shape"]
        base = layer["parameter_names"]["kernel"]
        kernel_shape = layer["parameters"]["kernel"]
        for o in range(1, shape[0] + 1):
            entries = [names.with_position(base, (o, *p)) for p in _positions(kernel_shape[1:])]
            rows, labels = [], []
            for position in _positions(shape[1:]):
                step = self.trace.step(names.map_value("net", label, (o, *position), self.tag(s)))
                met = dict(_PAIR.findall(step.text))
                rows.append(tuple(self.value(met[e]) if e in met else "0" for e in entries))
                labels.append("(" + ",".join(map(str, position)) + ")")
            self.out.append(Paragraph(f"The same as a matrix product (im2col), channel {o}: a row per output position "
                                      "holding the inputs its window meets (0 on the zero padding), times the kernel "
                                      f"as a column{', plus the bias' if 'bias' in layer['parameters'] else ''}."))
            self.out.append(Grid(f"windows of {label}, channel {o}{self._of(s)}", tuple(rows), tuple(labels), tuple(entries)))
            self.out.append(Grid(f"{base} as a column", tuple((self.value(e),) for e in entries), tuple(entries), ("",)))

    def error(self) -> None:
        section = self.trace.section("error")
        self.out.append(Heading(section.title))
        self.out.append(Paragraph(section.intro))
        self.derive(list(section.steps))

    def backward(self, layer: dict[str, Any]) -> None:
        label, shape = layer["label"], layer["out_shape"]
        try:
            section = self.trace.section(f"backward_{label}")
        except KeyError:
            return
        self.out.append(Heading(section.title))
        self.out.append(Paragraph(section.intro))
        self.rules(layer, forward=False)
        first = (1,) * len(shape)
        for s in range(self.samples):
            maps = [names.partial(names.TOTAL, names.map_label("out", label)), names.partial(
                names.map_label("out", label), names.map_label("net", label)), names.partial(
                names.TOTAL, names.map_label("net", label))]
            if not layer["activation"]:
                maps = maps[:1]
            wanted = {self.signal_name(names.map_value(k, label, first), s) for k in ("out", "net")}
            wanted.add(names.partial(names.map_value("out", label, first), names.map_value("net", label, first), self.tag(s)))
            signals = [st for st in section.steps if names.parse(st.name).kind == "partial"
                       and names.parse(st.name).bottom.kind in ("net", "out")]  # type: ignore[union-attr]
            self.derive([st for st in signals if (self.full or st.name in wanted) and self._sample_of(st) == self.tag(s)])
            for title, kind in zip(maps, ("out", None, "net")):
                self.grids(title + self._of(s), shape, lambda p, k=kind, s=s: self._signal(label, k, p, s),
                           sequence=bool(layer.get("sequence")))
        for role, pshape in layer["parameters"].items():
            self.parameter_gradients(layer, role, pshape, section.steps)

    def _signal(self, label: str, kind: str | None, position: tuple[int, ...], s: int) -> str:
        """dE_total/dout or dE_total/dnet (kind), or dout/dnet (None), of one position."""
        if kind is None:
            return names.partial(names.map_value("out", label, position), names.map_value("net", label, position),
                                 self.tag(s))
        return self.signal_name(names.map_value(kind, label, position), s)

    def signal_name(self, quantity: str, s: int) -> str:
        """dE_total/d(quantity of sample s): the sample's own error's, or the batch error's where samples mix;
        below a truncated rnn the BPTT(k) sum that stands in its place (bptt2_h1_t3[1])."""
        if self.truncated(quantity):
            return names.truncated(quantity, self.meta["truncated"]["window"], self.tag(s))
        if self.meta.get("mixing"):
            return names.batch_partial(names.TOTAL, quantity, s + 1)
        return names.partial(names.TOTAL, quantity, self.tag(s))

    def truncated(self, quantity: str) -> bool:
        """Whether what reaches `quantity` is a truncated-BPTT sum (the truncated rnn's, or a layer's below it)."""
        cut = self.meta.get("truncated")
        if not cut:
            return False
        label = names.label_of(quantity)
        return label is None or label in cut["layers"]

    def gradient_name(self, parameter: str) -> str:
        """dE_total/d(parameter), or its truncated-BPTT sum bptt<k>_parameter."""
        if self.truncated(parameter):
            return names.truncated(parameter, self.meta["truncated"]["window"])
        return names.gradient(parameter)

    def _sample_of(self, step: Step) -> int | None:
        return names.parse(step.name).sample

    def parameter_gradients(self, layer: dict[str, Any], role: str, shape: list[int], steps: tuple[Step, ...]) -> None:
        base = layer["parameter_names"][role]
        entries = [names.with_position(base, p) for p in _positions(shape)]
        derived = entries if self.full else entries[:1]
        for entry in derived:
            about = [st for st in steps if names.parse(st.name).kind in ("partial", "truncated")
                     and str(names.parse(st.name).bottom) == entry]
            gradient = [st for st in about if st.kind == "gradient"]
            plan = next((st.note for st in gradient if st.note), "")
            self.out.append(Paragraph(f"The gradient of {entry}" + (f": {plan}" if plan else "") + "."))
            self.derive([st for st in about if st.kind == "partial"])
            self.derive(gradient, notes=False)
            update = names.updated(entry)
            if self.has(update):
                self.derive(self.optimizer_steps(entry))
                self.derive([self.trace.step(update)])
        rest = [e for e in entries if e not in derived]
        if rest:
            header = ENTRIES
            rows = tuple((e, self.value(e), self.value(self.gradient_name(e)),
                          self.value(names.updated(e)) if self.has(names.updated(e)) else "(not updated)") for e in rest)
            self.out.append(Paragraph(f"The other entries of {base} ({len(rest)}), each derived the same way "
                                      "(--all shows every one):"))
            self.out.append(Table(header, rows))

    def optimizer_steps(self, entry: str) -> list[Step]:
        """An optimizer's quantities for one parameter entry (its state before, v+, m+, m_hat, ...), if any."""
        if not any(sec.key == "optimizer" for sec in self.trace.sections):
            return []
        return [st for st in self.trace.section("optimizer").steps if st.subject == entry]

    def update(self) -> None:
        section = self.trace.section("update")
        self.out.append(Heading(section.title))
        self.out.append(Paragraph(section.intro))
        if any(sec.key == "optimizer" for sec in self.trace.sections):
            opt = self.trace.section("optimizer")
            shared = ", ".join(f"{st.name} = {self.value(st.name)}" for st in opt.steps if not st.subject)
            self.out.append(Paragraph(f"{opt.title.split(':')[0]}: {opt.intro} Hyperparameters: {shared}. Each "
                                      "parameter's quantities are derived with its gradient above."))
        for layer in self.meta["layers"]:
            for role, shape in layer["parameters"].items():
                if self.has(names.updated(names.with_position(layer["parameter_names"][role], (1,) * len(shape)))):
                    self.parameter_grids(layer, role, shape, after=True)
        after = names.error(after=True)
        if self.has(after):
            self.derive([self.trace.step(after)])


def blocks(trace: Trace, digits: Precision = 9, full: bool = False, matrix: bool = False,
           derive: bool = False) -> list[Block]:
    """The explanation of a layer-table trace as blocks (one position and one kernel entry derived in full
    per map and kernel; `full`: every one; `matrix`: each conv layer also as im2col matrix times kernel;
    `derive`: each layer's rules first, formats/maps_rules.py)."""
    return _Blocks(trace, digits, full, matrix, derive).build()
