"""A verdict for every answer: correct, follows, close, wrong (with a diagnosis), unknown name,
unanswered (a blank template line, or nothing at all) or unreadable (a line that is not `name = number`).

    >>> from stepgrad.teach.check import check, solution
    >>> report = check(stepgrad.builtin(), solution.loads("out_h1 = 0.5933"))
    >>> report.results[0].verdict
    'correct'

Rules, in order (a careful marker's). A value is judged at the precision it was written with, and
correct work rounded by hand is never wrong (precision.py: each written value stands for half a unit
in its last digit, or a truncation; values computed from them inherit that spread):
- correct: equals the exact value at the precision written; the last written digit may be rounded
  or truncated (0.74136507 may be written 0.7414 or 0.7413; truncation needs two significant
  digits). With `min_digits` K a value with fewer than K significant digits is only close (unless it
  is the exact value in full). Also correct: a value the student's own earlier values give within
  the rounding they carry, when those values are all correct work ("rounding carried", with a note).
- close, asking for more digits: a value of one significant digit, or 0, consistent with correct work
  (0.6 or 0.5 for 0.593, 0.000 for 0.000438; not in --round mode, where the sheet asks for K decimals);
  a value of two digits or fewer that is a known mistake's value in full while correct work reaches
  it only at the edge of its rounding (dnet_h1/dw1 = 0.1 for i1 = 0.05 is i2; named in the note).
- follows: not the exact value, but what the solution's own earlier values give along one of the
  standard routes (routes.py: the chain of factors, δ·input, δ·w, the sum over paths), within the
  rounding those values carry: an error carried forward, credited once (the route is named), never
  through a trivial own value (0, ±1). Far from the exact value (more than CLOSE_RELATIVE) it may
  differ from the route's value by drift.
- wrong with a diagnosis: the value is what the step gives with a known mistake applied (diagnoses.py),
  at the precision written, and strictly nearer than correct work less its rounding spread (a
  "mistake" that gives what correct work gives, like leaving out a ReLU's derivative of 1, is none);
  failing that, within CLOSE_RELATIVE of such a value (mistake plus drift). On a layer-table network, a
  line several mistakes explain is read as the mistake that explains the most wrong lines of the sheet.
  A max-pool's gradient routed by the student's own maxima is an error carried forward
  (routes_layers.py), and a 0 written there says where a window's gradient went, not a rounding.
- close: within CLOSE_RELATIVE (0.1 %) of the exact value or of the own-values value, or off by at
  most one unit in the last written digit (and within 1 %): rounding drift. 0.594 for 0.59327 is
  close.
- wrong: anything else, reported with the exact value, the own-values value and the step's formula.
- a close or wrong answer with no diagnosis that no honest rounding gives, but one copying slip gives
  exactly (causes.copying_slip: a digit dropped or two swapped in an operand, a missing decimal point,
  another quantity's value, the other update order's value) keeps its verdict and names the slip.
A solution passes (`Report.ok`) when it answers every required quantity (`Rules.required`, required.py:
by default every result of the step) and nothing is wrong, unknown, unanswered or unreadable: a
blank homework, the untouched template or a forward pass alone is not a pass; `Report.missing`
names what was not answered.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from stepgrad.core import names
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.spec import Network
from stepgrad.core.trace import Trace
from stepgrad.teach.check.aliases import batch_scale
from stepgrad.teach.check.aliases import read as read_aliases
from stepgrad.teach.check.causes import copying_slip, honest, plain_digits
from stepgrad.teach.check.context import Context, build, traces
from stepgrad.teach.check.conventions import conventions
from stepgrad.teach.check.diagnoses import MISTAKES
from stepgrad.teach.check.geometry_sheet import whole_sheet
from stepgrad.teach.check.hints import better_fit
from stepgrad.teach.check.precision import (
    Spread,
    consistent,
    matches,
    relative_error,
    significant_digits,
    spreads,
    written_interval,
    zeros_read_at_sheet_precision,
)
from stepgrad.teach.check.required import missing_text, required
from stepgrad.teach.check.routes import routes
from stepgrad.teach.check.routes_layers import layer_routes, routed_by_max_pool
from stepgrad.teach.check.solution import Given, Solution

MISTAKES_BY_KEY = {m.key: m for m in MISTAKES}

CLOSE_RELATIVE = 1e-3  # rounding drift: within 0.1 % of the exact or the own-values value
BRIEF_DIGITS = 2  # a value with this many significant digits or fewer may be too brief to read as correct
FLOAT_NOISE = 1e-12  # two float64 computations of the same quantity agree this well
VERDICTS = ("correct", "follows", "close", "wrong", "unknown", "unanswered", "unreadable")
FAILING = ("wrong", "unknown", "unanswered", "unreadable")


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
    route: str | None = None  # for follows: the route along which the error was carried forward
    note: str | None = None  # for correct: why a value off the exact one at its precision is still correct

    def to_dict(self) -> dict[str, Any]:
        """Plain data; a value the student's numbers cannot produce (overflow) is null."""
        return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Report:
    """All verdicts of one solution, in the order of the derivation (unknown names last)."""

    source: str
    results: tuple[Result, ...]
    meta: dict[str, Any] = field(default_factory=dict)
    missing: tuple[str, ...] = ()  # required names (Rules.required) not written at all

    @property
    def counts(self) -> dict[str, int]:
        return {v: sum(r.verdict == v for r in self.results) for v in VERDICTS}

    @property
    def first_wrong(self) -> Result | None:
        return next((r for r in self.results if r.verdict in ("wrong", "unknown", "unreadable")), None)

    @property
    def answered(self) -> int:
        return sum(r.verdict in ("correct", "follows", "close", "wrong") for r in self.results)

    @property
    def ok(self) -> bool:
        """Something answered, every required answer given, and nothing wrong, unknown, unanswered or unreadable."""
        return self.answered > 0 and not self.missing and not any(r.verdict in FAILING for r in self.results)

    def summary(self) -> str:
        """'12 correct, 3 follows, 1 close, 2 wrong' (and unknown, unanswered, unreadable, missing, if any)."""
        c = self.counts
        text = f"{c['correct']} correct, {c['follows']} follows, {c['close']} close, {c['wrong']} wrong"
        text += "".join(f", {c[v]} {v}" for v in ("unknown", "unanswered", "unreadable") if c[v])
        return text + (f", {len(self.missing)} missing" if self.missing else "")

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, **self.meta,
                "summary": {**self.counts, "missing": len(self.missing), "text": self.summary()},
                "missing": list(self.missing), "results": [r.to_dict() for r in self.results]}


