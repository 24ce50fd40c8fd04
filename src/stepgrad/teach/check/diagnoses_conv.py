"""Known mistakes in a convolution's geometry and channels, registered like diagnoses.py's.

Each recomputes a conv layer's quantity from the layer's geometry with the mistake applied, on a
base world (the solution's own numbers, then the exact ones), and adds the difference to the step's
own formula: a step with other terms (a residual block's skip path) keeps them. Conventions as in
core/layers/conv.py: net_c[o,r,c] = sum over i,p,q of k[o,i,p,q] * x_padded[i, r*stride+p, c*stride+q]
+ b[o] (the kernel turned 180 degrees for true convolution); positions 1-based in names.

- stride_off: a conv or pool window placed with another stride (1, 2, 3 or the kernel size) than
  the layer's, in the forward pass or when the backward pass matches positions to inputs.
- padding_off: a conv's input read with another padding than the layer's (0: padding forgotten,
  the usual slip in the backward pass; one more or less; "same" padding).
- channels_summed: a multi-channel conv's sums over the wrong axis: a kernel weight's (or bias's)
  gradient summed across every output channel's errors, or over every input channel's inputs; an
  input's gradient from its own channel's errors only (not summed over output channels); a net
  from its own input channel only (not summed over input channels).
- batch_mean_vs_sum: a batch gradient summed where the spec averages over the samples (reduction
  "mean"), or averaged where it sums; also found in an update that used such a gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from stepgrad.core import names
from stepgrad.core.layers.base import Layer
from stepgrad.core.layers.conv import Conv
from stepgrad.core.layers.pool import Pool
from stepgrad.core.trace import Step
from stepgrad.teach.check.context import Context
from stepgrad.teach.check.diagnoses import Candidates, _through, mistake
from stepgrad.teach.check.diagnoses_layers import LAYERS, _layers
from stepgrad.teach.check.formula import evaluate
from stepgrad.tracing.layered import wiring

Cell = tuple[int, int, int]  # (channel, row, column), 0-based; a 1-d map has row 0


@dataclass(frozen=True)
class Geometry:
    """Where a window sits: stride and padding (rows, columns); the channel reading (see channels_summed)."""

    stride: tuple[int, int]
    padding: tuple[int, int]
    channels: str = "right"  # right | all_out | all_in | own_channel


class _Map:
    """One conv or pool layer seen from a base world: its input and signals by 0-based cell."""

    def __init__(self, ctx: Context, layer: Conv | Pool, base: Mapping[str, float], sample: int | None) -> None:
        self.layer, self.base, self.sample = layer, base, sample
        self.source = wiring(_net_layers(ctx))[0][layer.label]
        self.in_rows, self.in_cols = (1, layer.in_shape[1]) if layer.one_d else layer.in_shape[1:]
        self.rows, self.cols = (1, layer.out_shape[1]) if layer.one_d else layer.out_shape[1:]

    def _position(self, cell: Cell) -> tuple[int, ...]:
        ch, r, c = cell
        return (ch + 1, c + 1) if self.layer.one_d else (ch + 1, r + 1, c + 1)

    def value(self, name: str) -> float:
        return float(self.base[name])  # KeyError: the candidate is dropped (_safe)

    def input(self, cell: Cell) -> float:
        """The layer's input at a cell; 0 outside the map (the zero padding, or beyond it)."""
        _, r, c = cell
        if not (0 <= r < self.in_rows and 0 <= c < self.in_cols):
            return 0.0
        kind, label = ("input", names.INPUT_MAP) if self.source is None else ("out", self.source)
        return self.value(names.map_value(kind, label, self._position(cell), self.sample))

    def signal(self, cell: Cell) -> float:
        """dE_total/dnet (conv) or dE_total/dout (pool) at one of the layer's own cells."""
        kind = "net" if self.layer.has_activation else "out"
        return self.value(names.partial(names.TOTAL, names.map_value(kind, self.layer.label, self._position(cell)),
                                        self.sample))

    def kernel(self, o: int, i: int, offset: tuple[int, int]) -> float:
        """The kernel entry applied at window offset (p, q) (turned 180 degrees for true convolution)."""
        assert isinstance(self.layer, Conv)
        p, q = offset
        kr, kc = self.layer.kernel_size
        if self.layer.flipped:
            p, q = kr - 1 - p, kc - 1 - q
        return self.value(names.kernel(self.layer.number, (o + 1, i + 1, q + 1) if self.layer.one_d
                                       else (o + 1, i + 1, p + 1, q + 1)))

    def out_cells(self, channel: int) -> Iterator[tuple[int, int]]:
        return ((r, c) for r in range(self.rows) for c in range(self.cols))

    def read(self, geo: Geometry, r: int, c: int, offset: tuple[int, int]) -> tuple[int, int]:
        """The input row and column that window offset (p, q) of output (r, c) meets (padding counted)."""
        return r * geo.stride[0] + offset[0] - geo.padding[0], c * geo.stride[1] + offset[1] - geo.padding[1]


