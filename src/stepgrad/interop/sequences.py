"""PyTorch interop for sequence layers: nn.RNN, one attention head, nn.LayerNorm and nn.BatchNorm1d, both ways.

    >>> net = stepgrad.LayerNetwork.from_dict({"layers": [{"type": "sequence", "steps": 3, "features": 2},
    ...     {"type": "rnn", "hidden": 2}, 1]})
    >>> stepgrad.to_torch(net)                               # float64
    Sequential(
      (0): Recurrent(
        (rnn): RNN(2, 2, batch_first=True)
      )
      (1): Linear(in_features=2, out_features=1, bias=True)
      (2): Sigmoid()
    )

nn.RNN returns (states, last state) and nn.MultiheadAttention takes (query, key, value), so neither
fits in an nn.Sequential by itself: stepgrad's module classes hold them. `recurrent_module()`:
`rnn` (an nn.RNN, one layer, tanh or relu, either batch_first), `h0` (a buffer; None: zeros) and
`output` ("last": the last step's state, "sequence": every step's) and `truncate` (BPTT(k): each state's
gradient goes back k steps, by a pass from the state k steps before, detached). nn.RNN has two biases (bias_ih_l0
and bias_hh_l0) where stepgrad's rnn has one, b = their sum: to_torch keeps bias_hh_l0 at 0 and frozen
(requires_grad False), and a module whose two biases both train is refused (a step moves their sum
twice). `attention_module()`: one head written in torch (q_proj, k_proj, v_proj, out_proj as
nn.Linear; `scaled`, `causal`, `output`), any sizes. `multihead_module()`: an nn.MultiheadAttention
with one head as self-attention (its in_proj_weight is [Wq; Wk; Wv]; always scaled, every size the
features'), with `causal` and `output`. nn.LayerNorm(features) and nn.BatchNorm1d(features) sit in
the nn.Sequential as they are; a BatchNorm1d in training mode (module.training) is stepgrad's mode =
"training", in eval() mode "evaluation", with its running statistics and momentum. A bare nn.RNN or
nn.MultiheadAttention given as the whole model is read too (every step's states; self-attention).

Refused in one line, by name: several layers, bidirectional, dropout > 0, proj_size, several heads,
add_bias_kv, add_zero_attn, kdim/vdim, nn.LayerNorm over several axes or with bias=False,
BatchNorm1d(momentum=None); from stepgrad: the unbiased variance (no torch module
computes it).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from stepgrad.core.errors import StepgradError
from stepgrad.core.layers.attention import Attention
from stepgrad.core.layers.base import Layer
from stepgrad.core.layers.norm import BatchNorm, LayerNorm
from stepgrad.core.layers.rnn import Rnn
from stepgrad.interop.reading import torch_module

SEQUENCE_MODULES = ("Recurrent", "SelfAttention", "MultiheadSelfAttention", "RNN", "MultiheadAttention")
NORM_MODULES = ("LayerNorm", "BatchNorm1d")


@functools.cache
def recurrent_module() -> Any:
    """stepgrad's rnn as an nn.Module class: an nn.RNN with its initial state and the states it passes on."""
    torch = torch_module()

    class Recurrent(torch.nn.Module):  # type: ignore[name-defined]
        """An Elman layer: `rnn` (nn.RNN, one layer), `h0` (hidden,) or None (zeros), `output` "last" or "sequence",
        `truncate` k (None: full BPTT); forward(x) takes (samples, steps, features) whatever the nn.RNN's batch_first.
        Truncated, the state at step t is the full pass's value, but its gradient goes back k steps only: it is
        computed again from the state k steps before, detached (BPTT(k), as stepgrad's rnn with truncate = k)."""

        def __init__(self, rnn: Any, h0: Any = None, output: str = "last", truncate: int | None = None) -> None:
            super().__init__()
            self.rnn, self.output, self.truncate = rnn, output, truncate
            self.register_buffer("h0", h0)

        def _run(self, x: Any, h: Any) -> Any:
            if self.rnn.batch_first:
                return self.rnn(x, h)[0]
            return self.rnn(x.transpose(0, 1), h)[0].transpose(0, 1)

        def forward(self, x: Any) -> Any:
            h0 = None if self.h0 is None else self.h0.expand(x.shape[0], -1).unsqueeze(0).contiguous()
            states = self._run(x, h0)
            if self.truncate is not None and self.truncate < x.shape[1]:
                full = states.detach()
                windows = []
                for t in range(x.shape[1]):
                    start = max(0, t - self.truncate + 1)
                    h = h0 if start == 0 else full[:, start - 1].unsqueeze(0).contiguous()
                    windows.append(self._run(x[:, start:t + 1], h)[:, -1])
                states = torch.stack(windows, dim=1)
            return states if self.output == "sequence" else states[:, -1]

    return Recurrent