def _candidates(ctx: Context, given: Given) -> list[tuple[Any, float, str]]:
    """(mistake, value, detail) for every known mistake's recomputation of the step."""
    step = ctx.steps[given.name]
    bases = [ctx.exact] if not step.text else [ctx.own, ctx.exact]
    found = []
    for m in MISTAKES:
        if ctx.network_kind not in m.networks:
            continue
        for base in bases:
            for value, detail in m.candidates(ctx, step, base):
                if math.isfinite(value):
                    found.append((m, value, detail))
    return found


def _diagnose(ctx: Context, given: Given, expected: float, own: float | None,
              found: list[tuple[Any, float, str]] | None = None, better_than: float = 0.0,
              prefer: str | None = None) -> tuple[str, str] | None:
    """(registry key, diagnosis) of the first known mistake that explains the answer, or None.

    A mistake is named only when its value is strictly nearer the answer than correct work is (the
    exact value and the own-values value, each less the rounding spread `better_than`)."""
    found = _candidates(ctx, given) if found is None else found
    correct_work = abs(given.value - expected)
    if own is not None and math.isfinite(own):
        correct_work = min(correct_work, abs(given.value - own) - better_than)
    found = [f for f in found if abs(given.value - f[1]) < correct_work]
    exact_fits: dict[str, str] = {}
    for m, value, detail in found:  # exactly, at the precision written
        if m.key not in exact_fits and matches(given, value) and _distinct(given.places, value, expected):
            exact_fits[m.key] = _describe(m.label, detail, value)
    if exact_fits:
        return _lead(exact_fits, prefer)
    for m, value, detail in found:  # a mistake and some rounding drift
        err = relative_error(given.value, value)
        distinct = all((relative_error(value, ref) or 0) > 10 * CLOSE_RELATIVE for ref in (expected, own) if ref is not None)
        if err is not None and err <= CLOSE_RELATIVE and distinct:
            return m.key, _describe(m.label, detail, value) + f" (and rounding drift: relative error {err:.1e})"
    return None