def _net_layers(ctx: Context) -> list[Layer]:
    return [layer for layer in ctx.net.layers if isinstance(layer, Layer)]  # a layer-table network's (Mistake.networks)


def _offsets(layer: Conv | Pool) -> list[tuple[int, int]]:
    return [(p, q) for p in range(layer.kernel_size[0]) for q in range(layer.kernel_size[1])]


def _in_channels(m: _Map, o: int, i: int, geo: Geometry) -> list[int]:
    """The input channels a net of out-channel o reads for kernel channel i (own_channel: channel o only)."""
    if geo.channels == "own_channel":
        return [o] if i == o else []
    return [i]


# -- the conv layer's quantities by geometry ----------------------------------------------------------------
def net(m: _Map, geo: Geometry, o: int, r: int, c: int) -> float:
    """net[o,r,c] without its bias: the window sum."""
    assert isinstance(m.layer, Conv)
    total = 0.0
    for i in range(m.layer.in_shape[0]):
        for ch in _in_channels(m, o, i, geo):
            for off in _offsets(m.layer):
                total += m.kernel(o, i, off) * m.input((ch, *m.read(geo, r, c, off)))
    return total


def factor(m: _Map, geo: Geometry, i: int, r: int, c: int, offset: tuple[int, int]) -> float:
    """dnet[o,r,c]/dk[o,i,p,q]: the input that kernel entry met."""
    return m.input((i, *m.read(geo, r, c, offset)))


def kernel_gradient(m: _Map, geo: Geometry, o: int, i: int, offset: tuple[int, int]) -> float:
    """dE_total/dk[o,i,p,q] (offset: where the entry is applied) for one sample."""
    outs = range(m.layer.out_shape[0]) if geo.channels == "all_out" else [o]
    ins = range(m.layer.in_shape[0]) if geo.channels == "all_in" else [i]
    return sum(m.signal((oo, r, c)) * sum(factor(m, geo, ii, r, c, offset) for ii in ins)
               for oo in outs for r, c in m.out_cells(oo))


def bias_gradient(m: _Map, geo: Geometry, o: int) -> float:
    outs = range(m.layer.out_shape[0]) if geo.channels == "all_out" else [o]
    return sum(m.signal((oo, r, c)) for oo in outs for r, c in m.out_cells(oo))


def input_gradient(m: _Map, geo: Geometry, cell: Cell) -> float:
    """This layer's share of dE_total/dout of its input at a cell: every window that met it, sent back."""
    i, a, b = cell
    total = 0.0
    if isinstance(m.layer, Conv):
        outs = [i] if geo.channels == "own_channel" else range(m.layer.out_shape[0])
        kernels = range(m.layer.in_shape[0]) if geo.channels == "all_in" else [i]
        for o in outs:
            if o >= m.layer.out_shape[0]:
                continue
            for r, c in m.out_cells(o):
                for off in _offsets(m.layer):
                    if m.read(geo, r, c, off) == (a, b):
                        total += m.signal((o, r, c)) * sum(m.kernel(o, k, off) for k in kernels)
        return total
    for r, c in m.out_cells(i):  # a pool: the window's route (its maximum, or 1/size each)
        cells = [m.read(geo, r, c, off) for off in _offsets(m.layer)]
        if (a, b) not in cells:
            continue
        if m.layer.mode == "avg":
            total += m.signal((i, r, c)) / len(cells)
            continue
        values = [m.input((i, *rc)) for rc in cells]
        top = max(values)
        chosen = [k for k, v in enumerate(values) if v == top]
        share = 1.0 / len(chosen) if m.layer.ties == "split" else 1.0
        chosen = chosen if m.layer.ties == "split" else chosen[:1]
        total += m.signal((i, r, c)) * share * sum(cells[k] == (a, b) for k in chosen)
    return total


def pooled(m: _Map, geo: Geometry, ch: int, r: int, c: int) -> float:
    """A pool's out at (ch, r, c) with the windows placed by `geo`."""
    assert isinstance(m.layer, Pool)
    values = [m.input((ch, *m.read(geo, r, c, off))) for off in _offsets(m.layer)]
    return max(values) if m.layer.mode == "max" else sum(values) / len(values)


# -- which quantity a step is, and its value by geometry ---------------------------------------------------
def _cell(layer: Conv | Pool, position: tuple[int, ...]) -> Cell:
    p = [x - 1 for x in position]
    return (p[0], 0, p[1]) if layer.one_d else (p[0], p[1], p[2])


