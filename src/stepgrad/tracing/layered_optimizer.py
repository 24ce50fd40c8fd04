"""The optimizer's part of a layer-table network's trace: momentum's velocity, Adam's moments, ... per kernel entry.

The same sections as tracing/optimizer.py writes for a dense network (the state before the step, each
rule of the registry entry with its formula, the new parameters), named per parameter entry:
for kernel weight k1[1,1,2,2] with Adam, m_k1[1,1,2,2] and s_k1[1,1,2,2] (zero before a first step),
m_k1[1,1,2,2]+, s_k1[1,1,2,2]+, m_hat_k1[1,1,2,2], s_hat_k1[1,1,2,2] and k1[1,1,2,2]+; then E_total+,
the forward pass with the new parameters. The state starts at zero (a layer-table network is not
saved with its optimizer's state yet), so the step explained is the optimizer's first (t = 1).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from stepgrad.core import names, optim
from stepgrad.core.layers import engine
from stepgrad.core.layers.optimize import fresh_state, optimize, parameters
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.trace import Step, Trace
from stepgrad.tracing.optimizer import OptimizerStep


@dataclass(frozen=True)
class LayerOptimizerStep(OptimizerStep):
    """OptimizerStep over a layer-table network's parameters (kernel entries, dense weights, biases)."""

    pairs: tuple[tuple[Any, str], ...] = ()  # (layer, role) in optimizer order (core/layers/optimize.py)

    def parameters(self):
        """(index in optimizer order, position in the parameter's array, name) of every parameter it moves."""
        for k, (layer, role) in enumerate(self.pairs):
            if role == "bias" and not self.net.update_biases:
                continue
            for where in np.ndindex(*layer.params[role].shape):
                yield k, where, layer.parameter_name(role, tuple(i + 1 for i in where))

    def fixed(self) -> set[int]:
        """None held fixed (a layer-table network has no per-tensor trainable flags: its biases train or not)."""
        return set()


def with_optimizer(net: LayerNetwork, rec: engine.LayerStep, inputs: np.ndarray, targets: np.ndarray,
                   name: str) -> tuple[engine.LayerStep, LayerOptimizerStep]:
    """(the step with optimizer `name`'s new parameters and the forward pass after them, the optimizer's part)."""
    state = fresh_state(net, name)
    before = {slot: [a.copy() for a in arrays] for slot, arrays in state.slots.items()}
    moved, details = optimize(net, rec, state)
    moved = replace(moved, after=engine.forward(net, inputs, targets, params=moved.new_params))
    part = LayerOptimizerStep(net, optim.get(name), dict(state.hyper), state.t, before, details, [], [],
                              moved.after, tuple(dict(own) for own in state.settings),  # type: ignore[arg-type]
                              pairs=tuple(parameters(net)))
    return moved, part


def rewrite(trace: Trace, part: LayerOptimizerStep, after_error: float) -> Trace:
    """The trace with its gradient-descent update replaced by the optimizer's sections, E_total+ last."""
    done = part.rewrite(trace)
    sections = list(done.sections)
    last = sections[-1]
    error = Step(names.error(after=True), float(after_error), "error", note="the forward pass again, with the new parameters")
    sections[-1] = replace(last, steps=(*last.steps, error))
    return Trace(tuple(sections), done.meta, done.context)