def _lead(fits: dict[str, str], prefer: str | None = None) -> tuple[str, str]:
    ranked = sorted(fits.items(), key=lambda item: item[0] != prefer)  # the preferred mistake first, else ORDER's
    (key, text), *others = ranked
    also = [MISTAKES_BY_KEY[k].label for k, _ in others]
    return key, text + (f" (also fits: {'; '.join(also)})" if also else "")


def _too_brief(ctx: Context, given: Given, expected: float) -> tuple[str, str] | None:
    """The reading of a brief value that is a known mistake's value in full while correct work reaches it
    only at the edge of its rounding (the verdict is close: it is consistent with correct work).

    Only for brief values (at most BRIEF_DIGITS significant digits): dnet_h1/dw1 = 0.1 is i2 = 0.1 in
    full and i1 = 0.05 only rounded half up; w6 = 0.5 is w7. A mistake whose value merely rounds alike
    is no reading (out_h1 = 0.6 is out_h1 = 0.593 rounded as much as out_h2 = 0.597 is), and neither
    is one when correct work on the student's own values lies well inside the rounding (net_h1 = 0.38
    for 0.3775 is correct work at two decimals, though w2 for w1 gives 0.38 exactly)."""
    if significant_digits(given) > BRIEF_DIGITS or _written_in_full(given, expected):
        return None
    low, high = written_interval(given)
    margin = 1e-9 * (high - low)
    own = ctx.from_own.get(given.name)
    if any(low + margin < ref < high - margin for ref in (expected, own) if ref is not None):
        return None  # correct work is written this way (rounded or truncated) with room to spare
    fits: dict[str, str] = {}
    for m, value, detail in _candidates(ctx, given):
        if m.key not in fits and abs(given.value - value) <= FLOAT_NOISE * max(1.0, abs(value)):
            fits[m.key] = _describe(m.label, detail, value)
    if not fits:
        return None
    key, text = _lead(fits)
    return key, text + f"; {given.text} is too brief to be read as the exact value {expected:.9g}"


def _too_few(given: Given, reference: float) -> str:
    """The note on a value too brief to be marked correct, though correct work may be written this way."""
    if given.value == 0:
        return f"0 written for {reference:.4g}: write its first significant digits (3 or more)"
    return f"one significant digit is too few to tell {reference:.4g} from a mistake: write 3 or more"



def _written_in_full(given: Given, expected: float) -> bool:
    return abs(given.value - expected) <= FLOAT_NOISE * max(abs(expected), 1e-300)


def _follows(given: Given, expected: float, own: float) -> bool:
    """What a route's own values give: at the precision written, or (far from the exact value) up to drift."""
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
    if reference == 0:  # no relative error to speak of: only a last written digit's unit is drift
        return one_unit
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


@dataclass(frozen=True)
class Rules:
    """What the sheet asks: the precision (`min_digits`), the answers `required` to pass (required.py:
    "answers", "template", "none" or name patterns) and the row order of the report."""

    min_digits: int | None = None
    order: str = "derivation"  # or "given": the order the solution wrote them in
    required: str | tuple[str, ...] = "answers"  # what must be answered to pass (required.py)


