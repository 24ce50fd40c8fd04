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
    if rng.random() < 0.25 and (features > 1 or kind == "batchnorm"):
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


SEQUENCE_OUTPUTS = (("sigmoid", "half_squared_error"), ("linear", "mean_squared_error"), ("tanh", "half_squared_error"))


def random_rnn_spec(seed: int, smooth: bool = False, samples: int | None = None,
                    truncate: bool | None = None) -> dict[str, Any]:
    """A random sequence network: a sequence input, perhaps a layernorm, an rnn (tanh or relu; relu only when
    not `smooth`), its last state or every step's to dense layers, the loss at the last step or every step."""
    rng = np.random.default_rng(seed)
    acts = SMOOTH if smooth else HIDDEN
    steps, features, hidden = int(rng.integers(1, 5)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    layers: list[Any] = [{"type": "sequence", "steps": steps, "features": features}]
    if rng.random() < 0.3 and features > 1:  # over 1 feature xhat is 0 (torch: a rounding error of 1e-15)
        layers.append(_norm(rng, "layernorm", features))
    output = str(rng.choice(["last", "sequence"]))
    rnn: dict[str, Any] = {"type": "rnn", "hidden": hidden, "output": output,
                           "activation": "tanh" if smooth or rng.random() < 0.6 else "relu",
                           "bias": bool(rng.random() < 0.8)}
    if rng.random() < 0.4:
        rnn["h0"] = rng.uniform(-0.5, 0.5, hidden).tolist()
    if truncate or (truncate is None and rng.random() < 0.3):
        rnn["truncate"] = int(rng.integers(1, max(steps, 1) + 1))
    layers.append(rnn)
    return _head_and_samples(rng, layers, output, acts, steps, features, samples, seed)


def random_attention_spec(seed: int, smooth: bool = False, samples: int | None = None,
                          torch_shaped: bool | None = None) -> dict[str, Any]:
    """A random spec with an attention head on a sequence: sizes, scale on or off, a causal mask or none,
    biases, every position's out (per-step loss) or the last one's; `torch_shaped`: every size equal to the
    features, scaled, as nn.MultiheadAttention with one head has it."""
    rng = np.random.default_rng(seed)
    acts = SMOOTH if smooth else HIDDEN
    steps, features = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    shaped = bool(rng.random() < 0.4) if torch_shaped is None else torch_shaped
    layers: list[Any] = [{"type": "sequence", "steps": steps, "features": features}]
    table: dict[str, Any] = {"type": "attention", "causal": bool(rng.random() < 0.5), "bias": bool(rng.random() < 0.7),
                             "output": str(rng.choice(["sequence", "last"]))}
    if shaped:
        table["scale"] = True
    else:
        table.update(key_size=int(rng.integers(1, 4)), value_size=int(rng.integers(1, 4)),
                     out_size=int(rng.integers(1, 4)), scale=bool(rng.random() < 0.7))
    # larger weights than the initializer's, so that the weights a[i,j] are far from uniform
    sizes = {"q": ("key_size", features), "k": ("key_size", features), "v": ("value_size", features)}
    for p, (key, inputs) in sizes.items():
        table[f"weights_{p}"] = rng.uniform(-1.5, 1.5, (table.get(key, features), inputs)).tolist()
    if rng.random() < 0.3 and features > 1:
        layers.append(_norm(rng, "layernorm", features))
    layers.append(table)
    output = table["output"]
    return _head_and_samples(rng, layers, output, acts, steps, features, samples, seed)


def _head_and_samples(rng: np.random.Generator, layers: list[Any], output: str, acts: Any, steps: int,
                      features: int, samples: int | None, seed: int) -> dict[str, Any]:
    """A sequence layer's spec finished: maybe a dense layer, the output layer and its loss, random samples."""
    if rng.random() < 0.4:
        layers.append({"type": "dense", "neurons": int(rng.integers(1, 4)), "activation": str(rng.choice(acts))})
    if output == "sequence":
        final, loss = SEQUENCE_OUTPUTS[int(rng.integers(len(SEQUENCE_OUTPUTS)))]
    else:
        final, loss = OUTPUTS[int(rng.integers(len(OUTPUTS)))]
    units = int(rng.integers(1, 3)) if final != "softmax" else int(rng.integers(2, 4))
    layers.append({"type": "dense", "neurons": units, "activation": final})
    count = samples or int(rng.integers(1, 4))
    outputs = units * (steps if output == "sequence" else 1)
    rows = []
    for _ in range(count):
        if final == "softmax":
            target = rng.dirichlet(np.ones(units)).tolist()
        elif final == "sigmoid":
            target = rng.uniform(0.05, 0.95, outputs).tolist()
        else:
            target = rng.uniform(-0.9, 0.9, outputs).tolist()
        rows.append({"inputs": rng.uniform(-1, 1, (steps, features)).tolist(), "targets": target})
    spec = {"layers": layers, "loss": loss, "learning_rate": 0.1, "seed": seed, "init": "xavier",
            "update_biases": True, "reduction": str(rng.choice(["mean", "sum"])), "samples": rows}
    if output == "sequence":
        spec["step_reduction"] = str(rng.choice(["sum", "mean"]))
    return spec
