"""The pieces every sequence layer's rules are built from (formats/seq_rules.py): the Refs of one trace, a projection."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from stepgrad.core import names
from stepgrad.formats.rule_forms import (
    Bind,
    Call,
    Context,
    Expr,
    Num,
    Op,
    Positive,
    Power,
    Ref,
    Rule,
    Sum,
    plus,
    span,
    times,
)

Layer = dict[str, Any]  # a layer of the trace's meta


class Refs:
    """The Refs of one trace: a sample's quantities carry its [s]; where samples mix, the sample letter shows."""

    def __init__(self, meta: dict[str, Any]) -> None:
        cut = meta.get("truncated") or {}
        self.ctx = Context(int(meta["samples"]), bool(meta.get("mixing")), cut.get("window"),
                           frozenset(cut.get("layers", ())))
        self.samples, self.mean = self.ctx.samples, meta["reduction"] == "mean"
        self.layers = {layer["label"]: layer for layer in meta["layers"]}

    def value(self, build: Callable[[Bind], str]) -> Ref:
        return Ref("value", build, ctx=self.ctx, sampled=self.ctx.mixing)

    def shared(self, build: Callable[[Bind], str]) -> Ref:
        return Ref("shared", build, ctx=self.ctx)

    def signal(self, build: Callable[[Bind], str]) -> Ref:
        return Ref("signal", build, ctx=self.ctx, sampled=self.ctx.mixing)

    def local(self, top: Callable[[Bind], str], bottom: Callable[[Bind], str]) -> Ref:
        return Ref("local", top, bottom, ctx=self.ctx, sampled=self.ctx.mixing)

    def part(self, build: Callable[[Bind], str]) -> Ref:
        """Truncated BPTT: the part of the sum at a quantity that entered at step e (bptt2e<e>_h1_t<t>[j])."""
        return Ref("part", build, ctx=self.ctx, sampled=self.ctx.mixing)

    def batch_signal(self, build: Callable[[Bind], str]) -> Ref:
        return Ref("batch_signal", build, ctx=self.ctx)

    def above(self, build: Callable[[Bind], str]) -> Ref:
        return Ref("above", build, ctx=self.ctx, sampled=self.ctx.mixing)

    def gradient(self, build: Callable[[Bind], str]) -> Ref:
        return Ref("gradient", build, ctx=self.ctx)

    def domain(self, *letters: tuple[str, Any, str]) -> tuple[tuple[str, Any], ...]:
        """The letters a rule holds for (the sample's first where samples mix: its signals are per sample)."""
        found = [span("s", self.samples)] if self.ctx.mixing else []
        return tuple((letter, values) for letter, values, _ in [*found, *letters])

    def over_samples(self, body: Expr) -> Expr:
        """A parameter's gradient where samples mix: the sum over the samples (no sample has its own)."""
        return Sum("s", span("s", self.samples)[1], f"s in 1..{self.samples}", body) if self.ctx.mixing else body

    def batch(self, layer: Layer) -> list[Rule]:
        """Several samples that do not mix: each parameter's batch gradient from the samples' (their mean or sum)."""
        if self.samples == 1 or self.ctx.mixing:
            return []
        found = []
        for role, shape in layer["parameters"].items():
            stem = layer["parameter_names"][role]
            letters = [span(letter, size) for letter, size in zip("jk", shape)]
            build = entry(stem, "jk"[:len(shape)])
            total: Expr = Sum("s", span("s", self.samples)[1], f"s in 1..{self.samples}",
                              Ref("sample_gradient", build, ctx=self.ctx))
            if self.mean:
                total = Op("/", total, Num(self.samples))
            found.append(Rule(Ref("gradient", build, ctx=replace(self.ctx, samples=1)), (total,), self.domain(*letters)))
        return found

    def source(self, layer: Layer) -> Callable[[tuple[int, ...]], str]:
        """The name of what a layer reads at a 1-based position (without the sample): x, an out, an rnn's state."""
        label = layer["input"]
        if label is None:
            return lambda p: names.map_value("input", names.INPUT_MAP, p)
        below = self.layers[label]
        if below["kind"] in ("rnn", "attention"):
            steps = int(below["in_shape"][0])
            every = below["settings"]["output"] == "sequence"

            def passed(p: tuple[int, ...]) -> str:
                step, unit = p if every else (steps, p[0])
                if below["kind"] == "rnn":
                    return names.recurrent_value("h", label, step, unit)
                return names.attention_value("out", label, (step, unit))
            return passed
        return lambda p: names.map_value("out", label, p)


# -- shared pieces -------------------------------------------------------------------------------------------
def entry(stem: str, letters: str) -> Callable[[Bind], str]:
    """A parameter entry's name from its letters: stem[j,k]."""
    return lambda b: names.with_position(stem, tuple(b[x] for x in letters))


def weighted(refs: Refs, stem: str, row: str, letter: str, count: int, operand: Expr, bias: str | None) -> Expr:
    """sum over letter of stem[row,letter] * operand (+ bias[row]): one projection's output."""
    weight = refs.shared(lambda b: names.with_position(stem, (b[row], b[letter])))
    found: Expr = Sum(letter, span(letter, count)[1], span(letter, count)[2], times(weight, operand))
    if bias is not None:
        found = plus(found, refs.shared(lambda b: names.with_position(bias, (b[row],))))
    return found


def activation(kind: str, net: Ref) -> Expr | None:
    """act(net) for the activations a rule writes out (tanh, relu, sigmoid, linear); None for the others."""
    return {"tanh": Call("tanh", net), "relu": Call("relu", net), "sigmoid": Call("sigmoid", net), "linear": net}.get(kind)


def derivative(kind: str, out: Ref, net: Ref) -> Expr | None:
    """act'(net) written with out (tanh: 1 - out^2; sigmoid: out (1 - out)), relu's [net > 0], linear's 1."""
    one = Num(1.0)
    return {"tanh": Op("-", one, Power(out, Num(2.0))), "sigmoid": times(out, Op("-", one, out)),
            "relu": Positive(net), "linear": one}.get(kind)
