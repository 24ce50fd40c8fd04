"""A stride or padding wrong throughout a sheet: the whole solution read in the student's geometry, said once.

A student who uses stride 1 where the layer has stride 2 (or forgets its padding) from the start
computes a feature map of another size: positions the network does not have (net_c1[1,5,5]), and
none at positions it has. Line by line that is a wall of unknown names and wrong values. This reads
the sheet as a careful marker does: the same network with that one layer's stride or padding
changed (the candidates of diagnoses_conv.py's stride_off and padding_off), marked in full; when it
explains the student's maps (their positions and values) far better, the report says so once

    "net_c1, out_c1, out_p1: these numbers are what stride 1 gives (the network has stride 2) ..."

names the positions written that the network does not have and the network's positions not
computed, and re-marks the lines: where the geometry enters (a step whose formula differs between
the two networks: the layer's nets, its kernel gradients) wrong with stride_off / padding_off;
a line the student's geometry gives from their own values follows (error carried forward); the
extra positions leave the table for the note. When the layers after the map cannot take its size
(a dense layer's weights), the network up to there is read, the forward pass only.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from stepgrad.core import names
from stepgrad.core.errors import StepgradError
from stepgrad.core.layers.conv import Conv
from stepgrad.core.layers.pool import Pool
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.trace import Trace
from stepgrad.teach.check.diagnoses_conv import Geometry, _paddings, _strides
from stepgrad.teach.check.rounded_layers import rounded_layers
from stepgrad.teach.check.solution import Solution
from stepgrad.tracing.layered import explain_layers

Report = Any  # verdicts.Report (verdicts calls this module: the type is named, not imported)
Mark = Callable[[LayerNetwork, Solution, "int | None", Trace], Any]
_ACTIVE: ContextVar[bool] = ContextVar("geometry_sheet_active", default=False)
GOOD = ("correct", "follows")
SHOWN = 6  # names listed in the note before "… (N in all)"
SHARE = 0.75  # the share of the student's map values the other geometry must explain


@dataclass(frozen=True)
class Reading:
    """One layer's geometry changed: the network it gives (maybe cut after the map) and how to say it."""

    layer: Conv | Pool
    key: str  # stride_off | padding_off
    said: str  # "stride 1"
    right: str  # "the network has stride 2"
    network: LayerNetwork
    trace: Trace
    forward_only: bool


def whole_sheet(report: Report, net: LayerNetwork, solution: Solution, round_to: int | None, trace: Trace,
                mark: Mark) -> Report:
    """The report re-read in the geometry the sheet was computed in (see the module docstring), or unchanged.
    `mark(network, solution, round_to, trace)`: verdicts.check of a solution, every answer optional (passed in: the
    checker calls this module)."""
    if _ACTIVE.get() or not isinstance(net, LayerNetwork):
        return report
    token = _ACTIVE.set(True)
    try:
        return _whole_sheet(report, net, solution, trace, round_to, mark)
    finally:
        _ACTIVE.reset(token)


def _whole_sheet(report: Report, net: LayerNetwork, solution: Solution, trace: Trace, round_to: int | None,
                 mark: Mark) -> Report:
    unknown = {r.name for r in report.results if r.verdict == "unknown"}
    written_names = {g.name for g in solution}
    unwritten = [s.name for s in trace if s.text and s.name not in written_names]
    layers = [layer for layer in net.layers if isinstance(layer, (Conv, Pool))]
    off = {r.name for r in report.results if r.verdict in ("wrong", "close", "unknown")}
    # a layer whose map the student wrote mostly off the network's (a partial but right sheet costs nothing), at
    # positions it does not have or leaving some of its own
    touched = [layer for layer in layers if len(_maps_of(layer, off)) >= max(2, len(_maps_of(layer, written_names)) / 2)
               and (_maps_of(layer, unknown) or _maps_of(layer, unwritten))]
    best: tuple[int, Reading, Report] | None = None
    for layer in touched:
        for reading in _readings(net, layer, round_to):
            known = reading.trace.values
            written = [g for g in solution if g.name in known and _kept(reading, g.name)]
            maps = [g.name for g in written if _maps_of(layer, [g.name])]
            extra = [name for name in maps if name in unknown]
            if not maps or not extra and not _maps_of(layer, [n for n in unwritten if n not in known]):
                continue  # no position of the student's map tells this geometry from the network's
            alt = mark(reading.network, Solution(solution.source, tuple(written)), round_to, reading.trace)
            verdicts = {r.name: r.verdict for r in alt.results}
            explained = sum(verdicts.get(name) == "correct" for name in maps)
            here = sum(r.verdict == "correct" for r in report.results if r.name in maps)
            if explained >= SHARE * len(maps) and explained > here and (best is None or explained > best[0]):
                best = (explained, reading, alt)
    if best is None:
        return report
    known = best[1].trace.values
    return _reread(report, trace, best[1], best[2], [n for n in unwritten if n not in known])


