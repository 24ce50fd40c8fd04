"""The computation graph of one training step: every multiply, add, activation and loss, with its value and gradient.

    >>> g = computation_graph(stepgrad.explain(stepgrad.builtin()))
    >>> g.node("net_h1").grad_name, g.node("net_h1").grad
    ('dE_total/dnet_h1', 0.00877135...)
    >>> print(g.only("w1").to_dot())   # the subgraph w1's gradient flows through
    digraph step {
    ...
    >>> svg = g.render("svg")          # laid out by Graphviz (the optional `graph` extra)

The graph is built from the trace alone: node values and gradients are trace quantities under their
public names (a node's `grad_name` names the quantity its gradient is), so the graph agrees with the
scalar derivation by construction. The one value not named in the trace is each product w * x,
taken from its two trace operands.

Gradients: parameters carry the batch gradient dE_total/dw (the mean over samples); a per-sample
node (net_h1[2], out_h1[2], ...) carries the gradient of its own sample's error, as the trace's
per-sample error signals do. The error nodes' gradients are 1 (dE/dE). With cross-entropy, the
error signal is taken at net (out - target), so the output neurons' out nodes carry no gradient.
In the sequential update order the trace sends error signals down through the updated weights; the
graph shows the trace's numbers, which are then not this graph's exact gradients below the top layer
(meta["update_order"] says which).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from stepgrad.core.digits import number
from stepgrad.core.errors import StepgradError
from stepgrad.core.trace import Step, Trace


@dataclass(frozen=True)
class Node:
    """One scalar of the step: a parameter, input, product, weighted sum, activation or error."""

    id: str
    label: str  # the public name (net_h1) or the product (w5 * out_h1)
    kind: str  # input, target, weight, bias, product, net, out, error, total, batch
    op: str  # what computes it: "", "*", "+", the activation, the loss, "sum", "mean"
    value: float
    grad: float | None
    grad_name: str | None  # the trace quantity the gradient is (None: constant 1, or no gradient)
    value_name: str | None = None  # the trace quantity the value is (None for products)
    layer: int | None = None  # weight layer (1-based, as in the matrix view) for net/out/product/weight/bias
    position: tuple[int, ...] = ()  # (neuron,) or (neuron, input) within the layer
    sample: int | None = None  # 0-based sample for per-sample nodes


@dataclass(frozen=True)
class Edge:
    source: str
    target: str


@dataclass(frozen=True)
class Graph:
    """Nodes and edges (operand -> result) of one step; `to_dot`, `render`, `only`."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    def node(self, label: str) -> Node:
        """The node with this label (KeyError if none)."""
        for n in self.nodes:
            if n.label == label:
                return n
        raise KeyError(label)

    def only(self, parameter: str) -> Graph:
        """The subgraph `parameter`'s gradient flows through: it and every node it feeds, up to the error,
        with every operand of those nodes (the i1 of w1 * i1) so each node's value reads from what it shows.
        The operands added are listed in meta["context"] (drawn dashed)."""
        start = [n.id for n in self.nodes if n.label == parameter and n.kind in ("weight", "bias", "input")]
        if not start:
            names = sorted(n.label for n in self.nodes if n.kind in ("weight", "bias"))
            raise StepgradError(f"no weight or bias named {parameter!r} (choose from {', '.join(names)})",
                                where="--only")
        following: dict[str, list[str]] = {}
        for e in self.edges:
            following.setdefault(e.source, []).append(e.target)
        keep, queue = set(start), deque(start)
        while queue:
            for nxt in following.get(queue.popleft(), []):
                if nxt not in keep:
                    keep.add(nxt)
                    queue.append(nxt)
        context = {e.source for e in self.edges if e.target in keep} - keep
        keep |= context
        return Graph(tuple(n for n in self.nodes if n.id in keep),
                     tuple(e for e in self.edges if e.source in keep and e.target in keep),
                     {**self.meta, "only": parameter, "context": tuple(sorted(context))})

    def to_dot(self, digits: int = 6) -> str:
        """Graphviz DOT source: a box per node (name, op, value, gradient), left to right."""
        style = (f'  rankdir={self.rankdir()}; node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, '
                 'fillcolor="#f4f6fb"]; edge [color="#667788"];')
        context = set(self.meta.get("context", ()))
        lines = ["digraph step {", style]
        colours = {"weight": "#fde9c8", "bias": "#fde9c8", "input": "#e4f1e1", "target": "#e4f1e1",
                   "product": "#ffffff", "error": "#f8dede", "total": "#f8dede", "batch": "#f8dede"}
        for n in self.nodes:
            rows = [n.label + (f"   [{n.op}]" if n.op else ""), f"value {number(n.value, digits)}"]
            if n.grad is not None:
                rows.append(f"grad {number(n.grad, digits)}" + (f"  ({n.grad_name})" if n.grad_name else ""))
            label = "\\n".join(_dot_escape(r) for r in rows)
            shape = ', shape=ellipse' if n.kind == "product" else ""
            shape += ', style="rounded,filled,dashed"' if n.id in context else ""
            lines.append(f'  {n.id} [label="{label}", fillcolor="{colours.get(n.kind, "#f4f6fb")}"{shape}];')
        lines += [f"  {e.source} -> {e.target};" for e in self.edges]
        lines.append("}")
        return "\n".join(lines) + "\n"

    def rankdir(self) -> str:
        """LR (operands left of results) or TB, whichever lays the graph out nearest 16:10, wider than tall
        where that is about as near.

        Estimated from the graph's depth (longest operand chain) and breadth (most nodes at one depth), with a
        node about 180 x 50 pt and Graphviz's default separations."""
        depth: dict[str, int] = {}
        sources: dict[str, list[str]] = {}
        for e in self.edges:
            sources.setdefault(e.target, []).append(e.source)

        def level(node: str) -> int:
            if node not in depth:
                depth[node] = 0  # a cycle cannot occur (the graph is a computation), this only ends recursion
                depth[node] = 1 + max((level(s) for s in sources.get(node, [])), default=-1)
            return depth[node]

        counts: dict[int, int] = {}
        for n in self.nodes:
            counts[level(n.id)] = counts.get(level(n.id), 0) + 1
        ranks, breadth = len(counts), max(counts.values(), default=1)
        shapes = {"LR": (ranks * 216, breadth * 68), "TB": (breadth * 198, ranks * 86)}

        def score(size: tuple[int, int]) -> float:
            aspect = size[0] / max(size[1], 1)
            return abs(math.log(aspect / 1.6)) + (0 if aspect >= 1 else 0.5)

        return min(shapes, key=lambda k: score(shapes[k]))

    def render(self, fmt: str = "svg", digits: int = 6) -> bytes:
        """The graph laid out by Graphviz, as svg, pdf or png bytes (needs the `graph` extra and `dot`)."""
        try:
            import graphviz  # type: ignore[import-untyped]
        except ImportError:
            raise StepgradError("drawing the graph needs the graphviz Python package: "
                                "pip install 'stepgrad[graph]' (or write .dot, which needs nothing)") from None
        try:
            return graphviz.Source(self.to_dot(digits)).pipe(format=fmt)
        except graphviz.ExecutableNotFound:
            raise StepgradError("Graphviz's dot program is not installed (Debian/Ubuntu: apt install graphviz; "
                                "macOS: brew install graphviz)") from None

    def _repr_svg_(self) -> str:
        """Jupyter shows the graph inline."""
        return self.render("svg").decode("utf-8")


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def computation_graph(trace: Trace) -> Graph:
    """The graph of scalar operations of a whole trace (as `stepgrad.explain` returns it)."""
    return _Builder(trace).build()


