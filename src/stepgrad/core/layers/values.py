"""Every scalar of a layer-table network's training step, by its name (core/names.py builds the names).

    >>> from stepgrad.core.layers.spec import LayerNetwork
    >>> from stepgrad.core.layers.engine import step
    >>> net = LayerNetwork.from_dict({"layers": [{"type": "input", "shape": [1, 3, 3]},
    ...     {"type": "conv2d", "out_channels": 1, "kernel": 2, "activation": "linear", "bias": False,
    ...      "weights": [[[[0, 1], [2, 3]]]]}],
    ...     "samples": [{"inputs": [[0, 1, 2], [3, 4, 5], [6, 7, 8]], "targets": [19, 25, 37, 43]}]})
    >>> values = named_values(net, step(net, net.inputs, net.targets))
    >>> values["net_c1[1,2,2]"], values["dE_total/dk1[1,1,1,1]"]
    (43.0, 0.0)

Per-sample quantities carry the sample last when the batch has several (out_c1[1,2,2][2]); the
gradient of a parameter without a sample is the batch's (the mean over samples, or the sum). A
per-sample derivative carries the sample on each side (dE_total[2]/dnet_c1[1,2,2][2]: sample 2's own
error). Where a layer mixes the samples (batchnorm in training mode) no error is one sample's: the
derivative of E_total by q in sample s is the batch error's, named so (dE_total/dxhat_n1[1][2], see
names.batch_partial), and parameters have no per-sample gradients.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from stepgrad.core import names
from stepgrad.core.layers.base import Array, Shape
from stepgrad.core.layers.engine import LayerStep
from stepgrad.core.layers.spec import LayerNetwork


def positions(shape: Shape) -> Iterator[tuple[tuple[int, ...], tuple[int, ...]]]:
    """(1-based position for the name, 0-based index) of every entry of an array of `shape`."""
    for index in np.ndindex(*shape):
        yield tuple(i + 1 for i in index), index


def named_values(net: LayerNetwork, rec: LayerStep) -> dict[str, float]:
    """Name -> value for the inputs, every layer's net and out, the local derivatives, dE_total/dout and
    dE_total/dnet, targets and errors, each parameter with its gradient and new value, E_total (and E_total+)."""
    fwd = rec.forward
    count = fwd.inputs.shape[0]
    found: dict[str, float] = {}

    window = truncation(net)[0]

    def per_sample(kind: str, label: str, array: Array | None, derivative_of: str | None = None,
                   truncated: bool = False) -> None:
        if array is None:
            return
        for s in range(count):
            tag = None if count == 1 else s + 1
            for position, index in positions(array.shape[1:]):
                value = float(array[(s, *index)])
                name = names.map_value(kind, label, position)
                if derivative_of is None:
                    found[names.at(name, tag)] = value
                elif truncated and derivative_of == names.TOTAL and window is not None:
                    found[names.truncated(name, window, tag)] = value
                else:
                    found[names.partial(derivative_of if derivative_of != "self" else _twin(name), name, tag)] = value

    inexact = _inexact_labels(net)
    per_sample("input", names.INPUT_MAP, fwd.inputs)
    for layer in net.all_layers():
        v = fwd.values[layer.label]
        if not layer.names_own_values:  # an rnn names its values per time step itself (quantities)
            if layer.has_activation:
                per_sample("net", layer.label, v.net)
            per_sample("out", layer.label, v.out)
        cut = layer.label in inexact  # below a truncated rnn: its sums, not derivatives (bptt2_out_n1[1])
        if layer.names_own_values:
            pass
        elif layer.has_activation:
            per_sample("net", layer.label, v.derivative, derivative_of="self")
            per_sample("out", layer.label, v.d_out, derivative_of=names.TOTAL, truncated=cut)
            per_sample("net", layer.label, v.d_net, derivative_of=names.TOTAL, truncated=cut)
        else:
            per_sample("out", layer.label, v.d_out, derivative_of=names.TOTAL, truncated=cut)
        inner = layer.quantities(v.cache, count, 1 / count if net.reduction == "mean" else 1.0)
        found.update(_as_truncated(inner, window) if cut and window is not None and not layer.names_own_values
                     else inner)
    last = net.layers[-1]
    shape = (count, *last.out_shape)
    if net.targets is not None:
        per_sample("target", last.label, net.targets.reshape(shape))
        per_sample("E", last.label, fwd.error_terms.reshape(shape))
        if count > 1:
            for s in range(count):
                found[names.error(sample=s + 1)] = float(fwd.sample_errors[s])
        found[names.TOTAL] = fwd.error
    mixing = any(layer.mixes_samples for layer in net.all_layers())
    for layer in net.all_layers():
        for role, value in layer.params.items():
            grad = rec.grads[(layer.label, role)]
            sample_grads = fwd.values[layer.label].sample_grads[role]
            new = rec.new_params[(layer.label, role)]
            for position, index in positions(value.shape):
                name = layer.parameter_name(role, position)
                found[name] = float(value[index])
                cut = layer.label in inexact and window is not None  # truncated BPTT: a sum, not the derivative
                found[names.truncated(name, window) if cut else names.gradient(name)] = float(grad[index])  # type: ignore[arg-type]
                if count > 1 and not mixing:  # mixed samples: none is one sample's
                    for s in range(count):
                        found[names.truncated(name, window, s + 1) if cut  # type: ignore[arg-type]
                              else names.gradient(name, s + 1)] = float(sample_grads[(s, *index)])
                found[names.updated(name)] = float(new[index])
    if rec.after is not None:
        found[names.error(after=True)] = rec.after.error
    if mixing and count > 1:
        found = _batch_derivatives(found, 1 / count if net.reduction == "mean" else 1.0)
    return found


def _batch_derivatives(found: dict[str, float], scale: float) -> dict[str, float]:
    """Samples mixed: each dE_total[s]/dq[s] (computed as the derivative of the sum of the samples' errors by q in
    sample s) becomes the batch error's derivative dE_total/dq[s], scaled to the batch error (1/N for the mean)."""
    renamed: dict[str, float] = {}
    for name, value in found.items():
        n = names.parse(name)
        top = n.top
        if n.kind == "partial" and n.sample is not None and not n.batch and top is not None and (
                top.kind == "error" and top.neuron is None):
            renamed[names.batch_partial(names.TOTAL, str(n.bottom), n.sample)] = value * scale
        else:
            renamed[name] = value
    return renamed


