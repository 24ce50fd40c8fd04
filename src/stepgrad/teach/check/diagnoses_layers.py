"""Known mistakes on layer-table networks (convolution, pooling, residual blocks), registered like diagnoses.py's.

Each recomputes a step with the mistake applied, from a base world (the solution's own numbers,
then the exact ones); nothing looks at the student's digits.

- kernel_flipped: the kernel turned by 180 degrees where it should not be (or not turned where true
  convolution turns it): the step recomputed with every kernel weight replaced by its mirror
  k[o,i,kr+1-p,kc+1-q]; a kernel weight's gradient taken for its mirror's.
- maxpool_all_cells: a max-pool's gradient sent to every cell of the window, not only the maximum.
- maxpool_wrong_cell: the window's gradient given to the wrong cell: on a tie the last largest (or
  shared, or the first when the spec splits), the first largest reading column by column, the
  maximum's row-major neighbour (the cell after or before it), the smallest cell, or any cell but
  the maximum.
- avgpool_without_scale: an average pool without its 1/(kernel rows x columns), forward or backward.
- skip_gradient_forgotten: a residual block's input given only the gradient through the block, not
  the skip path's dE_total/dnet_r.
"""

from __future__ import annotations

from collections.abc import Mapping

from stepgrad.core import names
from stepgrad.core.layers.base import Layer, window_cells
from stepgrad.core.layers.conv import Conv
from stepgrad.core.layers.pool import Pool
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.trace import SLOT, Step
from stepgrad.teach.check.context import Context
from stepgrad.teach.check.diagnoses import Candidates, mistake
from stepgrad.teach.check.formula import parse
from stepgrad.tracing.layered import wiring

LAYERS = ("layers",)


def _net(ctx: Context) -> LayerNetwork | None:
    """The layer-table network (None on a dense one: these mistakes do not apply there; Mistake.networks)."""
    return ctx.net if isinstance(ctx.net, LayerNetwork) else None


def _layers(ctx: Context) -> list[Layer]:
    net = _net(ctx)
    return [] if net is None else net.all_layers()


def _wiring(ctx: Context) -> dict[str | None, list[tuple[Layer, str]]]:
    net = _net(ctx)
    return {} if net is None else wiring(net.layers)[1]


def _mirror(ctx: Context, name: str) -> str | None:
    """The mirror of a kernel weight's name, k1[o,i,p,q] -> k1[o,i,kr+1-p,kc+1-q] (None: not a kernel weight)."""
    try:
        n = names.parse(name)
    except ValueError:
        return None
    if n.kind != "weight" or n.position is None or not str(n.parameter).startswith("k"):
        return None
    conv = next((layer for layer in _layers(ctx) if isinstance(layer, Conv)
                 and layer.number == int(str(n.parameter)[1:])), None)
    if conv is None:
        return None
    o, i, *rest = n.position
    kr, kc = conv.kernel_size
    turned = (kc + 1 - rest[0],) if conv.one_d else (kr + 1 - rest[0], kc + 1 - rest[1])
    return str(n.but(position=(o, i, *turned)))