def _offset_of(layer: Conv, position: tuple[int, ...]) -> tuple[int, int, tuple[int, int]]:
    """(o, i, window offset) of kernel entry k[o,i,p,q] (1-based): where the entry is applied."""
    o, i, *rest = (x - 1 for x in position)
    p, q = (0, rest[0]) if layer.one_d else (rest[0], rest[1])
    if layer.flipped:
        p, q = layer.kernel_size[0] - 1 - p, layer.kernel_size[1] - 1 - q
    return o, i, (p, q)


Quantity = Callable[[Geometry], float]


def _quantity(ctx: Context, step: Step, base: Mapping[str, float]) -> tuple[Conv | Pool, Quantity] | None:
    """(the conv or pool layer, the step's layer-dependent part as a function of the geometry), or None."""
    try:
        n = names.parse(step.name)
    except ValueError:
        return None
    by_label = {layer.label: layer for layer in _layers(ctx) if isinstance(layer, (Conv, Pool))}
    if n.kind in ("net", "out") and n.position is not None and n.neuron in by_label and not n.after:
        layer = by_label[str(n.neuron)]
        m = _Map(ctx, layer, base, n.sample)
        ch, r, c = _cell(layer, n.position)
        if isinstance(layer, Conv) and n.kind == "net":
            return layer, lambda geo: net(m, geo, ch, r, c)
        if isinstance(layer, Pool) and n.kind == "out":
            return layer, lambda geo: pooled(m, geo, ch, r, c)
        return None
    if n.kind != "partial" or n.top is None or n.bottom is None:
        return None
    top, bottom = n.top, n.bottom
    if top.kind == "net" and bottom.kind == "weight" and top.neuron in by_label and top.position is not None:
        layer = by_label[str(top.neuron)]
        if not isinstance(layer, Conv) or bottom.position is None:
            return None
        m = _Map(ctx, layer, base, n.sample)
        o, i, off = _offset_of(layer, bottom.position)
        _, r, c = _cell(layer, top.position)
        return layer, lambda geo: factor(m, geo, i, r, c, off)
    if top.kind != "error" or top.neuron is not None:
        return None
    if bottom.kind in ("weight", "bias") and bottom.position is not None and not bottom.after:
        conv = next((layer for layer in by_label.values() if isinstance(layer, Conv) and (
            bottom.parameter == f"k{layer.number}" or bottom.parameter == f"b_{layer.label}")), None)
        if conv is None or n.sample is None and names.for_sample(step.name, 1) in ctx.steps:
            return None  # a batch gradient: its per-sample operands carry the mistake (batch_mean_vs_sum's depth)
        m = _Map(ctx, conv, base, n.sample)
        if bottom.kind == "bias":
            channel = bottom.position[0] - 1
            return conv, lambda geo: bias_gradient(m, geo, channel)
        o, i, off = _offset_of(conv, bottom.position)
        return conv, lambda geo: kernel_gradient(m, geo, o, i, off)
    if bottom.kind == "out" or bottom.kind == "input":
        source = None if bottom.kind == "input" else bottom.neuron
        readers = [layer for layer, how in wiring(_net_layers(ctx))[1].get(source, [])
                   if how == "input" and isinstance(layer, (Conv, Pool))]
        if len(readers) != 1 or bottom.position is None:
            return None
        layer = readers[0]
        m = _Map(ctx, layer, base, n.sample)
        cell = _cell(layer, bottom.position)
        return layer, lambda geo: input_gradient(m, geo, cell)
    return None


def _right(layer: Conv | Pool) -> Geometry:
    return Geometry(layer.stride, getattr(layer, "padding", (0, 0)))


def _shifted(ctx: Context, step: Step, base: Mapping[str, float],
             variants: Callable[[Conv | Pool], Iterator[tuple[Geometry, str]]]) -> Candidates:
    """The step recomputed with the layer's part computed by each mistaken geometry instead of the right one."""
    found = _quantity(ctx, step, base)
    if found is None:
        return
    layer, quantity = found
    try:
        right = quantity(_right(layer))
        own = _unrounded(ctx, step, base)  # --round: rounded once, at the end, as the student rounds the mistake's sum
    except KeyError:
        return
    for geo, detail in variants(layer):
        try:
            yield ctx.finish(own - right + quantity(geo)), detail
        except KeyError:
            continue


def _unrounded(ctx: Context, step: Step, base: Mapping[str, float]) -> float:
    """The step's formula on `base`, not rounded (hand-calculation mode rounds what the mistake gives instead)."""
    if not step.text:
        return float(base[step.name])
    value = evaluate(ctx.tree(step), lambda n: base[n])
    return float("nan") if isinstance(value, complex) else float(value)


