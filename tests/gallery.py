"""The gallery of networks every feature is tried on, beyond the deck's 2-2-2.

`GALLERY` maps a short id to a spec dictionary (the spec schema of stepgrad.core.spec); `network(id)`
builds it. Weights come from the spec's seed (the default initializer), so every run is the same.
"""

from __future__ import annotations

import numpy as np

from stepgrad import builtin
from stepgrad.core.spec import Network


def _samples(inputs: int, outputs: int, count: int, seed: int, one_hot: bool = False) -> list[dict]:
    rng = np.random.default_rng(seed)
    samples = []
    for k in range(count):
        x = rng.uniform(-1, 1, inputs).round(2).tolist()
        if one_hot:
            t = [0.0] * outputs
            t[k % outputs] = 1.0
        else:
            t = rng.uniform(0, 1, outputs).round(2).tolist()
        samples.append({"inputs": x, "targets": t})
    return samples


GALLERY: dict[str, dict] = {
    "3-4-2 tanh/softmax CE, 2 samples": {
        "name": "gallery 3-4-2", "layers": [3, 4, 2], "activations": ["tanh", "softmax"],
        "loss": "cross_entropy", "learning_rate": 0.5, "seed": 1, "samples": _samples(3, 2, 2, 1, one_hot=True),
    },
    "2-3-3-1 relu, per-neuron biases": {
        "name": "gallery 2-3-3-1", "layers": [2, 3, 3, 1], "activations": ["relu", "relu", "sigmoid"],
        "loss": "half_squared_error", "learning_rate": 0.5, "seed": 2, "update_biases": True,
        "biases": [[0.1, -0.2, 0.3], [0.05, 0.1, -0.1], [0.2]], "samples": _samples(2, 1, 1, 2),
    },
    "8-6-4": {
        "name": "gallery 8-6-4", "layers": [8, 6, 4], "activations": ["sigmoid", "sigmoid"],
        "learning_rate": 0.5, "seed": 3, "samples": _samples(8, 4, 1, 3),
    },
    "16-16-10": {
        "name": "gallery 16-16-10", "layers": [16, 16, 10], "activations": ["tanh", "softmax"],
        "loss": "cross_entropy", "learning_rate": 0.1, "seed": 4, "samples": _samples(16, 10, 1, 4, one_hot=True),
    },
}


def network(key: str) -> Network:
    """The gallery network `key` ("deck" is the seed deck's 2-2-2)."""
    return builtin() if key == "deck" else Network.from_dict(GALLERY[key], f"<gallery {key}>")


SMALL = ["deck", *[k for k in GALLERY if k != "16-16-10"]]  # quick enough for every test
ALL = ["deck", *GALLERY]
