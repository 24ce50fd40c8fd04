"""A feature map flattened in another order than PyTorch's, registered like diagnoses.py's mistakes.

nn.Flatten reads a (channels, rows, columns) map row-major: channel by channel, row by row, column by
column (out_f1[u] is the cell np.unravel_index(u - 1, (C, H, W))). Students also read it

- column-major (numpy's order="F", MATLAB's and Fortran's: the channel changes fastest, then the row),
- each channel column by column (channel, column, row), or
- channels last (row, column, channel: TensorFlow's NHWC layout).

flatten_order recomputes a step with the flattened vector read in one of those orders: the flatten's
own value out_f1[u] (the cell the student put at u), a step using out_f1 the student did not write (the
dense layer's net, its weights' factors), and backward the map's error signal dE_total/dout_p1 read back
from the student's position of that cell (and steps using those signals unwritten).

    >>> import numpy as np
    >>> [int(i) for i in _orders((2, 2, 2))[0][0]]        # column-major: the channel changes fastest
    [0, 4, 2, 6, 1, 5, 3, 7]
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from stepgrad.core import names
from stepgrad.core.layers.flatten import Flatten
from stepgrad.core.trace import Step
from stepgrad.teach.check.context import Context
from stepgrad.teach.check.diagnoses import Candidates, mistake
from stepgrad.teach.check.diagnoses_layers import LAYERS, _layers

READINGS = {"column_major": "read column-major (numpy order F: the channel changes fastest, then the row)",
            "columns": "each channel read column by column (PyTorch reads row by row)",
            "channels_last": "read channels last (row, column, channel; PyTorch reads channel, row, column)"}


def _orders(shape: tuple[int, ...]) -> list[tuple[np.ndarray, str]]:
    """(perm, reading) for each other order: perm[u] is the row-major index of the cell the student put at u."""
    index = np.arange(int(np.prod(shape))).reshape(shape)
    column_major = (index.ravel(order="F"), READINGS["column_major"])
    channels_last = (np.moveaxis(index, 0, -1).ravel(), READINGS["channels_last"])
    if len(shape) == 3:
        found = [column_major, (index.transpose(0, 2, 1).ravel(), READINGS["columns"]), channels_last]
    else:  # a 1-d map (channels, length): column-major is channels last, named so
        found = [channels_last, column_major]
    unique: list[tuple[np.ndarray, str]] = []
    for perm, reading in found:
        if not np.array_equal(perm, index.ravel()) and not any(np.array_equal(perm, p) for p, _ in unique):
            unique.append((perm, reading))
    return unique


class _Flat:
    """One flatten layer's names for one sample: out_f1[u], the cell it reads, and their error signals."""

    def __init__(self, ctx: Context, layer: Flatten, sample: int | None) -> None:
        size = int(np.prod(layer.in_shape))
        self.outs = [names.map_value("out", layer.label, (u + 1,), sample) for u in range(size)]
        steps = [ctx.steps.get(o) for o in self.outs]
        self.ok = all(s is not None and len(s.operands) == 1 for s in steps)
        self.sources = [s.operands[0] for s in steps] if self.ok else []  # type: ignore[union-attr]
        self.d_outs = [names.partial(names.TOTAL, names.map_value("out", layer.label, (u + 1,)), sample)
                       for u in range(size)]
        self.d_sources = [names.partial(names.TOTAL, str(names.parse(s).but(sample=None)), sample)
                          for s in self.sources]


def _flattens(ctx: Context) -> list[Flatten]:
    return [layer for layer in _layers(ctx) if isinstance(layer, Flatten) and len(layer.in_shape) >= 2]


@mistake("flatten_order", "flatten order", networks=LAYERS)
def _flatten_order(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    layers = _flattens(ctx)
    if not layers:
        return
    try:
        sample = names.parse(step.name).sample
    except ValueError:
        return
    for layer in layers:
        flat = _Flat(ctx, layer, sample)
        if not flat.ok:
            continue
        for perm, reading in _ranked(ctx, flat, _orders(tuple(layer.in_shape))):
            value = _read(ctx, step, base, flat, perm)
            if value is not None:
                yield value, f"{layer.label}: the map {reading}"


def _ranked(ctx: Context, flat: _Flat, orders: list[tuple[np.ndarray, str]]) -> list[tuple[np.ndarray, str]]:
    """The orders, the one that explains most of the sheet's flattened values and read-back signals first (in a
    small map several orders move a given cell alike: each line is named by the student's reading of the whole)."""
    written = [name for name in (*flat.outs, *flat.d_sources) if name in ctx.given]

    def explained(perm: np.ndarray) -> int:
        count = 0
        for name in written:
            value = _read(ctx, ctx.steps[name], ctx.own, flat, perm)
            given = ctx.given[name]
            count += value is not None and abs(value - given) <= 1e-4 * max(abs(given), 1e-3)
        return count

    return sorted(orders, key=lambda order: -explained(order[0]))


def _read(ctx: Context, step: Step, base: Mapping[str, float], flat: _Flat, perm: np.ndarray) -> float | None:
    """The step with the flattened vector in the order `perm` (None: the step does not touch it)."""
    inverse = np.argsort(perm)
    forward = {o: flat.sources[int(perm[u])] for u, o in enumerate(flat.outs)}
    backward = {d: flat.d_outs[int(inverse[i])] for i, d in enumerate(flat.d_sources)}
    try:
        if step.name in forward:
            return float(base[forward[step.name]])
        if step.name in backward:
            return float(base[backward[step.name]])
        overrides = {op: float(base[forward.get(op) or backward[op]]) for op in step.operands
                     if (op in forward or op in backward) and op not in ctx.given}
    except KeyError:
        return None
    return ctx.recompute(step, base, overrides) if overrides and step.text else None
