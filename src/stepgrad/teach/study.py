"""The quiz's study mode: worked → faded → problem on one network, with self-explanation and diagnosed feedback.

    >>> lines = []
    >>> answers = iter(["b", "q"])
    >>> code = run(stepgrad.builtin(), read=lambda prompt: next(answers, None), write=lines.append)
    >>> lines[0]
    'stepgrad quiz --study: a worked example (w5, w1), a faded one (w6, w2), then a problem (w7, w3).'

Three parts, each on another pair of weights of the same network (an output weight and a first-layer
weight), so that each part computes something new: (1) worked: every step shown, each followed by its
self-explanation prompt (which rule gives it, answered by letter); (2) faded: the steps the new weights
need, the first half worked, the last half to compute (backward fading); (3) the problem: every new step to
compute. An answer is marked by the checker on everything answered so far: the feedback names the student's
own earlier values it was computed from; a wrong answer gets the diagnosis and a hint drawn from the step's
rule, never the value (a second try is allowed).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from stepgrad.core.errors import StepgradError
from stepgrad.core.names import layout
from stepgrad.core.spec import Network
from stepgrad.core.trace import SLOT, Step
from stepgrad.formats.formula import symbolic
from stepgrad.teach.check import Result
from stepgrad.teach.fading import written
from stepgrad.teach.prompts import Prompt, prompt
from stepgrad.teach.quiz import Quiz
from stepgrad.tracing.derive import derive

Read = Callable[[str], "str | None"]
Write = Callable[[str], None]
TRIES = 2  # attempts at a blank before moving on (the value is never shown)


class Stop(Exception):
    """The student typed q, or the input ended."""


def foci(net: Network) -> list[list[str]]:
    """Three pairs of weights (an output weight, a first-layer weight): the worked, faded and problem parts."""
    names = layout(net.layers, net.shared_biases)  # type: ignore[arg-type]
    last = [w for row in names.weights[-1] for w in row]
    first = [w for row in names.weights[0] for w in row] if net.depth > 1 else []
    return [[last[k % len(last)], *([first[k % len(first)]] if first else [])] for k in range(3)]


def parts(quiz: Quiz, net: Network) -> list[tuple[list[str], list[Step]]]:
    """(focus, steps new in this part) for the three parts: what an earlier part computed is not asked again."""
    seen: set[str] = set()
    out = []
    for focus in foci(net):
        steps = [s for s in quiz.trace.select(focus) if s.text and s.name not in seen]
        seen |= {s.name for s in steps}
        out.append((focus, steps))
    return out


@dataclass(frozen=True)
class Part:
    """One part of a study session: its kind (worked, faded, problem), the weights it is about, its steps (new in
    this part, in the derivation's order) and which of them are blanks."""

    kind: str
    focus: list[str]
    steps: list[Step]
    blanks: frozenset[str]

    @property
    def title(self) -> str:
        number = {"worked": 1, "faded": 2, "problem": 3}[self.kind]
        extra = f" (the last {len(self.blanks)} steps are yours)" if self.kind == "faded" else ""
        return f"{number}. {self.kind.capitalize()}: {', '.join(self.focus)}{extra}"


def session(quiz: Quiz, net: Network) -> list[Part]:
    """The three parts: worked (every step shown), faded (the last half of what is computed blank: backward
    fading), problem (every step blank; a copy such as dnet_o1/dw5 = out_h1 is shown unless it copies a blank)."""
    return three_parts(parts(quiz, net))


def three_parts(found: list[tuple[list[str], list[Step]]]) -> list[Part]:
    """Worked, faded and problem from (focus, new steps) of each part (see session). A step shown with a blank among
    its numbers (a copy of a blank: dnet_o1/dw15 = out_h3 where out_h3 is a blank) is a blank too: it would give
    the blank away, in its own part or a later one."""
    (worked, first), (faded, second), (problem, third) = found
    computed = [s.name for s in second if not SLOT.fullmatch(s.text)]
    chosen: list[set[str]] = [set(), set(computed[(len(computed) + 1) // 2:]),
                              {s.name for s in third if not SLOT.fullmatch(s.text)}]
    earlier: set[str] = set()
    for (_, steps), blank in zip(found, chosen):
        for step in steps:
            if any(op in blank or op in earlier for op in step.operands):
                blank.add(step.name)
        earlier |= blank
    return [Part(kind, focus, steps, frozenset(blank))
            for kind, (focus, steps), blank in zip(("worked", "faded", "problem"), found, chosen)]


def run(net: Network, *, read: Read, write: Write, round_to: int | None = None, update_order: str | None = None,
        digits: int = 9) -> int:
    """One study session; the exit status: 0 every blank right (or carried forward), 1 otherwise (or skipped)."""
    net.require_samples("<study>")
    quiz = Quiz(net, None, update_order, round_to)
    trace = derive(quiz.trace)
    steps = {s.name: s for s in trace}
    plan = session(quiz, net)
    write(f"stepgrad quiz --study: a worked example ({', '.join(plan[0].focus)}), a faded one "
          f"({', '.join(plan[1].focus)}), then a problem ({', '.join(plan[2].focus)}).")
    write("Answer a prompt by its letter, a blank by its value; s skips, q stops.")
    show = (lambda v: f"{v:.{round_to}f}") if round_to is not None else (lambda v: f"{v:.{digits}g}")
    values = trace.values
    results: list[Result] = []
    try:
        for part in plan:
            write(f"\n== {part.title} ==")
            for step in part.steps:
                if step.name in part.blanks:
                    ask_blank(quiz, steps[step.name], read, write, results)
                else:
                    _explain(steps[step.name], values, show, read, write)
    except Stop:
        pass
    good = sum(r.verdict in ("correct", "follows") for r in results)
    write(f"\n{good} of {len(results)} blanks right (or right from your own earlier values).")
    return 0 if results and good == len(results) else 1


def _read(read: Read, text: str) -> str:
    answer = read(text)
    if answer is None or answer.strip().lower() in ("q", "quit"):
        raise Stop
    return answer.strip()


def _explain(step: Step, values, show, read: Read, write: Write) -> None:
    """A worked step, then its prompt: which rule (by letter), and why."""
    write(written(step, values, step.value, show))
    if SLOT.fullmatch(step.text):
        return  # a copy (dnet_o1/dw5 = out_h1): no rule to name
    ask_rule(step, read, write)


def ask_rule(step: Step, read: Read, write: Write, ask: Callable[[Step], Prompt] = prompt) -> None:
    """The step's rule prompt `ask(step)`, answered by letter, and the feedback: the rule and why."""
    p = ask(step)
    letters = "".join(chr(97 + k) for k in range(len(p.choices)))
    choices = "  ".join(f"{chr(97 + k)}) {c}" for k, c in enumerate(p.choices))
    answer = _read(read, f"  {p.question}  {choices}: ").lower()
    chosen = letters.index(answer) if answer and answer in letters else None
    write(f"  {rule_feedback(step, chosen, ask)[1]}")


def rule_feedback(step: Step, chosen: int | None, ask: Callable[[Step], Prompt] = prompt) -> tuple[bool, str]:
    """(right, the feedback) for choice number `chosen` (None: skipped) of the step's rule prompt `ask(step)`: the
    rule and why."""
    p = ask(step)
    if chosen is None or not 0 <= chosen < len(p.choices):
        return False, f"it is {p.rule}. {p.why}"
    if chosen == p.answer:
        return True, f"right: {p.rule}. {p.why}"
    return False, f"not {p.choices[chosen]}: it is {p.rule}. {p.why}"


def _without_values(diagnosis: str | None) -> str:
    """The diagnosis without the numbers it recomputed: a flipped sign's value is the answer, negated."""
    return re.sub(r" = -?[0-9][0-9.e+-]*", "", diagnosis or "")


class Answered(Protocol):
    """A quiz with the answers given so far (teach/quiz.Quiz, teach/study_layers.LayerQuiz)."""

    answers: dict[str, str]


def used(quiz: Answered, step: Step) -> dict[str, str]:
    """The student's own earlier values (as written) among the operands of `step`: what their answer was marked on."""
    return {op: quiz.answers[op] for op in step.operands if op in quiz.answers}


@dataclass(frozen=True)
class Feedback:
    """What the student is told about one answer: the verdict, the message (naming the earlier values used) and,
    for a wrong answer, a hint from the step's rule (never the value)."""

    verdict: str
    message: str
    used: dict[str, str]
    hint: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {"verdict": self.verdict, "message": self.message, "used": self.used, "hint": self.hint}


def feedback(quiz: Answered, step: Step, result: Result, ask: Callable[[Step], Prompt] = prompt) -> Feedback:
    """The feedback on the checker's verdict `result` for `step`, after quiz.answer recorded it (a wrong answer's
    hint from the rule of `ask(step)`)."""
    mine = used(quiz, step)
    words = ", ".join(f"{op} = {v}" for op, v in mine.items())
    from_ = f"your {words}" if words else ""
    if result.verdict == "correct":
        return Feedback("correct", "correct" + (f", from {from_}" if from_ else ""), mine)
    if result.verdict == "follows":
        return Feedback("follows", f"follows: right from {from_ or 'your earlier values'} (an earlier slip carried "
                        "forward)", mine)
    if result.verdict == "close":
        return Feedback("close", "close: " + (result.diagnosis or "rounding drift; keep more digits in the values "
                                              "you carry") + (f" (from {from_})" if from_ else ""), mine)
    p = ask(step)
    return Feedback(result.verdict, f"wrong: {_without_values(result.diagnosis) or 'no known mistake explains this value'}"
                    + (f" (from {from_})" if from_ else ""), mine, f"{p.rule}: {step.name} = {symbolic(step)}. {p.why}")


def ask_blank(quiz: Any, step: Step, read: Read, write: Write, results: list[Result],
              ask: Callable[[Step], Prompt] = prompt) -> None:
    """Ask one blank of `quiz` (a Quiz or a study_layers.LayerQuiz: answer(name, text) marks it) up to TRIES times:
    the checker's verdict, the earlier values it used, a hint from the rule of `ask(step)` if wrong."""
    for attempt in range(1, TRIES + 1):
        text = _read(read, f"{step.name} = ")
        if text.lower() in ("", "s", "skip"):
            write("  skipped")
            results.append(Result(step.name, "", "unanswered"))
            return
        try:
            result = quiz.answer(step.name, text)
        except StepgradError as exc:
            write(f"  {exc}")
            continue
        said = feedback(quiz, step, result, ask)
        write(f"  {said.message}")
        if said.hint:
            write(f"  hint: {said.hint}")
            if attempt < TRIES:
                continue
        results.append(result)
        return
