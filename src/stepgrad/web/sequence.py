"""The explorer's page for sequence models (rnn, attention, layernorm, batchnorm): GET /api/sequence?sample=S.

    -> {"name", "layers": [describe lines], "samples", "sample", "E_total", "panels": [...]}

A panel is one of three shapes, each number with its name (core/names.py) so the page only shows them:
"steps" (time steps as columns: {"columns": ["t1", ...], "rows": [{"label", "cells": [{"name", "value"} or
null]}]}), "heatmap" (an attention head's weights a[i,j] or scores: rows the queries, columns the keys,
a masked key null) and "table" (a layer of a vector network, or batchnorm's statistics over the batch).
The numbers are one training step's, by the engine (core/layers/engine.step) and named by
core/layers/values.named_values; for an rnn, each recurrent weight's BPTT terms (Layer.plan) are a
"steps" panel too: one column per time step, then their sum.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from stepgrad.core import names
from stepgrad.core.layers import engine
from stepgrad.core.layers.attention import Attention
from stepgrad.core.layers.base import Layer
from stepgrad.core.layers.norm import BatchNorm, LayerNorm
from stepgrad.core.layers.rnn import Rnn, Sequence
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.layers.values import named_values, truncation
from stepgrad.web.inputs import ApiError

Cell = dict[str, Any] | None


def is_sequence_network(net: Any) -> bool:
    """Whether `net` is a layer-table network this page shows (a sequence input, or a normalization layer)."""
    return isinstance(net, LayerNetwork) and (isinstance(net.input_shape, Sequence) or any(
        isinstance(layer, (Rnn, Attention, LayerNorm, BatchNorm)) for layer in net.all_layers()))


async def page(request: Request) -> Response:
    """The sequence page (static/sequence.html)."""
    return FileResponse(str(resources.files("stepgrad.web") / "static" / "sequence.html"),
                        media_type="text/html; charset=utf-8")


async def sequence_endpoint(request: Request) -> JSONResponse:
    """GET /api/sequence?sample=S: the served sequence network's step as panels (1-based sample)."""
    from stepgrad.web.api import _unstoppable, stoppable

    net = getattr(request.app.state, "layers", None)
    if net is None:
        raise ApiError(404, "this server shows a dense network: /api/sequence is for `stepgrad serve` of a sequence "
                            "model (rnn, attention, layernorm, batchnorm)", "spec")
    raw = request.query_params.get("sample", "1")
    if not raw.isdigit():
        raise ApiError(422, f"'sample' must be a whole number, got {raw[:20]!r}", "sample")
    return JSONResponse(await stoppable(request, _unstoppable(panels), net, int(raw), quick=True))


def panels(net: LayerNetwork, sample: int = 1) -> dict[str, Any]:
    """The page's data for sample `sample` (1-based) of one training step of `net`."""
    inputs, targets = net.require_samples()
    count = len(inputs)
    if not 1 <= sample <= count:
        raise ApiError(422, f"'sample' must be from 1 to {count}, got {sample}", "sample")
    rec = engine.step(net, inputs, targets)
    values = named_values(net, rec)
    tag = None if count == 1 else sample
    view = _View(values, tag, sample - 1, truncation(net)[0])
    found = [view.input_panel(net)]
    for layer in net.all_layers():
        found += view.layer_panels(layer, rec.forward.values[layer.label].cache, layer is net.layers[-1])
    return {"name": net.name, "layers": [layer.describe() for layer in net.all_layers()], "samples": count,
            "sample": sample, "E_total": values[names.TOTAL], "panels": found}


