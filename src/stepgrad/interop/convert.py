"""PyTorch interop: a stepgrad network as an `nn.Sequential` and back, and state_dict files.

An nn.Module subclass is read through its forward(), followed with torch.fx (`traced_leaves`).

    >>> model = stepgrad.to_torch(stepgrad.builtin())  # Linear(2, 2), Sigmoid, Linear(2, 2), Sigmoid; float64
    >>> net = stepgrad.from_torch(model)                # the same weights, biases b1, b2 shared again

torch is the optional extra `stepgrad[torch]`; it is imported only inside these functions.

Mapping: every stepgrad layer is an `nn.Linear` (float64) followed by its activation's registry
counterpart (`functions.ACTIVATIONS[name].torch`: Sigmoid, Tanh, ReLU, LeakyReLU(0.01), Identity,
Softmax(dim=-1), Softplus ...). Reading back, a module is the activation whose counterpart has its
type and settings; a Linear with no activation after it is linear.

Biases: PyTorch has no shared bias, so `to_torch` expands a shared bias (the deck's b1) into equal
per-neuron biases. `from_torch(shared_biases="auto")` reads a layer of two or more neurons whose
biases are all exactly equal back as one shared bias (so to_torch -> from_torch is exact);
`shared_biases=False` keeps PyTorch's per-neuron biases (explain_torch does this, since PyTorch
trains each bias on its own), `True` or a list per layer forces sharing (the biases must be equal).
`update_biases` is carried by `requires_grad`: to_torch freezes the biases of a network that does
not update them, and from_torch updates biases when they require gradients.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stepgrad.core.errors import StepgradError
from stepgrad.core.functions import ACTIVATIONS
from stepgrad.core.spec import Network

SUPPORTED = ("nn.Linear, each followed by " + ", ".join(a.torch_source.removeprefix("nn.") for a in ACTIVATIONS.values())
             + " (or nothing)")


def torch_module() -> Any:
    """The torch module, or a StepgradError saying how to install it."""
    try:
        import torch
    except ImportError:
        raise StepgradError("PyTorch is not installed: pip install 'stepgrad[torch]'") from None
    return torch


def to_torch(net: Network) -> Any:
    """An nn.Sequential (float64) of nn.Linear and activation modules with `net`'s weights."""
    torch = torch_module()
    modules = []
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        linear = torch.nn.Linear(net.layers[l], net.layers[l + 1], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.array(w, dtype=np.float64)))
            linear.bias.copy_(torch.from_numpy(np.broadcast_to(b, (net.layers[l + 1],)).copy()))
        linear.bias.requires_grad_(bool(net.update_biases))
        modules += [linear, ACTIVATIONS[net.activations[l]].torch()]
    return torch.nn.Sequential(*modules)


def describe(net: Network) -> str:
    """Python source of the nn.Sequential that `to_torch` builds (to load an exported state_dict)."""
    parts = []
    for l, act in enumerate(net.activations):
        parts.append(f"nn.Linear({net.layers[l]}, {net.layers[l + 1]}, dtype=torch.float64)")
        parts.append(ACTIVATIONS[act].torch_source)
    return "nn.Sequential(" + ", ".join(parts) + ")"


def flatten(module: Any) -> list[tuple[str, Any]]:
    """(state_dict prefix, module) for every leaf of a (nested) nn.Sequential, in order."""
    nn = torch_module().nn
    if isinstance(module, nn.Sequential):
        leaves = []
        for name, child in module.named_children():
            leaves += [(f"{name}.{sub}" if sub else name, m) for sub, m in flatten(child)]
        return leaves
    if isinstance(module, nn.Module):
        return [("", module)]
    raise StepgradError(f"expected an nn.Sequential of {SUPPORTED}; got {type(module).__name__}")


def _activation_name(name: str, module: Any, last: bool) -> str | None:
    """stepgrad's name for an activation module, None when it is not one; errors for unsupported settings."""
    label = f"layer {name!r} ({module!r})"
    same_type = [(act, act.torch()) for act in ACTIVATIONS.values()]
    same_type = [(act, ours) for act, ours in same_type if type(module) is type(ours)]
    # one torch module may be several entries by its settings (nn.GELU: gelu, and gelu_tanh with approximate='tanh')
    same_type.sort(key=lambda pair: module.extra_repr() != pair[1].extra_repr())
    for act, ours in same_type:
        if module.extra_repr() != ours.extra_repr() and not _same_softmax(module, ours):
            settings = ours.extra_repr().replace("_", " ").replace("=", " ")
            raise StepgradError(f"unsupported {label}: stepgrad's {act.name} is {act.torch_source}, with {settings}")
        if not act.hidden_ok and not last:
            raise StepgradError(f"unsupported {label}: {act.name} is allowed only as the last module")
        return act.name
    return None