def _causal(steps: int) -> Any:
    torch = torch_module()
    return torch.triu(torch.ones(steps, steps, dtype=torch.bool), diagonal=1)


@functools.cache
def attention_module() -> Any:
    """stepgrad's attention head written in torch as an nn.Module class (any key, value and output sizes)."""
    torch = torch_module()
    nn = torch.nn

    class SelfAttention(nn.Module):  # type: ignore[name-defined]
        """One head: q, k, v = q_proj(x), k_proj(x), v_proj(x); a = softmax over the keys of q k^T (times
        1/sqrt(key_size) when `scaled`; keys after the query left out when `causal`); out = out_proj(a v)."""

        def __init__(self, features: int, key_size: int, value_size: int, out_size: int, bias: bool = True,
                     scaled: bool = True, causal: bool = False, output: str = "sequence", dtype: Any = None) -> None:
            super().__init__()
            self.q_proj = nn.Linear(features, key_size, bias=bias, dtype=dtype)
            self.k_proj = nn.Linear(features, key_size, bias=bias, dtype=dtype)
            self.v_proj = nn.Linear(features, value_size, bias=bias, dtype=dtype)
            self.out_proj = nn.Linear(value_size, out_size, bias=bias, dtype=dtype)
            self.scaled, self.causal, self.output = scaled, causal, output

        def weights(self, x: Any) -> Any:
            """The attention weights a[i,j] (samples, queries, keys): each row adds to 1."""
            q, k = self.q_proj(x), self.k_proj(x)
            scores = q @ k.transpose(-2, -1)
            if self.scaled:
                scores = scores * (1.0 / math.sqrt(q.shape[-1]))
            if self.causal:
                scores = scores.masked_fill(_causal(x.shape[1]), float("-inf"))
            return torch.softmax(scores, dim=-1)

        def forward(self, x: Any) -> Any:
            out = self.out_proj(self.weights(x) @ self.v_proj(x))
            return out if self.output == "sequence" else out[:, -1]

    return SelfAttention


@functools.cache
def multihead_module() -> Any:
    """nn.MultiheadAttention with one head as self-attention in an nn.Sequential (an nn.Module class)."""
    nn = torch_module().nn

    class MultiheadSelfAttention(nn.Module):  # type: ignore[name-defined]
        """`attention` (nn.MultiheadAttention, one head) on (x, x, x); `causal`, `output` "sequence" or "last";
        forward(x) takes (samples, steps, features) whatever its batch_first."""

        def __init__(self, attention: Any, causal: bool = False, output: str = "sequence") -> None:
            super().__init__()
            self.attention, self.causal, self.output = attention, causal, output

        def forward(self, x: Any) -> Any:
            mask = _causal(x.shape[1]) if self.causal else None
            y = x if self.attention.batch_first else x.transpose(0, 1)
            out, _ = self.attention(y, y, y, need_weights=False, attn_mask=mask)
            out = out if self.attention.batch_first else out.transpose(0, 1)
            return out if self.output == "sequence" else out[:, -1]

    return MultiheadSelfAttention


def is_sequence_module(m: Any) -> bool:
    """Whether a module is one this file reads (an rnn, an attention head, a normalization)."""
    nn = torch_module().nn
    return type(m) in (recurrent_module(), attention_module(), multihead_module(), nn.RNN, nn.MultiheadAttention,
                       nn.LayerNorm, nn.BatchNorm1d)


def is_recurrent_or_attention(m: Any) -> bool:
    """Whether a module reads a sequence as a sequence (its input is then a sequence, not a 1-d map)."""
    nn = torch_module().nn
    return type(m) in (recurrent_module(), attention_module(), multihead_module(), nn.RNN, nn.MultiheadAttention)


