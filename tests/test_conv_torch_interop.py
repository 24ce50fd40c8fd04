"""to_torch / from_torch / explain_torch for conv, pooling, flatten and residual modules.

The reference is PyTorch itself: the module's own forward pass and autograd (float64, 1e-9 relative)."""

from __future__ import annotations

import numpy as np
import pytest

import stepgrad
from conftest import slow_after
from conv_gallery import random_spec
from stepgrad.core.errors import StepgradError
from stepgrad.core.layers import engine
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.interop.layers import residual_module

torch = pytest.importorskip("torch")
nn = torch.nn


@pytest.mark.parametrize("seed", slow_after(4, range(24)))
def test_to_torch_computes_what_stepgrad_computes(seed: int) -> None:
    spec = random_spec(seed)
    for layer in spec["layers"]:
        layer.pop("ties", None)
    net = LayerNetwork.from_dict(spec)
    model = stepgrad.to_torch(net)
    out = model(torch.tensor(net.inputs, dtype=torch.float64)).flatten(1).detach().numpy()
    ours = engine.forward(net, net.inputs).output
    assert np.allclose(out, ours, rtol=1e-12, atol=1e-14)
    back = stepgrad.interop.layers.from_torch_layers(model, input_shape=net.input_shape, loss=net.loss,
                                                     convolution=net.convolution)
    assert np.allclose(engine.forward(back, net.inputs).output, ours, rtol=1e-12, atol=1e-14)


def test_explain_torch_on_a_module_written_in_torch() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1, dtype=torch.float64), nn.Tanh(),
        residual_module()(nn.Sequential(nn.Conv2d(2, 2, 3, padding=1, dtype=torch.float64), nn.Sigmoid()), nn.Tanh()),
        nn.AvgPool2d(2), nn.Flatten(), nn.Linear(8, 3, dtype=torch.float64), nn.Sigmoid())
    x = torch.rand(2, 1, 4, 4, dtype=torch.float64)
    t = torch.rand(2, 3, dtype=torch.float64)
    trace = stepgrad.explain_torch(model, x, t, loss="half_squared_error", lr=0.1)
    model.zero_grad()  # explain_torch checked itself against autograd on the same module
    loss = (0.5 * (t - model(x)) ** 2).sum(dim=1).mean()
    loss.backward()
    k = model[0].weight.grad.numpy()
    assert trace.values["dE_total/dk1[2,1,3,1]"] == pytest.approx(k[1, 0, 2, 0], rel=1e-9)
    assert trace.values["dE_total/dk2[1,2,2,2]"] == pytest.approx(model[2].block[0].weight.grad[0, 1, 1, 1].item(),
                                                                   rel=1e-9)
    assert trace.values["E_total"] == pytest.approx(loss.item(), rel=1e-12)


def test_true_convolution_reads_the_kernel_turned() -> None:
    model = nn.Sequential(nn.Conv2d(1, 1, 2, bias=False, dtype=torch.float64))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]]))
    net = stepgrad.interop.layers.from_torch_layers(model, input_shape=(1, 3, 3), convolution="convolution")
    assert net.layers[0].params["kernel"][0, 0].tolist() == [[3.0, 2.0], [1.0, 0.0]]
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    assert engine.forward(net, x).output.tolist() == [[19.0, 25.0, 37.0, 43.0]]  # the same as the module


@pytest.mark.parametrize(("module", "message"), [
    (nn.Sequential(nn.Conv2d(1, 1, 2, dilation=2)), r"dilation=\(2, 2\)"),
    (nn.Sequential(nn.Conv2d(2, 2, 1, groups=2)), "groups=2"),
    (nn.Sequential(nn.MaxPool2d(2, ceil_mode=True)), "ceil_mode=True"),
    (nn.Sequential(nn.AvgPool2d(2, padding=1)), "padding=1"),
    (nn.Sequential(nn.Conv2d(1, 1, 1), nn.BatchNorm2d(1)), "unsupported module BatchNorm2d"),
])
def test_unsupported_settings_are_refused_by_name(module, message) -> None:
    with pytest.raises(StepgradError, match=message):
        stepgrad.from_torch(module, input_shape=(1, 4, 4))


def test_input_shape_is_required_and_split_ties_have_no_torch_counterpart() -> None:
    with pytest.raises(StepgradError, match="input_shape"):
        stepgrad.from_torch(nn.Sequential(nn.Conv2d(1, 1, 1)))
    net = LayerNetwork.from_dict({"layers": [{"type": "input", "shape": [1, 2, 2]},
                                             {"type": "maxpool", "kernel": 2, "ties": "split"}]})
    with pytest.raises(StepgradError, match="no PyTorch counterpart"):
        stepgrad.to_torch(net)