def _same_softmax(module: Any, ours: Any) -> bool:
    # Softmax over the last dimension of a (samples, features) batch: dim=1 is dim=-1.
    return hasattr(module, "dim") and {module.dim, ours.dim} <= {-1, 1}


def layers_of(module: Any) -> tuple[list[tuple[str, Any]], list[str]]:
    """The (name, nn.Linear) layers of `module` and each one's stepgrad activation name."""
    nn = torch_module().nn
    if isinstance(module, nn.Module) and not isinstance(module, (nn.Sequential, nn.Linear)):
        leaves = traced_leaves(module)
    else:
        leaves = flatten(module)
    linears: list[tuple[str, Any]] = []
    activations: list[str | None] = []
    for k, (name, m) in enumerate(leaves):
        if isinstance(m, nn.Linear):
            if linears and activations[-1] is None:
                activations[-1] = "linear"
            if linears and m.in_features != linears[-1][1].out_features:
                raise StepgradError(f"layer {name!r} ({m!r}) takes {m.in_features} inputs but the layer before "
                                    f"gives {linears[-1][1].out_features}")
            linears.append((name, m))
            activations.append(None)
            continue
        act = _activation_name(name, m, last=k == len(leaves) - 1)
        if act is None:
            raise StepgradError(f"unsupported layer {name!r} ({type(m).__name__}): stepgrad reads {SUPPORTED}")
        if not linears or activations[-1] is not None:
            raise StepgradError(f"unsupported layer {name!r} ({type(m).__name__}): an activation must follow an nn.Linear")
        activations[-1] = act
    if not linears:
        raise StepgradError(f"no nn.Linear layer in the module: stepgrad reads {SUPPORTED}")
    return linears, [a or "linear" for a in activations]


# torch functions and tensor methods in a forward(), as the activation module that computes the same
_FUNCTIONS = {"tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "ReLU", "leaky_relu": "LeakyReLU",
              "softplus": "Softplus", "softmax": "Softmax"}
FOLLOWED = "torch.tanh, torch.sigmoid, torch.relu, torch.softmax, F.relu, F.leaky_relu, F.softplus, F.softmax"


def traced_leaves(module: Any) -> list[tuple[str, Any]]:
    """(name, module) for each step of an nn.Module's forward(), followed with torch.fx symbolic tracing.

    The forward must be a chain: each operation takes the one before it (the input first). Calls of
    submodules are taken as they are; torch functions (torch.tanh, F.relu ...) become the activation
    module that computes the same, so `layers_of` checks both alike.
    """
    torch = torch_module()
    label = type(module).__name__
    try:
        graph = torch.fx.symbolic_trace(module)
    except Exception as exc:  # fx raises many types for data-dependent control flow and the like
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise StepgradError(f"cannot follow {label}.forward() with torch.fx ({reason}); stepgrad reads "
                            f"chains of {SUPPORTED}, or {FOLLOWED}") from None
    leaves: list[tuple[str, Any]] = []
    previous = None
    for node in graph.graph.nodes:
        if node.op == "placeholder":
            if previous is not None:
                raise StepgradError(f"{label}.forward() takes more than one input ({node.name}); stepgrad reads one")
            previous = node
            continue
        chained = bool(node.args) and node.args[0] is previous and all(
            not isinstance(a, torch.fx.Node) for a in list(node.args[1:]) + list(node.kwargs.values()))
        if node.op == "output":
            if node.args[0] is not previous:
                raise StepgradError(f"unsupported output of {label}.forward(): it must return the last operation's result")
            break
        if node.op == "call_module" and chained and _known_module(graph.get_submodule(node.target)):
            leaves.append((str(node.target), graph.get_submodule(node.target)))
        elif node.op in ("call_function", "call_method") and chained and _function_module(node) is not None:
            leaves.append((node.name, _function_module(node)))
        else:
            what = type(graph.get_submodule(node.target)).__name__ if node.op == "call_module" else _describe(node)
            raise StepgradError(f"unsupported operation {node.name!r} ({what}) in {label}.forward(): "
                                f"stepgrad follows a chain of {SUPPORTED}, or {FOLLOWED}")
        previous = node
    return leaves


def _known_module(module: Any) -> bool:
    nn = torch_module().nn
    return isinstance(module, (nn.Linear, nn.Sequential)) or any(type(module) is type(a.torch()) for a in ACTIVATIONS.values())


