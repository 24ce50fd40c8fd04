"""The worlds a solution is judged in: the exact step, the solution's own numbers, the other update order.

`own` is the step as the student computed it: their value wherever they wrote one, and elsewhere
what their earlier values give (each step's formula recomputed, in trace order). `from_own[name]`
is the step's formula applied to the own values of its operands: what a marker giving credit for
an error carried forward expects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from stepgrad.core import names
from stepgrad.core.engine import rounder
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.names import Layout, layout
from stepgrad.core.spec import Network
from stepgrad.core.trace import Step, Trace
from stepgrad.teach.check.formula import FormulaError, Tree, evaluate, parse
from stepgrad.teach.check.solution import Solution
from stepgrad.tracing.build import explain


@dataclass
class Context:
    """Everything a verdict or a diagnosis needs about one solution."""

    net: Network | LayerNetwork  # a layer-table network (conv, pooling): only its own diagnoses run
    trace: Trace
    other: Trace | None  # the same step in the other update order
    round_to: int | None
    own: dict[str, float] = field(default_factory=dict)
    from_own: dict[str, float] = field(default_factory=dict)
    given: dict[str, float] = field(default_factory=dict)  # what the solution wrote

    @cached_property
    def steps(self) -> dict[str, Step]:
        return {s.name: s for s in self.trace}

    @cached_property
    def exact(self) -> dict[str, float]:
        return self.trace.values

    @property
    def network_kind(self) -> str:
        """"dense" or "layers": which diagnoses apply (Mistake.networks)."""
        return "layers" if isinstance(self.net, LayerNetwork) else "dense"

    @property
    def dense(self) -> Network:
        """The dense network (the dense diagnoses run on dense networks only: Mistake.networks)."""
        assert isinstance(self.net, Network), "a dense network"
        return self.net

    @cached_property
    def names(self) -> Layout:
        return layout(self.dense.layers, self.dense.shared_biases)  # type: ignore[arg-type]

    @property
    def order(self) -> str:
        return str(self.trace.meta.get("update_order", getattr(self.net, "update_order", "synchronous")))

    def tree(self, step: Step) -> Tree:
        return parse(step.text)

    def finish(self, value: float) -> float:
        """A recomputed value as the solution's arithmetic gives it (rounded in hand-calculation mode); outside the
        real numbers (a negative variance's square root, a candidate with an operand's sign flipped) it is nan."""
        if isinstance(value, complex):
            return float("nan")
        return float(rounder(self.round_to)(np.float64(value)))

    def recompute(self, step: Step, base: Mapping[str, float], overrides: Mapping[str, float] | None = None,
                  tree: Tree | None = None) -> float:
        """The step's formula (or `tree`) on the values in `base`, with `overrides` taking precedence."""
        if not step.text and tree is None:
            return float(base[step.name])
        over = overrides or {}
        try:
            value = evaluate(tree or self.tree(step), lambda n: over[n] if n in over else base[n])
            # a mistake's value may leave the real numbers (sqrt of a variance with its sign flipped): no value
            return float("nan") if isinstance(value, complex) else self.finish(value)
        except FormulaError as exc:  # the calculator cannot read it: a bug to report, never a silent `wrong`
            raise FormulaError(f"the checker cannot evaluate {step.name} = {step.text}: {exc}") from exc
        except (ArithmeticError, ValueError):  # the values leave the formula's domain (ln of a negative)
            return float("nan")

    # -- names ----------------------------------------------------------------------------------
    def source(self, name: str) -> str:
        """What an operand stands for: dnet_o1/dout_h1 -> w5, dnet_o1/dw5 -> out_h1 (follows «x» links)."""
        seen = 0
        while name in self.steps and seen < 4:
            text = self.steps[name].text
            if not (text.startswith("«") and text.endswith("»") and text.count("«") == 1):
                break
            name = text[1:-1]
            seen += 1
        return name

    def weight_layer(self, weight: str) -> int | None:
        """The weight layer of w5 (or w5+), or None for other names."""
        try:
            name = names.parse(weight)
        except ValueError:
            return None
        if name.kind != "weight" or name.sample is not None:
            return None
        for l, rows in enumerate(self.names.weights):
            if any(name.parameter in row for row in rows):
                return l
        return None

    def siblings(self, name: str) -> list[str]:
        """Names of the same kind on other edges: w5 -> w6, w7, w8; out_h1 -> out_h2; i1[2] -> i2[2]."""
        parts = names.parse(name)
        layer = self.weight_layer(name)
        if layer is not None:
            others = [parts.but(parameter=w) for row in self.names.weights[layer] for w in row if w != parts.parameter]
        elif parts.kind in ("input", "out"):
            group = next(g for g in self.names.neurons if parts.neuron in g)
            others = [parts.but(neuron=n) for n in group if n != parts.neuron]
        else:
            return []
        return [str(o) for o in others if str(o) in self.exact]


def traces(net: Network | LayerNetwork, update_order: str | None = None,
           round_to: int | None = None) -> tuple[Trace, Trace | None]:
    """The exact step and the same step in the other update order (None for a single layer, or a
    layer-table network, which has one order)."""
    if isinstance(net, LayerNetwork):
        from stepgrad.core.errors import StepgradError
        from stepgrad.tracing.layered import explain_layers

        if update_order == "sequential":
            raise StepgradError("layer-table networks (conv2d, pooling) are checked in the synchronous order")
        if round_to is not None:
            from stepgrad.teach.check.rounded_layers import rounded_layers

            return rounded_layers(net, round_to), None
        return explain_layers(net), None
    order = update_order or net.update_order
    trace = explain(net, update_order=order, round_to=round_to)
    other = None
    if net.depth > 1:
        other = explain(net, update_order="sequential" if order == "synchronous" else "synchronous",
                        round_to=round_to)
    return trace, other


def build(net: Network | LayerNetwork, solution: Solution, update_order: str | None = None,
          round_to: int | None = None, prepared: tuple[Trace, Trace | None] | None = None) -> Context:
    """The exact trace, the other order's trace and the solution's own world (`prepared`: traces() reused)."""
    trace, other = prepared or traces(net, update_order, round_to)
    ctx = Context(net, trace, other, round_to)
    given = ctx.given = solution.values
    for step in trace:
        if step.text:
            ctx.from_own[step.name] = ctx.recompute(step, ctx.own)
            ctx.own[step.name] = given.get(step.name, ctx.from_own[step.name])
        else:
            ctx.own[step.name] = given.get(step.name, step.value)
    return ctx