class _View:
    """Panels of one sample: reads the named values, never computes them."""

    def __init__(self, values: dict[str, float], tag: int | None, index: int, window: int | None = None) -> None:
        self.values, self.tag, self.index = values, tag, index
        self.window = window  # truncated BPTT(k): the sums below the rnn are bptt<k>_..., not derivatives

    def cell(self, name: str, per_sample: bool = True) -> Cell:
        full = names.at(name, self.tag) if per_sample else name
        return {"name": full, "value": self.values[full]} if full in self.values else None

    def derivative(self, name: str) -> Cell:
        full = names.partial(names.TOTAL, name, self.tag)
        if full not in self.values:
            full = names.partial(names.TOTAL, names.at(name, self.tag))  # a batch error's derivative (batchnorm)
        if full not in self.values and self.window is not None:
            full = names.truncated(name, self.window, self.tag)  # truncated BPTT: its sum
        return {"name": full, "value": self.values[full]} if full in self.values else None

    def input_panel(self, net: LayerNetwork) -> dict[str, Any]:
        shape = net.input_shape
        if isinstance(shape, Sequence):
            rows = [{"label": f"x[·,{i}]", "cells": [self.cell(names.with_position(names.INPUT_MAP, (t, i)))
                                                     for t in range(1, shape.steps + 1)]}
                    for i in range(1, shape.features + 1)]
            return _steps("input: one vector per time step", shape.steps, rows)
        positions = [tuple(i + 1 for i in index) for index in np.ndindex(*shape)]
        return _table("input", [names.with_position(names.INPUT_MAP, p) for p in positions],
                      [{"label": "x", "cells": [self.cell(names.with_position(names.INPUT_MAP, p)) for p in positions]}])

    def layer_panels(self, layer: Layer, cache: Any, last: bool) -> list[dict[str, Any]]:
        if isinstance(layer, Rnn):
            return self._rnn(layer, cache)
        if isinstance(layer, Attention):
            return self._attention(layer)
        return [self._map(layer, last)] + (self._statistics(layer) if isinstance(layer, (LayerNorm, BatchNorm)) else [])

    def _rnn(self, layer: Rnn, cache: Any) -> list[dict[str, Any]]:
        steps = layer.in_shape[0]
        rows = []
        cells: list[Cell]
        for kind, label in (("h", "h"), ("net", "net_h")):
            for j in range(1, layer.hidden + 1):
                cells = [self.cell(names.recurrent_value(kind, layer.label, t, j)) for t in range(0, steps + 1)]
                rows.append({"label": f"{label}{layer.number}[{j}]", "cells": cells})
        signal = "dE_total/d" if layer.exact_gradients else f"bptt{layer.truncate}_"
        for kind, label in (("h", f"{signal}h"), ("net", f"{signal}net_h")):
            for j in range(1, layer.hidden + 1):
                cells = [self.derivative(names.recurrent_value(kind, layer.label, t, j)) if t else None
                         for t in range(0, steps + 1)]
                rows.append({"label": f"{label}{layer.number}[{j}]", "cells": cells})
        found = [_steps(layer.describe(), steps, rows, first=0)]
        plan_rows = []
        for role in ("weight_h", "weight_x"):
            for index in np.ndindex(*layer.params[role].shape):
                position = tuple(i + 1 for i in index)
                terms = layer.plan(cache, role, position)
                parameter = layer.parameter_name(role, position)
                cells = [{"name": self._term(layer, t, position[0], factor),
                                      "value": float(np.asarray(term)[self.index])} for t, _, factor, term in terms]
                total = names.partial(names.TOTAL, parameter, self.tag) if layer.exact_gradients else \
                    names.truncated(parameter, int(layer.truncate or 0), self.tag)
                cells.append(self.cell(total, per_sample=False))
                plan_rows.append({"label": parameter, "cells": cells})
        plan = _steps(f"{'BPTT' if layer.exact_gradients else f'BPTT({layer.truncate}), truncated'}: each weight's "
                      "gradient is one term per time step, then their sum (sample "
                      f"{self.index + 1})", steps, plan_rows)
        plan["columns"].append("sum")
        found.append(plan)
        return found

    def _term(self, layer: Rnn, t: int, unit: int, factor: str) -> str:
        """'dE_total/dnet_h1_t2[1] · h1_t1[2]': the two factors of a BPTT term, as sample `tag`'s names."""
        net = names.recurrent_value("net", layer.label, t, unit)
        delta = names.partial(names.TOTAL, net, self.tag) if layer.exact_gradients else \
            names.truncated(net, int(layer.truncate or 0), self.tag)
        return f"{delta} · {factor if factor == '1' else names.at(factor, self.tag)}"

    def _attention(self, layer: Attention) -> list[dict[str, Any]]:
        steps = layer.in_shape[0]
        found = []
        for which, title in (("a", "weights a[i,j]: softmax over the keys, each row adds to 1"),
                             ("score", "scores q[i]·k[j]" + (" / sqrt(key_size)" if layer.scaled else " (not scaled)"))):
            grid = [[self.cell(names.attention_value(which, layer.label, (i, j))) for j in range(1, steps + 1)]
                    for i in range(1, steps + 1)]
            found.append({"kind": "heatmap", "title": f"attention {layer.label}: {title}", "which": which,
                          "rows": [f"query {i}" for i in range(1, steps + 1)],
                          "columns": [f"key {j}" for j in range(1, steps + 1)], "cells": grid})
        rows = []
        for which in ("q", "k", "v", "z", "out"):
            size = layer.params["weight_o" if which == "out" else
                                {"q": "weight_q", "k": "weight_k", "v": "weight_v", "z": "weight_v"}[which]].shape[0]
            for c in range(1, size + 1):
                rows.append({"label": f"{which}_{layer.label}[·,{c}]",
                             "cells": [self.cell(names.attention_value(which, layer.label, (i, c)))
                                       for i in range(1, steps + 1)]})
        found.insert(0, _steps(layer.describe(), steps, rows))
        return found

    def _map(self, layer: Layer, last: bool) -> dict[str, Any]:
        """A layer's net and out (dense, layernorm) with their derivatives: time steps as columns on a sequence."""
        kinds = ("net", "out") if layer.has_activation else ("out",)
        extra = ("target", "E") if last else ()
        shape = layer.out_shape
        if isinstance(shape, Sequence):
            rows = []
            if isinstance(layer, LayerNorm):
                for u in range(1, shape.features + 1):
                    rows.append({"label": f"xhat[·,{u}]", "cells": [
                        self.cell(names.norm_value("xhat", layer.label, (t, u))) for t in range(1, shape.steps + 1)]})
            for kind in (*kinds, *extra):
                for u in range(1, shape.features + 1):
                    rows.append({"label": f"{kind}[·,{u}]", "cells": [
                        self.cell(names.map_value(kind, layer.label, (t, u))) for t in range(1, shape.steps + 1)]})
            for kind in kinds:
                for u in range(1, shape.features + 1):
                    rows.append({"label": names.partial(names.TOTAL, f"{kind}[·,{u}]"), "cells": [
                        self.derivative(names.map_value(kind, layer.label, (t, u))) for t in range(1, shape.steps + 1)]})
            return _steps(layer.describe(), shape.steps, rows)
        positions = [tuple(i + 1 for i in index) for index in np.ndindex(*shape)]
        rows = [{"label": kind, "cells": [self.cell(names.map_value(kind, layer.label, p)) for p in positions]}
                for kind in (*kinds, *extra)]
        if isinstance(layer, (LayerNorm, BatchNorm)):
            rows.insert(0, {"label": "xhat", "cells": [self.cell(names.norm_value("xhat", layer.label, p))
                                                      for p in positions]})
        rows += [{"label": names.partial(names.TOTAL, kind), "cells": [self.derivative(names.map_value(kind, layer.label, p))
                                                          for p in positions]} for kind in kinds]
        return _table(layer.describe(), [",".join(map(str, p)) for p in positions], rows)

    def _statistics(self, layer: LayerNorm | BatchNorm) -> list[dict[str, Any]]:
        """mu, var and xhat of each group, with dE_total/d of each (the three paths' meeting points)."""
        per_sample = isinstance(layer, LayerNorm)
        shape = layer.out_shape
        groups = [(t,) for t in range(1, shape[0] + 1)] if isinstance(shape, Sequence) and per_sample else \
            [(1,)] if per_sample else [(c,) for c in range(1, shape[0] + 1)]
        rows = []
        for which in ("mu", "var"):
            name = [names.norm_value(which, layer.label, g) for g in groups]
            rows.append({"label": which, "cells": [self.cell(n, per_sample) for n in name]})
            rows.append({"label": names.partial(names.TOTAL, which), "cells": [
                self.derivative(n) if per_sample else self.cell(names.gradient(n), False) for n in name]})
        if isinstance(layer, BatchNorm) and layer.mode == "evaluation":
            rows = [{"label": which, "cells": [self.cell(names.norm_value(which, layer.label, g), False)
                                               for g in groups]} for which in ("running_mean", "running_var")]
        title = (f"{layer.label}: each group's mean and variance" if isinstance(layer, LayerNorm) else
                 f"{layer.label}: each feature's mean and variance over the batch ({layer.mode} mode)")
        return [_table(title, ["group " + ",".join(map(str, g)) for g in groups], rows)]


def _steps(title: str, steps: int, rows: list[dict[str, Any]], first: int = 1) -> dict[str, Any]:
    return {"kind": "steps", "title": title, "columns": [f"t{t}" for t in range(first, steps + 1)], "rows": rows}


def _table(title: str, columns: list[str], rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": "table", "title": title, "columns": columns, "rows": rows}
