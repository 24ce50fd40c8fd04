"""maxpool and avgpool: each window of a map becomes one value; the gradient goes back to the window's cells.

max: out = the largest cell of the window; its gradient goes to that cell alone. Ties (equal
largest cells): `ties = "first"` gives it to the first in reading order (row by row), as PyTorch
does; `ties = "split"` shares it equally among the tied cells. avg: out = the window's mean, so each
cell gets 1/(kernel rows x kernel columns) of the gradient. Overlapping windows (stride < kernel)
add up in the cells they share. No padding; a 1-d map is a 2-d one with a single row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from stepgrad.core.layers.base import Array, Layer, Run, scatter_windows, windows

TIE_RULES = ("first", "split")


@dataclass
class Pool(Layer):
    """A maxpool or avgpool layer (`mode` "max" or "avg") over 2-d or 1-d maps."""

    mode: str = "max"
    kernel_size: tuple[int, int] = (2, 2)
    stride: tuple[int, int] = (2, 2)
    ties: str = "first"
    one_d: bool = False

    @property
    def kind(self) -> str:  # type: ignore[override]
        return f"{self.mode}pool"

    def _as_2d(self, x: Array) -> Array:
        return x[:, :, None, :] if self.one_d else x

    def routes(self, x: Array) -> Array:
        """dnet/dcell for every window: (samples, channels, out_rows, out_columns, kr, kc) of weights.
        max: 1 at the chosen cell (or 1/t for each of t tied cells), 0 elsewhere; avg: 1/(kr*kc)."""
        cols = windows(self._as_2d(x), self.kernel_size, self.stride)
        if self.mode == "avg":
            return np.full(cols.shape, 1.0 / (self.kernel_size[0] * self.kernel_size[1]))
        flat = cols.reshape(*cols.shape[:4], -1)
        if self.ties == "split":
            mask = flat == flat.max(axis=-1, keepdims=True)
            route = mask / mask.sum(axis=-1, keepdims=True)
        else:  # np.argmax takes the first largest in reading order, as PyTorch's kernels do
            route = np.zeros(flat.shape)
            np.put_along_axis(route, flat.argmax(axis=-1)[..., None], 1.0, axis=-1)
        return route.reshape(cols.shape)

    def forward(self, x: Array, run: Run) -> tuple[Array, Any]:
        cols = windows(self._as_2d(x), self.kernel_size, self.stride)
        net = cols.max(axis=(4, 5)) if self.mode == "max" else cols.mean(axis=(4, 5))
        return (net[:, :, 0, :] if self.one_d else net), x

    def backward(self, cache: Any, d_net: Array, run: Run) -> tuple[Array, dict[str, Array]]:
        x = cache
        per_window = self.routes(x) * self._as_2d(d_net)[..., None, None]
        d_x = scatter_windows(per_window, self._as_2d(x).shape, self.stride)
        return (d_x[:, :, 0, :] if self.one_d else d_x), {}

    def describe(self) -> str:
        size = self.kernel_size[1] if self.one_d else "x".join(map(str, self.kernel_size))
        step = self.stride[1] if self.one_d else "x".join(map(str, self.stride))
        rule = f", ties: {self.ties}" if self.mode == "max" else f", 1/{self.kernel_size[0] * self.kernel_size[1]} each"
        return f"{self.kind} {self.label}: kernel {size}, stride {step}{rule}"
