"""Faded worked examples on layer-table networks (conv, rnn, attention, layernorm, batchnorm): a worked example on
one problem, a faded one on another (its last stages blank: backward fading, as teach/fading.py fades a dense
derivation), then a problem on a third; self-explanation prompts after every derived line (prompts_layers.py).

    >>> course = worked_faded_problem("conv", seed=3, fade=3)
    >>> [ex.seed for ex in course.exercises]                  # three problems: seed, seed + 1, seed + 2
    [3, 4, 5]
    >>> course.faded.blanks[0], course.faded.blanks[-1]       # the last three stages: from dE_total/dout_p1 on
    ('dE_total/dout_p1[1,1,1]', 'b_d1[2]+')
    >>> "Which rule gives net_c1[1,1,1]?" in course.worked.sheet("text")
    True

A stage is a section of the derivation after the given numbers (each layer's forward pass, the error, each
layer's backward pass, the update). The faded example's solution template holds the worked stages' values
already written (the student's own values as far as `stepgrad check` is concerned: a slip in a blank is
carried forward like any other) and a blank for every faded step; its check.toml requires the blanks, and
faded-key-values.txt holds exactly the blanks' values. The worked stages show the lecture's view (one
position of each map derived in full, the rest as grids and tables: formats/maps.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from stepgrad.core import names
from stepgrad.core.errors import StepgradError
from stepgrad.core.trace import Section, Step, Trace
from stepgrad.formats.formula import equation
from stepgrad.formats.maps import ENTRIES, Block, Equations, Heading, Paragraph, Table
from stepgrad.formats.maps_seq import blocks
from stepgrad.teach.exercise_layers import FORMATS
from stepgrad.teach.exercise_layers import write_blocks as write
from stepgrad.teach.prompts import Prompt
from stepgrad.teach.prompts_layers import layer_prompt

EXTENSIONS = FORMATS  # one list of sheet formats for the conv exercise and its faded set
BLANK = "________________"  # a line to write on (escaped by each writer)
KINDS = ("conv", "rnn", "attention", "layernorm", "batchnorm")


def draw(kind: str, seed: int, shape: str = "basic") -> Any:
    """The exercise of `kind` (conv: of `shape`) for `seed`: a ConvExercise or a SequenceExercise."""
    if kind == "conv":
        from stepgrad.teach.exercise_layers import generate_conv

        return generate_conv(seed, shape)
    from stepgrad.teach.exercise_sequences import generate_sequence

    return generate_sequence(kind, seed)


def stages(trace: Trace) -> list[Section]:
    """The derivation's stages: its sections after the given numbers that derive something."""
    return [s for s in trace.sections if s.key != "given" and any(st.text for st in s.steps)]


def _sections(trace: Trace, digits: int) -> tuple[list[Block], dict[str, list[Block]]]:
    """The explanation's blocks: those before the first stage (conventions, the given numbers), and each stage's
    blocks by its section key (a stage's blocks start at its heading)."""
    by_title = {sec.title: sec.key for sec in stages(trace)}
    head: list[Block] = []
    parts: dict[str, list[Block]] = {}
    current: list[Block] = head
    for block in blocks(trace, digits):
        if isinstance(block, Heading) and block.text in by_title:
            current = parts.setdefault(by_title[block.text], [])
        current.append(block)
    return head, parts


YOURS = "(yours)"


def _redacted(block: Block, blank: set[str]) -> Block | None:
    """A worked stage's block without the blanks' values: a backward section derives each parameter's update
    too (the update stage's quantity), and its table of the other entries lists their new values."""
    if isinstance(block, Equations):
        keep = [k for k, line in enumerate(block.text) if line.split(" = ", 1)[0] not in blank]
        if not keep:
            return None
        return Equations(tuple(block.text[k] for k in keep), tuple(block.latex[k] for k in keep),
                         tuple(block.notes[k] for k in keep))
    if isinstance(block, Table):
        rows = []
        for row in block.rows:
            cells = list(row)
            if block.header == ENTRIES:  # name, value, dE_total/d(name), new value
                entry = cells[0]
                for k, name in ((2, names.gradient(entry)), (3, names.updated(entry))):
                    if name in blank:
                        cells[k] = YOURS
            else:  # (name, value) pairs
                for k in range(len(cells) - 1):
                    if cells[k] in blank:
                        cells[k + 1] = YOURS
            rows.append(tuple(cells))
        return Table(block.header, tuple(rows))
    return block