def _function_module(node: Any) -> Any:
    """The activation module a traced function call computes (with its settings), or None."""
    name = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", "")
    if name not in _FUNCTIONS:
        return None
    kwargs = {k: v for k, v in node.kwargs.items() if k not in ("inplace", "_stacklevel", "dtype")}
    try:
        return getattr(torch_module().nn, _FUNCTIONS[name])(*node.args[1:], **kwargs)
    except TypeError:
        return None


def _describe(node: Any) -> str:
    target = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", repr(node.target))
    return {"call_module": "module", "call_function": "function", "call_method": "method",
            "get_attr": "attribute"}.get(node.op, node.op) + f" {target}"


def _array(value: Any, where: str) -> np.ndarray:
    torch = torch_module()
    if isinstance(value, torch.Tensor):
        if value.is_meta:
            raise StepgradError("a meta tensor (a shape without values): nothing to import", where=where)
        if value.layout != torch.strided:
            raise StepgradError(f"a {str(value.layout).replace('torch.', '')} tensor: save it dense "
                                "(tensor.to_dense()) to import it", where=where)
        if value.is_complex():
            raise StepgradError("complex numbers: a network's weights are real", where=where)
        if not (value.is_floating_point() or value.dtype in (torch.int8, torch.int16, torch.int32, torch.int64,
                                                               torch.uint8, torch.bool)):
            raise StepgradError(f"expected numbers, got a {value.dtype} tensor", where=where)
        value = value.detach().to(device="cpu", dtype=torch.float64).numpy()
    try:
        return np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise StepgradError(f"expected numbers ({exc})", where=where) from None


def build_network(weights: list[np.ndarray], biases: list[np.ndarray | None], activations: list[str], *,
                  source: str, loss: str = "half_squared_error", learning_rate: float = 0.5,
                  update_biases: bool = True, update_order: str = "synchronous",
                  shared_biases: str | bool | Sequence[bool] = "auto",
                  inputs: Any = None, targets: Any = None, name: str = "") -> Network:
    """A validated Network from per-layer weight matrices and bias vectors (None: no bias, zeros)."""
    depth = len(weights)
    layers = [int(weights[0].shape[1])] + [int(w.shape[0]) for w in weights]
    if isinstance(shared_biases, str):
        if shared_biases != "auto":
            raise StepgradError(f"shared_biases must be 'auto', True, False or a list, not {shared_biases!r}")
        shared = [b is not None and b.size > 1 and bool(np.all(b == b[0])) for b in biases]
    elif isinstance(shared_biases, bool):
        shared = [shared_biases] * depth
    else:
        shared = [bool(s) for s in shared_biases]
    bias_data: list[Any] = []
    for l, b in enumerate(biases):
        b = np.zeros(layers[l + 1]) if b is None else b
        if shared[l] and not np.all(b == b[0]):
            raise StepgradError(f"layer {l + 1}'s biases differ, so they cannot be one shared bias",
                                where=f"{source}: biases[{l}]")
        bias_data.append(float(b[0]) if shared[l] else b.tolist())
    data: dict[str, Any] = {
        "layers": layers, "activations": list(activations), "loss": loss, "learning_rate": learning_rate,
        "update_biases": bool(update_biases), "update_order": update_order,
        "weights": [w.tolist() for w in weights], "biases": bias_data,
    }
    if name:
        data["name"] = name
    if inputs is not None and targets is not None:
        xs, ts = np.atleast_2d(_array(inputs, "inputs")), np.atleast_2d(_array(targets, "targets"))
        if xs.ndim != 2 or ts.ndim != 2 or len(xs) != len(ts):
            raise StepgradError(f"expected a row of inputs and a row of targets per sample, got shapes "
                                f"{xs.shape} and {ts.shape}", where="inputs/targets")
        data["samples"] = [{"inputs": x.tolist(), "targets": t.tolist()} for x, t in zip(xs, ts)]
    return Network.from_dict(data, source)


def from_torch(module: Any, *, loss: str = "half_squared_error", learning_rate: float = 0.5,
               update_biases: bool | None = None, shared_biases: str | bool | Sequence[bool] = "auto",
               update_order: str = "synchronous", inputs: Any = None, targets: Any = None,
               name: str = "") -> Network:
    """A stepgrad Network with the weights of an nn.Sequential of nn.Linear and activation modules.

    update_biases=None: true when the module's biases require gradients. See the module docstring
    for shared_biases. `inputs`/`targets` (arrays or tensors, a row per sample) become the samples.
    """
    linears, activations = layers_of(module)
    weights = [_array(m.weight, f"{n}.weight") for n, m in linears]
    biases = [None if m.bias is None else _array(m.bias, f"{n}.bias") for n, m in linears]
    if update_biases is None:
        update_biases = any(m.bias is not None and m.bias.requires_grad for _, m in linears)
    return build_network(weights, biases, activations, source=f"<{type(module).__name__}>", loss=loss,
                         learning_rate=learning_rate, update_biases=update_biases, update_order=update_order,
                         shared_biases=shared_biases, inputs=inputs, targets=targets, name=name)


