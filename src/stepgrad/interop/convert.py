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
What trains is carried by `requires_grad`, tensor by tensor: to_torch freezes each weight and bias the
network holds fixed (`Network.trains()`: update_biases, update_weights), and from_torch holds fixed each
one that does not require gradients (a frozen weight anywhere, a partly frozen layer). A layer without
bias (nn.Linear(bias=False)) computes as a bias fixed at 0. Reading
the model itself (its chain of layers, identities skipped, shared layers refused) is reading.py's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np

from stepgrad.core.errors import StepgradError
from stepgrad.core.functions import ACTIVATIONS
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.spec import Network
from stepgrad.interop.reading import flatten, layers_of, torch_module, traced_leaves, trainable_of

__all__ = ["build_network", "describe", "flatten", "from_torch", "layers_of", "read_state_dict", "to_torch",
           "torch_module", "traced_leaves"]

def to_torch(net: Network | LayerNetwork, *, attention: str = "head") -> Any:
    """An nn.Sequential (float64) of nn.Linear and activation modules with `net`'s weights (a layer-table
    network: its Conv, pooling, Flatten, Linear, residual, rnn, attention and normalization modules,
    interop/layers.py; attention="multihead": an attention head as nn.MultiheadAttention with one head)."""
    if isinstance(net, LayerNetwork):
        from stepgrad.interop.layers import to_torch_layers

        return to_torch_layers(net, attention)
    torch = torch_module()
    modules = []
    trains = net.trains()
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        linear = torch.nn.Linear(net.layers[l], net.layers[l + 1], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.array(w, dtype=np.float64)))
            linear.bias.copy_(torch.from_numpy(np.broadcast_to(b, (net.layers[l + 1],)).copy()))
        linear.weight.requires_grad_(trains[l])
        linear.bias.requires_grad_(trains[net.depth + l])
        modules += [linear, ACTIVATIONS[net.activations[l]].torch()]
    return torch.nn.Sequential(*modules)


def describe(net: Network) -> str:
    """Python source of the nn.Sequential that `to_torch` builds (to load an exported state_dict)."""
    parts = []
    for l, act in enumerate(net.activations):
        parts.append(f"nn.Linear({net.layers[l]}, {net.layers[l + 1]}, dtype=torch.float64)")
        parts.append(ACTIVATIONS[act].torch_source)
    return "nn.Sequential(" + ", ".join(parts) + ")"


def state_dict_like(net: Network, model: Any) -> dict[str, Any]:
    """`net`'s weights and biases as a state_dict with `model`'s own names (fc1.weight ...), to load with
    model.load_state_dict(...); a StepgradError when the model's layers do not fit the network's."""
    torch = torch_module()
    linears, activations = layers_of(model)
    widths = [linears[0][1].in_features] + [m.out_features for _, m in linears]
    if widths != list(net.layers):
        raise StepgradError(f"the model's layers are {'-'.join(map(str, widths))}, the network's "
                            f"{'-'.join(map(str, net.layers))}", where=type(model).__name__)
    if activations != list(net.activations):
        raise StepgradError(f"the model's activations are {', '.join(activations)}, the network's "
                            f"{', '.join(net.activations)}", where=type(model).__name__)
    state: dict[str, Any] = {}
    for l, (prefix, m) in enumerate(linears):
        label = f"{prefix}." if prefix else ""
        dtype = m.weight.dtype
        state[f"{label}weight"] = torch.tensor(net.weights[l], dtype=dtype)
        bias = np.broadcast_to(net.biases[l], (net.layers[l + 1],))
        if m.bias is not None:
            state[f"{label}bias"] = torch.tensor(bias, dtype=dtype)
        elif np.any(bias != 0):
            raise StepgradError(f"layer {prefix!r} has no bias (bias=False) but the network's biases there are not 0",
                                where=type(model).__name__)
    return state


def state_dict_keyed(net: Network, keys: str | Path) -> dict[str, Any]:
    """`net`'s weights and biases as a state_dict named after the state_dict file `keys` (torch.save(model.state_dict(),
    path) of the user's own model: fc1.weight ...), layer by layer in its order; a StepgradError on any mismatch."""
    torch = torch_module()
    where = str(keys)
    names, weights, biases = linear_layers(read_state_dict(keys), where)
    check_layers(weights, net.layers, where, names, label="the network")
    state: dict[str, Any] = {}
    for l, (name, b) in enumerate(zip(names, biases)):
        state[name] = torch.tensor(net.weights[l], dtype=torch.float64)
        bias = np.broadcast_to(net.biases[l], (net.layers[l + 1],))
        if b is not None:
            state[name.removesuffix("weight") + "bias"] = torch.tensor(bias, dtype=torch.float64)
        elif np.any(bias != 0):
            raise StepgradError(f"{name.removesuffix('.weight') or 'the layer'} has no bias (bias=False) but the network's "
                                f"biases of layer {l + 1} are not 0", where=where)
    return state


