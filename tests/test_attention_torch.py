"""The attention head against PyTorch: a single head written in torch operations, and nn.MultiheadAttention.

Written out: q, k, v by F.linear, scores q @ k^T times 1/sqrt(key_size) (or 1), masked_fill(-inf)
above the diagonal with a causal mask, torch.softmax over the last axis (the keys), z = a @ v, out by
F.linear. nn.MultiheadAttention(features, num_heads=1, batch_first=True) takes the spec's weights as
in_proj_weight = [Wq; Wk; Wv] and out_proj, with attn_mask for the causal mask; its parameters'
gradients are split back into Wq, Wk, Wv. Compared as in test_conv_torch at 1e-9 relative.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import slow_after
from seq_gallery import random_attention_spec
from stepgrad.core.layers.attention import Attention
from stepgrad.core.layers.spec import LayerNetwork
from test_conv_torch import compare
from test_rnn_torch import RnnTorchRun

torch = pytest.importorskip("torch")
F = torch.nn.functional


class AttentionTorchRun(RnnTorchRun):
    """The attention head written in torch, or as nn.MultiheadAttention when `module` is set."""

    use_module = False

    def __init__(self, net: LayerNetwork) -> None:
        super().__init__(net)
        for layer in net.all_layers():
            if isinstance(layer, Attention) and self.use_module:
                self._attention_module(layer)

    def _attention_module(self, layer: Attention) -> None:
        features = layer.in_shape[1]
        module = torch.nn.MultiheadAttention(features, num_heads=1, bias="bias_q" in layer.params, batch_first=True,
                                             dtype=torch.float64)
        with torch.no_grad():
            module.in_proj_weight.copy_(torch.tensor(np.concatenate([layer.params[f"weight_{p}"] for p in "qkv"])))
            module.out_proj.weight.copy_(torch.tensor(layer.params["weight_o"]))
            if "bias_q" in layer.params:
                module.in_proj_bias.copy_(torch.tensor(np.concatenate([layer.params[f"bias_{p}"] for p in "qkv"])))
                module.out_proj.bias.copy_(torch.tensor(layer.params["bias_o"]))
        self.modules[layer.label] = module
        # the stepgrad parameters are views of the module's: their gradients come out of the module's
        rows = features
        for i, p in enumerate("qkv"):
            self.params[(layer.label, f"weight_{p}")] = _Slice(module.in_proj_weight, i * rows, (i + 1) * rows)
            if "bias_q" in layer.params:
                self.params[(layer.label, f"bias_{p}")] = _Slice(module.in_proj_bias, i * rows, (i + 1) * rows)
        self.params[(layer.label, "weight_o")] = module.out_proj.weight
        if "bias_o" in layer.params:
            self.params[(layer.label, "bias_o")] = module.out_proj.bias

    def layer(self, layer, x):
        if not isinstance(layer, Attention):
            return super().layer(layer, x)
        steps = x.shape[1]
        mask = torch.triu(torch.ones(steps, steps, dtype=torch.bool), diagonal=1) if layer.causal else None
        if layer.label in self.modules:
            out, _ = self.modules[layer.label](x, x, x, need_weights=False, attn_mask=mask)
        else:
            p = lambda role: self.params.get((layer.label, role))  # noqa: E731
            q, k, v = (F.linear(x, p(f"weight_{r}"), p(f"bias_{r}")) for r in "qkv")
            scores = q @ k.transpose(1, 2) * (1 / math.sqrt(q.shape[-1]) if layer.scaled else 1.0)
            if mask is not None:
                scores = scores.masked_fill(mask, float("-inf"))
            out = F.linear(torch.softmax(scores, dim=-1) @ v, p("weight_o"), p("bias_o"))
        z = out if layer.output == "sequence" else out[:, -1]
        z.retain_grad()
        self.nets[layer.label] = z
        return z


class _Slice:
    """Rows [start, stop) of a module's parameter, with its gradient's rows: what compare() reads."""

    def __init__(self, whole, start: int, stop: int) -> None:
        self.whole, self.start, self.stop = whole, start, stop

    def __sub__(self, other):
        return self.whole[self.start:self.stop] - other

    @property
    def grad(self):
        return self.whole.grad[self.start:self.stop]


class ModuleRun(AttentionTorchRun):
    use_module = True


@pytest.mark.parametrize("seed", slow_after(12, range(100)))
def test_random_attention_networks_match_torch_written_out(seed: int) -> None:
    compare(LayerNetwork.from_dict(random_attention_spec(seed)), AttentionTorchRun)


@pytest.mark.parametrize("seed", slow_after(6, range(40)))
def test_attention_matches_nn_multihead_attention_with_one_head(seed: int) -> None:
    compare(LayerNetwork.from_dict(random_attention_spec(seed, torch_shaped=True)), ModuleRun)
