"""Does a finished run learn? Warnings for an error that did not move, saturated or dead neurons, and divergence.

A run can end with finite numbers and still have learned nothing; these checks say so, naming the
iteration (or epoch) and the likely cause, so a user is never left with a silent, useless network.

    >>> import stepgrad
    >>> net = stepgrad.Network.from_dict({"layers": [2, 2, 1], "activation": "relu", "loss": "half_squared_error",
    ...     "learning_rate": 0.1, "weights": [[[-1, -1], [-1, -1]], [[0.5, 0.5]]], "biases": [-1, 0.2],
    ...     "samples": [{"inputs": [0.5, 0.1], "targets": [1.0]}]})
    >>> for part in not_learning(stepgrad.train(net, 200), net.inputs)[0].split(": ", 1):
    ...     print(part)
    the error did not change over 200 iterations (E_total stays 0.32)
    h1, h2 output 0 for every sample (dead ReLU: no gradient flows through them)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from stepgrad.core import engine
from stepgrad.core.functions import ACTIVATIONS
from stepgrad.core.names import layout

FLAT = 1e-9  # relative change of the error over a whole run below which it "did not change"
GROWTH = 10.0  # the error ends this many times above where it started: divergence
SATURATED = 1e-6  # a neuron's slope dout/dnet below this for every sample: it barely learns
MIN_ITERATIONS = 50  # shorter runs are too short to judge


def not_learning(history: Any, inputs: np.ndarray | None = None) -> list[str]:
    """One line per sign that the run in `history` (train() or fit()) did not learn; [] when it did.

    `inputs` (the samples or the data set's rows) let the checks name dead and saturated neurons."""
    errors, unit = _errors(history)
    if len(errors) < 2:
        return []
    first, final = errors[0], errors[-1]
    out: list[str] = []
    steps = history.iterations if unit == "iteration" else len(history.epochs)
    if not math.isfinite(final) or final > GROWTH * first and final > first + 1e-12 or final > 1e100:
        at = next((k for k, e in enumerate(errors) if not math.isfinite(e) or e > GROWTH * first), len(errors) - 1)
        out.append(f"the error grew from {first:.3g} to {final:.3g} (from {unit} {_when(history, unit, at)} on): "
                   f"the learning rate {history.network.learning_rate:g} is probably too large")
        return out
    neurons = _stuck_neurons(history.network, inputs) if inputs is not None and len(inputs) else []
    if steps >= MIN_ITERATIONS and abs(final - first) <= FLAT * max(abs(first), 1e-300):
        cause = f": {neurons[0]}" if neurons else ""
        out.append(f"the error did not change over {steps} {unit}s (E_total stays {final:.3g}){cause}")
    elif neurons:
        out.append(f"{neurons[0]} (after {steps} {unit}s)")
    return out


def _errors(history: Any) -> tuple[list[float], str]:
    if history.epochs:
        return [float(e["loss"]) for e in history.epochs if "loss" in e], "epoch"
    return [float(e) for e in history.errors] + [float(history.final_error)], "iteration"


def _when(history: Any, unit: str, index: int) -> int:
    if unit == "epoch":
        return index + 1
    recorded = list(history.recorded) + [history.start + history.iterations]
    return recorded[min(index, len(recorded) - 1)]


def _stuck_neurons(net: Any, inputs: np.ndarray) -> list[str]:
    """A sentence about the hidden neurons that pass no gradient: dead (out 0, slope 0) or saturated."""
    fwd = engine.forward(net, np.asarray(inputs, dtype=np.float64))
    names = layout(net.layers, net.shared_biases)
    dead, saturated = [], []
    for l, act in enumerate(net.activations[:-1]):  # hidden layers
        entry = ACTIVATIONS[act]
        if entry.derivative is None:
            continue
        net_l, out_l = fwd.nets[l], fwd.outs[l + 1]
        slope = np.abs(entry.derivative(net_l, out_l))
        for j, neuron in enumerate(names.neurons[l + 1]):
            if np.all(slope[:, j] == 0) and np.all(out_l[:, j] == 0):
                dead.append(neuron)
            elif np.all(slope[:, j] < SATURATED):
                saturated.append((neuron, float(np.max(np.abs(net_l[:, j]))), act))
    lines = []
    if dead:
        lines.append(f"{', '.join(dead)} output 0 for every sample (dead ReLU: no gradient flows through them)")
    if saturated:
        shown = ", ".join(f"{n} (|net| up to {v:.3g})" for n, v, _ in saturated[:5])
        lines.append(f"{shown} saturated: {saturated[0][2]}'s slope is below {SATURATED:g} for every sample, so "
                     "their weights barely move (smaller initial weights or inputs help)")
    return ["; ".join(lines)] if lines else []
