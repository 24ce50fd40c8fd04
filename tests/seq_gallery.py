"""Random networks with normalization layers (layernorm, batchnorm in both modes) for the tests.

Each is a spec dictionary drawn from a seeded generator: where the normalization sits (on the input,
after a dense or a conv1d layer), its kind and settings (eps, affine, gamma, beta, the variance
estimator, batchnorm's mode, momentum and running statistics), the activations and the loss vary.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from conv_gallery import HIDDEN, OUTPUTS, SMOOTH


def _norm(rng: np.random.Generator, kind: str, features: int) -> dict[str, Any]:
    table: dict[str, Any] = {"type": kind, "eps": float(rng.choice([1e-5, 1e-3, 0.1]))}
    if rng.random() < 0.25:
        table["affine"] = False
    else:
        table["gamma"] = rng.uniform(0.5, 1.5, features).tolist()
        table["beta"] = rng.uniform(-0.5, 0.5, features).tolist()
    if rng.random() < 0.25:
        table["variance"] = "unbiased"
    if kind == "batchnorm":
        table["mode"] = str(rng.choice(["training", "evaluation"]))
        table["momentum"] = float(rng.choice([0.1, 0.3, 1.0]))
        table["running_mean"] = rng.uniform(-0.5, 0.5, features).tolist()
        table["running_var"] = rng.uniform(0.5, 2.0, features).tolist()
    return table


def random_norm_spec(seed: int, smooth: bool = False, samples: int | None = None,
                     kind: str | None = None) -> dict[str, Any]:
    """A random spec with a layernorm or batchnorm; `smooth`: activations without kinks (finite differences)."""
    rng = np.random.default_rng(seed)
    acts = SMOOTH if smooth else HIDDEN
    kind = kind or str(rng.choice(["layernorm", "batchnorm"]))
    on_map = kind == "batchnorm" and rng.random() < 0.3
    if on_map:
        channels, length = int(rng.integers(1, 3)), int(rng.integers(2, 5))
        shape = [channels, length]
        layers: list[Any] = [{"type": "input", "shape": shape}]
        if rng.random() < 0.5:
            out = int(rng.integers(1, 3))
            layers.append({"type": "conv1d", "out_channels": out, "kernel": 1, "activation": str(rng.choice(acts))})
            channels = out
        layers.append(_norm(rng, kind, channels))
        layers.append({"type": "flatten"})
    else:
        features = int(rng.integers(2, 6))
        shape = [features]
        layers = [{"type": "input", "shape": shape}]
        if rng.random() < 0.7:
            features = int(rng.integers(2, 6))
            layers.append({"type": "dense", "neurons": features, "activation": str(rng.choice(acts)),
                           "bias": bool(rng.random() < 0.7)})
        layers.append(_norm(rng, kind, features))
        if rng.random() < 0.5:
            layers.append({"type": "dense", "neurons": int(rng.integers(2, 5)), "activation": str(rng.choice(acts))})
    output, loss = OUTPUTS[int(rng.integers(len(OUTPUTS)))]
    units = int(rng.integers(2, 4))
    layers.append({"type": "dense", "neurons": units, "activation": output})
    count = samples or int(rng.integers(2, 5))
    rows = []
    for _ in range(count):
        if output == "softmax":
            target = rng.dirichlet(np.ones(units)).tolist()
        elif output == "sigmoid":
            target = rng.uniform(0.05, 0.95, units).tolist()
        else:
            target = rng.uniform(-0.9, 0.9, units).tolist()
        rows.append({"inputs": rng.uniform(-1, 1, shape).tolist(), "targets": target})
    return {"layers": layers, "loss": loss, "learning_rate": 0.1, "seed": seed, "init": "he",
            "update_biases": True, "reduction": str(rng.choice(["mean", "sum"])), "samples": rows}
