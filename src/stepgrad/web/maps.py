"""The explorer for layer-table networks (convolution, pooling, residual blocks): its page and GET /api/maps.

`stepgrad serve cnn.toml` serves static/maps.html, which draws every feature map as grids with values
and lets one click a kernel weight to see every position it touches. The answer of /api/maps is the
trace's (tracing/layered.py), read out, never computed here:

    {"network": [...layers...], "maps": {"x": grids, "out_c1": grids, "dE_total/dnet_c1": grids, ...},
     "kernels": [{"name": "k1", "layer": "c1", "input": "x", "entries": [{"name": "k1[1,1,1,1]", "value",
       "gradient", "updated", "touches": [{"out": [1,1,1], "in": [1,1,1] | null, "factor", "signal"}]}]}],
     "sample": 1, "samples": 2, "error": E_total}

A touch's `in` is the input cell the weight met at output position `out` (null: the zero padding), read
from the factor step dnet_c1[o,r,c]/dk1[o,i,p,q] = «x[i,u,v]» of the trace.
"""

from __future__ import annotations

import re
from importlib import resources
from itertools import product
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from stepgrad.core import names
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.trace import Trace
from stepgrad.web import maps_big
from stepgrad.web.inputs import ApiError

MAX_CELLS = 20_000  # map cells of one sample the page draws; past this the grids are unreadable anyway
_POSITION = re.compile(r"\[([\d,]+)\]")


DENSE_API = ("/api/network", "/api/explain", "/api/train", "/api/export", "/api/view")


def routes_for(routes: list[BaseRoute], spec: object) -> list[BaseRoute]:
    """The app's routes; serving a layer-table network, the dense network's API answers with one refusal."""
    if not isinstance(spec, LayerNetwork):
        return routes
    return [Route(r.path, dense_refusal, methods=sorted((r.methods or {"GET"}) - {"HEAD"}))
            if isinstance(r, Route) and r.path in DENSE_API else r for r in routes]


async def dense_refusal(request: Request) -> Response:
    """A dense network's endpoint, asked while a layer-table network is served."""
    raise ApiError(409, f"this explorer serves a layer-table network (conv, pooling, residual): its step is at "
                        f"/api/maps; {request.url.path} is for dense networks", "spec")


def served(request: Request) -> LayerNetwork | None:
    """The layer-table network `stepgrad serve` was given, if it was one."""
    net = getattr(request.app.state, "spec", None)
    return net if isinstance(net, LayerNetwork) else None


async def page(request: Request) -> Response:
    """The maps page."""
    return FileResponse(str(resources.files("stepgrad.web") / "static" / "maps.html"),
                        media_type="text/html; charset=utf-8")


async def maps_endpoint(request: Request) -> JSONResponse:
    """GET /api/maps[?sample=N]: the served network's step, map by map (see the module's docstring)."""
    from stepgrad.web.api import _unstoppable, stoppable

    net = served(request)
    if net is None:
        raise ApiError(404, "the explorer serves a dense network; /api/maps is for layer tables (conv, pooling)", "spec")
    raw = request.query_params.get("sample", "1")
    if not raw.isdigit() or int(raw) < 1:
        raise ApiError(422, f"'sample' must be a sample number from 1, got {raw!r}", "sample")
    return JSONResponse(await stoppable(request, _unstoppable(_maps), int(raw), net, quick=True))


def _maps(sample: int, net: LayerNetwork) -> dict[str, Any]:
    from stepgrad.tracing.layered import explain_layers

    inputs, _ = net.require_samples("the served spec")
    if sample > len(inputs):
        raise ApiError(422, f"there are only {len(inputs)} samples", "sample")
    cells = sum(_size(layer.out_shape) for layer in net.all_layers()) + _size(net.input_shape)
    if cells > MAX_CELLS:
        raise ApiError(422, f"the maps hold {cells:,} values, more than the page draws ({MAX_CELLS:,}); "
                            "stepgrad explain and stepgrad graph show them", "spec")
    if maps_big.too_big_to_trace(net):  # seconds of trace: the same numbers from the engine (web/maps_big.py)
        return maps_big.engine_maps(net, sample, Reader) | {"sample": sample, "samples": len(inputs)}
    trace = explain_layers(net, sample - 1)
    return Reader(trace).read() | {"sample": sample, "samples": len(inputs)}


def _size(shape: tuple[int, ...]) -> int:
    total = 1
    for n in shape:
        total *= n
    return total


