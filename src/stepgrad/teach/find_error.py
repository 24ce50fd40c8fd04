"""Find the error: a complete worked solution with planted mistakes from the diagnosis catalogue, and its marking.

    >>> from stepgrad.teach.exercise import generate
    >>> sheet = plant(generate(seed=7), keys=("learning_rate",))
    >>> p = sheet.planted[0]
    >>> p.key, p.name
    ('learning_rate', 'w1+')

The answer is marked by stepgrad.teach.find_error_mark (line found, mistake named, corrected value).

Each mistake is made the way a student makes it: the step recomputed with the mistake applied (the
catalogue's own recomputation, diagnoses.py), and every later step recomputed from the mistaken value,
so the rest of the sheet is consistent with it. A sheet is kept only when `stepgrad check` finds the planted
line wrong and names the planted mistake, and every other line correct or carried forward.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

from stepgrad.core.errors import StepgradError
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.teach.check import check
from stepgrad.teach.check.context import Context, build, traces
from stepgrad.teach.check.diagnoses import MISTAKES, Mistake
from stepgrad.teach.check.solution import Solution, loads
from stepgrad.teach.exercise import _WRITERS, EXTENSIONS, Exercise, _sheet_blocks
from stepgrad.teach.fading import order_note, written

TRIES = 40  # candidate mistakes tried per planted line before giving up
ANSWER_DIGITS = 3  # a corrected value needs this many significant digits (as the LMS exports ask)
MIN_RELATIVE = 0.02  # a planted mistake moves the value by at least 2 %: visible to a careful reader
MAX_FACTOR = 100.0  # ... and by no more than a factor 100 (a decimal point moved twice at most)


@dataclass(frozen=True)
class Planted:
    """One planted mistake: the line, the quantity, the catalogue's key and label, the value shown, the right one."""

    line: int
    name: str
    key: str
    label: str
    detail: str
    value: float
    corrected: float


