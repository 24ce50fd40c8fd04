"""Build the trace of one training step from what the engine recorded.

The values come from `engine.step(..., record=True)`; this module only names them and attaches
each one's formula (from the registry in `functions`). The sections follow the seed deck: the
network, forward pass, error, backward pass layer by layer (the output layer first), the update,
and the forward pass with the new weights.
"""

from __future__ import annotations

import math
from typing import TypeVar

import numpy as np

from stepgrad.core import engine, names
from stepgrad.core.errors import DivergenceError, StepgradError
from stepgrad.core.functions import ACTIVATIONS, LOSSES, fill
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.names import Layout, layout
from stepgrad.core.spec import Network
from stepgrad.core.torch_record import dtype_of
from stepgrad.core.trace import Path, Section, Step, Trace
from stepgrad.tracing.held import held_sentences, held_step
from stepgrad.tracing.torch_names import dressed

T = TypeVar("T")
MAX_PATHS = 64  # a hidden weight lists every path to the outputs up to this many


def explain(net: Network | LayerNetwork, sample: int | None = None, update_order: str | None = None,
            inputs: np.ndarray | None = None, targets: np.ndarray | None = None,
            optimizer: str | None = None, round_to: int | None = None, dtype: str | None = None) -> Trace:
    """Run one training step on the engine and return its trace (all samples, or one 0-based sample).

    optimizer "momentum" or "adam": the update is that optimizer's, shown step by step (explain_optim).
    round_to=K: hand-calculation mode, every computed value rounded to K decimals and carried on.
    dtype="float32": the step computed in float32 (PyTorch's default), every quantity a float32 number (None: the
    spec's `[torch]` dtype, else float64). A spec that records its PyTorch model names each weight as torch does.
    A layer-table network (conv, pooling, residual) is explained by tracing/layered.py (SGD, one order).
    """
    if dtype is None:
        dtype = "float64" if isinstance(net, LayerNetwork) or round_to is not None else dtype_of(net)
    if dtype not in DTYPES:
        raise StepgradError(f"expected one of {', '.join(DTYPES)}, got {dtype!r}", where="--dtype")
    if dtype != "float64" and round_to is not None:
        raise StepgradError("hand-calculation mode rounds to decimals in float64: leave out --dtype or --round",
                            where="--dtype")
    if isinstance(net, LayerNetwork):
        from stepgrad.tracing.layered import explain_layers
        from stepgrad.tracing.torch_layer_names import layer_dressed

        if inputs is not None or targets is not None or optimizer not in (None, "sgd") or round_to is not None or (
                update_order == "sequential") or dtype != "float64":
            raise StepgradError("a layer-table network is explained with its own samples, plain SGD, the "
                                "synchronous order and no rounding in float64 for now")
        return layer_dressed(explain_layers(net, sample), net)  # PyTorch's names of a network read from torch
    assert isinstance(net, Network)
    if inputs is None or targets is None:
        inputs, targets = net.require_samples()
    if sample is not None:
        inputs, targets = inputs[sample:sample + 1], targets[sample:sample + 1]
    if dtype != "float64":
        net, inputs, targets = _in_dtype(net, inputs, targets, np.dtype(dtype))
    order = update_order or net.update_order
    rec = engine.step(net, inputs, targets, order, record=True, after=True, round_to=round_to)
    update = None
    if optimizer not in (None, "sgd"):
        from stepgrad.tracing.optimizer import optimizer_step

        update = optimizer_step(net, rec, inputs, targets, optimizer, round_to, dtype)
        rec = update.record(rec)
    trace = _Builder(net, rec, inputs, targets).build()
    if update is not None:
        trace = update.rewrite(trace)
    if round_to is not None:
        trace.meta["round_to"] = round_to
    if dtype != "float64":
        trace = _said(trace, dtype)
    trace = dressed(trace, net)  # PyTorch's names of a spec imported from torch (tracing/torch_names.py)
    for step in trace:
        if not math.isfinite(step.value):
            raise DivergenceError(f"{step.name} is not a finite number (overflow or NaN in this step); "
                                  "check the inputs, weights and learning_rate")
    return trace