def _judge_in_order(ctx: Context, solution: Solution, rules: Rules, spread: Spread) -> list[Result]:
    """Every written answer judged in the derivation's order, knowing which own values are correct work
    (written and judged correct or close, or unwritten and computed from such values)."""
    written = {g.name: g for g in solution}
    clean: dict[str, bool] = {}
    ahead: dict[str, bool] = {}
    results = []
    for step in ctx.trace:
        inputs_clean = all(clean.get(op, True) for op in step.operands)
        if step.name in written:
            result = judge(ctx, written[step.name], rules, spread, inputs_clean)
            results.append(result)
            ahead[step.name] = inputs_clean
            # a brief value (close) may hide a mistake in its rounding: what follows from it only follows
            clean[step.name] = result.verdict == "correct"
        else:
            clean[step.name] = inputs_clean
    sheet_wide = _sheet_mistake(results) if ctx.network_kind == "layers" else None
    if sheet_wide is None:
        return results
    return [judge(ctx, written[r.name], rules, spread, ahead[r.name], prefer=sheet_wide)
            if r.verdict == "wrong" and r.mistake != sheet_wide and sheet_wide in _fits(r) else r for r in results]


def _fits(result: Result) -> list[str]:
    """The mistake keys that explain a wrong answer: its lead and those named as "also fits"."""
    keys = [result.mistake] if result.mistake else []
    text = result.diagnosis or ""
    if "(also fits: " in text:
        labels = text.rsplit("(also fits: ", 1)[1].split(")")[0].split("; ")
        keys += [key for key, m in MISTAKES_BY_KEY.items() if m.label in labels]
    return keys


