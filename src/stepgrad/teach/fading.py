"""Faded worked examples: the derivation with its last stages left blank (backward fading), every remaining
step followed by a self-explanation prompt (prompts.py).

    >>> from stepgrad.teach.exercise import generate
    >>> faded = fade(generate(seed=7), 3)             # the last three stages blank: from the new weights on
    >>> faded.blanks[:2]
    ('w1+', 'w2+')
    >>> "Which rule gives net_h1?" in faded.sheet("markdown")
    True
    >>> len(sequence(generate(seed=7)))               # worked, then one more stage blank each, then the problem
    8
    >>> fade(generate(seed=7), names="dE_total/dw*").blanks[:2]   # or chosen quantities
    ('dE_total/dw5', 'dE_total/dw6')

A stage is one section of the derivation after the given numbers: the forward pass, the error, each
layer's backward pass, the new weights, the forward pass and the error with the new weights. The
solution template holds the worked steps' values already written (the student's own values, as far as
`stepgrad check` is concerned: a slip in a blank is carried forward like any other) and a blank line
for every faded step; check.toml requires the blanks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property

from stepgrad.core.errors import StepgradError
from stepgrad.core.trace import SLOT, Section, Step, Trace
from stepgrad.teach.exercise import _WRITERS, EXTENSIONS, Exercise, _sheet_blocks
from stepgrad.teach.prompts import Prompt, prompt
from stepgrad.tracing.derive import derive


def written(step: Step, values: Mapping[str, float], value: float, show: Callable[[float], str]) -> str:
    """'name = formula = the numbers = value' (a copy, dnet_o1/dw5 = out_h1, without the numbers line);
    a negative number substituted is in parentheses (exp(-(-1.1)), never exp(--1.1))."""
    formula = step.fill("text", lambda n: n)
    if SLOT.fullmatch(step.text):
        return f"{step.name} = {formula} = {show(value)}"
    numbers = step.fill("text", lambda n: f"({show(values[n])})" if values[n] < 0 else show(values[n]))
    return f"{step.name} = {formula} = {numbers} = {show(value)}"


def order_note(exercise: Exercise) -> str:
    """The update order the worked solution follows, said on the sheet (the other order gives other hidden gradients)."""
    if exercise.network.depth == 1:
        return "One layer of weights: every gradient comes from the weights before the update."
    if str(exercise.trace.meta.get("update_order", exercise.network.update_order)) == "sequential":
        return ("The sequential update order: each layer's weights are updated before the layer below computes "
                "its gradients, which use the new weights.")
    return "The synchronous update order: every gradient comes from the old weights; all weights are updated after."


def stages(trace: Trace) -> list[Section]:
    """The derivation's stages: its sections after the given numbers."""
    return [s for s in trace.sections if s.key != "given" and s.steps]


