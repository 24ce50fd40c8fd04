"""PyTorch interop for layer-table networks: nn.Conv1d/Conv2d, MaxPool1d/2d, AvgPool1d/2d, Flatten, Linear, residual
blocks, and the sequence layers of interop/sequences.py (nn.RNN, an attention head, nn.LayerNorm, nn.BatchNorm1d).

    >>> net = LayerNetwork.from_dict({"layers": [{"type": "input", "shape": [1, 4, 4]},
    ...     {"type": "conv2d", "out_channels": 2, "kernel": 3}, {"type": "flatten"}, 2]})
    >>> model = to_torch_layers(net)                        # an nn.Sequential, float64
    >>> model
    Sequential(
      (0): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1))
      (1): Sigmoid()
      (2): Flatten(start_dim=1, end_dim=-1)
      (3): Linear(in_features=8, out_features=2, bias=True)
      (4): Sigmoid()
    )
    >>> again = from_torch_layers(model, input_shape=(1, 4, 4))   # the same layers and parameters

A residual block is stepgrad's `residual_module()` class: `block` (an nn.Sequential) and
`activation`, forward act(x + block(x)); PyTorch has no residual module of its own, and a custom
module's forward() is not read (refused, naming it). Conventions carried over: true convolution is
written as PyTorch's cross-correlation with the kernel flipped (torch.flip on the last axes) and read
back the same way with `convolution="convolution"`; a max-pool's ties go to the first cell, as in
PyTorch (`ties = "split"` has no PyTorch counterpart and is refused). Not read (refused by name):
dilation, groups, padding modes other than zeros, padding="same", pooling padding, ceil_mode,
count_include_pad=False with padding, divisor_override.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from stepgrad.core.errors import StepgradError
from stepgrad.core.functions import ACTIVATIONS
from stepgrad.core.layers.base import Layer
from stepgrad.core.layers.conv import Conv
from stepgrad.core.layers.dense import Dense
from stepgrad.core.layers.flatten import Flatten
from stepgrad.core.layers.pool import Pool
from stepgrad.core.layers.residual import Residual
from stepgrad.core.layers.rnn import Sequence
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.interop.reading import _activation_name, torch_module
from stepgrad.interop.sequences import (
    NORM_MODULES,
    SEQUENCE_MODULES,
    is_recurrent_or_attention,
    is_sequence_module,
    read_module,
    to_module,
)

LAYER_MODULES = ("Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "Residual")


@functools.cache
def residual_module() -> Any:
    """stepgrad's residual block as an nn.Module class: forward(x) = activation(x + block(x))."""
    nn = torch_module().nn

    class Residual(nn.Module):  # type: ignore[name-defined]
        """A residual block: `block` (nn.Sequential) whose output is added to its input, then `activation`."""

        def __init__(self, block: Any, activation: Any = None) -> None:
            super().__init__()
            self.block = block
            self.activation = activation if activation is not None else nn.Identity()

        def forward(self, x: Any) -> Any:
            return self.activation(x + self.block(x))

    return Residual


def has_layer_modules(module: Any) -> bool:
    """Whether a torch module holds a convolution, pooling or stepgrad's residual block (read by this module)."""
    modules = getattr(module, "modules", None)
    if not callable(modules):
        return False
    nn = torch_module().nn
    kinds = (nn.Conv1d, nn.Conv2d, nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d, residual_module())
    return any(type(m) in kinds or is_sequence_module(m) for m in modules())


# ------------------------------------------------------------------------------------------------
# stepgrad -> torch


def to_torch_layers(net: LayerNetwork, attention: str = "head") -> Any:
    """An nn.Sequential (float64) with `net`'s layers, parameters and activations; attention="multihead": each
    attention head as nn.MultiheadAttention with one head (interop/sequences.py), "head" written in torch."""
    return torch_module().nn.Sequential(*_modules(net.layers, attention))