def _deeper(ctx: Context, step: Step, base: Mapping[str, float],
            variants: Callable[[Conv | Pool], Iterator[tuple[Geometry, str]]], detail: str) -> Candidates:
    """The mistake in an operand the student did not write (dnet/dk used in dE_total/dk, dE_total/dk in k+)."""
    def first(op: Step) -> float | None:
        for value, _ in _shifted(ctx, op, base, variants):
            return value
        return None

    value = _through(ctx, step, base, first, depth=3)
    if value is not None:
        yield value, detail


def _strides(layer: Conv | Pool) -> Iterator[tuple[Geometry, str]]:
    right = _right(layer)
    sizes = sorted({1, 2, 3, *layer.kernel_size} - {right.stride[1]})
    for s in sizes:
        stride = (right.stride[0] if layer.one_d else s, s)
        yield Geometry(stride, right.padding), f"{layer.label}'s windows placed with stride {s} (the layer's is {right.stride[1]})"


def _paddings(layer: Conv | Pool) -> Iterator[tuple[Geometry, str]]:
    if not isinstance(layer, Conv):
        return
    right = _right(layer)
    pad = right.padding[1]
    same = (layer.kernel_size[1] - 1) // 2
    for p in sorted({0, pad - 1, pad + 1, same} - {pad}):
        if p < 0:
            continue
        why = "the padding forgotten" if p == 0 else f"padding {p}"
        padding = (0 if layer.one_d else p, p)
        yield Geometry(right.stride, padding), f"{layer.label}'s input read with {why} (the layer's is {pad})"


def _channel_readings(layer: Conv | Pool) -> Iterator[tuple[Geometry, str]]:
    if not isinstance(layer, Conv):
        return
    right = _right(layer)
    if layer.out_shape[0] > 1:
        yield (Geometry(right.stride, right.padding, "all_out"),
               f"summed across all {layer.out_shape[0]} output channels of {layer.label} (a kernel slice's gradient "
               f"takes only its own output channel's errors)")
        yield (Geometry(right.stride, right.padding, "own_channel"),
               f"only the matching channel of {layer.label} used (not summed over its {layer.out_shape[0]} output channels)")
    if layer.in_shape[0] > 1:
        yield (Geometry(right.stride, right.padding, "all_in"),
               f"summed across all {layer.in_shape[0]} input channels (the kernel entry meets one input channel)")
        yield (Geometry(right.stride, right.padding, "own_channel"),
               f"only input channel = output channel read (not summed over {layer.in_shape[0]} input channels)")


def _registered(key: str, label: str, variants: Callable[[Conv | Pool], Iterator[tuple[Geometry, str]]], deep: str):
    @mistake(key, label, networks=LAYERS)
    def candidates(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
        direct = list(_shifted(ctx, step, base, variants))
        yield from direct
        if not direct:
            yield from _deeper(ctx, step, base, variants, deep)
    return candidates


_registered("stride_off", "stride off", _strides, "recomputed from an earlier value whose windows had the wrong stride")
_registered("padding_off", "padding off", _paddings, "recomputed from an earlier value read with the wrong padding")
_registered("channels_summed", "channels summed wrongly", _channel_readings,
            "recomputed from an earlier value summed over the wrong channels")


# -- mean vs sum over the batch ------------------------------------------------------------------------------
def _batch(step: Step) -> tuple[int, bool] | None:
    """(samples, averaged) when the step combines its per-sample versions (a mean or a sum), else None."""
    ops = step.operands
    if len(ops) < 2 or names.parse(step.name).sample is not None:
        return None
    if not all(names.parse(op).sample is not None and names.for_sample(step.name, names.parse(op).sample) == op
               for op in ops):
        return None
    return len(ops), step.text.rstrip().endswith(f"/ {len(ops)}")


def _other_reduction(ctx: Context, step: Step, base: Mapping[str, float]) -> float | None:
    found = _batch(step)
    if found is None:
        return None
    n, averaged = found
    value = _unrounded(ctx, step, base)
    return ctx.finish(value * n if averaged else value / n)


@mistake("batch_mean_vs_sum", "mean vs sum over the batch", networks=LAYERS)
def _batch_mean_vs_sum(ctx: Context, step: Step, base: Mapping[str, float]) -> Candidates:
    found = _batch(step)
    if found is not None:
        n, averaged = found
        value = _other_reduction(ctx, step, base)
        assert value is not None
        yield value, (f"the {n} samples' values added up, not averaged (the spec's reduction is the mean)" if averaged
                      else f"the {n} samples' values averaged, not added up (the spec's reduction is the sum)")
        return
    value = _through(ctx, step, base, lambda op: _other_reduction(ctx, op, base), depth=2)
    if value is not None:
        yield value, "recomputed from a batch gradient summed where the spec averages (or averaged where it sums)"