class _Builder:
    def __init__(self, trace: Trace):
        meta = trace.meta
        if trace.context or "neurons" not in meta:
            raise StepgradError("the computation graph needs a whole trace (use Graph.only to narrow it)")
        self.trace = trace
        self.neurons: list[list[str]] = meta["neurons"]
        self.weights: list[list[list[str]]] = meta["weights"]
        self.biases: list[list[str]] = meta["biases"]
        self.samples = int(meta["samples"])
        self.activations: list[str] = meta["activations"]
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []
        self.index: dict[tuple[str, str, str], list[Step]] = {}
        for section in trace.sections:
            for step in section.steps:
                self.index.setdefault((section.key, step.kind, step.subject), []).append(step)

    def steps(self, section: str, kind: str, subject: str) -> list[Step]:
        try:
            return self.index[(section, kind, subject)]
        except KeyError:
            raise StepgradError(f"the trace has no {kind} step about {subject or 'the total'} in {section}") from None

    def add(self, label: str, kind: str, op: str, value: float, grad_step: Step | None = None,
            value_name: str | None = None, grad: float | None = None, **where: Any) -> str:
        node_id = f"n{len(self.nodes)}"
        if grad_step is not None:
            grad = grad_step.value
        self.nodes.append(Node(node_id, label, kind, op, value, grad, grad_step.name if grad_step else None,
                               value_name, **where))
        return node_id

    def link(self, sources: list[str], target: str) -> None:
        self.edges += [Edge(s, target) for s in sources]

    def gradient(self, layer: int, name: str) -> Step | None:
        found = self.index.get((f"backward_{layer}", "gradient", name))
        return found[-1] if found else None  # the last: the batch mean

    def build(self) -> Graph:
        t, S, depth = self.trace, self.samples, len(self.weights)
        params: dict[str, str] = {}
        for l in range(1, depth + 1):
            for j, row in enumerate(self.weights[l - 1]):
                for i, w in enumerate(row):
                    params[w] = self.add(w, "weight", "", t.lookup(w), self.gradient(l, w), w, layer=l, position=(j, i))
            for j, b in enumerate(self.biases[l - 1]):
                params[b] = self.add(b, "bias", "", t.lookup(b), self.gradient(l, b), b, layer=l, position=(j,))
        batch_terms = []
        for s in range(S):
            below = []
            for i, n in enumerate(self.neurons[0]):
                step = self.steps("given", "given", n)[s]
                below.append((step.name, self.add(step.name, "input", "", step.value, None, step.name,
                                                  position=(i,), sample=s)))
            for l in range(1, depth + 1):
                below = self.layer(l, s, below, params)
            batch_terms.append(self.error(s, below))
        if S > 1:
            batch = self.steps("error", "error", "")[-1]
            node = self.add(batch.name, "batch", "mean", batch.value, None, batch.name, grad=1.0)
            self.link(batch_terms, node)
        return Graph(tuple(self.nodes), tuple(self.edges), {"samples": S, "layers": self.trace.meta.get("layers"),
                                                             "update_order": self.trace.meta.get("update_order")})

    def layer(self, l: int, s: int, below: list[tuple[str, str]], params: dict[str, str]) -> list[tuple[str, str]]:
        """The products, sums and activations of weight layer l for sample s; returns its (name, node) outs."""
        t = self.trace
        section = f"backward_{l}"
        nets = []
        for j, neuron in enumerate(self.neurons[l]):
            delta = self.steps(section, "delta", neuron)[s]
            terms = []
            for i, w in enumerate(self.weights[l - 1][j]):
                source_name, source_node = below[i]
                product = t.lookup(w) * t.lookup(source_name)
                node = self.add(f"{w} * {source_name}", "product", "*", product, delta, layer=l, position=(j, i), sample=s)
                self.link([params[w], source_node], node)
                terms.append(node)
            bias = self.biases[l - 1][0 if len(self.biases[l - 1]) == 1 else j]
            net = self.steps("forward", "net", neuron)[s]
            node = self.add(net.name, "net", "+", net.value, delta, net.name, layer=l, position=(j,), sample=s)
            self.link(terms + [params[bias]], node)
            nets.append(node)
        act = self.activations[l - 1]
        outs = []
        for j, neuron in enumerate(self.neurons[l]):
            out = self.steps("forward", "out", neuron)[s]
            node = self.add(out.name, "out", act, out.value, self.out_gradient(l, neuron, s), out.name,
                            layer=l, position=(j,), sample=s)
            self.link(nets if act == "softmax" else [nets[j]], node)
            outs.append((out.name, node))
        return outs

    def out_gradient(self, l: int, neuron: str, s: int) -> Step | None:
        """dE/dout of a neuron: the first factor of its error signal, or (softmax) the loss's derivative."""
        section = f"backward_{l}"
        delta = self.steps(section, "delta", neuron)[s]
        if delta.factors:
            return self.trace.step(delta.factors[0])
        partial = self.index.get((section, "partial", neuron))
        return partial[s] if partial else None  # None: cross-entropy takes its error signal at net

    def error(self, s: int, outs: list[tuple[str, str]]) -> str:
        """The loss nodes of sample s; returns the node of its total error."""
        terms = []
        for k, neuron in enumerate(self.neurons[-1]):
            target = self.steps("given", "given", neuron)[s]
            t_node = self.add(target.name, "target", "", target.value, None, target.name, position=(k,), sample=s)
            e = self.steps("error", "error", neuron)[s]
            node = self.add(e.name, "error", str(self.trace.meta.get("loss", "loss")), e.value, None, e.name,
                            grad=1.0, position=(k,), sample=s)
            self.link([outs[k][1], t_node], node)
            terms.append(node)
        total = self.steps("error", "error", "")[s]
        node = self.add(total.name, "total", "sum", total.value, None, total.name, grad=1.0, sample=s)
        self.link(terms, node)
        return node