def _modules(layers: list[Layer], attention: str = "head") -> list[Any]:
    torch = torch_module()
    nn = torch.nn
    out: list[Any] = []
    for layer in layers:
        if isinstance(layer, Conv):
            cls = nn.Conv1d if layer.one_d else nn.Conv2d
            pick = (lambda pair: pair[1]) if layer.one_d else (lambda pair: tuple(pair))
            m = cls(layer.in_shape[0], layer.out_shape[0], pick(layer.kernel_size), stride=pick(layer.stride),
                    padding=pick(layer.padding), bias="bias" in layer.params, dtype=torch.float64)
            kernel = torch.from_numpy(np.array(layer.params["kernel"], dtype=np.float64))
            with torch.no_grad():
                m.weight.copy_(torch.flip(kernel, dims=[-1] if layer.one_d else [-2, -1]) if layer.flipped else kernel)
                if m.bias is not None:
                    m.bias.copy_(torch.from_numpy(layer.params["bias"]))
            out.append(m)
        elif isinstance(layer, Pool):
            if layer.ties != "first":
                raise StepgradError(f"{layer.label}: ties = {layer.ties!r} has no PyTorch counterpart (PyTorch's "
                                    "max-pool gives the gradient to the first largest cell: ties = \"first\")")
            kind = {("max", True): nn.MaxPool1d, ("max", False): nn.MaxPool2d, ("avg", True): nn.AvgPool1d,
                    ("avg", False): nn.AvgPool2d}[(layer.mode, layer.one_d)]
            pick = (lambda pair: pair[1]) if layer.one_d else (lambda pair: tuple(pair))
            out.append(kind(pick(layer.kernel_size), stride=pick(layer.stride)))
        elif isinstance(layer, Flatten):
            out.append(nn.Flatten())
        elif isinstance(layer, Dense):
            m = nn.Linear(layer.in_shape[-1], layer.out_shape[-1], bias="bias" in layer.params, dtype=torch.float64)
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(layer.params["weight"]))
                if m.bias is not None:
                    m.bias.copy_(torch.from_numpy(layer.params["bias"]))
            out.append(m)
        elif isinstance(layer, Residual):
            out.append(residual_module()(nn.Sequential(*_modules(layer.inner, attention)), _activation(layer.activation)))
            continue
        elif layer.kind in ("rnn", "attention", "layernorm", "batchnorm"):
            out.append(to_module(layer, attention))
        else:
            raise StepgradError(f"{layer.label}: no PyTorch counterpart for {layer.kind}")
        if layer.has_activation and layer.activation != "linear":
            out.append(_activation(layer.activation))
    return out


def _activation(name: str) -> Any:
    return ACTIVATIONS[name].torch()


# ------------------------------------------------------------------------------------------------
# torch -> stepgrad


def _array(tensor: Any) -> Any:
    return tensor.detach().cpu().to(dtype=torch_module().float64).numpy().tolist()


def _tables(module: Any, where: str, last: bool) -> list[dict[str, Any]]:
    """The layer tables of an nn.Sequential's children (each activation joins the layer before it); a sequence
    or normalization module given alone is read as the one layer of its network."""
    nn = torch_module().nn
    if not where and is_sequence_module(module):
        return [read_module(module, type(module).__name__)]
    if not isinstance(module, nn.Sequential):
        raise StepgradError(f"expected an nn.Sequential, got {type(module).__name__}", where=where)
    tables: list[dict[str, Any]] = []
    children = [(name, m) for name, m in module._modules.items() if m is not None and type(m) is not nn.Identity]
    for k, (name, m) in enumerate(children):
        here = f"{where}.{name}" if where else name
        is_last = last and k == len(children) - 1
        act = None if type(m).__name__ in LAYER_MODULES + SEQUENCE_MODULES + NORM_MODULES + (
            "Linear", "Flatten", "Sequential") else \
            _activation_name(here, m, is_last)
        if act is not None:
            if not tables or tables[-1]["type"] not in ("conv1d", "conv2d", "dense") or "activation" in tables[-1]:
                raise StepgradError(f"an activation ({type(m).__name__}) follows only a Conv or a Linear here",
                                    where=here)
            tables[-1]["activation"] = act
            continue
        tables.append(_table(m, here, is_last))
    for table in tables:
        if table["type"] in ("conv1d", "conv2d", "dense"):
            table.setdefault("activation", "linear")
    return tables