def _sheet_mistake(results: list[Result]) -> str | None:
    """The mistake that explains the most wrong lines of one sheet (at least two, and more than any other):
    where one line fits several readings (a stride-1 read that is also a mirrored entry), a careful marker
    reads it as the student's mistake elsewhere on the page (layer-table networks)."""
    counts: dict[str, int] = {}
    for r in results:
        for key in set(_fits(r)) if r.verdict == "wrong" else ():
            counts[key] = counts.get(key, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    if not ranked or ranked[0][1] < 2 or len(ranked) > 1 and ranked[1][1] == ranked[0][1]:
        return None  # no mistake explains more of the sheet than the others: the registry's order decides
    return ranked[0][0]


def judge(ctx: Context, given: Given, rules: Rules = Rules(), spread: Spread | None = None,
          inputs_clean: bool = False, prefer: str | None = None) -> Result:
    """The verdict on one answer of a known name (`spread`: precision.spreads of the solution;
    `inputs_clean`: every value the step uses is correct work, rounded as the student rounds)."""
    step = ctx.steps[given.name]
    expected = ctx.exact[given.name]
    own = ctx.from_own.get(given.name)
    verdict, mistake, diagnosis, route, note = _verdict(ctx, given, step, expected, own, rules, spread or Spread(),
                                                        inputs_clean, prefer)
    formula = f"{step.name} = {step.text.replace('«', '').replace('»', '')}" if step.text else None
    if verdict == "follows":
        own = route[1]  # type: ignore[index]
    return Result(name=given.name, given=given.text, verdict=verdict, expected=expected, expected_from_own=own,
                  relative_error=relative_error(given.value, expected), diagnosis=diagnosis, mistake=mistake,
                  formula=formula, line=given.line, route=route[0] if route else None, note=note)


TRIVIAL_NOTE = ("{own} is what your earlier values give, but the error carried made this step trivial "
                "(0, ±1 or an operand unchanged): close, not follows")
ROUNDING_CARRIED = "agrees with the exact value up to the rounding carried from your earlier values"


def _verdict(ctx: Context, given: Given, step: Any, expected: float, own: float | None,
             rules: Rules, spread: Spread, inputs_clean: bool = False,
             prefer: str | None = None) -> tuple[str, str | None, str | None, tuple[str, float] | None, str | None]:
    """(verdict, mistake key, diagnosis, credited route, note) by the rules of the module docstring."""
    carried = spread.computed.get(given.name, 0.0)  # how far the own values' rounding may move this step
    earned = _own_pool_route(ctx, given, step, expected)
    if earned is not None:
        return "follows", None, None, earned, None
    if matches(given, expected) and not (given.value == 0 and expected != 0):
        brief = _too_brief(ctx, given, expected)
        if brief:
            return "close", brief[0], brief[1], None, None
        digits = significant_digits(given)
        if digits <= 1 and ctx.round_to is None and not _written_in_full(given, expected):
            return "close", "too_few_digits", _too_few(given, expected), None, None
        if rules.min_digits and digits < rules.min_digits and not _written_in_full(given, expected):
            return ("close", "too_few_digits",
                    f"{digits} significant digit{'s' * (digits != 1)} written; the sheet asks for {rules.min_digits}", None, None)
        return "correct", None, None, None, None
    routing = given.value == 0 and routed_by_max_pool(ctx, step)  # 0 there says where a window's gradient went
    asked = ctx.round_to is not None and given.places >= ctx.round_to  # --round K: K decimals are what the sheet asks
    if (significant_digits(given) <= 1 or given.value == 0) and not routing and not asked:
        fits = [ref for ref in (expected, own) if ref is not None and consistent(given, ref, carried)
                and not (ref == 0 == given.value)]  # a 0 that is the own values' 0 follows (below), not brief
        if fits:
            return "close", "too_few_digits", _too_few(given, fits[0]), None, None
    if step.text and inputs_clean and consistent(given, own, carried):
        return "correct", None, None, None, ROUNDING_CARRIED
    if step.text:
        drift = _drifted(given, expected)  # a route other than the chain is rounding drift in disguise
        for label, value, factors in routes(ctx, step):
            if label != "chain" and drift:
                continue
            within = carried if not factors else abs(value) * sum(
                spread.own.get(f, 0.0) / abs(ctx.own[f]) for f in factors if ctx.own.get(f))
            if consistent(given, value, within) or _follows(given, expected, value):
                return "follows", None, None, (label, value), None
    diagnosis = _diagnose(ctx, given, expected, own, better_than=carried, prefer=prefer)
    if diagnosis:
        return "wrong", diagnosis[0], diagnosis[1], None, None
    if _drifted(given, expected):
        return "close", None, None, None, None
    if own is not None and _drifted(given, own):
        trivial = step.text and not any(label == "chain" for label, _, _ in routes(ctx, step))
        return "close", None, (TRIVIAL_NOTE.format(own=f"{own:.6g}") if trivial else None), None, None
    return "wrong", None, None, None, None


def _own_pool_route(ctx: Context, given: Given, step: Any, expected: float) -> tuple[str, float] | None:
    """A max-pool's gradient routed by the student's own maxima (routes_layers.py): a 0 there is earned, and a
    cell the exact run gives no path may get one."""
    if ctx.network_kind != "layers" or (step.text and given.value != 0 and significant_digits(given) > BRIEF_DIGITS):
        return None
    for label, value, _ in layer_routes(ctx, step):
        if _written_in_full(given, expected):
            return None
        if _written_in_full(given, value) or not step.text and matches(given, value) and not matches(given, expected):
            return label, value
    return None


def _with_slips(ctx: Context, solution: Solution, results: list[Result]) -> list[Result]:
    """The results, a close or wrong answer without a diagnosis given the copying slip that gives it (if any)."""
    todo = {r.name for r in results if r.verdict in ("close", "wrong") and r.diagnosis is None}
    if not todo:
        return results
    if ctx.network_kind != "dense":
        return results
    rounding = honest(ctx, solution)
    answers = {g.name: g for g in solution}
    written = {g.name: plain_digits(g) for g in solution}
    marked = []
    for r in results:
        cause = copying_slip(ctx, answers[r.name], written, rounding) if r.name in todo else None
        if cause is not None:
            r = replace(r, mistake="slip_" + cause.kind.replace(" ", "_"), diagnosis="not rounding: " + cause.reason)
        marked.append(r)
    return marked


def check(net: Network | LayerNetwork, solution: Solution, update_order: str | None = None, round_to: int | None = None,
          rules: Rules = Rules(), prepared: tuple[Trace, Trace | None] | None = None,
          alternatives: dict[str, Network] | None = None) -> Report:
    """Judge every answer of `solution` against one training step of `net`.

    `prepared`: the traces of context.traces(net, ...) when many solutions share a network;
    `alternatives`: other networks (label -> network) to name in a hint when the values fit one better.
    """
    prepared = prepared or traces(net, update_order, round_to)
    scale = batch_scale(net)
    solution, read_as = read_aliases(solution, prepared[0].values, scale)
    solution = zeros_read_at_sheet_precision(solution, round_to)
    ctx = build(net, solution, update_order, round_to, prepared)
    order = {name: i for i, name in enumerate(ctx.steps)}
    spread = spreads(ctx, solution)
    results = _with_slips(ctx, solution, _judge_in_order(ctx, solution, rules, spread))
    for name, line in solution.unanswered:
        if name in order:
            results.append(Result(name, "", "unanswered", expected=ctx.exact[name], line=line))
    if not solution.answers and not solution.unanswered and not solution.problems:
        results += [Result(s.name, "", "unanswered", expected=s.value) for s in ctx.trace if s.text]
    unknown = 0
    for g in [*solution, *(_Blank(n, line) for n, line in solution.unanswered)]:
        if g.name not in order:
            batch = _batch_derivative(ctx, g, scale)
            if batch is not None:
                results.append(batch)
                continue
            unknown += 1  # hints for the first 100: 50,000 unknown names must not take a minute
            close = difflib.get_close_matches(g.name, list(order), n=3, cutoff=0.5) if unknown <= 100 else []
            results.append(Result(g.name, g.text, "unknown", line=g.line, diagnosis=f"no quantity named {g.name!r}"
                                  + (f"; did you mean {', '.join(close)}?" if close else "; see `stepgrad names`")))
    results += [Result("", "", "unreadable", line=p.line, diagnosis=p.message) for p in solution.problems]
    if rules.order == "given":
        results.sort(key=lambda r: r.line)
    else:
        results.sort(key=lambda r: (r.verdict in ("unknown", "unreadable"), order.get(r.name, len(order))))
    meta: dict[str, Any] = {"update_order": ctx.order, "round_to": round_to, "network": net.name or None,
                            "min_digits": rules.min_digits}
    if read_as:
        meta["read_as"] = read_as
    if solution.decimal_commas:
        meta["decimal_commas"] = solution.decimal_commas
    written = {g.name for g in solution} | {name for name, _ in solution.unanswered}
    missing = [n for n in required(ctx.trace, rules.required) if n not in written]
    if solution.answers and missing:  # an empty solution already lists every quantity as unanswered
        meta["missing_text"] = missing_text(ctx.trace, missing)
    report = Report(solution.source, tuple(results), meta, tuple(missing) if solution.answers else ())
    hint = better_fit(report, solution, update_order, round_to, {**conventions(net), **(alternatives or {})})
    if hint:
        meta["hint"] = hint
    if ctx.network_kind == "layers":  # a stride or padding wrong throughout: said once (geometry_sheet.py)
        report = whole_sheet(report, net, solution, round_to, ctx.trace,  # type: ignore[arg-type]
                             lambda other, answers, rounding, trace: check(other, answers, round_to=rounding,
                                                                           rules=Rules(required="none"),
                                                                           prepared=(trace, None)))
    return report


def _batch_derivative(ctx: Context, g: Given | _Blank, scale: float) -> Result | None:
    """The verdict on dE_total/dX[k], the batch error's derivative with respect to sample k's X (aliases.py),
    against `scale` times sample k's own dE_total[k]/dX[k]; None for any other name."""
    plain = names.parse(g.name) if names.is_name(g.name) else None
    own = names.legacy(g.name) if plain is not None and plain.batch else None
    if plain is None or own is None or own not in ctx.exact:
        return None
    expected = ctx.exact[own] * scale
    said = (f"the batch error's derivative: {'' if scale == 1 else f'1/{round(1 / scale)} of '}sample {plain.sample}'s own "
            f"{own} = {ctx.exact[own]:.9g}")
    if not isinstance(g, Given):
        return Result(g.name, "", "unanswered", expected=expected, line=g.line, note=said)
    if matches(g, expected):
        return Result(g.name, g.text, "correct", expected=expected, line=g.line, note=said)
    error = relative_error(g.value, expected)
    verdict = "close" if _drifted(g, expected) else "wrong"
    return Result(g.name, g.text, verdict, expected=expected, relative_error=error, line=g.line, diagnosis=said)


@dataclass(frozen=True)
class _Blank:
    name: str
    line: int
    text: str = ""
