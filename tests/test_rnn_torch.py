"""Recurrent networks (sequence input, rnn, dense layers at every step or on the last state) against PyTorch.

Full BPTT runs torch's own nn.RNN (one layer, batch_first, tanh or relu; bias_hh held at 0 so that
bias_ih is stepgrad's one bias); truncated BPTT(k) is written out in torch: the error entering at step
t is sent back by its own forward pass whose state is detached k steps before t, and the gradients of
the steps add up. layernorm on a sequence runs as nn.LayerNorm(features). Compared as in
test_conv_torch: the batch error, every parameter's gradient and new value, each layer's gradient
from above, the input's. Tolerance 1e-9 relative (floor 1e-6).
"""

from __future__ import annotations

import pytest

from conftest import slow_after
from seq_gallery import random_rnn_spec
from stepgrad.core.layers.rnn import Rnn
from stepgrad.core.layers.spec import LayerNetwork
from test_conv_torch import ACTIVATIONS, compare
from test_norm_torch import NormTorchRun

torch = pytest.importorskip("torch")


class RnnTorchRun(NormTorchRun):
    """NormTorchRun with rnn layers as nn.RNN, or written out in torch for truncated BPTT."""

    def __init__(self, net: LayerNetwork) -> None:
        super().__init__(net)
        for layer in net.all_layers():
            if isinstance(layer, Rnn) and layer.truncate is None:
                module = torch.nn.RNN(layer.in_shape[1], layer.hidden, num_layers=1, nonlinearity=layer.recurrent_activation,
                                      bias="bias" in layer.params, batch_first=True, dtype=torch.float64)
                with torch.no_grad():
                    module.weight_ih_l0.copy_(torch.tensor(layer.params["weight_x"]))
                    module.weight_hh_l0.copy_(torch.tensor(layer.params["weight_h"]))
                    if "bias" in layer.params:
                        module.bias_ih_l0.copy_(torch.tensor(layer.params["bias"]))
                        module.bias_hh_l0.zero_()
                self.modules[layer.label] = module
                self.params[(layer.label, "weight_x")] = module.weight_ih_l0
                self.params[(layer.label, "weight_h")] = module.weight_hh_l0
                if "bias" in layer.params:
                    self.params[(layer.label, "bias")] = module.bias_ih_l0

    def layer(self, layer, x):
        if not isinstance(layer, Rnn):
            return super().layer(layer, x)
        h0 = torch.tensor(layer.initial()).expand(x.shape[0], -1)
        if layer.truncate is None:
            states, _ = self.modules[layer.label](x, h0.unsqueeze(0).contiguous())
        else:
            states = self._truncated(layer, x, h0)
        z = states if layer.output == "sequence" else states[:, -1]
        z.retain_grad()
        self.nets[layer.label] = z
        return z

    def _truncated(self, layer: Rnn, x, h0):
        """States whose value is the forward pass's but whose gradient at step t goes back k steps only:
        h[t] = value(h[t]) + (h_t from a pass detached k steps before t) - its detached value."""
        act = ACTIVATIONS[layer.recurrent_activation]
        p = lambda role: self.params.get((layer.label, role))  # noqa: E731

        def cell(x_t, h):
            z = x_t @ p("weight_x").T + h @ p("weight_h").T
            return act(z + p("bias") if p("bias") is not None else z)

        steps = x.shape[1]
        full, h = [], h0
        for t in range(steps):
            h = cell(x[:, t], h)
            full.append(h.detach())
        states = []
        for t in range(steps):
            start = max(0, t - layer.truncate + 1)
            h = h0 if start == 0 else full[start - 1]  # detached: the gradient stops there
            for u in range(start, t + 1):
                h = cell(x[:, u], h)
            states.append(h)
        return torch.stack(states, dim=1)

    def loss(self, x, t):
        return super().loss(x, t) * self.net.loss_scale


@pytest.mark.parametrize("seed", slow_after(12, range(100)))
def test_random_recurrent_networks_match_torch(seed: int) -> None:
    compare(LayerNetwork.from_dict(random_rnn_spec(seed, truncate=False)), RnnTorchRun)


@pytest.mark.parametrize("seed", slow_after(6, range(30)))
def test_truncated_bptt_matches_torch_with_detached_states(seed: int) -> None:
    net = LayerNetwork.from_dict(random_rnn_spec(seed, truncate=True))
    assert any(isinstance(layer, Rnn) and layer.truncate for layer in net.all_layers())
    compare(net, RnnTorchRun)
