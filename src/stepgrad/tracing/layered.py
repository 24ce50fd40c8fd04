"""The trace of one training step of a layer-table network (convolution, pooling, residual blocks): every scalar named, with its formula.

Values come from core/layers (the engine); this module only names them and writes each one's
formula with «name» slots, as tracing/build.py does for dense networks. A kernel weight's gradient
is derived as the deck derives w5: the factors dnet_c1[o,r,c]/dk1[o,i,p,q] (the input the weight
met at each output position it touches: the plan), then dE_total/dk1 as the sum over those
positions of dE_total/dnet_c1 times that factor, then the update k1+ = k1 - eta * dE_total/dk1.

    >>> from stepgrad.core.layers.spec import LayerNetwork
    >>> net = LayerNetwork.from_dict({"activation": "linear", "layers": [{"type": "input", "shape": [1, 3, 3]},
    ...     {"type": "conv2d", "out_channels": 1, "kernel": 2, "bias": False, "weights": [[[[0, 1], [2, 3]]]]}],
    ...     "samples": [{"inputs": [[0, 1, 2], [3, 4, 5], [6, 7, 8]], "targets": [19, 25, 37, 44]}]})
    >>> explain_layers(net).step("net_c1[1,1,1]").text
    '«k1[1,1,1,1]» * «x[1,1,1]» + «k1[1,1,1,2]» * «x[1,1,2]» + «k1[1,1,2,1]» * «x[1,2,1]» + «k1[1,1,2,2]» * «x[1,2,2]»'
"""

from __future__ import annotations

import math
from collections import defaultdict
from functools import cached_property
from typing import Any

import numpy as np

from stepgrad.core import names
from stepgrad.core.errors import DivergenceError, StepgradError
from stepgrad.core.functions import ACTIVATIONS, LOSSES, fill
from stepgrad.core.layers import engine
from stepgrad.core.layers.attention import Attention
from stepgrad.core.layers.base import Layer, kernel_index, window_cells
from stepgrad.core.layers.conv import Conv
from stepgrad.core.layers.dense import Dense
from stepgrad.core.layers.flatten import Flatten
from stepgrad.core.layers.pool import Pool
from stepgrad.core.layers.residual import Residual
from stepgrad.core.layers.rnn import Rnn, Sequence
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.layers.values import positions, truncation
from stepgrad.core.trace import Section, Step, Trace
from stepgrad.tracing import layered_seq, layered_seq_backward, layered_seq_truncated
from stepgrad.tracing.layered_backward import backward_steps, divided

Index = tuple[int, ...]
_SETTINGS = ("recurrent_activation", "output", "truncate", "scaled", "causal", "eps", "variance", "mode")  # --derive's rules
MAX_ATTENTION_TERMS = 600_000  # samples x steps^3: 80 steps of one sample take some 20 s to write out


def explain_layers(net: LayerNetwork, sample: int | None = None, optimizer: str = "sgd") -> Trace:
    """Run one training step of a layer-table network and return its trace (all samples, or one 0-based sample),
    the update by a registry optimizer (core/optim.py; its first step, from a zero state) or gradient descent."""
    _refuse_unexplained(net)
    inputs, targets = net.require_samples()
    if sample is not None:
        inputs, targets = inputs[sample:sample + 1], targets[sample:sample + 1]
    for layer in net.all_layers():  # a softmax row's formula names every key: terms grow as steps cubed
        if isinstance(layer, Attention) and len(inputs) * layer.in_shape[0] ** 3 > MAX_ATTENTION_TERMS:
            raise StepgradError(f"attention {layer.label} over {layer.in_shape[0]} steps: the explanation would write "
                                f"about {len(inputs) * layer.in_shape[0] ** 3:,} terms (at most "
                                f"{MAX_ATTENTION_TERMS:,}); explain one sample (--sample) or a shorter sequence")
    if optimizer != "sgd" and not all(layer.exact_gradients for layer in net.all_layers()):
        raise StepgradError(f"--optimizer {optimizer} with truncated BPTT is not written yet (its update uses the "
                            "bptt<k>_ sums, not gradients); explain it with SGD, or stepgrad train handles it")
    rec = engine.step(net, inputs, targets, after=optimizer == "sgd")
    if optimizer != "sgd":
        from stepgrad.tracing.layered_optimizer import rewrite, with_optimizer

        rec, part = with_optimizer(net, rec, inputs, targets, optimizer)
        assert rec.after is not None
        trace = rewrite(_Builder(net, rec, targets).build(), part, rec.after.error)
    else:
        trace = _Builder(net, rec, targets).build()
    for step in trace:
        if not math.isfinite(step.value):
            raise DivergenceError(f"{step.name} is not a finite number (overflow or NaN in this step)")
    return trace


