"""Every registry optimizer (core/optim.py) training a layer-table network (conv, max-pool, residual block, dense)
equals PyTorch's: the same model in float64, the same batches, autograd's gradients and torch.optim's own
opt.step(), every parameter at 1e-9 relative after every step."""

from __future__ import annotations

import numpy as np
import pytest

from layer_helpers import assert_close_parameters, torch_cross_entropy_epochs
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.optim import OPTIMIZERS
from stepgrad.training.data import Dataset
from stepgrad.training.layered import fit_layers

torch = pytest.importorskip("torch")

# each registry entry as torch.optim builds it (a new entry without one fails here)
TORCH = {
    "sgd": lambda p, lr: torch.optim.SGD(p, lr=lr),
    "momentum": lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9),
    "adam": lambda p, lr: torch.optim.Adam(p, lr=lr),
    "torch_sgd": lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.8, nesterov=True, weight_decay=0.01),
    "torch_adam": lambda p, lr: torch.optim.Adam(p, lr=lr, betas=(0.8, 0.99), weight_decay=0.02),
    "adamw": lambda p, lr: torch.optim.AdamW(p, lr=lr, weight_decay=0.05),
    "rmsprop": lambda p, lr: torch.optim.RMSprop(p, lr=lr, momentum=0.5, centered=True),
    "adagrad": lambda p, lr: torch.optim.Adagrad(p, lr=lr, lr_decay=0.01, initial_accumulator_value=0.1),
    "nadam": lambda p, lr: torch.optim.NAdam(p, lr=lr),
}
DEFAULTS = {  # each registry entry with its own default hyperparameters, as torch.optim builds it
    "sgd": lambda p, lr: torch.optim.SGD(p, lr=lr), "momentum": lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9),
    "adam": lambda p, lr: torch.optim.Adam(p, lr=lr), "torch_sgd": lambda p, lr: torch.optim.SGD(p, lr=lr),
    "torch_adam": lambda p, lr: torch.optim.Adam(p, lr=lr), "adamw": lambda p, lr: torch.optim.AdamW(p, lr=lr),
    "rmsprop": lambda p, lr: torch.optim.RMSprop(p, lr=lr), "adagrad": lambda p, lr: torch.optim.Adagrad(p, lr=lr),
    "nadam": lambda p, lr: torch.optim.NAdam(p, lr=lr),
}
REGISTRY_ONLY = {"sgd": {}, "momentum": {"mu": 0.9}, "adam": {}}  # torch reads these back as torch_sgd/torch_adam

SPEC = {"layers": [{"type": "input", "shape": [1, 6, 6]},
                   {"type": "conv2d", "out_channels": 2, "kernel": 3, "padding": 1, "stride": 1, "activation": "tanh"},
                   {"type": "residual", "layers": [{"type": "conv2d", "out_channels": 2, "kernel": 3, "padding": 1,
                                                    "activation": "relu"}]},
                   {"type": "maxpool", "kernel": 2},
                   {"type": "flatten"},
                   {"type": "dense", "neurons": 3, "activation": "softmax"}],
        "loss": "cross_entropy", "learning_rate": 0.01, "update_biases": True, "seed": 3, "init": "he"}


def test_every_registry_optimizer_has_a_torch_twin() -> None:
    assert set(TORCH) == set(OPTIMIZERS) == set(DEFAULTS)


def _torch_model(net: LayerNetwork):
    from stepgrad.interop.layers import residual_module

    c1, c2, dense = net.layers[0], net.layers[1].inner[0], net.layers[4]
    block = torch.nn.Sequential(torch.nn.Conv2d(2, 2, 3, padding=1, dtype=torch.float64), torch.nn.ReLU())
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1, dtype=torch.float64), torch.nn.Tanh(),
                                residual_module()(block), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                                torch.nn.Linear(18, 3, dtype=torch.float64))
    with torch.no_grad():
        for module, layer, weight in ((model[0], c1, "kernel"), (block[0], c2, "kernel"), (model[5], dense, "weight")):
            module.weight.copy_(torch.from_numpy(layer.params[weight]))
            module.bias.copy_(torch.from_numpy(layer.params["bias"]))
    return model, [(model[0], c1, "kernel"), (block[0], c2, "kernel"), (model[5], dense, "weight")]


@pytest.mark.slow  # torch
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_training_equals_torch_optim(name: str) -> None:
    from stepgrad.interop.optimizers import read_optimizer

    rng = np.random.default_rng(0)
    data = Dataset(rng.uniform(size=(24, 1, 6, 6)), np.eye(3)[rng.integers(0, 3, 24)], "random")
    net = LayerNetwork.from_dict(SPEC)
    model, pairs = _torch_model(net)
    opt = TORCH[name](model.parameters(), net.learning_rate)
    hyper = REGISTRY_ONLY[name] if name in REGISTRY_ONLY else read_optimizer(opt, [m for m, _, _ in pairs])[0].hyper
    if name not in REGISTRY_ONLY:
        assert read_optimizer(opt, [m for m, _, _ in pairs])[0].name == name
    torch_cross_entropy_epochs(model, opt, data, epochs=2, batch=8)  # 3 batches of 8 an epoch: 6 steps, one state
    trained = fit_layers(net, data, epochs=2, batch_size=8, optimizer=name, hyper=hyper).network
    layers = {layer.label: layer for layer in trained.all_layers()}
    for module, layer, weight in pairs:
        for ours, theirs in ((layers[layer.label].params[weight], module.weight),
                             (layers[layer.label].params["bias"], module.bias)):
            assert_close_parameters(ours, theirs, (name, layer.label))