# ------------------------------------------------------------------------------------------------
# stepgrad -> torch


def _copy(target: Any, value: np.ndarray) -> None:
    with torch_module().no_grad():
        target.copy_(torch_module().from_numpy(np.ascontiguousarray(value, dtype=np.float64)))


def to_module(layer: Layer, attention: str = "head") -> Any:
    """The torch module (float64) computing `layer`; attention="multihead": an attention head as
    nn.MultiheadAttention with one head (refused where its sizes or scale are not torch's)."""
    torch = torch_module()
    nn = torch.nn
    f64 = torch.float64
    if isinstance(layer, Rnn):
        rnn = nn.RNN(layer.in_shape[1], layer.hidden, num_layers=1, nonlinearity=layer.recurrent_activation,
                     bias="bias" in layer.params, batch_first=True, dtype=f64)
        _copy(rnn.weight_ih_l0, layer.params["weight_x"])
        _copy(rnn.weight_hh_l0, layer.params["weight_h"])
        if "bias" in layer.params:
            _copy(rnn.bias_ih_l0, layer.params["bias"])
            _copy(rnn.bias_hh_l0, np.zeros(layer.hidden))
            rnn.bias_hh_l0.requires_grad_(False)  # stepgrad's one bias is bias_ih_l0 + bias_hh_l0: one trains
        h0 = None if layer.h0 is None else torch.from_numpy(np.array(layer.h0, dtype=np.float64))
        return recurrent_module()(rnn, h0, layer.output, layer.truncate)
    if isinstance(layer, Attention):
        return _attention(layer, attention)
    if isinstance(layer, (LayerNorm, BatchNorm)):
        if layer.variance != "biased":
            raise StepgradError(f"{layer.label}: variance = \"unbiased\" has no PyTorch counterpart ({layer.kind} in "
                                "PyTorch normalizes with the biased variance)")
        affine = "gamma" in layer.params
        if isinstance(layer, LayerNorm):
            m = nn.LayerNorm(layer.in_shape[-1], eps=layer.eps, elementwise_affine=affine, dtype=f64)
        else:
            m = nn.BatchNorm1d(layer.in_shape[0], eps=layer.eps, momentum=layer.momentum, affine=affine, dtype=f64)
            _copy(m.running_mean, layer.running_mean)
            _copy(m.running_var, layer.running_var)
            m.train(layer.mode == "training")
        if affine:
            _copy(m.weight, layer.params["gamma"])
            _copy(m.bias, layer.params["beta"])
        return m
    raise StepgradError(f"{layer.label}: no PyTorch counterpart for {layer.kind}")


def _attention(layer: Attention, attention: str) -> Any:
    torch = torch_module()
    features = layer.in_shape[1]
    sizes = [layer.params[f"weight_{p}"].shape[0] for p in "qvo"]
    bias = "bias_q" in layer.params
    if attention == "multihead":
        if not layer.scaled or sizes != [features] * 3:
            raise StepgradError(f"{layer.label}: nn.MultiheadAttention scales the scores and keeps every size the "
                                f"features' ({features}); this head has key, value and out sizes {sizes}"
                                f"{'' if layer.scaled else ' and no scale'}: use attention=\"head\"")
        mha = torch.nn.MultiheadAttention(features, num_heads=1, bias=bias, batch_first=True, dtype=torch.float64)
        _copy(mha.in_proj_weight, np.concatenate([layer.params[f"weight_{p}"] for p in "qkv"]))
        _copy(mha.out_proj.weight, layer.params["weight_o"])
        if bias:
            _copy(mha.in_proj_bias, np.concatenate([layer.params[f"bias_{p}"] for p in "qkv"]))
            _copy(mha.out_proj.bias, layer.params["bias_o"])
        return multihead_module()(mha, layer.causal, layer.output)
    if attention != "head":
        raise StepgradError(f"attention = {attention!r}: expected \"head\" (written in torch) or \"multihead\" "
                            "(nn.MultiheadAttention with one head)")
    m = attention_module()(features, sizes[0], sizes[1], sizes[2], bias=bias, scaled=layer.scaled,
                           causal=layer.causal, output=layer.output, dtype=torch.float64)
    for p in "qkvo":
        proj = getattr(m, f"{p}_proj" if p != "o" else "out_proj")
        _copy(proj.weight, layer.params[f"weight_{p}"])
        if bias:
            _copy(proj.bias, layer.params[f"bias_{p}"])
    return m