def _refuse_unexplained(net: LayerNetwork) -> None:
    """StepgradError naming the first layer this trace cannot explain yet (truncated BPTT; a normalization,
    recurrent or attention layer inside a residual block): one line, before any work."""
    cut = [layer for layer in net.all_layers() if not layer.exact_gradients]
    if len(cut) > 1 or cut and any(layer.mixes_samples for layer in net.all_layers()) and len(net.inputs or []) > 1:
        raise StepgradError(f"the step-by-step explanation of truncated BPTT ({', '.join(x.label for x in cut)}) "
                            "is written for one truncated rnn in a network whose samples do not mix (no batchnorm in "
                            "training mode); stepgrad train handles it")
    for layer in net.layers:
        if isinstance(layer, Residual):
            inner = next((x for x in layer.inner if isinstance(x, layered_seq.SEQUENCE_LAYERS)), None)
            if inner is not None:
                raise StepgradError(f"the step-by-step explanation of {inner.kind} {inner.label} inside residual "
                                    f"block {layer.label} is not written yet (explain, names, check and exercise); "
                                    f"stepgrad train handles it")


def _slot(name: str) -> str:
    return f"«{name}»"


def wiring(layers: list[Layer]) -> tuple[dict[str, str | None], dict[str | None, list[tuple[Layer, str]]]]:
    """(producer, consumers): each layer's input (the label of the layer it reads; None: x), and for each
    label the layers that read its out with how ("input"; a residual block's "skip" path, or its "block"
    path from the block's last layer)."""
    producer: dict[str, str | None] = {}
    consumers: dict[str | None, list[tuple[Layer, str]]] = defaultdict(list)

    def wire(chain: list[Layer], source: str | None) -> None:
        for layer in chain:
            producer[layer.label] = source
            if isinstance(layer, Residual):
                consumers[source].append((layer, "skip"))
                wire(layer.inner, source)
                consumers[layer.inner[-1].label].append((layer, "block"))
            else:
                consumers[source].append((layer, "input"))
            source = layer.label

    wire(layers, None)
    return producer, consumers


