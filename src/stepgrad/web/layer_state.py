"""An edited layer-table network on the maps and sequence pages: its values as plain JSON, read back and checked.

The page holds the network it shows as a *state*; every request sends it and the server answers with the
next one, so the server keeps nothing between requests (as the dense explorer sends its spec):

    {"parameters": {"c1": {"kernel": [[[[...]]]], "bias": [...]}, ...},   # every layer's parameters by role
     "running": {"n1": {"running_mean": [...], "running_var": [...]}},    # batchnorm's running statistics
     "inputs": [...],                                                     # (samples, *input shape)
     "learning_rate": 0.5, "iteration": 0}                                # steps taken since the served network

Only values travel: the layers, shapes, samples' targets and settings are always the served network's, so a
state can change numbers but never the work a request asks for. Each value is checked (a finite number, in
its place); the first bad one is named in one line (ApiError 422 with its field).

    >>> from stepgrad.core.layers.spec import LayerNetwork
    >>> served = LayerNetwork.from_dict({"layers": [{"type": "input", "shape": [1, 2, 2]},
    ...     {"type": "conv2d", "out_channels": 1, "kernel": 2, "bias": False, "weights": [[[[1, 2], [3, 4]]]]}],
    ...     "samples": [{"inputs": [[1, 0], [0, 1]], "targets": [2]}]})
    >>> net = edited(network_from(served, state_of(served)), "k1[1,1,2,2]", "0.5")
    >>> net.layers[0].params["kernel"].tolist()
    [[[[1.0, 2.0], [3.0, 0.5]]]]
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from stepgrad.core import names
from stepgrad.core.layers.base import Layer
from stepgrad.core.layers.norm import BatchNorm
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.web.inputs import ApiError

KEYS = ("parameters", "running", "inputs", "learning_rate", "iteration")
LEARNING_RATE = "learning_rate"  # the name an edit of the learning rate gives (the spec's key)
RUNNING = ("running_mean", "running_var")
MAX_ITERATION = 10**12
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def state_of(net: LayerNetwork, iteration: int = 0) -> dict[str, Any]:
    """The state of `net` (see the module's docstring), `iteration` steps after the served network."""
    inputs, _ = net.require_samples()
    return {"parameters": {layer.label: {role: a.tolist() for role, a in layer.params.items()}
                           for layer in net.all_layers() if layer.params},
            "running": {layer.label: {"running_mean": layer.running_mean.tolist(),
                                      "running_var": layer.running_var.tolist()}
                        for layer in net.all_layers() if isinstance(layer, BatchNorm)},
            "inputs": inputs.tolist(), "learning_rate": net.learning_rate, "iteration": iteration}


def network_from(served: LayerNetwork, state: Any) -> LayerNetwork:
    """The served network with the state's values in place of its own; ApiError naming the first bad value."""
    if not isinstance(state, dict):
        raise ApiError(422, "'state' must be the page's network state (an object with parameters, inputs, ...)",
                       "state")
    for key in state:
        if key not in KEYS:
            raise ApiError(422, f"unknown key {str(key)[:40]!r} in 'state' (it holds: {', '.join(KEYS)})",
                           f"state.{str(key)[:40]}")
    missing = [key for key in KEYS if key not in state]
    if missing:
        raise ApiError(422, f"'state' has no {missing[0]!r}", f"state.{missing[0]}")
    net = served.copy()
    inputs, _ = net.require_samples()
    layers = [layer for layer in net.all_layers() if layer.params]
    _same_keys(state["parameters"], [layer.label for layer in layers], "state.parameters")
    for layer in layers:
        given = state["parameters"][layer.label]
        _same_keys(given, list(layer.params), f"state.parameters.{layer.label}")
        for role in layer.params:
            layer.params[role] = _array(given[role], layer.params[role].shape, f"state.parameters.{layer.label}.{role}")
    norms = [layer for layer in net.all_layers() if isinstance(layer, BatchNorm)]
    _same_keys(state["running"], [layer.label for layer in norms], "state.running")
    for layer in norms:
        given = state["running"][layer.label]
        _same_keys(given, list(RUNNING), f"state.running.{layer.label}")
        layer.running_mean = _array(given["running_mean"], layer.running_mean.shape, f"state.running.{layer.label}.running_mean")
        layer.running_var = _array(given["running_var"], layer.running_var.shape, f"state.running.{layer.label}.running_var")
        if (layer.running_var + layer.eps <= 0).any():
            raise ApiError(422, f"running_var + eps of {layer.label} must be positive", f"state.running.{layer.label}")
    net.inputs = _array(state["inputs"], inputs.shape, "state.inputs")
    net.learning_rate = learning_rate(state["learning_rate"], "state.learning_rate")
    iteration = state["iteration"]
    if isinstance(iteration, bool) or not isinstance(iteration, int) or not 0 <= iteration <= MAX_ITERATION:
        raise ApiError(422, f"'state.iteration' must be a whole number of steps, got {_short(iteration)}",
                       "state.iteration")
    return net


def iteration_of(state: dict[str, Any]) -> int:
    """The state's count of steps taken (network_from has checked it)."""
    return int(state["iteration"])


def learning_rate(value: Any, field: str) -> float:
    """A learning rate: a positive finite number (or its decimal text)."""
    number = number_from(value, field)
    if number <= 0:
        raise ApiError(422, f"the learning rate must be positive, got {number:g}", field)
    return number


def number_from(value: Any, field: str) -> float:
    """A finite number given as a JSON number or as decimal text ("0.25", "-1.5e-3"); never evaluated."""
    given = value
    if isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        value = float(value.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ApiError(422, f"'{field}' must be a number like 0.25 or -1.5e-3, got {_short(given)}", field)
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ApiError(422, f"'{field}' must be a finite number: {_short(given)} is too large for a float", field)
    return number


def editable(net: LayerNetwork) -> Iterator[tuple[str, Layer | None, str, tuple[int, ...]]]:
    """Every value a user may edit: (name, layer, role, 0-based index) of each parameter entry, then
    (name, None, "input", (sample, *index)) of each input cell (the sample last in the name with several)."""
    for layer in net.all_layers():
        for role, array in layer.params.items():
            for index in np.ndindex(*array.shape):
                yield layer.parameter_name(role, tuple(i + 1 for i in index)), layer, role, index
    inputs, _ = net.require_samples()
    count = len(inputs)
    for s in range(count):
        for index in np.ndindex(*inputs.shape[1:]):
            name = names.with_position(names.INPUT_MAP, tuple(i + 1 for i in index))
            yield names.at(name, None if count == 1 else s + 1), None, "input", (s, *index)


def input_name(net: LayerNetwork, sample: int, index: tuple[int, ...]) -> str:
    """The name of input cell `index` (0-based, the input's shape) of `sample` (0-based), as the trace names it."""
    count = 0 if net.inputs is None else len(net.inputs)
    name = names.with_position(names.INPUT_MAP, tuple(i + 1 for i in index))
    return names.at(name, None if count == 1 else sample + 1)


def edited(net: LayerNetwork, name: Any, value: Any) -> LayerNetwork:
    """A copy of `net` with the value called `name` (a parameter entry, an input cell, or "learning_rate") set to
    `value`; ApiError when the name is not one of the network's or the value is not a finite number."""
    if not isinstance(name, str) or not 0 < len(name) <= 64:
        raise ApiError(422, "'name' must be the name of a weight, bias or input, like k1[1,1,2,2] or x[1,2,3]", "name")
    twin = net.copy()
    if name == LEARNING_RATE:
        twin.learning_rate = learning_rate(value, "value")
        return twin
    number = number_from(value, "value")
    for found, layer, role, index in editable(twin):
        if found != name:
            continue
        if layer is None:
            assert twin.inputs is not None
            twin.inputs = twin.inputs.copy()
            twin.inputs[index] = number
        else:
            layer.params[role] = layer.params[role].copy()
            layer.params[role][index] = number
        return twin
    raise ApiError(422, f"{name!r} is not a weight, bias or input of this network (click a value on the page to "
                        f"edit it)", "name")


def _same_keys(given: Any, wanted: list[str], field: str) -> None:
    if not isinstance(given, dict):
        raise ApiError(422, f"'{field}' must be an object with {', '.join(wanted) or 'nothing'}", field)
    for key in given:
        if key not in wanted:
            raise ApiError(422, f"'{field}' has {str(key)[:40]!r}, which this network does not "
                                f"({', '.join(wanted) or 'nothing'})", f"{field}.{str(key)[:40]}")
    for key in wanted:
        if key not in given:
            raise ApiError(422, f"'{field}' has no {key!r}", f"{field}.{key}")


def _array(value: Any, shape: tuple[int, ...], field: str) -> np.ndarray:
    """Nested lists of finite numbers of exactly `shape`, the first bad entry named."""
    def walk(v: Any, dims: tuple[int, ...], here: str) -> Any:
        if not dims:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
                raise ApiError(422, f"{here}: expected a finite number, got {_short(v)}", here)
            return float(v)
        if not isinstance(v, list) or len(v) != dims[0]:
            got = f"{len(v)} entries" if isinstance(v, list) else _short(v)
            raise ApiError(422, f"{here}: expected {dims[0]} entries, got {got}", here)
        return [walk(item, dims[1:], f"{here}[{i}]") for i, item in enumerate(v)]

    try:
        return np.array(walk(value, tuple(shape), field), dtype=np.float64).reshape(shape)
    except OverflowError:
        raise ApiError(422, f"{field}: a number is too large for a float", field) from None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