def _table(m: Any, here: str, last: bool) -> dict[str, Any]:
    nn = torch_module().nn
    kind = type(m).__name__
    if is_sequence_module(m):
        if type(m) in (nn.RNN, nn.MultiheadAttention):
            raise StepgradError(f"an nn.{kind} returns a pair, so it cannot sit in an nn.Sequential: wrap it in "
                                f"stepgrad's {'recurrent_module' if kind == 'RNN' else 'multihead_module'}() "
                                "(interop/sequences.py)", where=here)
        return read_module(m, here)
    if isinstance(m, (nn.Conv1d, nn.Conv2d)) and type(m) in (nn.Conv1d, nn.Conv2d):
        bad = [f"{k}={v}" for k, v in (("dilation", m.dilation), ("groups", m.groups), ("padding_mode", m.padding_mode))
               if v not in ((1,), (1, 1), 1, "zeros")]
        if isinstance(m.padding, str):
            bad.append(f"padding={m.padding!r}")
        if bad:
            raise StepgradError(f"unsupported {kind} setting {', '.join(bad)}", where=here)
        one_d = isinstance(m, nn.Conv1d)
        table: dict[str, Any] = {"type": "conv1d" if one_d else "conv2d", "out_channels": m.out_channels,
                                 "in_channels": m.in_channels,
                                 "kernel": m.kernel_size[0] if one_d else list(m.kernel_size),
                                 "stride": m.stride[0] if one_d else list(m.stride),
                                 "padding": m.padding[0] if one_d else list(m.padding),
                                 "weights": _array(m.weight), "bias": m.bias is not None}
        if m.bias is not None:
            table["biases"] = _array(m.bias)
        return table
    if type(m) in (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d):
        bad = [f"{k}={getattr(m, k)}" for k, fine in (("padding", (0, (0,), (0, 0))), ("ceil_mode", (False,)),
                                                    ("dilation", (1, (1,), (1, 1))), ("return_indices", (False,)),
                                                    ("divisor_override", (None,)))
               if hasattr(m, k) and getattr(m, k) not in fine]
        if bad:
            raise StepgradError(f"unsupported {kind} setting {', '.join(bad)}", where=here)
        table = {"type": "maxpool" if "Max" in kind else "avgpool", "kernel": m.kernel_size,
                 "stride": m.stride if m.stride is not None else m.kernel_size}
        for key in ("kernel", "stride"):
            value = table[key]
            table[key] = list(value) if isinstance(value, tuple) and len(value) == 2 else (
                value[0] if isinstance(value, tuple) else value)
        return table
    if type(m) is nn.Flatten:
        if m.start_dim != 1 or m.end_dim != -1:
            raise StepgradError("only nn.Flatten() (start_dim=1, end_dim=-1) is read", where=here)
        return {"type": "flatten"}
    if type(m) is nn.Linear:
        table = {"type": "dense", "neurons": m.out_features, "weights": _array(m.weight), "bias": m.bias is not None}
        if m.bias is not None:
            table["biases"] = _array(m.bias)
        return table
    if type(m) is residual_module():
        inner = _tables(m.block, f"{here}.block", last=False)
        act = "linear" if type(m.activation) is nn.Identity else _activation_name(f"{here}.activation", m.activation, last)
        return {"type": "residual", "layers": inner, "activation": act}
    raise StepgradError(f"unsupported module {kind}: stepgrad reads nn.Conv1d/Conv2d, MaxPool1d/2d, AvgPool1d/2d, "
                        "Flatten, Linear, LayerNorm, BatchNorm1d, the registry's activations and stepgrad's "
                        "residual_module(), recurrent_module(), attention_module(), multihead_module()", where=here)


def from_torch_layers(module: Any, *, input_shape: tuple[int, ...] | list[int], loss: str = "half_squared_error",
                      learning_rate: float = 0.5, update_biases: bool = True, inputs: Any = None, targets: Any = None,
                      reduction: str = "mean", convolution: str = "cross_correlation", name: str = "",
                      step_reduction: str | None = None) -> LayerNetwork:
    """A LayerNetwork with the layers and parameters of an nn.Sequential; `input_shape`: one sample's
    (channels, rows, columns), (channels, length), (units,) or, with an rnn or attention module (or as an
    rnn.Sequence), (steps, features), which a module does not know itself.
    convolution="convolution": the network's kernels are PyTorch's turned by 180 degrees (the same values).
    step_reduction: a sequence output's steps' errors per sample, "sum" or "mean" (required for one)."""
    tables = _tables(module, "", last=True)
    if convolution == "convolution":
        _flip_kernels(tables)
    first: dict[str, Any] = {"type": "input", "shape": list(input_shape)}
    if isinstance(input_shape, Sequence) or any(is_recurrent_or_attention(m) for m in module.modules()):
        if len(input_shape) != 2:
            raise StepgradError(f"input_shape {tuple(input_shape)}: a sequence's is (steps, features)")
        first = {"type": "sequence", "steps": int(input_shape[0]), "features": int(input_shape[1])}
    spec: dict[str, Any] = {
        "layers": [first, *tables], "convolution": convolution,
        "loss": loss, "learning_rate": learning_rate, "update_biases": update_biases, "reduction": reduction,
    }
    if name:
        spec["name"] = name
    if step_reduction is not None:
        spec["step_reduction"] = step_reduction
    if inputs is not None and targets is not None:
        xs = np.asarray(_numpy(inputs), dtype=np.float64)
        ts = np.asarray(_numpy(targets), dtype=np.float64)
        spec["samples"] = [{"inputs": x.tolist(), "targets": t.reshape(-1).tolist()} for x, t in zip(xs, ts)]
    return LayerNetwork.from_dict(spec, f"<{type(module).__name__}>")


def _flip_kernels(tables: list[dict[str, Any]]) -> None:
    for table in tables:
        if table["type"] in ("conv1d", "conv2d"):
            axes = (-1,) if table["type"] == "conv1d" else (-2, -1)
            table["weights"] = np.flip(np.array(table["weights"]), axis=axes).tolist()
        elif table["type"] == "residual":
            _flip_kernels(table["layers"])


def _numpy(value: Any) -> Any:
    return value.detach().cpu().numpy() if hasattr(value, "detach") else value
