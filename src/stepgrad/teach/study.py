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

from stepgrad.core.errors import StepgradError
from stepgrad.core.names import layout
from stepgrad.core.spec import Network
from stepgrad.core.trace import SLOT, Step
from stepgrad.formats.formula import symbolic
from stepgrad.teach.check import Result
from stepgrad.teach.fading import written
from stepgrad.teach.prompts import prompt
from stepgrad.teach.quiz import Quiz
from stepgrad.tracing.derive import derive

Read = Callable[[str], "str | None"]
Write = Callable[[str], None]
TRIES = 2  # attempts at a blank before moving on (the value is never shown)


class _Stop(Exception):
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


def run(net: Network, *, read: Read, write: Write, round_to: int | None = None, update_order: str | None = None,
        digits: int = 9) -> int:
    """One study session; the exit status: 0 every blank right (or carried forward), 1 otherwise (or skipped)."""
    net.require_samples("<study>")
    quiz = Quiz(net, None, update_order, round_to)
    trace = derive(quiz.trace)
    steps = {s.name: s for s in trace}
    (worked, first), (faded, second), (problem, third) = parts(quiz, net)
    write(f"stepgrad quiz --study: a worked example ({', '.join(worked)}), a faded one ({', '.join(faded)}), "
          f"then a problem ({', '.join(problem)}).")
    write("Answer a prompt by its letter, a blank by its value; s skips, q stops.")
    show = (lambda v: f"{v:.{round_to}f}") if round_to is not None else (lambda v: f"{v:.{digits}g}")
    values = trace.values
    results: list[Result] = []
    try:
        write(f"\n== 1. Worked: {', '.join(worked)} ==")
        for step in first:
            _explain(steps[step.name], values, show, read, write)
        computed = [s.name for s in second if not SLOT.fullmatch(s.text)]
        blanks = set(computed[(len(computed) + 1) // 2:])  # backward fading: the last half of what is computed
        write(f"\n== 2. Faded: {', '.join(faded)} (the last {len(blanks)} steps are yours) ==")
        for step in second:
            if step.name in blanks:
                _blank(quiz, steps[step.name], values, show, read, write, results)
            else:
                _explain(steps[step.name], values, show, read, write)
        write(f"\n== 3. Problem: {', '.join(problem)} ==")
        for step in third:
            _blank(quiz, steps[step.name], values, show, read, write, results)
    except _Stop:
        pass
    good = sum(r.verdict in ("correct", "follows") for r in results)
    write(f"\n{good} of {len(results)} blanks right (or right from your own earlier values).")
    return 0 if results and good == len(results) else 1


def _read(read: Read, text: str) -> str:
    answer = read(text)
    if answer is None or answer.strip().lower() in ("q", "quit"):
        raise _Stop
    return answer.strip()


def _explain(step: Step, values, show, read: Read, write: Write) -> None:
    """A worked step, then its prompt: which rule (by letter), and why."""
    write(written(step, values, step.value, show))
    if SLOT.fullmatch(step.text):
        return  # a copy (dnet_o1/dw5 = out_h1): no rule to name
    p = prompt(step)
    letters = "".join(chr(97 + k) for k in range(len(p.choices)))
    choices = "  ".join(f"{chr(97 + k)}) {c}" for k, c in enumerate(p.choices))
    answer = _read(read, f"  {p.question}  {choices}: ").lower()
    if answer in ("", "s", "skip") or answer not in letters:
        write(f"  it is {p.rule}. {p.why}")
    elif letters.index(answer) == p.answer:
        write(f"  right: {p.rule}. {p.why}")
    else:
        write(f"  not {p.choices[letters.index(answer)]}: it is {p.rule}. {p.why}")


def _without_values(diagnosis: str | None) -> str:
    """The diagnosis without the numbers it recomputed: a flipped sign's value is the answer, negated."""
    return re.sub(r" = -?[0-9][0-9.e+-]*", "", diagnosis or "")


def _used(quiz: Quiz, step: Step) -> str:
    mine = [f"{op} = {quiz.answers[op]}" for op in step.operands if op in quiz.answers]
    return f"your {', '.join(mine)}" if mine else ""


def _blank(quiz: Quiz, step: Step, values, show, read: Read, write: Write, results: list[Result]) -> None:
    """Ask one blank up to TRIES times: the checker's verdict, the earlier values it used, a hint if wrong."""
    if SLOT.fullmatch(step.text):
        write(written(step, values, step.value, show))  # a copy: shown, nothing to compute
        return
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
        used = _used(quiz, step)
        if result.verdict == "correct":
            write("  correct" + (f", from {used}" if used else ""))
        elif result.verdict == "follows":
            write(f"  follows: right from {used or 'your earlier values'} (an earlier slip carried forward)")
        elif result.verdict == "close":
            write("  close: " + (result.diagnosis or "rounding drift; keep more digits in the values you carry")
                  + (f" (from {used})" if used else ""))
        else:
            p = prompt(step)
            write(f"  wrong: {_without_values(result.diagnosis) or 'no known mistake explains this value'}"
                  + (f" (from {used})" if used else ""))
            write(f"  hint: {p.rule}: {step.name} = {symbolic(step)}. {p.why}")
            if attempt < TRIES:
                continue
        results.append(result)
        return
