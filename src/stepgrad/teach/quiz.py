"""A quiz on one training step: the step's quantities asked one at a time, in the derivation's order.

    >>> quiz = Quiz(stepgrad.builtin(), only=["w5"])
    >>> [q.name for q in quiz.questions]
    ['out_h1', 'out_o1', 'dE_total/dout_o1', 'dout_o1/dnet_o1', 'dE_total/dw5', 'w5+']
    >>> quiz.answer("out_h1", "0.5933").verdict
    'correct'
    >>> quiz.hint("out_o1", 2)                 # the formula with the numbers (your own values)
    'out_o1 = 1 / (1 + exp(-net_o1)) = 1 / (1 + exp(-1.10591797))'

Each answer is marked by the checker (`stepgrad.teach.check`) on the answers given so far, so a quiz
answer gets exactly the verdict `stepgrad check` gives the saved solution: correct, follows (an
error carried forward from the student's own earlier values), close, or wrong with a diagnosis.
Quantities whose formula is just another quantity (dnet_o1/dw5 = out_h1) are not asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stepgrad.core.errors import StepgradError
from stepgrad.core.spec import Network
from stepgrad.core.trace import SLOT, Step, Trace
from stepgrad.formats.formula import operand, symbolic
from stepgrad.teach.check import Report, Result, Rules, check, loads
from stepgrad.teach.check.context import build
from stepgrad.teach.check.solution import NUMBER_HINT, parse_number
from stepgrad.tracing.build import explain


def _alias(step: Step) -> bool:
    """A step whose formula is one other quantity («out_h1»): nothing to compute."""
    return SLOT.fullmatch(step.text) is not None


@dataclass
class Quiz:
    """The questions of one step and the answers given so far (as written)."""

    net: Network
    only: list[str] | None = None
    update_order: str | None = None
    round_to: int | None = None
    answers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.update_order = self.update_order or self.net.update_order
        self.trace: Trace = explain(self.net, update_order=self.update_order, round_to=self.round_to)
        asked = self.trace.select(self.only) if self.only else self.trace
        self.questions: list[Step] = [s for s in asked if s.text and not _alias(s)]
        self.section_of = {s.name: sec.title for sec in self.trace.sections for s in sec.steps}

    def answer(self, name: str, text: str) -> Result:
        """Record the answer to `name` (a number as written) and return the checker's verdict on it."""
        if parse_number(text) is None:
            raise StepgradError(f"{text.strip()!r} is not a number ({NUMBER_HINT})")
        self.answers[name] = text.strip()
        return next(r for r in self.report().results if r.name == name)

    def report(self) -> Report:
        """The checker's report on every answer given so far."""
        return check(self.net, loads(self.solution(), source="<quiz>"), update_order=self.update_order,
                     round_to=self.round_to, rules=Rules(required="none"))  # practice: stopping early is no failure

    def hint(self, name: str, level: int = 1, digits: int = 9) -> str:
        """Level 1: the formula; level 2: the formula with the numbers, your own values where you gave them."""
        step = self.trace.step(name)
        if level <= 1:
            return f"{name} = {symbolic(step)}"
        own = build(self.net, loads(self.solution(), source="<quiz>"), self.update_order, self.round_to).own
        return f"{name} = {symbolic(step)} = {step.fill('text', lambda n: operand(own[n], digits, 'text'))}"

    def solution(self, header: str = "") -> str:
        """The answers so far as a solution file (`name = value` lines) that `stepgrad check` reads."""
        lines = [f"# {line}" for line in header.splitlines()]
        lines += [f"{name} = {text}" for name, text in self.answers.items()]
        return "\n".join(lines) + "\n"