def _kept(reading: Reading, name: str) -> bool:
    """Whether a name is read in this network (a network cut after the map: its forward values only)."""
    if not reading.forward_only:
        return True
    step = reading.trace.step(name)
    return step.kind in ("net", "out") and not names.parse(name).after


def _maps_of(layer: Conv | Pool, found: Any) -> list[str]:
    """The names among `found` that are a value of this layer's map (net_c1[...], out_c1[...], out_p1[...])."""
    maps = []
    for name in found:
        try:
            n = names.parse(name)
        except ValueError:
            continue
        if n.kind in ("net", "out") and n.neuron == layer.label and n.position is not None and not n.after:
            maps.append(name)
    return maps


def _readings(net: LayerNetwork, layer: Conv | Pool, round_to: int | None = None) -> list[Reading]:
    """The network with `layer`'s stride or padding changed as stride_off and padding_off try it, where it builds
    (its trace rounded as the sheet is marked: `round_to`)."""
    found = []
    for geometries, key in ((_strides, "stride_off"), (_paddings, "padding_off")):
        for geo, _ in geometries(layer):
            built = _network(net, layer, geo)
            if built is None:
                continue
            network, cut = built
            what = "stride" if key == "stride_off" else "padding"
            right = layer.stride if key == "stride_off" else getattr(layer, "padding", (0, 0))
            wrong = geo.stride if key == "stride_off" else geo.padding
            try:
                trace = explain_layers(network) if round_to is None else rounded_layers(network, round_to)
            except StepgradError:  # a trace this network cannot have (a tie made by rounding): no reading
                continue
            found.append(Reading(layer, key, f"{what} {_pair(wrong, layer.one_d)}",
                                 f"the network has {what} {_pair(right, layer.one_d)}", network, trace, cut))
    return found


def _pair(value: tuple[int, int], one_d: bool) -> str:
    return str(value[1]) if one_d or value[0] == value[1] else f"{value[0]}x{value[1]}"


def _network(net: LayerNetwork, layer: Conv | Pool, geo: Geometry) -> tuple[LayerNetwork, bool] | None:
    """(the network with the layer's geometry `geo` and every parameter as given, cut after the map when the layers
    after it cannot take its size), or None."""
    spec = copy.deepcopy(net.spec)
    tables = [t for t in spec.get("layers", []) if t.get("type") not in ("input", "sequence")]
    if len(tables) != len(net.layers) or not isinstance(spec.get("layers"), list):
        return None
    at = net.layers.index(layer)
    table = tables[at]
    table["stride"] = geo.stride[1] if layer.one_d or geo.stride[0] == geo.stride[1] else list(geo.stride)
    if isinstance(layer, Conv):
        table["padding"] = geo.padding[1] if layer.one_d or geo.padding[0] == geo.padding[1] else list(geo.padding)
    params = {(x.label, role): value for x in net.all_layers() for role, value in x.params.items()}
    whole = _built(spec, params)
    if whole is not None:
        return whole, False
    first = spec["layers"].index(tables[0])
    for end in range(len(tables) - 1, at, -1):  # the longest start of the network that takes the student's map
        cut = _built(_cut(spec, first + end), params)
        if cut is not None:
            return cut, True
    cut = _built(_cut(spec, first + at + 1), params)
    return (cut, True) if cut is not None else None


def _cut(spec: dict[str, Any], end: int) -> dict[str, Any]:
    """The spec's layers before `end`, with zero targets of the last one's size (only its forward pass is read)."""
    cut = {**spec, "layers": spec["layers"][:end], "loss": "half_squared_error"}
    cut["samples"] = [{**sample, "targets": None} for sample in spec.get("samples", [])]
    return cut


