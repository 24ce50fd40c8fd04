"""Any registry optimizer (core/optim.py: momentum, Adam, RMSprop, ...) on a layer-table network's step.

The engine's step (engine.step) computes the batch gradients and gradient descent's new parameters;
`optimize` replaces those with the optimizer's, from an OptimizerState over the network's parameters
in `parameters(net)` order (every layer as computed, each layer's parameters in its own order: a conv
layer's kernel then bias, a dense layer's weight then bias). Biases stay as they are, with their
state, when update_biases is off, as engine.step leaves them.

    >>> from stepgrad.core.layers.spec import LayerNetwork
    >>> net = LayerNetwork.from_dict({"layers": [{"type": "input", "shape": [1, 3, 3]},
    ...     {"type": "conv2d", "out_channels": 1, "kernel": 2}], "seed": 1})
    >>> [(layer.label, role) for layer, role in parameters(net)]
    [('c1', 'kernel'), ('c1', 'bias')]
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from stepgrad.core import optim
from stepgrad.core.layers import engine
from stepgrad.core.layers.base import Layer
from stepgrad.core.layers.spec import LayerNetwork

Array = np.ndarray


def parameters(net: LayerNetwork) -> list[tuple[Layer, str]]:
    """(layer, role) of every parameter, in optimizer order."""
    return [(layer, role) for layer in net.all_layers() for role in layer.params]


def fresh_state(net: LayerNetwork, name: str, **hyper: float) -> optim.OptimizerState:
    """A zero state of optimizer `name` (the registry's hyperparameters unless given) for the network's parameters."""
    return optim.OptimizerState.fresh(name, [layer.params[role] for layer, role in parameters(net)], **hyper)


def optimize(net: LayerNetwork, rec: engine.LayerStep,
             state: optim.OptimizerState) -> tuple[engine.LayerStep, list[dict[str, Array]]]:
    """(the step with the optimizer's new parameters, each parameter's quantities: v+, m+, m_hat, ..., p+);
    advances `state` by one step."""
    pairs = parameters(net)
    params = [layer.params[role] for layer, role in pairs]
    grads = [rec.grads[(layer.label, role)] for layer, role in pairs]
    active = [role != "bias" or net.update_biases for _, role in pairs]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        new, details = optim.apply(state, net.learning_rate, params, grads, active)
    moved = replace(rec, new_params={(layer.label, role): p for (layer, role), p in zip(pairs, new, strict=True)})
    engine.check_finite(moved)
    return moved, details
