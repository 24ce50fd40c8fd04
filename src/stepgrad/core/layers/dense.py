"""dense: every unit adds up its weighted inputs and its bias, net_d[j] = sum over i of w_d[j, i] * in[i] + b_d[j]."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
        grads = {"weight": d_net[:, :, None] * x[:, None, :]}  # dnet_d[j]/dw_d[j, i] = in[i]
        if "bias" in self.params:
            grads["bias"] = d_net
        return d_net @ self.params["weight"], grads

    def parameter_name(self, role: str, position: Shape, after: bool = False) -> str:
        if role == "weight":
            return names.layer_weight(self.label, position, after)
        return names.layer_bias(self.label, position, after)

    def describe(self) -> str:
        return f"dense {self.label}: {self.in_shape[0]} -> {self.out_shape[0]} units, {self.activation}"