# ------------------------------------------------------------------------------------------------
# torch -> stepgrad


def _array(tensor: Any) -> list[Any]:
    return tensor.detach().cpu().to(dtype=torch_module().float64).numpy().tolist()


def _refuse(kind: str, bad: list[str], here: str) -> None:
    if bad:
        raise StepgradError(f"unsupported {kind} setting {', '.join(bad)}", where=here)


def read_module(m: Any, here: str) -> dict[str, Any]:
    """The layer table of one sequence or normalization module; what stepgrad cannot compute is refused by name."""
    nn = torch_module().nn
    if type(m) is recurrent_module():
        table = _rnn_table(m.rnn, f"{here}.rnn")
        table["output"] = m.output
        if m.truncate is not None:
            table["truncate"] = int(m.truncate)
        if m.h0 is not None:
            table["h0"] = _array(m.h0)
        return table
    if type(m) is nn.RNN:
        return dict(_rnn_table(m, here), output="sequence")
    if type(m) is attention_module():
        projections = {"q": m.q_proj, "k": m.k_proj, "v": m.v_proj, "o": m.out_proj}
        with_bias = {p for p, lin in projections.items() if lin.bias is not None}
        if with_bias not in (set(), set(projections)):
            raise StepgradError("the four projections have biases or none (stepgrad's bias = true or false); "
                                f"here only {', '.join(sorted(with_bias))}", where=here)
        table = {"type": "attention", "key_size": m.q_proj.out_features, "value_size": m.v_proj.out_features,
                 "out_size": m.out_proj.out_features, "scale": bool(m.scaled), "causal": bool(m.causal),
                 "output": m.output, "bias": bool(with_bias)}
        for p, lin in projections.items():
            table[f"weights_{p}"] = _array(lin.weight)
            if lin.bias is not None:
                table[f"biases_{p}"] = _array(lin.bias)
        return table
    if type(m) is multihead_module():
        return dict(_multihead_table(m.attention, f"{here}.attention"), causal=bool(m.causal), output=m.output)
    if type(m) is nn.MultiheadAttention:
        return _multihead_table(m, here)
    if type(m) is nn.LayerNorm:
        bad = [f"normalized_shape={tuple(m.normalized_shape)}"] if len(m.normalized_shape) != 1 else []
        _refuse("LayerNorm", bad + (["bias=False"] if m.elementwise_affine and m.bias is None else []), here)
        table = {"type": "layernorm", "eps": float(m.eps), "affine": bool(m.elementwise_affine)}
        if m.elementwise_affine:
            table.update(gamma=_array(m.weight), beta=_array(m.bias))
        return table
    if type(m) is nn.BatchNorm1d:
        _refuse("BatchNorm1d", ["momentum=None"] if m.momentum is None else [], here)
        table = {"type": "batchnorm", "eps": float(m.eps), "affine": bool(m.affine), "momentum": float(m.momentum),
                 "mode": "training" if m.training or not m.track_running_stats else "evaluation"}
        if m.affine:
            table.update(gamma=_array(m.weight), beta=_array(m.bias))
        if m.track_running_stats:
            table.update(running_mean=_array(m.running_mean), running_var=_array(m.running_var))
        return table
    raise StepgradError(f"unsupported module {type(m).__name__}", where=here)


