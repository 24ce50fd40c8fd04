"""PyTorch interop for layer-table networks: nn.Conv1d/Conv2d, MaxPool1d/2d, AvgPool1d/2d, Flatten, Linear and residual blocks.

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

from stepgrad.core import names as stepgrad_names
from stepgrad.core.errors import StepgradError
from stepgrad.core.functions import ACTIVATIONS
from stepgrad.core.layers.base import Layer
from stepgrad.core.layers.conv import Conv
from stepgrad.core.layers.dense import Dense
from stepgrad.core.layers.flatten import Flatten
from stepgrad.core.layers.pool import Pool
from stepgrad.core.layers.residual import Residual
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.trace import Trace
from stepgrad.interop.reading import _activation_name, torch_module

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
    return any(type(m) in kinds for m in modules())


# ------------------------------------------------------------------------------------------------
# stepgrad -> torch


def to_torch_layers(net: LayerNetwork) -> Any:
    """An nn.Sequential (float64) with `net`'s layers, parameters and activations."""
    return torch_module().nn.Sequential(*_modules(net.layers))


def _modules(layers: list[Layer]) -> list[Any]:
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
            m = nn.Linear(layer.in_shape[0], layer.out_shape[0], bias="bias" in layer.params, dtype=torch.float64)
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(layer.params["weight"]))
                if m.bias is not None:
                    m.bias.copy_(torch.from_numpy(layer.params["bias"]))
            out.append(m)
        elif isinstance(layer, Residual):
            out.append(residual_module()(nn.Sequential(*_modules(layer.inner)), _activation(layer.activation)))
            continue
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
    """The layer tables of an nn.Sequential's children (each activation joins the layer before it)."""
    nn = torch_module().nn
    if not isinstance(module, nn.Sequential):
        raise StepgradError(f"expected an nn.Sequential, got {type(module).__name__}", where=where)
    tables: list[dict[str, Any]] = []
    children = [(name, m) for name, m in module._modules.items() if m is not None and type(m) is not nn.Identity]
    for k, (name, m) in enumerate(children):
        here = f"{where}.{name}" if where else name
        is_last = last and k == len(children) - 1
        act = None if type(m).__name__ in LAYER_MODULES + ("Linear", "Flatten", "Sequential") else \
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
                        "Flatten, Linear, the registry's activations and stepgrad's residual_module()", where=here)


def from_torch_layers(module: Any, *, input_shape: tuple[int, ...] | list[int], loss: str = "half_squared_error",
                      learning_rate: float = 0.5, update_biases: bool = True, inputs: Any = None, targets: Any = None,
                      reduction: str = "mean", convolution: str = "cross_correlation", name: str = "") -> LayerNetwork:
    """A LayerNetwork with the layers and parameters of an nn.Sequential; `input_shape`: one sample's
    (channels, rows, columns), (channels, length) or (units,), which a module does not know itself.
    convolution="convolution": the network's kernels are PyTorch's turned by 180 degrees (the same values)."""
    tables = _tables(module, "", last=True)
    if convolution == "convolution":
        _flip_kernels(tables)
    spec: dict[str, Any] = {
        "layers": [{"type": "input", "shape": list(input_shape)}, *tables], "convolution": convolution,
        "loss": loss, "learning_rate": learning_rate, "update_biases": update_biases, "reduction": reduction,
    }
    if name:
        spec["name"] = name
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


def explain_torch_layers(module: Any, inputs: Any, targets: Any, *, input_shape: tuple[int, ...] | None = None,
                         loss: str = "half_squared_error", lr: float = 0.5, check: bool = True) -> Trace:
    """The stepgrad trace of one SGD step of a conv/pool/residual nn.Sequential on (inputs, targets); with
    `check`, every parameter's gradient is first held to PyTorch autograd on the module itself (1e-9)."""
    from stepgrad.tracing.layered import explain_layers

    shape = tuple(input_shape or np.asarray(_numpy(inputs)).shape[1:])
    net = from_torch_layers(module, input_shape=shape, loss=loss, learning_rate=lr, inputs=inputs, targets=targets,
                            name=type(module).__name__)
    trace = explain_layers(net)
    if check:
        _check_against_autograd(module, net, trace)
    return trace


def _check_against_autograd(module: Any, net: LayerNetwork, trace: Trace) -> None:
    """StepgradError unless every gradient in `trace` matches autograd on `module` (float64, 1e-9 relative)."""
    from stepgrad.core.functions import LOSSES

    torch = torch_module()
    model = module.to(torch.float64)
    model.zero_grad()
    x = torch.tensor(net.inputs, dtype=torch.float64)
    t = torch.tensor(net.targets, dtype=torch.float64)
    out = model(x).flatten(1)
    last = net.layers[-1]
    entry = LOSSES[net.loss]
    factory = entry.torch
    if entry.combination(last.activation) is not None or factory is None:
        raise StepgradError(f"explain_torch_layers checks against autograd only for losses of the module's output; "
                            f"{net.loss} with {last.activation} is not one (pass check=False to explain without it)")
    per_sample = factory()(out, t)
    (per_sample.sum() if net.reduction == "sum" else per_sample.mean()).backward()
    names = [(layer, role) for layer in net.all_layers() for role in layer.params]
    params = [p for p in model.parameters()]
    if len(params) != len(names):
        raise StepgradError(f"the module has {len(params)} parameters, the network {len(names)}")
    for (layer, role), p in zip(names, params):
        grad = p.grad.detach().numpy()
        if isinstance(layer, Conv) and role == "kernel" and layer.flipped:
            grad = np.flip(grad, axis=(-2, -1) if not layer.one_d else (-1,))
        for index in np.ndindex(*grad.shape):
            name = layer.parameter_name(role, tuple(i + 1 for i in index))
            gradient = stepgrad_names.gradient(name)
            ours = trace.values[gradient]
            if abs(ours - grad[index]) > 1e-9 * max(abs(grad[index]), 1e-6):
                raise StepgradError(f"stepgrad and autograd differ at {gradient}: {ours!r} vs {grad[index]!r}")
