"""A verdict for every answer: correct, follows, close, wrong (with a diagnosis), or unknown name.

    >>> from stepgrad.check import check, solution
    >>> report = check(stepgrad.builtin(), solution.loads("out_h1 = 0.5933"))
    >>> report.results[0].verdict
    'correct'

Rules, in order (a careful marker's):
- correct: equals the exact value at the precision written; the last written digit may be rounded
  or truncated (0.74136507 may be written 0.7414 or 0.7413; truncation needs two significant
  digits: 0.5 for 0.593 is not correct). A value that rounds to 0 at the
  precision written is not "correct" for a non-zero quantity (0.00 says nothing about 0.000438).
- follows: not the exact value, but what the solution's own earlier values give (the step's formula
  recomputed with them): an error carried forward, given credit. Far from the exact value (more than
  CLOSE_RELATIVE) it may differ from the own-values value by drift (the student carried more
  digits than they wrote down).
- wrong with a diagnosis: the value is what the step gives with a known mistake applied (diagnoses.py),
  at the precision written; failing that, within CLOSE_RELATIVE of such a value (mistake plus drift).
- close: within CLOSE_RELATIVE (0.1 %) of the exact value or of the own-values value, or off by at
  most one unit in the last written digit (and within 1 %): rounding drift. 0.594 for 0.59327 is
  close; 0.5 for 0.593 is wrong.
- wrong: anything else, reported with the exact value, the own-values value and the step's formula.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import asdict, dataclass, field, replace
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Any

from ..spec import Network
from .context import Context, build
from .diagnoses import MISTAKES
from .solution import Given, Solution

MISTAKES_BY_KEY = {m.key: m for m in MISTAKES}

CLOSE_RELATIVE = 1e-3  # rounding drift: within 0.1 % of the exact or the own-values value
FLOAT_NOISE = 1e-12  # two float64 computations of the same quantity agree this well
VERDICTS = ("correct", "follows", "close", "wrong", "unknown")


@dataclass(frozen=True)
class Result:
    """The verdict on one answer."""

    name: str
    given: str
    verdict: str
    expected: float | None = None
    expected_from_own: float | None = None
    relative_error: float | None = None
    diagnosis: str | None = None
    mistake: str | None = None  # the registry key of the diagnosis
    formula: str | None = None
    line: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain data; a value the student's numbers cannot produce (overflow) is null."""
        return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Report:
    """All verdicts of one solution, in the order of the derivation (unknown names last)."""

    source: str
    results: tuple[Result, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return {v: sum(r.verdict == v for r in self.results) for v in VERDICTS}

    @property
    def first_wrong(self) -> Result | None:
        return next((r for r in self.results if r.verdict in ("wrong", "unknown")), None)

    @property
    def ok(self) -> bool:
        return self.first_wrong is None

    def summary(self) -> str:
        """'12 correct, 3 follows, 1 close, 2 wrong' (and unknown names, if any)."""
        c = self.counts
        text = f"{c['correct']} correct, {c['follows']} follows, {c['close']} close, {c['wrong']} wrong"
        return text + (f", {c['unknown']} unknown" if c["unknown"] else "")

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, **self.meta, "summary": {**self.counts, "text": self.summary()},
                "results": [r.to_dict() for r in self.results]}


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


def _diagnose(ctx: Context, given: Given, expected: float, own: float | None) -> tuple[str, str] | None:
    """(registry key, diagnosis) of the first known mistake that explains the answer, or None."""
    step = ctx.steps[given.name]
    bases = [ctx.exact] if not step.text else [ctx.own, ctx.exact]
    found = []
    for m in MISTAKES:
        for base in bases:
            for value, detail in m.candidates(ctx, step, base):
                if math.isfinite(value):
                    found.append((m, value, detail))
    exact_fits: dict[str, str] = {}
    for m, value, detail in found:  # exactly, at the precision written
        if m.key not in exact_fits and matches(given, value) and _distinct(given.places, value, expected):
            exact_fits[m.key] = _describe(m.label, detail, value)
    if exact_fits:
        (key, text), *others = exact_fits.items()
        also = [MISTAKES_BY_KEY[k].label for k, _ in others]
        return key, text + (f" (also fits: {'; '.join(also)})" if also else "")
    for m, value, detail in found:  # a mistake and some rounding drift
        err = relative_error(given.value, value)
        distinct = all((relative_error(value, ref) or 0) > 10 * CLOSE_RELATIVE for ref in (expected, own) if ref is not None)
        if err is not None and err <= CLOSE_RELATIVE and distinct:
            return m.key, _describe(m.label, detail, value) + f" (and rounding drift: relative error {err:.1e})"
    return None


