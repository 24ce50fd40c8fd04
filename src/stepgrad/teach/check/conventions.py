"""The same network under another convention, for check's whole-report hint (hints.better_fit): a solution
whose numbers all come from, say, an attention head run without its 1/sqrt(d_k) scale is named as such."""

from __future__ import annotations

from typing import Any

from stepgrad.core.layers.attention import Attention
from stepgrad.core.layers.spec import LayerNetwork


def conventions(net: Any) -> dict[str, LayerNetwork]:
    """Label -> the network with one convention switched (empty for a dense network or when none applies)."""
    if not isinstance(net, LayerNetwork):
        return {}
    found: dict[str, LayerNetwork] = {}
    heads = [layer.label for layer in net.all_layers() if isinstance(layer, Attention) and layer.scaled]
    if heads:
        other = net.copy()
        for layer in other.all_layers():
            if isinstance(layer, Attention):
                layer.scaled = False
        found[f"the same network with the scores of {', '.join(heads)} not divided by sqrt(d_k) (scale = false)"] = other
    return found