@dataclass(frozen=True)
class Faded:
    """One faded worked example: the exercise, and how many stages at the end are blank (or, with `chosen`, the
    quantities matching these name patterns)."""

    exercise: Exercise
    fade: int
    chosen: tuple[str, ...] = ()

    @cached_property
    def trace(self) -> Trace:
        return derive(self.exercise.trace)

    @property
    def worked(self) -> list[Section]:
        all_stages = stages(self.trace)
        return all_stages[:len(all_stages) - self.fade]

    @property
    def faded(self) -> list[Section]:
        all_stages = stages(self.trace)
        return all_stages[len(all_stages) - self.fade:] if self.fade else []

    @cached_property
    def blanks(self) -> tuple[str, ...]:
        """The names the student computes, in the derivation's order."""
        if self.chosen:
            from stepgrad.teach.check.required import required

            wanted = set(required(self.trace, self.chosen)) | set(self.chosen)
            return tuple(s.name for s in self.trace if s.text and s.name in wanted)
        return tuple(s.name for sec in self.faded for s in sec.steps if s.text)

    @property
    def prompts(self) -> list[Prompt]:
        """A self-explanation prompt for every worked step."""
        blank = set(self.blanks)
        return [prompt(s) for sec in stages(self.trace) for s in sec.steps if s.text and s.name not in blank]

    def show(self, value: float) -> str:
        """A value as the sheet writes it: the rounding of hand mode, else 9 significant digits."""
        rounding = self.exercise.round_to
        return f"{value:.{rounding}f}" if rounding is not None else f"{value:.9g}"

    def worked_lines(self, step: Step) -> list[str]:
        """name = formula = the numbers = value, and the derivation lines of a local derivative."""
        lines = [written(step, self.trace.values, step.value, self.show)]
        for line in step.derivation:
            lines.append(f"    ({line.rule}) = {line.text.replace('«', '').replace('»', '')}")
        return lines

    def template(self) -> str:
        """The solution template: the worked steps' values written, a blank line for every faded step."""
        rounding = f" --round {self.exercise.round_to}" if self.exercise.round_to is not None else ""
        lines = [f"# Faded worked example (seed {self.exercise.seed}, last {self.fade} stage(s) blank): "
                 "the worked values are written; fill in each blank after its '='.",
                 f"# Check it with: stepgrad check --network network.toml{rounding} solution.txt", ""]
        width = max(len(s.name) for s in self.trace)
        blank = set(self.blanks)
        for sec in stages(self.trace):
            lines.append(f"# {sec.title}")
            for s in sec.steps:
                lines.append(f"{s.name:<{width}} =" + ("" if s.name in blank or not s.text else f" {self.show(s.value)}"))
            lines.append("")
        return "\n".join(lines)

    def blocks(self, student: str | None = None) -> list[tuple]:
        """The sheet as the exercise writers' blocks: the network, the worked stages with prompts, the blanks."""
        head = _sheet_blocks(self.exercise, student)[:6]  # title, description, weights, inputs
        title = head[0][1].replace("Backpropagation exercise", "Faded worked example")
        blocks: list[tuple] = [("h1", title), head[1], ("p", order_note(self.exercise)), *head[2:]]
        yours = (f"The first {len(self.worked)} stage(s) are worked for you; after each step, answer its question "
                 f"(which rule gives it, and why). The last {self.fade} stage(s) are yours"
                 if not self.chosen else
                 f"Every step is worked for you but {len(self.blanks)} left blank; after each worked step, answer its "
                 "question (which rule gives it, and why). The blanks are yours")
        blocks.append(("p", yours + ": write each value into solution-template.txt."))
        blank = set(self.blanks)
        for sec in stages(self.trace):
            derived = [s for s in sec.steps if s.text]
            if derived and all(s.name in blank for s in derived):
                blocks.append(("h2", f"{sec.title} (yours)"))
                blocks.append(("code", [f"{s.name} = ____________" for s in derived]))
                continue
            blocks.append(("h2", sec.title))
            for step in derived:
                if step.name in blank:
                    blocks.append(("code", [f"{step.name} = ____________"]))
                    continue
                blocks.append(("code", self.worked_lines(step)))
                p = prompt(step)
                choices = "  ".join(f"( ) {c}" for c in p.choices)
                blocks.append(("p", f"{p.question}  {choices}.  {p.why}"))
        return blocks

    def sheet(self, fmt: str = "markdown", student: str | None = None) -> str:
        """The faded sheet in `fmt` (markdown, latex, html, text)."""
        return _WRITERS[fmt](self.blocks(student), fmt)

    def key(self, fmt: str = "markdown") -> str:
        """The key: the blanks' values and every prompt's rule."""
        what = f"{self.fade} stage(s) blank" if not self.chosen else f"{len(self.blanks)} quantities blank"
        blocks: list[tuple] = [("h1", f"Key: faded worked example (seed {self.exercise.seed}, {what})")]
        if self.blanks:
            steps = {s.name: s for s in self.trace}
            blocks += [("h2", "The blanks"), ("code", [line for name in self.blanks for line in self.worked_lines(steps[name])])]
        if self.prompts:
            blocks += [("h2", "The prompts"), ("table", ("quantity", "rule"), [(p.name, p.rule) for p in self.prompts])]
        return _WRITERS[fmt](blocks, fmt)

    def files(self, fmt: str = "markdown", student: str | None = None) -> dict[str, str]:
        """File name -> contents: the faded sheet, its key, the solution template, network and check.toml."""
        from stepgrad.core.persist import dumps

        ext = EXTENSIONS[fmt]
        rules = {"require": ",".join(b.replace("[", "[[]") for b in self.blanks) if self.blanks else "none"}  # literal [k]
        check = "[check]\n" + f"require = \"{rules['require']}\"\n"
        if self.exercise.round_to is not None:
            check += f"round = {self.exercise.round_to}\n"
        return {f"faded.{ext}": self.sheet(fmt, student), f"faded-key.{ext}": self.key(fmt),
                "solution-template.txt": self.template(), "network.toml": dumps(self.exercise.network),
                "check.toml": check}


def fade(exercise: Exercise, count: int = 0, names: str | None = None) -> Faded:
    """The exercise's derivation with its last `count` stages blank (0: fully worked), or with the quantities
    matching `names` blank (comma-separated name patterns: "dE_total/dw*,w*+")."""
    if names is not None:
        chosen = tuple(p.strip() for p in names.split(",") if p.strip())
        faded = Faded(exercise, 0, chosen)
        if not chosen or not faded.blanks:
            raise StepgradError(f"no quantity of this derivation matches {names!r} (see `stepgrad names`)",
                                where="--fade-names")
        return faded
    total = len(stages(exercise.trace))
    if not 0 <= count <= total:
        raise StepgradError(f"this derivation has {total} stages: fade 0 to {total} of them, got {count}", where="--fade")
    return Faded(exercise, count)


def sequence(exercise: Exercise) -> list[Faded]:
    """Backward fading: fully worked, then one more stage blank each, down to the problem alone."""
    return [Faded(exercise, k) for k in range(len(stages(exercise.trace)) + 1)]
