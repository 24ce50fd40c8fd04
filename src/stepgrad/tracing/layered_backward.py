"""The backward steps of one layer of a layer-table network: dE_total/dout, dout/dnet, dE_total/dnet, the parameters' gradients.

A layer's dE_total/dout at a position is the sum over every place its out was used (its consumers:
the next layer, and for a residual block's input also the skip path) of the error signal there
times the local derivative: a kernel weight (conv), a max-pool's route (1 for the chosen cell) or an
average-pool's 1/(kernel size), a dense weight, 1 (flatten, the skip path). A parameter's gradient
is the sum over the positions it touched of the error signal times the factor dnet/dparameter.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from stepgrad.core import names
from stepgrad.core.functions import ACTIVATIONS, LOSSES, fill
from stepgrad.core.layers.attention import Attention
from stepgrad.core.layers.base import Layer, kernel_index, window_cells
from stepgrad.core.layers.conv import Conv
from stepgrad.core.layers.dense import Dense
from stepgrad.core.layers.flatten import Flatten
from stepgrad.core.layers.norm import Norm
from stepgrad.core.layers.pool import Pool
from stepgrad.core.layers.residual import Residual
from stepgrad.core.layers.rnn import Rnn
from stepgrad.core.layers.values import positions
from stepgrad.core.trace import Step

_Builder = Any  # tracing/layered.py's builder (its names and values); imported there, not here: no cycle
Index = tuple[int, ...]


@dataclass(frozen=True)
class Raw:
    """A summand written out (LaTeX and text with «name» slots): a normalization's paths, an attention head's."""

    latex: str
    text: str


Term = tuple[str, str | None, float] | Raw  # (error signal above, factor name or None, constant factor)


def divided(latex: str, text: str, by: int) -> tuple[str, str]:
    """A formula divided by a whole number (unchanged for 1): a sequence's mean over its steps, a batch's mean."""
    if by == 1:
        return latex, text
    return rf"\frac{{{latex}}}{{{by}}}", f"({text}) / {by}"


def _slot(name: str) -> str:
    return f"«{name}»"


def _products(terms: list[Term]) -> tuple[str, str]:
    """LaTeX and text of a sum of error signal x factor (or x / a constant)."""
    if not terms:
        return "0", "0"
    latex, text = [], []
    for term in terms:
        if isinstance(term, Raw):
            latex.append(term.latex)
            text.append(term.text)
            continue
        upstream, factor, constant = term
        if factor is not None:
            latex.append(rf"«{upstream}» \cdot «{factor}»")
            text.append(f"«{upstream}» * «{factor}»")
        elif constant == 1:
            latex.append(f"«{upstream}»")
            text.append(f"«{upstream}»")
        elif abs(1 / constant - round(1 / constant)) < 1e-9:
            latex.append(rf"\frac{{«{upstream}»}}{{{round(1 / constant)}}}")
            text.append(f"«{upstream}» / {round(1 / constant)}")
        else:
            latex.append(rf"«{upstream}» \cdot {constant!r}")
            text.append(f"«{upstream}» * {constant!r}")
    return " + ".join(latex), " + ".join(text)


def incoming(b: _Builder, label: str, s: int) -> dict[Index, list[Term]]:
    """For every position of layer `label`'s out: the terms of dE_total/dout there, from each consumer."""
    terms: dict[Index, list[Term]] = defaultdict(list)
    for consumer, _path in b.consumers[label]:
        if isinstance(consumer, Residual):  # skip path or block path: dnet_r/dout = 1
            for _, index in positions(consumer.out_shape):
                terms[index].append((b.upstream(consumer, index, s), None, 1.0))
        elif isinstance(consumer, Conv):
            for _, out in positions(consumer.out_shape):
                for i in range(consumer.in_shape[0]):
                    for offset, cell in window_cells(consumer, out):
                        if cell is not None:
                            k = b.parameter(consumer, "kernel", kernel_index(consumer, out[0], i, offset))
                            terms[(i, *cell)].append((b.upstream(consumer, out, s), k, 1.0))
        elif isinstance(consumer, Pool):
            routes = consumer.routes(b.fwd.values[consumer.label].input[s:s + 1])[0]
            for _, out in positions(consumer.out_shape):
                at = (out[0], 0, out[1]) if consumer.one_d else out
                for (p, q), cell in window_cells(consumer, out):
                    weight = float(routes[(*at, p, q)])
                    if cell is not None and weight != 0:
                        terms[(out[0], *cell)].append((b.upstream(consumer, out, s), None, weight))
        elif isinstance(consumer, Flatten):
            for _, out in positions(consumer.out_shape):
                cell = tuple(int(i) for i in np.unravel_index(out[0], consumer.in_shape))
                terms[cell].append((b.upstream(consumer, out, s), None, 1.0))
        elif isinstance(consumer, Dense):
            for _, out in positions(consumer.out_shape):  # on a sequence, (step, unit): the same weights each step
                for i in range(consumer.in_shape[-1]):
                    terms[(*out[:-1], i)].append((b.upstream(consumer, out, s),
                                                  b.parameter(consumer, "weight", (out[-1], i)), 1.0))
        elif isinstance(consumer, (Rnn, Attention, Norm)):  # tracing/layered_seq.py writes their terms
            for index, found in b.consumer_terms(consumer, s).items():
                terms[index] += found
        else:
            raise TypeError(f"no backward terms for {consumer.kind}")
    return terms


