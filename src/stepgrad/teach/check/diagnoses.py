"""Known mistakes, one registry entry each: recompute the step with the mistake applied.

Each entry yields (value, detail) candidates for a step, computed from a base world (the solution's
own numbers, then the exact ones). A wrong answer gets the first entry whose recomputed value it
equals at the precision written (verdicts.py). Nothing here looks at the student's number: a
diagnosis is a recomputation, never a pattern in the digits.

    >>> [m.key for m in MISTAKES][:3]
    ['relu_negative_slope', 'net_for_out', 'activation_not_applied']

Order matters (ORDER, at the end): the first entry that explains an answer leads, the others are
named as "also fits". diagnoses_class.py adds the entries found by marking a class on many networks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from stepgrad.core import names
from stepgrad.core.functions import ACTIVATIONS, LOSSES
from stepgrad.core.trace import Step
from stepgrad.teach.check.context import Context
from stepgrad.teach.check.formula import parse

Candidates = Iterator[tuple[float, str]]


@dataclass(frozen=True)
class Mistake:
    """One kind of mistake: a label and how to recompute a step with it applied."""

    key: str
    label: str
    candidates: Callable[[Context, Step, Mapping[str, float]], Iterable[tuple[float, str]]]
    networks: tuple[str, ...] = ("dense",)  # Context.network_kind values it applies to


# When two mistakes explain a number, the first in this order leads and the others are named as "also
# fits": the specific readings (a step of one kind of network done one wrong way) before the general
# ones (another edge, another neuron, a sign), and a moved decimal point last of all.
ORDER = ["relu_negative_slope", "net_for_out", "activation_not_applied", "sigmoid_for_softmax", "softmax_signal_times_derivative",
         "one_sample", "shared_bias_one_neuron", "transposed_numbering", "own_output_as_input",
         "old_new_weights", "dropped_half", "missing_derivative", "learning_rate", "forgotten_bias", "one_path",
         "wrong_activation_derivative", "batch_summed", "kernel_flipped", "maxpool_all_cells", "maxpool_wrong_cell",
         "avgpool_without_scale", "skip_gradient_forgotten", "flatten_order", "stride_off", "padding_off", "channels_summed",
         "batch_mean_vs_sum", "bptt_last_step_only", "bptt_step_dropped",
         "recurrent_path_forgotten", "attention_scale_forgotten", "attention_scale_applied",
         "softmax_wrong_axis", "softmax_jacobian_diagonal", "softmax_backward_wrong_axis", "norm_variance_path_forgotten",
         "norm_mean_path_forgotten", "norm_statistics_mixed", "norm_variance_estimator",
         "step_reduction_mixed", "flipped_sign", "target_output_swap",
         "wrong_edge", "wrong_neuron", "sum_for_product", "power_of_ten"]
MISTAKES: list[Mistake] = []  # kept in ORDER as entries register (diagnoses_class.py adds more)


def mistake(key: str, label: str, networks: tuple[str, ...] = ("dense",)):
    def register(fn):
        MISTAKES.append(Mistake(key, label, fn, networks))
        MISTAKES.sort(key=lambda m: ORDER.index(m.key) if m.key in ORDER else len(ORDER) - 1)
        return fn
    return register


def _is_derivative(name: str) -> bool:
    parts = names.parse(name)
    return parts.kind == "partial" and parts.top.kind == "out" and parts.bottom.kind == "net"  # type: ignore[union-attr]


def _weights(ctx: Context, step: Step) -> list[tuple[str, str]]:
    """(operand, weight it stands for) for every operand that is a weight or a link equal to one."""
    found = []
    for op in step.operands:
        source = ctx.source(op)
        if ctx.weight_layer(source) is not None:
            found.append((op, source))
    return found


def _kept(ctx: Context, op: str, base: Mapping[str, float]) -> bool:
    """True when the student wrote `op`: a mistake hidden in an earlier step cannot change a value they
    wrote down (they used what they wrote; a mistake in it is that line's own diagnosis)."""
    return op in ctx.given


def _deep(ctx: Context, step: Step, base: Mapping[str, float], operand_value) -> float | None:
    """The step recomputed after recomputing its operands with a mistake (operand_value(op) or None)."""
    overrides = {}
    for op in step.operands:
        if op in ctx.steps and ctx.steps[op].text and not _kept(ctx, op, base):
            v = operand_value(ctx.steps[op])
            if v is not None:
                overrides[op] = v
    return ctx.recompute(step, base, overrides) if overrides else None


def _through(ctx: Context, step: Step, base: Mapping[str, float], operand_value, depth: int = 3) -> float | None:
    """Like _deep, but the mistake may sit up to `depth` steps below (w1+ <- dE_total/dw1 <- dE_total/dout_h1)."""
    if depth == 0:
        return None
    overrides = {}
    for op in step.operands:
        if op in ctx.steps and ctx.steps[op].text and not _kept(ctx, op, base):
            v = operand_value(ctx.steps[op])
            if v is None:
                v = _through(ctx, ctx.steps[op], base, operand_value, depth - 1)
            if v is not None:
                overrides[op] = v
    return ctx.recompute(step, base, overrides) if overrides else None


@mistake("old_new_weights", "old/new weight mix-up")
def _old_new(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    swapped = {}
    for op, weight in _weights(ctx, step):
        parts = names.parse(weight)
        other = str(parts.but(after=not parts.after))
        if other in base and other != step.name:  # w1+ cannot be used to compute w1+ itself
            swapped[op] = base[other]
            what = "the old" if parts.after else "the updated"
            yield ctx.recompute(step, base, {op: base[other]}), f"{other} ({what} weight) used where the step needs {weight}"
    if len(swapped) > 1:
        yield ctx.recompute(step, base, swapped), "the other version (old/new) of every weight used"
    if ctx.other is not None and base is ctx.exact and step.name in ctx.other.values:
        other_order = "sequential" if ctx.order == "synchronous" else "synchronous"
        why = ("each layer is updated before the layer below computes its deltas, so the hidden layer's "
               "gradients use the new weights" if other_order == "sequential" else
               "every gradient comes from the old weights")
        yield ctx.other.values[step.name], (f"this is the {other_order} update order's value {{value}} ({why}); "
                                            f"this check follows the {ctx.order} order")


def _half_loss_variants(ctx: Context, step: Step) -> Iterator[str]:
    """The step's formula with ½ dropped, when it is the half squared error or its derivative."""
    if ctx.net.loss != "half_squared_error":
        return
    targets = [o for o in step.operands if names.parse(o).kind == "target"]
    outs = [o for o in step.operands if names.parse(o).kind == "out"]
    if len(targets) != 1 or len(outs) != 1:
        return
    half, plain = LOSSES["half_squared_error"], LOSSES["mean_squared_error"]  # plain with n = 1: (t - o)^2
    roles = {"«target»": f"«{targets[0]}»", "«out»": f"«{outs[0]}»", "«n»": "1"}

    def fill(template: str) -> str:
        for role, slot in roles.items():
            template = template.replace(role, slot)
        return template

    for written, mistaken in ((half.text, plain.text), (half.gradient_text, plain.gradient_text)):
        if fill(written) == step.text:
            yield fill(mistaken)


@mistake("dropped_half", "dropped ½ in the error")
def _dropped_half(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    for text in _half_loss_variants(ctx, step):
        shown = text.replace("«", "").replace("»", "").replace("1/1 * ", "").replace("-2/1 *", "-2 *")
        yield ctx.recompute(step, base, tree=parse(text)), f"recomputed as {shown}"

    def without_half(op: Step) -> float | None:
        for text in _half_loss_variants(ctx, op):
            return ctx.recompute(op, base, tree=parse(text))
        return None

    value = _deep(ctx, step, base, without_half)
    if value is not None:
        yield value, "its terms computed as (target - out)^2, without the ½"


@mistake("missing_derivative", "missing activation-derivative factor")
def _missing_derivative(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    derivatives = [op for op in step.operands if _is_derivative(op)]
    for d in derivatives:
        yield ctx.recompute(step, base, {d: 1.0}), f"recomputed without the factor {d}"

    def without(op: Step) -> float | None:
        inner = [o for o in op.operands if _is_derivative(o)]
        return ctx.recompute(op, base, {o: 1.0 for o in inner}) if inner else None

    value = _deep(ctx, step, base, without)
    if value is not None:
        yield value, "recomputed with an operand that leaves out dout/dnet"


@mistake("learning_rate", "wrong learning rate")
def _learning_rate(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    if "eta" not in step.operands:
        return
    eta = base["eta"]
    readings: dict[float, list[str]] = {}
    for rate, reading in ((1.0, "eta left out"), (2 * eta, "eta doubled: the gradient subtracted twice"),
                          (eta * eta, "eta applied twice: eta · eta · gradient"),
                          (eta / 2, "eta halved"), (0.0, "the weight not updated at all")):
        readings.setdefault(rate, []).append(reading)
    for rate in (0.1, 0.01, 0.001, 0.05, 0.2, 0.25, 0.3, 0.75, 2.0):
        readings.setdefault(rate, [])
    for rate, why in readings.items():
        if abs(rate - eta) > 1e-12:
            also = f" ({'; or '.join(why)})" if why else ""
            yield (ctx.recompute(step, base, {"eta": rate}),
                   f"recomputed with learning rate {rate:g} instead of {eta:g}{also}")


@mistake("forgotten_bias", "forgotten bias")
def _forgotten_bias(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    biases = {b for layer in ctx.names.biases for b in layer}
    for op in step.operands:
        if str(names.parse(op).but(after=False)) in biases:
            yield ctx.recompute(step, base, {op: 0.0}), f"recomputed without the bias {op}"


@mistake("flipped_sign", "flipped sign", networks=("dense", "layers"))
def _flipped_sign(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    yield -ctx.recompute(step, base), "the value with the opposite sign"
    for op in step.operands:
        if base.get(op):
            yield ctx.recompute(step, base, {op: -base[op]}), f"recomputed with the sign of {op} flipped"


@mistake("target_output_swap", "target/output swap")
def _target_output_swap(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    for out in [o for o in step.operands if names.parse(o).kind == "out"]:
        parts = names.parse(out)
        target = names.target(parts.neuron, parts.sample)  # type: ignore[arg-type]
        if target not in base:
            continue
        if target in step.operands:
            yield ctx.recompute(step, base, {out: base[target], target: base[out]}), f"{target} and {out} swapped"
        yield ctx.recompute(step, base, {out: base[target]}), f"{target} used where the step needs {out}"


def _on_an_edge(ctx: Context, step: Step) -> bool:
    """True when the step is about a weight or uses one: only then can an edge be the wrong one."""
    return ctx.weight_layer(step.subject) is not None or bool(_weights(ctx, step)) or \
        any(ctx.weight_layer(ctx.source(op)) is not None or _on_an_edge_name(ctx, op) for op in step.operands)


def _on_an_edge_name(ctx: Context, name: str) -> bool:
    step = ctx.steps.get(name)
    return step is not None and ctx.weight_layer(step.subject) is not None


@mistake("wrong_edge", "weight from the wrong edge")
def _wrong_edge(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    if not step.text and step.name in base:  # a given weight or input copied from its neighbour
        what = "weight" if ctx.weight_layer(step.name) is not None else "input"
        for other in ctx.siblings(step.name):
            yield base[other], f"{other} copied for {step.name} (the {what} of another edge)"
        return
    if not _on_an_edge(ctx, step):
        return  # out_o1(1 - out_o1) for o2 involves no edge: that is the wrong neuron (below)
    for op in step.operands:
        source = ctx.source(op)
        if source not in base:
            continue
        what = "weight" if ctx.weight_layer(source) is not None else "input"
        for other in ctx.siblings(source):
            yield ctx.recompute(step, base, {op: base[other]}), f"{other} used where the step needs {source} (the {what} of another edge)"


@mistake("wrong_neuron", "values of the wrong neuron")
def _wrong_neuron(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    for group in ctx.names.neurons:
        for neuron in group:
            if not any(neuron in names.neurons_in(op) for op in step.operands):
                continue
            for other in group:
                if other == neuron:
                    continue
                renamed = {op: names.rename_neuron(op, neuron, other) for op in step.operands}
                used = {op: new for op, new in renamed.items() if new != op and new in base}
                if used:
                    yield (ctx.recompute(step, base, {op: base[new] for op, new in used.items()}),
                           f"{other}'s values used instead of {neuron}'s ({', '.join(used.values())})")


def _products_as_sums(tree: tuple) -> tuple:
    if tree[0] in ("num", "var"):
        return tree
    if tree[0] == "call":
        return ("call", tree[1], tuple(_products_as_sums(a) for a in tree[2]))
    head = "+" if tree[0] == "*" else tree[0]
    return (head,) + tuple(_products_as_sums(t) for t in tree[1:])


@mistake("sum_for_product", "added instead of multiplied")
def _sum_for_product(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    if step.kind in ("gradient", "delta", "partial") and len(step.factors) > 1 and " * " in step.text:
        yield ctx.recompute(step, base, tree=_products_as_sums(ctx.tree(step))), "the chain-rule factors added up"


@mistake("power_of_ten", "power-of-ten slip", networks=("dense", "layers"))
def _power_of_ten(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    value = ctx.recompute(step, base)
    for k in [k for k in range(-9, 10) if k]:
        yield value * 10.0 ** k, f"the value times 10^{k} = {{value}} (a dropped or moved decimal point)"


# -- mistakes found by marking real homework: each recomputes the step the way the student did ---------

def _path_sum(step: Step) -> bool:
    """True for dE_total/dout_h1 = dE_o1/dout_h1 + dE_o2/dout_h1: a hidden neuron's sum over paths."""
    return len(step.factors) > 1 and step.text == " + ".join(f"«{f}»" for f in step.factors) and \
        names.parse(step.name).kind == "partial"


@mistake("one_path", "one path only for a hidden neuron")
def _one_path(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    def first_path(op: Step) -> float | None:
        return float(base[op.factors[0]]) if _path_sum(op) and op.factors[0] in base else None

    if _path_sum(step):
        for kept in step.factors:
            dropped = [f for f in step.factors if f != kept]
            yield ctx.recompute(step, base, dict.fromkeys(dropped, 0.0)), \
                f"only {kept} summed; {', '.join(dropped)} (the other output's contribution) left out"
        return
    value = _through(ctx, step, base, first_path)
    if value is not None:
        yield value, "a hidden neuron's dE_total/dout taken from its first path only (the other outputs' contributions left out)"


def _net_of(out: str) -> str:
    parts = names.parse(out)
    return names.net(str(parts.neuron), parts.sample, parts.after)


@mistake("net_for_out", "net used where out is needed")
def _net_for_out(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    outs = [op for op in step.operands if names.parse(ctx.source(op)).kind == "out" and _net_of(ctx.source(op)) in base]
    for op in outs:
        net = _net_of(ctx.source(op))
        yield ctx.recompute(step, base, {op: base[net]}), f"{net} used where the step needs {ctx.source(op)}"

    def with_net(op: Step) -> float | None:
        inner = [o for o in op.operands if names.parse(ctx.source(o)).kind == "out" and _net_of(ctx.source(o)) in base]
        return ctx.recompute(op, base, {o: base[_net_of(ctx.source(o))] for o in inner}) if inner else None

    if not outs:
        value = _through(ctx, step, base, with_net, depth=2)
        if value is not None:
            yield value, "net used where out is needed in an earlier factor"


# The activations whose derivatives students mix up (the ones a first course teaches). With every registry
# entry (gelu, silu, elu ...) some derivative lands near any number by chance, and would hide the real mistake.
CONFUSED = ("sigmoid", "tanh", "relu", "leaky_relu", "linear", "softplus")


def _other_derivatives(ctx: Context, step: Step, base: Mapping[str, float]) -> Iterator[tuple[float, str]]:
    """dout/dnet of the step's neuron by every other activation's formula, on this neuron's net and out."""
    parts = names.parse(step.name)
    if not _is_derivative(step.name):
        return
    net, out = names.at(str(parts.bottom), parts.sample), names.at(str(parts.top), parts.sample)  # the sample, too
    if net not in base or out not in base:
        return
    own = ctx.dense.activations[_layer_of(ctx, step)]
    for name, entry in ACTIVATIONS.items():
        if name == own or entry.derivative is None or name not in CONFUSED:
            continue
        try:
            value = float(np.asarray(entry.derivative(np.array(base[net]), np.array(base[out]))))
        except (ArithmeticError, ValueError):
            continue
        yield ctx.finish(value), f"{name}'s derivative {entry.derivative_text.replace('«', '').replace('»', '')} used in a {own} layer"


def _layer_of(ctx: Context, step: Step) -> int:
    neuron = names.parse(step.name).top.neuron  # type: ignore[union-attr]
    return next(l for l, group in enumerate(ctx.names.neurons[1:]) if neuron in group)


@mistake("wrong_activation_derivative", "the wrong activation's derivative")
def _wrong_activation(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    yield from _other_derivatives(ctx, step, base)
    for op in step.operands:
        if op in ctx.steps and _is_derivative(op):
            for value, detail in _other_derivatives(ctx, ctx.steps[op], base):
                yield ctx.recompute(step, base, {op: value}), detail


def _batch_mean(step: Step) -> int:
    """The batch size when the step is the mean of its per-sample values (dE_total/dw5 over samples), else 0."""
    ops = step.operands
    if len(ops) < 2 or names.parse(step.name).sample is not None:
        return 0
    same = all(names.parse(op).sample is not None and names.for_sample(step.name, names.parse(op).sample) == op
               for op in ops)
    return len(ops) if same else 0


@mistake("batch_summed", "batch summed instead of averaged")
def _batch_summed(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    n = _batch_mean(step)
    if n:
        yield n * ctx.recompute(step, base), f"the {n} samples' values added up, not averaged"
        return

    def summed(op: Step) -> float | None:
        k = _batch_mean(op)
        return k * ctx.recompute(op, base) if k else None

    value = _through(ctx, step, base, summed, depth=2)
    if value is not None:
        yield value, "a gradient summed over the batch instead of averaged"