@mistake("kernel_flipped", "kernel flipped", networks=LAYERS)
def _kernel_flipped(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    n = names.parse(step.name)
    if n.kind == "partial" and n.bottom is not None and n.top is not None and n.top.kind == "error":
        mirror = _mirror(ctx, str(n.bottom))
        if mirror is not None and mirror != str(n.bottom):
            other = names.gradient(mirror, n.sample)
            if other in ctx.steps and ctx.steps[other].text:  # from the base world's signals (error carried forward)
                yield ctx.recompute(ctx.steps[other], base), f"the gradient of {mirror}, the mirrored kernel entry"
            elif other in base:
                yield base[other], f"the gradient of {mirror}, the mirrored kernel entry"
        return
    if not step.text:
        return
    overrides = {}
    for op in step.operands:
        mirror = _mirror(ctx, op)
        if mirror is not None and mirror != op and mirror in base:
            overrides[op] = base[mirror]
    if overrides:
        yield ctx.recompute(step, base, overrides), "recomputed with the kernel turned by 180 degrees"


def _pool_below(ctx: Context, step: Step) -> tuple[Pool, Step] | None:
    """(the max or average pool reading this layer's out, the step) for a step dE_total/dout_L[...]."""
    n = names.parse(step.name)
    if n.kind != "partial" or n.top is None or n.bottom is None or n.top.kind != "error" or n.bottom.kind != "out":
        return None
    consumers = _wiring(ctx)
    pool = next((layer for layer, _ in consumers.get(n.bottom.neuron, []) if isinstance(layer, Pool)), None)
    return (pool, step) if pool is not None else None


def _window_rows(ctx: Context, pool: Pool, step: Step, base: Mapping[str, float]):
    """For each window of `pool` holding this cell: (its gradient name, the window's values in reading
    order, this cell's index in it, the window's column count)."""
    n = names.parse(step.name)
    assert n.bottom is not None and n.bottom.position is not None
    cell = tuple(p - 1 for p in n.bottom.position)
    producer = str(n.bottom.neuron)
    for index in _out_positions(pool):
        if index[0] != cell[0]:
            continue
        cells = [(c, names.map_value("out", producer, tuple(p + 1 for p in (index[0], *c)), n.sample))
                 for _, c in window_cells(pool, index) if c is not None]
        here = [k for k, (c, _) in enumerate(cells) if c == cell[1:]]
        if not here:
            continue
        values = [base.get(name) for _, name in cells]
        if any(v is None for v in values):
            continue
        gradient = names.partial(names.TOTAL, names.map_value("out", pool.label, tuple(p + 1 for p in index)), n.sample)
        yield gradient, [float(v) for v in values], here[0], pool.kernel_size[1]  # type: ignore[arg-type]


def _windows(ctx: Context, pool: Pool, step: Step, base: Mapping[str, float]):
    """For each window of `pool` holding this cell: (its gradient name, whether this cell is the window's
    maximum in `base` (first in reading order on ties))."""
    for gradient, values, here, _ in _window_rows(ctx, pool, step, base):
        first = max(range(len(values)), key=lambda k: (values[k], -k))
        yield gradient, first == here


def _out_positions(pool: Pool):
    import numpy as np

    return [tuple(int(i) for i in index) for index in np.ndindex(*pool.out_shape)]


@mistake("maxpool_all_cells", "max-pool gradient sent to every cell", networks=LAYERS)
def _maxpool_all_cells(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    found = _pool_below(ctx, step)
    if found is None or found[0].mode != "max":
        return
    windows = list(_windows(ctx, found[0], step, base))
    if windows and not all(chosen for _, chosen in windows) and all(g in base for g, _ in windows):
        yield sum(base[g] for g, _ in windows), "every cell of the window given the window's gradient"


def _tied(values: list[float]) -> list[int]:
    return [k for k, v in enumerate(values) if v == max(values)]


def _by_columns(values: list[float], columns: int) -> int:
    """The first largest cell reading column by column (index in reading order)."""
    rows = len(values) // columns
    order = [r * columns + c for c in range(columns) for r in range(rows)]
    return next(k for k in order if values[k] == max(values))


def _wrong_routes(ties: str, columns: int):
    """(how the window's gradient is shared among its cells, as {index: share}, the reading) for each wrong route."""
    first = lambda v: _tied(v)[0]  # noqa: E731
    if ties == "split":
        yield lambda v: {first(v): 1.0}, "on a tie the first largest cell given it all (the spec splits ties)"
    else:
        yield lambda v: {_tied(v)[-1]: 1.0}, "on a tie the last largest cell given it (the spec's rule is the first)"
        yield lambda v: {k: 1 / len(_tied(v)) for k in _tied(v)}, "on a tie shared among the tied cells (the spec's rule is the first)"
        yield lambda v: {_by_columns(v, columns): 1.0}, "on a tie the first largest reading column by column (the spec reads row by row)"
    yield (lambda v: {first(v) + 1: 1.0} if first(v) + 1 < len(v) else {},
           "given to the cell after the maximum in reading order (its row-major neighbour)")
    yield lambda v: {first(v) - 1: 1.0} if first(v) > 0 else {}, "given to the cell before the maximum in reading order"
    yield lambda v: {v.index(min(v)): 1.0}, "given to the window's smallest cell, not its largest"


@mistake("maxpool_wrong_cell", "max-pool gradient sent to the wrong cell", networks=LAYERS)
def _maxpool_wrong_cell(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    found = _pool_below(ctx, step)
    if found is None or found[0].mode != "max":
        return
    rows = list(_window_rows(ctx, found[0], step, base))
    if not rows or not all(g in base for g, *_ in rows):
        return
    for route, reading in _wrong_routes(found[0].ties, rows[0][3]):
        yield sum(base[g] * route(values).get(here, 0.0) for g, values, here, _ in rows), f"each window's gradient {reading}"
    windows = list(_windows(ctx, found[0], step, base))
    # the maximum's windows' gradient went elsewhere; a cell that was not the maximum received it
    yield sum(base[g] for g, chosen in windows if not chosen), "the window's gradient given to this cell, not the maximum"


@mistake("avgpool_without_scale", "average pool without its 1/(kernel size)", networks=LAYERS)
def _avgpool_without_scale(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    if not step.text:
        return
    n = names.parse(step.name)
    forward = n.kind == "out" and n.position is not None
    for layer in _layers(ctx):
        if not (isinstance(layer, Pool) and layer.mode == "avg"):
            continue
        count = layer.kernel_size[0] * layer.kernel_size[1]
        # the pool's own out (forward), or a gradient sent back through the pool (its dE_total/dout operands)
        about = n.neuron == layer.label if forward else any(_is_signal_of(op, "out", layer.label) for op in step.operands)
        if about and f" / {count}" in step.text:
            yield (ctx.recompute(step, base, tree=parse(step.text.replace(f" / {count}", ""))),
                   f"the window's {'sum' if forward else 'gradient'} not divided by {count}")
            return


def _is_signal_of(name: str, kind: str, label: str) -> bool:
    """Whether `name` is dE_total/d<kind> of layer `label` at some position (dE_total/dnet_r1[1,2,2])."""
    try:
        n = names.parse(name)
    except ValueError:
        return False
    return n.kind == "partial" and n.bottom is not None and n.bottom.kind == kind and n.bottom.neuron == label


@mistake("skip_gradient_forgotten", "skip path's gradient forgotten", networks=LAYERS)
def _skip_forgotten(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    n = names.parse(step.name)
    if n.kind != "partial" or n.bottom is None or n.bottom.kind != "out" or " + " not in step.text:
        return
    skips = [layer.label for layer, how in _wiring(ctx).get(n.bottom.neuron, []) if how == "skip"]
    terms = step.text.split(" + ")
    # a term that is the residual sum's error signal alone («dE_total/dnet_r1[...]»): the skip path's
    kept = [t for t in terms if not (SLOT.fullmatch(t) and any(_is_signal_of(t[1:-1], "net", label) for label in skips))]
    if skips and 0 < len(kept) < len(terms):
        yield ctx.recompute(step, base, tree=parse(" + ".join(kept))), "only the path through the block, not the skip path"