DTYPES = ("float64", "float32")


def _in_dtype(net: Network, inputs: np.ndarray, targets: np.ndarray,
              dtype: np.dtype) -> tuple[Network, np.ndarray, np.ndarray]:
    """The network and samples as `dtype` arrays: numpy then computes every quantity in that dtype."""
    copy = net.copy()
    copy.weights = [w.astype(dtype) for w in net.weights]
    copy.biases = [b.astype(dtype) for b in net.biases]
    return copy, inputs.astype(dtype), targets.astype(dtype)


def _said(trace: Trace, dtype: str) -> Trace:
    """The trace saying, in its given section and meta, that it was computed in `dtype`."""
    line = (f"Computed in {dtype}, as PyTorch computes a {dtype} model: every quantity is a {dtype} number "
            "(sums of many terms may differ from PyTorch's in the last bits, its order of adding being its own).")
    sections = tuple(Section(s.key, s.title, s.steps, f"{s.intro} {line}".strip()) if s.key == "given" else s
                     for s in trace.sections)
    return Trace(sections, dict(trace.meta, dtype=dtype), trace.context)


def _known(array: T | None) -> T:
    """An array the engine records for this layer (recorded steps always have it)."""
    assert array is not None
    return array


def _slot(name: str) -> str:
    return f"«{name}»"


def _sum_exp(quantities: list[str]) -> tuple[str, str]:
    """The «sum_exp» role (LaTeX, text): e^{q1} + e^{q2} + ..., the softmax's denominator."""
    return (" + ".join(rf"e^{{{_slot(q)}}}" for q in quantities), " + ".join(f"exp({_slot(q)})" for q in quantities))