@dataclass(frozen=True)
class LayerFaded:
    """One layer-table exercise with its last `fade` stages blank (0: fully worked, every stage: the problem alone)."""

    exercise: Any  # a ConvExercise or a SequenceExercise
    fade: int
    digits: int = 4  # the worked lines' precision on the sheet (the template carries 9 significant digits)

    @property
    def trace(self) -> Trace:
        return self.exercise.trace

    @property
    def worked(self) -> list[Section]:
        """The stages shown worked (all but the last `fade`)."""
        all_stages = stages(self.trace)
        return all_stages[:len(all_stages) - self.fade]

    @property
    def faded(self) -> list[Section]:
        all_stages = stages(self.trace)
        return all_stages[len(all_stages) - self.fade:] if self.fade else []

    @cached_property
    def blanks(self) -> tuple[str, ...]:
        """The names the student computes, in the derivation's order."""
        return tuple(s.name for sec in self.faded for s in sec.steps if s.text)

    @cached_property
    def _blocks(self) -> tuple[list[Block], dict[str, list[Block]]]:
        return _sections(self.trace, self.digits)

    @cached_property
    def shown(self) -> tuple[str, ...]:
        """The worked steps the sheet derives line by line (each followed by its prompt), in order."""
        blank = set(self.blanks)
        found: list[str] = []
        for sec in self.worked:
            for block in self._blocks[1].get(sec.key, []):
                if isinstance(block, Equations):
                    found += [line.split(" = ", 1)[0] for line in block.text]
        return tuple(n for n in found if n not in blank and self.trace.step(n).text)

    @property
    def prompts(self) -> list[Prompt]:
        """A self-explanation prompt for every worked step the sheet derives."""
        return [layer_prompt(self.trace, self.trace.step(n)) for n in self.shown]

    def worked_lines(self, step: Step) -> list[str]:
        """name = formula = the numbers = value."""
        return [equation(step, self.trace, self.digits, "text")]

    def show(self, value: float) -> str:
        return f"{value:.9g}"

    def _stage_blocks(self, sec: Section) -> list[Block]:
        blank = set(self.blanks)
        derived = [s for s in sec.steps if s.text]
        if derived and all(s.name in blank for s in derived):
            return [Heading(f"{sec.title} (yours)"),
                    Table(("quantity", "your value"), tuple((s.name, BLANK) for s in derived))]
        out: list[Block] = []
        for shown in self._blocks[1].get(sec.key, []):
            block = _redacted(shown, blank)
            if block is None:
                continue
            out.append(block)
            if isinstance(block, Equations):
                for line in block.text:
                    name = line.split(" = ", 1)[0]
                    if name in blank or not self.trace.step(name).text:
                        continue
                    p = layer_prompt(self.trace, self.trace.step(name))
                    choices = "  ".join(f"( ) {c}" for c in p.choices)
                    out.append(Paragraph(f"{p.question}  {choices}.  {p.why}"))
        return out

    def items(self) -> list[Block]:
        """The sheet's blocks: the conventions and given numbers, the worked stages with prompts, the blanks."""
        if not self.blanks:
            yours = ("Every step is worked for you: after each derived line, answer its question (which rule gives "
                     "it, and why).")
        else:
            yours = (f"The first {len(self.worked)} stage(s) are worked for you; after each derived line, answer its "
                     f"question (which rule gives it, and why). The last {self.fade} stage(s) are yours: write each "
                     "value into solution-template.txt, where the worked values are already written.")
        out: list[Block] = [*self._blocks[0], Paragraph(yours)]
        for sec in stages(self.trace):
            out += self._stage_blocks(sec)
        return out

    def title(self, student: str | None = None) -> str:
        kind = "Worked example" if not self.blanks else "Faded worked example"
        return f"{kind} ({student})" if student else f"{kind} (seed {self.exercise.seed})"

    def sheet(self, fmt: str = "markdown", student: str | None = None) -> str:
        """The sheet in `fmt` (markdown, latex, html, text)."""
        return write(fmt, self.title(student), self.items())

    def template(self) -> str:
        """The solution template: the worked steps' values written, a blank line for every faded step."""
        lines = [f"# {self.title()}: the worked values are written; fill in each blank after its '='.",
                 "# Check it with: stepgrad check --network network.json solution-template.txt", ""]
        blank = set(self.blanks)
        for sec in stages(self.trace):
            lines.append(f"# {sec.title}")
            lines += [f"{s.name} =" + ("" if s.name in blank else f" {self.show(s.value)}") for s in sec.steps if s.text]
            lines.append("")
        return "\n".join(lines)

    def key_values(self) -> str:
        """Exactly the blanks, each with its value (what `stepgrad check` marks all correct)."""
        return "".join(f"{name} = {self.trace.step(name).value:.9g}\n" for name in self.blanks)

    def key(self, fmt: str = "markdown") -> str:
        """The key: every blank derived, and every prompt's rule."""
        items: list[Block] = []
        if self.blanks:
            steps = [self.trace.step(n) for n in self.blanks]
            items += [Heading("The blanks"), Equations(tuple(equation(s, self.trace, 9, "text") for s in steps),
                                                      tuple(equation(s, self.trace, 9, "latex") for s in steps),
                                                      ("",) * len(steps))]
        if self.prompts:
            items += [Heading("The prompts"), Table(("quantity", "rule"), tuple((p.name, p.rule) for p in self.prompts))]
        return write(fmt, f"Key: {self.title()[0].lower()}{self.title()[1:]}", items)

    def files(self, fmt: str = "markdown", student: str | None = None) -> dict[str, str]:
        """faded.EXT, faded-key.EXT, faded-key-values.txt, solution-template.txt, network.json and check.toml."""
        ext = EXTENSIONS[fmt]
        require = require_rule(self.trace, self.blanks)
        return {f"faded.{ext}": self.sheet(fmt, student), f"faded-key.{ext}": self.key(fmt),
                "faded-key-values.txt": self.key_values(), "solution-template.txt": self.template(),
                "network.json": json.dumps(self.exercise.spec, indent=2) + "\n",
                "check.toml": f'[check]\nrequire = "{require}"\n'}