def backward_steps(b: _Builder, layer: Layer) -> list[Step]:
    """Every backward step of `layer`, sample by sample, then its parameters' batch gradients."""
    v = b.fwd.values[layer.label]
    steps: list[Step] = []
    collected: dict[str, list[Term]] = defaultdict(list)
    last = layer is b.net.layers[-1]
    act = ACTIVATIONS[layer.activation]
    for s in range(b.samples):
        n = _Signals(b, layer.label, s)
        at, d_out, d_net, local = n.at, n.d_out, n.d_net, n.local
        if last:
            steps += _output_signals(b, layer, s, d_out, d_net, local)
        else:
            terms = incoming(b, layer.label, s)
            for _, index in positions(layer.out_shape):
                found = terms.get(index, [])
                latex, text = _products(found) if found else ("", "")
                note = "" if found else "no path reaches the error from here (a max-pool window took another cell)"
                if found and index == (0,) * len(index) and any(  # layernorm, batchnorm in training mode
                        isinstance(c, Norm) and getattr(c, "mode", "training") == "training" for c, _ in b.consumers[layer.label]):
                    note = "three paths through the normalization: through xhat, the variance and the mean"
                steps.append(b.step(d_out(index), b.signal_scale * v.d_out[(s, *index)], "partial", latex, text, subject=layer.label,
                                    note=note))
            if layer.has_activation:
                for _, index in positions(layer.out_shape):
                    out_slot, net_slot = _slot(at("out", index)), _slot(at("net", index))
                    steps.append(b.step(local(index), v.derivative[(s, *index)], "partial",
                                        fill(act.derivative_latex, out=out_slot, net=net_slot),
                                        fill(act.derivative_text, out=out_slot, net=net_slot), subject=layer.label))
                    steps.append(b.step(d_net(index), b.signal_scale * v.d_net[(s, *index)], "delta",
                                        rf"«{d_out(index)}» \cdot «{local(index)}»", f"«{d_out(index)}» * «{local(index)}»",
                                        subject=layer.label))
        steps += _parameter_gradients(b, layer, s, collected)
    return steps + batch_gradients(b, layer, collected)


