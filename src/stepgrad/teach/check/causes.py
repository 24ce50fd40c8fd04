"""Why a written figure is off: the smallest explanation that reproduces it, found by redoing the arithmetic.

    >>> from stepgrad.teach.deck_figures import context
    >>> cause = find(context(), "net_o2", "1.22492136")
    >>> cause.kind, cause.copied
    ('digit dropped', '0.59326992')

The deck report (teach/deck_figures.py) asks `find` about every figure of the deck; the checker
(verdicts.py) asks `copying_slip` about a close or unexplained wrong answer, which names a cause only
when the student's own rounding cannot give the answer (see its docstring).

A figure is *reproduced* by a value when the value, rounded or truncated to the decimals the figure is
printed with, is the figure. Explanations are tried from the smallest up, and the first that
reproduces the figure is its cause:

1. rounding: the step's formula on its operands as printed (the writer's own figures, where they are
   right) or rounded/truncated to at least as many decimals as the figure has;
2. follows: the formula on the printed figures, one of which is itself a slip (carried forward);
3. the other update order's value;
4. a missing decimal point: the digits of the value, its decimal point left out;
5. another quantity's value, copied in its place;
6. one operand copied with one slip (two adjacent digits swapped, a digit dropped, a digit
   inserted, a digit changed), from its printed figure or from it rounded/truncated, where the slip
   moves the result by at least half a unit of the figure's last digit (a slip further down shows in
   no printed digit, so it explains nothing);
7. the figure itself written with one such slip;
otherwise *unexplained*, with how far the figure is from the exact value. Within one kind, a slip in
the operand's printed figure goes before one in its rounded form.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from weakref import ref

from stepgrad.core.spec import Network
from stepgrad.core.trace import Trace
from stepgrad.teach.check.context import Context
from stepgrad.teach.check.precision import Spread, consistent, matches, spreads
from stepgrad.teach.check.solution import Given, Solution

KINDS = ("correct", "rounding", "follows", "other update order", "decimal point missing", "another quantity",
         "digits swapped", "digit dropped", "digit inserted", "digit changed", "unexplained")
EDITS = ("digits swapped", "digit dropped", "digit inserted", "digit changed")  # most likely slip first
PLACES = range(2, 11)  # decimals an operand may be rounded or truncated to
MAX_WORLDS = 50_000  # operand combinations tried for rounding at most
# what the checker names in a student's answer: slips a careful marker recognises at sight
# (a digit changed or inserted fits too many answers by chance to be named)
CHECKER_KINDS = ("other update order", "decimal point missing", "another quantity", "digits swapped", "digit dropped")
CARRIED_PLACES = 3  # a value a student did not write may have been carried to as few as 3 decimals
CARRIED = range(2, 11)  # decimals a student may carry every value to (hand-calculation mode)
FLOAT_NOISE = 1e-12


@dataclass(frozen=True)
class Cause:
    """Why a figure is what it is: the kind of slip, one sentence, the value that reproduces it.

    `operand` and `copied` name the operand copied with a slip and how it was written; `source` the
    figure the slip was made in (for a rounded operand, its rounded form).
    """

    kind: str
    reason: str
    value: float | None = None
    operand: str = ""
    copied: str = ""
    source: str = ""


def given(name: str, text: str) -> Given:
    """A printed figure as the checker reads it."""
    return Given(name, text, Decimal(text), 0)


def cut(value: float, places: int, mode: str) -> str:
    """`value` rounded (half up) or truncated to `places` decimals, as text: cut(0.0363503064, 8, "round") = '0.03635031'."""
    rounding = ROUND_HALF_UP if mode == "round" else ROUND_DOWN
    with localcontext() as context:  # 5e-324 written to its 324 places needs more than 28 digits
        context.prec = max(28, places + 40)
        return format(Decimal(f"{value:.15g}").quantize(Decimal(1).scaleb(-places), rounding), "f")  # 0.00000000, not 0E-8


def find(ctx: Context, name: str, printed: str, figures: Mapping[str, str] | None = None,
         slips: Mapping[str, str] | None = None, writer: str = "the deck", slip_kinds: tuple[str, ...] = EDITS) -> Cause:
    """The smallest explanation of figure `printed` for quantity `name` (see the module's list).

    `ctx` holds the exact step, the other order's and the printed figures as the solution's own values;
    `figures` maps every printed figure's name to its text, `slips` those that are off (for "follows");
    `writer` who wrote them ("the deck", "you"); `slip_kinds` the copying slips (EDITS) tried.
    """
    figure = given(name, printed)
    slips = dict(slips or {})
    figures = dict(figures or {})
    exact = ctx.exact[name]
    if matches(figure, exact):
        return Cause("correct", "the exact value, rounded or truncated as printed", exact)
    job = _Job(ctx, figure, figures, slips, writer, slip_kinds)
    for explain in (_rounding, _follows):
        found = explain(job)
        if found is not None:
            return found
    if ctx.other is not None and name in ctx.other.values and matches(figure, ctx.other.values[name]):
        own, other = ctx.order, str(ctx.other.meta.get("update_order"))
        return Cause("other update order", f"the {other} update order's value, not the {own} step's",
                     ctx.other.values[name])
    for explain in (_decimal_point, _another_quantity, _copied_operand, _written_slip):
        found = explain(job)
        if found is not None:
            return found
    off = figure.value - exact
    relative = abs(off) / abs(exact) if exact else abs(off)
    return Cause("unexplained", f"unexplained: {abs(off):.2g} {'above' if off > 0 else 'below'} the exact "
                 f"{_plain(exact)} (relative {relative:.1e}); no rounding, update order, copied figure or "
                 "single copying slip gives it", None)


@dataclass(frozen=True)
class _Job:
    ctx: Context
    figure: Given
    figures: Mapping[str, str]  # every printed figure by name
    slips: Mapping[str, str]  # the printed figures that are off
    writer: str = "the deck"
    slip_kinds: tuple[str, ...] = EDITS

    @property
    def whose(self) -> str:
        return "your" if self.writer == "you" else f"{self.writer}'s"

    @property
    def as_written(self) -> str:
        return "as you wrote it" if self.writer == "you" else f"as {self.writer} prints it"


# -- 1, 2: rounding, follows ----------------------------------------------------------------------

def _choices(job: _Job, operand: str) -> list[tuple[str, float]]:
    """(how it was carried, value) for one operand: exact, as printed (when right), rounded or truncated
    to at least the figure's decimals (fewer would be a loss of precision, not rounding)."""
    ctx, figure = job.ctx, job.figure
    exact = ctx.exact[operand]
    found = {exact: ""}
    if not ctx.steps[operand].text:  # a given number: used as given
        return [("", exact)]
    if operand in job.figures and operand not in job.slips:
        found.setdefault(float(job.figures[operand]), f"{operand} = {job.figures[operand]} {job.as_written}")
    for places in range(max(figure.places, 1), PLACES.stop):
        for mode in ("round", "trunc"):
            text = cut(exact, places, mode)
            verb = "rounded" if mode == "round" else "truncated"
            found.setdefault(float(text), f"{operand} {verb} to {text}")
    return [(how, value) for value, how in found.items()]


def _rounding(job: _Job) -> Cause | None:
    ctx, figure = job.ctx, job.figure
    step = ctx.steps[figure.name]
    operands = step.operands
    options = [_choices(job, op) for op in operands]
    if math.prod(len(o) for o in options) > MAX_WORLDS:
        options = [o[:2] for o in options]
    for world in itertools.product(*options):
        values = dict(zip(operands, (v for _, v in world)))
        value = ctx.recompute(step, ctx.exact, values)
        if matches(figure, value):
            shown = [how for how, _ in world if how]
            return Cause("rounding", "rounding: what the step gives with " + " and ".join(shown), value)
    return None


def _follows(job: _Job) -> Cause | None:
    ctx, figure, slips = job.ctx, job.figure, job.slips
    step = ctx.steps[figure.name]
    carried = [op for op in step.operands if op in slips]
    if not carried:
        return None
    values = {op: float(slips[op]) for op in carried}
    value = ctx.recompute(step, ctx.own, values)
    if not matches(figure, value):
        return None
    return Cause("follows", f"follows from {job.whose} " + " and ".join(f"{op} = {slips[op]}" for op in carried)
                 + ", computed correctly from there", value)


# -- 4, 5: the decimal point, another quantity ------------------------------------------------------

def _decimal_point(job: _Job) -> Cause | None:
    ctx, figure = job.ctx, job.figure
    if figure.places != 0:
        return None
    exact = ctx.exact[figure.name]
    for places in range(1, PLACES.stop):
        for mode in ("round", "trunc"):
            text = cut(exact, places, mode)
            digits = text.replace(".", "").lstrip("-").lstrip("0")
            if digits and Decimal(("-" if text.startswith("-") else "") + digits) == figure.decimal:
                verb = "rounded" if mode == "round" else "truncated"
                return Cause("decimal point missing", f"{text}, the value {verb} to {places} decimals, written "
                             f"without its decimal point: 10^{places} times too large", exact)
    return None


def _another_quantity(job: _Job) -> Cause | None:
    ctx, figure = job.ctx, job.figure
    if len(figure.decimal.as_tuple().digits) - _leading_zeros(figure) < 3:
        return None  # too few digits to tell a copy from a coincidence
    kind = ctx.steps[figure.name].kind
    candidates = sorted((s for s in ctx.trace if s.name != figure.name and s.text and matches(figure, s.value)),
                        key=lambda s: s.kind != kind)
    if not candidates:
        return None
    other = candidates[0]
    shown = job.figures.get(other.name) or _plain(other.value)
    cut_short = "" if shown == figure.text else ", cut to the decimals printed"
    return Cause("another quantity", f"{other.name}'s value ({shown}) copied in its place{cut_short}",
                 other.value, operand=other.name)


# -- 6, 7: slips in copying --------------------------------------------------------------------------

def edits(text: str) -> Iterator[tuple[str, str, str]]:
    """(kind, how it reads, what was done) for every one-slip variant of a decimal figure, most likely slip first.

        >>> [t for k, t, _ in edits("0.031") if k == "digits swapped"]
        ['0.013']
    """
    sign = "-" if text.startswith("-") else ""
    body = text.lstrip("-")
    point = body.find(".")
    chars = list(body)
    first = next((i for i, c in enumerate(chars) if c not in "0."), len(chars))  # no slip in leading zeros
    spots = [i for i in range(first, len(chars)) if chars[i] != "."]
    for i, j in zip(spots, spots[1:]):
        if j == i + 1 and chars[i] != chars[j]:
            swapped = chars[:i] + [chars[j], chars[i]] + chars[j + 1:]
            yield "digits swapped", sign + "".join(swapped), f"the {chars[i]} and {chars[j]} of {text} swapped"
    for i in spots:
        if point < 0 or i > point:
            yield "digit dropped", sign + "".join(chars[:i] + chars[i + 1:]), f"a {chars[i]} dropped from {text}"
    for i in range(max(first, 1), len(chars) + 1):
        if point < 0 or i > point:
            for d in "0123456789":
                yield "digit inserted", sign + "".join(chars[:i] + [d] + chars[i:]), f"a {d} added to {text}"
    for i in spots:
        for d in "0123456789":
            if d != chars[i] and not (i == first and d == "0"):
                changed = chars[:i] + [d] + chars[i + 1:]
                yield "digit changed", sign + "".join(changed), f"a {chars[i]} of {text} written as {d}"


def _sources(job: _Job, operand: str) -> list[tuple[str, str]]:
    """(figure, where it comes from) an operand may have been copied from: as printed, then cut shorter."""
    ctx = job.ctx
    exact = ctx.exact[operand]
    found: list[tuple[str, str]] = []
    if job.writer == "you":  # a student's slip is in a figure they wrote: as written or cut shorter
        return _written_sources(job.figures.get(operand))
    if operand in job.figures:
        found.append((job.figures[operand], f"{job.whose} {job.figures[operand]}"))
    else:
        found.append((_plain(exact) if not ctx.steps[operand].text else cut(exact, 9, "round"), operand))
    for places in reversed(range(4, PLACES.stop)):
        for mode in ("round", "trunc"):
            text = cut(exact, places, mode)
            verb = "rounded" if mode == "round" else "truncated"
            found.append((text, f"{found[0][1]} {verb} to {places} decimals"))
    unique: dict[str, str] = {}
    for text, where in found:
        unique.setdefault(text, where)
    return list(unique.items())


def _written_sources(text: str | None) -> list[tuple[str, str]]:
    if text is None:
        return []
    written = Decimal(text)
    places = _places(text)
    found = {text: f"your {text}"}
    for n in reversed(range(4, places)):
        for mode, verb in ((ROUND_HALF_UP, "rounded"), (ROUND_DOWN, "truncated")):
            found.setdefault(format(written.quantize(Decimal(1).scaleb(-n), mode), "f"), f"your {text} {verb} to {n} decimals")
    return list(found.items())


def _is_cut(variant: str, source: str) -> bool:
    """True when `variant` is `source` rounded or truncated to fewer decimals: carrying fewer digits, no slip."""
    short, full = Decimal(variant), Decimal(source)
    places, full_places = _places(variant), _places(source)
    quantum = Decimal(1).scaleb(-places)
    return places < full_places and short in (
        full.quantize(quantum, ROUND_HALF_UP), full.quantize(quantum, ROUND_DOWN))


def _copied_operand(job: _Job) -> Cause | None:
    ctx, figure = job.ctx, job.figure
    step = ctx.steps[figure.name]
    base = dict(ctx.own)
    unit = float(Decimal(1).scaleb(-figure.places))
    for kind in job.slip_kinds:
        for operand in step.operands:
            for text, where in _sources(job, operand):
                for edit_kind, variant, done in edits(text):
                    if edit_kind != kind or _is_cut(variant, text):
                        continue
                    try:
                        value = ctx.recompute(step, base, {operand: float(variant)})
                        unslipped = ctx.recompute(step, base, {operand: float(text)})
                    except (InvalidOperation, ValueError):
                        continue
                    # a slip too far down to show in the figure's digits explains nothing
                    if matches(figure, value) and abs(value - unslipped) >= unit / 2:
                        source = "" if text == job.figures.get(operand) else f", {where}"
                        return Cause(kind, f"{operand} copied as {variant}: {done}{source}", value,
                                     operand=operand, copied=variant, source=text)
    return None


def _written_slip(job: _Job) -> Cause | None:
    ctx, figure = job.ctx, job.figure
    exact = ctx.exact[figure.name]
    texts = dict.fromkeys(cut(exact, figure.places, mode) for mode in ("round", "trunc"))
    for kind in job.slip_kinds:
        for text in texts:
            for edit_kind, variant, done in edits(text):
                if edit_kind == kind and variant == figure.text:
                    return Cause(kind, f"written with a slip: {done}", exact, copied=variant, source=text)
    return None


# -- the checker's question ---------------------------------------------------------------------

def carried_places(ctx: Context, solution: Solution) -> int:
    """The fewest decimals the student may have carried an unwritten value to: CARRIED_PLACES, or fewer
    when they write some value (not a number of the network in full) with fewer."""
    places = [g.places for g in solution if g.name in ctx.exact and g.value != 0
              and abs(g.value - ctx.exact[g.name]) > FLOAT_NOISE * abs(ctx.exact[g.name])]
    return max(0, min([CARRIED_PLACES, *places]))


@dataclass(frozen=True)
class Honest:
    """What honest rounding may give: `spread` (precision.spreads, every unwritten value also rounded to
    carried_places decimals) and the step redone with every value carried to c decimals (c in CARRIED:
    the engine's hand-calculation mode), computed when first asked and kept with the exact trace (a
    class's solutions share it)."""

    spread: Spread
    net: Network
    order: str
    carried: dict[int, dict[str, float]]

    def values(self, places: int) -> dict[str, float]:
        """Every value of the step with every value carried to `places` decimals."""
        if places not in self.carried:
            from stepgrad.tracing.build import explain

            self.carried[places] = explain(self.net, update_order=self.order, round_to=places).values
        return self.carried[places]

    def gives(self, ctx: Context, answer: Given) -> bool:
        """True when some honest rounding gives `answer` (see copying_slip)."""
        name, step = answer.name, ctx.steps[answer.name]
        within = self.spread.computed.get(name, 0.0)
        if any(consistent(answer, ref, within) for ref in (ctx.exact[name], ctx.from_own.get(name))):
            return True
        written = {op: ctx.given[op] for op in step.operands if op in ctx.given}
        nearest = sorted(CARRIED, key=lambda c: abs(c - answer.places))  # the likeliest carrying first
        for places in nearest:
            values = self.values(places)
            refs = (values[name], ctx.recompute(step, values), ctx.recompute(step, values, written))
            if any(matches(answer, ref) for ref in refs):
                return True
        return False


_CARRIED: dict[int, tuple[ref[Trace], dict[int, dict[str, float]]]] = {}  # by id of the exact trace, while it lives


def honest(ctx: Context, solution: Solution) -> Honest:
    """How far honest rounding may move each of the solution's values (see copying_slip)."""
    kept = _CARRIED.get(id(ctx.trace))
    if kept is None or kept[0]() is not ctx.trace:
        for key in [k for k, (alive, _) in _CARRIED.items() if alive() is None]:
            del _CARRIED[key]
        kept = _CARRIED[id(ctx.trace)] = (ref(ctx.trace), {})
    carried = kept[1]
    return Honest(spreads(ctx, solution, unwritten_places=carried_places(ctx, solution)), ctx.dense, ctx.order, carried)


def copying_slip(ctx: Context, answer: Given, written: Mapping[str, str], rounding: Honest) -> Cause | None:
    """The copying slip that gives a close or unexplained wrong answer exactly, or None.

    A slip is named only on a dense network's step when (1) no honest rounding gives the answer
    (Honest.gives): it is not the exact value nor the value of the student's own numbers, each moved
    by the rounding they carry (every written value anywhere in its rounding, every unwritten one
    rounded to as few as carried_places decimals), nor the step redone with every value carried to
    2-10 decimals (with or without the operands the student wrote); (2) no rounding of the step's
    operands gives it (find's first step); and (3) one of CHECKER_KINDS reproduces it to its written
    digits, an operand's slip being in a figure the student wrote (as written, or cut shorter) and not
    itself a rounding of it. `written` maps every answer's name to its digits (plain notation)."""
    name = answer.name
    if ctx.network_kind != "dense" or name not in ctx.steps or not ctx.steps[name].text or answer.places < 0:
        return None
    if rounding.gives(ctx, answer):
        return None
    off = {n: t for n, t in written.items() if n in ctx.exact and not matches(given(n, t), ctx.exact[n])}
    cause = find(ctx, name, plain_digits(answer), written, off, writer="you",
                 slip_kinds=tuple(k for k in EDITS if k in CHECKER_KINDS))
    return cause if cause.kind in CHECKER_KINDS else None


def plain_digits(answer: Given) -> str:
    """The answer's digits in plain notation: 3.51e-5 -> '0.0000351'."""
    return format(answer.decimal, "f")


def _places(text: str) -> int:
    """Decimals written: '0.0312' -> 4, '12' -> 0."""
    return len(text.split(".", 1)[1]) if "." in text else 0


# -- helpers -------------------------------------------------------------------------------------------

def _plain(value: float) -> str:
    return f"{value:.10g}"


def _text(value: float) -> str:
    return f"{value:.15g}"


def _leading_zeros(figure: Given) -> int:
    digits = figure.decimal.as_tuple().digits
    return next((i for i, d in enumerate(digits) if d), len(digits))
