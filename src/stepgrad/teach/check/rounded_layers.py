"""Hand-calculation mode (--round K) on a layer-table network: every step's formula on the rounded values before it.

A person who rounds every value to K decimals and carries the rounded value on computes each named
step (a net, an out, a factor, an error signal, a gradient, an update) from the rounded numbers
before it, and rounds the result. This replays the exact trace's formulas in that way, in trace
order (given numbers are used as given, as tracing/build.py's round_to does for dense networks); the
error after the update is the forward pass again with the rounded new parameters, replayed alike.

    >>> from stepgrad.core.layers.spec import LayerNetwork
    >>> net = LayerNetwork.from_dict({"activation": "tanh", "layers": [{"type": "input", "shape": [1, 2, 2]},
    ...     {"type": "conv2d", "out_channels": 1, "kernel": 2, "bias": False, "weights": [[[[0.3, -0.2], [0.5, 0.1]]]]}],
    ...     "samples": [{"inputs": [[0.2, 0.4], [0.6, 0.8]], "targets": [0.5]}]})
    >>> rounded_layers(net, 3).step("net_c1[1,1,1]").value    # 0.06 - 0.08 + 0.3 + 0.08
    0.36

What the exact trace fixes beyond its formulas is a max-pool's route (the window's largest cell). When
rounding ties a window's largest cell with another that the exact values keep apart, a careful student
may send the gradient elsewhere; when it rounds a ReLU's net to exactly 0 (the exact one is not), which
side's derivative a student takes is a guess. Neither can be marked exactly: each is refused in one line.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from stepgrad.core import names
from stepgrad.core.engine import rounder
from stepgrad.core.errors import StepgradError
from stepgrad.core.layers.pool import Pool
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.layers.values import positions
from stepgrad.core.trace import Step, Trace
from stepgrad.teach.check.formula import evaluate, parse
from stepgrad.tracing.layered import explain_layers


def rounded_layers(net: LayerNetwork, round_to: int) -> Trace:
    """The trace of one step of `net` as a person computes it rounding every value to `round_to` decimals."""
    exact = explain_layers(net)
    values = _replay(exact, round_to)
    _refuse_new_ties(net, exact, values, round_to)
    _refuse_new_kinks(exact, values, round_to)
    after = names.error(after=True)
    if after in values:
        values[after] = _error_after(net, exact, values, round_to)
    sections = tuple(replace(section, steps=tuple(replace(step, value=values[step.name]) for step in section.steps))
                     for section in exact.sections)
    return Trace(sections, {**exact.meta, "round_to": round_to})


def _replay(trace: Trace, round_to: int) -> dict[str, float]:
    """Every step's value: its formula on the values before it, rounded (a step without one keeps its value)."""
    rounding = rounder(round_to)
    values: dict[str, float] = {}
    for step in trace:
        if step.text:
            values[step.name] = float(rounding(np.float64(_evaluate(step, values))))
        else:
            values[step.name] = step.value
    return values


def _evaluate(step: Step, values: dict[str, float]) -> float:
    value = evaluate(parse(step.text), values.__getitem__)
    if isinstance(value, complex):
        raise StepgradError(f"with every value rounded, {step.name} leaves the real numbers: mark it without --round")
    return float(value)


def _refuse_new_ties(net: LayerNetwork, trace: Trace, values: dict[str, float], round_to: int) -> None:
    """StepgradError when rounding ties a max-pool window's largest cell with another the exact values keep apart."""
    pools = {layer.label for layer in net.all_layers() if isinstance(layer, Pool) and layer.mode == "max"}
    for step in trace:
        if step.subject not in pools or not step.text.startswith("max("):
            continue
        cells = step.operands
        top = {c for c in cells if values[c] == max(values[c] for c in cells)}
        exact_top = {c for c in cells if trace.lookup(c) == max(trace.lookup(c) for c in cells)}
        if top != exact_top:
            tied = " = ".join(f"{c} = {values[c]:.{round_to}f}" for c in cells if c in top)
            raise StepgradError(f"rounded to {round_to} decimals, {step.name}'s window ties {tied}, which the exact "
                                f"values keep apart: where its gradient goes is not fixed; mark with more decimals "
                                f"(--round {round_to + 1}) or without --round")


def _refuse_new_kinks(trace: Trace, values: dict[str, float], round_to: int) -> None:
    """StepgradError when rounding puts a value on a kink (a ReLU's net of exactly 0) the exact value is off: which
    side's derivative the student takes is then their guess, not the rule."""
    rounding = rounder(round_to)
    for step in trace:
        for name in _KINK.findall(step.text):
            if values.get(name) != 0 or trace.lookup(name) == 0:
                continue
            sides = {float(rounding(np.float64(_evaluate(step, {**values, name: side})))) for side in (1e-300, -1e-300)}
            if len(sides) > 1:  # the two sides differ (a derivative's step), not a continuous value (elu's out)
                raise StepgradError(f"rounded to {round_to} decimals, {name} = 0 sits on the kink of {step.name}'s "
                                    f"formula (exactly {trace.lookup(name):.3g}): which side's value a student takes "
                                    f"is not fixed; mark with more decimals (--round {round_to + 1}) or without --round")


_KINK = re.compile(r"if «([^»]+)» [<>]=? 0\b")


def _error_after(net: LayerNetwork, trace: Trace, values: dict[str, float], round_to: int) -> float:
    """E_total after the update: the forward pass with the rounded new parameters, every value rounded."""
    params = {}
    for layer in net.all_layers():
        for role, array in layer.params.items():
            new = np.array(array, dtype=np.float64)
            for _, index in positions(array.shape):
                name = names.updated(layer.parameter_name(role, tuple(i + 1 for i in index)))
                if name in values:
                    new[index] = values[name]
            params[(layer.label, role)] = new
    moved = explain_layers(net.with_parameters(params))
    forward = Trace(tuple(s for s in moved.sections if s.key == "given" or s.key.startswith("forward_")
                          or s.key == "error"), moved.meta)
    return _replay(forward, round_to)[names.TOTAL]