def batch_gradients(b: _Builder, layer: Layer, collected: dict[str, list[Term]]) -> list[Step]:
    """Each parameter's batch gradient: the mean (or sum) of the samples' gradients; where the samples mix
    (batchnorm in training mode) no gradient is one sample's: the sum of every sample's terms at once."""
    steps: list[Step] = []
    for role, value in layer.params.items():
        for _, index in positions(value.shape):
            name = b.parameter(layer, role, index)
            grad = b.rec.grads[(layer.label, role)][index]
            if b.mixing:
                latex, text = _products(collected[name])
                steps.append(b.step(b.gradient_name(name), grad, "gradient", latex, text, subject=name,
                                    note="every sample's terms: the samples mix (batchnorm in training mode)"))
            elif b.samples > 1:
                per_sample = [b.gradient_name(name, s + 1) for s in range(b.samples)]
                steps.append(b.combine(b.gradient_name(name), grad, "gradient", per_sample, subject=name))
    return steps


def _one(index: Index) -> Index:
    return tuple(i + 1 for i in index)


def _position_text(signal: str) -> str:
    """(2,3) for the error signal dE_total/dnet_c1[1,2,3]: the position within the channel."""
    bottom = names.parse(signal).bottom
    position = bottom.position if bottom is not None and bottom.position is not None else ()
    return "(" + ",".join(str(p) for p in position[1:]) + ")"


class _Signals:
    """The names of one layer's values and error signals for sample s."""

    def __init__(self, b: _Builder, label: str, s: int) -> None:
        self.b, self.label, self.s, self.tag = b, label, s, b.tag(s)

    def at(self, kind: str, index: Index) -> str:
        return self.b.value_name(self.label, index, self.s, kind)

    def d_out(self, index: Index) -> str:
        return self.b.signal(names.map_value("out", self.label, _one(index)), self.s)

    def d_net(self, index: Index) -> str:
        return self.b.signal(names.map_value("net", self.label, _one(index)), self.s)

    def local(self, index: Index) -> str:
        return names.partial(names.map_value("out", self.label, _one(index)),
                             names.map_value("net", self.label, _one(index)), self.tag)


def _output_signals(b: _Builder, layer: Layer, s: int, d_out, d_net, local) -> list[Step]:
    """The last layer's error signals, from the loss (and its activation)."""
    v = b.fwd.values[layer.label]
    loss = LOSSES[b.net.loss]
    act = ACTIVATIONS[layer.activation]
    combined = loss.combination(layer.activation)
    count = str(int(np.prod(layer.out_shape)))
    scale = b.signal_scale
    by = round(1 / (b.net.loss_scale * scale))
    why = "; ".join(w for w, on in (("the mean over the steps", b.net.loss_scale != 1),
                                    ("the batch error's: the mean over the samples", scale != 1)) if on)
    why = f"; {why}" if why else ""
    steps = []
    everything = list(positions(layer.out_shape))
    for _, index in everything:
        roles = dict(out=_slot(b.value_name(layer.label, index, s)), target=_slot(b.value_name(layer.label, index, s, "target")),
                     net=_slot(b.value_name(layer.label, index, s, "net")), n=count)
        if combined is not None:
            latex, text = divided(fill(combined.delta_latex, **roles), fill(combined.delta_text, **roles), by)
            steps.append(b.step(d_net(index), scale * v.d_net[(s, *index)], "delta", latex, text, subject=layer.label,
                                note="the loss and the activation together" + why))
            continue
        latex, text = divided(fill(loss.gradient_latex, **roles), fill(loss.gradient_text, **roles), by)
        steps.append(b.step(d_out(index), scale * v.d_out[(s, *index)], "partial", latex, text, subject=layer.label,
                            note=why.lstrip("; ")))
    if combined is not None or not layer.has_activation:
        return steps
    for _, index in everything:
        if act.derivative is None:  # softmax: every out depends on every net
            out = _slot(b.value_name(layer.label, index, s))
            inner_l = " + ".join(rf"«{d_out(k)}» «{b.value_name(layer.label, k, s)}»" for _, k in everything)
            inner_t = " + ".join(f"«{d_out(k)}» * «{b.value_name(layer.label, k, s)}»" for _, k in everything)
            steps.append(b.step(d_net(index), scale * v.d_net[(s, *index)], "delta", rf"{out} \left(«{d_out(index)}» - ({inner_l})\right)",
                                f"{out} * («{d_out(index)}» - ({inner_t}))", subject=layer.label))
            continue
        out_slot, net_slot = _slot(b.value_name(layer.label, index, s)), _slot(b.value_name(layer.label, index, s, "net"))
        steps.append(b.step(local(index), v.derivative[(s, *index)], "partial",
                            fill(act.derivative_latex, out=out_slot, net=net_slot),
                            fill(act.derivative_text, out=out_slot, net=net_slot), subject=layer.label))
        steps.append(b.step(d_net(index), scale * v.d_net[(s, *index)], "delta", rf"«{d_out(index)}» \cdot «{local(index)}»",
                            f"«{d_out(index)}» * «{local(index)}»", subject=layer.label))
    return steps


