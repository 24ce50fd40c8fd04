"""Study mode on a layer-table network (conv, pooling, residual, rnn, attention, normalization): worked -> faded ->
problem on one network, each part about other parameters, answers marked by the checker with the earlier answers.

    >>> from stepgrad.teach.exercise_layers import generate_conv
    >>> quiz = LayerQuiz(generate_conv(seed=3).network)
    >>> for part in session(quiz):
    ...     print(part.title)
    1. Worked: w_d1[1,1], k1[1,1,1,1]
    2. Faded: w_d1[1,4], k1[1,1,1,2] (the last 2 steps are yours)
    3. Problem: w_d1[2,3], k1[1,1,2,2]
    >>> quiz.answer("dE_total/dk1[1,1,1,2]", "0.5").verdict
    'wrong'

The parts follow teach/study.py: each part is about a parameter of the last layer and one of the first layer
with parameters (spread over their entries, so that an rnn's Wh or an attention head's Wk comes up), and shows
only what an earlier part did not: (1) worked, every step shown, a prompt on the first step of each rule in
each layer (prompts_layers.py); (2) faded, the last half of what is computed blank (backward fading);
(3) the problem, everything computed blank. A copy of one other quantity (dnet_c1/dk1 = x) is shown, unless
the quantity it copies is a blank (a line with a blank among its numbers would give the blank away).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stepgrad.core.errors import StepgradError
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.trace import Step
from stepgrad.teach import study
from stepgrad.teach.check import Report, Result, Rules, check, loads
from stepgrad.teach.check.solution import NUMBER_HINT, parse_number
from stepgrad.teach.prompts import Prompt
from stepgrad.teach.prompts_layers import layer_prompt
from stepgrad.teach.study import Part, three_parts
from stepgrad.tracing.layered import explain_layers

MAX_PART = 400  # steps of one part a page can show and a student can read


@dataclass
class LayerQuiz:
    """One layer-table network's step and the answers given so far (as written)."""

    net: LayerNetwork
    answers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.net.require_samples("<study>")
        self.trace = explain_layers(self.net)

    def answer(self, name: str, text: str) -> Result:
        """Record the answer to `name` and return the checker's verdict on it (every other answer the student's own)."""
        if parse_number(text) is None:
            raise StepgradError(f"{text.strip()!r} is not a number ({NUMBER_HINT})")
        self.answers[name] = text.strip()
        return next(r for r in self.report().results if r.name == name)

    def report(self) -> Report:
        """The checker's report on every answer given so far (practice: nothing is required)."""
        solution = "".join(f"{name} = {text}\n" for name, text in self.answers.items())
        return check(self.net, loads(solution, source="<study>"), rules=Rules(required="none"))

    def prompt(self, step: Step) -> Prompt:
        """The step's self-explanation prompt (its rule among the rules it is mixed up with)."""
        return layer_prompt(self.trace, step)


def _entries(quiz: LayerQuiz, bases: set[str]) -> list[str]:
    """The parameter entries (k1[1,1,1,1], ...) of these parameter names that the step updates, in its order."""
    return [s.name[:-1] for s in quiz.trace.section("update").steps if s.text and s.name.split("[")[0] in bases]


def foci(quiz: LayerQuiz) -> list[list[str]]:
    """Three pairs (an entry of the last layer with parameters, an entry of the first): worked, faded, problem."""
    layers = [layer for layer in quiz.trace.meta["layers"] if layer["parameter_names"]]
    if not layers:
        raise StepgradError("this network has no parameters to study", where="spec")
    last = _entries(quiz, set(layers[-1]["parameter_names"].values()))
    first = _entries(quiz, set(layers[0]["parameter_names"].values())) if len(layers) > 1 else []
    if not last:
        raise StepgradError("this network updates no parameter of its last layer: nothing to study", where="spec")
    return [[last[k * len(last) // 3], *([first[k * len(first) // 3]] if first else [])] for k in range(3)]


def session(quiz: LayerQuiz) -> list[Part]:
    """The three parts (teach/study.py's Part): worked, faded (the last half of what is computed blank), problem."""
    seen: set[str] = set()
    found: list[tuple[list[str], list[Step]]] = []
    for focus in foci(quiz):
        steps = [s for s in quiz.trace.select(focus) if s.text and s.name not in seen]
        seen |= {s.name for s in steps}
        found.append((focus, steps))
    parts = three_parts(found)
    biggest = max(len(p.steps) for p in parts)
    if biggest > MAX_PART:
        raise StepgradError(f"this network is too big for study mode: a part would have {biggest} steps (at most "
                            f"{MAX_PART}); study a smaller one (stepgrad exercise --layers ... gives one)", where="spec")
    return parts


def prompted(quiz: LayerQuiz, part: Part) -> set[str]:
    """The worked steps that get a prompt: the first of each rule in each layer's section (not every position)."""
    section = {s.name: sec.key for sec in quiz.trace.sections for s in sec.steps}
    asked: set[tuple[str, str]] = set()
    chosen = set()
    for step in part.steps:
        if step.name in part.blanks:
            continue
        key = (section[step.name], quiz.prompt(step).rule)
        if key not in asked:
            asked.add(key)
            chosen.add(step.name)
    return chosen


def run(net: LayerNetwork, *, read: study.Read, write: study.Write, digits: int = 9) -> int:
    """`stepgrad quiz --study` on a layer-table network; the exit status: 0 every blank right (or carried forward)."""
    from stepgrad.formats.formula import equation

    quiz = LayerQuiz(net)
    plan = session(quiz)
    write(f"stepgrad quiz --study: a worked example ({', '.join(plan[0].focus)}), a faded one "
          f"({', '.join(plan[1].focus)}), then a problem ({', '.join(plan[2].focus)}).")
    write("Answer a prompt by its letter, a blank by its value; s skips, q stops.")
    results: list[Result] = []
    try:
        for part in plan:
            write(f"\n== {part.title} ==")
            asked = prompted(quiz, part)
            for step in part.steps:
                if step.name in part.blanks:
                    study.ask_blank(quiz, step, read, write, results, quiz.prompt)
                    continue
                write(equation(step, quiz.trace, digits, "text"))
                if step.name in asked:
                    study.ask_rule(step, read, write, quiz.prompt)
    except study.Stop:
        pass
    good = sum(r.verdict in ("correct", "follows") for r in results)
    write(f"\n{good} of {len(results)} blanks right (or right from your own earlier values).")
    return 0 if results and good == len(results) else 1


__all__ = ["LayerQuiz", "MAX_PART", "foci", "prompted", "run", "session"]
