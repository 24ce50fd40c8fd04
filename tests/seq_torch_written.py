"""A sequence network's step written out in torch with every inner quantity kept, each named as the trace names it.

For the tests of `explain --derive`'s rules (tests/test_seq_derive_rules.py): each layer's forward pass is
written here from its parameters and settings only (dense, conv1d, flatten, rnn, attention, layernorm,
batchnorm), its intermediate tensors kept with retain_grad, and after autograd every value and gradient is
named with core.names: values (h1_t2[1][s]), the samples' signals (dE_total[s]/dnet_h1_t2[1][s]; where samples
mix, the batch error's dE_total/dq[s]), parameter gradients, and `above:` entries for what the layer above an
rnn sends back to its states (the gradient of the rnn's output tensor).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from stepgrad.core import names
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.layers.values import truncation

ACTIVATIONS: dict[str, Callable] = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu,
                                    "linear": lambda z: z, "softplus": F.softplus, "silu": F.silu, "gelu": F.gelu,
                                    "softmax": lambda z: torch.softmax(z, dim=-1)}
Namer = Callable[[tuple[int, ...]], str]  # a 1-based position -> the quantity's name, without the sample


class _Run:
    def __init__(self, net: LayerNetwork, rows: list[int], mixing: bool, samples: int) -> None:
        self.net, self.rows, self.mixing, self.samples = net, rows, mixing, samples
        self.kept: list[tuple[torch.Tensor, Namer, bool, str]] = []  # (tensor, namer, per sample, how)
        self.params: dict[str, torch.Tensor] = {}
        self.window, self.inexact = truncation(net)  # which signals are BPTT(k) sums: the naming contract
        self.locals: list[tuple[torch.Tensor, Callable[[tuple[int, ...]], tuple[str, str]]]] = []

    def keep(self, tensor: torch.Tensor, namer: Namer, per_sample: bool = True, how: str = "value") -> torch.Tensor:
        if tensor.requires_grad:
            tensor.retain_grad()
        self.kept.append((tensor, namer, per_sample, how))
        return tensor

    def param(self, layer, role: str) -> torch.Tensor:
        tensor = torch.tensor(np.array(layer.params[role]), dtype=torch.float64, requires_grad=True)
        self.params[f"{layer.label}/{role}"] = tensor
        return tensor

    def cut(self, quantity: str) -> bool:
        """Below a truncated rnn: what reaches `quantity` is a BPTT(k) sum, named bptt<k>_..."""
        label = names.label_of(quantity)
        return self.window is not None and (label is None or label in self.inexact)

    def signal(self, quantity: str, r: int) -> str:
        if self.cut(quantity):
            return names.truncated(quantity, self.window, self.tag(r))
        if self.mixing:
            return names.batch_partial(names.TOTAL, quantity, self.rows[r] + 1)
        return names.partial(names.TOTAL, quantity, self.tag(r))

    def tag(self, r: int) -> int | None:
        return self.rows[r] + 1 if self.samples > 1 else None

    def named(self) -> dict[str, float]:
        found: dict[str, float] = {}
        for tensor, namer, per_sample, how in self.kept:
            value, grad = tensor.detach().numpy(), None if tensor.grad is None else tensor.grad.numpy()
            if not per_sample:
                for index in np.ndindex(*value.shape):
                    q = namer(tuple(i + 1 for i in index))
                    found[q] = float(value[index])
                    if grad is not None:
                        found[names.gradient(q)] = float(grad[index])
                continue
            for r in range(value.shape[0]):
                tag = self.tag(r)
                for index in np.ndindex(*value.shape[1:]):
                    q, position = namer(tuple(i + 1 for i in index)), (r, *index)
                    if how == "above":
                        found[f"above:{names.at(q, tag)}"] = float(grad[position]) if grad is not None else 0.0
                        continue
                    if how.startswith("part"):  # truncated BPTT: an entry's part, and its share of the sum
                        part = 0.0 if grad is None else float(grad[position])
                        found[names.truncated(q, self.window, tag, entry=int(how[4:]))] = part
                        total = names.truncated(q, self.window, tag)
                        found[total] = found.get(total, 0.0) + part
                        continue
                    found[names.at(q, tag)] = float(value[position])
                    if how == "value_only":
                        continue
                    if grad is not None:
                        found[self.signal(q, r)] = float(grad[position])
        for local, pair in self.locals:
            for r in range(local.shape[0]):
                for index in np.ndindex(*local.shape[1:]):
                    top, bottom = pair(tuple(i + 1 for i in index))
                    found[names.partial(top, bottom, self.tag(r))] = float(local[(r, *index)])
        for layer in self.net.all_layers():
            for role, value in layer.params.items():
                grad = self.params[f"{layer.label}/{role}"].grad
                for index in np.ndindex(*value.shape):
                    p = layer.parameter_name(role, tuple(i + 1 for i in index))
                    one = len(self.rows) == 1 and self.samples > 1 and not self.mixing
                    sample = self.rows[0] + 1 if one else None
                    name = names.truncated(p, self.window, sample) if self.cut(p) else names.gradient(p, sample)
                    found[name] = 0.0 if grad is None else float(grad.numpy()[index])
        return found


def written_step(net: LayerNetwork, rows: list[int], mixing: bool) -> dict[str, float]:
    """The step of the samples `rows` (0-based) written out in torch: every kept quantity by its name."""
    run = _Run(net, rows, mixing, len(net.inputs))
    x = torch.tensor(np.array(net.inputs)[rows], dtype=torch.float64, requires_grad=True)
    out, label_of_out = run.keep(x, lambda p: names.map_value("input", names.INPUT_MAP, p)), None
    for layer in net.layers:
        out = _layer(run, layer, out)
        label_of_out = layer.label
    assert label_of_out is not None
    targets = torch.tensor(np.array(net.targets)[rows], dtype=torch.float64)
    y = out.reshape(len(rows), -1)
    last = net.layers[-1]
    if net.loss == "half_squared_error":
        per = 0.5 * ((y - targets) ** 2).sum(1)
    elif net.loss == "mean_squared_error":
        per = ((y - targets) ** 2).sum(1) / y.shape[1]
    elif net.loss == "cross_entropy" and last.activation == "softmax":
        per = -(targets * torch.log(y)).sum(1)
    elif net.loss == "cross_entropy" and last.activation == "sigmoid":
        per = -(targets * torch.log(y) + (1 - targets) * torch.log(1 - y)).sum(1)
    else:
        raise ValueError(f"no torch loss written for {net.loss} after {last.activation}")
    per = per * net.loss_scale
    (per.mean() if net.reduction == "mean" else per.sum()).backward()
    return run.named()


def _layer(run: _Run, layer, x: torch.Tensor) -> torch.Tensor:
    kind, label = layer.kind, layer.label
    if kind == "dense":
        w, b = run.param(layer, "weight"), run.param(layer, "bias") if "bias" in layer.params else None
        net = x @ w.T + (b if b is not None else 0.0)
        run.keep(net, lambda p: names.map_value("net", label, p))
        return run.keep(ACTIVATIONS[layer.activation](net), lambda p: names.map_value("out", label, p))
    if kind == "conv1d":
        k = run.param(layer, "kernel")
        b = run.param(layer, "bias") if "bias" in layer.params else None
        net = F.conv1d(x, torch.flip(k, [-1]) if layer.flipped else k, b, stride=layer.stride[1],
                       padding=layer.padding[1])
        run.keep(net, lambda p: names.map_value("net", label, p))
        return run.keep(ACTIVATIONS[layer.activation](net), lambda p: names.map_value("out", label, p))
    if kind == "flatten":
        return run.keep(x.reshape(x.shape[0], -1), lambda p: names.map_value("out", label, p))
    if kind == "rnn":
        return _rnn(run, layer, x)
    if kind == "attention":
        return _attention(run, layer, x)
    return _norm(run, layer, x)


def _rnn(run: _Run, layer, x: torch.Tensor) -> torch.Tensor:
    label, act = layer.label, ACTIVATIONS[layer.recurrent_activation]
    wx, wh = run.param(layer, "weight_x"), run.param(layer, "weight_h")
    b = run.param(layer, "bias") if "bias" in layer.params else None
    h = torch.tensor(layer.initial(), dtype=torch.float64).expand(x.shape[0], -1)
    if layer.truncate is not None and layer.truncate < x.shape[1]:
        return _truncated_rnn(run, layer, x, h, lambda x_t, state: x_t @ wx.T + state @ wh.T + (b if b is not None else 0.0))
    states = []
    for t in range(x.shape[1]):
        net = x[:, t] @ wx.T + h @ wh.T + (b if b is not None else 0.0)
        run.keep(net, lambda p, t=t: names.recurrent_value("net", label, t + 1, p[0]))
        h = run.keep(act(net), lambda p, t=t: names.recurrent_value("h", label, t + 1, p[0]))
        apart = net.detach().requires_grad_()  # dh/dnet by autograd, on a graph of its own
        local = torch.autograd.grad(act(apart).sum(), apart)[0]
        run.locals.append((local, lambda p, t=t: (names.recurrent_value("h", label, t + 1, p[0]),
                                                  names.recurrent_value("net", label, t + 1, p[0]))))
        states.append(h)
    steps = x.shape[1]
    out = torch.stack(states, 1) if layer.output == "sequence" else states[-1] * 1.0
    namer = (lambda p: names.recurrent_value("h", label, p[0], p[1])) if layer.output == "sequence" else \
        (lambda p: names.recurrent_value("h", label, steps, p[0]))
    return run.keep(out, namer, how="above")


def _attention(run: _Run, layer, x: torch.Tensor) -> torch.Tensor:
    label = layer.label

    def project(role: str, source: torch.Tensor) -> torch.Tensor:
        w = run.param(layer, f"weight_{role}")
        b = run.param(layer, f"bias_{role}") if f"bias_{role}" in layer.params else None
        return source @ w.T + (b if b is not None else 0.0)

    def named(which: str) -> Namer:
        return lambda p: names.attention_value(which, label, p)

    q, k, v = (run.keep(project(role, x), named(role)) for role in "qkv")
    score = q @ k.transpose(1, 2)
    if layer.scaled:
        score = score / math.sqrt(q.shape[-1])
    steps = x.shape[1]
    masked = torch.triu(torch.ones(steps, steps, dtype=torch.bool), 1) if layer.causal else \
        torch.zeros(steps, steps, dtype=torch.bool)
    run.keep(score, named("score"))
    a = run.keep(torch.softmax(score.masked_fill(masked, float("-inf")), dim=-1), named("a"))
    z = run.keep(a @ v, named("z"))
    out = run.keep(project("o", z), named("out"))
    return out if layer.output == "sequence" else out[:, -1]


def _norm(run: _Run, layer, x: torch.Tensor) -> torch.Tensor:
    label, batch = layer.label, layer.kind == "batchnorm"
    axes = ((0,) if x.dim() == 2 else (0, 2)) if batch else (x.dim() - 1,)
    size = math.prod(x.shape[a] for a in axes)
    divide = size - 1 if layer.variance == "unbiased" else size
    shape = ((1, -1) if x.dim() == 2 else (1, -1, 1)) if batch else (*([1] * (x.dim() - 1)), -1)
    if batch and layer.mode == "evaluation":
        mu = torch.tensor(layer.running_mean, dtype=torch.float64).reshape(shape)
        var = torch.tensor(layer.running_var, dtype=torch.float64).reshape(shape)
    else:  # each statistic kept as it is named (batchnorm: one per feature; layernorm: per sample and step)
        def kept(which: str, tensor: torch.Tensor) -> torch.Tensor:
            named = tensor.reshape(-1) if batch else (tensor.squeeze(-1) if x.dim() > 2 else tensor)
            run.keep(named, lambda p: names.norm_value(which, label, p), per_sample=not batch)
            return named.reshape(tensor.shape)

        mu = kept("mu", x.mean(dim=axes, keepdim=True))
        var = kept("var", ((x - mu) ** 2).sum(dim=axes, keepdim=True) / divide)
    xhat = run.keep((x - mu) / torch.sqrt(var + layer.eps), lambda p: names.norm_value("xhat", label, p))
    if "gamma" in layer.params:
        out = xhat * run.param(layer, "gamma").reshape(shape) + run.param(layer, "beta").reshape(shape)
    else:
        out = xhat * 1.0
    return run.keep(out, lambda p: names.map_value("out", label, p))


def _truncated_rnn(run: _Run, layer, x: torch.Tensor, h0: torch.Tensor, weighted: Callable) -> torch.Tensor:
    """BPTT(k) as PyTorch computes it with detached states: the state at step e is computed again from the state k
    steps before e, detached, so the error entering at e goes back k steps; each window's states are that entry's
    parts (bptt<k>e<e>_h1_t<t>), and the sums add the parts."""
    label, act, k, steps = layer.label, ACTIVATIONS[layer.recurrent_activation], layer.truncate, x.shape[1]
    full, h = [], h0
    for t in range(steps):
        net = weighted(x[:, t], h)
        run.keep(net.detach(), lambda p, t=t: names.recurrent_value("net", label, t + 1, p[0]), how="value_only")
        h = act(net)
        run.keep(h.detach(), lambda p, t=t: names.recurrent_value("h", label, t + 1, p[0]), how="value_only")
        apart = net.detach().requires_grad_()
        local = torch.autograd.grad(act(apart).sum(), apart)[0]
        run.locals.append((local, lambda p, t=t: (names.recurrent_value("h", label, t + 1, p[0]),
                                                  names.recurrent_value("net", label, t + 1, p[0]))))
        full.append(h.detach())
    outputs = []
    for e in range(steps):
        start = max(0, e - k + 1)
        state = h0 if start == 0 else full[start - 1]  # detached: the gradient stops here
        for t in range(start, e + 1):
            net = run.keep(weighted(x[:, t], state), lambda p, t=t: names.recurrent_value("net", label, t + 1, p[0]),
                           how=f"part{e + 1}")
            state = run.keep(act(net), lambda p, t=t: names.recurrent_value("h", label, t + 1, p[0]), how=f"part{e + 1}")
        outputs.append(state)
    out = torch.stack(outputs, 1) if layer.output == "sequence" else outputs[-1] * 1.0
    namer = (lambda p: names.recurrent_value("h", label, p[0], p[1])) if layer.output == "sequence" else \
        (lambda p: names.recurrent_value("h", label, steps, p[0]))
    return run.keep(out, namer, how="above")
