"""A spec's `[torch]` table: the PyTorch model its weights came from, so every explanation of it (every format,
`stepgrad serve`) names each weight as PyTorch does (`fc1.weight[0, 1]`) beside the deck's name.

`stepgrad import model.pt` and `stepgrad.from_torch(model)` write it; a saved network keeps it:

    [torch]
    model = "Net"                 # the model's class name (optional)
    modules = ["fc1", "fc2"]      # each nn.Linear's state_dict prefix, in order ("" for a bare nn.Linear)
    bias = [true, false]          # whether each has a bias (false: nn.Linear(..., bias=False), fixed at 0)
    layers = [2, 3, 2]            # the model's widths (optional): a network of other widths is not that model
    dtype = "float32"             # optional: the steps are computed in float32, as PyTorch computes a
                                  # float32 model (`stepgrad import --dtype float32`); default float64

    >>> net = stepgrad.Network.from_dict({"layers": [2, 2], "torch": {"modules": ["fc"], "bias": [True]}})
    >>> record(net)
    {'model': '', 'dtype': 'float64', 'modules': ['fc'], 'bias': [True]}

A record that no longer fits the network (other layers or widths, a bias=False layer whose biases are not 0
or train) is not used: its names would be wrong, so the explanation carries none (`record` returns None).
"""

from __future__ import annotations

import re
from typing import Any, Protocol

import numpy as np

from stepgrad.core.errors import SpecError


class Network(Protocol):
    """What this module reads of a stepgrad.core.spec.Network (which imports this module to check its table)."""

    extra: dict[str, Any]
    layers: list[int]
    update_biases: bool
    biases: list[np.ndarray]

    def trains(self) -> list[bool]: ...

    @property
    def depth(self) -> int: ...

KEYS = ("model", "modules", "bias", "dtype", "layers")
DTYPES = ("float64", "float32")
_NAME = re.compile(r"^[A-Za-z0-9_.]{0,200}$")  # a state_dict prefix: attribute names and indices joined by dots


def check(value: Any, depth: int, source: str) -> dict[str, Any]:
    """The `[torch]` table of a spec with `depth` weight layers, validated (a SpecError naming the key)."""
    where = f"{source}: torch"
    if not isinstance(value, dict):
        raise SpecError("expected a table (model, modules, bias, dtype)", where=where)
    for key in value:
        if key not in KEYS:
            raise SpecError(f"unknown key {key!r}; the keys are {', '.join(KEYS)}", where=f"{where}.{key}")
    model = value.get("model", "")
    if not isinstance(model, str) or not _NAME.match(model):
        raise SpecError("expected the model's class name (letters, digits, _)", where=f"{where}.model")
    modules = value.get("modules")
    if not isinstance(modules, list) or len(modules) != depth or not all(
            isinstance(m, str) and _NAME.match(m) for m in modules):
        raise SpecError(f"expected {depth} state_dict prefixes (like \"fc1\"), one per non-input layer",
                        where=f"{where}.modules")
    bias = value.get("bias", [True] * depth)
    if not isinstance(bias, list) or len(bias) != depth or not all(isinstance(b, bool) for b in bias):
        raise SpecError(f"expected {depth} true/false values, one per non-input layer", where=f"{where}.bias")
    dtype = value.get("dtype", "float64")
    if dtype not in DTYPES:
        raise SpecError(f"expected one of {', '.join(DTYPES)}, got {str(dtype)[:40]!r}", where=f"{where}.dtype")
    widths = value.get("layers")
    if widths is not None and (not isinstance(widths, list) or len(widths) != depth + 1 or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in widths)):
        raise SpecError(f"expected {depth + 1} widths (neurons per layer, inputs first)", where=f"{where}.layers")
    return table(model, modules, bias, dtype, widths)


def table(model: str, modules: list[str], bias: list[bool], dtype: str = "float64",
          layers: list[int] | None = None) -> dict[str, Any]:
    """A `[torch]` table, leaving out what is the default (no class name, float64, widths unchecked)."""
    found: dict[str, Any] = {"model": model} if model else {}
    found.update(modules=list(modules), bias=list(bias))
    if layers is not None:
        found["layers"] = list(layers)
    return found if dtype == "float64" else dict(found, dtype=dtype)


def record(net: Network) -> dict[str, Any] | None:
    """The network's `[torch]` table when it still describes the network, else None."""
    found = net.extra.get("torch")
    if not isinstance(found, dict) or len(found.get("modules", ())) != net.depth:
        return None
    if found.get("layers") is not None and list(found["layers"]) != list(net.layers):
        return None  # other widths: not that model
    found = dict({"model": "", "dtype": "float64"}, **found)
    trains = net.trains()
    for l, has in enumerate(found["bias"]):
        if not has and (trains[net.depth + l] or np.any(np.asarray(net.biases[l]) != 0)):
            return None  # the layer has no bias in PyTorch, but here it trains or is not 0: not that model any more
    return found


def dtype_of(net: Network) -> str:
    """The arithmetic the network's steps use by default: its `[torch]` table's dtype, else float64."""
    found = net.extra.get("torch")
    return str(found.get("dtype", "float64")) if isinstance(found, dict) else "float64"