def _as_truncated(found: dict[str, float], window: int) -> dict[str, float]:
    """A layer's inner quantities below a truncated rnn: each dE_total/dq (a sum, not a derivative) as bptt<k>_q."""
    renamed = {}
    for name, value in found.items():
        n = names.parse(name)
        top = n.top
        if n.kind == "partial" and top is not None and top.kind == "error" and top.neuron is None and n.bottom:
            renamed[names.truncated(str(n.bottom), window, n.sample)] = value
        else:
            renamed[name] = value
    return renamed


def truncation(net: LayerNetwork) -> tuple[int | None, set[str]]:
    """(k, the layers whose error signals are BPTT(k) sums: the truncated rnn and every layer before it), or
    (None, set()) when every gradient is a derivative."""
    windows = [int(getattr(layer, "truncate", 0)) for layer in net.all_layers() if not layer.exact_gradients]
    return (windows[0] if windows else None), _inexact_labels(net)


def _inexact_labels(net: LayerNetwork) -> set[str]:
    """The layers whose gradients are not derivatives: a truncated recurrent layer and every layer before it."""
    ordered = net.all_layers()
    cut = max((i for i, layer in enumerate(ordered) if not layer.exact_gradients), default=-1)
    return {layer.label for layer in ordered[:cut + 1]}


def _twin(net_name: str) -> str:
    """out_c1[1,2,2] for net_c1[1,2,2]: the top of the local derivative dout/dnet."""
    return str(names.parse(net_name).but(kind="out"))
