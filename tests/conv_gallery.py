"""Random layer-table networks (conv2d, conv1d, maxpool, avgpool, flatten, dense, residual) for the tests.

Each is a spec dictionary, drawn from a seeded generator: shapes, channels, kernels, strides,
paddings, biases, activations, convolution mode and the loss vary; the weights come from the spec's
seeded initializer, the inputs and targets from the generator.
"""

from __future__ import annotations

from typing import Any

import numpy as np

HIDDEN = ("tanh", "sigmoid", "relu", "leaky_relu", "softplus", "linear", "elu", "silu")
SMOOTH = ("tanh", "sigmoid", "softplus", "linear", "silu", "gelu")  # finite differences: no kinks
OUTPUTS = (("sigmoid", "half_squared_error"), ("softmax", "cross_entropy"), ("linear", "mean_squared_error"),
           ("tanh", "half_squared_error"), ("sigmoid", "cross_entropy"))


def _conv(rng: np.random.Generator, dims: int, size: list[int], channels: int, acts: tuple[str, ...],
          keep_shape: bool = False) -> tuple[dict[str, Any], list[int], int]:
    if keep_shape:
        k = int(rng.choice([1, 3]))
        stride, padding, out_channels = 1, (k - 1) // 2, channels
    else:
        k = int(rng.integers(1, min(3, min(size)) + 1))
        stride, padding, out_channels = int(rng.integers(1, 3)), int(rng.integers(0, 2)), int(rng.integers(1, 4))
    table = {"type": f"conv{dims}d", "out_channels": out_channels, "kernel": k, "stride": stride,
             "padding": padding, "activation": str(rng.choice(acts)), "bias": bool(rng.random() < 0.7)}
    if dims == 2 and not keep_shape and rng.random() < 0.3:  # a rectangular kernel and stride
        table["kernel"] = [k, int(rng.integers(1, min(3, size[1]) + 1))]
        table["stride"] = [stride, int(rng.integers(1, 3))]
        table["padding"] = [padding, int(rng.integers(0, 2))]
    kr, kc = (table["kernel"] if isinstance(table["kernel"], list) else [k, k])
    sr, sc = (table["stride"] if isinstance(table["stride"], list) else [stride, stride])
    pr, pc = (table["padding"] if isinstance(table["padding"], list) else [padding, padding])
    if dims == 1:
        new = [(size[0] + 2 * padding - k) // stride + 1]
    else:
        new = [(size[0] + 2 * pr - kr) // sr + 1, (size[1] + 2 * pc - kc) // sc + 1]
    return table, new, out_channels


def random_spec(seed: int, smooth: bool = False, samples: int | None = None) -> dict[str, Any]:
    """A random conv network spec; `smooth`: only activations without kinks and no max-pool (finite differences)."""
    rng = np.random.default_rng(seed)
    acts = SMOOTH if smooth else HIDDEN
    dims = int(rng.choice([1, 2], p=[0.3, 0.7]))
    channels = int(rng.integers(1, 3))
    size = [int(rng.integers(5, 11))] if dims == 1 else [int(rng.integers(4, 8)), int(rng.integers(4, 8))]
    layers: list[Any] = [{"type": "input", "shape": [channels, *size]}]
    for _ in range(int(rng.integers(1, 3))):
        table, size, channels = _conv(rng, dims, size, channels, acts)
        layers.append(table)
        if rng.random() < 0.4:
            inner = [_conv(rng, dims, size, channels, acts, keep_shape=True)[0] for _ in range(int(rng.integers(1, 3)))]
            layers.append({"type": "residual", "layers": inner, "activation": str(rng.choice(acts))})
        if min(size) >= 2 and rng.random() < 0.6:
            mode = "avgpool" if smooth else str(rng.choice(["maxpool", "avgpool"]))
            k = int(rng.integers(1, min(3, min(size)) + 1))
            s = int(rng.integers(1, k + 1))
            layers.append({"type": mode, "kernel": k, "stride": s})
            size = [(n - k) // s + 1 for n in size]
    layers.append({"type": "flatten"})
    if rng.random() < 0.5:
        layers.append({"type": "dense", "neurons": int(rng.integers(2, 5)), "activation": str(rng.choice(acts))})
    output, loss = OUTPUTS[int(rng.integers(len(OUTPUTS)))]
    units = int(rng.integers(2, 4))
    layers.append({"type": "dense", "neurons": units, "activation": output})
    count = samples or int(rng.integers(1, 4))
    shape = layers[0]["shape"]
    rows = []
    for _ in range(count):
        if output == "softmax":
            target = rng.dirichlet(np.ones(units)).tolist()
        elif output in ("sigmoid",):
            target = rng.uniform(0.05, 0.95, units).tolist()
        else:
            target = rng.uniform(-0.9, 0.9, units).tolist()
        rows.append({"inputs": rng.uniform(-1, 1, shape).tolist(), "targets": target})
    return {"layers": layers, "loss": loss, "learning_rate": 0.1, "seed": seed, "init": "he",
            "convolution": str(rng.choice(["cross_correlation", "convolution"])), "update_biases": True,
            "reduction": str(rng.choice(["mean", "sum"])), "samples": rows}


# The convolution guide's network (docs/guides/convolution.md): a 4x4 image, one 2x2 kernel, a 3x3 max-pool of
# stride 3 and a sigmoid dense layer, with fixed numbers.
CNN: dict[str, Any] = {
    "activation": "relu", "loss": "half_squared_error", "learning_rate": 0.1,
    "layers": [{"type": "input", "shape": [1, 4, 4]},
               {"type": "conv2d", "out_channels": 1, "kernel": 2, "weights": [[[[0.1, -0.2], [0.3, 0.4]]]],
                "biases": [0.05]},
               {"type": "maxpool", "kernel": 3, "stride": 3}, {"type": "flatten"},
               {"type": "dense", "neurons": 2, "activation": "sigmoid", "weights": [[0.5], [-0.6]],
                "biases": [0.1, 0.2]}],
    "samples": [{"inputs": [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8], [0.9, 1.0, 0.0, 0.1], [0.2, 0.3, 0.4, 0.5]],
                 "targets": [0.2, 0.8]}],
}

# Two channels in and out, stride 2 and padding 1, then a residual block, an average pool and a dense layer
# (fixed numbers, so that a picture of it can be looked at and compared across formats).
STRIDED: dict[str, Any] = {
    "activation": "tanh", "loss": "half_squared_error", "learning_rate": 0.1, "update_biases": True,
    "layers": [
        {"type": "input", "shape": [2, 5, 5]},
        {"type": "conv2d", "out_channels": 2, "kernel": 3, "stride": 2, "padding": 1,
         "weights": [[[[0.1, -0.2, 0.3], [0.0, 0.2, -0.1], [0.25, 0.1, -0.3]],
                      [[-0.15, 0.05, 0.2], [0.3, -0.25, 0.1], [0.05, 0.15, -0.2]]],
                     [[[0.2, 0.1, -0.05], [-0.3, 0.15, 0.25], [0.1, -0.2, 0.05]],
                      [[0.05, -0.1, 0.3], [0.2, 0.1, -0.15], [-0.25, 0.3, 0.1]]]],
         "biases": [0.05, -0.1]},
        {"type": "residual", "layers": [{"type": "conv2d", "out_channels": 2, "kernel": 1,
                                         "weights": [[[[0.5]], [[-0.2]]], [[[0.3]], [[0.4]]]], "biases": [0.0, 0.1]}]},
        {"type": "avgpool", "kernel": 2, "stride": 1},
        {"type": "flatten"},
        {"type": "dense", "neurons": 2, "activation": "sigmoid",
         "weights": [[0.3, -0.2, 0.1, 0.4, -0.1, 0.2, 0.25, -0.3], [-0.2, 0.1, 0.3, -0.1, 0.2, -0.4, 0.1, 0.15]],
         "biases": [0.1, -0.1]},
    ],
    "samples": [{"inputs": [[[round(0.1 * ((r * 5 + c) % 7) - 0.3, 2) for c in range(5)] for r in range(5)],
                            [[round(0.05 * ((r + 2 * c) % 9) - 0.2, 2) for c in range(5)] for r in range(5)]],
                 "targets": [0.3, 0.7]}],
}
