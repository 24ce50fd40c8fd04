"""Published numeric BACKWARD examples of convolution and max-pooling, reproduced (each source cited).

stepgrad's engine gets the published upstream gradient g = dE/d(output) by making the layer the network's last
(linear activation) with half squared error and targets = out - g, so dE_total/dout = out - target = g exactly;
the kernel's gradient is then dE_total/dk1 and the input's the engine's dE_total/dx.

Sources:
- LexAI Labs, "Build a CNN" practice problem 05, "Conv2D backward (dx, dW)", Example 1,
  https://prof.lexailabs.com/practice/build-cnn-05-conv2d-backward : x = arange(16) as a 1x4x4 map, W = [[1, 2],
  [3, 4]], stride 1, no padding, grad_out zero but grad_out[0, 0, 0] = 1; printed dW[0, 0] = [[0, 1], [4, 5]] and
  dx[0, 0:2, 0:2] = [[1, 2], [3, 4]], dx 0 everywhere else (cross-correlation, PyTorch's convention).
- Cross Validated question 414301, "2D max pool gradient propagation" (accepted answer: "Your understanding is
  correct"), https://stats.stackexchange.com/questions/414301 : a 2x2 map with d = 2 channels, written channels-last
  as [[[1, 2], [4, 6]], [[3, 7], [2, 2]]], a 2x2 max-pool gives [[4, 7]]; upstream gradient g = [1, 2] gives
  [[[0, 0], [1, 0]], [[0, 2], [0, 0]]] (each channel's gradient to its own maximum).
"""

from __future__ import annotations

import numpy as np

from stepgrad.core.layers import engine
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.tracing.layered import explain_layers


def with_upstream(layers: list, x: np.ndarray, upstream: np.ndarray) -> LayerNetwork:
    """The network whose last layer's dE_total/dout is `upstream` (targets = out - upstream)."""
    spec = {"layers": [{"type": "input", "shape": list(x.shape)}, *layers], "activation": "linear",
            "loss": "half_squared_error", "learning_rate": 0.1}
    net = LayerNetwork.from_dict({**spec, "samples": [{"inputs": x.tolist(), "targets": [0.0] * upstream.size}]})
    out = engine.forward(net, x[None]).output[0]
    return LayerNetwork.from_dict({**spec, "samples": [{"inputs": x.tolist(),
                                                        "targets": (out - upstream.ravel()).tolist()}]})


def test_lexai_conv2d_backward_example_1() -> None:
    x = np.arange(16, dtype=np.float64).reshape(1, 4, 4)
    g = np.zeros((1, 3, 3))
    g[0, 0, 0] = 1
    net = with_upstream([{"type": "conv2d", "out_channels": 1, "kernel": 2, "stride": 1, "padding": 0, "bias": False,
                          "weights": [[[[1, 2], [3, 4]]]]}], x, g)
    rec = engine.step(net, *net.require_samples())
    assert rec.grads[("c1", "kernel")][0, 0].tolist() == [[0, 1], [4, 5]]  # printed dW[0, 0]
    dx = rec.d_input[0, 0]
    assert dx[0:2, 0:2].tolist() == [[1, 2], [3, 4]] and np.count_nonzero(dx) == 4  # printed dx, 0 elsewhere
    values = explain_layers(net).values  # the same, as the derivation names them
    assert [values[f"dE_total/dk1[1,1,{p},{q}]"] for p in (1, 2) for q in (1, 2)] == [0, 1, 4, 5]


def test_cross_validated_414301_max_pool_with_two_channels() -> None:
    channels_last = np.array([[[1, 2], [4, 6]], [[3, 7], [2, 2]]], dtype=np.float64)  # [row][column][channel]
    x = channels_last.transpose(2, 0, 1)  # stepgrad's [channel][row][column]
    net = with_upstream([{"type": "maxpool", "kernel": 2}], x, np.array([1.0, 2.0]))
    rec = engine.step(net, *net.require_samples())
    assert rec.forward.output[0].tolist() == [4, 7]  # the forward pass: [[4, 7]]
    printed = np.array([[[0, 0], [1, 0]], [[0, 2], [0, 0]]], dtype=np.float64)  # channels-last, as published
    assert rec.d_input[0].tolist() == printed.transpose(2, 0, 1).tolist()
    values = explain_layers(net).values
    assert values["out_p1[1,1,1]"] == 4 and values["out_p1[2,1,1]"] == 7
