"""flatten: a map becomes a vector, row by row within each channel, channel after channel (PyTorch's nn.Flatten).

out_f[(ch-1)*rows*columns + (r-1)*columns + c] = in[ch, r, c]; the gradient is reshaped back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stepgrad.core.layers.base import Array, Layer, Run


@dataclass
class Flatten(Layer):
    """A flatten layer (no parameters, no activation)."""

    kind = "flatten"

    def forward(self, x: Array, run: Run) -> tuple[Array, Any]:
        return x.reshape(x.shape[0], -1), x.shape

    def backward(self, cache: Any, d_net: Array, run: Run) -> tuple[Array, dict[str, Array]]:
        return d_net.reshape(cache), {}

    def describe(self) -> str:
        return f"flatten {self.label}: {' x '.join(map(str, self.in_shape))} -> {self.out_shape[0]} units"