@dataclass(frozen=True)
class ErrorSheet:
    """A worked solution (`values`: what it shows for every derived step) with `planted` mistakes."""

    exercise: Exercise
    values: dict[str, float]
    planted: tuple[Planted, ...]

    @property
    def kind(self) -> str:
        """"dense" or "layers" (a layer-table network: conv, rnn, attention, normalization): its catalogue."""
        return "layers" if isinstance(self.exercise.network, LayerNetwork) else "dense"

    @cached_property
    def numbered(self) -> list[str]:
        """The derived steps in the order the sheet numbers its lines (line k is numbered[k - 1])."""
        return [s.name for s in self.exercise.trace if s.text]

    def show(self, value: float) -> str:
        rounding = self.exercise.round_to
        return f"{value:.{rounding}f}" if rounding is not None else f"{value:.9g}"

    def solution_lines(self) -> list[str]:
        """'12. dE_total/dw5 = dE_total/dout_o1 * ... = 0.741 * ... = 0.0822': every line, numbered."""
        steps = {s.name: s for s in self.exercise.trace}
        shown = {**self.exercise.trace.values, **self.values}
        width = len(str(len(self.numbered)))
        return [f"{k:>{width}}. " + written(steps[name], shown, self.values[name], self.show)
                for k, name in enumerate(self.numbered, 1)]

    def solution_blocks(self, student: str | None = None) -> list[tuple]:
        """The sheet's first part (document blocks): the network and the worked solution with its numbered lines."""
        head = _sheet_blocks(self.exercise, student)[:6] if self.kind == "dense" else _layer_head(self.exercise, student)
        title = head[0][1].replace("Backpropagation exercise", "Find the error")
        n = len(self.planted)
        task = ("This worked solution has one mistake; every line after it is computed correctly from the lines "
                "above it." if n == 1 else
                f"This worked solution has {n} mistakes; every other line is computed correctly from the lines above it.")
        order = order_note(self.exercise) if self.kind == "dense" else "Every gradient comes from the old parameters."
        return [("h1", title), head[1], ("p", order), *head[2:],
                ("h2", "The worked solution"), ("p", task), ("code", self.solution_lines())]

    def sheet(self, fmt: str = "markdown", student: str | None = None) -> str:
        """The sheet: the network, the worked solution with its numbered lines, the task and the mistakes to name."""
        n = len(self.planted)
        blocks: list[tuple] = [*self.solution_blocks(student), ("h2", "Your task"),
                               ("ol", ["Find the first wrong line (its number or its quantity)." if n == 1 else
                                       "Find each wrong line, first to last (its number or its quantity).",
                                       "Name the mistake: its number or its name in the list below.",
                                       "Write the value the line should have, computed from the lines above it."]),
                               ("p", "Write your answers into answer-template.txt."),
                               ("h2", "The mistakes"), ("ol", [m.label for m in catalogue(self.kind)])]
        return _WRITERS[fmt](blocks, fmt)

    def template(self) -> str:
        """The answer template that `stepgrad check` marks: line, mistake and corrected value per mistake."""
        lines = ["# Find the error: write the wrong line (number or quantity), the mistake (number or name in the",
                 f"# sheet's list) and the corrected value. Check it with: stepgrad check --network {self.network_file} answer.txt",
                 ""]
        for k in range(1, len(self.planted) + 1):
            suffix = "" if len(self.planted) == 1 else f" {k}"
            lines += [f"line{suffix} =", f"mistake{suffix} =", f"corrected{suffix} =", ""]
        return "\n".join(lines)

    def key(self) -> dict[str, Any]:
        """The key as plain data (find-error.json): the planted mistakes, the numbered lines and the values the
        sheet shows (for a corrected value carried forward from the student's own earlier corrections)."""
        found = {"find_error": 1, "seed": self.exercise.seed, "round": getattr(self.exercise, "round_to", None),
                 "lines": self.numbered, "planted": [asdict(p) for p in self.planted],
                 "shown": {name: float(self.show(v)) for name, v in self.values.items()}}
        return found | ({"catalogue": self.kind} if self.kind != "dense" else {})

    def key_text(self, fmt: str = "markdown") -> str:
        blocks: list[tuple] = [("h1", f"Key: find the error (seed {self.exercise.seed})"),
                               ("table", ("line", "quantity", "mistake", "shown", "right"),
                                [(str(p.line), p.name, f"{p.label}: {p.detail}", self.show(p.value),
                                  self.show(p.corrected)) for p in self.planted])]
        return _WRITERS[fmt](blocks, fmt)

    def files(self, fmt: str = "markdown", student: str | None = None) -> dict[str, str]:
        """File name -> contents: the sheet, its key (readable and find-error.json), the answer template, network."""
        from stepgrad.core.persist import dumps

        ext = EXTENSIONS[fmt]
        network = {self.network_file: dumps(self.exercise.network) if self.kind == "dense" else
                   json.dumps(self.exercise.network.spec, indent=1) + "\n"}  # type: ignore[attr-defined]
        return {f"find-error.{ext}": self.sheet(fmt, student), f"find-error-key.{ext}": self.key_text(fmt),
                "find-error.json": json.dumps(self.key(), indent=2) + "\n", "answer-template.txt": self.template(),
                **network}

    @property
    def network_file(self) -> str:
        """network.toml, or network.json for a layer-table network (its spec as given)."""
        return "network.toml" if self.kind == "dense" else "network.json"


def _layer_head(exercise: Exercise, student: str | None) -> list[tuple]:
    """The sheet's head for a layer-table network: its layers, one line each, and every given number."""
    net = exercise.network
    title = f"Backpropagation exercise (seed {exercise.seed})" if student is None else \
        f"Backpropagation exercise for {student}"
    layers = "; ".join(layer.describe() for layer in net.layers)  # type: ignore[attr-defined]
    given = [(s.name, f"{s.value:.6g}") for s in exercise.trace if not s.text]
    return [("h1", title), ("p", f"The network (network.toml): {layers}. Loss: {net.loss.replace('_', ' ')}."),
            ("h2", "The given numbers"), ("table", ("name", "value"), given)]


def catalogue(kind: str = "dense") -> list[Mistake]:
    """The mistakes a sheet can plant and name: the checker's catalogue for this kind of network ("dense", or
    "layers": a layer-table network's conv, pooling, rnn, attention and normalization mistakes), in its order."""
    return [m for m in MISTAKES if kind in m.networks]


def _solution(values: dict[str, float], show) -> Solution:
    return loads("\n".join(f"{name} = {show(v)}" for name, v in values.items()), "text", "<find-error>")