class _Builder:
    def __init__(self, net: Network, rec: engine.StepRecord, inputs: np.ndarray, targets: np.ndarray):
        self.net, self.rec, self.inputs, self.targets = net, rec, inputs, targets
        self.names: Layout = layout(net.layers, net.shared_biases)  # type: ignore[arg-type]
        self.samples = inputs.shape[0]
        self.values: dict[str, float] = {}
        self.sequential = rec.update_order == "sequential"

    # -- helpers -------------------------------------------------------------------------------
    def sample(self, s: int) -> int | None:
        """The 1-based sample number a name carries, or None with a single sample."""
        return s + 1 if self.samples > 1 else None

    def at(self, name: str, s: int) -> str:
        return names.at(name, self.sample(s))

    def partial(self, top: str, bottom: str, s: int) -> str:
        return names.partial(top, bottom, self.sample(s))

    def step(self, name: str, value: float, kind: str, latex: str = "", text: str = "",
             factors: tuple[str, ...] = (), **kw) -> Step:
        self.values[name] = float(value)
        return Step(name, float(value), kind, latex, text, tuple(factors), **kw)

    def product(self, name: str, value: float, kind: str, factors: list[str], **kw) -> Step:
        latex = r" \cdot ".join(_slot(f) for f in factors)
        text = " * ".join(_slot(f) for f in factors)
        return self.step(name, value, kind, latex, text, tuple(factors), **kw)

    def sum_of_products(self, name: str, value: float, kind: str, products: list[list[str]], **kw) -> Step:
        latex = " + ".join(r" \cdot ".join(_slot(f) for f in p) for p in products)
        text = " + ".join(" * ".join(_slot(f) for f in p) for p in products)
        return self.step(name, value, kind, latex, text, tuple(f for p in products for f in p), **kw)

    def total(self, name: str, value: float, kind: str, terms: list[str], **kw) -> Step:
        latex = text = " + ".join(_slot(t) for t in terms)
        return self.step(name, value, kind, latex, text, tuple(terms), **kw)

    def mean(self, name: str, value: float, kind: str, per_sample: list[str], **kw) -> Step:
        if self.net.reduction == "sum":  # PyTorch's reduction="sum": the samples add up
            kw["note"] = kw.get("note", "").replace("the mean of", "the sum of")
            return self.total(name, value, kind, per_sample, **kw)
        inner_l = " + ".join(_slot(t) for t in per_sample)
        latex = rf"\frac{{1}}{{{self.samples}}} \left({inner_l}\right)"
        text = f"1/{self.samples} * ({inner_l})"
        return self.step(name, value, kind, latex, text, tuple(per_sample), **kw)

    def input_name(self, layer: int, i: int, s: int, plus: bool = False) -> str:
        """Name of input i to weight layer `layer`: an input neuron or the out of the layer below."""
        neuron = self.names.neurons[layer][i]
        if layer == 0:
            return self.at(neuron, s)
        return names.out(neuron, self.sample(s), plus)

    # -- sections ------------------------------------------------------------------------------
    def build(self) -> Trace:
        rec, n = self.rec, self.net
        sections = [self.given(), self.forward("forward", rec.forward, plus=False), self.error(rec.forward, False)]
        for l in range(n.depth - 1, -1, -1):
            sections.append(self.backward(l))
            if self.sequential:
                sections.append(self.update([l], key=f"update_{l + 1}"))
        if not self.sequential:
            sections.append(self.update(list(range(n.depth)), key="update"))
        assert rec.after is not None
        sections.append(self.forward("after", rec.after, plus=True))
        sections.append(self.error(rec.after, True))
        return Trace(tuple(sections), self.meta())

    def meta(self) -> dict:
        n = self.net
        return {
            "name": n.name, "layers": list(n.layers), "activations": list(n.activations), "loss": n.loss,
            "learning_rate": n.learning_rate, "update_order": self.rec.update_order,
            "update_biases": n.update_biases, "samples": self.samples,
            **({"trains": n.trains()} if n.partly_frozen else {}),
            "batch_error": "mean over samples of each sample's E_total",
            "dtype": "float64",
            "neurons": [list(x) for x in self.names.neurons],
            "weights": [[list(r) for r in layer] for layer in self.names.weights],
            "biases": [list(b) for b in self.names.biases],
        }

    def given(self) -> Section:
        steps = []
        for s in range(self.samples):
            for i, neuron in enumerate(self.names.neurons[0]):
                steps.append(self.step(self.at(neuron, s), self.inputs[s, i], "given", subject=neuron))
            for k, neuron in enumerate(self.names.neurons[-1]):
                steps.append(self.step(names.target(neuron, self.sample(s)), self.targets[s, k], "given", subject=neuron))
        for l, layer in enumerate(self.names.weights):
            for j, row in enumerate(layer):
                for i, w in enumerate(row):
                    steps.append(self.step(w, self.net.weights[l][j, i], "given", subject=w))
        for l, bias_names in enumerate(self.names.biases):
            for j, b in enumerate(bias_names):
                steps.append(self.step(b, self.net.biases[l][j], "given", subject=b))
        steps.append(self.step(names.LEARNING_RATE, self.net.learning_rate, "given", note="learning rate"))
        return Section("given", "The network", tuple(steps),
                       "Inputs, targets, weights, biases and the learning rate the step starts from.")

    def forward(self, key: str, fwd: engine.Forward, plus: bool) -> Section:
        steps = []
        for s in range(self.samples):
            n = self.sample(s)
            for l in range(self.net.depth):
                act = ACTIVATIONS[self.net.activations[l]]
                upper = self.names.neurons[l + 1]
                for j, neuron in enumerate(upper):
                    ws = [names.updated(w) if plus else w for w in self.names.weights[l][j]]
                    ins = [self.input_name(l, i, s, plus) for i in range(len(ws))]
                    bias = self.names.bias_of(l, j)
                    bias = names.updated(bias) if plus and self.net.update_biases else bias
                    latex = " + ".join([rf"«{w}» \cdot «{x}»" for w, x in zip(ws, ins)] + [rf"«{bias}» \cdot 1"])
                    text = " + ".join([f"«{w}» * «{x}»" for w, x in zip(ws, ins)] + [f"«{bias}» * 1"])
                    steps.append(self.step(names.net(neuron, n, plus), fwd.nets[l][s, j], "net", latex, text, subject=neuron))
                for j, neuron in enumerate(upper):
                    net_name = _slot(names.net(neuron, n, plus))
                    sum_l = " + ".join(rf"e^{{{_slot(names.net(u, n, plus))}}}" for u in upper)
                    sum_t = " + ".join(f"exp({_slot(names.net(u, n, plus))})" for u in upper)
                    steps.append(self.step(
                        names.out(neuron, n, plus), fwd.outs[l + 1][s, j], "out",
                        fill(act.latex, net=net_name, sum_exp=sum_l), fill(act.text, net=net_name, sum_exp=sum_t),
                        subject=neuron))
        if plus:
            return Section(key, "Forward pass with the new weights", tuple(steps),
                           "The same inputs fed through the updated network.")
        return Section(key, "Forward pass", tuple(steps),
                       "Each neuron adds up its weighted inputs and its bias (net), then applies its activation (out).")

    def error(self, fwd: engine.Forward, plus: bool) -> Section:
        loss = LOSSES[self.net.loss]
        form = loss.combination(self.net.activations[-1]) or loss
        latex_t, text_t = form.latex, form.text
        outputs = self.names.neurons[-1]
        steps = []
        per_sample = []
        for s in range(self.samples):
            terms = []
            for k, o in enumerate(outputs):
                roles = dict(target=_slot(names.target(o, self.sample(s))), out=_slot(names.out(o, self.sample(s), plus)),
                             n=str(len(outputs)))
                sums = _sum_exp([names.out(u, self.sample(s), plus) for u in outputs])
                name = names.error(o, self.sample(s), plus)
                terms.append(name)
                steps.append(self.step(name, fwd.error_terms[s, k], "error", fill(latex_t, **roles, sum_exp=sums[0]),
                                       fill(text_t, **roles, sum_exp=sums[1]), subject=o))
            name = names.error(None, self.sample(s), plus)
            per_sample.append(name)
            steps.append(self.total(name, fwd.sample_errors[s], "error", terms))
        if self.samples > 1:
            steps.append(self.mean(names.error(after=plus), fwd.error, "error", per_sample,
                                   note="the batch error is the mean of the samples' errors"))
        title = "The error after the update" if plus else "The total error"
        return Section("error_after" if plus else "error", title, tuple(steps),
                       f"Loss: {self.net.loss.replace('_', ' ')}, summed over the output neurons.")

    @property
    def coupled(self) -> bool:
        """Whether the outputs are coupled: with an activation that is not elementwise (softmax) every
        E_ok depends on every net_o, so an output's error signal is dE_total/dnet_o1, never dE_o1/dnet_o1.
        (Each loss is a sum of per-output terms E_ok of out_ok alone, so only the activation couples.)"""
        combined = LOSSES[self.net.loss].combination(self.net.activations[-1])
        return ACTIVATIONS[self.net.activations[-1]].derivative is None or bool(combined and combined.coupled)

    def delta_name(self, layer: int, j: int, s: int) -> str:
        """dE/dnet of neuron j of weight layer `layer`: dE_o1/dnet_o1 at uncoupled outputs (the deck), else dE_total/dnet."""
        neuron = self.names.neurons[layer + 1][j]
        if layer == self.net.depth - 1 and not self.coupled:
            return self.partial(names.error(neuron), names.net(neuron), s)
        return self.partial(names.TOTAL, names.net(neuron), s)

    def backward(self, l: int) -> Section:
        rec, net = self.rec, self.net
        output = l == net.depth - 1
        neurons = self.names.neurons[l + 1]
        steps: list[Step] = []
        has_derivative = rec.derivatives[l] is not None
        for s in range(self.samples):
            if output:
                steps.extend(self.output_error_signals(l, s))
                continue
            for j, neuron in enumerate(neurons):
                out_slot = _slot(names.out(neuron, self.sample(s)))
                net_slot = _slot(names.net(neuron, self.sample(s)))
                dE_dout = self.partial(names.TOTAL, names.out(neuron), s)
                dout_dnet = self.partial(names.out(neuron), names.net(neuron), s)
                delta = self.delta_name(l, j, s)
                steps.extend(self.hidden_error(l, j, s))
                act = ACTIVATIONS[net.activations[l]]
                steps.append(self.step(dout_dnet, _known(rec.derivatives[l])[s, j], "partial",
                                       fill(act.derivative_latex, out=out_slot, net=net_slot),
                                       fill(act.derivative_text, out=out_slot, net=net_slot), subject=neuron))
                steps.append(self.product(delta, rec.deltas[l][s, j], "delta", [dE_dout, dout_dnet], subject=neuron))
        # the weights of this layer
        for j, neuron in enumerate(neurons):
            for i, w in enumerate(self.names.weights[l][j]):
                per_sample = []
                for s in range(self.samples):
                    link = self.partial(names.net(neuron), w, s)
                    source = self.input_name(l, i, s)
                    steps.append(self.step(link, rec.forward.outs[l][s, i], "partial", _slot(source), _slot(source), subject=w))
                    if has_derivative:
                        factors = [self.partial(names.TOTAL, names.out(neuron), s),
                                   self.partial(names.out(neuron), names.net(neuron), s), link]
                    else:
                        factors = [self.delta_name(l, j, s), link]
                    name = names.gradient(w, self.sample(s))
                    value = rec.grad_weights[l][j, i] if self.samples == 1 else rec.deltas[l][s, j] * rec.forward.outs[l][s, i]
                    if self.samples > 1 and rec.sample_grad_weights:  # hand-calculation mode
                        value = _known(_known(rec.sample_grad_weights)[l])[s, j, i]
                    paths = self.paths(l, j, s, link) if not output else ()
                    count = self.path_count(l) if not output else 0
                    steps.append(self.product(name, value, "gradient", factors, subject=w,
                                              paths=paths if count <= MAX_PATHS else (), path_count=count))
                    per_sample.append(name)
                if self.samples > 1:
                    steps.append(self.mean(names.gradient(w), rec.grad_weights[l][j, i], "gradient", per_sample, subject=w))
        if net.update_biases:
            steps.extend(self.bias_gradients(l))
        which = "output layer" if output else f"hidden layer {l + 1}" if net.depth > 2 else "hidden layer"
        first, last = self.names.weights[l][0][0], self.names.weights[l][-1][-1]
        intro = ("How much does each weight change the total error? The chain rule, one factor at a time."
                 if output else "A hidden neuron reaches the error through every neuron above it: the paths add up.")
        return Section(f"backward_{l + 1}", f"Backward pass: {which} ({first}..{last})", tuple(steps), intro)

    def hidden_error(self, l: int, j: int, s: int) -> list[Step]:
        """dE_total/dout of hidden neuron j of weight layer l, through every neuron above it.

        Above it are uncoupled outputs: each share is dE_o1/dout_h1 (E_o1 reaches out_h1 only through
        net_o1; the deck's names), then their sum. Otherwise (hidden neurons above, or softmax outputs,
        where no E_ok depends on out_h1 through one net alone) a share is only a term of the chain
        rule, not the derivative of anything: dE_total/dout_h1 is written as the sum of the products.
        """
        rec = self.rec
        neuron = self.names.neurons[l + 1][j]
        dE_dout = self.partial(names.TOTAL, names.out(neuron), s)
        steps: list[Step] = []
        products, terms = [], []
        per_output = l + 1 == self.net.depth - 1 and not self.coupled
        for k, up in enumerate(self.names.neurons[l + 2]):
            w = self.names.weights[l + 1][k][j]
            w_used = names.updated(w) if self.sequential else w
            link = self.partial(names.net(up), names.out(neuron), s)
            steps.append(self.step(link, _known(rec.backprop_weights[l])[k, j], "partial", _slot(w_used), _slot(w_used),
                                   subject=w, note="the updated weight (sequential order)" if self.sequential else ""))
            products.append([self.delta_name(l + 1, k, s), link])
            if per_output:
                terms.append(self.partial(names.error(up), names.out(neuron), s))
                steps.append(self.product(terms[-1], _known(rec.contributions[l])[s, k, j], "partial", products[-1],
                                          subject=neuron))
        if per_output:
            steps.append(self.total(dE_dout, _known(rec.out_gradients[l])[s, j], "partial", terms, subject=neuron))
        else:
            steps.append(self.sum_of_products(dE_dout, _known(rec.out_gradients[l])[s, j], "partial", products,
                                              subject=neuron))
        return steps

    def output_error_signals(self, l: int, s: int) -> list[Step]:
        """Each output's error signal dE/dnet for sample s, every operand defined before it is used.

        Uncoupled outputs: dE_total/dout_o1, dout_o1/dnet_o1, then dE_o1/dnet_o1 (the deck). Softmax with
        a loss of out: every dE_total/dout_o first, since each dE_total/dnet_o needs all of them.
        """
        net, rec = self.net, self.rec
        outputs = self.names.neurons[-1]
        loss = LOSSES[net.loss]
        act = ACTIVATIONS[net.activations[-1]]
        combined = loss.combination(act.name)
        n = self.sample(s)
        first: list[Step] = []
        then: list[Step] = []
        for j, o in enumerate(outputs):
            out_slot, net_slot, target_slot = _slot(names.out(o, n)), _slot(names.net(o, n)), _slot(names.target(o, n))
            delta = self.delta_name(l, j, s)
            if combined is not None:
                sums = _sum_exp([names.out(u, n) for u in outputs])
                roles = dict(out=out_slot, target=target_slot, n=str(len(outputs)))
                note = (f"cross-entropy and {net.activations[-1]} together: the error signal is out - target"
                        if combined.delta is None else combined.delta_note)
                then.append(self.step(delta, rec.deltas[l][s, j], "delta",
                                      fill(combined.delta_latex, **roles, sum_exp=sums[0]),
                                      fill(combined.delta_text, **roles, sum_exp=sums[1]), subject=o, note=note))
                continue
            dE_dout = self.partial(names.TOTAL, names.out(o), s)
            roles = dict(target=target_slot, out=out_slot, n=str(len(outputs)))
            first.append(self.step(dE_dout, _known(rec.loss_gradient)[s, j], "partial", fill(loss.gradient_latex, **roles),
                                   fill(loss.gradient_text, **roles), subject=o))
            if self.coupled:  # softmax: dE_total/dnet_j = out_j (g_j - sum_k g_k out_k)
                g = [self.partial(names.TOTAL, names.out(u), s) for u in outputs]
                outs = [names.out(u, n) for u in outputs]
                inner_l = " + ".join(rf"«{gk}» «{ok}»" for gk, ok in zip(g, outs))
                inner_t = " + ".join(f"«{gk}» * «{ok}»" for gk, ok in zip(g, outs))
                then.append(self.step(delta, rec.deltas[l][s, j], "delta",
                                      rf"{out_slot} \left(«{dE_dout}» - ({inner_l})\right)",
                                      f"{out_slot} * («{dE_dout}» - ({inner_t}))", subject=o,
                                      note="softmax couples the outputs: every output's error reaches each net"))
                continue
            dout_dnet = self.partial(names.out(o), names.net(o), s)
            first.append(self.step(dout_dnet, _known(rec.derivatives[l])[s, j], "partial",
                                   fill(act.derivative_latex, out=out_slot, net=net_slot),
                                   fill(act.derivative_text, out=out_slot, net=net_slot), subject=o))
            first.append(self.product(delta, rec.deltas[l][s, j], "delta", [dE_dout, dout_dnet], subject=o))
        return first + then

    def bias_gradients(self, l: int) -> list[Step]:
        rec = self.rec
        steps = []
        neurons = self.names.neurons[l + 1]
        for b_index, b in enumerate(self.names.biases[l]):
            per_sample = []
            members = range(len(neurons)) if len(self.names.biases[l]) == 1 else [b_index]
            for s in range(self.samples):
                terms = [self.delta_name(l, j, s) for j in members]
                name = names.gradient(b, self.sample(s))
                value = rec.grad_biases[l][b_index] if self.samples == 1 else float(  # rounded in hand mode too
                    engine.rounder(rec.round_to)(np.float64(sum(rec.deltas[l][s, j] for j in members))))
                latex = " + ".join(rf"«{t}» \cdot 1" for t in terms)
                text = " + ".join(f"«{t}» * 1" for t in terms)
                steps.append(self.step(name, value, "gradient", latex, text, tuple(terms), subject=b))
                per_sample.append(name)
            if self.samples > 1:
                steps.append(self.mean(names.gradient(b), rec.grad_biases[l][b_index], "gradient", per_sample, subject=b))
        return steps

    def path_count(self, l: int) -> int:
        return math.prod(len(x) for x in self.names.neurons[l + 2:])

    def paths(self, l: int, j: int, s: int, link: str) -> tuple[Path, ...]:
        """Every path from neuron j of weight layer l to an output, as its chain of factors."""
        if self.path_count(l) > MAX_PATHS:
            return ()
        # Every path ends with `link`; the rest depends only on the neuron, so it is walked once per
        # neuron and sample. math.prod multiplies left to right: prefix product * link is the same number.
        link_value = self.values[link]
        return tuple(Path(prefix + (link,), partial * link_value) for prefix, partial in self._paths_above(l, j, s))

    def _paths_above(self, l: int, j: int, s: int) -> list[tuple[tuple[str, ...], float]]:
        cache = self.__dict__.setdefault("_path_cache", {})
        if (l, j, s) in cache:
            return cache[(l, j, s)]
        neuron = self.names.neurons[l + 1][j]
        start = [self.partial(names.out(neuron), names.net(neuron), s)]
        found: list[tuple[tuple[str, ...], float]] = []

        def walk(layer: int, lower: str, suffix: list[str]) -> None:
            # lower: neuron of layer `layer` (weight layer index); go up to weight layer layer+1
            for k, up in enumerate(self.names.neurons[layer + 2]):
                link_up = self.partial(names.net(up), names.out(lower), s)
                if layer + 1 == self.net.depth - 1:
                    factors = [self.delta_name(layer + 1, k, s), link_up] + suffix
                    found.append((tuple(factors), math.prod(self.values[f] for f in factors)))
                else:
                    walk(layer + 1, up, [self.partial(names.out(up), names.net(up), s), link_up] + suffix)

        walk(l, neuron, start)
        cache[(l, j, s)] = found
        return found

    def update(self, layers: list[int], key: str) -> Section:
        steps = []
        eta = names.LEARNING_RATE
        trains = self.net.trains()
        for l in layers:
            for j, row in enumerate(self.names.weights[l]):
                for i, w in enumerate(row):
                    if not trains[l]:
                        steps.append(held_step(self.step, w, self.rec.new_weights[l][j, i]))
                        continue
                    grad = names.gradient(w)
                    steps.append(self.step(names.updated(w), self.rec.new_weights[l][j, i], "update",
                                           rf"«{w}» - «{eta}» \cdot «{grad}»", f"«{w}» - «{eta}» * «{grad}»",
                                           (w, eta, grad), subject=w))
            if self.net.update_biases:
                for b_index, b in enumerate(self.names.biases[l]):
                    if not trains[self.net.depth + l]:
                        steps.append(held_step(self.step, b, self.rec.new_biases[l][b_index]))
                        continue
                    grad = names.gradient(b)
                    steps.append(self.step(names.updated(b), self.rec.new_biases[l][b_index], "update",
                                           rf"«{b}» - «{eta}» \cdot «{grad}»", f"«{b}» - «{eta}» * «{grad}»",
                                           (b, eta, grad), subject=b))
        if len(layers) == 1 and self.net.depth > 1:
            title = f"Update: layer {layers[0] + 1} (before the layer below computes its deltas)"
        else:
            title = "The new weights"
        intro = " ".join(["Each weight moves against its gradient, scaled by the learning rate.",
                          *held_sentences(self.net, layers)])
        return Section(key, title, tuple(steps), intro)
