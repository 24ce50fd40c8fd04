"""Build the trace of one training step from what the engine recorded.

The values come from `engine.step(..., record=True)`; this module only names them and attaches
each one's formula (from the registry in `functions`). The sections follow the seed deck: the
network, forward pass, error, backward pass layer by layer (the output layer first), the update,
and the forward pass with the new weights.
"""

from __future__ import annotations

import math

import numpy as np

from . import engine
from .errors import DivergenceError
from .functions import (ACTIVATIONS, COMBINED_DELTA_LATEX, COMBINED_DELTA_TEXT, LOSSES,
                        SIGMOID_CE_LATEX, SIGMOID_CE_TEXT)
from .names import Layout, at, layout
from .spec import Network
from .trace import Path, Section, Step, Trace

MAX_PATHS = 64  # a hidden weight lists every path to the outputs up to this many


def explain(net: Network, sample: int | None = None, update_order: str | None = None,
            inputs: np.ndarray | None = None, targets: np.ndarray | None = None,
            optimizer: str | None = None, round_to: int | None = None) -> Trace:
    """Run one training step on the engine and return its trace (all samples, or one 0-based sample).

    optimizer "momentum" or "adam": the update is that optimizer's, shown step by step (explain_optim).
    round_to=K: hand-calculation mode, every computed value rounded to K decimals and carried on.
    """
    if inputs is None or targets is None:
        inputs, targets = net.require_samples()
    if sample is not None:
        inputs, targets = inputs[sample:sample + 1], targets[sample:sample + 1]
    order = update_order or net.update_order
    rec = engine.step(net, inputs, targets, order, record=True, after=True, round_to=round_to)
    update = None
    if optimizer not in (None, "sgd"):
        from .explain_optim import optimizer_step

        update = optimizer_step(net, rec, inputs, targets, optimizer, round_to)
        rec = update.record(rec)
    trace = _Builder(net, rec, inputs, targets).build()
    if update is not None:
        trace = update.rewrite(trace)
    if round_to is not None:
        trace.meta["round_to"] = round_to
    for step in trace:
        if not math.isfinite(step.value):
            raise DivergenceError(f"{step.name} is not a finite number (overflow or NaN in this step); "
                                  "check the inputs, weights and learning_rate")
    return trace


def _fill(template: str, **roles: str) -> str:
    for role, value in roles.items():
        template = template.replace(f"«{role}»", value)
    return template


def _slot(name: str) -> str:
    return f"«{name}»"