STEP = {"layers": [{"type": "input", "shape": [1, 4, 4]},
                   {"type": "conv2d", "out_channels": 2, "kernel": 2, "stride": 2, "padding": 1, "activation": "tanh",
                    "weights": [[[[0.3, -0.5], [0.8, 0.2]]], [[[-0.4, 0.6], [0.1, 0.7]]]], "biases": [0.1, -0.1]},
                   {"type": "maxpool", "kernel": 2, "stride": 1}, {"type": "flatten"},
                   {"type": "dense", "neurons": 2, "activation": "sigmoid",
                    "weights": [[0.4, -0.3, 0.2, 0.5, -0.2, 0.3, 0.1, -0.4], [-0.6, 0.1, 0.3, -0.2, 0.5, -0.1, 0.4, 0.2]],
                    "biases": [0.05, -0.05]}],
        "loss": "half_squared_error", "learning_rate": 0.05, "update_biases": True,
        "samples": [{"inputs": [[0.2, 0.7, 0.1, 0.4], [0.9, 0.3, 0.6, 0.8], [0.5, 0.1, 0.7, 0.2], [0.3, 0.8, 0.4, 0.6]],
                     "targets": [0.1, 0.9]},
                    {"inputs": [[0.6, 0.2, 0.5, 0.9], [0.1, 0.45, 0.8, 0.3], [0.7, 0.9, 0.2, 0.5], [0.4, 0.6, 0.3, 0.1]],
                     "targets": [0.8, 0.3]}]}


@pytest.mark.slow  # torch
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_explained_step_equals_torch_optim(name: str) -> None:
    """explain --optimizer NAME on a conv network: every k1[...]+, b_c1[...]+, w_d1[...]+ is torch.optim's first step,
    and the optimizer's quantities are named per entry (m_k1[1,1,2,2]+, ...)."""
    from stepgrad.interop.optimizers import read_optimizer
    from stepgrad.tracing.layered import explain_layers

    net = LayerNetwork.from_dict(STEP)
    conv = torch.nn.Conv2d(1, 2, 2, stride=2, padding=1, dtype=torch.float64)
    dense = torch.nn.Linear(8, 2, dtype=torch.float64)
    model = torch.nn.Sequential(conv, torch.nn.Tanh(), torch.nn.MaxPool2d(2, stride=1), torch.nn.Flatten(), dense,
                                torch.nn.Sigmoid())
    with torch.no_grad():
        for module, layer, weight in ((conv, net.layers[0], "kernel"), (dense, net.layers[3], "weight")):
            module.weight.copy_(torch.from_numpy(layer.params[weight]))
            module.bias.copy_(torch.from_numpy(layer.params["bias"]))
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # NAdam's momentum product in float64, as the registry's default keeps it
    try:
        opt = DEFAULTS[name](model.parameters(), net.learning_rate)
        if name not in REGISTRY_ONLY:  # explain uses the registry's hyperparameters: these are torch's for them
            assert read_optimizer(opt, [conv, dense])[0].hyper == OPTIMIZERS[name].hyper
        inputs, targets = net.require_samples()
        out = model(torch.from_numpy(inputs))
        (0.5 * ((torch.from_numpy(targets) - out) ** 2).sum(dim=1).mean()).backward()
        opt.step()
    finally:
        torch.set_default_dtype(default)
    pooled = torch.tanh(conv(torch.from_numpy(inputs))).detach().numpy()
    for window in np.lib.stride_tricks.sliding_window_view(pooled, (2, 2), axis=(2, 3)).reshape(-1, 4):
        top = np.sort(window)
        assert top[-1] - top[-2] > 1e-3  # no max-pool tie: the step is differentiable, torch and stepgrad agree
    trace = explain_layers(net, optimizer=name)
    for module, number in ((conv, "k1"), (dense, "w_d1")):
        for index, want in np.ndenumerate(module.weight.detach().numpy()):
            got = trace.values[f"{number}[{','.join(str(i + 1) for i in index)}]+"]
            assert abs(got - want) <= 1e-9 * max(abs(want), 1e-6), (name, number, index)
    if name != "sgd":
        assert trace.meta["optimizer"]["name"] == name and trace.meta["optimizer"]["t"] == 1
        for slot in OPTIMIZERS[name].slots:
            if slot in ("m", "s", "v") and name not in ("torch_sgd", "rmsprop", "sgd"):
                assert f"{slot}_k1[1,1,2,2]+" in trace.values
