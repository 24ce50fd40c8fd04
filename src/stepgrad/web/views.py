"""POST /api/view: the explorer's other views of the same step, the matrix form and the computation graph.

    {spec?, update_order?, digits?, view: "matrix" | "graph", only?: "w1", block?: "forward"}
    -> {"view": "matrix", "html": "<div class=stepgrad-matrix>..."}  or  {"view": "graph", "svg": "<svg ..."}

A big network's matrix form comes with its first blocks drawn and the others as headings marked data-lazy; the page
asks for each of those with "block" when it is scrolled to.

The numbers are the trace's (stepgrad.tracing.matrix, stepgrad.tracing.graph); the page only shows them. The graph
needs Graphviz; without it the answer is 501 with the reason, and the page says so.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from stepgrad.core.errors import StepgradError
from stepgrad.core.spec import Network
from stepgrad.tracing.matrix import MatrixView
from stepgrad.web import inputs
from stepgrad.web.inputs import ApiError
from stepgrad.web.traces import explained

VIEWS = ("matrix", "graph")
LAZY_ENTRIES = 300  # a matrix view with more entries than this is sent block by block as it is scrolled to
MAX_GRAPH_NODES = 2_000  # past this Graphviz takes long and the picture is unreadable; narrow it with `only`


async def view_endpoint(request: Request) -> JSONResponse:
    """POST /api/view: the step as matrices (HTML) or as its computation graph (SVG)."""
    from stepgrad.web.api import _unstoppable, stoppable

    data = inputs.known_fields(await inputs.read_json(request), "view")
    return JSONResponse(await stoppable(request, _unstoppable(_view), data, request.app.state.spec, quick=True))


def _matrix_html(view: MatrixView, digits: int, block: Any) -> str:
    """The matrix form as HTML: whole for a small network; for a big one the first blocks and the others'
    headings (the page asks for each with `block` as it is scrolled to), or only the block asked for."""
    from stepgrad.formats.matrix_writers import fragment

    keys = [b.key for b in view.blocks]
    if block is not None:
        if block not in keys:
            raise ApiError(422, f"'block' must be one of {', '.join(keys)}, got {block!r}", "block")
        return fragment(view, digits, [block])
    drawn: list[str] = []
    entries = 0
    for b in view.blocks:  # the first blocks up to LAZY_ENTRIES entries (always one)
        entries += sum(len(m.names) * len(m.names[0]) for m in MatrixView((b,), view.meta).matrices())
        if drawn and entries > LAZY_ENTRIES:
            break
        drawn.append(b.key)
    return fragment(view, digits, None if len(drawn) == len(keys) else drawn)


def _view(data: dict[str, Any], served: Network) -> dict[str, Any]:
    view = data.get("view")
    if view not in VIEWS:
        raise ApiError(422, f"'view' must be one of {', '.join(VIEWS)}, got {view!r}", "view")
    net = inputs.spec_from(data, served)
    net.require_samples(inputs.SOURCE)
    inputs.check_explainable(net)
    digits = inputs.integer(data, "digits", 9, 1, 17)
    trace = explained(net, inputs.update_order(data) or net.update_order)
    if view == "matrix":
        from stepgrad.tracing.matrix import matrix_view

        return {"view": view, "html": _matrix_html(matrix_view(trace), digits, data.get("block"))}
    from stepgrad.tracing.graph import computation_graph

    graph = computation_graph(trace)
    only = data.get("only")
    if only is not None:
        if not isinstance(only, str):
            raise ApiError(422, "'only' must be the name of one weight or bias, e.g. \"w1\"", "only")
        try:
            graph = graph.only(only)
        except StepgradError as exc:
            raise ApiError(422, exc.message, "only") from None
    if len(graph.nodes) > MAX_GRAPH_NODES:
        raise ApiError(422, f"the graph has {len(graph.nodes)} nodes, more than {MAX_GRAPH_NODES} can be drawn "
                            "readably; pick a weight to see its subgraph", "only")
    try:
        svg = graph.render("svg", min(digits, 6)).decode("utf-8")
    except StepgradError as exc:
        raise ApiError(501, exc.message, "view") from None
    return {"view": view, "svg": svg[svg.index("<svg"):]}
