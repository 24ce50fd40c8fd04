"""The one engine: forward pass, loss, backward pass and update, vectorized per layer with numpy.

Training and explanation both call `step`. With `record=True` it also keeps every intermediate
array the trace names (the per-path contributions of each hidden neuron's error, the weights each
layer's backward pass used); the arithmetic is the same either way.

Conventions: arrays are float64, samples in rows. The batch error is the mean over samples of each
sample's E_total (for one sample it is the deck's E_total), and gradients are the matching mean;
with `reduction = "sum"` (PyTorch's reduction="sum") both are sums over the samples instead.

Hand-calculation mode (`round_to=K`): every named quantity (net, out, error terms, dE/dout,
dout/dnet, deltas, path contributions, gradients, new weights) is rounded to K decimals as soon as it
is computed, and the rounded value is carried on, the way a person with a calculator works. Each
value is then round(its trace formula applied to the rounded operands).

Update orders:
- synchronous: every gradient from the old weights (true gradient descent; the deck's derivation).
- sequential: each layer is updated before the layer below computes its deltas (the deck's reported
  figures after one update and after 10,000 iterations).

Parameters that do not train (`Network.trains()`: update_biases off, `update_weights = [true, false]`, a frozen
PyTorch parameter) keep their values; their gradients are computed all the same (true derivatives).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stepgrad.core.errors import DivergenceError
from stepgrad.core.functions import activation, loss, loss_terms
from stepgrad.core.spec import Network

Array = np.ndarray


@dataclass
class Forward:
    """Everything a forward pass computed. outs[0] is the input; nets[l], outs[l+1] belong to weight layer l."""

    nets: list[Array]
    outs: list[Array]
    error_terms: Array  # E_ok per sample: (samples, outputs)
    sample_errors: Array  # E_total per sample
    error: float  # mean (or, reduction sum, sum) over samples


@dataclass
class StepRecord:
    """One training step as the engine computed it (see module docstring for conventions)."""

    update_order: str
    forward: Forward
    loss_gradient: Array | None  # dE_total/dout at the output, per sample (None for combined losses)
    derivatives: list[Array | None]  # dout/dnet per weight layer (None: softmax, not elementwise)
    deltas: list[Array]  # dE_total/dnet per weight layer, per sample
    contributions: list[Array | None]  # [l]: (samples, upper, lower) terms of dE_total/dout for layer l
    out_gradients: list[Array | None]  # [l]: dE_total/dout of layer l's neurons (hidden layers; recorded)
    backprop_weights: list[Array | None]  # [l]: the W[l+1] used to send deltas down to layer l
    grad_weights: list[Array]
    grad_biases: list[Array]
    new_weights: list[Array]
    new_biases: list[Array]
    after: Forward | None = None  # forward pass with the new parameters
    round_to: int | None = None  # hand-calculation mode: the decimals every quantity was rounded to
    # hand-calculation mode: [l] the rounded per-sample gradients (samples, upper, lower) of layer l
    sample_grad_weights: list[Array | None] | None = None


def rounder(round_to: int | None):
    """The identity, or rounding to `round_to` decimals (hand-calculation mode)."""
    if round_to is None:
        return lambda a: a
    return lambda a: _round_half_up(a, round_to)


def _round_half_up(a: Array, decimals: int) -> Array:
    # As a person rounds what a calculator shows: the decimal digits (15 significant, which drops
    # binary noise such as 0.14974999999999999), ties away from zero (np.round: 0.14975 -> 0.1497).
    from decimal import ROUND_HALF_UP, Decimal

    quantum = Decimal(1).scaleb(-decimals)

    def one(x: float) -> float:
        if not np.isfinite(x) or abs(x) >= 1e15:  # beyond float64's decimals: nothing to round
            return x
        return float(Decimal(f"{x:.15g}").quantize(quantum, ROUND_HALF_UP))

    return np.vectorize(one, otypes=[np.float64])(a)


def forward(net: Network, inputs: Array, weights: list[Array] | None = None,
            biases: list[Array] | None = None, targets: Array | None = None,
            round_to: int | None = None) -> Forward:
    """The forward pass (and, when targets are given, the error) for a batch of inputs."""
    r = rounder(round_to)
    weights = net.weights if weights is None else weights
    biases = net.biases if biases is None else biases
    outs = [inputs]
    nets = []
    for l, (w, b) in enumerate(zip(weights, biases)):
        z = r(outs[-1] @ w.T + b)
        nets.append(z)
        outs.append(r(activation(net.activations[l]).forward(z)))
    if targets is None:
        empty = np.zeros((inputs.shape[0], 0))
        return Forward(nets, outs, empty, np.zeros(inputs.shape[0]), float("nan"))
    terms = r(loss_terms(net.loss, net.activations[-1], nets[-1], outs[-1], targets))
    per_sample = r(terms.sum(axis=1))
    batch = per_sample.sum() if net.reduction == "sum" else per_sample.mean()
    return Forward(nets, outs, terms, per_sample, float(r(batch)))


def output_delta(net: Network, fwd: Forward, targets: Array,
                 round_to: int | None = None) -> tuple[Array | None, Array | None, Array]:
    """(dE_total/dout, dout/dnet, dE_total/dnet) at the output layer, per sample."""
    r = rounder(round_to)
    out, z = fwd.outs[-1], fwd.nets[-1]
    act = activation(net.activations[-1])
    entry = loss(net.loss)
    combined = entry.combination(act.name)
    if combined is not None:  # e.g. cross-entropy with softmax: out - target, stably
        return None, None, r(combined.signal(z, out, targets))
    entry.check(act.name)
    grad = r(entry.gradient(out, targets))  # type: ignore[misc]
    if act.derivative is None:  # coupled (softmax): through its Jacobian
        return grad, None, r(act.backward(out, grad))  # type: ignore[misc]
    derivative = r(act.derivative(z, out))
    return grad, derivative, r(grad * derivative)


def step(net: Network, inputs: Array, targets: Array, update_order: str | None = None,
         record: bool = False, after: bool = False, round_to: int | None = None) -> StepRecord:
    """One gradient-descent step on the batch; returns what was computed (the network is unchanged).

    Overflow and NaN are not warned about here: callers check the result (check_finite) and say
    where it happened. round_to=K: hand-calculation mode (see the module docstring).
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        return _step(net, inputs, targets, update_order, record, after, round_to)


