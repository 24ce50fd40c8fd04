"""Error carried forward through a max-pool: the window's gradient routed by the student's own maxima.

The trace writes a pool's backward step with the exact run's routes (dE_total/dout_c1[1,2,1] =
dE_total/dout_p1[1,1,1] + ...). A student whose earlier slip moved a window's maximum sends its
gradient to their own largest cell: correct work on their numbers, and a cell no window chose gets
0 honestly (routes.py's cap on trivial values does not apply to it, nor to dE_total/dnet = 0 * dout/dnet
there).
"""

from __future__ import annotations

from collections.abc import Iterator

from stepgrad.core import names
from stepgrad.core.layers.pool import Pool
from stepgrad.core.trace import Step
from stepgrad.teach.check.context import Context
from stepgrad.teach.check.diagnoses_conv import _Map, _quantity, _right, input_gradient


def _own_routing(ctx: Context, step: Step) -> float | None:
    """dE_total/dout of a max-pool's input cell with each window's gradient sent to the own maximum (None: not such a step)."""
    found = _quantity(ctx, step, ctx.own)
    if found is None or not isinstance(found[0], Pool) or found[0].mode != "max":
        return None
    n = names.parse(step.name)
    if n.kind != "partial" or n.bottom is None or n.bottom.kind != "out":
        return None
    layer = found[0]
    try:
        own = found[1](_right(layer))
        exact_routes = _exact_routes(ctx, step, layer)
    except KeyError:
        return None
    written = ctx.recompute(step, ctx.own) if step.text else 0.0  # no text: no window chose this cell
    return ctx.finish(written - exact_routes + own)


def _exact_routes(ctx: Context, step: Step, layer: Pool) -> float:
    """The pool's share of the step as the trace routes it (by the exact maxima), on the own signals."""
    n = names.parse(step.name)
    assert n.bottom is not None and n.bottom.position is not None
    routed = _Map(ctx, layer, ctx.exact, n.sample)
    signals = _Map(ctx, layer, ctx.own, n.sample)
    routed.signal = signals.signal  # type: ignore[method-assign]  # the exact routes, the own gradients
    from stepgrad.teach.check.diagnoses_conv import _cell
    return input_gradient(routed, _right(layer), _cell(layer, n.bottom.position))


def routed_by_max_pool(ctx: Context, step: Step) -> bool:
    """Whether the step is dE_total/dout of a max-pool's input cell: a 0 written there is a routing, not a rounding."""
    if ctx.network_kind != "layers":
        return False
    found = _quantity(ctx, step, ctx.exact)
    return found is not None and isinstance(found[0], Pool) and found[0].mode == "max" and \
        names.parse(step.name).kind == "partial"


def layer_routes(ctx: Context, step: Step) -> Iterator[tuple[str, float, tuple[str, ...]]]:
    """Routes beyond routes.py's for a layer-table network (exempt from its cap on trivial values)."""
    if ctx.network_kind != "layers":
        return
    value = _own_routing(ctx, step)
    if value is not None:
        yield "each max-pool window's gradient sent to your own largest cell", value, ()
        return
    # the chain's 0 from an own 0 that a max-pool routing put there: earned, not free (the cap is for out_o1 = 1); so is
    # an update k+ = k - eta * 0 that keeps its weight
    chain = ctx.from_own.get(step.name)
    if chain is not None:
        source = next((op for op in step.operands if _earned_zero(ctx, op, 4)), None)
        if source is not None:
            yield f"chain (no max-pool window sent a gradient to {source} in your work)", chain, ()


def _earned_zero(ctx: Context, name: str, depth: int) -> bool:
    """Whether an own 0 comes from a max-pool routing: a pool cell's gradient written 0 (or 0 by the own
    maxima), or a step whose chain is 0 because of one."""
    step = ctx.steps.get(name)
    if step is None or ctx.own.get(name) != 0.0 or ctx.exact.get(name) == 0.0 or depth == 0:
        return False
    if routed_by_max_pool(ctx, step):
        return name in ctx.given or _own_routing(ctx, step) == 0.0
    return bool(step.text) and ctx.from_own.get(name) == 0.0 and any(
        _earned_zero(ctx, op, depth - 1) for op in step.operands)
