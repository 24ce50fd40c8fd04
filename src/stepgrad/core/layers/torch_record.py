"""A layer-table spec's `[torch]` table: which PyTorch parameter holds which layer's parameters, so every explanation
of a network read from a torch module (`stepgrad.from_torch(model, input_shape=...)`) names them as torch does.

    [torch]
    model = "Net"
    [[torch.parameters]]
    layer = "h1"                          # the stepgrad layer
    name = "0.rnn.weight_hh_l0"           # the torch parameter (its full state_dict name)
    roles = ["weight_h"]                  # the layer's parameters whose rows it stacks, in order
    [[torch.parameters]]
    layer = "h1"
    name = "0.rnn.bias_ih_l0"
    roles = ["bias"]
    partner = "0.rnn.bias_hh_l0"          # optional: a torch parameter that adds to it (nn.RNN's two biases)
    shape = [2]                           # optional: the torch tensor's shape when it was read

A table that does not fit the layers (an unknown layer or role, roles of other widths) is refused naming the entry;
one whose shapes no longer fit (a network edited since) gives no names (`fits`): they would be wrong.
"""

from __future__ import annotations

import re
from typing import Any

from stepgrad.core.errors import SpecError
from stepgrad.core.layers.base import Layer

_NAME = re.compile(r"^[A-Za-z0-9_.]{1,200}$")
KEYS = ("model", "parameters")
ENTRY_KEYS = ("layer", "name", "roles", "partner", "shape")


def check(value: Any, layers: list[Layer], source: str) -> dict[str, Any]:
    """The `[torch]` table of a layer-table spec whose layers (every one, residual blocks' included) are `layers`."""
    where = f"{source}: torch"
    if not isinstance(value, dict) or set(value) - set(KEYS):
        raise SpecError(f"expected a table with the keys {', '.join(KEYS)}", where=where)
    model = value.get("model", "")
    if not isinstance(model, str) or (model and not _NAME.match(model)):
        raise SpecError("expected the model's class name (letters, digits, _)", where=f"{where}.model")
    entries = value.get("parameters")
    if not isinstance(entries, list) or not entries:
        raise SpecError("expected a list of tables (layer, name, roles)", where=f"{where}.parameters")
    by_label = {layer.label: layer for layer in layers}
    for k, entry in enumerate(entries):
        here = f"{where}.parameters[{k}]"
        if not isinstance(entry, dict) or set(entry) - set(ENTRY_KEYS) or not {"layer", "name", "roles"} <= set(entry):
            raise SpecError("expected a table with layer, name, roles (and optionally partner)", where=here)
        layer = by_label.get(entry["layer"]) if isinstance(entry["layer"], str) else None
        if layer is None:
            raise SpecError(f"no layer {str(entry['layer'])[:40]!r} in this network", where=f"{here}.layer")
        for key in ("name", "partner"):
            if key in entry and (not isinstance(entry[key], str) or not _NAME.match(entry[key])):
                raise SpecError("expected a torch parameter name (letters, digits, _ and dots)", where=f"{here}.{key}")
        roles = entry["roles"]
        if (not isinstance(roles, list) or not roles or not all(isinstance(r, str) and r in layer.params for r in roles)
                or len({layer.params[r].shape[1:] for r in roles}) != 1):
            raise SpecError(f"expected parameters of layer {layer.label} of one width "
                            f"(from {', '.join(layer.params) or 'none'})", where=f"{here}.roles")
        shape = entry.get("shape", [])
        if not isinstance(shape, list) or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                                                  for n in shape):
            raise SpecError("expected the tensor's shape, a list of whole numbers", where=f"{here}.shape")
    return {"model": model, "parameters": [dict(e, roles=list(e["roles"])) for e in entries]}


def links(table: dict[str, Any], layers: list[Layer]) -> list[tuple[Layer, list[tuple[str, tuple[str, ...], str | None]]]]:
    """The table as (layer, [(torch name, roles, partner)]) pairs in the layers' order."""
    by_label = {layer.label: layer for layer in layers}
    found: dict[str, list[tuple[str, tuple[str, ...], str | None]]] = {}
    for entry in table["parameters"]:
        found.setdefault(entry["layer"], []).append((entry["name"], tuple(entry["roles"]), entry.get("partner")))
    return [(by_label[label], found[label]) for label in by_label if label in found]


def stacked_shape(layer: Layer, roles: tuple[str, ...] | list[str]) -> list[int]:
    """The shape of the torch tensor stacking these roles of `layer` by rows."""
    shapes = [layer.params[r].shape for r in roles]
    return [sum(s[0] for s in shapes), *shapes[0][1:]]


def fits(table: dict[str, Any], layers: list[Layer]) -> bool:
    """Whether every recorded shape is still the layers' (a network edited since is not that model any more)."""
    by_label = {layer.label: layer for layer in layers}
    return all("shape" not in e or stacked_shape(by_label[e["layer"]], e["roles"]) == list(e["shape"])
               for e in table["parameters"])


def table(model: str, pairs: list[tuple[Layer, list[tuple[str, tuple[str, ...], str | None]]]]) -> dict[str, Any]:
    """The `[torch]` table of these (layer, links) pairs."""
    entries = [dict({"layer": layer.label, "name": name, "roles": list(roles)}, **({"partner": partner} if partner else {}),
                    shape=stacked_shape(layer, roles))
               for layer, found in pairs for name, roles, partner in found]
    return {"model": model, "parameters": entries}
