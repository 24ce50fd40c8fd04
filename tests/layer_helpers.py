"""Helpers shared by the layer-table tests (conv and sequence networks) and benchmarks/cnn.py: the digits CNN and
its PyTorch reference training, finite differences of a layer's net, and the LaTeX/phone checks of their pages.

Each helper is a reference or a check written once; the tests that use it still compare stepgrad's own values
against it (PyTorch, finite differences, pdflatex's log, the browser's layout), never against stepgrad's output.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# conv2d (1 -> 4 channels, 3x3, ReLU) + 2x2 max-pool + dense softmax on the 8x8 digits as 1x8x8 images
DIGITS_CNN: dict[str, Any] = {
    "layers": [{"type": "input", "shape": [1, 8, 8]},
               {"type": "conv2d", "out_channels": 4, "kernel": 3, "activation": "relu"},
               {"type": "maxpool", "kernel": 2},
               {"type": "flatten"},
               {"type": "dense", "neurons": 10, "activation": "softmax"}],
    "loss": "cross_entropy", "learning_rate": 0.5, "update_biases": True, "seed": 0, "init": "he"}


def digits_cnn_torch(net: Any) -> Any:
    """DIGITS_CNN written by hand as an nn.Sequential (float64) holding `net`'s starting kernel, weights and biases."""
    import torch

    conv, dense = net.layers[0], net.layers[3]
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, dtype=torch.float64), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                torch.nn.Flatten(), torch.nn.Linear(36, 10, dtype=torch.float64))
    with torch.no_grad():
        model[0].weight.copy_(torch.from_numpy(conv.params["kernel"]))
        model[0].bias.copy_(torch.from_numpy(conv.params["bias"]))
        model[4].weight.copy_(torch.from_numpy(dense.params["weight"]))
        model[4].bias.copy_(torch.from_numpy(dense.params["bias"]))
    return model


def torch_cross_entropy_epochs(model: Any, optimizer: Any, data: Any, epochs: int, batch: int) -> None:
    """Train `model` with `optimizer` (autograd, torch.optim's step) on softmax cross-entropy, batch mean, over the
    batches stepgrad's trainer draws (training.loop.epoch_order with seed 0), epochs 1..`epochs`."""
    import torch

    from stepgrad.training.loop import epoch_order

    x, t = torch.from_numpy(data.inputs), torch.from_numpy(data.targets)
    for epoch in range(1, epochs + 1):
        order = torch.from_numpy(epoch_order(0, epoch, len(data)))
        for start in range(0, len(order), batch):
            rows = order[start:start + batch]
            optimizer.zero_grad()
            loss = -(t[rows] * torch.log_softmax(model(x[rows]), dim=1)).sum(dim=1).mean()
            loss.backward()
            optimizer.step()


def assert_close_parameters(ours: np.ndarray, theirs: Any, what: object = "", rel: float = 1e-9) -> None:
    """Every entry of `ours` within `rel` of PyTorch's tensor (relative, floored at 1e-6)."""
    theirs = theirs.detach().numpy()
    assert np.all(np.abs(ours - theirs) <= rel * np.maximum(np.abs(theirs), 1e-6)), what


# ------------------------------------------------------------------------------------------------
# finite differences inside a layer-table network


def parameter_key(net: Any, name: str) -> tuple:
    """(layer label, role, index) of the parameter entry `net` names `name` (w_d1[1,2], k1[1,1,2,3], ...)."""
    for layer in net.all_layers():
        for role, value in layer.params.items():
            for index in np.ndindex(*value.shape):
                if layer.parameter_name(role, tuple(i + 1 for i in index)) == name:
                    return layer.label, role, index
    raise AssertionError(f"no parameter named {name}")


def factor_by_differences(net: Any, n: Any, step: float) -> float:
    """dnet/dparameter (the trace's factor name `n`, e.g. dnet_c1[1,2,2]/dk1[1,1,1,2]) by central differences: the
    parameter nudged by +-`step`, that net watched (in sample 1 when the name has no sample)."""
    from stepgrad.core.layers import engine

    label, role, index = parameter_key(net, str(n.bottom))
    params = {(layer.label, r): v for layer in net.all_layers() for r, v in layer.params.items()}
    found = []
    for sign in (1, -1):
        moved = dict(params)
        moved[(label, role)] = params[(label, role)].copy()
        moved[(label, role)][index] += sign * step
        fwd = engine.forward(net, net.inputs, net.targets, params=moved)
        s = 0 if n.sample is None else n.sample - 1
        found.append(fwd.values[str(n.top.neuron)].net[(s, *(p - 1 for p in n.top.position))])
    return float((found[0] - found[1]) / (2 * step))