def loss_advice(net: Network) -> str | None:
    """A warning for the load hint when `describe`'s model ends in the activation a PyTorch loss applies itself."""
    from stepgrad.core.functions import loss as loss_entry

    act = net.activations[-1]
    if loss_entry(net.loss).combination(act) is None or act == "linear":
        return None
    module = ACTIVATIONS[act].torch_source
    torch_loss = "nn.CrossEntropyLoss" if act == "softmax" else "nn.BCEWithLogitsLoss"
    return (f"the model ends in {module}, as stepgrad's {act} output layer does: to train it with {torch_loss}, "
            f"which applies {act} itself, leave out the last module (model[:-1]), or {act} is applied twice")


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
                  inputs: Any = None, targets: Any = None, name: str = "",
                  trainable: Sequence[bool] | None = None) -> Network:
    """A validated Network from per-layer weight matrices and bias vectors (None: no bias, zeros); `trainable`:
    per tensor (every weight, then every bias), which train (Network.trainable), in place of update_biases."""
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
    if trainable is not None:
        data.update(update_weights=list(trainable[:depth]), update_biases=list(trainable[depth:]))
    if name:
        data["name"] = name
    if inputs is not None and targets is not None:
        xs, ts = np.atleast_2d(_array(inputs, "inputs")), np.atleast_2d(_array(targets, "targets"))
        if xs.ndim != 2 or ts.ndim != 2 or len(xs) != len(ts):
            raise StepgradError(f"expected a row of inputs and a row of targets per sample, got shapes "
                                f"{xs.shape} and {ts.shape}", where="inputs/targets")
        data["samples"] = [{"inputs": x.tolist(), "targets": t.tolist()} for x, t in zip(xs, ts)]
    return Network.from_dict(data, source)


@overload
def from_torch(module: Any, *, loss: str = "half_squared_error", learning_rate: float = 0.5,
               update_biases: bool | None = None, shared_biases: str | bool | Sequence[bool] = "auto",
               update_order: str = "synchronous", inputs: Any = None, targets: Any = None,
               name: str = "", log_softmax: bool = False, input_shape: None = None,
               step_reduction: str | None = None) -> Network: ...
@overload
def from_torch(module: Any, *, loss: str = "half_squared_error", learning_rate: float = 0.5,
               update_biases: bool | None = None, shared_biases: str | bool | Sequence[bool] = "auto",
               update_order: str = "synchronous", inputs: Any = None, targets: Any = None,
               name: str = "", log_softmax: bool = False, input_shape: Sequence[int],
               step_reduction: str | None = None) -> LayerNetwork: ...


def from_torch(module: Any, *, loss: str = "half_squared_error", learning_rate: float = 0.5,
               update_biases: bool | None = None, shared_biases: str | bool | Sequence[bool] = "auto",
               update_order: str = "synchronous", inputs: Any = None, targets: Any = None,
               name: str = "", log_softmax: bool = False,
               input_shape: Sequence[int] | None = None, step_reduction: str | None = None) -> Network | LayerNetwork:
    """A stepgrad Network with the weights of an nn.Sequential of nn.Linear and activation modules.

    Each weight and bias trains when it requires gradients (reading.trainable_of: a frozen one is held fixed, as
    PyTorch's step holds it); update_biases=True or False overrides the biases' requires_grad.
    See the module docstring for shared_biases. `inputs`/`targets` (arrays or tensors, a row per
    sample) become the samples. log_softmax: the module ends in log_softmax, read as its raw scores (the
    last layer linear) because it is trained with nn.NLLLoss (see reading.layers_of). A module with
    convolution, pooling, residual blocks, rnn, attention or normalization becomes a LayerNetwork
    (interop/layers.py, interop/sequences.py); give `input_shape`, one sample's (channels, rows, columns),
    or (steps, features) for a sequence, and for a sequence output `step_reduction` ("sum" or "mean").
    """
    from stepgrad.interop.layers import from_torch_layers, has_layer_modules

    if has_layer_modules(module):
        if input_shape is None:
            try:
                layers_of(module)  # names the first layer a dense network cannot take
            except StepgradError as exc:
                raise StepgradError(f"{exc.message}; a module with convolution or pooling is read with "
                                    "from_torch(..., input_shape=(channels, rows, columns))", where=exc.where) from None
            raise StepgradError("a module with convolution, pooling, rnn, attention or normalization layers needs "
                                "input_shape=(channels, rows, columns), or (steps, features) for a sequence",
                                where="from_torch")
        from stepgrad.interop.compare_layers import with_torch_names

        read = from_torch_layers(module, input_shape=input_shape if isinstance(input_shape, tuple) else tuple(
                                 input_shape), loss=loss, learning_rate=learning_rate,
                                 update_biases=True if update_biases is None else update_biases, inputs=inputs,
                                 targets=targets, name=name, step_reduction=step_reduction)
        return with_torch_names(read, module)  # its explanations name each parameter as torch does
    linears, activations = layers_of(module, log_softmax)
    trainable = trainable_of(linears, update_biases)
    weights = [_array(m.weight, f"{n}.weight") for n, m in linears]
    biases = [None if m.bias is None else _array(m.bias, f"{n}.bias") for n, m in linears]
    net = build_network(weights, biases, activations, source=f"<{type(module).__name__}>", loss=loss,
                        learning_rate=learning_rate, update_order=update_order, shared_biases=shared_biases,
                        inputs=inputs, targets=targets, name=name, trainable=trainable)
    from stepgrad.tracing.torch_names import TorchModel

    net.extra["torch"] = TorchModel.read(module, linears).record(list(net.layers))  # its explanations name weights as torch does
    return net


# ------------------------------------------------------------------------------------------------
# state_dict files


def read_state_dict(path: str | Path, dtypes: dict[str, str] | None = None) -> dict[str, np.ndarray]:
    """A state_dict file read with torch.load(weights_only=True): parameter name -> float64 array (`dtypes`, when
    given, is filled with each tensor's own dtype: "float32" ...)."""
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
    if dtypes is not None:
        dtypes.update((k, str(v.dtype).replace("torch.", "")) for k, v in state.items())
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


def file_update_biases(biases: Sequence[np.ndarray | None], wanted: bool | None) -> list[bool]:
    """Per layer, whether an imported state_dict's biases train: `wanted` (None: yes, as PyTorch does), except a
    layer with no bias (nn.Linear(bias=False), a bias fixed at 0), which never trains."""
    return [b is not None and (True if wanted is None else wanted) for b in biases]