def _built(spec: dict[str, Any], params: dict[tuple[str, str], np.ndarray]) -> LayerNetwork | None:
    """The network of `spec` with the given parameters where their shapes fit (None: it does not build)."""
    try:
        if spec["samples"] and spec["samples"][0].get("targets") is None:
            probe = LayerNetwork.from_dict({k: v for k, v in spec.items() if k != "samples"})
            size = int(np.prod(probe.layers[-1].out_shape))
            spec = {**spec, "samples": [{**s, "targets": [0.0] * size} for s in spec["samples"]]}
        network = LayerNetwork.from_dict(spec)
    except (StepgradError, ValueError, KeyError, TypeError):
        return None
    for layer in network.all_layers():
        for role, value in layer.params.items():
            given = params.get((layer.label, role))
            if given is None or given.shape != value.shape:
                return None
    return network.with_parameters({(x.label, role): params[(x.label, role)]
                                    for x in network.all_layers() for role in x.params})


def _reread(report: Report, trace: Trace, reading: Reading, alt: Report, unwritten: list[str]) -> Report:
    """The report with the sheet's geometry said once (meta["geometry"]) and its lines re-marked."""
    alt_by_name = {r.name: r for r in alt.results}
    texts = {s.name: s.text for s in trace}
    written = {r.name for r in report.results}
    seen: dict[str, bool] = {}

    def entered(name: str, depth: int = 3) -> bool:
        """Whether the step's formula differs between the two networks, itself or in an unwritten operand's."""
        if name not in seen:
            step = reading.trace.step(name)
            seen[name] = texts.get(name) != step.text or depth > 0 and any(
                op not in written and op in texts and entered(op, depth - 1) for op in step.operands)
        return seen[name]
    extra, results = [], []
    for r in report.results:
        other = alt_by_name.get(r.name)
        if r.verdict == "unknown" and other is not None and other.verdict in (*GOOD, "close"):
            extra.append(r.name)
            continue
        if r.verdict in ("wrong", "close") and other is not None and other.verdict in GOOD:
            if entered(r.name):  # the geometry enters here (or in an operand the student did not write)
                r = replace(r, verdict="wrong", mistake=reading.key,
                            diagnosis=f"{'stride off' if reading.key == 'stride_off' else 'padding off'}: what "
                                      f"{reading.said} gives, {reading.right} (see the note on the whole sheet)")
            else:
                r = replace(r, verdict="follows", mistake=None, diagnosis=None,
                            route=f"from your values computed with {reading.said}",
                            expected_from_own=other.expected)
        results.append(r)
    missing = _maps_of(reading.layer, unwritten)
    maps = list(dict.fromkeys(filter(None, map(_map_label, [*_maps_of(reading.layer, [r.name for r in report.results]),
                                                             *extra]))))
    layer = reading.layer
    size = "x".join(str(x) for x in layer.out_shape[1:])
    theirs = "x".join(str(x) for x in next(x for x in reading.network.all_layers() if x.label == layer.label).out_shape[1:])
    note = (f"{', '.join(maps)}: these numbers are what {reading.said} gives ({reading.right}): {layer.label}'s map is "
            f"{theirs} in your work where the network's is {size}")
    if extra:
        at = list(dict.fromkeys(str(names.parse(n).but(kind="net", sample=None)) for n in _maps_of(layer, extra)))
        note += (f"; written at {len(at)} positions the network does not have ({at[0]} … {at[-1]}; {len(extra)} values)"
                 if at else f"; written at positions the network does not have: {_listed(extra)}")
    if missing:
        note += f"; the network's positions not computed: {_listed(missing)}"
    if reading.forward_only:
        note += "; the layers after it cannot take that size (read up to there)"
    meta = {**report.meta, "geometry": {"layer": layer.label, "mistake": reading.key,
                                        "reading": f"{reading.said} ({reading.right})",
                                        "note": note, "extra": extra, "missing": missing}}
    return replace(report, results=tuple(results), meta=meta)


def _map_label(name: str) -> str | None:
    """net_c1 for net_c1[1,2,2][1]; None for a name that is not a map's value (a gradient)."""
    n = names.parse(name)
    return str(n.but(position=None, sample=None)) if n.kind in ("net", "out") and n.position is not None else None


def _listed(found: list[str]) -> str:
    shown = ", ".join(found[:SHOWN])
    return shown + (f", … ({len(found)} in all)" if len(found) > SHOWN else "")