def _parameter_gradients(b: _Builder, layer: Layer, s: int, collected: dict[str, list[Term]]) -> list[Step]:
    """Sample s's gradient of every parameter of `layer`: the factors (the plan), then their sum (samples mixed:
    the terms go to `collected`, for the batch gradient)."""
    v = b.fwd.values[layer.label]
    steps: list[Step] = []
    for role, value in layer.params.items():
        grads = v.sample_grads[role]
        for _, index in positions(value.shape):
            name = b.parameter(layer, role, index)
            terms: list[Term] = []
            padded = 0
            if isinstance(layer, Conv) and role == "kernel":
                o, i = index[0], index[1]
                entry = (0, index[2]) if layer.one_d else (index[2], index[3])
                offset = ((layer.kernel_size[0] - 1 - entry[0], layer.kernel_size[1] - 1 - entry[1])
                          if layer.flipped else entry)
                for _, out in positions(layer.out_shape):
                    if out[0] != o:
                        continue
                    cell = dict(window_cells(layer, out))[offset]
                    if cell is None:
                        padded += 1
                        continue
                    source = b.value_name(b.producer[layer.label], (i, *cell), s)
                    factor = names.partial(names.map_value("net", layer.label, _one(out)), name, b.tag(s))
                    steps.append(b.step(factor, v.input[(s, i, *cell)], "partial", _slot(source), _slot(source), subject=name))
                    terms.append((b.upstream(layer, out, s), factor, 1.0))
            elif isinstance(layer, Conv):  # the bias: dnet/db = 1 at every position of its channel
                terms = [(b.upstream(layer, out, s), None, 1.0) for _, out in positions(layer.out_shape) if out[0] == index[0]]
            elif isinstance(layer, Dense) and role == "weight":
                j, i = index
                for _, out in positions(layer.out_shape):  # a vector: one position; a sequence: every step
                    if out[-1] != j:
                        continue
                    source = b.value_name(b.producer[layer.label], (*out[:-1], i), s)
                    factor = names.partial(names.map_value("net", layer.label, _one(out)), name, b.tag(s))
                    steps.append(b.step(factor, v.input[(s, *out[:-1], i)], "partial", _slot(source), _slot(source),
                                        subject=name))
                    terms.append((b.upstream(layer, out, s), factor, 1.0))
            elif isinstance(layer, Dense):
                terms = [(b.upstream(layer, out, s), None, 1.0) for _, out in positions(layer.out_shape) if out[-1] == index[0]]
            else:
                terms = [(b.upstream(layer, index, s), None, 1.0)]
            if b.mixing:
                collected[name] += terms
                continue
            latex, text = _products(terms)
            where = ", ".join(_position_text(t[0]) for t in terms if not isinstance(t, Raw))
            note = (f"it touches {len(terms)} positions of {layer.label}'s channel {index[0] + 1}: {where}"
                    + (f"; {padded} more on the zero padding (input 0)" if padded else ""))
            if isinstance(layer, Dense) and len(layer.in_shape) == 2:
                note = f"the same weight at each of the {layer.in_shape[0]} steps: one term per step"
            elif not isinstance(layer, Conv):
                note = ""
            steps.append(b.step(b.gradient_name(name, b.tag(s)), grads[(s, *index)], "gradient", latex, text,
                                subject=name, note=note))
    return steps