# ------------------------------------------------------------------------------------------------
# state_dict files


def read_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """A state_dict file read with torch.load(weights_only=True): parameter name -> float64 array."""
    torch = torch_module()
    where = str(path)
    if not Path(path).is_file():
        raise StepgradError("no such file", where=where)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for truncated, foreign or unsafe files
        raise StepgradError(_load_failure(path, exc), where=where) from None
    if isinstance(state, Mapping):
        for key in ("state_dict", "model_state_dict", "model"):  # common checkpoint wrappers
            if isinstance(state.get(key), Mapping):
                state = state[key]
                break
    if not isinstance(state, Mapping) or not state or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise StepgradError(f"expected a state_dict (parameter names -> tensors), got {type(state).__name__}",
                            where=where)
    return {k: _array(v, f"{where}: {k}") for k, v in state.items()}


def _load_failure(path: str | Path, exc: Exception) -> str:
    """One line saying why torch.load refused a file."""
    with open(path, "rb") as f:
        zipped = f.read(4) == b"PK\x03\x04"  # torch.save writes a zip archive
    message = str(exc)
    if not zipped:
        return "not a PyTorch file (torch.save writes a zip archive; this is not one)"
    if "Weights only load failed" in message:
        return ("the file holds more than tensors (a pickled model or object?); stepgrad reads only "
                "state_dicts (torch.save(model.state_dict(), path)) and never runs pickled code")
    reason = (message.strip().splitlines() or [type(exc).__name__])[0].split(". ")[0][:120]
    return f"a damaged or truncated PyTorch file: torch.load says {reason}"


def linear_layers(state: Mapping[str, np.ndarray], where: str
                  ) -> tuple[list[str], list[np.ndarray], list[np.ndarray | None]]:
    """Per-layer (weight names, weights, biases) of a state_dict of nn.Linear layers, in order."""
    groups: dict[str, dict[str, np.ndarray]] = {}
    for key, value in state.items():
        prefix, _, param = key.rpartition(".")
        groups.setdefault(prefix, {})[param] = value
    names: list[str] = []
    weights: list[np.ndarray] = []
    biases: list[np.ndarray | None] = []
    for prefix, params in groups.items():
        label = f"{prefix}." if prefix else ""
        if "weight" not in params or not set(params) <= {"weight", "bias"}:
            raise StepgradError(f"unsupported layer {prefix!r} (parameters {', '.join(sorted(params))}): "
                                "stepgrad reads nn.Linear layers (weight, bias)", where=where)
        w = params["weight"]
        if w.ndim != 2:
            raise StepgradError(f"{label}weight has shape {tuple(w.shape)}: not an nn.Linear weight "
                                "(out_features, in_features)", where=where)
        if weights and w.shape[1] != weights[-1].shape[0]:
            raise StepgradError(f"{label}weight has shape {tuple(w.shape)}: it must take the "
                                f"{weights[-1].shape[0]} outputs of the layer before", where=where)
        b = params.get("bias")
        if b is not None and b.shape != (w.shape[0],):
            raise StepgradError(f"{label}bias has shape {tuple(b.shape)}, expected ({w.shape[0]},)", where=where)
        names.append(f"{label}weight")
        weights.append(w)
        biases.append(b)
    return names, weights, biases


def check_layers(weights: list[np.ndarray], layers: Sequence[int], where: str, names: Sequence[str],
                 label: str = "--layers") -> None:
    """Raise a StepgradError naming the first weight whose shape does not fit `layers` (from `label`)."""
    shape = "-".join(map(str, layers))
    if len(weights) != len(layers) - 1:
        raise StepgradError(f"the file has {len(weights)} linear layers but layers {shape} (from {label}) "
                            f"need {len(layers) - 1}", where=where)
    for l, w in enumerate(weights):
        expected = (layers[l + 1], layers[l])
        if tuple(w.shape) != expected:
            raise StepgradError(f"{names[l]} has shape {tuple(w.shape)} but layers {shape} (from {label}) "
                                f"need {expected}", where=where)
