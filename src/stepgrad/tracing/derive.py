"""How each local derivative is obtained, in the deck's style (`explain --derive`).

    >>> trace = derive(stepgrad.explain(stepgrad.builtin()))
    >>> [d.text for d in trace.step("dnet_o1/dw5").derivation]
    ['1 * «out_h1» * «w5»^(1-1) + 0 + 0']

The seed deck does not only state dE_total/dout_o1 = -(target_o1 - out_o1): it derives it
(2 * 1/2 (target_o1 - out_o1)^(2-1) * -1 + 0), and likewise dnet_o1/dw5 by the power rule and the
sigmoid's derivative from its definition. Here every such line comes from a registry entry (the
activation's or the loss's `derivation`) or, for net = sum of weight * input, from the net formula
itself; nothing is written per network. Each line is a template like a step's formula, so it shows
in symbols or with numbers, and evaluates to the step's value (the tests check that).
"""

from __future__ import annotations

from dataclasses import replace

from stepgrad.core import names
from stepgrad.core.functions import ACTIVATIONS, LOSSES, fill
from stepgrad.core.trace import Derivation, Step, Trace

SUM_RULE = "the other terms give 0"


def derive(trace: Trace) -> Trace:
    """The trace with a `derivation` on every local derivative it can derive."""
    index = _Index(trace)
    sections = []
    for sec in trace.sections:
        steps = tuple(_with(s, index.lines(s)) for s in sec.steps)
        sections.append(replace(sec, steps=steps))
    return Trace(tuple(sections), dict(trace.meta, derive=True), trace.context)


def once(trace: Trace) -> Trace:
    """The trace with each rule derived the first time it is used, in the order shown: a later
    activation derivative of the same activation (or loss gradient, or combined error signal) says
    "as for o1" on its formula, and a later power-rule line of a net is left out (its formula,
    out_h2 or w6, says it). `explain --all` keeps every derivation."""
    index = _Index(trace)
    first: dict[tuple[str, ...], str] = {}
    sections = []
    for sec in trace.sections:
        steps = []
        for s in sec.steps:
            key = index.rule_key(s) if s.derivation else None
            if key is not None and key in first:
                if key[0] == "net":
                    s = replace(s, derivation=())
                else:
                    s = replace(s, derivation=(Derivation(f"as for {first[key]}", s.latex, s.text),))
            elif key is not None:
                first[key] = index.reference(s)
            steps.append(s)
        sections.append(replace(sec, steps=tuple(steps)))
    return Trace(tuple(sections), trace.meta, trace.context)


def _with(step: Step, lines: tuple[Derivation, ...]) -> Step:
    return replace(step, derivation=lines) if lines else step


