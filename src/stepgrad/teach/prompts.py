"""Self-explanation prompts: for every step of a derivation, the rule that gives it, asked as a question.

    >>> import stepgrad
    >>> from stepgrad.tracing.derive import derive
    >>> trace = derive(stepgrad.explain(stepgrad.builtin()))
    >>> p = prompt(trace.step("dnet_o1/dw5"))
    >>> p.question, p.choices, p.choices[p.answer]
    ('Which rule gives dnet_o1/dw5?', ('power rule', 'chain rule', 'sum rule'), 'power rule')
    >>> p.why                                            # from the derivation line's named rule
    'Why do the other terms of net_o1 give 0 when you differentiate by w5?'

The rule is read from the step itself: its kind (net, out, error, partial, delta, gradient, update) and,
for a local derivative, the named rule of its derivation line (tracing/derive.py); nothing is written per
network. Multiple choice where it fits: the right rule among the rules a student confuses it with (RULES).
"""

from __future__ import annotations

from dataclasses import dataclass

from stepgrad.core import names
from stepgrad.core.trace import Step

# The rules a step can be asked about, and the ones a student mixes each one up with (the distractors).
RULES: dict[str, tuple[str, str]] = {
    "weighted sum": ("the activation", "chain rule"),
    "the activation": ("weighted sum", "the loss"),
    "the loss": ("the activation", "weighted sum"),
    "sum of the errors": ("the loss", "weighted sum"),
    "power rule": ("chain rule", "sum rule"),
    "chain rule": ("power rule", "sum rule"),
    "sum rule": ("power rule", "chain rule"),
    "the activation's derivative": ("power rule", "the loss's derivative"),
    "the loss's derivative": ("the activation's derivative", "chain rule"),
    "gradient descent": ("chain rule", "weighted sum"),
    "mean over the samples": ("sum rule", "chain rule"),
    "sum over the samples": ("mean over the samples", "chain rule"),
}
# the order the choices are shown in (stable, so the right answer is not always first)
_SHOWN = ("power rule", "chain rule", "sum rule", "weighted sum", "the activation", "the loss", "sum of the errors",
          "the activation's derivative", "the loss's derivative", "gradient descent", "mean over the samples",
          "sum over the samples")


@dataclass(frozen=True)
class Prompt:
    """One self-explanation prompt: a multiple-choice question on the rule (`choices`, the right one at
    `answer`), and an open question `why` drawn from the step's derivation."""

    name: str
    rule: str
    question: str
    choices: tuple[str, ...]
    answer: int
    why: str

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "rule": self.rule, "question": self.question, "choices": list(self.choices),
                "answer": self.answer, "why": self.why}


def rule_of(step: Step) -> str:
    """The rule that gives the step (a key of RULES); ValueError for a given value (no rule: it is given)."""
    kind = step.kind
    if not step.text:
        raise ValueError(f"{step.name} is given, not derived")
    parts = names.parse(step.name)
    if parts.sample is None and len(step.operands) > 1 and all(names.parse(o).sample is not None for o in step.operands):
        return "mean over the samples" if step.text.startswith("1/") else "sum over the samples"  # reduction sum
    if kind == "net":
        return "weighted sum"
    if kind == "out":
        return "the activation"
    if kind == "error":
        return "sum of the errors" if parts.neuron is None and len(step.operands) > 1 and "«E_" in step.text else "the loss"
    if kind == "update":
        return "gradient descent"
    if parts.kind == "partial" and parts.top is not None and parts.bottom is not None:
        top, bottom = parts.top.kind, parts.bottom.kind
        if top == "out" and bottom == "net":
            return "the activation's derivative"
        if top == "net":
            return "power rule"
        if top == "error" and bottom == "out" and not step.factors and parts.top.neuron is None:
            return "the loss's derivative"
        if step.factors and " + " in step.text:  # the sum over the paths to the outputs
            return "sum rule"
        if top == "error" and bottom == "net" and not step.factors:
            return "the loss's derivative"  # dE/dnet of softmax with cross-entropy: out - target, derived whole
        return "chain rule"
    return "chain rule"


def _why(step: Step, rule: str) -> str:
    """The open question, from the derivation line's named rule when there is one."""
    lines = step.derivation
    named = lines[0].rule if lines else ""
    parts = names.parse(step.name)
    if rule == "power rule" and parts.top is not None and parts.bottom is not None:
        return f"Why do the other terms of {parts.top} give 0 when you differentiate by {parts.bottom}?"
    if rule == "the activation's derivative":
        return (f"How does {named.split(' on ')[0]} give this derivative from the activation's formula?"
                if named else f"Why can {step.name} be written with {names.out(str(parts.top.neuron)) if parts.top else 'out'} alone?")
    if rule == "the loss's derivative":
        return f"Where does the sign come from ({named})?" if named else "Where does the sign come from?"
    if rule == "chain rule":
        return f"Which path from {step.subject or 'this parameter'} to the error does this product follow?"
    if rule == "sum rule":
        return f"Why are the {len(step.factors)} paths' terms added rather than multiplied?"
    if rule == "gradient descent":
        return "Why is the gradient subtracted, and what does the learning rate scale?"
    if rule == "mean over the samples":
        return "Why is each sample's gradient divided by the number of samples?"
    if rule == "sum over the samples":
        return "Why are the samples' gradients added, not averaged (the spec's reduction)?"
    if rule == "weighted sum":
        return "Which weight multiplies which input, and where does the bias come in?"
    if rule == "the activation":
        return "Which activation does this layer use, and what does it do to net?"
    return "Which values does this error use, and why is it never negative?" if rule == "the loss" else \
        "Why is the total error the sum of the outputs' errors?"


def prompt(step: Step) -> Prompt:
    """The self-explanation prompt for one derived step."""
    rule = rule_of(step)
    shown = sorted({rule, *RULES[rule]}, key=_SHOWN.index)
    return Prompt(step.name, rule, f"Which rule gives {step.name}?", tuple(shown), shown.index(rule), _why(step, rule))