def _rnn_table(rnn: Any, here: str) -> dict[str, Any]:
    bad = [f"{key}={value}" for key, value, fine in (
        ("num_layers", rnn.num_layers, 1), ("bidirectional", rnn.bidirectional, False), ("dropout", rnn.dropout, 0),
        ("proj_size", getattr(rnn, "proj_size", 0), 0)) if value != fine]
    if rnn.nonlinearity not in ("tanh", "relu"):
        bad.append(f"nonlinearity={rnn.nonlinearity!r}")
    _refuse("RNN", bad, here)
    table: dict[str, Any] = {"type": "rnn", "hidden": rnn.hidden_size, "activation": rnn.nonlinearity,
                             "weights_x": _array(rnn.weight_ih_l0), "weights_h": _array(rnn.weight_hh_l0),
                             "bias": bool(rnn.bias)}
    if rnn.bias:
        if rnn.bias_ih_l0.requires_grad and rnn.bias_hh_l0.requires_grad:
            raise StepgradError("bias_ih_l0 and bias_hh_l0 both train, so a step moves stepgrad's one bias (their "
                                "sum) twice; freeze one (rnn.bias_hh_l0.requires_grad_(False)) or use bias=False",
                                where=here)
        table["biases"] = (np.array(_array(rnn.bias_ih_l0)) + np.array(_array(rnn.bias_hh_l0))).tolist()
    return table


def _multihead_table(mha: Any, here: str) -> dict[str, Any]:
    bad = [f"{key}={value}" for key, value, fine in (
        ("num_heads", mha.num_heads, 1), ("dropout", mha.dropout, 0.0), ("add_zero_attn", mha.add_zero_attn, False),
        ("add_bias_kv", mha.bias_k is not None, False)) if value != fine]
    if not mha._qkv_same_embed_dim:
        bad.append(f"kdim={mha.kdim}, vdim={mha.vdim}")
    _refuse("MultiheadAttention", bad, here)
    weights = np.array(_array(mha.in_proj_weight))
    size = mha.embed_dim
    table: dict[str, Any] = {"type": "attention", "key_size": size, "value_size": size, "out_size": size,
                             "scale": True, "causal": False, "output": "sequence", "bias": mha.in_proj_bias is not None}
    for i, p in enumerate("qkv"):
        table[f"weights_{p}"] = weights[i * size:(i + 1) * size].tolist()
    table["weights_o"] = _array(mha.out_proj.weight)
    if mha.in_proj_bias is not None:
        biases = np.array(_array(mha.in_proj_bias))
        for i, p in enumerate("qkv"):
            table[f"biases_{p}"] = biases[i * size:(i + 1) * size].tolist()
        table["biases_o"] = _array(mha.out_proj.bias)
    return table


Link = tuple[str, tuple[str, ...], str | None]  # torch name, stepgrad roles stacked by rows, partner (added to it)


def links(m: Any, layer: Layer, prefix: str) -> list[Link]:
    """For compare_with_torch: each torch parameter of `m` (by its full name) and the stepgrad roles whose
    rows it stacks, and the torch parameter whose value adds to it (nn.RNN's two biases are one: b)."""
    nn = torch_module().nn
    dot = f"{prefix}." if prefix else ""
    if type(m) in (recurrent_module(), nn.RNN):
        base = f"{dot}rnn." if type(m) is recurrent_module() else dot
        found: list[Link] = [(f"{base}weight_ih_l0", ("weight_x",), None),
                             (f"{base}weight_hh_l0", ("weight_h",), None)]
        if "bias" in layer.params:
            found += [(f"{base}bias_ih_l0", ("bias",), f"{base}bias_hh_l0"),
                      (f"{base}bias_hh_l0", ("bias",), f"{base}bias_ih_l0")]
        return found
    if type(m) is attention_module():
        return [(f"{dot}{proj}.{kind}", (f"{kind}_{p}",), None) for p, proj in
                (("q", "q_proj"), ("k", "k_proj"), ("v", "v_proj"), ("o", "out_proj"))
                for kind in ("weight", "bias") if f"{kind}_{p}" in layer.params]
    if type(m) in (multihead_module(), nn.MultiheadAttention):
        base = f"{dot}attention." if type(m) is multihead_module() else dot
        stacked: list[Link] = [(f"{base}in_proj_weight", ("weight_q", "weight_k", "weight_v"), None),
                               (f"{base}out_proj.weight", ("weight_o",), None)]
        if "bias_q" in layer.params:
            stacked += [(f"{base}in_proj_bias", ("bias_q", "bias_k", "bias_v"), None),
                        (f"{base}out_proj.bias", ("bias_o",), None)]
        return stacked
    return [(f"{dot}{name}", (role,), None) for name, role in (("weight", "gamma"), ("bias", "beta"))
            if role in layer.params]
