"""How far a student's own rounding may move each value: the precision written, carried through every step.

A value written as 0.593 stands for anything in [0.5925, 0.5935] (half a unit in its last written
digit); a value the student computed from such numbers inherits their spread: each operand moved
to either end of its interval, the step recomputed, the changes added up (a secant, so a ReLU's kink
or an exp's curve are followed, not linearised away). Given numbers of the network are exact (but a
given number with more decimals than the student usually writes, and not written by them, may have
been copied at their precision), and so is a value written in full (0.4 for dnet_o1/dout_h1 = w5).

    >>> from stepgrad.teach.check import solution
    >>> from stepgrad.teach.check.context import build
    >>> ctx = build(stepgrad.builtin(), solution.loads("out_h1 = 0.593\\nout_h2 = 0.597"))
    >>> spread = spreads(ctx, solution.loads("out_h1 = 0.593\\nout_h2 = 0.597"))
    >>> round(spread.own["out_h1"], 6), round(spread.computed["net_o1"], 6)   # (0.4·0.0005 + 0.45·0.0005)·1.05
    (0.0005, 0.000446)

`own[name]`: the spread of the student's value (written: its half unit; unwritten: propagated);
`computed[name]`: the spread of the step's formula on the student's values (what `from_own` may be
off by through rounding alone). verdicts.py calls a value consistent with correct work when the
interval it was written for meets the exact value or `from_own` widened by this spread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

from stepgrad.teach.check.context import Context
from stepgrad.teach.check.solution import Given, Solution

SLACK = 1.05  # second-order terms of the propagation (products of two spreads), generously covered
FLOAT_NOISE = 1e-12


@dataclass(frozen=True)
class Spread:
    """The rounding spread of every own value and of every step recomputed from own values."""

    own: dict[str, float] = field(default_factory=dict)
    computed: dict[str, float] = field(default_factory=dict)


def bare_zero(given: Given) -> bool:
    """A 0 written without decimals: it claims zero (a ReLU off, a max-pool's other cell), while 0.000 says
    "below a thousandth in size" and is read as a rounding (too few digits)."""
    return given.value == 0 and given.places == 0


def zeros_read_at_sheet_precision(solution: Solution, round_to: int | None = None) -> Solution:
    """The solution with each bare 0 read at the precision the student writes elsewhere (`--round K`: K; else
    the median decimal places of their other answers): "0" on a sheet of 4-decimal answers is 0.0000, a value
    rounded away; on a sheet with no decimals it stays a claim of zero (bare_zero)."""
    places = round_to if round_to is not None else _median_places([g for g in solution if not bare_zero(g)])
    if not places:
        return solution
    zero = Decimal(0).scaleb(-places)
    answers = tuple(replace(g, decimal=zero) if bare_zero(g) else g for g in solution.answers)
    return replace(solution, answers=answers)


def _median_places(answers: list[Given]) -> int:
    places = sorted(g.places for g in answers)
    return places[len(places) // 2] if places else 0


def unit(given: Given) -> float:
    """One unit in the last written digit: 0.0226 -> 0.0001, 3.51e-5 -> 1e-7, 21707153 -> 1."""
    return float(Decimal(1).scaleb(-given.places))


def spreads(ctx: Context, solution: Solution, unwritten_places: int | None = None) -> Spread:
    """The spread of every own value (in trace order) and of every recomputed step.

    `unwritten_places`: a value the student computed but did not write may also have been rounded
    to this many decimals (half a unit more spread); by default it is carried as computed."""
    written = {g.name: g for g in solution}
    own: dict[str, float] = {}
    computed: dict[str, float] = {}
    copied = _copied_at(solution)
    for step in ctx.trace:
        if step.text:
            computed[step.name] = _propagate(ctx, step, own)
        elif step.name not in written and copied is not None and round(step.value, copied) != step.value:
            # a given number with more digits than the student writes (a sheet printing 0.0219 for
            # 0.021889...) may have been used as the student copied it: half a unit at their precision
            own[step.name] = 10.0 ** -copied / 2
            continue
        if step.name in written:
            g = written[step.name]
            full = any(ref is not None and abs(g.value - ref) <= FLOAT_NOISE * max(1.0, abs(ref))
                       for ref in (ctx.exact.get(step.name), ctx.from_own.get(step.name)))
            own[step.name] = 0.0 if full or bare_zero(g) else unit(g) / 2  # 0.4 for w5 = 0.4 is the number itself
        else:
            own[step.name] = computed.get(step.name, 0.0)
            if unwritten_places is not None and step.text:
                own[step.name] += 10.0 ** -unwritten_places / 2
    return Spread(own, computed)


def _copied_at(solution: Solution) -> int | None:
    """The decimal places the student usually writes (the median over their answers), or None."""
    places = sorted(g.places for g in solution)
    return max(places[len(places) // 2], 2) if places else None


def _propagate(ctx: Context, step, own: dict[str, float]) -> float:
    """Σ over operands of the largest change of the step when that operand moves by its spread."""
    centre = ctx.from_own.get(step.name)
    if centre is None:
        return 0.0
    total = 0.0
    for op in step.operands:
        s = own.get(op, 0.0)
        if not s or op not in ctx.own:
            continue
        x = ctx.own[op]
        moved = [ctx.recompute(step, ctx.own, {op: x + s}), ctx.recompute(step, ctx.own, {op: x - s})]
        total += max((abs(m - centre) for m in moved if m == m), default=0.0)
    return total * SLACK


def significant_digits(given: Given) -> int:
    """Significant digits written: 0.0226 -> 3, 0.50 -> 2, 21707153 -> 8."""
    digits = given.decimal.as_tuple().digits
    return max(1, len(digits) - next((i for i, d in enumerate(digits) if d), len(digits)))


def written_interval(given: Given) -> tuple[float, float]:
    """Every true value the student may have written this way: rounded (± half a unit) or truncated
    (up to one unit further from zero; 0.000 truncates anything below 0.001 in size)."""
    if bare_zero(given):
        return 0.0, 0.0
    u = unit(given)
    low, high = given.value - u / 2, given.value + u / 2
    if given.value >= 0:
        high = given.value + u
    if given.value <= 0:
        low = given.value - u
    return low, high


def consistent(given: Given, reference: float | None, spread: float) -> bool:
    """True when `reference`, moved by at most `spread`, could have been written as `given`."""
    if reference is None or reference != reference or abs(reference) == float("inf"):
        return False
    low, high = written_interval(given)
    pad = FLOAT_NOISE * max(1.0, abs(reference))
    return reference + spread + pad >= low and reference - spread - pad <= high


def matches(given: Given, reference: float | None) -> bool:
    """True when `given` is `reference` at the precision written (rounded or truncated last digit)."""
    if reference is None or not math.isfinite(reference):
        return False
    if abs(given.value - reference) <= FLOAT_NOISE * abs(reference):
        return True
    with localcontext() as ctx:
        ctx.prec = 60
        try:
            ref = Decimal(f"{float(reference):.15g}")  # what a calculator shows: no binary noise
            quantum = Decimal(1).scaleb(-given.places)
            rounded = ref.quantize(quantum, ROUND_HALF_UP)
            truncated = ref.quantize(quantum, ROUND_DOWN)
        except InvalidOperation:
            return False
    if rounded == 0 and truncated == 0:
        return False  # no significant digit of a non-zero value was written
    if given.decimal == rounded:
        return True
    # Truncation is a way of writing fewer digits, not of choosing a neighbour: 0.5 for 0.593 is not it.
    return given.decimal == truncated and len(given.decimal.as_tuple().digits) >= 2


def relative_error(value: float, reference: float | None) -> float | None:
    if reference is None or not math.isfinite(reference):
        return None
    return abs(value - reference) / abs(reference) if reference else abs(value - reference)