def _step(net: Network, inputs: Array, targets: Array, update_order: str | None,
          record: bool, after: bool, round_to: int | None = None) -> StepRecord:
    order = update_order or net.update_order
    r = rounder(round_to)
    fwd = forward(net, inputs, targets=targets, round_to=round_to)
    depth = net.depth
    samples = inputs.shape[0] if net.reduction == "mean" else 1  # what the per-sample gradients are divided by
    lr = net.learning_rate
    trains = net.trains()  # per parameter tensor: every layer's weights, then every layer's biases
    grad_out, out_derivative, delta = output_delta(net, fwd, targets, round_to)
    out_factor = grad_out  # dE_total/dout of the layer being processed (hand mode: gradients from it)
    sample_grads: list[Array | None] = [None] * depth

    deltas: list[Array] = [None] * depth  # type: ignore[list-item]
    derivatives: list[Array | None] = [None] * depth
    contributions: list[Array | None] = [None] * depth
    out_gradients: list[Array | None] = [None] * depth
    backprop_weights: list[Array | None] = [None] * depth
    grad_w: list[Array] = [None] * depth  # type: ignore[list-item]
    grad_b: list[Array] = [None] * depth  # type: ignore[list-item]
    new_w: list[Array] = [w for w in net.weights]
    new_b: list[Array] = [b for b in net.biases]
    deltas[-1] = delta
    derivatives[-1] = out_derivative

    for l in range(depth - 1, -1, -1):
        d = deltas[l]
        if round_to is None:
            grad_w[l] = d.T @ fwd.outs[l] / samples
        else:  # as the trace writes it: dE_total/dout * dout/dnet * dnet/dw, rounded, per sample
            derivative = derivatives[l]
            signal = d if derivative is None or out_factor is None else out_factor * derivative
            per_sample = r(signal[:, :, None] * fwd.outs[l][:, None, :])
            sample_grads[l] = per_sample
            grad_w[l] = r(per_sample.mean(axis=0) if net.reduction == "mean" else per_sample.sum(axis=0))
        gb = d.sum(axis=0) / samples
        grad_b[l] = r(gb.sum(keepdims=True) if net.shared_bias(l) else gb)
        if trains[l]:  # a parameter that does not train (frozen in torch) keeps its value; its gradient is still true
            new_w[l] = r(net.weights[l] - lr * grad_w[l])
        if trains[depth + l]:
            new_b[l] = r(net.biases[l] - lr * grad_b[l])
        if l == 0:
            break
        # Send the error down to layer l-1 through W[l]: old weights, or the just-updated ones.
        w_down = new_w[l] if order == "sequential" else net.weights[l]
        backprop_weights[l - 1] = w_down
        if record or round_to is not None:
            terms = r(d[:, :, None] * w_down[None, :, :])  # (samples, upper, lower): one term per path
            contributions[l - 1] = terms
            grad_hidden = r(terms.sum(axis=1))
            out_gradients[l - 1] = grad_hidden
        else:
            grad_hidden = d @ w_down
        derivative = r(activation(net.activations[l - 1]).derivative(fwd.nets[l - 1], fwd.outs[l]))  # type: ignore[misc]
        derivatives[l - 1] = derivative
        deltas[l - 1] = r(grad_hidden * derivative)
        out_factor = grad_hidden

    rec = StepRecord(order, fwd, grad_out, derivatives, deltas, contributions, out_gradients,
                     backprop_weights, grad_w, grad_b, new_w, new_b)
    if round_to is not None:
        rec.round_to, rec.sample_grad_weights = round_to, sample_grads
    if after:
        rec.after = forward(net, inputs, new_w, new_b, targets, round_to=round_to)
    return rec


