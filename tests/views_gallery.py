"""A small gallery for the matrix, graph, numeric and quiz tests: the deck's 2-2-2 and three shapes
it does not cover (softmax cross-entropy with a batch, ReLU with per-neuron biases, a wider net)."""

from __future__ import annotations

import numpy as np

import stepgrad


def _weights(rng: np.random.Generator, layers: list[int]) -> list[list[list[float]]]:
    return [rng.normal(0, 1 / np.sqrt(layers[l]), size=(layers[l + 1], layers[l])).round(3).tolist()
            for l in range(len(layers) - 1)]


def gallery() -> dict[str, stepgrad.Network]:
    """name -> network."""
    rng = np.random.default_rng(17)
    nets = {"deck-2-2-2": stepgrad.builtin()}
    nets["3-4-2-tanh-softmax-ce"] = stepgrad.Network.from_dict({
        "layers": [3, 4, 2], "activations": ["tanh", "softmax"], "loss": "cross_entropy",
        "learning_rate": 0.1, "update_biases": True, "weights": _weights(rng, [3, 4, 2]), "biases": [0.1, -0.2],
        "samples": [{"inputs": [0.5, -1.0, 0.25], "targets": [1.0, 0.0]},
                    {"inputs": [-0.3, 0.8, 0.9], "targets": [0.0, 1.0]}]})
    nets["2-3-3-1-relu-per-neuron"] = stepgrad.Network.from_dict({
        "layers": [2, 3, 3, 1], "activations": ["relu", "relu", "linear"], "learning_rate": 0.05,
        "update_biases": True, "weights": _weights(rng, [2, 3, 3, 1]),
        "biases": [[0.1, 0.2, 0.3], [0.05, 0.15, 0.25], [0.0]],
        "samples": [{"inputs": [1.0, 2.0], "targets": [0.5]}, {"inputs": [-0.5, 1.5], "targets": [-0.25]}]})
    nets["8-6-4-sigmoid"] = stepgrad.Network.from_dict({
        "layers": [8, 6, 4], "learning_rate": 0.5, "weights": _weights(rng, [8, 6, 4]), "biases": [0.2, 0.4],
        "samples": [{"inputs": rng.uniform(0, 1, 8).round(2).tolist(), "targets": [0.1, 0.9, 0.3, 0.7]}]})
    return nets
