"""The maps page's answer for a conv network too large to trace step by step while the page waits.

Writing the whole trace (tracing/layered.py) of a 2x16x16 input through two 3x3 conv layers and a residual block
takes seconds and its kernel weights' touches alone make megabytes of JSON. Past TRACE_LIMIT kernel touches the
page's answer is read from the engine's step instead (core/layers/values.named_values: the same numbers under the
same names), and each kernel carries its geometry in place of every weight's touches: the page finds the
positions a clicked weight touches from it (static/maps_touches.js) and reads their values from the maps it has.
The answer says so in `summarised` (one line the page shows).

    >>> from stepgrad.core.layers.spec import LayerNetwork
    >>> net = LayerNetwork.from_dict({"layers": [{"type": "input", "shape": [1, 3, 3]},
    ...     {"type": "conv2d", "out_channels": 1, "kernel": 2}], "seed": 1,
    ...     "samples": [{"inputs": [[0, 1, 2], [3, 4, 5], [6, 7, 8]], "targets": [1, 2, 3, 4]}]})
    >>> touches(net)
    16
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stepgrad.core import names
from stepgrad.core.layers import engine
from stepgrad.core.layers.conv import Conv
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.layers.values import named_values

TRACE_LIMIT = 3_000  # kernel entries x output positions of their channel: about 0.5 s of trace, 300 kB of touches


def touches(net: LayerNetwork) -> int:
    """How many (kernel weight, output position) pairs the trace's plans would list for one sample."""
    return sum(int(layer.params["kernel"].size) * int(np.prod(layer.out_shape[1:]))
               for layer in net.all_layers() if isinstance(layer, Conv))


def too_big_to_trace(net: LayerNetwork) -> bool:
    """Whether the maps page reads this network's step from the engine (see the module's docstring)."""
    return touches(net) > TRACE_LIMIT


def engine_maps(net: LayerNetwork, sample: int, reader: Any) -> dict[str, Any]:
    """What `reader` (maps.Reader) reads from a trace of `sample` (1-based) alone, read from the engine's step of it."""
    from stepgrad.tracing.layered import _Builder

    inputs, targets = net.require_samples()
    one = net.copy()
    one.inputs, one.targets = inputs[sample - 1:sample], targets[sample - 1:sample]
    rec = engine.step(one, one.inputs, one.targets, after=True)
    values = named_values(one, rec)
    if rec.after is not None:
        values.setdefault(names.error(after=True), rec.after.error)
    meta = _Builder(one, rec, one.targets).meta()
    answer = _reading(reader, values, meta).read()
    by_label = {layer.label: layer for layer in net.all_layers() if isinstance(layer, Conv)}
    for kernel in answer["kernels"]:
        layer = by_label[kernel["layer"]]
        inner = "net" if layer.has_activation else "out"
        kernel["geometry"] = {"kernel": list(layer.kernel_size), "stride": list(layer.stride),
                              "padding": list(layer.padding), "flipped": bool(layer.flipped),
                              "one_d": bool(layer.one_d), "in_shape": list(layer.in_shape), "out_shape": list(layer.out_shape),
                              "signal": names.partial(names.TOTAL, names.map_label(inner, layer.label))}
        for entry in kernel["entries"]:
            entry["touches"], entry["plan"] = None, None
    count = touches(net)
    answer["summarised"] = (f"This network's kernel weights touch {count:,} output positions in all: its numbers are "
                            "read from the engine's step (the same values, named as the trace names them) and a "
                            "weight's positions are found when you click it.")
    return answer


def _reading(reader: Any, values: dict[str, float], meta: dict[str, Any]) -> Any:
    """A `reader` over named values and the trace's meta instead of a trace (no plans or factor steps)."""
    found = reader.__new__(reader)
    found.trace, found.values, found.meta = None, values, meta
    found._plan = lambda gradient: ""
    found._factors = lambda section: {}
    return found
