"""The engine for layer-table networks: forward pass, loss, backward pass and SGD update, vectorized with numpy.

Each layer's forward and backward sit in its own module (conv.py, pool.py, ...); this module runs
the chain, applies each layer's activation from the registry (core/functions) and keeps every array
the names refer to. Conventions as in core/engine.py: samples in rows, float64; each sample's E_total
is the sum of its output errors; the batch's E_total is their mean (reduction "sum": their sum) and
the parameter gradients the matching mean; per-sample derivatives (dE_total[2]/dnet_c1[1,2,2][2]) are
derivatives of that sample's own E_total.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from stepgrad.core.errors import DivergenceError
from stepgrad.core.functions import activation, loss, loss_terms
from stepgrad.core.layers.base import Array, Layer
from stepgrad.core.layers.residual import all_layers

if TYPE_CHECKING:
    from stepgrad.core.layers.spec import LayerNetwork

Nudge = tuple[str, str, tuple[int, ...], float]  # (label, "net" | "out", (sample, *position 0-based), step)


@dataclass
class LayerValues:
    """One layer's arrays for the batch (samples first): input, net, out; after backward its gradients."""

    layer: Layer
    input: Array
    net: Array
    out: Array
    cache: Any = None
    derivative: Array | None = None  # dout/dnet (elementwise activations; None for softmax)
    d_out: Array | None = None  # dE_total/dout per sample (None where the loss gives dE_total/dnet at once)
    d_net: Array | None = None  # dE_total/dnet per sample
    d_input: Array | None = None  # dE_total/d(this layer's input) per sample
    sample_grads: dict[str, Array] = field(default_factory=dict)  # role -> per-sample gradient


@dataclass
class Forward:
    """What a forward pass computed: every layer's values by label (in order), the output and the errors."""

    inputs: Array
    values: dict[str, LayerValues]
    output: Array  # the last layer's out, one row per sample
    error_terms: Array  # E per output unit and sample
    sample_errors: Array  # E_total per sample
    error: float  # the batch's E_total


@dataclass
class LayerStep:
    """One gradient-descent step: the forward pass with gradients, the batch gradients, the new parameters."""

    forward: Forward
    grads: dict[tuple[str, str], Array]  # (label, role) -> dE_total/dparameter for the batch
    new_params: dict[tuple[str, str], Array]
    after: Forward | None = None
    d_input: Array | None = None  # dE_total/dx per sample


def forward(net: LayerNetwork, inputs: Array, targets: Array | None = None,
            params: dict[tuple[str, str], Array] | None = None, nudge: Nudge | None = None) -> Forward:
    """The forward pass for a batch (and the errors when targets are given); `params` replaces the
    network's own parameters, `nudge` adds a step to one net or out (finite differences)."""
    use = net if params is None else net.with_parameters(params)
    values: dict[str, LayerValues] = {}
    out = _run_forward(use.layers, inputs, values, nudge)
    output = out.reshape(out.shape[0], -1)
    if targets is None:
        empty = np.zeros((inputs.shape[0], 0))
        return Forward(inputs, values, output, empty, np.zeros(inputs.shape[0]), float("nan"))
    last = use.layers[-1]
    terms = loss_terms(net.loss, last.activation, values[last.label].net.reshape(output.shape), output, targets)
    terms = terms * net.loss_scale  # a sequence output's steps: 1 / steps with step_reduction = "mean"
    per_sample = terms.sum(axis=1)
    batch = per_sample.sum() if net.reduction == "sum" else per_sample.mean()
    return Forward(inputs, values, output, terms, per_sample, float(batch))


def _run_forward(layers: list[Layer], x: Array, values: dict[str, LayerValues], nudge: Nudge | None) -> Array:
    def run(inner: list[Layer], h: Array) -> tuple[Array, None]:
        return _run_forward(inner, h, values, nudge), None

    for layer in layers:
        z, cache = layer.forward(x, run)
        z = _nudged(z, layer.label, "net", nudge)
        act = activation(layer.activation)
        out = _nudged(act.forward(z) if layer.has_activation else z, layer.label, "out", nudge)
        values[layer.label] = LayerValues(layer, x, z, out, cache)
        x = out
    return x


