"""conv2d and conv1d: a kernel slid over the input map, cross-correlation (PyTorch's) or true convolution.

    net_c[o, r, c] = sum over in-channels i, kernel rows p, columns q of
                     k[o, i, p, q] * x_padded[i, r*stride + p, c*stride + q]  + b[o]

(cross-correlation). With `flipped` (true convolution) the kernel is turned by 180 degrees first:
k[o, i, kr-1-p, kc-1-q] takes the place of k[o, i, p, q]. The gradient of a kernel weight is the sum,
over every output position it touches, of dE_total/dnet there times the input it met:

    dE_total/dk[o, i, p, q] = sum over r, c of dE_total/dnet_c[o, r, c] * x_padded[i, r*s + p, c*s + q]

and the input's gradient sends each dE_total/dnet back along the same paths (the adjoint). A 1-d
layer is a 2-d one with a single row. Zero padding; no dilation or groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from stepgrad.core import names
from stepgrad.core.layers.base import Array, Layer, Run, Shape, scatter_windows, windows


@dataclass
class Conv(Layer):
    """A conv2d (in_shape (channels, rows, columns)) or conv1d (in_shape (channels, length)) layer.

    params: "kernel" (out_channels, in_channels, rows, columns) or (out_channels, in_channels, length);
    "bias" (out_channels,), absent with bias = false.
    """

    number: int = 1  # c<number>, k<number>
    kernel_size: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    flipped: bool = False  # true convolution (the kernel turned 180 degrees); False: cross-correlation
    one_d: bool = False

    has_activation = True

    @property
    def kind(self) -> str:  # type: ignore[override]
        return "conv1d" if self.one_d else "conv2d"

    def kernel_2d(self) -> Array:
        """The kernel as applied: 4-d (a 1-d kernel gets one row), turned 180 degrees for true convolution."""
        k = self.params["kernel"]
        k = k[:, :, None, :] if self.one_d else k
        return k[:, :, ::-1, ::-1] if self.flipped else k

    def _as_2d(self, x: Array) -> Array:
        return x[:, :, None, :] if self.one_d else x

    def padded(self, x: Array) -> Array:
        """The input with its zero padding (samples, channels, rows, columns)."""
        (pr, pc) = self.padding
        return np.pad(self._as_2d(x), ((0, 0), (0, 0), (pr, pr), (pc, pc)))

    def forward(self, x: Array, run: Run) -> tuple[Array, Any]:
        xp = self.padded(x)
        cols = windows(xp, self.kernel_size, self.stride)  # (n, in, R, C, kr, kc)
        net = np.einsum("nirspq,oipq->nors", cols, self.kernel_2d(), optimize=True)
        if "bias" in self.params:
            net = net + self.params["bias"][None, :, None, None]
        return (net[:, :, 0, :] if self.one_d else net), (xp, cols)

    def backward(self, cache: Any, d_net: Array, run: Run) -> tuple[Array, dict[str, Array]]:
        xp, cols = cache
        d = self._as_2d(d_net)  # (n, out, R, C)
        d_kernel = np.einsum("nors,nirspq->noipq", d, cols, optimize=True)  # per sample
        if self.flipped:
            d_kernel = d_kernel[:, :, :, ::-1, ::-1]
        grads = {"kernel": d_kernel[:, :, :, 0, :] if self.one_d else d_kernel}
        if "bias" in self.params:
            grads["bias"] = d.sum(axis=(2, 3))
        per_window = np.einsum("nors,oipq->nirspq", d, self.kernel_2d(), optimize=True)
        d_xp = scatter_windows(per_window, xp.shape, self.stride)
        (pr, pc) = self.padding
        d_x = d_xp[:, :, pr:d_xp.shape[2] - pr, pc:d_xp.shape[3] - pc]
        return (d_x[:, :, 0, :] if self.one_d else d_x), grads

    def parameter_name(self, role: str, position: Shape, after: bool = False) -> str:
        if role == "kernel":
            return names.kernel(self.number, position, after)
        return names.layer_bias(self.label, position, after)

    def describe(self) -> str:
        size = "x".join(map(str, self.kernel_size[1:] if self.one_d else self.kernel_size))
        step = self.stride[1] if self.one_d else "x".join(map(str, self.stride))
        pad = self.padding[1] if self.one_d else "x".join(map(str, self.padding))
        mode = "true convolution (kernel flipped)" if self.flipped else "cross-correlation"
        return (f"{self.kind} {self.label}: {self.in_shape[0]} -> {self.out_shape[0]} channels, kernel {size}, "
                f"stride {step}, padding {pad}, {mode}, {self.activation}")
