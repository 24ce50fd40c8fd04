"""Training: repeat the engine's step on the spec's samples and keep the error history.

    >>> history = stepgrad.train(stepgrad.builtin(), 10_000, update_order="sequential")
    >>> round(history.network_outputs()[0][0], 9)
    0.015912196
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import engine
from .names import layout
from .spec import Network


@dataclass
class History:
    """A training run: the errors before each recorded iteration, and the trained network."""

    network: Network
    update_order: str
    iterations: int  # iterations done in this run
    start: int  # iterations already done before this run (resumed training)
    recorded: list[int] = field(default_factory=list)  # iteration numbers (0 = before training)
    errors: list[float] = field(default_factory=list)
    final_error: float = float("nan")

    def network_outputs(self) -> np.ndarray:
        """The trained network's outputs for the spec's samples."""
        inputs, targets = self.network.require_samples()
        return engine.forward(self.network, inputs).outs[-1]

    def values(self) -> dict[str, float]:
        """Final quantities by name: out_o1, E_total, w1 ... (per-sample names for batches)."""
        net = self.network
        inputs, targets = net.require_samples()
        fwd = engine.forward(net, inputs, targets=targets)
        names = layout(net.layers, net.shared_biases)  # type: ignore[arg-type]
        multi = inputs.shape[0] > 1
        out: dict[str, float] = {}
        for s in range(inputs.shape[0]):
            sfx = f"[{s + 1}]" if multi else ""
            for l in range(net.depth):
                for j, neuron in enumerate(names.neurons[l + 1]):
                    out[f"net_{neuron}{sfx}"] = float(fwd.nets[l][s, j])
                    out[f"out_{neuron}{sfx}"] = float(fwd.outs[l + 1][s, j])
            for k, o in enumerate(names.neurons[-1]):
                out[f"E_{o}{sfx}"] = float(fwd.error_terms[s, k])
        out["E_total"] = fwd.error
        for l, layer in enumerate(names.weights):
            for j, row in enumerate(layer):
                for i, w in enumerate(row):
                    out[w] = float(net.weights[l][j, i])
        for l, bs in enumerate(names.biases):
            for j, b in enumerate(bs):
                out[b] = float(net.biases[l][j])
        return out

    def to_dict(self) -> dict:
        return {
            "update_order": self.update_order, "iterations": self.iterations, "start": self.start,
            "history": [{"iteration": i, "E_total": e} for i, e in zip(self.recorded, self.errors)],
            "final_error": self.final_error, "values": self.values(),
        }


def train(net: Network, iterations: int, update_order: str | None = None, every: int = 1,
          progress: Callable[[int], None] | None = None) -> History:
    """Train a copy of `net` for `iterations` full-batch steps; record E_total every `every` iterations."""
    order = update_order or net.update_order
    trained = net.copy()
    inputs, targets = trained.require_samples()
    start = int(trained.extra.get("training", {}).get("iterations", 0))
    history = History(trained, order, iterations, start)
    every = max(1, every)
    for it in range(iterations):
        rec = engine.step(trained, inputs, targets, order)
        engine.check_finite(rec, start + it + 1, trained)
        if it % every == 0:
            history.recorded.append(start + it)
            history.errors.append(rec.forward.error)
        engine.apply(trained, rec)
        if progress is not None:
            progress(it + 1)
    final = engine.forward(trained, inputs, targets=targets)
    history.final_error = final.error
    history.recorded.append(start + iterations)
    history.errors.append(final.error)
    trained.extra.setdefault("training", {})
    trained.extra["training"] = {"iterations": start + iterations, "update_order": order}
    return history