def _nudged(a: Array, label: str, which: str, nudge: Nudge | None) -> Array:
    if nudge is None or nudge[0] != label or nudge[1] != which:
        return a
    a = a.copy()
    a[nudge[2]] += nudge[3]
    return a


def backward(net: LayerNetwork, fwd: Forward, targets: Array) -> Array:
    """Fill every layer's gradients (per sample) into `fwd.values`; returns dE_total/dx per sample."""
    last = net.layers[-1]
    top = fwd.values[last.label]
    act = activation(last.activation)
    entry = loss(net.loss)
    combined = entry.combination(act.name)
    flat_net = top.net.reshape(fwd.output.shape)
    if combined is not None:  # e.g. cross-entropy with softmax: dE_total/dnet = out - target, stably
        top.d_net = net.loss_scale * combined.signal(flat_net, fwd.output, targets).reshape(top.net.shape)
    else:
        entry.check(act.name)
        d_out = net.loss_scale * entry.gradient(fwd.output, targets)  # type: ignore[misc]
        top.d_out = d_out.reshape(top.out.shape)
        if act.derivative is None:  # softmax: through its Jacobian
            top.d_net = act.backward(fwd.output, d_out).reshape(top.net.shape)  # type: ignore[misc]
        else:
            top.derivative = act.derivative(top.net, top.out)
            top.d_net = top.d_out * top.derivative
    return _run_backward(net.layers, fwd.values, None)


def _run_backward(layers: list[Layer], values: dict[str, LayerValues], d_out: Array | None) -> Array:
    """Back through `layers` from dE_total/dout of the last (None: its d_net is set already)."""
    def run(inner: list[Layer], cache: Any, d: Array) -> Array:
        return _run_backward(inner, values, d)

    for layer in reversed(layers):
        v = values[layer.label]
        if d_out is not None:
            v.d_out = d_out
            if layer.has_activation:
                v.derivative = activation(layer.activation).derivative(v.net, v.out)  # type: ignore[misc]
                v.d_net = d_out * v.derivative
            else:
                v.d_net = d_out
        v.d_input, v.sample_grads = layer.backward(v.cache, v.d_net, run)  # type: ignore[arg-type]
        d_out = v.d_input
    return d_out  # type: ignore[return-value]


def step(net: LayerNetwork, inputs: Array, targets: Array, after: bool = False) -> LayerStep:
    """One SGD step on the batch; returns what was computed (the network is unchanged)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        fwd = forward(net, inputs, targets)
        d_input = backward(net, fwd, targets)
        divide = inputs.shape[0] if net.reduction == "mean" else 1
        grads: dict[tuple[str, str], Array] = {}
        new: dict[tuple[str, str], Array] = {}
        for layer in all_layers(net.layers):
            for role, per_sample in fwd.values[layer.label].sample_grads.items():
                g = per_sample.sum(axis=0) / divide
                grads[(layer.label, role)] = g
                current = layer.params[role]
                new[(layer.label, role)] = current - net.learning_rate * g if (
                    role != "bias" or net.update_biases) else current
        rec = LayerStep(fwd, grads, new, d_input=d_input)
        if after:
            rec.after = forward(net, inputs, targets, params=new)
    check_finite(rec)
    return rec


def check_finite(rec: LayerStep) -> None:
    """DivergenceError naming the first quantity that overflowed or is NaN."""
    if not np.isfinite(rec.forward.error):
        raise DivergenceError("E_total is not a finite number (overflow or NaN; try a smaller learning_rate)")
    for (label, role), value in rec.new_params.items():
        if not np.isfinite(value).all():
            raise DivergenceError(f"the {role} of {label} is not finite after the update (try a smaller learning_rate)")


def apply(net: LayerNetwork, rec: LayerStep) -> None:
    """Make the step's new parameters the network's own."""
    for layer in all_layers(net.layers):
        for role in layer.params:
            layer.params[role] = rec.new_params[(layer.label, role)]
        layer.settle(rec.forward.values[layer.label].cache)
