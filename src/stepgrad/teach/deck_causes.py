"""Why a printed figure is off: the smallest explanation that reproduces it, found by redoing the arithmetic.

    >>> from stepgrad.teach.deck_figures import context
    >>> cause = find(context(), "net_o2", "1.22492136")
    >>> cause.kind, cause.copied
    ('digit dropped', '0.59326992')

A figure is *reproduced* by a value when the value, rounded or truncated to the decimals the figure is
printed with, is the figure. Explanations are tried from the smallest up, and the first that
reproduces the figure is its cause:

1. rounding: the step's formula on its operands as printed (the deck's own figures, where they are
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
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

from stepgrad.teach.check.context import Context
from stepgrad.teach.check.precision import matches
from stepgrad.teach.check.solution import Given

KINDS = ("correct", "rounding", "follows", "other update order", "decimal point missing", "another quantity",
         "digits swapped", "digit dropped", "digit inserted", "digit changed", "unexplained")
EDITS = ("digits swapped", "digit dropped", "digit inserted", "digit changed")  # most likely slip first
PLACES = range(2, 11)  # decimals an operand may be rounded or truncated to
MAX_WORLDS = 50_000  # operand combinations tried for rounding at most


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
    return str(Decimal(f"{value:.15g}").quantize(Decimal(1).scaleb(-places), rounding))


def find(ctx: Context, name: str, printed: str, figures: Mapping[str, str] | None = None,
         slips: Mapping[str, str] | None = None) -> Cause:
    """The smallest explanation of figure `printed` for quantity `name` (see the module's list).

    `ctx` holds the exact step, the other order's and the printed figures as the solution's own values;
    `figures` maps every printed figure's name to its text, `slips` those that are off (for "follows").
    """
    figure = given(name, printed)
    slips = dict(slips or {})
    figures = dict(figures or {})
    exact = ctx.exact[name]
    if matches(figure, exact):
        return Cause("correct", "the exact value, rounded or truncated as printed", exact)
    job = _Job(ctx, figure, figures, slips)
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


# -- 1, 2: rounding, follows ----------------------------------------------------------------------

def _choices(job: _Job, operand: str) -> list[tuple[str, float]]:
    """(how it was carried, value) for one operand: exact, as printed (when right), rounded or truncated
    to at least the figure's decimals (fewer would be a loss of precision, not the deck's rounding)."""
    ctx, figure = job.ctx, job.figure
    exact = ctx.exact[operand]
    found = {exact: ""}
    if not ctx.steps[operand].text:  # a given number: used as given
        return [("", exact)]
    if operand in job.figures and operand not in job.slips:
        found.setdefault(float(job.figures[operand]), f"{operand} = {job.figures[operand]} as the deck prints it")
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
    return Cause("follows", "follows from the deck's " + " and ".join(f"{op} = {slips[op]}" for op in carried)
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
    if operand in job.figures:
        found.append((job.figures[operand], f"the deck's {job.figures[operand]}"))
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


def _copied_operand(job: _Job) -> Cause | None:
    ctx, figure = job.ctx, job.figure
    step = ctx.steps[figure.name]
    base = dict(ctx.own)
    unit = float(Decimal(1).scaleb(-figure.places))
    for kind in EDITS:
        for operand in step.operands:
            for text, where in _sources(job, operand):
                for edit_kind, variant, done in edits(text):
                    if edit_kind != kind:
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
    for kind in EDITS:
        for text in texts:
            for edit_kind, variant, done in edits(text):
                if edit_kind == kind and variant == figure.text:
                    return Cause(kind, f"written with a slip: {done}", exact, copied=variant, source=text)
    return None


# -- helpers -------------------------------------------------------------------------------------------

def _plain(value: float) -> str:
    return f"{value:.10g}"


def _text(value: float) -> str:
    return f"{value:.15g}"


def _leading_zeros(figure: Given) -> int:
    digits = figure.decimal.as_tuple().digits
    return next((i for i, d in enumerate(digits) if d), len(digits))
