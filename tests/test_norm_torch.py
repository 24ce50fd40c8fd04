"""layernorm and batchnorm (both modes) against PyTorch autograd: nn.LayerNorm and nn.BatchNorm1d in float64.

The normalization layers run as torch's own modules (their weight and bias are the parameters whose
gradients are compared; batchnorm's running statistics are the module's buffers, moved by torch's
forward in training mode); the unbiased-variance variant, which torch's modules do not offer, is
written out in torch operations. The other layers are test_conv_torch's. Compared: the batch error,
every parameter's gradient and new value, each layer's dE_total/dnet, the input's gradient, and the
running statistics after the step. Tolerance: 1e-9 relative (floor 1e-6), as test_conv_torch.
"""

from __future__ import annotations

import pytest

from conftest import slow_after
from seq_gallery import random_norm_spec
from stepgrad.core.layers import engine
from stepgrad.core.layers.norm import BatchNorm, LayerNorm, Norm
from stepgrad.core.layers.spec import LayerNetwork
from test_conv_torch import TorchRun, close, compare

torch = pytest.importorskip("torch")


class NormTorchRun(TorchRun):
    """TorchRun with normalization layers as nn.LayerNorm / nn.BatchNorm1d (or written out, unbiased)."""

    def __init__(self, net: LayerNetwork) -> None:
        super().__init__(net)
        self.modules: dict[str, object] = {}
        for layer in net.all_layers():
            evaluation = isinstance(layer, BatchNorm) and layer.mode == "evaluation"  # the estimator plays no part
            if isinstance(layer, Norm) and (layer.variance == "biased" or evaluation):
                self.modules[layer.label] = module = self._module(layer)
                if "gamma" in layer.params:
                    self.params[(layer.label, "gamma")] = module.weight
                    self.params[(layer.label, "beta")] = module.bias

    @staticmethod
    def _module(layer: Norm):
        affine = "gamma" in layer.params
        if isinstance(layer, LayerNorm):
            module = torch.nn.LayerNorm(layer.in_shape[-1], eps=layer.eps, elementwise_affine=affine,
                                        dtype=torch.float64)
        else:
            module = torch.nn.BatchNorm1d(layer.in_shape[0], eps=layer.eps, momentum=layer.momentum, affine=affine,
                                          dtype=torch.float64)
            module.running_mean.copy_(torch.tensor(layer.running_mean))
            module.running_var.copy_(torch.tensor(layer.running_var))
            module.train(layer.mode == "training")
        if affine:
            with torch.no_grad():
                module.weight.copy_(torch.tensor(layer.params["gamma"]))
                module.bias.copy_(torch.tensor(layer.params["beta"]))
        return module

    def layer(self, layer, x):
        if not isinstance(layer, Norm):
            return super().layer(layer, x)
        z = self.modules[layer.label](x) if layer.label in self.modules else self._written_out(layer, x)
        z.retain_grad()
        self.nets[layer.label] = z
        return z

    def _written_out(self, layer: Norm, x):
        """The unbiased-variance normalization in torch operations (torch's modules use the biased one)."""
        if isinstance(layer, LayerNorm):
            dims, shape = [-1], [1] * (x.dim() - 1) + [-1]
        else:
            assert layer.mode == "training"
            dims, shape = ([0] if x.dim() == 2 else [0, 2]), ([1, -1] if x.dim() == 2 else [1, -1, 1])
        mean = x.mean(dim=dims, keepdim=True)
        var = x.var(dim=dims, keepdim=True, unbiased=True)
        xhat = (x - mean) / torch.sqrt(var + layer.eps)
        if "gamma" not in layer.params:
            return xhat
        return xhat * self.params[(layer.label, "gamma")].reshape(shape) + self.params[(layer.label, "beta")].reshape(shape)


def compare_norm(net: LayerNetwork) -> None:
    run = compare(net, NormTorchRun)
    rec = engine.step(net, net.inputs, net.targets)
    for layer in net.all_layers():
        if isinstance(layer, BatchNorm) and layer.label in run.modules:
            new = layer.running_after(rec.forward.values[layer.label].cache)
            close(new["running_mean"], run.modules[layer.label].running_mean, f"running_mean of {layer.label}")
            close(new["running_var"], run.modules[layer.label].running_var, f"running_var of {layer.label}")


@pytest.mark.parametrize("seed", slow_after(12, range(100)))
def test_random_normalization_networks_match_torch(seed: int) -> None:
    compare_norm(LayerNetwork.from_dict(random_norm_spec(seed)))


@pytest.mark.parametrize("mode", ["training", "evaluation"])
def test_batchnorm_modes_match_torch_with_every_setting(mode: str) -> None:
    spec = random_norm_spec(3, kind="batchnorm", samples=3)
    norm = next(t for t in spec["layers"] if isinstance(t, dict) and t.get("type") == "batchnorm")
    norm.update(mode=mode, variance="biased", momentum=0.3)
    norm.update(gamma=[1.3] * len(norm.get("gamma", [0])), beta=[-0.2] * len(norm.get("beta", [0])))
    norm.pop("affine", None)
    net = LayerNetwork.from_dict(spec)
    assert isinstance(net.all_layers()[[layer.kind for layer in net.all_layers()].index("batchnorm")], BatchNorm)
    compare_norm(net)


def test_a_training_step_moves_the_running_statistics_as_torch_does() -> None:
    spec = random_norm_spec(8, kind="batchnorm", samples=4)
    norm = next(t for t in spec["layers"] if isinstance(t, dict) and t.get("type") == "batchnorm")
    norm.update(mode="training", variance="biased", momentum=0.25)
    net = LayerNetwork.from_dict(spec)
    layer = next(layer for layer in net.all_layers() if isinstance(layer, BatchNorm))
    run = NormTorchRun(net)
    run.loss(torch.tensor(net.inputs), torch.tensor(net.targets))
    engine.apply(net, engine.step(net, net.inputs, net.targets))
    close(layer.running_mean, run.modules[layer.label].running_mean, "running_mean after apply")
    close(layer.running_var, run.modules[layer.label].running_var, "running_var after apply")
