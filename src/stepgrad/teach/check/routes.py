"""Error carried forward along every standard way of computing a quantity, from the solution's own numbers.

A marker gives credit for an answer that is wrong only because an earlier answer was: the answer is
what the student's own earlier values give. Students compute a quantity in more than one standard
way, and each is credited:

- chain: the step's formula as the derivation writes it (dE_total/dw5 = dE_total/dout_o1 ·
  dout_o1/dnet_o1 · dnet_o1/dw5), on the own values;
- a named run of factors (δ·input, δ·w): dE_total/dw5 = δ_o1 · out_h1 with the student's δ_o1,
  dE_total/dw1 = δ_h1 · i1;
- an operand recomputed from the student's values below it (the sum over paths written out,
  dE_total/dout_h1 = δ_o1·w5 + δ_o2·w7, when their dE_o1/dout_h1 was a slip of its own);
- unwritten intermediates taken along the student's written runs (the batch mean Σ δ[k]·input[k] / n
  from their own per-sample δ, when the per-sample products were never written).

A route is not credited when the carried error makes the step trivial (a value of 0 or ±1, or an
operand passed through unchanged, where the exact step is neither): writing out_o1 = 1 must not
make every later gradient a free 0 and every update a free copy of the old weight (the cap).

    >>> from stepgrad.teach.check import solution
    >>> from stepgrad.teach.check.context import build
    >>> ctx = build(stepgrad.builtin(), solution.loads("dE_o1/dnet_o1 = 0.2"))
    >>> [label for label, _, _ in routes(ctx, ctx.steps["dE_total/dw5"])][:2]
    ['chain', 'δ·input: dE_o1/dnet_o1 · dnet_o1/dw5']
"""

from __future__ import annotations

from collections.abc import Iterator

from stepgrad.core import names
from stepgrad.core.trace import Step
from stepgrad.teach.check.context import Context
from stepgrad.teach.check.routes_layers import layer_routes

TRIVIAL = (0.0, 1.0, -1.0)


def _product(step: Step) -> bool:
    return len(step.factors) > 1 and step.text == " * ".join(f"«{f}»" for f in step.factors)


def _kind(run: Step, rest: list[str]) -> str:
    """'δ·input' / 'δ·w' / 'via X' for a route through the named run of factors `run`."""
    if run.kind == "delta" and len(rest) == 1:
        bottom = names.parse(rest[0]).bottom
        what = "input" if bottom is not None and bottom.kind == "weight" else "w"
        return f"δ·{what}: {run.name} · {rest[0]}"
    return f"via {run.name}: {' · '.join([run.name, *rest])}"


def _runs(ctx: Context, step: Step) -> Iterator[tuple[Step, list[str]]]:
    """(another product step, the factors left over) for every named contiguous run of this step's factors."""
    factors = list(step.factors)
    for other in ctx.steps.values():
        if other is step or not _product(other) or len(other.factors) >= len(factors):
            continue
        k = len(other.factors)
        for start in range(len(factors) - k + 1):
            if tuple(factors[start:start + k]) == other.factors:
                yield other, factors[:start] + factors[start + k:]


def routes(ctx: Context, step: Step) -> list[tuple[str, float, tuple[str, ...]]]:
    """(label, value, factors) of every standard route to the step from the own values; the chain first.
    `factors`: the own values a product route multiplies (empty for the others)."""
    found: list[tuple[str, float, tuple[str, ...]]] = []
    chain = ctx.from_own.get(step.name)
    if chain is not None:
        found.append(("chain", chain, ()))
    if _product(step):
        for run, rest in _runs(ctx, step):
            value = ctx.own[run.name]
            for f in rest:
                value *= ctx.own[f]
            found.append((_kind(run, rest), ctx.finish(value), (run.name, *rest)))
    through = _via_written_runs(ctx, step)
    if through is not None:
        found.append(through)
    for op in step.operands:
        if op in ctx.given and ctx.steps.get(op) is not None and ctx.steps[op].text and op in ctx.from_own:
            value = ctx.recompute(step, ctx.own, {op: ctx.from_own[op]})
            found.append((f"with {op} recomputed from your values of {', '.join(ctx.steps[op].operands)}", value, ()))
    return [route for route in found if not _trivial(ctx, step, route[1])] + list(layer_routes(ctx, step))


def _via_written_runs(ctx: Context, step: Step) -> tuple[str, float, tuple[str, ...]] | None:
    """The step with every unwritten product operand taken along a run the student did write: the mean
    gradient Σ δ[k]·input[k] / n from the student's own per-sample δ when the per-sample products were
    never written (the chain would recompute them from the derivative factors instead)."""
    overrides: dict[str, float] = {}
    used: list[str] = []
    for op in step.operands:
        inner = ctx.steps.get(op)
        if op in ctx.given or inner is None or not _product(inner):
            continue
        for run, rest in _runs(ctx, inner):
            if run.name in ctx.given:
                value = ctx.own[run.name]
                for f in rest:
                    value *= ctx.own[f]
                overrides[op] = ctx.finish(value)
                used.append(run.name)
                break
    if not overrides:
        return None
    return (f"with your {', '.join(used)} for the values not written", ctx.recompute(step, ctx.own, overrides), ())


def _trivial(ctx: Context, step: Step, value: float) -> bool:
    """True when the carried error made the step trivial (the cap on credit): a value of 0 or ±1, or
    one of its operands unchanged (w5+ = w5), where the exact step is neither."""
    exact = ctx.exact[step.name]

    def same(a: float, b: float) -> bool:
        return abs(a - b) <= 1e-12 * max(1.0, abs(b))

    if any(same(value, t) for t in TRIVIAL) and not any(same(exact, t) for t in TRIVIAL):
        return True
    return any(same(value, ctx.own[op]) and not same(exact, ctx.exact[op])
               for op in step.operands if op in ctx.own and op in ctx.exact)
