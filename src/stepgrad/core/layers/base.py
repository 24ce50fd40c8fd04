"""What every layer of a layer-table network is: its label, shapes, parameters, forward and backward side by side.

A layer computes `net` (its weighted sum, or the pooled / reshaped value) from its input, and the
engine applies the layer's activation from the registry (core/functions) to give `out`. Arrays carry
the samples first: a 2-d map is (samples, channels, rows, columns), a 1-d map (samples, channels,
length), a vector (samples, units). `backward` takes dE_total/dnet per sample and returns
dE_total/d(input) per sample and, per parameter, dE_total/dparameter per sample (samples first).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Array = np.ndarray
Shape = tuple[int, ...]
Run = Callable[..., Any]  # the engine's runner of a chain of layers (for a residual block's inner layers)


@dataclass
class Layer:
    """The common part: `label` (c1, p1, d1, f1, r1), the input and output shape of one sample,
    the activation applied to net ("linear": none), and the parameters by role ("kernel", "bias")."""

    label: str
    in_shape: Shape
    out_shape: Shape
    activation: str = "linear"
    params: dict[str, Array] = field(default_factory=dict)

    kind = "layer"  # the spec's `type` (conv2d, maxpool, ...), set by each subclass
    has_activation = False  # dense, conv and residual layers take one; pooling and flatten do not
    mixes_samples = False  # whether a sample's values depend on the other samples' (batchnorm in training mode)
    names_own_values = False  # whether `quantities` names its out and derivatives itself (rnn: per time step)
    exact_gradients = True  # False: the gradients through it are not derivatives (truncated BPTT)

    def forward(self, x: Array, run: Run) -> tuple[Array, Any]:
        """net for a batch of inputs, and what backward needs (the cache)."""
        raise NotImplementedError

    def backward(self, cache: Any, d_net: Array, run: Run) -> tuple[Array, dict[str, Array]]:
        """(dE_total/dinput, {role: dE_total/dparameter}) per sample, from dE_total/dnet per sample."""
        raise NotImplementedError

    def parameter_name(self, role: str, position: Shape, after: bool = False) -> str:
        """The name of one parameter entry (1-based position), from core.names."""
        raise NotImplementedError(f"{self.kind} has no parameters")

    def describe(self) -> str:
        """One line: the layer's kind and settings, as the explanation states them."""
        return self.kind

    def quantities(self, cache: Any, samples: int, batch_scale: float) -> dict[str, float]:
        """Name -> value of the layer's inner quantities beyond net and out (normalization's mu, var, xhat
        and their derivatives); `batch_scale` turns a sum over samples into the batch's (1/samples for a mean)."""
        return {}

    def settle(self, cache: Any) -> None:
        """Keep what a training step's forward pass changed besides the parameters (batchnorm's running statistics)."""


def pair(value: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    """(rows, columns) from one number or two."""
    if isinstance(value, (list, tuple)):
        return int(value[0]), int(value[1])
    return int(value), int(value)


def windows(x: Array, kernel: tuple[int, int], stride: tuple[int, int]) -> Array:
    """Every kernel-sized window of a 2-d map batch (samples, channels, rows, columns), the im2col view:
    (samples, channels, out_rows, out_columns, kernel_rows, kernel_columns), without copying."""
    view = np.lib.stride_tricks.sliding_window_view(x, kernel, axis=(2, 3))
    return view[:, :, ::stride[0], ::stride[1]]


def scatter_windows(per_window: Array, shape: Shape, stride: tuple[int, int]) -> Array:
    """The adjoint of `windows`: add each window's (samples, channels, out_rows, out_columns, kr, kc)
    values back onto a map of `shape` (overlapping windows add up)."""
    total = np.zeros(shape)
    rows, cols = per_window.shape[2], per_window.shape[3]
    for p in range(per_window.shape[4]):
        for q in range(per_window.shape[5]):
            total[:, :, p:p + stride[0] * rows:stride[0], q:q + stride[1] * cols:stride[1]] += per_window[..., p, q]
    return total


def output_size(size: int, kernel: int, stride: int, padding: int = 0) -> int:
    """How many positions a kernel takes along one axis (PyTorch's floor rule; 0 or less: it does not fit)."""
    return (size + 2 * padding - kernel) // stride + 1


def window_cells(layer: Any, out_index: Shape) -> list[tuple[tuple[int, int], Shape | None]]:
    """For one output position of a conv or pool layer (own shape, 0-based): each window offset (p, q) and the input position it
    reads (own shape), or None where it lies on the zero padding."""
    one_d = layer.one_d
    row, col = (0, out_index[1]) if one_d else (out_index[1], out_index[2])
    pad = getattr(layer, "padding", (0, 0))  # pooling has none
    in_rows, in_cols = (1, layer.in_shape[1]) if one_d else layer.in_shape[1:]
    cells: list[tuple[tuple[int, int], Shape | None]] = []
    for p in range(layer.kernel_size[0]):
        for q in range(layer.kernel_size[1]):
            r, c = row * layer.stride[0] + p - pad[0], col * layer.stride[1] + q - pad[1]
            inside = 0 <= r < in_rows and 0 <= c < in_cols
            cells.append(((p, q), ((c,) if one_d else (r, c)) if inside else None))
    return cells


def kernel_index(layer: Any, o: int, i: int, offset: tuple[int, int]) -> Shape:
    """The kernel entry (0-based, the kernel's own shape) applied at window offset (p, q): turned 180
    degrees for true convolution."""
    p, q = offset
    if layer.flipped:
        p, q = layer.kernel_size[0] - 1 - p, layer.kernel_size[1] - 1 - q
    return (o, i, q) if layer.one_d else (o, i, p, q)
