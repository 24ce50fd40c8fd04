"""The optimizer's part of a trace: momentum's velocity, Adam's moments and bias correction.

`explain(net, optimizer="adam")` runs the engine's step as usual (the gradients), asks
`optimizer_step` for the optimizer's part of the step (a frozen OptimizerStep: the state before,
each parameter's quantities, the new parameters and the forward pass with them; the engine's record
is left as it is), builds the trace from the engine's record with that update, and lets
`OptimizerStep.rewrite` replace the gradient-descent update with one section of the optimizer's
quantities and the update that uses them. Names, for weight w5 (biases alike when update_biases is on):

    momentum: mu, v_w5 (velocity before the step), v_w5+ = mu * v_w5 + dE_total/dw5, w5+ = w5 - eta * v_w5+
    adam:     beta1, beta2, epsilon, t (the step number), m_w5, s_w5 (moments before the step),
              m_w5+, s_w5+ (after), m_hat_w5, s_hat_w5 (bias-corrected), w5+ = w5 - eta * m_hat_w5 / (sqrt(s_hat_w5) + epsilon)

The state before the step comes from network.training.optimizer (a resumed run) or starts at
zero. The forward pass "after" uses the optimizer's new weights. With round_to=K (hand-
calculation mode) every optimizer quantity is rounded to K decimals before the next one uses it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from stepgrad.core import engine, optim
from stepgrad.core.names import layout, updated
from stepgrad.core.optim import HYPER_NOTES, check_order, trace_name
from stepgrad.core.trace import Section, Step, Trace
from stepgrad.tracing.held import held_sentences, held_step


@dataclass(frozen=True)
class OptimizerStep:
    """The optimizer's part of one training step: a value `explain` composes into the trace."""

    net: Any  # the network before the step (spec.Network)
    rule: optim.Optimizer
    hyper: dict[str, float]
    t: int  # the step number this update is
    before: dict[str, list[np.ndarray]]  # slot -> the state before the step, per parameter
    details: list[dict[str, np.ndarray]]  # per parameter: every quantity of the update rule
    new_weights: list[np.ndarray]
    new_biases: list[np.ndarray]
    after: engine.Forward  # the forward pass with the new parameters
    settings: tuple[dict[str, float], ...] = ()  # per parameter: its own lr and hyperparameters (parameter groups)

    def record(self, rec: engine.StepRecord) -> engine.StepRecord:
        """A copy of the engine's record with this update in place of gradient descent's."""
        return replace(rec, new_weights=self.new_weights, new_biases=self.new_biases, after=self.after)

    def parameters(self):
        """(index in optim order, flat position, name) of every parameter the optimizer moves."""
        names = layout(self.net.layers, self.net.shared_biases or [])
        for l, rows in enumerate(names.weights):
            for j, row in enumerate(rows):
                for i, w in enumerate(row):
                    yield l, (j, i), w
        if self.net.update_biases:
            for l, bs in enumerate(names.biases):
                for j, b in enumerate(bs):
                    yield self.net.depth + l, (j,), b

    def fixed(self) -> set[int]:
        """Indices (optimizer order) of the parameters this step holds fixed: a dense network's frozen tensors."""
        return {k for k, trains in enumerate(self.net.trains()) if not trains}

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
        optimizer: dict[str, Any] = {"name": self.rule.name, "hyper": dict(self.hyper), "t": self.t}
        if any(self.settings):
            optimizer["settings"] = [dict(own) for own in self.settings]
        meta = dict(trace.meta, optimizer=optimizer)
        return Trace(tuple(sections), meta, trace.context)

    def sections(self) -> list[Section]:
        rule, h = self.rule, self.hyper
        given = [Step(k, float(v), "given", note=HYPER_NOTES.get(k, "")) for k, v in h.items()]
        given.append(Step("t", float(self.t), "given", note=HYPER_NOTES["t"]))
        state_steps: list[Step] = []
        update_steps: list[Step] = []
        shown: set[str] = set()
        fixed = self.fixed()
        for k, where, p in self.parameters():
            if k in fixed:  # frozen: torch.optim skips it (no gradient), its state untouched
                value = (self.new_weights[k] if k < self.net.depth else self.new_biases[k - self.net.depth])[where]
                update_steps.append(held_step(Step, p, float(value)))
                continue
            own = self.settings[k] if self.settings else {}
            hyper = {**h, **{key: v for key, v in own.items() if key != "lr"}}
            rules = rule.rules_at(hyper, self.t)
            computed = {r.role for r in rules}
            written = {slot for slot in self.before if updated(slot) in computed}  # slots this step writes
            roles = {"p": p, "g": trace_name("g", p), "eta": "eta", "t": "t", **{x: x for x in h}}
            for key, value in own.items():  # this parameter's group differs: its own eta_w5, decay_w5
                roles["eta" if key == "lr" else key] = own_name = trace_name("eta" if key == "lr" else key, p)
                if own_name not in shown:
                    shown.add(own_name)
                    state_steps.append(Step(own_name, value, "given", subject=p,
                                            note=f"this parameter's own {'learning rate' if key == 'lr' else key} "
                                                 "(its parameter group)"))
            for r in rules:
                roles[r.role] = r.role if r.role in rule.once else trace_name(r.role, p)
            for slot in self.before:
                if slot not in written:  # a slot this step neither reads nor writes
                    continue
                once = slot in rule.once
                roles[slot] = slot if once else trace_name(slot, p)
                if roles[slot] not in shown:
                    shown.add(roles[slot])
                    state_steps.append(Step(roles[slot], float(self.before[slot][k][where]), "given",
                                            subject="" if once else p, note="before this step"))
            for r in rules:
                if roles[r.role] in shown:  # a role with one value for every parameter, shown once
                    continue
                if r.role in rule.once:
                    shown.add(roles[r.role])
                step = Step(roles[r.role], float(self.details[k][r.role][where]), "update", _fill(r.latex, roles),
                            _fill(r.text, roles), tuple(_operands(r.text, roles)),
                            subject="" if r.role in rule.once else p, note=r.note)
                (update_steps if r.role == "p+" else state_steps).append(step)
        return [
            Section("optimizer", f"{rule.title}: the optimizer's state", tuple(given + state_steps), rule.description),
            Section("update", "The new weights", tuple(update_steps),
                    " ".join([f"Each weight moves by the step {rule.name} computed, scaled by the learning rate.",
                              *(held_sentences(self.net, list(range(self.net.depth))) if fixed else [])])),
        ]