def check_finite(rec: StepRecord, iteration: int, net: Network) -> None:
    """Raise DivergenceError naming the iteration and the first quantity that overflowed or is NaN."""
    if (np.isfinite(rec.forward.error) and all(np.isfinite(w).all() for w in rec.new_weights)
            and all(np.isfinite(b).all() for b in rec.new_biases)):
        return
    from stepgrad.core.names import layout
    from stepgrad.core.names import net as net_name

    names = layout(net.layers, net.shared_biases)  # type: ignore[arg-type]
    where = "E_total"
    for l, z in enumerate(rec.forward.nets):
        bad = np.argwhere(~np.isfinite(z))
        if bad.size:
            where = net_name(names.neurons[l + 1][bad[0][1]])
            break
    else:
        for l, w in enumerate(rec.new_weights):
            bad = np.argwhere(~np.isfinite(w))
            if bad.size:
                where = names.weights[l][bad[0][0]][bad[0][1]]
                break
        else:
            for l, b in enumerate(rec.new_biases):
                bad = np.argwhere(~np.isfinite(b))
                if bad.size:
                    where = names.biases[l][bad[0][0]]
                    break
    raise DivergenceError(
        f"training diverged at iteration {iteration}: {where} is not a finite number "
        f"(overflow or NaN; try a smaller learning_rate, now {net.learning_rate})"
    )


def apply(net: Network, rec: StepRecord) -> None:
    """Make the step's new parameters the network's own."""
    net.weights = list(rec.new_weights)
    net.biases = list(rec.new_biases)
