"""The matrix form of one training step: the trace's numbers arranged as vectors and matrices.

    >>> view = matrix_view(stepgrad.explain(stepgrad.builtin()))
    >>> eq = view.blocks[1].equations[0]          # z(1) = W(1) a(0) + b(1)
    >>> eq.result.names, eq.result.values
    ((('net_h1',), ('net_h2',)), ((0.3775,), (0.39249999999999996,)))

Layers are numbered from the input: a(0) is the input, W(l), b(l), z(l), a(l) belong to layer l.
Samples are the columns (one column per sample), so z(l) = W(l) a(l-1) + b(l) holds for the whole
batch, and a gradient is the mean over the columns: grad W(l) = delta(l) a(l-1)^T / S.

Every entry is a quantity of the trace: the view holds its name and the trace's value, so each
matrix is tied to the scalar names (`Matrix.names`), and nothing here computes. Names are read
from the trace's steps and meta (never assembled here), so they stay whatever names.py makes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from stepgrad.core import hooks, names
from stepgrad.core.errors import StepgradError
from stepgrad.core.trace import Step, Trace


@dataclass(frozen=True)
class Matrix:
    """A matrix of named trace quantities: names[r][c] has the value values[r][c]."""

    symbol: str  # plain text: "W(1)", "delta(2)"
    latex: str  # "W^{(1)}"
    names: tuple[tuple[str, ...], ...]
    values: tuple[tuple[float, ...], ...]

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.names), len(self.names[0]) if self.names else 0

    def to_dict(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "latex": self.latex, "shape": list(self.shape),
                "names": [list(r) for r in self.names], "values": [list(r) for r in self.values]}


@dataclass(frozen=True)
class Equation:
    """result = right-hand side, written with the operands' symbols."""

    result: Matrix
    text: str  # "W(1) a(0) + b(1)"
    latex: str
    operands: tuple[Matrix, ...]
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"result": self.result.to_dict(), "text": self.text, "latex": self.latex, "note": self.note,
                "operands": [m.to_dict() for m in self.operands]}


@dataclass(frozen=True)
class Block:
    """A group of equations: the forward pass, the error, one layer's backward pass, the update."""

    key: str
    title: str
    equations: tuple[Equation, ...]


@dataclass(frozen=True)
class MatrixView:
    """The whole step in matrix form, format-neutral; writers in `stepgrad.formats.matrix_writers`."""

    blocks: tuple[Block, ...]
    meta: dict[str, Any]

    def matrices(self) -> Iterator[Matrix]:
        """Every matrix shown (results and operands), in order, repeats included."""
        for block in self.blocks:
            for eq in block.equations:
                yield eq.result
                yield from eq.operands

    def legend(self) -> dict[str, list[list[str]]]:
        """symbol -> the scalar names of its entries."""
        return {m.symbol: [list(r) for r in m.names] for m in self.matrices()}

    def _repr_html_(self) -> str:
        """Jupyter shows the view as tables, each entry with its scalar name (stepgrad.formats plugs this in)."""
        return hooks.call("matrix.html", self)

    def to_dict(self) -> dict[str, Any]:
        return {"view": "matrix", "meta": self.meta, "legend": self.legend(),
                "blocks": [{"key": b.key, "title": b.title, "equations": [e.to_dict() for e in b.equations]}
                           for b in self.blocks]}


def matrix_view(trace: Trace) -> MatrixView:
    """The matrix form of a full trace (as `stepgrad.explain` returns it)."""
    return _Arranger(trace).build()