def optimizer_step(net, rec: engine.StepRecord, inputs: np.ndarray, targets: np.ndarray, name: str,
                   round_to: int | None = None, dtype: str = "float64") -> OptimizerStep:
    """The update optimizer `name` makes from the gradients in `rec` (which is not changed), in `dtype`."""
    check_order(rec.update_order, name)
    state = optim.state_of(net, name)
    if dtype != "float64":
        state = state.as_dtype(np.dtype(dtype))
    before = {slot: [a.copy() for a in arrays] for slot, arrays in state.slots.items()}
    new, details = optim.apply(state, net.learning_rate, optim.parameters(net),
                               rec.grad_weights + rec.grad_biases, optim.active_flags(net),
                               rounded=engine.rounder(round_to) if round_to is not None else None)
    new_weights, new_biases = new[:net.depth], new[net.depth:]
    after = engine.forward(net, inputs, new_weights, new_biases, targets, round_to=round_to)
    return OptimizerStep(net, optim.get(name), dict(state.hyper), state.t, before, details,
                         new_weights, new_biases, after, tuple(dict(own) for own in state.settings))


def _fill(template: str, roles: dict[str, str]) -> str:
    # longest role first: «m_hat» before «m», «v+» before «v»
    for role in sorted(roles, key=len, reverse=True):
        template = template.replace(f"«{role}»", f"«{roles[role]}»")
    return template


def _operands(template: str, roles: dict[str, str]) -> list[str]:
    import re

    return list(dict.fromkeys(roles[m] for m in re.findall(r"«([^»]+)»", template)))
