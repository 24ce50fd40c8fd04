"""The numerical check: a central finite difference beside every gradient of a trace.

    >>> net = stepgrad.builtin()
    >>> checked = check_numeric(net, stepgrad.explain(net))
    >>> w5 = checked.meta["numeric"]["gradients"]["dE_total/dw5"]
    >>> round(w5["analytic"], 10), round(w5["numeric"], 10), w5["relative_difference"] < 1e-9
    (0.0821670406, 0.0821670406, True)

For each weight and bias p with a gradient in the trace, numeric = (E(p + h) - E(p - h)) / 2h, where
E is the batch error of the trace's own inputs, targets and parameters (read from the trace), and
the step h = eps^(1/3) * max(1, |p|) ~ 6.06e-6 * max(1, |p|) balances the quotient's truncation
error (~h^2) against rounding (~eps/h). The relative difference is
|analytic - numeric| / max(|analytic|, |numeric|, FLOOR); FLOOR keeps gradients that are zero (a
dead ReLU) from dividing by nothing. Differences above TOLERANCE are listed as disagreements.

A ReLU-type neuron whose net is within h of its kink makes the quotient straddle the kink; such
gradients are flagged (`kink`) rather than trusted. In hand-calculation mode (--round) the analytic
values are rounded, so they differ from the exact difference quotient by about the rounding.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np

from stepgrad.core import engine
from stepgrad.core.errors import StepgradError
from stepgrad.core.spec import Network
from stepgrad.core.trace import Section, Step, Trace

EPS_CUBE_ROOT = float(np.finfo(np.float64).eps) ** (1 / 3)
FLOOR = 1e-3
TOLERANCE = 1e-6
KINKED = ("relu", "leaky_relu")


@dataclass(frozen=True)
class NumericGradient:
    """One gradient of the trace beside its central finite difference."""

    name: str  # dE_total/dw5
    parameter: str  # w5
    analytic: float
    numeric: float
    step: float
    relative_difference: float
    kink: bool = False  # a ReLU-type neuron sits within the step of its kink

    @property
    def agrees(self) -> bool:
        return self.relative_difference <= TOLERANCE

    def note(self) -> str:
        text = (f"central difference with h = {self.step:.3g}: {self.numeric:.10g}, "
                f"relative difference {self.relative_difference:.1e}")
        if self.kink:
            text += " (a ReLU-type neuron is within h of its kink: the quotient straddles it)"
        elif not self.agrees:
            text += f" - DISAGREES (tolerance {TOLERANCE:g})"
        return text


def numeric_gradients(net: Network, trace: Trace) -> list[NumericGradient]:
    """Every weight and bias gradient of `trace` (the batch value) beside its finite difference."""
    meta = trace.meta
    if trace.context or "neurons" not in meta:
        raise StepgradError("the numerical check needs a whole trace: check first, then narrow it "
                            "(render(check_numeric(net, trace), fmt, only=[...]))")
    samples = int(meta["samples"])
    given: dict[str, list[float]] = {}
    for step in trace.section("given").steps:
        given.setdefault(step.subject, []).append(step.value)
    neurons = meta["neurons"]
    inputs = np.array([given[n][:samples] for n in neurons[0]], dtype=np.float64).T
    targets = np.array([given[n][:samples] for n in neurons[-1]], dtype=np.float64).T
    weights = [np.array([[trace.lookup(w) for w in row] for row in layer], dtype=np.float64) for layer in meta["weights"]]
    biases = [np.array([trace.lookup(b) for b in names], dtype=np.float64) for names in meta["biases"]]
    gradients = {}
    for section in trace.sections:
        if section.key.startswith("backward_"):
            for step in section.steps:
                if step.kind == "gradient":
                    gradients[step.subject] = step  # the last one about p: the batch mean

    def error(ws: list[np.ndarray], bs: list[np.ndarray]) -> float:
        with np.errstate(all="ignore"):
            return engine.forward(net, inputs, ws, bs, targets).error

    nets = engine.forward(net, inputs, weights, biases).nets
    found = []
    for kind, params, names in (("w", weights, meta["weights"]), ("b", biases, meta["biases"])):
        for l, p in enumerate(params):
            for idx in np.ndindex(p.shape):
                name = names[l][idx[0]][idx[1]] if kind == "w" else names[l][idx[0]]
                if name not in gradients:
                    continue
                h = EPS_CUBE_ROOT * max(1.0, abs(float(p[idx])))
                values = []
                for sign in (1.0, -1.0):
                    moved = [q.copy() for q in params]
                    moved[l][idx] += sign * h
                    values.append(error(moved, biases) if kind == "w" else error(weights, moved))
                numeric = (values[0] - values[1]) / (2 * h)
                analytic = gradients[name].value
                scale = max(abs(analytic), abs(numeric), FLOOR)
                difference = abs(analytic - numeric) / scale if math.isfinite(numeric) else math.inf
                kink = any(act in KINKED and bool(np.any(np.abs(z) < 4 * h))
                           for act, z in zip(net.activations, nets))
                found.append(NumericGradient(gradients[name].name, name, analytic, float(numeric), h,
                                             float(difference), kink))
    return found


def check_numeric(net: Network, trace: Trace) -> Trace:
    """The trace with each gradient's finite difference in its note and all of them in meta["numeric"]."""
    checks = numeric_gradients(net, trace)
    by_name = {c.name: c for c in checks}
    sections = []
    for section in trace.sections:
        steps = []
        for step in section.steps:
            check = by_name.get(step.name) if step.kind == "gradient" else None
            if check is not None and step.value == check.analytic:
                steps.append(_with_note(step, check.note()))
            else:
                steps.append(step)
        sections.append(Section(section.key, section.title, tuple(steps), section.intro))
    numeric = {
        "method": "central difference (E(p + h) - E(p - h)) / 2h of the batch error",
        "step": "h = eps^(1/3) * max(1, |p|)",
        "relative_difference": f"|analytic - numeric| / max(|analytic|, |numeric|, {FLOOR:g})",
        "tolerance": TOLERANCE,
        "gradients": {c.name: {k: _plain(v) for k, v in asdict(c).items() if k != "name"} for c in checks},
        "disagreements": [c.name for c in checks if not c.agrees and not c.kink],
    }
    return Trace(tuple(sections), {**trace.meta, "numeric": numeric}, trace.context)


def _plain(value: object) -> object:
    """JSON has no inf or NaN: a quotient that overflowed is null."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _with_note(step: Step, note: str) -> Step:
    return replace(step, note=f"{step.note}; {note}" if step.note else note)
