"""The engine's gradients against central finite differences of its own error, on random networks.

dE/dp ~ (E(p + h) - E(p - h)) / 2h with h = 1e-5, for every weight and bias (a shared bias is one
number, so its difference quotient is the gradient summed over its layer). Agreement:
|engine - fd| <= 1e-6 * max(|fd|, 1e-3), i.e. 1e-6 relative with an absolute floor of 1e-9 (the
quotient's own error is about 1e-11). Networks whose ReLU-type neurons sit within 1e-3 of the kink
are skipped (the difference quotient straddles it); the rest cover every activation and loss.
"""

from __future__ import annotations

import numpy as np
import pytest

import stepgrad
from stepgrad.core import engine
from stepgrad.core.functions import ACTIVATIONS
from stepgrad.core.functions import LOSSES as LOSS_ENTRIES

H, RTOL, FLOOR = 1e-5, 1e-6, 1e-3
# Drawn from the registry: a new activation or loss is tested here the moment it exists.
HIDDEN = [name for name, entry in ACTIVATIONS.items() if entry.hidden_ok]
OUTPUT = list(ACTIVATIONS)
LOSSES = list(LOSS_ENTRIES)
KINKED = ("relu", "leaky_relu")


def random_network(seed: int) -> stepgrad.Network:
    """A network with 1-4 hidden layers of 1-8 neurons, random activations, loss, biases and batch."""
    rng = np.random.default_rng(seed)
    loss = LOSSES[seed % len(LOSSES)]
    hidden = int(rng.integers(1, 5))
    layers = [int(n) for n in rng.integers(1, 9, size=hidden + 2)]
    acts = [HIDDEN[int(rng.integers(len(HIDDEN)))] for _ in range(hidden)]
    combinations = list(LOSS_ENTRIES[loss].combinations)
    if LOSS_ENTRIES[loss].value is None:  # defined only with certain outputs (cross-entropy)
        out = combinations[(seed // len(LOSSES)) % len(combinations)]
    else:
        out = OUTPUT[(seed // len(LOSSES)) % len(OUTPUT)]
    if out == "softmax" and layers[-1] == 1:
        layers[-1] = 2
    acts.append(out)
    samples = int(rng.integers(1, 6))
    x = rng.normal(0, 1, size=(samples, layers[0]))
    combined = LOSS_ENTRIES[loss].combination(out)
    if out == "softmax" or (combined is not None and combined.distribution):
        t = rng.dirichlet(np.ones(layers[-1]), size=samples)
    elif out == "sigmoid" or combined is not None:  # probabilities (a loss of raw scores)
        t = rng.uniform(0, 1, size=(samples, layers[-1]))
    else:  # wide enough for huber's both branches
        t = rng.normal(0, 1.5, size=(samples, layers[-1]))
    biases = []
    for n in layers[1:]:
        biases.append(float(rng.normal(0, 0.5)) if rng.random() < 0.5 else rng.normal(0, 0.5, size=n).tolist())
    return stepgrad.Network.from_dict({
        "layers": layers, "activations": acts, "loss": loss,
        "learning_rate": float(rng.uniform(0.05, 1.0)), "update_biases": bool(rng.random() < 0.7),
        "weights": [rng.normal(0, 1.0 / np.sqrt(layers[l]), size=(layers[l + 1], layers[l])).tolist()
                    for l in range(len(layers) - 1)],
        "biases": biases,
        "samples": [{"inputs": xi.tolist(), "targets": ti.tolist()} for xi, ti in zip(x, t)],
    })


def error(net, weights, biases) -> float:
    return engine.forward(net, net.inputs, weights, biases, net.targets).error


def near_kink(net) -> bool:
    fwd = engine.forward(net, net.inputs)
    return any(act in KINKED and np.min(np.abs(z)) < 1e-3 for act, z in zip(net.activations, fwd.nets))


def finite_differences(net, params: list[np.ndarray], which: str) -> list[np.ndarray]:
    grads = []
    for l, p in enumerate(params):
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            values = []
            for sign in (1, -1):
                moved = [q.copy() for q in params]
                moved[l][idx] += sign * H
                ws, bs = (moved, net.biases) if which == "weights" else (net.weights, moved)
                values.append(error(net, ws, bs))
            g[idx] = (values[0] - values[1]) / (2 * H)
        grads.append(g)
    return grads


@pytest.mark.parametrize("chunk", range(4))
def test_gradients_match_central_differences(chunk):
    checked = 0
    for seed in range(1000 + chunk, 1400, 4):
        net = random_network(seed)
        if near_kink(net):
            continue
        rec = engine.step(net, net.inputs, net.targets, "synchronous")
        for which, params, ours in (("weights", net.weights, rec.grad_weights), ("biases", net.biases, rec.grad_biases)):
            for l, (fd, g) in enumerate(zip(finite_differences(net, params, which), ours)):
                assert fd.shape == g.shape
                bad = np.abs(g - fd) > RTOL * np.maximum(np.abs(fd), FLOOR)
                assert not bad.any(), (f"seed {seed} {net.layers} {net.activations} {net.loss}: {which}[{l}] "
                                       f"engine {g[bad][:3]} vs finite differences {fd[bad][:3]}")
        checked += 1
        if checked == 15:
            break
    assert checked == 15