class _Builder:
    def __init__(self, net: LayerNetwork, rec: engine.LayerStep, targets: np.ndarray) -> None:
        self.net, self.rec, self.fwd, self.targets = net, rec, rec.forward, targets
        self.samples = self.fwd.inputs.shape[0]
        self.producer, self.consumers = wiring(net.layers)
        # batchnorm in training mode mixes the samples: no error is one sample's (core/layers/values.py)
        self.mixing = self.samples > 1 and any(layer.mixes_samples for layer in net.all_layers())
        self.signal_scale = 1.0 / self.samples if self.mixing and net.reduction == "mean" else 1.0
        self._signals: dict[tuple[str, int], str] = {}
        self.window, self.inexact = truncation(net)  # truncated BPTT: these layers' signals are BPTT(k) sums
        self.known: dict[str, float] = {}  # every step's value as it is written (gradients' terms read them)

    # -- names ---------------------------------------------------------------------------------
    def tag(self, s: int) -> int | None:
        return None if self.samples == 1 else s + 1

    def value_name(self, label: str | None, index: Index, s: int, kind: str = "out") -> str:
        position = tuple(i + 1 for i in index)
        if label is None:
            return names.map_value("input", names.INPUT_MAP, position, self.tag(s))
        if kind == "out" and label in self.own_names:  # an rnn's h1_t3[j], an attention head's last out_a1[T,o]
            return names.at(layered_seq.passed_on(self.own_names[label], index), self.tag(s))
        return names.map_value(kind, label, position, self.tag(s))

    @cached_property
    def own_names(self) -> dict[str, Layer]:
        return {layer.label: layer for layer in self.net.all_layers() if isinstance(layer, (Rnn, Attention))}

    @property
    def trace_values(self) -> dict[str, float]:
        """Every value the trace holds so far, by name: what a gradient's terms multiply."""
        return self.known

    def consumer_terms(self, layer: Layer, s: int) -> dict[Index, list[Any]]:
        """What an rnn, attention or normalization layer sends back to each position of its input (layered_seq)."""
        return layered_seq.consumer_terms(self, layer, s)

    def rnn_inputs(self, layer: Rnn) -> dict[str, list[str]]:
        """Step (1-based, as text) -> the names of what an rnn reads at that step (without the sample)."""
        source = self.producer[layer.label]
        return {str(t + 1): [str(names.parse(self.value_name(source, (t, i), 0)).but(sample=None))
                             for i in range(layer.in_shape[1])]
                for t in range(layer.in_shape[0])}

    def signal(self, quantity: str, s: int) -> str:
        """dE_total/d(quantity of sample s): sample s's own error's, or the batch error's where samples mix."""
        key = (quantity, s)
        found = self._signals.get(key)
        if found is None:  # names.partial parses its sides: built once per name (attention asks for each often)
            if self.truncated(quantity):
                found = self._signals[key] = names.truncated(quantity, self.window, self.tag(s))  # type: ignore[arg-type]
            else:
                found = self._signals[key] = (names.batch_partial(names.TOTAL, quantity, s + 1) if self.mixing
                                              else names.partial(names.TOTAL, quantity, self.tag(s)))
        return found

    def truncated(self, quantity: str) -> bool:
        """Whether what reaches `quantity` is a truncated-BPTT sum (it is the truncated rnn's or below it)."""
        if self.window is None:
            return False
        label = names.label_of(quantity)
        return label is None or label in self.inexact

    def gradient_name(self, parameter: str, sample: int | None = None) -> str:
        """dE_total/d(parameter) (sample's own with a sample), or its truncated-BPTT sum bptt<k>_parameter."""
        if self.truncated(parameter):
            return names.truncated(parameter, self.window, sample)  # type: ignore[arg-type]
        return names.gradient(parameter, sample)

    def upstream(self, layer: Layer, index: Index, s: int) -> str:
        """dE_total/dnet of a layer with an activation, dE_total/dout of one without (pool, flatten)."""
        kind = "net" if layer.has_activation else "out"
        return self.signal(names.map_value(kind, layer.label, tuple(i + 1 for i in index)), s)

    def parameter(self, layer: Layer, role: str, index: Index, after: bool = False) -> str:
        return layer.parameter_name(role, tuple(i + 1 for i in index), after)

    def step(self, name: str, value: float, kind: str, latex: str = "", text: str = "", subject: str = "",
             note: str = "") -> Step:
        self.known[name] = float(value)
        return Step(name, float(value), kind, latex, text, subject=subject, note=note)

    # -- sections ------------------------------------------------------------------------------
    def build(self) -> Trace:
        sections = [self.given()]
        for layer in self.net.all_layers():
            sections.append(self.forward(layer))
        sections.append(self.error())
        for layer in reversed(self.net.all_layers()):
            sections.append(self.backward(layer))
        sections.append(self.update())
        return Trace(tuple(s for s in sections if s.steps), self.meta())

    def meta(self) -> dict[str, Any]:
        return {
            "kind": "layers", "samples": self.samples, "loss": self.net.loss,
            "learning_rate": self.net.learning_rate, "reduction": self.net.reduction,
            "convolution": self.net.convolution, "update_biases": self.net.update_biases,
            "input_shape": list(self.net.input_shape), "step_reduction": self.net.step_reduction,
            "sequence_input": isinstance(self.net.input_shape, Sequence),
            "mixing": self.mixing,
            **({"truncated": {"window": self.window, "layers": sorted(self.inexact)}} if self.window else {}),
            "layers": [{"label": layer.label, "kind": layer.kind, "description": layer.describe(),
                        "in_shape": list(layer.in_shape), "out_shape": list(layer.out_shape),
                        "sequence": isinstance(layer.out_shape, Sequence),
                        **({"input_names": self.rnn_inputs(layer)} if isinstance(layer, Rnn) else {}),
                        "activation": layer.activation if layer.has_activation else None,
                        "input": self.producer[layer.label],
                        "parameters": {role: list(p.shape) for role, p in layer.params.items()},
                        "parameter_names": {role: layer.parameter_name(role, (1,) * p.ndim).split("[")[0]
                                            for role, p in layer.params.items()},
                        "settings": {key: getattr(layer, key) for key in _SETTINGS if hasattr(layer, key)}}
                       for layer in self.net.all_layers()],
        }

    def given(self) -> Section:
        steps = []
        for s in range(self.samples):
            for _position, index in positions(self.net.input_shape):
                steps.append(self.step(self.value_name(None, index, s), self.fwd.inputs[(s, *index)], "given",
                                       subject=names.INPUT_MAP))
        last = self.net.layers[-1]
        for s in range(self.samples):
            row = self.targets[s].reshape(last.out_shape)
            for _position, index in positions(last.out_shape):
                steps.append(self.step(self.value_name(last.label, index, s, "target"), row[index], "given",
                                       subject=last.label))
        for layer in self.net.all_layers():
            for role, value in layer.params.items():
                for _, index in positions(value.shape):
                    name = self.parameter(layer, role, index)
                    steps.append(self.step(name, value[index], "given", subject=name))
        steps.append(self.step(names.LEARNING_RATE, self.net.learning_rate, "given", note="learning rate"))
        return Section("given", "The network", tuple(steps),
                       "Inputs, targets, kernels, weights, biases and the learning rate the step starts from.")

    def forward(self, layer: Layer) -> Section:
        if isinstance(layer, layered_seq.SEQUENCE_LAYERS):
            return Section(f"forward_{layer.label}", f"Forward pass: {layer.label} ({layer.kind})",
                           tuple(layered_seq.forward_steps(self, layer)),
                           f"{layer.describe()}. {layered_seq.FORWARD_INTROS[type(layer)]}")
        v = self.fwd.values[layer.label]
        steps = []
        act = ACTIVATIONS[layer.activation]
        for s in range(self.samples):
            for _, index in positions(layer.out_shape):
                latex, text, note = self.net_formula(layer, index, s)
                kind = "net" if layer.has_activation else "out"
                name = self.value_name(layer.label, index, s, kind)
                steps.append(self.step(name, v.net[(s, *index)], "net" if layer.has_activation else "out",
                                       latex, text, subject=layer.label, note=note))
            if layer.has_activation:
                for _, index in positions(layer.out_shape):
                    net_slot = _slot(self.value_name(layer.label, index, s, "net"))
                    sums = [_slot(self.value_name(layer.label, j, s, "net")) for _, j in positions(layer.out_shape)]
                    steps.append(self.step(
                        self.value_name(layer.label, index, s), v.out[(s, *index)], "out",
                        fill(act.latex, net=net_slot, sum_exp=" + ".join(rf"e^{{{n}}}" for n in sums)),
                        fill(act.text, net=net_slot, sum_exp=" + ".join(f"exp({n})" for n in sums)),
                        subject=layer.label))
        return Section(f"forward_{layer.label}", f"Forward pass: {layer.label} ({layer.kind})", tuple(steps),
                       f"{layer.describe()}. {_FORWARD_INTROS[type(layer)]}")

    def net_formula(self, layer: Layer, index: Index, s: int) -> tuple[str, str, str]:
        """(LaTeX, text, note) of the value a layer computes before its activation, at one position."""
        source = self.producer[layer.label]
        if isinstance(layer, Conv):
            pairs, padded = [], 0
            for o_ch in (index[0],):
                for i_ch in range(layer.in_shape[0]):
                    for offset, cell in window_cells(layer, index):
                        if cell is None:
                            padded += 1
                            continue
                        k = self.parameter(layer, "kernel", kernel_index(layer, o_ch, i_ch, offset))
                        pairs.append((k, self.value_name(source, (i_ch, *cell), s)))
            bias = [self.parameter(layer, "bias", (index[0],))] if "bias" in layer.params else []
            note = f"{padded} terms on the zero padding are 0 and left out" if padded else ""
            return (" + ".join([rf"«{k}» \cdot «{x}»" for k, x in pairs] + [f"«{b}»" for b in bias]),
                    " + ".join([f"«{k}» * «{x}»" for k, x in pairs] + [f"«{b}»" for b in bias]), note)
        if isinstance(layer, Pool):
            cells = [self.value_name(source, (index[0], *cell), s) for _, cell in window_cells(layer, index)
                     if cell is not None]
            if len(cells) == 1:  # a 1x1 window passes its cell on
                return _slot(cells[0]), _slot(cells[0]), ""
            if layer.mode == "max":
                return (r"\max(" + ", ".join(map(_slot, cells)) + ")", "max(" + ", ".join(map(_slot, cells)) + ")", "")
            return (rf"\frac{{1}}{{{len(cells)}}}(" + " + ".join(map(_slot, cells)) + ")",  # a phone wraps it
                    "(" + " + ".join(map(_slot, cells)) + f") / {len(cells)}", "")
        if isinstance(layer, Flatten):
            flat = np.unravel_index(index[0], layer.in_shape)
            name = _slot(self.value_name(source, tuple(int(i) for i in flat), s))
            return name, name, ""
        if isinstance(layer, Dense):
            j, at = index[-1], index[:-1]  # on a sequence: (step, unit), the same weights at every step
            pairs = [(self.parameter(layer, "weight", (j, i)), self.value_name(source, (*at, i), s))
                     for i in range(layer.in_shape[-1])]
            bias = [self.parameter(layer, "bias", (j,))] if "bias" in layer.params else []
            return (" + ".join([rf"«{w}» \cdot «{x}»" for w, x in pairs] + [f"«{b}»" for b in bias]),
                    " + ".join([f"«{w}» * «{x}»" for w, x in pairs] + [f"«{b}»" for b in bias]), "")
        if isinstance(layer, Residual):
            skip = _slot(self.value_name(source, index, s))
            block = _slot(self.value_name(layer.inner[-1].label, index, s))
            return f"{skip} + {block}", f"{skip} + {block}", "the block's input (the skip path) plus its output"
        raise TypeError(f"no formula for {layer.kind}")

    def error(self) -> Section:
        last = self.net.layers[-1]
        loss = LOSSES[self.net.loss]
        form = loss.combination(last.activation) or loss
        steps, per_sample = [], []
        outputs = list(positions(last.out_shape))
        for s in range(self.samples):
            terms = []
            outs = [self.value_name(last.label, index, s) for _, index in outputs]
            for k, (_, index) in enumerate(outputs):
                roles = dict(target=_slot(self.value_name(last.label, index, s, "target")),
                             out=_slot(outs[k]), net=_slot(self.value_name(last.label, index, s, "net")),
                             n=str(len(outputs)))
                name = self.value_name(last.label, index, s, "E")
                terms.append(name)
                sums = (" + ".join(rf"e^{{{_slot(o)}}}" for o in outs), " + ".join(f"exp({_slot(o)})" for o in outs))
                latex, text = divided(fill(form.latex, **roles, sum_exp=sums[0]), fill(form.text, **roles, sum_exp=sums[1]),
                                      round(1 / self.net.loss_scale))
                steps.append(self.step(name, self.fwd.error_terms[s, k], "error", latex, text, subject=last.label,
                                       note="divided by the number of steps (step_reduction mean)"
                                       if self.net.loss_scale != 1 else ""))
            total = names.error(sample=self.tag(s))
            per_sample.append(total)
            steps.append(self.step(total, self.fwd.sample_errors[s], "error", " + ".join(map(_slot, terms)),
                                   " + ".join(map(_slot, terms))))
        if self.samples > 1:
            steps.append(self.combine(names.TOTAL, self.fwd.error, "error", per_sample))
        over = "summed over the output values" if self.net.step_reduction is None else (
            f"summed over the output values and the steps ({self.net.step_reduction} over the steps)")
        return Section("error", "The total error", tuple(steps), f"Loss: {self.net.loss.replace('_', ' ')}, {over}.")

    def combine(self, name: str, value: float, kind: str, per_sample: list[str], subject: str = "") -> Step:
        """The batch's value from the samples': their mean (reduction mean) or sum."""
        total = " + ".join(map(_slot, per_sample))
        if self.net.reduction == "sum":
            return self.step(name, value, kind, total, total, subject=subject, note="the sum over the samples")
        return self.step(name, value, kind, rf"\frac{{{total}}}{{{len(per_sample)}}}", f"({total}) / {len(per_sample)}",
                         subject=subject, note="the mean over the samples")

    def backward(self, layer: Layer) -> Section:
        if isinstance(layer, layered_seq.SEQUENCE_LAYERS):
            steps = layered_seq_backward.backward_steps(self, layer)
            intro = layered_seq_truncated.intro(layer) if isinstance(layer, Rnn) and not layer.exact_gradients \
                else layered_seq_backward.BACKWARD_INTROS[type(layer)]
        else:
            steps, intro = backward_steps(self, layer), _BACKWARD_INTROS[type(layer)]
        return Section(f"backward_{layer.label}", f"Backward pass: {layer.label} ({layer.kind})", tuple(steps), intro)

    def update(self) -> Section:
        steps = []
        eta = _slot(names.LEARNING_RATE)
        for layer in self.net.all_layers():
            for role, value in layer.params.items():
                if role == "bias" and not self.net.update_biases:
                    continue
                for _, index in positions(value.shape):
                    name = self.parameter(layer, role, index)
                    steps.append(self.step(
                        names.updated(name), self.rec.new_params[(layer.label, role)][index], "update",
                        rf"«{name}» - {eta} \cdot «{self.gradient_name(name)}»", f"«{name}» - {eta} * «{self.gradient_name(name)}»",
                        subject=name))
        if self.rec.after is not None:
            steps.append(self.step(names.error(after=True), self.rec.after.error, "error",
                                   note="the forward pass again, with the new parameters"))
        return Section("update", "The update", tuple(steps),
                       "Each parameter moves against its gradient, scaled by the learning rate.")


_FORWARD_INTROS = {
    Conv: "The kernel slides over the input: at each position, the sum of kernel weight times the input under it, "
          "plus the bias (net); then the activation (out).",
    Pool: "Each window of the map becomes one value.",
    Flatten: "The map read out channel by channel, row by row, as a vector.",
    Dense: "Each unit adds up its weighted inputs and its bias (net), then applies its activation (out).",
    Residual: "The block's output is added to its input (net); then the activation (out).",
}
_BACKWARD_INTROS = {
    Conv: "A kernel weight touches every output position of its channel: its gradient is the sum over those "
          "positions of the error signal there times the input the weight met.",
    Pool: "The gradient of each window goes back to the cells it came from.",
    Flatten: "The gradient is read back into the map's shape.",
    Dense: "The chain rule, one factor at a time.",
    Residual: "The gradient reaches the block's input along two paths that add up: the skip path and the block.",
}