class _Arranger:
    """Finds the trace's steps by section, kind and subject, and lays them out as matrices."""

    def __init__(self, trace: Trace):
        meta = trace.meta
        keys = {s.key for s in trace.sections}
        if not {"neurons", "weights", "biases", "samples"} <= set(meta) or not {"given", "forward"} <= keys \
                or trace.context:  # a selected trace keeps the values it left out in context
            raise StepgradError("the matrix view needs a whole trace (not one narrowed with --only)")
        self.trace = trace
        self.neurons: list[list[str]] = meta["neurons"]
        self.weights: list[list[list[str]]] = meta["weights"]
        self.biases: list[list[str]] = meta["biases"]
        self.samples: int = int(meta["samples"])
        self.depth = len(self.weights)
        self.index: dict[tuple[str, str, str], list[Step]] = {}
        for section in trace.sections:
            for step in section.steps:
                self.index.setdefault((section.key, step.kind, step.subject), []).append(step)

    # -- lookups --------------------------------------------------------------------------------
    def steps(self, section: str, kind: str, subject: str) -> list[Step]:
        found = self.index.get((section, kind, subject))
        if not found:
            raise StepgradError(f"the trace has no {kind} step about {subject or 'the total'} in {section}")
        return found

    def matrix(self, symbol: str, latex: str, names: list[list[str]]) -> Matrix:
        return Matrix(symbol, latex, tuple(tuple(r) for r in names),
                      tuple(tuple(self.trace.lookup(n) for n in r) for r in names))

    def per_sample(self, section: str, kind: str, neurons: list[str], symbol: str, latex: str) -> Matrix:
        """Rows: the neurons; columns: the samples (the first S steps of that kind about each neuron)."""
        return self.matrix(symbol, latex, [[s.name for s in self.steps(section, kind, n)[:self.samples]]
                                           for n in neurons])

    def last(self, section: str, kind: str, subject: str) -> str:
        """The batch value: the last step of its kind (the mean follows the per-sample steps)."""
        return self.steps(section, kind, subject)[-1].name

    def update_section(self, l: int) -> str:
        keys = [s.key for s in self.trace.sections]
        return f"update_{l + 1}" if f"update_{l + 1}" in keys else "update"

    # -- the layers ------------------------------------------------------------------------------
    def a(self, l: int) -> Matrix:
        if l == 0:
            return self.per_sample("given", "given", self.neurons[0], "a(0)", "a^{(0)}")
        return self.per_sample("forward", "out", self.neurons[l], f"a({l})", f"a^{{({l})}}")

    def z(self, l: int) -> Matrix:
        return self.per_sample("forward", "net", self.neurons[l], f"z({l})", f"z^{{({l})}}")

    def W(self, l: int) -> Matrix:
        return self.matrix(f"W({l})", f"W^{{({l})}}", self.weights[l - 1])

    def b(self, l: int) -> Matrix:
        names = self.biases[l - 1]
        column = [[names[0] if len(names) == 1 else names[j]] for j in range(len(self.neurons[l]))]
        return self.matrix(f"b({l})", f"b^{{({l})}}", column)

    def delta(self, l: int) -> Matrix:
        return self.per_sample(f"backward_{l}", "delta", self.neurons[l], f"delta({l})", rf"\delta^{{({l})}}")

    def factor(self, l: int, which: int, symbol: str, latex: str) -> Matrix:
        """The which-th chain-rule factor of each entry of delta(l): dE/da(l) (0) or f'(z(l)) (1)."""
        rows = [[s.factors[which] for s in self.steps(f"backward_{l}", "delta", n)[:self.samples]]
                for n in self.neurons[l]]
        return self.matrix(symbol, latex, rows)

    # -- blocks ----------------------------------------------------------------------------------
    def build(self) -> MatrixView:
        acts = self.trace.meta.get("activations", [])
        blocks = [Block("given", "The network", (
            Equation(self.a(0), "the inputs, one column per sample", r"\text{the inputs, one column per sample}", ()),
        ))]
        forward = []
        for l in range(1, self.depth + 1):
            z, a = self.z(l), self.a(l)
            forward.append(Equation(z, f"W({l}) a({l - 1}) + b({l})", rf"W^{{({l})}} a^{{({l - 1})}} + b^{{({l})}}",
                                    (self.W(l), self.a(l - 1), self.b(l)), "b is added to every column"))
            f = acts[l - 1] if l - 1 < len(acts) else "f"
            forward.append(Equation(a, f"{f}(z({l}))", rf"\mathrm{{{f}}}\left(z^{{({l})}}\right)", (z,),
                                    "elementwise" if f != "softmax" else "softmax of each column"))
        blocks.append(Block("forward", "Forward pass", tuple(forward)))
        blocks.append(self.error_block())
        for l in range(self.depth, 0, -1):
            blocks.append(self.backward_block(l))
        blocks.append(self.update_block())
        return MatrixView(tuple(blocks), {**self.trace.meta, "view": "matrix"})

    def error_block(self) -> Block:
        L = self.depth
        t = self.per_sample("given", "given", self.neurons[L], "t", "t")
        totals = [s.name for s in self.steps("error", "error", "")]
        per_sample = self.matrix("E", "E", [totals[:self.samples]])
        eqs = [Equation(t, "the targets, one column per sample", r"\text{the targets, one column per sample}", ())]
        if self.samples > 1:
            batch = self.matrix("E_batch", r"\bar{E}", [[totals[-1]]])
            eqs.append(Equation(per_sample, "each sample's total error", r"\text{each sample's total error}", ()))
            eqs.append(Equation(batch, "mean of E's columns", r"\frac{1}{S} \sum_{s} E_{s}", (per_sample,)))
        else:
            eqs.append(Equation(per_sample, "the total error", r"\text{the total error}", ()))
        return Block("error", "The error", tuple(eqs))

    def backward_block(self, l: int) -> Block:
        section = f"backward_{l}"
        delta = self.delta(l)
        eqs: list[Equation] = []
        first = self.steps(section, "delta", self.neurons[l][0])[0]
        if l == self.depth:
            if first.factors:  # elementwise activation: delta = dE/da (.) f'(z)
                g = self.factor(l, 0, f"dE/da({l})", rf"\frac{{\partial E}}{{\partial a^{{({l})}}}}")
                d = self.factor(l, 1, f"f'(z({l}))", rf"f'\left(z^{{({l})}}\right)")
                eqs += [Equation(g, "the loss's derivative at each output", r"\text{the loss's derivative}", ()),
                        Equation(d, "the activation's derivative", r"\text{the activation's derivative}", ()),
                        Equation(delta, f"dE/da({l}) * f'(z({l}))  (elementwise)",
                                 rf"\frac{{\partial E}}{{\partial a^{{({l})}}}} \odot f'\left(z^{{({l})}}\right)", (g, d))]
            elif (section, "partial", self.neurons[l][0]) in self.index:  # softmax: its Jacobian
                g = self.per_sample(section, "partial", self.neurons[l], f"dE/da({l})",
                                    rf"\frac{{\partial E}}{{\partial a^{{({l})}}}}")
                a = self.a(l)
                eqs += [Equation(g, "the loss's derivative at each output", r"\text{the loss's derivative}", ()),
                        Equation(delta, f"a({l}) * (dE/da({l}) - sum over outputs of a({l}) * dE/da({l}))",
                                 rf"a^{{({l})}} \odot \left(g - \mathbf{{1}} \left(a^{{({l})\top}} g\right)\right)",
                                 (a, g), "softmax's Jacobian, column by column (g = dE/da)")]
            else:  # cross-entropy with softmax or sigmoid: the combined error signal
                a = self.a(l)
                t = self.per_sample("given", "given", self.neurons[l], "t", "t")
                signal = _signal(self.trace.meta)
                eqs.append(Equation(delta, signal or f"a({l}) - t", rf"\text{{{signal}}}" if signal else rf"a^{{({l})}} - t",
                                    (a, t)))
        else:
            g = self.factor(l, 0, f"dE/da({l})", rf"\frac{{\partial E}}{{\partial a^{{({l})}}}}")
            d = self.factor(l, 1, f"f'(z({l}))", rf"f'\left(z^{{({l})}}\right)")
            used = self.backprop_weights(l)
            eqs += [Equation(g, f"W({l + 1})^T delta({l + 1})", rf"W^{{({l + 1})\top}} \delta^{{({l + 1})}}",
                             (used, self.delta(l + 1)),
                             "the updated weights (sequential order)" if "+" in used.symbol else ""),
                    Equation(d, "the activation's derivative", r"\text{the activation's derivative}", ()),
                    Equation(delta, f"dE/da({l}) * f'(z({l}))  (elementwise)",
                             rf"\frac{{\partial E}}{{\partial a^{{({l})}}}} \odot f'\left(z^{{({l})}}\right)", (g, d))]
        eqs.append(self.weight_gradient(l, delta))
        if (section, "gradient", self.biases[l - 1][0]) in self.index:
            eqs.append(self.bias_gradient(l, delta))
        title = "Backward pass: output layer" if l == self.depth else f"Backward pass: layer {l}"
        return Block(section, title, tuple(eqs))

    def backprop_weights(self, l: int) -> Matrix:
        """W(l+1)^T as the backward pass used it: entry [j][k] is the weight behind dnet_k/dout_j."""
        rows = []
        for n in self.neurons[l]:
            total = self.trace.step(self.steps(f"backward_{l}", "delta", n)[0].factors[0])
            row = []
            for factor in total.factors:  # a sum of path terms (delta * link), or of the products themselves
                name = names.parse(factor)
                if name.kind == "partial" and name.top is not None and name.top.kind == "net":
                    row.append(self.trace.step(factor).operands[0])  # the link dnet_k/dout_j = w
                elif name.kind == "partial" and name.top is not None and name.top.kind == "error" \
                        and name.bottom is not None and name.bottom.kind == "out":
                    row.append(self.trace.step(self.trace.step(factor).factors[1]).operands[0])  # a term
            rows.append(row)
        plus = any(names.parse(name).after for r in rows for name in r)
        symbol = f"W({l + 1})+^T" if plus else f"W({l + 1})^T"
        return self.matrix(symbol, rf"W^{{({l + 1}){'+' if plus else ''}\top}}", rows)

    def weight_gradient(self, l: int, delta: Matrix) -> Equation:
        section = f"backward_{l}"
        rows = [[self.last(section, "gradient", w) for w in row] for row in self.weights[l - 1]]
        grad = self.matrix(f"grad W({l})", rf"\nabla W^{{({l})}}", rows)
        S = self.samples
        return Equation(grad, f"delta({l}) a({l - 1})^T / {S}", rf"\frac{{1}}{{{S}}} \delta^{{({l})}} a^{{({l - 1})\top}}",
                        (delta, self.a(l - 1)), "the mean over the samples, which are the columns" if S > 1 else "an outer product")

    def bias_gradient(self, l: int, delta: Matrix) -> Equation:
        names = self.biases[l - 1]
        grad = self.matrix(f"grad b({l})", rf"\nabla b^{{({l})}}",
                           [[self.last(f"backward_{l}", "gradient", b)] for b in names])
        S = self.samples
        if len(names) == 1:
            return Equation(grad, f"sum of all entries of delta({l}) / {S}",
                            rf"\frac{{1}}{{{S}}} \mathbf{{1}}^\top \delta^{{({l})}} \mathbf{{1}}", (delta,),
                            "one bias shared by the layer: its neurons' error signals add up")
        return Equation(grad, f"delta({l}) 1 / {S}  (row sums)", rf"\frac{{1}}{{{S}}} \delta^{{({l})}} \mathbf{{1}}",
                        (delta,))

    def update_block(self) -> Block:
        eta = self.matrix("eta", r"\eta", [["eta"]])
        eqs = []
        for l in range(1, self.depth + 1):
            section = self.update_section(l - 1)
            rows = [[self.last(section, "update", w) for w in row] for row in self.weights[l - 1]]
            grad = self.matrix(f"grad W({l})", rf"\nabla W^{{({l})}}",
                               [[self.last(f"backward_{l}", "gradient", w) for w in row] for row in self.weights[l - 1]])
            new = self.matrix(f"W({l})+", rf"W^{{({l})+}}", rows)
            optimizer = self.trace.meta.get("optimizer")
            trains = self.trace.meta.get("trains") or [True] * (2 * self.depth)
            if not trains[l - 1]:  # a frozen weight matrix: its new value is its old one (tracing/held.py)
                eqs.append(Equation(new, f"W({l})", rf"W^{{({l})}}", (self.W(l),), "held fixed: it does not train"))
            elif optimizer:  # momentum, Adam: the scalar trace shows each weight's own update steps
                eqs.append(Equation(new, f"the {optimizer['name']} update of W({l}) from grad W({l})",
                                    rf"\text{{the {optimizer['name']} update}}", (self.W(l), grad)))
            else:
                eqs.append(Equation(new, f"W({l}) - eta grad W({l})", rf"W^{{({l})}} - \eta \nabla W^{{({l})}}",
                                    (self.W(l), eta, grad)))
            names = self.biases[l - 1]
            if (section, "update", names[0]) in self.index and not optimizer:
                b_new = self.matrix(f"b({l})+", rf"b^{{({l})+}}", [[self.last(section, "update", b)] for b in names])
                b_old = self.matrix(f"b({l})", rf"b^{{({l})}}", [[b] for b in names])
                b_grad = self.matrix(f"grad b({l})", rf"\nabla b^{{({l})}}",
                                     [[self.last(f"backward_{l}", "gradient", b)] for b in names])
                held = not trains[self.depth + l - 1]
                eqs.append(Equation(b_new, f"b({l})", rf"b^{{({l})}}", (b_old,), "held fixed: it does not train")
                           if held else
                           Equation(b_new, f"b({l}) - eta grad b({l})", rf"b^{{({l})}} - \eta \nabla b^{{({l})}}",
                                    (b_old, eta, b_grad)))
        return Block("update", "The update", tuple(eqs))


def _signal(meta: dict[str, Any]) -> str:
    """The error signal of a loss of raw scores in words (the registry's), or "" for out - target."""
    from stepgrad.core.functions import LOSSES

    entry = LOSSES.get(str(meta.get("loss")))
    combined = entry.combination(meta.get("activations", [""])[-1]) if entry else None
    return combined.delta_note if combined is not None and combined.delta is not None else ""