class _Index:
    """What a derivation needs to know about the trace: which layer a neuron is in, net formulas."""

    def __init__(self, trace: Trace) -> None:
        meta = trace.meta
        self.trace = trace
        self.layer_of = {n: l for l, layer in enumerate(meta["neurons"]) for n in layer}
        self.activations = meta["activations"]
        self.outputs = meta["neurons"][-1]
        self.loss = LOSSES[meta["loss"]]
        self.by_name = {s.name: s for s in trace}
        combination = self.loss.combination(self.activations[-1])
        self.combined = combination.derivation if combination is not None else ()

    def lines(self, step: Step) -> tuple[Derivation, ...]:
        if step.kind not in ("partial", "delta") or not step.text or not names.is_name(step.name):
            return ()
        name = names.parse(step.name)
        if name.kind != "partial" or name.top is None or name.bottom is None:
            return ()
        top, bottom, sample = name.top, name.bottom, name.sample
        if top.kind == "out" and bottom.kind == "net" and top.neuron:
            return self.activation(top.neuron, sample)
        if top.kind == "net":
            return self.net(step, top, bottom, sample)
        if top.kind == "error" and bottom.kind == "net" and self.combined and bottom.neuron in self.outputs:
            return self.combined_signal(str(bottom.neuron), sample)
        if top.kind == "error" and top.neuron is None and bottom.kind == "out" and bottom.neuron in self.outputs:
            return self.loss_gradient(str(bottom.neuron), sample)
        return ()

    def rule_key(self, step: Step) -> tuple[str, ...] | None:
        """What makes two derivations the same: the activation, the loss, or the net's power rule
        (by a weight or by an input); None for a step without a derivation of its own."""
        if not names.is_name(step.name):
            return None
        name = names.parse(step.name)
        top, bottom = name.top, name.bottom
        if name.kind != "partial" or top is None or bottom is None:
            return None
        if top.kind == "out" and bottom.kind == "net" and top.neuron in self.layer_of:
            return ("activation", self.activations[self.layer_of[top.neuron] - 1])
        if top.kind == "net":
            return ("net", "parameter" if bottom.kind in ("weight", "bias") else "input")
        return ("loss", str(top.kind), str(bottom.kind))

    def reference(self, step: Step) -> str:
        """How a later derivation refers to this one: the neuron (o1), or the quantity (dnet_o1/dw5)."""
        name = names.parse(step.name)
        neuron = name.top.neuron if name.top is not None and name.top.kind == "out" else (
            name.bottom.neuron if name.bottom is not None and name.top is not None and name.top.kind == "error" else None)
        if not neuron:
            return step.name
        return f"{neuron}, sample {name.sample}" if name.sample else str(neuron)

    def activation(self, neuron: str, sample: int | None) -> tuple[Derivation, ...]:
        act = ACTIVATIONS[self.activations[self.layer_of[neuron] - 1]]
        roles = {"net": _slot(names.net(neuron, sample)), "out": _slot(names.out(neuron, sample))}
        return tuple(Derivation(rule, fill(latex, **roles), fill(text, **roles))
                     for rule, latex, text in act.derivation)

    def loss_gradient(self, neuron: str, sample: int | None) -> tuple[Derivation, ...]:
        roles = {"out": _slot(names.out(neuron, sample)), "target": _slot(names.target(neuron, sample)),
                 "n": str(len(self.outputs))}
        zeros = " + 0" * (len(self.outputs) - 1)
        lines = [Derivation(rule, _grouped(fill(latex, **roles), zeros), _grouped(fill(text, **roles), zeros))
                 for rule, latex, text in self.loss.derivation]
        if lines and zeros:
            lines[0] = replace(lines[0], rule=f"{lines[0].rule}; the other E_o give 0")
        return tuple(lines)

    def combined_signal(self, neuron: str, sample: int | None) -> tuple[Derivation, ...]:
        """Cross-entropy with softmax or sigmoid outputs: dE/dnet = out - target, derived."""
        def out(o: str) -> str:
            return _slot(names.out(o, sample))

        def target(o: str) -> str:
            return _slot(names.target(o, sample))

        others = [o for o in self.outputs if o != neuron]
        cross_t = " + ".join(f"(-{target(o)} / {out(o)}) * (-{out(o)} * {out(neuron)})" for o in others)
        cross_l = " + ".join(rf"\left(-\frac{{{target(o)}}}{{{out(o)}}}\right) \left(-{out(o)} {out(neuron)}\right)"
                             for o in others)
        roles = {"out": out(neuron), "target": target(neuron), "sum_targets": " + ".join(target(o) for o in self.outputs),
                 "n": str(len(self.outputs))}
        sum_l = " + ".join(f"e^{{{out(o)}}}" for o in self.outputs)
        sum_t = " + ".join(f"exp({out(o)})" for o in self.outputs)
        lines = []
        for rule, latex, text in self.combined:
            lt = fill(latex, **roles, cross_terms=cross_l, sum_exp=sum_l)
            tt = fill(text, **roles, cross_terms=cross_t, sum_exp=sum_t)
            lines.append(Derivation(rule, lt, tt))
        return tuple(lines)

    def net(self, step: Step, top: names.Name, bottom: names.Name, sample: int | None) -> tuple[Derivation, ...]:
        """dnet/dw or dnet/dout: the power rule on the one term of the sum that holds it."""
        net = self.by_name.get(names.at(str(top), sample))
        if net is None or not net.text:
            return ()
        parameter = bottom.kind in ("weight", "bias")
        wanted = _slot(str(bottom) if parameter else names.at(str(bottom), sample))
        latex_terms, text_terms = [], []
        for term in net.text.split(" + "):
            factors = [f.strip() for f in term.split(" * ")]
            if wanted not in factors:
                latex_terms.append("0")
                text_terms.append("0")
                continue
            other = [f for f in factors if f != wanted]
            if not parameter and _single_slot(step.text):
                other = [step.text]  # the weight the step used (w5+ in the sequential order)
            if factors.index(wanted) == 0:  # w5 * out_h1 by w5: the deck's 1 * out_h1 * w5^(1-1)
                text_terms.append(" * ".join(["1", *other, f"{wanted}^(1-1)"]))
                latex_terms.append(r" \cdot ".join(["1", *other, f"{wanted}^{{1-1}}"]))
            else:  # w5 * out_h1 by out_h1: w5 * 1 * out_h1^(1-1)
                text_terms.append(" * ".join([*other, "1", f"{wanted}^(1-1)"]))
                latex_terms.append(r" \cdot ".join([*other, "1", f"{wanted}^{{1-1}}"]))
        if len(text_terms) == text_terms.count("0"):
            return ()
        return (Derivation("power rule; " + SUM_RULE, " + ".join(latex_terms), " + ".join(text_terms)),)


def _grouped(formula: str, zeros: str) -> str:
    """The formula followed by the other outputs' + 0 terms; a piecewise one gets them in every piece
    (no parentheses around a cases block, whose small opening one reads as a stray "(")."""
    if not zeros:
        return formula
    if formula.startswith(r"\begin{cases}"):
        return formula.replace(r" & \text{", zeros + r" & \text{")
    if " if " in formula:
        return formula.replace(" if ", zeros + " if ") + zeros
    return formula + zeros


def _slot(name: str) -> str:
    return f"«{name}»"


def _single_slot(text: str) -> bool:
    return text.startswith("«") and text.endswith("»") and text.count("«") == 1