def plant(exercise: Exercise, count: int = 1, seed: int = 0, keys: tuple[str, ...] | None = None) -> ErrorSheet:
    """A worked solution of `exercise` with `count` mistakes from the catalogue (`keys`: only these), each checked
    to be found and named by the checker. StepgradError when no such mistake fits this network."""
    if not 1 <= count <= 5:
        raise StepgradError(f"plant 1 to 5 mistakes, got {count}", where="--find-error")
    kind = "layers" if isinstance(exercise.network, LayerNetwork) else "dense"
    known = {m.key for m in catalogue(kind)}
    unknown = [k for k in keys or () if k not in known]
    if unknown:
        raise StepgradError(f"no mistake named {unknown[0]!r} in the catalogue; see the sheet's list", where="--mistakes")
    net, rounding = exercise.network, exercise.round_to
    prepared = traces(net, None, rounding)
    steps = [s for s in exercise.trace if s.text]
    rng = random.Random(seed)
    sheet = ErrorSheet(exercise, {s.name: s.value for s in steps}, ())
    fixed: dict[str, float] = {}  # what the sheet shows up to the last planted line; the rest follows from it
    for k in range(count):
        start = 0 if not sheet.planted else sheet.planted[-1].line + 2  # leave a correct line between two mistakes
        # the lines left must hold the mistakes still to plant
        found = _plant_one(exercise, sheet, fixed, steps[start:len(steps) - 2 * (count - k - 1)], rng, keys, prepared)
        if found is None:
            what = f"the mistake {keys[0]!r}" if keys and len(keys) == 1 else "a known mistake"
            raise StepgradError(f"{what} cannot be planted in this network so that it can be found (mistake {k + 1} of "
                                f"{count}); try another seed or network", where="--find-error")
        sheet, fixed = found
    return sheet


def _plant_one(exercise: Exercise, sheet: ErrorSheet, fixed: dict[str, float], lines: list, rng: random.Random,
               keys: tuple[str, ...] | None, prepared) -> tuple[ErrorSheet, dict[str, float]] | None:
    net, rounding = exercise.network, exercise.round_to
    ctx = build(net, _solution(sheet.values, sheet.show), None, rounding, prepared)
    candidates = []
    for step in lines:
        for m in catalogue(sheet.kind):
            if keys and m.key not in keys:
                continue
            for value, detail in m.candidates(ctx, step, ctx.own):
                right = ctx.from_own[step.name]
                if _plausible(value, right):
                    candidates.append((step, m, value, detail, right))
    rng.shuffle(candidates)
    for step, m, value, detail, right in candidates[:TRIES]:
        mine = {**{n: v for n, v in sheet.values.items() if n in fixed or _before(exercise, n, step.name)},
                step.name: float(value)}
        world = _carried(ctx, mine, sheet.show, prepared)
        line = sheet.numbered.index(step.name) + 1
        planted = Planted(line, step.name, m.key, m.label, detail.replace("{value}", f"{value:.9g}"), float(value),
                          float(right))
        candidate = ErrorSheet(exercise, world, (*sheet.planted, planted))
        if _found(candidate, prepared):
            return candidate, mine
    return None


def _plausible(value: float, right: float) -> bool:
    """A mistake a reader can see (MIN_RELATIVE) and a student makes: no more than MAX_FACTOR off in size."""
    size = max(abs(right), 1e-3)
    if not math.isfinite(value) or abs(value - right) <= MIN_RELATIVE * size:
        return False
    if right == 0:  # a derivative of 0 taken as 1 (ReLU at a negative net): any size is a real mistake
        return True
    return abs(value) <= MAX_FACTOR * size and (value == 0 or abs(value) >= size / MAX_FACTOR)


def _before(exercise: Exercise, name: str, than: str) -> bool:
    order = [s.name for s in exercise.trace]
    return order.index(name) < order.index(than)


def _carried(ctx: Context, mine: dict[str, float], show, prepared) -> dict[str, float]:
    """Every derived value as a student who wrote `mine` computes the rest: each later step from their values."""
    world = build(ctx.net, _solution(mine, show), None, ctx.round_to, prepared)
    return {s.name: float(world.own[s.name]) for s in ctx.trace if s.text}


def _found(sheet: ErrorSheet, prepared) -> bool:
    """The checker marks each planted line wrong with its mistake named, and every other line correct or follows."""
    report = check(sheet.exercise.network, _solution(sheet.values, sheet.show), round_to=sheet.exercise.round_to,
                   prepared=prepared)
    planted = {p.name: p.key for p in sheet.planted}
    for r in report.results:
        if r.name in planted:
            if r.verdict != "wrong" or r.mistake != planted[r.name]:
                return False
        elif r.verdict not in ("correct", "follows", "close"):
            return False
    first = report.first_wrong
    return first is not None and first.name == sheet.planted[0].name
