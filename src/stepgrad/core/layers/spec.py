"""Layer-table networks: `layers` as tables (conv2d, conv1d, maxpool, avgpool, flatten, dense, residual), read and checked.

The same file format as core/spec.py (TOML or JSON, one schema, errors one line naming file and
key); a spec whose `layers` holds a table is read here, one of sizes only there.

    >>> net = LayerNetwork.from_dict({"layers": [{"type": "input", "shape": [1, 3, 3]},
    ...     {"type": "conv2d", "out_channels": 1, "kernel": 2, "activation": "linear"}]})
    >>> net.layers[0].out_shape, net.output_size
    ((1, 2, 2), 4)

Keys of the tables (defaults in brackets): input: shape ([channels, rows, columns], [channels,
length] or [units]); conv2d/conv1d: out_channels, kernel, stride [1], padding [0], in_channels (the
input's, checked), bias [true], activation [the spec's `activation`], weights, biases; maxpool:
kernel, stride [kernel], ties ["first"]; avgpool: kernel, stride [kernel]; flatten; dense: neurons,
bias [true], activation, weights, biases; residual: layers, activation ["linear"]; layernorm: eps
[1e-5], affine [true], gamma [1s], beta [0s], variance ["biased"]; batchnorm: those and mode
["training"] or "evaluation", momentum [0.1], running_mean [0s], running_var [1s]. An integer
stands for the input's size (first) or a dense layer of that many neurons. Top-level keys as in
core/spec.py, plus `convolution = "cross_correlation"` (PyTorch's, the default) or "convolution"
(the kernel flipped).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stepgrad.core.errors import SpecError
from stepgrad.core.functions import ACTIVATIONS, LOSSES, class_label, target_problem
from stepgrad.core.layers.attention import OUTPUTS as ATTENTION_OUTPUTS
from stepgrad.core.layers.attention import PROJECTIONS, Attention
from stepgrad.core.layers.base import Layer, Shape, output_size, pair
from stepgrad.core.layers.conv import Conv
from stepgrad.core.layers.dense import Dense
from stepgrad.core.layers.flatten import Flatten
from stepgrad.core.layers.norm import MODES, VARIANCES, BatchNorm, LayerNorm
from stepgrad.core.layers.pool import TIE_RULES, Pool
from stepgrad.core.layers.residual import Residual, all_layers
from stepgrad.core.layers.rnn import OUTPUTS, Rnn, Sequence
from stepgrad.core.spec import (
    INITIALIZERS,
    MAX_PARAMETERS,
    REDUCTIONS,
    Network,
    _closest,
    _number,
    _short,
    check_depth,
    has_layer_tables,
    parse,
    sample_tables,
)

CONVOLUTIONS = ("cross_correlation", "convolution")
TOP_KEYS = {"layers", "activation", "loss", "learning_rate", "update_biases", "reduction", "samples", "seed",
            "init", "name", "convolution", "format_version", "step_reduction", "torch"}
LAYER_KEYS = {
    "input": {"shape"},
    "conv2d": {"out_channels", "in_channels", "kernel", "stride", "padding", "bias", "activation", "weights", "biases"},
    "maxpool": {"kernel", "stride", "ties"},
    "avgpool": {"kernel", "stride"},
    "flatten": set(),
    "dense": {"neurons", "bias", "activation", "weights", "biases"},
    "residual": {"layers", "activation"},
    "layernorm": {"eps", "affine", "gamma", "beta", "variance"},
    "batchnorm": {"eps", "affine", "gamma", "beta", "variance", "mode", "momentum", "running_mean", "running_var"},
    "rnn": {"hidden", "activation", "bias", "weights_x", "weights_h", "biases", "h0", "output", "truncate"},
    "attention": {"key_size", "value_size", "out_size", "scale", "causal", "bias", "output",
                  *(f"{key}_{p}" for key in ("weights", "biases") for p in PROJECTIONS)},
}
SEQUENCE_LAYERS = {"rnn", "layernorm", "dense", "attention"}  # the layers that take a sequence (steps x features)
STEP_REDUCTIONS = ("sum", "mean")  # how the errors of the steps of a sequence output add up per sample
LAYER_KEYS["conv1d"] = LAYER_KEYS["conv2d"]
MAX_VALUES = 10**6  # values of all maps of one sample


@dataclass
class LayerNetwork:
    """A network of layer tables with its samples; each layer holds its parameters (float64 numpy)."""

    input_shape: Shape
    layers: list[Layer]
    loss: str = "half_squared_error"
    learning_rate: float = 0.5
    update_biases: bool = False
    reduction: str = "mean"
    convolution: str = "cross_correlation"
    inputs: np.ndarray | None = None  # (samples, *input_shape)
    targets: np.ndarray | None = None  # (samples, output_size)
    name: str = ""
    seed: int = 0
    spec: dict[str, Any] = field(default_factory=dict)  # the spec as given (to write it back)
    step_reduction: str | None = None  # a sequence output: its steps' errors "sum" or "mean" (None: not one)

    @property
    def loss_scale(self) -> float:
        """What each error term is multiplied by: 1 / steps for a sequence output with step_reduction = "mean"."""
        last = self.layers[-1].out_shape
        return 1.0 / last[0] if self.step_reduction == "mean" and isinstance(last, Sequence) else 1.0

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<spec>") -> LayerNetwork:
        """Validate a spec dictionary whose layers hold tables and build the network."""
        return _build(data, source)

    @property
    def output_size(self) -> int:
        return int(np.prod(self.layers[-1].out_shape))

    @property
    def parameter_count(self) -> int:
        return sum(p.size for layer in all_layers(self.layers) for p in layer.params.values())

    def all_layers(self) -> list[Layer]:
        """Every layer in the order computed (a residual block's layers before its sum)."""
        return all_layers(self.layers)

    def with_parameters(self, params: dict[tuple[str, str], np.ndarray]) -> LayerNetwork:
        """A copy with the parameters `params` ((label, role) -> array) in place of its own."""
        twin = copy.deepcopy(self)
        for layer in twin.all_layers():
            for role in layer.params:
                layer.params[role] = np.array(params[(layer.label, role)], dtype=np.float64)
        return twin

    def copy(self) -> LayerNetwork:
        return copy.deepcopy(self)

    def require_samples(self, source: str = "<spec>") -> tuple[np.ndarray, np.ndarray]:
        if self.inputs is None or self.targets is None or len(self.inputs) == 0:
            raise SpecError("no samples: add [[samples]] with inputs and targets", where=f"{source}: samples")
        return self.inputs, self.targets


def load(path: str | Path) -> LayerNetwork:
    """Read a layer-table spec from a .toml or .json file."""
    from stepgrad.core.files import read_text

    p = Path(path)
    fmt = "json" if p.suffix.lower() == ".json" else "toml"
    return LayerNetwork.from_dict(parse(read_text(p, SpecError), fmt, str(p)), str(p))


def load_any(path: str | Path) -> Network | LayerNetwork:
    """A spec file as a LayerNetwork when its layers hold tables, else as a (dense) Network."""
    from stepgrad.core.files import read_text

    p = Path(path)
    data = parse(read_text(p, SpecError), "json" if p.suffix.lower() == ".json" else "toml", str(p))
    return LayerNetwork.from_dict(data, str(p)) if has_layer_tables(data) else Network.from_dict(data, str(p))


def loads(text: str, fmt: str = "toml", source: str = "<spec>") -> LayerNetwork:
    """Parse layer-table spec text in `fmt` ("toml" or "json")."""
    return LayerNetwork.from_dict(parse(text, fmt, source), source)


# ------------------------------------------------------------------------------------------------
# reading


@dataclass
class _Reading:
    """What reading the layers carries along: the file, the defaults, the counters per kind, the generator."""

    source: str
    activation: str
    flipped: bool
    init: str
    seed: int
    counts: dict[str, int] = field(default_factory=lambda: {"conv": 0, "pool": 0, "dense": 0, "flatten": 0,
                                                             "residual": 0, "norm": 0, "rnn": 0,
                                                             "attention": 0})
    rng: np.random.Generator | None = None

    def label(self, kind: str) -> tuple[str, int]:
        from stepgrad.core.names import layer_label

        self.counts[kind] += 1
        return layer_label(kind, self.counts[kind]), self.counts[kind]

    def initial(self, shape: Shape, fan_in: int, fan_out: int) -> np.ndarray:
        if self.rng is None:
            self.rng = np.random.default_rng(self.seed)
        limit = {"xavier": math.sqrt(6.0 / (fan_in + fan_out)), "he": math.sqrt(6.0 / fan_in)}.get(self.init, 0.5)
        return self.rng.uniform(-limit, limit, size=shape)


def _build(data: dict[str, Any], source: str) -> LayerNetwork:
    if not isinstance(data, dict):
        raise SpecError("the spec must be a table/object at the top level", where=source)
    check_depth(data, source)
    for key in data:
        if key not in TOP_KEYS:
            raise SpecError(f"unknown key {key!r} for a layer-table network{_closest(key, TOP_KEYS)}",
                            where=f"{source}: {key}")
    layers = data.get("layers")
    if not isinstance(layers, list) or len(layers) < 2:
        raise SpecError("expected a list of at least 2 layers (an input and a layer)", where=f"{source}: layers")
    default_act = _activation_name(data.get("activation", "sigmoid"), f"{source}: activation")
    convolution = data.get("convolution", "cross_correlation")
    if convolution not in CONVOLUTIONS:
        raise SpecError(f"expected one of {', '.join(CONVOLUTIONS)}, got {_short(convolution)}",
                        where=f"{source}: convolution")
    seed = data.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**64:
        raise SpecError(f"expected a whole number from 0 to 2**64 - 1, got {_short(seed)}", where=f"{source}: seed")
    init = data.get("init", "xavier")
    if init not in INITIALIZERS:
        raise SpecError(f"expected one of {', '.join(INITIALIZERS)}, got {_short(init)}", where=f"{source}: init")
    reading = _Reading(source, default_act, convolution == "convolution", init, seed)

    input_shape = _input_shape(layers[0], f"{source}: layers[0]")
    built = _chain(layers[1:], input_shape, reading, f"{source}: layers", first=1)
    count = sum(p.size for layer in all_layers(built) for p in layer.params.values())
    if count > MAX_PARAMETERS:
        raise SpecError(f"network too large: {count:,} parameters, the limit is {MAX_PARAMETERS:,}",
                        where=f"{source}: layers")
    last = built[-1]
    for layer in all_layers(built):
        if layer is not last and not ACTIVATIONS[layer.activation].hidden_ok:
            raise SpecError(f"{layer.activation} is allowed only in the last layer", where=f"{source}: layers ({layer.label})")
    if not ACTIVATIONS[last.activation].hidden_ok and len(last.out_shape) != 1:
        raise SpecError(f"{last.activation} needs a vector: make the last layer dense", where=f"{source}: layers")

    loss = data.get("loss", "half_squared_error")
    if not isinstance(loss, str) or loss not in LOSSES:
        hint = _closest(loss if isinstance(loss, str) else "", LOSSES)
        raise SpecError(f"unknown loss {_short(loss)}{hint}; choose from {', '.join(LOSSES)}", where=f"{source}: loss")
    problem = LOSSES[loss].problem(last.activation)
    if problem:
        raise SpecError(str(problem), where=f"{source}: loss")
    learning_rate = _number(data.get("learning_rate", 0.5), f"{source}: learning_rate")
    if learning_rate <= 0:
        raise SpecError("must be positive", where=f"{source}: learning_rate")
    update_biases = data.get("update_biases", False)
    if not isinstance(update_biases, bool):
        raise SpecError(f"expected true or false, got {_short(update_biases)}", where=f"{source}: update_biases")
    reduction = data.get("reduction", "mean")
    if reduction not in REDUCTIONS:
        raise SpecError(f"expected one of {', '.join(REDUCTIONS)}, got {_short(reduction)}", where=f"{source}: reduction")
    outputs = int(np.prod(last.out_shape))
    inputs, targets = _samples(data, input_shape, outputs, loss, last.activation, source)
    _check_batch_statistics(built, inputs, source)
    if "torch" in data:  # the torch module's parameter names (core/layers/torch_record.py)
        from stepgrad.core.layers.torch_record import check

        data = dict(data, torch=check(data["torch"], all_layers(built), source))
    return LayerNetwork(input_shape, built, loss, learning_rate, update_biases, reduction, convolution,
                        inputs, targets, str(data.get("name", "")), seed, copy.deepcopy(data),
                        _step_reduction(data, last.out_shape, source))


def _activation_name(value: Any, where: str) -> str:
    if not isinstance(value, str) or value not in ACTIVATIONS:
        hint = _closest(value if isinstance(value, str) else "", ACTIVATIONS)
        raise SpecError(f"unknown activation {_short(value)}{hint}; choose from {', '.join(ACTIVATIONS)}", where=where)
    return value


def _whole(value: Any, where: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or value > 10**6:
        raise SpecError(f"expected a whole number from {low} to 1000000, got {_short(value)}", where=where)
    return value


def _sizes(value: Any, one_d: bool, where: str, low: int = 1) -> tuple[int, int]:
    """A kernel, stride or padding: one number, or [rows, columns] for 2-d maps; (1 or 0, n) for 1-d."""
    if isinstance(value, list) and not one_d:
        if len(value) != 2:
            raise SpecError(f"expected a number or [rows, columns], got {_short(value)}", where=where)
        return _whole(value[0], f"{where}[0]", low), _whole(value[1], f"{where}[1]", low)
    n = _whole(value, where, low)
    return (1 if low == 1 else 0, n) if one_d else pair(n)


def _input_shape(value: Any, where: str) -> Shape:
    if isinstance(value, int) and not isinstance(value, bool):
        return (_whole(value, where),)
    if isinstance(value, dict) and value.get("type") == "sequence":
        return _sequence_shape(value, where)
    if not isinstance(value, dict) or value.get("type") != "input":
        raise SpecError('the first layer is the input: a size, or {type = "input", shape = [channels, rows, '
                        'columns]}', where=where)
    _keys(value, "input", where)
    shape = value.get("shape")
    if not isinstance(shape, list) or not 1 <= len(shape) <= 3:
        raise SpecError("expected shape = [channels, rows, columns], [channels, length] or [units]",
                        where=f"{where}.shape")
    return tuple(_whole(n, f"{where}.shape[{i}]") for i, n in enumerate(shape))


def _keys(table: dict[str, Any], kind: str, where: str) -> None:
    allowed = LAYER_KEYS[kind] | {"type"}
    for key in table:
        if key not in allowed:
            raise SpecError(f"unknown key {key!r} for {kind}{_closest(key, allowed)}", where=f"{where}.{key}")


def _chain(tables: list[Any], shape: Shape, reading: _Reading, where: str, first: int) -> list[Layer]:
    built: list[Layer] = []
    for i, table in enumerate(tables):
        here = f"{where}[{first + i}]"
        if isinstance(table, int) and not isinstance(table, bool):
            table = {"type": "dense", "neurons": table}
        if not isinstance(table, dict):
            raise SpecError(f"expected a layer table or a number of neurons, got {_short(table)}", where=here)
        kind = table.get("type")
        if kind not in LAYER_KEYS or kind == "input":
            choices = ", ".join(k for k in LAYER_KEYS if k != "input")
            hint = _closest(kind, LAYER_KEYS) if isinstance(kind, str) else ""
            raise SpecError(f"unknown layer type {_short(kind)}{hint}; choose from {choices}", where=f"{here}.type")
        _keys(table, kind, here)
        if isinstance(shape, Sequence) and kind not in SEQUENCE_LAYERS:
            raise SpecError(f"{kind} does not take a sequence ({shape.steps} steps x {shape.features} features); "
                            f"an rnn with output = \"last\" gives a vector", where=here)
        layer = _LAYER_READERS[kind](table, shape, reading, here)
        if int(np.prod(layer.out_shape)) > MAX_VALUES:
            raise SpecError(f"the map is too large ({int(np.prod(layer.out_shape)):,} values per sample)", where=here)
        built.append(layer)
        shape = layer.out_shape
    return built


def _read_conv(table: dict[str, Any], shape: Shape, reading: _Reading, where: str) -> Layer:
    one_d = table["type"] == "conv1d"
    if len(shape) != (2 if one_d else 3):
        wanted = "[channels, length]" if one_d else "[channels, rows, columns]"
        raise SpecError(f"{table['type']} needs a map {wanted}, but its input is {_shape_text(shape)}", where=where)
    in_channels = shape[0]
    if "in_channels" in table and _whole(table["in_channels"], f"{where}.in_channels") != in_channels:
        raise SpecError(f"in_channels = {table['in_channels']}, but the input has {in_channels} channels",
                        where=f"{where}.in_channels")
    if "out_channels" not in table:
        raise SpecError("missing key 'out_channels'", where=f"{where}.out_channels")
    if "kernel" not in table:
        raise SpecError("missing key 'kernel'", where=f"{where}.kernel")
    out_channels = _whole(table["out_channels"], f"{where}.out_channels")
    kernel = _sizes(table["kernel"], one_d, f"{where}.kernel")
    stride = _sizes(table.get("stride", 1), one_d, f"{where}.stride")
    padding = _sizes(table.get("padding", 0), one_d, f"{where}.padding", low=0)
    size = (1, shape[1]) if one_d else (shape[1], shape[2])
    out = tuple(output_size(n, k, s, p) for n, k, s, p in zip(size, kernel, stride, padding))
    if min(out) < 1:
        raise SpecError(f"kernel {_pair_text(kernel, one_d)} does not fit the input {_shape_text(shape)} "
                        f"(padding {_pair_text(padding, one_d)})", where=f"{where}.kernel")
    label, number = reading.label("conv")
    k_shape = (out_channels, in_channels, kernel[1]) if one_d else (out_channels, in_channels, *kernel)
    fan = int(np.prod(kernel))
    params = {"kernel": _parameter(table, "weights", k_shape, reading, where, in_channels * fan, out_channels * fan)}
    _bias(table, params, out_channels, where)
    out_shape = (out_channels, out[1]) if one_d else (out_channels, *out)
    act = _activation_name(table.get("activation", reading.activation), f"{where}.activation")
    return Conv(label, shape, out_shape, act, params, number=number, kernel_size=kernel, stride=stride,
                padding=padding, flipped=reading.flipped, one_d=one_d)


def _read_pool(table: dict[str, Any], shape: Shape, reading: _Reading, where: str) -> Layer:
    one_d = len(shape) == 2
    if len(shape) == 1:
        raise SpecError(f"{table['type']} needs a map, but its input is {_shape_text(shape)}", where=where)
    if "kernel" not in table:
        raise SpecError("missing key 'kernel'", where=f"{where}.kernel")
    kernel = _sizes(table["kernel"], one_d, f"{where}.kernel")
    stride = _sizes(table["stride"], one_d, f"{where}.stride") if "stride" in table else kernel
    ties = table.get("ties", "first")
    if ties not in TIE_RULES:
        raise SpecError(f"expected one of {', '.join(TIE_RULES)}, got {_short(ties)}", where=f"{where}.ties")
    size = (1, shape[1]) if one_d else (shape[1], shape[2])
    out = tuple(output_size(n, k, s) for n, k, s in zip(size, kernel, stride))
    if min(out) < 1:
        raise SpecError(f"kernel {_pair_text(kernel, one_d)} does not fit the input {_shape_text(shape)}",
                        where=f"{where}.kernel")
    label, _ = reading.label("pool")
    out_shape = (shape[0], out[1]) if one_d else (shape[0], *out)
    return Pool(label, shape, out_shape, "linear", {}, mode=table["type"][:3], kernel_size=kernel, stride=stride,
                ties=ties, one_d=one_d)


def _read_flatten(table: dict[str, Any], shape: Shape, reading: _Reading, where: str) -> Layer:
    label, _ = reading.label("flatten")
    return Flatten(label, shape, (int(np.prod(shape)),))


def _read_dense(table: dict[str, Any], shape: Shape, reading: _Reading, where: str) -> Layer:
    if isinstance(shape, Sequence):  # applied at every step, as nn.Linear on (samples, steps, features)
        if "neurons" not in table:
            raise SpecError("missing key 'neurons'", where=f"{where}.neurons")
        shape_out: Shape = Sequence((shape.steps, _whole(table["neurons"], f"{where}.neurons")))
        return _dense(table, shape, shape_out, reading, where)
    if len(shape) != 1:
        raise SpecError(f'dense needs a vector, but its input is the map {_shape_text(shape)}: put '
                        f'{{type = "flatten"}} before it', where=where)
    if "neurons" not in table:
        raise SpecError("missing key 'neurons'", where=f"{where}.neurons")
    units = _whole(table["neurons"], f"{where}.neurons")
    return _dense(table, shape, (units,), reading, where)


def _dense(table: dict[str, Any], shape: Shape, out_shape: Shape, reading: _Reading, where: str) -> Layer:
    units, inputs = out_shape[-1], shape[-1]
    label, _ = reading.label("dense")
    params = {"weight": _parameter(table, "weights", (units, inputs), reading, where, inputs, units)}
    _bias(table, params, units, where)
    act = _activation_name(table.get("activation", reading.activation), f"{where}.activation")
    return Dense(label, shape, out_shape, act, params)


def _read_residual(table: dict[str, Any], shape: Shape, reading: _Reading, where: str) -> Layer:
    inner = table.get("layers")
    if not isinstance(inner, list) or not inner:
        raise SpecError("expected layers = [ ... ], the block's layers", where=f"{where}.layers")
    block = _chain(inner, shape, reading, f"{where}.layers", first=0)
    if block[-1].out_shape != shape:
        raise SpecError(f"the block's output {_shape_text(block[-1].out_shape)} must have the shape of its input "
                        f"{_shape_text(shape)} to be added to it", where=f"{where}.layers")
    label, _ = reading.label("residual")
    act = _activation_name(table.get("activation", "linear"), f"{where}.activation")
    return Residual(label, shape, shape, act, {}, inner=block)


def _read_norm(table: dict[str, Any], shape: Shape, reading: _Reading, where: str) -> Layer:
    kind = table["type"]
    if kind == "batchnorm" and len(shape) == 3:
        raise SpecError(f"batchnorm is batchnorm1d: it needs a vector or a 1-d map [channels, length], but its "
                        f"input is {_shape_text(shape)}", where=where)
    features = shape[-1] if kind == "layernorm" else shape[0]
    eps = _number(table.get("eps", 1e-5), f"{where}.eps")
    if eps < 0:
        raise SpecError("must be 0 or more", where=f"{where}.eps")
    variance = _choice(table, "variance", VARIANCES, where)
    if kind == "layernorm" and variance == "unbiased" and features < 2:
        raise SpecError("the unbiased variance of 1 feature divides by 0: use variance = \"biased\"",
                        where=f"{where}.variance")
    affine = table.get("affine", True)
    if not isinstance(affine, bool):
        raise SpecError(f"expected true or false, got {_short(affine)}", where=f"{where}.affine")
    params: dict[str, np.ndarray] = {}
    if affine:
        params["gamma"] = _tensor(table["gamma"], (features,), f"{where}.gamma") if "gamma" in table else np.ones(features)
        params["beta"] = _tensor(table["beta"], (features,), f"{where}.beta") if "beta" in table else np.zeros(features)
    else:
        for key in ("gamma", "beta"):
            if key in table:
                raise SpecError(f"{key} given but affine = false", where=f"{where}.{key}")
    label, number = reading.label("norm")
    if kind == "layernorm":
        return LayerNorm(label, shape, shape, "linear", params, number=number, eps=eps, variance=variance)
    mode = _choice(table, "mode", MODES, where)
    momentum = _number(table.get("momentum", 0.1), f"{where}.momentum")
    if not 0 <= momentum <= 1:
        raise SpecError(f"expected a number from 0 to 1, got {momentum:g}", where=f"{where}.momentum")
    mean = _tensor(table["running_mean"], (features,), f"{where}.running_mean") if "running_mean" in table \
        else np.zeros(features)
    var = _tensor(table["running_var"], (features,), f"{where}.running_var") if "running_var" in table \
        else np.ones(features)
    if (var + eps <= 0).any():
        raise SpecError("running_var + eps must be positive", where=f"{where}.running_var")
    return BatchNorm(label, shape, shape, "linear", params, number=number, eps=eps, variance=variance, mode=mode,
                     momentum=momentum, running_mean=mean, running_var=var)


def _sequence_shape(value: dict[str, Any], where: str) -> Shape:
    for key in value:
        if key not in ("type", "steps", "features"):
            raise SpecError(f"unknown key {key!r} for sequence{_closest(key, {'steps', 'features'})}",
                            where=f"{where}.{key}")
    for key in ("steps", "features"):
        if key not in value:
            raise SpecError(f"missing key {key!r}", where=f"{where}.{key}")
    return Sequence((_whole(value["steps"], f"{where}.steps"), _whole(value["features"], f"{where}.features")))


def _read_rnn(table: dict[str, Any], shape: Shape, reading: _Reading, where: str) -> Layer:
    if not isinstance(shape, Sequence):
        raise SpecError(f"rnn needs a sequence: make the input {{type = \"sequence\", steps = T, features = F}} "
                        f"(its input is {_shape_text(shape)})", where=where)
    if "hidden" not in table:
        raise SpecError("missing key 'hidden'", where=f"{where}.hidden")
    hidden = _whole(table["hidden"], f"{where}.hidden")
    act = _activation_name(table.get("activation", "tanh"), f"{where}.activation")
    if not ACTIVATIONS[act].hidden_ok or ACTIVATIONS[act].derivative is None:
        raise SpecError(f"{act} cannot be a recurrent activation (it needs one value per unit)",
                        where=f"{where}.activation")
    params = {"weight_x": _parameter(table, "weights_x", (hidden, shape.features), reading, where, shape.features,
                                     hidden),
              "weight_h": _parameter(table, "weights_h", (hidden, hidden), reading, where, hidden, hidden)}
    _bias(table, params, hidden, where)
    h0 = _tensor(table["h0"], (hidden,), f"{where}.h0") if "h0" in table else None
    output = _choice(table, "output", OUTPUTS, where)
    truncate = _whole(table["truncate"], f"{where}.truncate") if "truncate" in table else None
    label, number = reading.label("rnn")
    out_shape: Shape = Sequence((shape.steps, hidden)) if output == "sequence" else (hidden,)
    return Rnn(label, shape, out_shape, "linear", params, number=number, recurrent_activation=act, h0=h0,
               output=output, truncate=truncate)


def _read_attention(table: dict[str, Any], shape: Shape, reading: _Reading, where: str) -> Layer:
    if not isinstance(shape, Sequence):
        raise SpecError(f"attention needs a sequence: make the input {{type = \"sequence\", steps = T, features = F}} "
                        f"(its input is {_shape_text(shape)})", where=where)
    features = shape.features
    key_size = _whole(table.get("key_size", features), f"{where}.key_size")
    value_size = _whole(table.get("value_size", key_size), f"{where}.value_size")
    out_size = _whole(table.get("out_size", features), f"{where}.out_size")
    flags = {}
    for key, default in (("scale", True), ("causal", False)):
        flags[key] = table.get(key, default)
        if not isinstance(flags[key], bool):
            raise SpecError(f"expected true or false, got {_short(flags[key])}", where=f"{where}.{key}")
    sizes = {"q": (key_size, features), "k": (key_size, features), "v": (value_size, features),
             "o": (out_size, value_size)}
    params = {f"weight_{p}": _parameter(table, f"weights_{p}", size, reading, where, size[1], size[0])
              for p, size in sizes.items()}
    use = table.get("bias", True)
    if not isinstance(use, bool):
        raise SpecError(f"expected true or false, got {_short(use)}", where=f"{where}.bias")
    for p, size in sizes.items():
        key = f"biases_{p}"
        if not use and key in table:
            raise SpecError(f"{key} given but bias = false", where=f"{where}.{key}")
        if use:
            params[f"bias_{p}"] = _tensor(table[key], (size[0],), f"{where}.{key}") if key in table \
                else np.zeros(size[0])
    output = _choice(table, "output", ATTENTION_OUTPUTS, where)
    label, number = reading.label("attention")
    out_shape: Shape = Sequence((shape.steps, out_size)) if output == "sequence" else (out_size,)
    return Attention(label, shape, out_shape, "linear", params, number=number, scaled=flags["scale"],
                     causal=flags["causal"], output=output)


def _step_reduction(data: dict[str, Any], out_shape: Shape, source: str) -> str | None:
    """A sequence output's step_reduction (required: how the steps' errors add up); refused otherwise."""
    value = data.get("step_reduction")
    if not isinstance(out_shape, Sequence):
        if value is not None:
            raise SpecError("step_reduction is for a sequence output (an rnn with output = \"sequence\" and layers "
                            "applied at every step); this network's output is one vector",
                            where=f"{source}: step_reduction")
        return None
    if value not in STEP_REDUCTIONS:
        raise SpecError(f"the output is a sequence ({out_shape.steps} steps): say how its steps' errors add up per "
                        f"sample, step_reduction = \"sum\" or \"mean\" (got {_short(value)})",
                        where=f"{source}: step_reduction")
    return str(value)


def _choice(table: dict[str, Any], key: str, choices: tuple[str, ...], where: str) -> str:
    value = table.get(key, choices[0])
    if value not in choices:
        raise SpecError(f"expected one of {', '.join(choices)}, got {_short(value)}", where=f"{where}.{key}")
    return str(value)


def _check_batch_statistics(layers: list[Layer], inputs: np.ndarray | None, source: str) -> None:
    """A batchnorm in training mode needs 2 values or more per feature (PyTorch refuses fewer too)."""
    for layer in all_layers(layers):
        if isinstance(layer, BatchNorm) and layer.mode == "training" and inputs is not None:
            size = len(inputs) * (layer.in_shape[1] if len(layer.in_shape) == 2 else 1)
            if size < 2:
                raise SpecError(f"batchnorm {layer.label} in training mode needs 2 samples or more (the batch's "
                                f"statistics); give more samples or mode = \"evaluation\"", where=f"{source}: samples")


_LAYER_READERS = {"conv2d": _read_conv, "conv1d": _read_conv, "maxpool": _read_pool, "avgpool": _read_pool,
                  "flatten": _read_flatten, "dense": _read_dense, "residual": _read_residual,
                  "layernorm": _read_norm, "batchnorm": _read_norm, "rnn": _read_rnn,
                  "attention": _read_attention}


def _parameter(table: dict[str, Any], key: str, shape: Shape, reading: _Reading, where: str,
               fan_in: int, fan_out: int) -> np.ndarray:
    if key in table:
        return _tensor(table[key], shape, f"{where}.{key}")
    return reading.initial(shape, fan_in, fan_out)


def _bias(table: dict[str, Any], params: dict[str, np.ndarray], count: int, where: str) -> None:
    use = table.get("bias", True)
    if not isinstance(use, bool):
        raise SpecError(f"expected true or false, got {_short(use)}", where=f"{where}.bias")
    if not use:
        if "biases" in table:
            raise SpecError("biases given but bias = false", where=f"{where}.biases")
        return
    params["bias"] = _tensor(table["biases"], (count,), f"{where}.biases") if "biases" in table else np.zeros(count)


def _tensor(value: Any, shape: Shape, where: str) -> np.ndarray:
    """Nested lists of numbers of exactly `shape` (each entry checked, the first bad one named)."""
    def walk(v: Any, dims: Shape, here: str) -> Any:
        if not dims:
            return _number(v, here)
        if not isinstance(v, list) or len(v) != dims[0]:
            got = f"{len(v)} entries" if isinstance(v, list) else _short(v)
            raise SpecError(f"expected {dims[0]} entries (shape {_shape_text(dims)}), got {got}", where=here)
        return [walk(item, dims[1:], f"{here}[{i}]") for i, item in enumerate(v)]

    return np.array(walk(value, shape, where), dtype=np.float64).reshape(shape)


def _sample_tensor(value: Any, shape: Shape, where: str) -> np.ndarray:
    """A sample's inputs: nested in `shape`, without a leading single channel, or flat."""
    size = int(np.prod(shape))
    if isinstance(shape, Sequence) and isinstance(value, list) and value and isinstance(value[0], list):
        return _tensor(value, shape, where)  # one vector per step (not a map with its single channel left out)
    if isinstance(value, list) and len(value) == size and all(not isinstance(v, list) for v in value) and len(shape) > 1:
        return _tensor(value, (size,), where).reshape(shape)
    if shape[0] == 1 and len(shape) > 1 and isinstance(value, list) and len(value) == shape[1] and (
            len(shape) == 2 or (value and isinstance(value[0], list))):
        return _tensor(value, shape[1:], where).reshape(shape)
    return _tensor(value, shape, where)


def _samples(data: dict[str, Any], input_shape: Shape, outputs: int, loss: str, act: str,
             source: str) -> tuple[np.ndarray | None, np.ndarray | None]:
    if "samples" not in data:
        return None, None
    xs, ts = [], []
    for where, sample in sample_tables(data, source):
        xs.append(_sample_tensor(sample["inputs"], input_shape, f"{where}.inputs"))
        target = class_label(sample["targets"], outputs, loss, act, f"{where}.targets")
        if isinstance(target, list) and any(isinstance(t, list) for t in target):  # given in the output's shape
            target = _flatten_lists(target)
        ts.append(_tensor(target, (outputs,), f"{where}.targets"))
    inputs, targets = np.stack(xs), np.stack(ts)
    problem = target_problem(loss, act, targets)
    if problem:
        raise SpecError(problem, where=f"{source}: samples")
    return inputs, targets


def _flatten_lists(value: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for v in value:
        flat.extend(_flatten_lists(v) if isinstance(v, list) else [v])
    return flat


def _shape_text(shape: Shape) -> str:
    return " x ".join(map(str, shape))


def _pair_text(pair_: tuple[int, int], one_d: bool) -> str:
    return str(pair_[1]) if one_d else f"{pair_[0]}x{pair_[1]}"