class _Builder:
    def __init__(self, net: Network, rec: engine.StepRecord, inputs: np.ndarray, targets: np.ndarray):
        self.net, self.rec, self.inputs, self.targets = net, rec, inputs, targets
        self.names: Layout = layout(net.layers, net.shared_biases)  # type: ignore[arg-type]
        self.samples = inputs.shape[0]
        self.values: dict[str, float] = {}
        self.sequential = rec.update_order == "sequential"

    # -- helpers -------------------------------------------------------------------------------
    def at(self, name: str, s: int) -> str:
        return at(name, s + 1 if self.samples > 1 else None)

    def step(self, name: str, value: float, kind: str, latex: str = "", text: str = "",
             factors: tuple[str, ...] = (), **kw) -> Step:
        self.values[name] = float(value)
        return Step(name, float(value), kind, latex, text, tuple(factors), **kw)

    def product(self, name: str, value: float, kind: str, factors: list[str], **kw) -> Step:
        latex = r" \cdot ".join(_slot(f) for f in factors)
        text = " * ".join(_slot(f) for f in factors)
        return self.step(name, value, kind, latex, text, tuple(factors), **kw)

    def total(self, name: str, value: float, kind: str, terms: list[str], **kw) -> Step:
        latex = text = " + ".join(_slot(t) for t in terms)
        return self.step(name, value, kind, latex, text, tuple(terms), **kw)

    def mean(self, name: str, value: float, kind: str, per_sample: list[str], **kw) -> Step:
        inner_l = " + ".join(_slot(t) for t in per_sample)
        latex = rf"\frac{{1}}{{{self.samples}}} \left({inner_l}\right)"
        text = f"1/{self.samples} * ({inner_l})"
        return self.step(name, value, kind, latex, text, tuple(per_sample), **kw)

    def input_name(self, layer: int, i: int, s: int, plus: bool = False) -> str:
        """Name of input i to weight layer `layer`: an input neuron or the out of the layer below."""
        neuron = self.names.neurons[layer][i]
        if layer == 0:
            return self.at(neuron, s)
        return self.at(f"out_{neuron}" + ("+" if plus else ""), s)

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
                steps.append(self.step(self.at(f"target_{neuron}", s), self.targets[s, k], "given", subject=neuron))
        for l, layer in enumerate(self.names.weights):
            for j, row in enumerate(layer):
                for i, w in enumerate(row):
                    steps.append(self.step(w, self.net.weights[l][j, i], "given", subject=w))
        for l, names in enumerate(self.names.biases):
            for j, b in enumerate(names):
                steps.append(self.step(b, self.net.biases[l][j], "given", subject=b))
        steps.append(self.step("eta", self.net.learning_rate, "given", note="learning rate"))
        return Section("given", "The network", tuple(steps),
                       "Inputs, targets, weights, biases and the learning rate the step starts from.")

    def forward(self, key: str, fwd: engine.Forward, plus: bool) -> Section:
        steps = []
        p = "+" if plus else ""
        for s in range(self.samples):
            for l in range(self.net.depth):
                act = ACTIVATIONS[self.net.activations[l]]
                upper = self.names.neurons[l + 1]
                for j, neuron in enumerate(upper):
                    ws = [w + p for w in self.names.weights[l][j]]
                    ins = [self.input_name(l, i, s, plus) for i in range(len(ws))]
                    bias = self.names.bias_of(l, j) + (p if self.net.update_biases else "")
                    latex = " + ".join([rf"«{w}» \cdot «{x}»" for w, x in zip(ws, ins)] + [rf"«{bias}» \cdot 1"])
                    text = " + ".join([f"«{w}» * «{x}»" for w, x in zip(ws, ins)] + [f"«{bias}» * 1"])
                    steps.append(self.step(self.at(f"net_{neuron}{p}", s), fwd.nets[l][s, j], "net", latex, text, subject=neuron))
                for j, neuron in enumerate(upper):
                    net_name = _slot(self.at(f"net_{neuron}{p}", s))
                    sum_l = " + ".join(rf"e^{{{_slot(self.at(f'net_{u}{p}', s))}}}" for u in upper)
                    sum_t = " + ".join(f"exp({_slot(self.at(f'net_{u}{p}', s))})" for u in upper)
                    steps.append(self.step(
                        self.at(f"out_{neuron}{p}", s), fwd.outs[l + 1][s, j], "out",
                        _fill(act.latex, net=net_name, sum_exp=sum_l), _fill(act.text, net=net_name, sum_exp=sum_t),
                        subject=neuron))
        if plus:
            return Section(key, "Forward pass with the new weights", tuple(steps),
                           "The same inputs fed through the updated network.")
        return Section(key, "Forward pass", tuple(steps),
                       "Each neuron adds up its weighted inputs and its bias (net), then applies its activation (out).")

    def error(self, fwd: engine.Forward, plus: bool) -> Section:
        p = "+" if plus else ""
        loss = LOSSES[self.net.loss]
        sigmoid_ce = self.net.loss == "cross_entropy" and self.net.activations[-1] == "sigmoid"
        latex_t, text_t = (SIGMOID_CE_LATEX, SIGMOID_CE_TEXT) if sigmoid_ce else (loss.latex, loss.text)
        outputs = self.names.neurons[-1]
        steps = []
        per_sample = []
        for s in range(self.samples):
            terms = []
            for k, o in enumerate(outputs):
                roles = dict(target=_slot(self.at(f"target_{o}", s)), out=_slot(self.at(f"out_{o}{p}", s)), n=str(len(outputs)))
                name = self.at(f"E_{o}{p}", s)
                terms.append(name)
                steps.append(self.step(name, fwd.error_terms[s, k], "error", _fill(latex_t, **roles), _fill(text_t, **roles), subject=o))
            name = self.at(f"E_total{p}", s)
            per_sample.append(name)
            steps.append(self.total(name, fwd.sample_errors[s], "error", terms))
        if self.samples > 1:
            steps.append(self.mean(f"E_total{p}", fwd.error, "error", per_sample,
                                   note="the batch error is the mean of the samples' errors"))
        title = "The error after the update" if plus else "The total error"
        return Section("error_after" if plus else "error", title, tuple(steps),
                       f"Loss: {self.net.loss.replace('_', ' ')}, summed over the output neurons.")

    def delta_name(self, layer: int, j: int, s: int) -> str:
        """dE/dnet of neuron j of weight layer `layer`: dE_o1/dnet_o1 at the output (the deck), dE_total/dnet_h1 below."""
        neuron = self.names.neurons[layer + 1][j]
        if layer == self.net.depth - 1:
            return self.at(f"dE_{neuron}/dnet_{neuron}", s)
        return self.at(f"dE_total/dnet_{neuron}", s)

    def backward(self, l: int) -> Section:
        rec, net = self.rec, self.net
        output = l == net.depth - 1
        neurons = self.names.neurons[l + 1]
        steps: list[Step] = []
        has_derivative = rec.derivatives[l] is not None
        for s in range(self.samples):
            for j, neuron in enumerate(neurons):
                out_slot = _slot(self.at(f"out_{neuron}", s))
                net_slot = _slot(self.at(f"net_{neuron}", s))
                dE_dout = self.at(f"dE_total/dout_{neuron}", s)
                dout_dnet = self.at(f"dout_{neuron}/dnet_{neuron}", s)
                delta = self.delta_name(l, j, s)
                if output:
                    steps.extend(self.output_error_signal(l, j, s))
                else:
                    terms = []
                    for k, up in enumerate(self.names.neurons[l + 2]):
                        w = self.names.weights[l + 1][k][j]
                        w_used = w + "+" if self.sequential else w
                        link = self.at(f"dnet_{up}/dout_{neuron}", s)
                        steps.append(self.step(link, rec.backprop_weights[l][k, j], "partial", _slot(w_used), _slot(w_used),
                                               subject=w, note="the updated weight (sequential order)" if self.sequential else ""))
                        term = self.at(f"dE_{up}/dout_{neuron}", s)
                        steps.append(self.product(term, rec.contributions[l][s, k, j], "partial",
                                                  [self.delta_name(l + 1, k, s), link], subject=neuron))
                        terms.append(term)
                    steps.append(self.total(dE_dout, rec.out_gradients[l][s, j], "partial", terms, subject=neuron))
                    act = ACTIVATIONS[net.activations[l]]
                    steps.append(self.step(dout_dnet, rec.derivatives[l][s, j], "partial",
                                           _fill(act.derivative_latex, out=out_slot, net=net_slot),
                                           _fill(act.derivative_text, out=out_slot, net=net_slot), subject=neuron))
                    steps.append(self.product(delta, rec.deltas[l][s, j], "delta", [dE_dout, dout_dnet], subject=neuron))
        # the weights of this layer
        for j, neuron in enumerate(neurons):
            for i, w in enumerate(self.names.weights[l][j]):
                per_sample = []
                for s in range(self.samples):
                    link = self.at(f"dnet_{neuron}/d{w}", s)
                    source = self.input_name(l, i, s)
                    steps.append(self.step(link, rec.forward.outs[l][s, i], "partial", _slot(source), _slot(source), subject=w))
                    if has_derivative:
                        factors = [self.at(f"dE_total/dout_{neuron}", s), self.at(f"dout_{neuron}/dnet_{neuron}", s), link]
                    else:
                        factors = [self.delta_name(l, j, s), link]
                    name = self.at(f"dE_total/d{w}", s)
                    value = rec.grad_weights[l][j, i] if self.samples == 1 else rec.deltas[l][s, j] * rec.forward.outs[l][s, i]
                    if self.samples > 1 and rec.extras.get("sample_grad_weights"):  # hand-calculation mode
                        value = rec.extras["sample_grad_weights"][l][s, j, i]
                    paths = self.paths(l, j, s, link) if not output else ()
                    count = self.path_count(l) if not output else 0
                    steps.append(self.product(name, value, "gradient", factors, subject=w,
                                              paths=paths if count <= MAX_PATHS else (), path_count=count))
                    per_sample.append(name)
                if self.samples > 1:
                    steps.append(self.mean(f"dE_total/d{w}", rec.grad_weights[l][j, i], "gradient", per_sample, subject=w))
        if net.update_biases:
            steps.extend(self.bias_gradients(l))
        which = "output layer" if output else f"hidden layer {l}" if net.depth > 2 else "hidden layer"
        first, last = self.names.weights[l][0][0], self.names.weights[l][-1][-1]
        intro = ("How much does each weight change the total error? The chain rule, one factor at a time."
                 if output else "A hidden neuron reaches the error through every neuron above it: the paths add up.")
        return Section(f"backward_{l + 1}", f"Backward pass: {which} ({first}..{last})", tuple(steps), intro)

    def output_error_signal(self, l: int, j: int, s: int) -> list[Step]:
        net, rec = self.net, self.rec
        o = self.names.neurons[-1][j]
        out_slot, net_slot = _slot(self.at(f"out_{o}", s)), _slot(self.at(f"net_{o}", s))
        target_slot = _slot(self.at(f"target_{o}", s))
        delta = self.delta_name(l, j, s)
        loss = LOSSES[net.loss]
        if loss.combined:
            return [self.step(delta, rec.deltas[l][s, j], "delta",
                              _fill(COMBINED_DELTA_LATEX, out=out_slot, target=target_slot),
                              _fill(COMBINED_DELTA_TEXT, out=out_slot, target=target_slot), subject=o,
                              note=f"cross-entropy and {net.activations[-1]} together: the error signal is out - target")]
        outputs = self.names.neurons[-1]
        dE_dout = self.at(f"dE_total/dout_{o}", s)
        roles = dict(target=target_slot, out=out_slot, n=str(len(outputs)))
        steps = [self.step(dE_dout, rec.loss_gradient[s, j], "partial", _fill(loss.gradient_latex, **roles),
                           _fill(loss.gradient_text, **roles), subject=o)]
        act = ACTIVATIONS[net.activations[-1]]
        if rec.derivatives[l] is None:  # softmax: dE/dnet_j = out_j (g_j - sum_k g_k out_k)
            g = [self.at(f"dE_total/dout_{u}", s) for u in outputs]
            outs = [self.at(f"out_{u}", s) for u in outputs]
            inner_l = " + ".join(rf"«{gk}» «{ok}»" for gk, ok in zip(g, outs))
            inner_t = " + ".join(f"«{gk}» * «{ok}»" for gk, ok in zip(g, outs))
            # Softmax couples the outputs, so dE_total/dout of every output feeds each error signal;
            # they are computed after all dE_total/dout, hence emitted by the last output.
            return steps + [self.step(delta, rec.deltas[l][s, j], "delta",
                                      rf"{out_slot} \left(«{dE_dout}» - ({inner_l})\right)",
                                      f"{out_slot} * («{dE_dout}» - ({inner_t}))", subject=o,
                                      note="softmax couples the outputs: every output's error reaches each net")]
        dout_dnet = self.at(f"dout_{o}/dnet_{o}", s)
        steps.append(self.step(dout_dnet, rec.derivatives[l][s, j], "partial",
                               _fill(act.derivative_latex, out=out_slot, net=net_slot),
                               _fill(act.derivative_text, out=out_slot, net=net_slot), subject=o))
        steps.append(self.product(delta, rec.deltas[l][s, j], "delta", [dE_dout, dout_dnet], subject=o))
        return steps

    def bias_gradients(self, l: int) -> list[Step]:
        rec = self.rec
        steps = []
        neurons = self.names.neurons[l + 1]
        for b_index, b in enumerate(self.names.biases[l]):
            per_sample = []
            members = range(len(neurons)) if len(self.names.biases[l]) == 1 else [b_index]
            for s in range(self.samples):
                terms = [self.delta_name(l, j, s) for j in members]
                name = self.at(f"dE_total/d{b}", s)
                value = rec.grad_biases[l][b_index] if self.samples == 1 else sum(rec.deltas[l][s, j] for j in members)
                latex = " + ".join(rf"«{t}» \cdot 1" for t in terms)
                text = " + ".join(f"«{t}» * 1" for t in terms)
                steps.append(self.step(name, value, "gradient", latex, text, tuple(terms), subject=b))
                per_sample.append(name)
            if self.samples > 1:
                steps.append(self.mean(f"dE_total/d{b}", rec.grad_biases[l][b_index], "gradient", per_sample, subject=b))
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
        start = [self.at(f"dout_{neuron}/dnet_{neuron}", s)]
        found: list[tuple[tuple[str, ...], float]] = []

        def walk(layer: int, lower: str, suffix: list[str]) -> None:
            # lower: neuron of layer `layer` (weight layer index); go up to weight layer layer+1
            for k, up in enumerate(self.names.neurons[layer + 2]):
                link_up = self.at(f"dnet_{up}/dout_{lower}", s)
                if layer + 1 == self.net.depth - 1:
                    factors = [self.delta_name(layer + 1, k, s), link_up] + suffix
                    found.append((tuple(factors), math.prod(self.values[f] for f in factors)))
                else:
                    walk(layer + 1, up, [self.at(f"dout_{up}/dnet_{up}", s), link_up] + suffix)

        walk(l, neuron, start)
        cache[(l, j, s)] = found
        return found

    def update(self, layers: list[int], key: str) -> Section:
        steps = []
        for l in layers:
            for j, row in enumerate(self.names.weights[l]):
                for i, w in enumerate(row):
                    grad = f"dE_total/d{w}"
                    steps.append(self.step(f"{w}+", self.rec.new_weights[l][j, i], "update",
                                           rf"«{w}» - «eta» \cdot «{grad}»", f"«{w}» - «eta» * «{grad}»",
                                           (w, "eta", grad), subject=w))
            if self.net.update_biases:
                for b_index, b in enumerate(self.names.biases[l]):
                    grad = f"dE_total/d{b}"
                    steps.append(self.step(f"{b}+", self.rec.new_biases[l][b_index], "update",
                                           rf"«{b}» - «eta» \cdot «{grad}»", f"«{b}» - «eta» * «{grad}»",
                                           (b, "eta", grad), subject=b))
        if len(layers) == 1 and self.net.depth > 1:
            title = f"Update: layer {layers[0] + 1} (before the layer below computes its deltas)"
        else:
            title = "The new weights"
        return Section(key, title, tuple(steps), "Each weight moves against its gradient, scaled by the learning rate.")
