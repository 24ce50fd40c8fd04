"""The optimizer's part of a trace: momentum's velocity, Adam's moments and bias correction.

`explain(net, optimizer="adam")` runs the engine's step as usual (the gradients), lets the
optimizer (`optim.apply`) compute each parameter's update, and replaces the trace's gradient-descent
update with one section of the optimizer's quantities and the update that uses them. Names, for
weight w5 (biases alike when update_biases is on):

    momentum: mu, v_w5 (velocity before the step), v_w5+ = mu * v_w5 + dE_total/dw5, w5+ = w5 - eta * v_w5+
    adam:     beta1, beta2, epsilon, t (the step number), m_w5, s_w5 (moments before the step),
              m_w5+, s_w5+ (after), m_hat_w5, s_hat_w5 (bias-corrected), w5+ = w5 - eta * m_hat_w5 / (sqrt(s_hat_w5) + epsilon)

The state before the step comes from network.extra["training"]["optimizer"] (a resumed run) or
starts at zero. The forward pass "after" uses the optimizer's new weights. With round_to=K (hand-
calculation mode) every optimizer quantity is rounded to K decimals before the next one uses it.
"""

from __future__ import annotations

from . import engine, optim
from .names import layout
from .optim import HYPER_NOTES, trace_name
from .trace import Section, Step, Trace
from .train import check_order


class OptimizerStep:
    """The optimizer's update of one engine step, ready to be written into the trace."""

    def __init__(self, net, rec: engine.StepRecord, inputs, targets, name: str, round_to: int | None = None):
        check_order(rec.update_order, name)
        self.net, self.rule = net, optim.get(name)
        self.state = optim.state_of(net, name)
        self.before = {slot: [a.copy() for a in arrays] for slot, arrays in self.state.slots.items()}
        self.t = self.state.t + 1
        new, self.details = optim.apply(self.state, net.learning_rate, optim.parameters(net),
                                        rec.grad_weights + rec.grad_biases, optim.active_flags(net),
                                        rounded=engine.rounder(round_to) if round_to is not None else None)
        rec.new_weights, rec.new_biases = new[:net.depth], new[net.depth:]
        rec.after = engine.forward(net, inputs, rec.new_weights, rec.new_biases, targets, round_to=round_to)

    def parameters(self):
        """(index in optim order, flat position, name) of every parameter the optimizer moves."""
        names = layout(self.net.layers, self.net.shared_biases)  # type: ignore[arg-type]
        for l, rows in enumerate(names.weights):
            for j, row in enumerate(rows):
                for i, w in enumerate(row):
                    yield l, (j, i), w
        if self.net.update_biases:
            for l, bs in enumerate(names.biases):
                for j, b in enumerate(bs):
                    yield self.net.depth + l, (j,), b

    def rewrite(self, trace: Trace) -> Trace:
        """The trace with its update section(s) replaced by the optimizer's sections."""
        sections, placed = [], False
        for sec in trace.sections:
            if sec.key.startswith("update"):
                if not placed:
                    sections.extend(self.sections())
                    placed = True
                continue
            sections.append(sec)
        meta = dict(trace.meta, optimizer={"name": self.rule.name, "hyper": dict(self.state.hyper), "t": self.t})
        return Trace(tuple(sections), meta, trace.context)

    def sections(self) -> list[Section]:
        rule, h = self.rule, self.state.hyper
        given = [Step(k, float(v), "given", note=HYPER_NOTES.get(k, "")) for k, v in h.items()]
        given.append(Step("t", float(self.t), "given", note=HYPER_NOTES["t"]))
        state_steps: list[Step] = []
        update_steps: list[Step] = []
        for k, where, p in self.parameters():
            roles = {"p": p, "g": trace_name("g", p), "eta": "eta", "t": "t", **{x: x for x in h}}
            for slot in self.before:
                roles[slot] = trace_name(slot, p)
                state_steps.append(Step(roles[slot], float(self.before[slot][k][where]), "given", subject=p,
                                        note="before this step"))
            for r in rule.rules:
                roles[r.role] = trace_name(r.role, p)
            for r in rule.rules:
                latex = _fill(r.latex, roles)
                text = _fill(r.text, roles)
                step = Step(roles[r.role], float(self.details[k][r.role][where]), "update", latex, text,
                            tuple(_operands(r.text, roles)), subject=p)
                (update_steps if r.role == "p+" else state_steps).append(step)
        return [
            Section("optimizer", f"{rule.title}: the optimizer's state", tuple(given + state_steps), rule.description),
            Section("update", "The new weights", tuple(update_steps),
                    f"Each weight moves by the step {rule.name} computed, scaled by the learning rate."),
        ]


def _fill(template: str, roles: dict[str, str]) -> str:
    # longest role first: «m_hat» before «m», «v+» before «v»
    for role in sorted(roles, key=len, reverse=True):
        template = template.replace(f"«{role}»", f"«{roles[role]}»")
    return template


def _operands(template: str, roles: dict[str, str]) -> list[str]:
    import re

    return list(dict.fromkeys(roles[m] for m in re.findall(r"«([^»]+)»", template)))
