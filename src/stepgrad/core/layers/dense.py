"""dense: every unit adds up its weighted inputs and its bias, net_d[j] = sum over i of w_d[j, i] * in[i] + b_d[j].

On a sequence (steps, features) it acts on every step's vector with the same weights (nn.Linear's rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from stepgrad.core import names
from stepgrad.core.layers.base import Array, Layer, Run, Shape


@dataclass
class Dense(Layer):
    """A dense layer on a vector: params "weight" (units, inputs) and "bias" (units,) unless bias = false."""

    has_activation = True
    kind = "dense"

    def forward(self, x: Array, run: Run) -> tuple[Array, Any]:
        net = x @ self.params["weight"].T
        if "bias" in self.params:
            net = net + self.params["bias"]
        return net, x

    def backward(self, cache: Any, d_net: Array, run: Run) -> tuple[Array, dict[str, Array]]:
        x = cache
        # dnet_d[j]/dw_d[j, i] = in[i]; on a sequence (samples, steps, units) the steps' terms add up
        steps_d, steps_x = (a.reshape(a.shape[0], -1, a.shape[-1]) for a in (d_net, x))
        grads = {"weight": np.einsum("ntj,nti->nji", steps_d, steps_x)}
        if "bias" in self.params:
            grads["bias"] = steps_d.sum(axis=1)
        return d_net @ self.params["weight"], grads

    def parameter_name(self, role: str, position: Shape, after: bool = False) -> str:
        if role == "weight":
            return names.layer_weight(self.label, position, after)
        return names.layer_bias(self.label, position, after)

    def describe(self) -> str:
        steps = f" at each of {self.in_shape[0]} steps" if len(self.in_shape) == 2 else ""
        return f"dense {self.label}: {self.in_shape[-1]} -> {self.out_shape[-1]} units{steps}, {self.activation}"
