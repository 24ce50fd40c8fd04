"""residual: a block of layers whose output is added to the block's input, net_r = in + block(in).

The gradient reaches the input along two paths, which add: the skip path (dnet_r/din = 1, so
dE_total/dnet_r itself) and the path back through the block's layers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stepgrad.core.layers.base import Array, Layer, Run


@dataclass
class Residual(Layer):
    """A residual block: `inner` layers (their output shape equals the block's input shape)."""

    inner: list[Layer] = field(default_factory=list)

    has_activation = True
    kind = "residual"

    def forward(self, x: Array, run: Run) -> tuple[Array, Any]:
        block_out, caches = run(self.inner, x)
        return x + block_out, caches

    def backward(self, cache: Any, d_net: Array, run: Run) -> tuple[Array, dict[str, Array]]:
        d_through_block = run(self.inner, cache, d_net)
        return d_net + d_through_block, {}  # the skip path, plus the path through the block

    def describe(self) -> str:
        return f"residual {self.label}: {len(self.inner)} layers, their output added to the input, {self.activation}"


def all_layers(layers: list[Layer]) -> list[Layer]:
    """Every layer in the order computed, a residual block's layers before the block's sum."""
    found: list[Layer] = []
    for layer in layers:
        if isinstance(layer, Residual):
            found.extend(all_layers(layer.inner))
        found.append(layer)
    return found
