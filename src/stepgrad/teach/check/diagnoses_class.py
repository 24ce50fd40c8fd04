"""More known mistakes, found by marking a class on many networks: each recomputes the step the way the student did.

Registered in the same registry as diagnoses.py (imported at its end), for any network depth,
activation, learning rate and batch size: a ReLU's derivative of 1 at a negative net, the activation
not applied, sigmoid where the layer is a softmax, the softmax/cross-entropy error signal multiplied by
out(1 - out), one sample of a batch for the mean, a shared bias's gradient from one neuron, the
receiving neuron's own output as the edge's input, and the weights numbered the other way round.

    >>> from stepgrad.teach.check.diagnoses import MISTAKES
    >>> "relu_negative_slope" in [m.key for m in MISTAKES]
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from stepgrad.core import names
from stepgrad.core.trace import Step
from stepgrad.teach.check.context import Context
from stepgrad.teach.check.diagnoses import Candidates, _batch_mean, _is_derivative, _through, mistake


def _activation(ctx: Context, step: Step) -> str:
    """The activation of the layer of a dout/dnet or out step."""
    parts = names.parse(step.name)
    neuron = parts.top.neuron if parts.kind == "partial" else parts.neuron  # type: ignore[union-attr]
    layer = next(l for l, group in enumerate(ctx.names.neurons[1:]) if neuron in group)
    return str(ctx.dense.activations[layer])


def _is_out(ctx: Context, step: Step) -> bool:
    return names.parse(step.name).kind == "out" and bool(step.text)


def _net_name(step: Step) -> str:
    parts = names.parse(step.name)
    neuron = parts.top.neuron if parts.kind == "partial" else parts.neuron  # type: ignore[union-attr]
    return names.net(str(neuron), parts.sample, parts.after)


def _here_or_earlier(ctx: Context, step: Step, base: Mapping[str, float], wrong: Callable[[Step], float | None],
                     depth: int, here: Callable[[], str], earlier: str) -> Candidates:
    """The mistake `wrong` (a step's value done that wrong way, or None) at this step; else in an earlier step
    up to `depth` below, carried up to this one."""
    value = wrong(step)
    if value is not None:
        yield value, here()
        return
    value = _through(ctx, step, base, wrong, depth=depth)
    if value is not None:
        yield value, earlier


@mistake("relu_negative_slope", "ReLU's derivative taken as 1 at a negative net (it is 0 there)")
def _relu_negative_slope(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    def one(op: Step) -> float | None:
        if _is_derivative(op.name) and "relu" in _activation(ctx, op) and base.get(_net_name(op), 0.0) < 0:
            return 1.0
        return None

    yield from _here_or_earlier(ctx, step, base, one, 3,
                                lambda: f"{step.name} = 1 although {_net_name(step)} = {base[_net_name(step)]:.6g} < 0",
                                "an earlier factor used a ReLU derivative of 1 at a negative net")


@mistake("activation_not_applied", "the activation not applied (out = net)")
def _activation_not_applied(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    def as_net(op: Step) -> float | None:
        return base.get(_net_name(op)) if _is_out(ctx, op) and _activation(ctx, op) != "linear" else None

    yield from _here_or_earlier(ctx, step, base, as_net, 2,
                                lambda: f"{step.name} = {_net_name(step)}, without the {_activation(ctx, step)}",
                                "an earlier out taken as its net, without the activation")


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


@mistake("sigmoid_for_softmax", "sigmoid used where the layer is a softmax")
def _sigmoid_for_softmax(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    def sigmoid_out(op: Step) -> float | None:
        if _is_out(ctx, op) and _activation(ctx, op) == "softmax" and _net_name(op) in base:
            return ctx.finish(_sigmoid(base[_net_name(op)]))
        return None

    yield from _here_or_earlier(ctx, step, base, sigmoid_out, 2,
                                lambda: f"1 / (1 + exp(-{_net_name(step)})) instead of the softmax over the layer",
                                "an earlier out computed with the sigmoid instead of the softmax")


def _error_signal(step: Step) -> tuple[str, str] | None:
    """(out, target) when the step is the softmax/cross-entropy error signal «out» - «target»."""
    ops = step.operands
    if step.kind != "delta" or len(ops) != 2:
        return None
    kinds = [names.parse(op).kind for op in ops]
    if kinds == ["out", "target"] and step.text == f"«{ops[0]}» - «{ops[1]}»":
        return ops[0], ops[1]
    return None


@mistake("softmax_signal_times_derivative", "out(1 - out) multiplied into the softmax/cross-entropy error signal")
def _softmax_signal(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    def times_derivative(op: Step) -> float | None:
        pair = _error_signal(op)
        if pair is None or pair[0] not in base:
            return None
        out = base[pair[0]]
        return ctx.finish(ctx.recompute(op, base) * out * (1 - out))

    yield from _here_or_earlier(
        ctx, step, base, times_derivative, 3,
        lambda: "(out - target) · out(1 - out): with cross-entropy the softmax's derivative is already in out - target",
        "an earlier error signal computed as (out - target) · out(1 - out)")


@mistake("one_sample", "one sample of the batch used for the mean")
def _one_sample(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    n = _batch_mean(step)
    if n:
        for op in step.operands:
            k = names.parse(op).sample
            if op in base:
                yield base[op], f"only sample {k}'s {op} (the other samples left out)"
                yield ctx.finish(base[op] / n), f"only sample {k}'s {op}, divided by {n}"
        return

    def first(op: Step) -> float | None:
        return base.get(op.operands[0]) if _batch_mean(op) else None

    value = _through(ctx, step, base, first, depth=2)
    if value is not None:
        yield value, "a gradient taken from the first sample only"


def _shared_bias_terms(ctx: Context, step: Step) -> list[str]:
    """The per-neuron terms of a shared bias's gradient (dE_total/db2 = δ_o1·1 + δ_o2·1), else []."""
    parts = names.parse(step.name)
    if parts.kind != "partial" or parts.bottom is None or parts.bottom.kind != "bias" or parts.bottom.neuron:
        return []
    return list(step.operands) if len(step.operands) > 1 and " + " in step.text else []


@mistake("shared_bias_one_neuron", "a shared bias's gradient from one neuron only")
def _shared_bias(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    terms = _shared_bias_terms(ctx, step)
    if terms:
        for kept in terms:
            others = [t for t in terms if t != kept]
            yield ctx.recompute(step, base, dict.fromkeys(others, 0.0)), \
                f"only {kept} (the bias feeds every neuron of the layer: {', '.join(others)} left out)"
        return

    def first(op: Step) -> float | None:
        found = _shared_bias_terms(ctx, op)
        return ctx.recompute(op, base, dict.fromkeys(found[1:], 0.0)) if found else None

    value = _through(ctx, step, base, first, depth=1)
    if value is not None:
        yield value, "the shared bias's gradient taken from its first neuron only"


def _edge_input(op: str) -> str | None:
    """out_Y for dnet_Y/dwN: the receiving neuron's own output (what the edge does not carry)."""
    parts = names.parse(op)
    if parts.kind != "partial" or parts.top is None or parts.bottom is None:
        return None
    if parts.top.kind != "net" or parts.bottom.kind != "weight":
        return None
    return names.out(str(parts.top.neuron), parts.sample, parts.top.after)


@mistake("own_output_as_input", "the receiving neuron's own output used as the edge's input")
def _own_output(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    own = _edge_input(step.name)
    if own is not None and own in base:
        yield base[own], f"{own} (the output of the neuron the edge goes into) instead of what the edge carries"
        return
    swapped = {op: base[o] for op in step.operands if (o := _edge_input(op)) is not None and o in base}
    if swapped:
        yield ctx.recompute(step, base, swapped), \
            f"{', '.join(swapped)} taken as the receiving neuron's own output"
        return

    def own_out(op: Step) -> float | None:
        found = {o: base[e] for o in op.operands if (e := _edge_input(o)) is not None and e in base}
        return ctx.recompute(op, base, found) if found else None

    value = _through(ctx, step, base, own_out, depth=1)
    if value is not None:
        yield value, "the gradient computed with the receiving neuron's own output as the input"


def _transposed(ctx: Context, weight: str) -> str | None:
    """w2 -> w3 in the deck: the weight at (row c, column r) of the same layer when w is at (r, c)."""
    layer = ctx.weight_layer(weight)
    if layer is None:
        return None
    rows = ctx.names.weights[layer]
    for r, row in enumerate(rows):
        if weight in row:
            c = row.index(weight)
            if c < len(rows) and r < len(rows[c]) and rows[c][r] != weight:
                return rows[c][r]
    return None


def _gradient_of(name: str) -> tuple[str, int | None] | None:
    parts = names.parse(name)
    if parts.kind == "partial" and parts.top is not None and parts.bottom is not None and \
            parts.top.kind == "error" and parts.bottom.kind == "weight":
        return str(parts.bottom.parameter), parts.sample
    return None


@mistake("transposed_numbering", "weights numbered the other way round (w2 read as i1 → h2)")
def _transposed_numbering(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    found = _gradient_of(step.name)
    if found is not None:
        other = _transposed(ctx, found[0])
        if other is not None:
            twin = names.gradient(other, found[1])
            if twin in base:
                yield base[twin], f"the gradient of {other} ({twin}) written for {found[0]}"
        return
    swapped: dict[str, float] = {}
    for op in step.operands:
        grad = _gradient_of(op)
        other = _transposed(ctx, grad[0]) if grad else None
        if grad and other and names.gradient(other, grad[1]) in base:
            swapped[op] = base[names.gradient(other, grad[1])]
    if swapped:
        yield ctx.recompute(step, base, swapped), f"{', '.join(swapped)} taken from the transposed weight"
