"""Layer-table networks (conv2d, conv1d, pooling, flatten, dense, residual) against PyTorch autograd.

The torch side is built here from the layer settings with torch's own functions (F.conv2d, F.conv1d,
F.max_pool2d, F.avg_pool2d, F.linear, flatten; true convolution as F.conv2d with torch.flip of the
kernel), not from stepgrad's code, in float64. Compared: the batch error, the gradient of every
parameter, of every layer's net (per sample) and of the input, and the new parameters.

Tolerance: |stepgrad - torch| <= 1e-9 * max(|torch|, 1e-6) for every entry.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import slow_after
from conv_gallery import random_spec
from stepgrad.core.layers import engine
from stepgrad.core.layers.conv import Conv
from stepgrad.core.layers.dense import Dense
from stepgrad.core.layers.flatten import Flatten
from stepgrad.core.layers.pool import Pool
from stepgrad.core.layers.residual import Residual
from stepgrad.core.layers.spec import LayerNetwork
from test_engine_torch import ACTIVATIONS, COMBINED, LOSSES

torch = pytest.importorskip("torch")
F = torch.nn.functional
RTOL, FLOOR = 1e-9, 1e-6


def close(ours: np.ndarray, theirs, what: str) -> None:
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    assert ours.shape == theirs.shape, what
    bound = RTOL * np.maximum(np.abs(theirs), FLOOR)
    worst = np.abs(ours - theirs) - bound
    assert (worst <= 0).all(), f"{what}: off by {np.abs(ours - theirs).max():.3g}"


class TorchRun:
    """The network's forward pass in torch, keeping each layer's net for its gradient."""

    def __init__(self, net: LayerNetwork) -> None:
        self.net = net
        self.params = {(layer.label, role): torch.tensor(value, dtype=torch.float64, requires_grad=True)
                       for layer in net.all_layers() for role, value in layer.params.items()}
        self.nets: dict[str, object] = {}

    def layer(self, layer, x):
        p = lambda role: self.params.get((layer.label, role))  # noqa: E731
        if isinstance(layer, Conv):
            k = p("kernel")
            if layer.flipped:
                k = torch.flip(k, dims=[-1] if layer.one_d else [-2, -1])
            if layer.one_d:
                z = F.conv1d(x, k, p("bias"), stride=layer.stride[1], padding=layer.padding[1])
            else:
                z = F.conv2d(x, k, p("bias"), stride=layer.stride, padding=layer.padding)
        elif isinstance(layer, Pool):
            assert layer.ties == "first"
            if layer.one_d:
                pool = F.max_pool1d if layer.mode == "max" else F.avg_pool1d
                z = pool(x, layer.kernel_size[1], layer.stride[1])
            else:
                pool = F.max_pool2d if layer.mode == "max" else F.avg_pool2d
                z = pool(x, layer.kernel_size, layer.stride)
        elif isinstance(layer, Flatten):
            z = x.flatten(1)
        elif isinstance(layer, Dense):
            z = F.linear(x, p("weight"), p("bias"))
        elif isinstance(layer, Residual):
            z = x + self.chain(layer.inner, x)
        else:
            raise AssertionError(f"no torch reference for {layer.kind}")
        z.retain_grad()
        self.nets[layer.label] = z
        return ACTIVATIONS[layer.activation](z) if layer.has_activation else z

    def chain(self, layers, x):
        for layer in layers:
            x = self.layer(layer, x)
        return x

    def loss(self, x, t):
        out = self.chain(self.net.layers, x).flatten(1)
        z = self.nets[self.net.layers[-1].label].flatten(1)
        pair = (self.net.loss, self.net.layers[-1].activation)
        per_sample = COMBINED[pair](z, t) if pair in COMBINED else LOSSES[self.net.loss](z, out, t)
        return per_sample.sum() if self.net.reduction == "sum" else per_sample.mean()


def compare(net: LayerNetwork, runner: type[TorchRun] = TorchRun) -> TorchRun:
    """Assert every number of one step agrees with torch (run by `runner`); returns the torch run."""
    rec = engine.step(net, net.inputs, net.targets)
    run = runner(net)
    x = torch.tensor(net.inputs, dtype=torch.float64, requires_grad=True)
    total = run.loss(x, torch.tensor(net.targets, dtype=torch.float64))
    total.backward()
    close(np.array(rec.forward.error), total, "E_total")
    for (label, role), g in rec.grads.items():
        close(g, run.params[(label, role)].grad, f"dE_total/d{role} of {label}")
        close(rec.new_params[(label, role)], run.params[(label, role)] - net.learning_rate * run.params[
            (label, role)].grad * (1 if role != "bias" or net.update_biases else 0), f"new {role} of {label}")
    per = net.inputs.shape[0] if net.reduction == "mean" else 1  # torch's batch mean divides per-sample slopes
    for label, z in run.nets.items():
        close(rec.forward.values[label].d_net / per, z.grad, f"dE_total/dnet of {label}")
    close(rec.d_input / per, x.grad, "dE_total/dx")
    return run


@pytest.mark.parametrize("seed", slow_after(12, range(120)))
def test_random_networks_match_torch(seed: int) -> None:
    compare(LayerNetwork.from_dict(random_spec(seed)))


def test_maxpool_ties_go_to_the_first_cell_as_in_torch() -> None:
    # relu zeros and repeated values make every window a tie
    spec = {"layers": [{"type": "input", "shape": [1, 4, 4]}, {"type": "maxpool", "kernel": 2, "stride": 1},
                       {"type": "flatten"}, {"type": "dense", "neurons": 2, "activation": "sigmoid"}],
            "seed": 3, "samples": [{"inputs": [[1, 1, 0, 0], [1, 1, 0, 0], [2, 2, 2, 2], [2, 2, 2, 2]],
                                    "targets": [0.2, 0.7]}]}
    compare(LayerNetwork.from_dict(spec))


def test_split_ties_share_the_gradient_equally() -> None:
    spec = {"layers": [{"type": "input", "shape": [1, 2, 2]}, {"type": "maxpool", "kernel": 2, "ties": "split"}],
            "activation": "linear", "samples": [{"inputs": [[3, 3], [1, 3]], "targets": [0]}]}
    net = LayerNetwork.from_dict(spec)
    rec = engine.step(net, net.inputs, net.targets)
    # E = 1/2 (0 - 3)^2: dE/dout = 3, shared by the three cells holding 3
    assert rec.d_input[0, 0].tolist() == [[1.0, 1.0], [0.0, 1.0]]
