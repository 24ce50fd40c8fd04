"""`stepgrad diagram` and `stepgrad graph` for layer-table networks (conv, pooling, residual; rnn, attention, norms).

Map-level pictures (pictures/maps_graph.py; sequence networks: pictures/maps_seq_graph.py) laid out by
Graphviz: the layers as boxes with their shapes and kernels, the residual block's skip path, an rnn
unrolled over its steps, an attention head's and a normalization's boxes; `graph` adds each map's
values and error signal.
Options that draw scalars of a dense network (`graph --only`, a sequential update order) are refused
in one line.
"""

from __future__ import annotations

from pathlib import Path

from stepgrad.core.digits import Precision
from stepgrad.core.errors import StepgradError
from stepgrad.core.files import write_atomic
from stepgrad.core.layers.spec import LayerNetwork

PICTURE_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}


def _format(output: str | None, default: str) -> str:
    if not output or output == "-":
        return default
    suffix = Path(output).suffix.lower()
    if suffix not in PICTURE_FORMATS:
        raise StepgradError(f"unknown picture format {suffix or '(none)'!r}; use one of {', '.join(PICTURE_FORMATS)}",
                            where="--output")
    return PICTURE_FORMATS[suffix]


def _write(dot: str, fmt: str, output: str | None) -> str:
    """The picture's text (DOT or SVG), or "" once written to `output`."""
    from stepgrad.pictures.maps_graph import dot_svg

    data: str | bytes = dot if fmt == "dot" else dot_svg(dot, fmt)
    if output and output != "-":
        write_atomic(output, data)
        return ""
    return data if isinstance(data, str) else data.decode("utf-8")


def _refuse_order(update_order: str | None) -> None:
    if update_order == "sequential":
        raise StepgradError("--update-order sequential is not supported for layer-table networks yet",
                            where="--update-order")


def layer_diagram(net: LayerNetwork, spec: str, *, show: str, max_labels: int, digits: int,
                  update_order: str | None, output: str | None) -> str:
    """The architecture as SVG (or written to .svg/.png/.pdf/.dot): layers with shapes, kernels with their
    weights (`show`: or their gradients, or their values after the step); "" when written to `output`."""
    from stepgrad.api.layers import _trace
    from stepgrad.pictures import maps_graph, maps_seq_graph

    network_dot = (maps_seq_graph if maps_seq_graph.drawable(net) else maps_graph).network_dot

    _refuse_order(update_order)
    fmt = _format(output, "svg")
    trace = _trace(net, spec, None) if net.inputs is not None and len(net.inputs) else None
    if show != "weights" and trace is None:
        raise StepgradError(f"showing {show} needs samples (inputs and targets) in the spec", where="--show")
    return _write(network_dot(net, trace, show=show, digits=digits, max_cells=max_labels), fmt, output)


def layer_graph(net: LayerNetwork, spec: str, *, only: str | None, sample: int | None, digits: Precision,
                update_order: str | None, output: str | None) -> str:
    """One training step at the level of maps (DOT, or laid out into .svg/.png/.pdf); "" when written."""
    from stepgrad.api.layers import _trace
    from stepgrad.pictures import maps_graph, maps_seq_graph

    step_dot = (maps_seq_graph if maps_seq_graph.drawable(net) else maps_graph).step_dot

    _refuse_order(update_order)
    if only:
        raise StepgradError("--only draws a dense network's scalar graph; a layer-table network's graph is drawn "
                            "by maps (stepgrad explain --format json --only shows one parameter's steps)", where="--only")
    fmt = _format(output, "dot")
    trace = _trace(net, spec, sample)
    return _write(step_dot(net, trace, digits=digits), fmt, output)