def _channels(shape: list[int], name_at: Any, values: dict[str, float]) -> list[dict[str, Any]] | None:
    """A map as grids: one per channel (a vector: one row), each {"channel", "rows": [[value]]}."""
    if len(shape) == 1:
        row = [values.get(name_at((j,))) for j in range(1, shape[0] + 1)]
        return None if None in row else [{"channel": None, "rows": [row]}]
    grids = []
    for ch in range(1, shape[0] + 1):
        rows_cols = (shape[1], shape[2]) if len(shape) == 3 else (1, shape[1])
        rows = [[values.get(name_at((ch, r, c) if len(shape) == 3 else (ch, c))) for c in range(1, rows_cols[1] + 1)]
                for r in range(1, rows_cols[0] + 1)]
        if any(v is None for row in rows for v in row):
            return None
        grids.append({"channel": ch, "rows": rows})
    return grids


class Reader:
    """The trace's values, laid out as the page draws them."""

    def __init__(self, trace: Trace) -> None:
        self.trace, self.values, self.meta = trace, trace.values, trace.meta

    def grid(self, kind: str, label: str, shape: list[int], signal: bool = False) -> list[dict[str, Any]] | None:
        def name_at(p: tuple[int, ...]) -> str:
            value = names.map_value(kind, label, p)
            return names.partial(names.TOTAL, value) if signal else value

        return _channels(shape, name_at, self.values)

    def read(self) -> dict[str, Any]:
        maps: dict[str, Any] = {"x": self.grid("input", names.INPUT_MAP, self.meta["input_shape"])}
        network = []
        for layer in self.meta["layers"]:
            label, shape = layer["label"], layer["out_shape"]
            kinds = ["net", "out"] if layer["activation"] else ["out"]
            shown = []
            for kind in kinds:
                maps[names.map_label(kind, label)] = self.grid(kind, label, shape)
                shown.append(names.map_label(kind, label))
            inner = "net" if layer["activation"] else "out"
            signal = names.partial(names.TOTAL, names.map_label(inner, label))
            maps[signal] = self.grid(inner, label, shape, signal=True)
            shown.append(signal)
            source = layer["input"]
            network.append({"label": label, "kind": layer["kind"], "description": layer["description"],
                            "shape": shape, "input": "x" if source is None else names.map_label("out", source),
                            "maps": shown, "parameters": layer["parameter_names"]})
        return {"network": network, "maps": maps, "kernels": self.kernels(),
                "error": self.values.get(names.TOTAL), "convolution": self.meta["convolution"]}

    def kernels(self) -> list[dict[str, Any]]:
        out = []
        for layer in self.meta["layers"]:
            if "kernel" not in layer["parameters"]:
                continue
            base, shape = layer["parameter_names"]["kernel"], layer["parameters"]["kernel"]
            source = "x" if layer["input"] is None else names.map_label("out", layer["input"])
            factors = self._factors(f"backward_{layer['label']}")
            entries = []
            for position in product(*(range(1, n + 1) for n in shape)):
                name = names.with_position(base, position)
                entries.append({"name": name, "position": list(position), "value": self.values[name],
                                "gradient": self.values.get(names.gradient(name)),
                                "updated": self.values.get(names.updated(name)),
                                "plan": self._plan(names.gradient(name)),
                                "touches": factors.get(name, [])})
            out.append({"name": base, "layer": layer["label"], "input": source, "shape": shape,
                        "output": names.map_label("net", layer["label"]), "entries": entries})
        return out

    def _plan(self, gradient: str) -> str:
        try:
            return self.trace.step(gradient).note
        except KeyError:
            return ""

    def _factors(self, section: str) -> dict[str, list[dict[str, Any]]]:
        """Per kernel entry: each output position it touches, the input cell it met there and the values,
        from the factor steps dnet[o,r,c]/dk[o,i,p,q] = «input cell» (and the padded positions the
        gradient's plan names)."""
        found: dict[str, list[dict[str, Any]]] = {}
        for step in self.trace.section(section).steps:
            parsed = names.parse(step.name)
            if step.kind != "partial" or parsed.kind != "partial" or parsed.top is None or parsed.top.kind != "net":
                continue
            bottom = str(parsed.bottom)
            if not bottom.startswith("k"):
                continue
            cell = step.text.strip("«»")
            out = [int(n) for n in _POSITION.findall(str(parsed.top))[0].split(",")]
            met = [int(n) for n in _POSITION.findall(cell)[0].split(",")] if _POSITION.findall(cell) else None
            signal = names.partial(names.TOTAL, str(parsed.top))
            found.setdefault(bottom, []).append({"out": out, "in": met, "input": cell, "factor": step.value,
                                                 "signal": self.values.get(signal)})
        return found