def require_rule(trace: Trace, blanks: tuple[str, ...]) -> str:
    """check.toml's `require` for exactly these names: name patterns split at commas, so a position's commas are
    matched by ? and its [ by [[]; refused if the patterns would match any other quantity of the trace."""
    from stepgrad.teach.check.required import required

    if not blanks:
        return "none"
    rule = ",".join(b.replace("[", "[[]").replace(",", "?") for b in blanks)
    if required(trace, rule) != list(blanks):
        raise StepgradError("the blanks cannot be named exactly by check.toml's name patterns", where="--fade")
    return rule


def fade_layers(exercise: Any, count: int = 0) -> LayerFaded:
    """The exercise with its last `count` stages blank."""
    total = len(stages(exercise.trace))
    if not 0 <= count <= total:
        raise StepgradError(f"this derivation has {total} stages: fade 0 to {total} of them, got {count}", where="--fade")
    return LayerFaded(exercise, count)


@dataclass(frozen=True)
class Course:
    """Worked -> faded -> problem: three exercises of one kind, the first worked, the second faded."""

    worked: LayerFaded
    faded: LayerFaded
    problem: Any

    @property
    def exercises(self) -> list[Any]:
        return [self.worked.exercise, self.faded.exercise, self.problem]

    def items(self) -> list[Block]:
        """The three parts as one document's blocks."""
        return [Heading(f"Part 1: {self.worked.title()}"), *self.worked.items(),
                Heading(f"Part 2: {self.faded.title()}"), *self.faded.items(),
                Heading(f"Part 3: problem (seed {self.problem.seed})"), *self.problem_items()]

    def problem_items(self) -> list[Block]:
        head = _sections(self.problem.trace, 4)[0]
        return [*head, Paragraph("Compute one training step by hand: the forward pass, the error, every gradient and "
                                 "the new parameters, and write them into solution-template.txt.")]

    def sheet(self, fmt: str = "markdown", student: str | None = None) -> str:
        """All three parts in one document."""
        who = f" ({student})" if student else ""
        return write(fmt, f"Worked, faded, then yours{who}", self.items())

    def files(self, fmt: str = "markdown", digits: int = 9, student: str | None = None) -> dict[str, str]:
        """1-worked/, 2-faded/ and 3-problem/ with their sheets, keys, templates and networks."""
        ext = EXTENSIONS[fmt]
        files = {f"1-worked/worked.{ext}": self.worked.sheet(fmt, student),
                 f"1-worked/worked-key.{ext}": self.worked.key(fmt)}  # the prompts' rules
        files |= {f"2-faded/{n}": t for n, t in self.faded.files(fmt, student).items()}
        problem = self.problem.files(fmt, digits)
        problem[f"sheet.{ext}"] = self.problem.sheet(fmt, student=student) if student else problem[f"sheet.{ext}"]
        files |= {f"3-problem/{n}": t for n, t in problem.items()}
        return files


def worked_faded_problem(kind: str, seed: int = 0, fade: int | None = None, shape: str = "basic") -> Course:
    """Worked (seed), faded (seed + 1: its last `fade` stages blank, None: half of them) and a problem (seed + 2),
    all of one kind (KINDS; conv: of `shape`)."""
    if kind not in KINDS:
        raise StepgradError(f"expected one of {', '.join(KINDS)}, got {kind!r}", where="--layers")
    worked = draw(kind, seed, shape)
    second = draw(kind, seed + 1, shape)
    count = len(stages(second.trace)) // 2 if fade is None else fade
    return Course(LayerFaded(worked, 0), fade_layers(second, count), draw(kind, seed + 2, shape))


__all__ = ["KINDS", "Course", "LayerFaded", "draw", "fade_layers", "require_rule", "stages", "worked_faded_problem"]
