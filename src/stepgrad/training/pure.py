"""The pure-Python training path for tiny networks: straight-line code generated per network shape.

Without numba, numpy's per-call overhead (~1 µs) dominates a few-neuron network, and a plain
Python loop is faster. This backend writes that loop once per network shape: every net, out,
error term, delta, gradient and update is one scalar statement built from the registry entries'
`python` forms (activations, losses, combinations, optimizers), compiled with `compile()` and
cached. The source is assembled only from those templates and from numbers we generate (layer
sizes, indices), never from user input. The arithmetic is engine.step's: the batch error is the
mean over samples, gradients the matching mean, a shared bias the sum of its neurons' gradients,
biases move only with update_biases, and the sequential order sends deltas down through the
just-updated weights. Tested against engine.step over every registry entry.

    >>> from stepgrad.core import optim
    >>> net = stepgrad.builtin()
    >>> inputs, targets = net.require_samples()
    >>> state = optim.OptimizerState.fresh("sgd", optim.parameters(net))
    >>> params, errors = run(net, inputs, targets, 10_000, None, 0, state, sequential=True)
    >>> round(float(errors[-1]), 9)    # E_total before the 10,000th step (sequential order)
    3.5091e-05
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

from stepgrad.core import optim
from stepgrad.core.functions import activation, loss
from stepgrad.training.tiny import Layout

MAX_PARAMETERS = 64  # above this, numpy (fast.DenseTrainer) or the engine wins
# the names the registry's generated scalar code uses (sympy's pycode, unqualified math functions)
_MATH = {name: getattr(math, name) for name in ("exp", "log", "log1p", "tanh", "sqrt", "cosh", "sinh", "erf",
                                                "copysign", "pi")} | {"abs": abs, "max": max, "min": min}


def _forms(net) -> tuple[list[Any], Any, bool] | None:
    """(activation python forms, the loss's python form, combined?) or None when an entry has none."""
    acts = [activation(a).python for a in net.activations]
    entry = loss(net.loss)
    combined = entry.combination(net.activations[-1])
    form = combined.python if combined is not None else (entry.python if entry.value is not None else None)
    if form is None or any(a is None for a in acts):
        return None
    return acts, form, combined is not None


def supports(net, dtype=np.float64, optimizer: str = "sgd", update_order: str | None = None) -> bool:
    """Whether this path takes the network: float64, small, and every registry entry has a python form."""
    if net.reduction != "mean" or net.partly_frozen:  # the summed batch, frozen parameters: engine.step alone
        return False
    rule = optim.get(optimizer)
    if np.dtype(dtype) != np.float64 or net.parameter_count > MAX_PARAMETERS or rule.python is None:
        return False
    if (update_order or net.update_order) == "sequential" and not rule.plain:
        return False
    return _forms(net) is not None


def run(net, inputs: np.ndarray, targets: np.ndarray, steps: int, order, batch_size: int, state,
        sequential: bool) -> tuple[np.ndarray, np.ndarray]:
    """Train for `steps` steps, as tiny.run does (same arguments and results); the state advances in place.

    A step whose arithmetic overflows (math raises where numpy gives inf) ends the run with
    non-finite parameters, so that the caller falls back to the engine, which names the place.
    """
    if not supports(net, np.float64, state.name, "sequential" if sequential else "synchronous"):
        raise ValueError(f"the pure-Python path does not support this network ({net.activations}, {net.loss})")
    lay = Layout(net)
    key = (tuple(net.layers), tuple(net.activations), net.loss, tuple(int(c) for c in lay.bias_count),
           bool(net.update_biases), sequential, state.name)
    train = _compiled(key)
    params = lay.pack(net.weights, net.biases).tolist()
    slots = {name: lay.pack(arrays[:net.depth], arrays[net.depth:]).tolist() for name, arrays in state.slots.items()}
    n = inputs.shape[0]
    if order is None:
        rows, starts, ends = list(range(n)), [0] * steps, [n] * steps
    else:
        rows, starts, ends = (a.tolist() for a in order)
    try:
        params, slots, errors = train(params, slots, inputs.tolist(), targets.tolist(), rows, starts, ends, steps,
                                      state.t, float(net.learning_rate), dict(state.hyper))
    except (OverflowError, ZeroDivisionError, ValueError):
        return np.full(lay.size, np.nan), np.full(steps, np.nan)
    for name, flat in slots.items():
        w, b = lay.unpack(np.array(flat), net.weights, net.biases)
        state.slots[name] = w + b
    state.t += steps
    return np.array(params), np.array(errors)


@lru_cache(maxsize=64)
def _compiled(key: tuple) -> Callable[..., Any]:
    layers, acts, loss_name, bias_count, update_biases, sequential, optimizer = key
    source = generate(list(layers), list(acts), loss_name, list(bias_count), update_biases, sequential, optimizer)
    namespace: dict[str, Any] = dict(_MATH)
    # The source is ours (registry templates and generated indices), never user input.
    exec(compile(source, f"<stepgrad.training.pure {'-'.join(map(str, layers))}>", "exec"), namespace)  # noqa: S102
    return namespace["train"]


def generate(layers: list[int], acts: list[str], loss_name: str, bias_count: list[int], update_biases: bool,
             sequential: bool, optimizer: str) -> str:
    """The Python source of the training function for one network shape (see the module docstring)."""
    depth = len(layers) - 1
    act_forms = [form for form in (activation(a).python for a in acts) if form is not None]
    entry = loss(loss_name)
    combined = entry.combination(acts[-1])
    loss_form = combined.python if combined is not None else entry.python
    rule = optim.get(optimizer)
    if loss_form is None or rule.python is None or len(act_forms) != len(acts):
        raise ValueError(f"no Python form for {acts}, {loss_name} or {optimizer}")
    # flat indices, as tiny.Layout: weights row-major, layer by layer, then every bias vector
    weight_at, at = [], 0
    for l in range(depth):
        weight_at.append(at)
        at += layers[l + 1] * layers[l]
    bias_at = []
    for l in range(depth):
        bias_at.append(at)
        at += bias_count[l]
    size = at

    def w(l: int, j: int, i: int) -> int:
        return weight_at[l] + j * layers[l] + i

    def b(l: int, j: int) -> int:
        return bias_at[l] + (0 if bias_count[l] == 1 else j)

    def outs(l: int) -> list[str]:  # activations of layer l (0: the inputs)
        return [f"a{l}_{i}" for i in range(layers[l])]

    def nets(l: int) -> list[str]:  # net values of weight layer l
        return [f"z{l}_{j}" for j in range(layers[l + 1])]

    def deltas(l: int) -> list[str]:
        return [f"d{l}_{j}" for j in range(layers[l + 1])]

    def tup(names: list[str]) -> str:
        return "(" + "".join(f"{n}, " for n in names) + ")"

    sample = outs(0) + [v for l in range(depth) for v in nets(l) + outs(l + 1)]
    targets = [f"y{o}" for o in range(layers[-1])]
    n_out = float(layers[-1])
    params = [f"p{k}" for k in range(size)]
    out, z = outs(depth), nets(depth - 1)
    roles = [{"out": out[o], "net": z[o], "target": targets[o], "n": n_out} for o in range(layers[-1])]
    lines = ["def train(P, S, X, T, rows, starts, ends, steps, t0, lr, hyper):"]
    put = lines.append
    put(f"    {tup(params)} = P")
    for slot in rule.slots:
        put(f"    {tup([f'{slot}_{k}' for k in range(size)])} = S[{slot!r}]")
    for h in rule.hyper:
        put(f"    {h} = hyper[{h!r}]")
    put("    errors = [0.0] * steps")
    put("    for k in range(steps):")
    put("        batch = rows[starts[k]:ends[k]]")
    put("        nb = len(batch)")
    put("        t = t0 + k + 1")

    def sample_forward(pad: str) -> None:
        put(f"{pad}{tup(outs(0))} = X[r]")
        put(f"{pad}{tup(targets)} = T[r]")
        for l in range(depth):
            for j in range(layers[l + 1]):
                terms = " + ".join(f"p{w(l, j, i)} * a{l}_{i}" for i in range(layers[l]))
                put(f"{pad}z{l}_{j} = {terms} + p{b(l, j)}")
            for j in range(layers[l + 1]):
                put(f"{pad}a{l + 1}_{j} = {act_forms[l].value.format(net=f'z{l}_{j}')}")
        put(f"{pad}error = " + " + ".join(f"({loss_form.value.format(**r)})" for r in roles))
        for o, r in enumerate(roles):
            if combined is not None:
                put(f"{pad}d{depth - 1}_{o} = {loss_form.derivative.format(**r)}")
            else:
                put(f"{pad}d{depth - 1}_{o} = ({loss_form.derivative.format(**r)}) * "
                    f"({act_forms[-1].derivative.format(**r)})")

    def update(l: int, pad: str) -> None:
        indices = [w(l, j, i) for j in range(layers[l + 1]) for i in range(layers[l])]
        if update_biases:
            indices += sorted({b(l, j) for j in range(layers[l + 1])})
        for k in indices:
            names = {"p": f"p{k}", "g": f"g{k}"} | {slot: f"{slot}_{k}" for slot in rule.slots}
            for statement in rule.python:  # type: ignore[union-attr]
                put(pad + statement.format(**names))

    def lower_deltas(l: int, pad: str) -> None:
        for i in range(layers[l]):
            back = " + ".join(f"d{l}_{j} * p{w(l, j, i)}" for j in range(layers[l + 1]))
            derivative = act_forms[l - 1].derivative.format(net=f"z{l - 1}_{i}", out=f"a{l}_{i}")
            put(f"{pad}d{l - 1}_{i} = ({back}) * ({derivative})")

    def bias_gradients(l: int, pad: str, sums: list[str]) -> None:
        if bias_count[l] == 1:
            put(f"{pad}g{b(l, 0)} = " + " + ".join(sums))
        else:
            for j, c in enumerate(sums):
                put(f"{pad}g{b(l, j)} = {c}")

    # One sample per step (the deck): straight-line code, no lists (a mean over one sample is the value).
    pad = " " * 12
    put("        if nb == 1:")
    put(f"{pad}r = batch[0]")
    sample_forward(pad)
    put(f"{pad}errors[k] = error")
    for l in range(depth - 1, -1, -1):
        for j in range(layers[l + 1]):
            for i in range(layers[l]):
                put(f"{pad}g{w(l, j, i)} = d{l}_{j} * a{l}_{i}")
        bias_gradients(l, pad, [f"d{l}_{j}" for j in range(layers[l + 1])])
        if sequential:
            update(l, pad)
        if l > 0:
            lower_deltas(l, pad)
    if not sequential:
        for l in range(depth):
            update(l, pad)
    # A batch: the forward pass per sample, kept; then layer by layer, the mean gradients.
    put("        else:")
    put(f"{pad}total = 0.0")
    put(f"{pad}F = []")
    put(f"{pad}D{depth - 1} = []")
    put(f"{pad}for r in batch:")
    sample_forward(pad + "    ")
    put(f"{pad}    total += error")
    put(f"{pad}    F.append({tup(sample)})")
    put(f"{pad}    D{depth - 1}.append({tup(deltas(depth - 1))})")
    put(f"{pad}errors[k] = total / nb")
    for l in range(depth - 1, -1, -1):
        grads = [f"g{w(l, j, i)}" for j in range(layers[l + 1]) for i in range(layers[l])]
        sums = [f"c{l}_{j}" for j in range(layers[l + 1])]
        put(f"{pad}{' = '.join(grads + sums)} = 0.0")
        put(f"{pad}for {tup(sample)}, {tup(deltas(l))} in zip(F, D{l}):")
        for j in range(layers[l + 1]):
            for i in range(layers[l]):
                put(f"{pad}    g{w(l, j, i)} += d{l}_{j} * a{l}_{i}")
            put(f"{pad}    c{l}_{j} += d{l}_{j}")
        for g in grads:
            put(f"{pad}{g} = {g} / nb")
        bias_gradients(l, pad, [f"{c} / nb" for c in sums])
        if sequential:
            update(l, pad)
        if l == 0:
            break
        put(f"{pad}D{l - 1} = []")
        put(f"{pad}for {tup(sample)}, {tup(deltas(l))} in zip(F, D{l}):")
        lower_deltas(l, pad + "    ")
        put(f"{pad}    D{l - 1}.append({tup(deltas(l - 1))})")
    if not sequential:
        for l in range(depth):
            update(l, pad)
    slots = ", ".join(f"{slot!r}: [{', '.join(f'{slot}_{k}' for k in range(size))}]" for slot in rule.slots)
    put(f"    return [{', '.join(params)}], {{{slots}}}, errors")
    return "\n".join(lines) + "\n"