def _follows(given: Given, expected: float, own: float) -> bool:
    """What the own values give: at the precision written, or (far from the exact value) up to drift."""
    if matches(given, own):
        return True
    to_own, to_exact = relative_error(given.value, own), relative_error(given.value, expected)
    return to_own is not None and to_exact is not None and to_own <= CLOSE_RELATIVE < to_exact


def _drifted(given: Given, reference: float) -> bool:
    """Rounding drift: within CLOSE_RELATIVE, or one unit in the last written digit (within 1 %)."""
    err = relative_error(given.value, reference)
    if err is None:
        return False
    one_unit = abs(given.value - reference) <= 10.0 ** -given.places * (1 + 1e-9)
    return err <= CLOSE_RELATIVE or (one_unit and err <= 10 * CLOSE_RELATIVE)


def _distinct(places: int, value: float, expected: float) -> bool:
    """False when a mistake's value is the expected value at this precision (it explains nothing)."""
    try:
        return round(value, places) != round(expected, places)
    except OverflowError:
        return True


def _describe(label: str, detail: str, value: float) -> str:
    """'flipped sign: the value with the opposite sign = -0.74136507'; a detail may place {value} itself."""
    shown = f"{value:.9g}"
    return f"{label}: " + (detail.replace("{value}", shown) if "{value}" in detail else f"{detail} = {shown}")


def judge(ctx: Context, given: Given) -> Result:
    """The verdict on one answer of a known name."""
    step = ctx.steps[given.name]
    expected = ctx.exact[given.name]
    own = ctx.from_own.get(given.name)
    formula = f"{step.name} = {step.text.replace('«', '').replace('»', '')}" if step.text else None
    wrong = Result(name=given.name, given=given.text, verdict="wrong", expected=expected, expected_from_own=own,
                   relative_error=relative_error(given.value, expected), formula=formula, line=given.line)
    if matches(given, expected):
        return replace(wrong, verdict="correct")
    if own is not None and _follows(given, expected, own):
        return replace(wrong, verdict="follows")
    diagnosis = _diagnose(ctx, given, expected, own)
    if diagnosis:
        return replace(wrong, mistake=diagnosis[0], diagnosis=diagnosis[1])
    if any(_drifted(given, ref) for ref in (expected, own) if ref is not None):
        return replace(wrong, verdict="close")
    return wrong


def check(net: Network, solution: Solution, update_order: str | None = None, round_to: int | None = None) -> Report:
    """Judge every answer of `solution` against one training step of `net`."""
    ctx = build(net, solution, update_order, round_to)
    order = {name: i for i, name in enumerate(ctx.steps)}
    known = sorted((g for g in solution if g.name in order), key=lambda g: order[g.name])
    results = [judge(ctx, g) for g in known]
    unknown = 0
    for g in solution:
        if g.name not in order:
            unknown += 1  # hints for the first 100: 50,000 unknown names must not take a minute
            hint = difflib.get_close_matches(g.name, list(order), n=3, cutoff=0.5) if unknown <= 100 else []
            results.append(Result(g.name, g.text, "unknown", line=g.line, diagnosis=f"no quantity named {g.name!r}"
                                  + (f"; did you mean {', '.join(hint)}?" if hint else "; see `stepgrad names`")))
    meta = {"update_order": ctx.order, "round_to": round_to, "network": net.name or None}
    return Report(solution.source, tuple(results), meta)
