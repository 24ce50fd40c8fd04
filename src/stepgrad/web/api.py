"""The JSON API the page talks to (documented in docs/readme/serve.md).

    GET  /api/network   the served network (or ?builtin=NAME), the built-ins, formats and limits
    POST /api/explain   {spec, update_order?, only?, digits?, math_for?, math_steps?, group?, derive?} -> values, steps with MathML, diagram
    POST /api/train     {spec, iterations, update_order?, every?} -> error history, trained spec
    POST /api/export    {spec, format, only?, update_order?, digits?, group?, derive?} -> a file to download

Every computation runs in a worker thread of a bounded pool, so a long training run never blocks other
requests: training in its own pool (`app.state.workers` at a time), explain, view and export in another
(`app.state.quick`). Each request is within the work budget (`app.state.budget`, checked before it starts)
and the time limit (`app.state.time_limit`, counted from when a worker takes it, not while it waits); a
request whose client has hung up is never started, and training stops within a fraction of a second.
Unknown fields are refused (422, naming the field).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import math
import threading
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from stepgrad.core import budget as work
from stepgrad.core import engine, names
from stepgrad.core.functions import ACTIVATIONS, LOSSES
from stepgrad.core.spec import UPDATE_ORDERS, Network, builtin, target_warnings
from stepgrad.core.trace import Trace
from stepgrad.formats import FORMATS, render
from stepgrad.tracing.build import explain
from stepgrad.training.loop import train
from stepgrad.web import inputs
from stepgrad.web.inputs import ApiError
from stepgrad.web.present import MATH_LIMIT, diagram_levels, sections_view, step_count
from stepgrad.web.traces import explained

DOCUMENTS = {  # export format -> (renderer format, media type, file name)
    "markdown": ("markdown", "text/markdown; charset=utf-8", "stepgrad-step.md"),
    "latex": ("latex", "application/x-latex; charset=utf-8", "stepgrad-step.tex"),
    "html": ("html", "text/html; charset=utf-8", "stepgrad-step.html"),
    "text": ("text", "text/plain; charset=utf-8", "stepgrad-step.txt"),
    "trace": ("json", "application/json", "stepgrad-trace.json"),
}
SPEC_FILES = {"toml": ("application/toml; charset=utf-8", "network.toml"),
              "json": ("application/json", "network.json")}
MATH_PAGE = 40  # with math_for, the first this many steps of a section come with MathML (math_steps asks for more)
DIAGRAM_DIGITS = 8  # edge labels stay short; the derivation shows every digit asked for
SHOW = ("weights", "gradients", "updated")  # what the diagram puts on the edges


def builtins() -> list[str]:
    """Names of the networks shipped with stepgrad."""
    folder = resources.files("stepgrad.examples")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def available_formats() -> list[str]:
    """Export formats this installation can write (a renderer still being written is left out)."""
    ready = [f for f, (fmt, _, _) in DOCUMENTS.items() if importlib.util.find_spec(FORMATS[fmt]) is not None]
    return ready + list(SPEC_FILES)


async def network(request: Request) -> JSONResponse:
    """GET /api/network: the network being served, or a built-in one with ?builtin=NAME."""
    state = request.app.state
    return JSONResponse(network_payload(state.spec, request.query_params.get("builtin"), state.budget, state.time_limit))


def network_payload(served: Network, name: str | None, budget: work.Budget, seconds: float) -> dict[str, Any]:
    """GET /api/network's answer: `served` (or the built-in `name`), the built-ins, formats and limits."""
    if name is None:
        net = served
    elif name in builtins():
        net = builtin(name)
    else:
        raise ApiError(404, f"no built-in network named {name!r}; choose from {', '.join(builtins())}", "builtin")
    return {
        "spec": net.to_dict(), "builtins": builtins(), "formats": available_formats(),
        "update_orders": list(UPDATE_ORDERS), "activations": list(ACTIVATIONS), "losses": list(LOSSES),
        "limits": {"body_bytes": inputs.MAX_BODY, "weights": inputs.MAX_WEIGHTS,
                   "iterations": inputs.MAX_ITERATIONS, "layers": inputs.MAX_LAYERS,
                   "work": budget.work, "seconds": seconds},
    }


async def explain_endpoint(request: Request) -> JSONResponse:
    """POST /api/explain: one training step, every quantity with its derivation."""
    data = inputs.known_fields(await inputs.read_json(request), "explain")
    return JSONResponse(await stoppable(request, _unstoppable(_explain), data, request.app.state.spec,
                                        request.app.state.budget, quick=True))


def _explain(data: dict[str, Any], served: Network, budget: work.Budget = work.SERVER) -> dict[str, Any]:
    net = inputs.spec_from(data, served)
    net.require_samples(inputs.SOURCE)
    inputs.check_explainable(net, budget)
    order = inputs.update_order(data) or net.update_order
    digits = inputs.integer(data, "digits", 9, 1, 17)
    only = inputs.names(data)
    show = data.get("show", "weights")
    if show not in SHOW:
        raise ApiError(422, f"'show' must be one of {', '.join(SHOW)}, got {show!r}", "show")
    math_for = data.get("math_for")
    if math_for is not None and (not isinstance(math_for, list) or not all(isinstance(k, str) for k in math_for)):
        raise ApiError(422, "'math_for' must be a list of section keys like \"forward\"", "math_for")
    trace = inputs.dressed(data, explained(net, order))
    math_ok = step_count(trace) <= MATH_LIMIT
    math: bool | set[str] = math_ok if math_for is None else set(math_for)
    selected = None
    if only:
        selected = {"names": only, "sections": sections_view(trace.select(inputs.only(trace, only)), digits, True)}
    levels = diagram_levels(net, trace, show, min(digits, DIAGRAM_DIGITS), digits, only[0] if only else None)
    return {
        "spec": net.to_dict(), "update_order": order, "digits": digits,
        "values": trace.values, "meta": trace.meta, "math": math_ok,
        "sections": sections_view(trace, digits, math, inputs.integer(data, "math_steps", MATH_PAGE, 1, 100_000)
                                  if math_for is not None else None),
        "selected": selected, "compare": compare(net, trace, order),
        "diagrams": levels,
        "warnings": target_warnings(net),
    }


def compare(net: Network, trace: Trace, order: str) -> dict[str, float]:
    """E_total after the update under each update order (the deck reports both)."""
    result = {order: trace.values[names.error(after=True)]}
    inputs_, targets = net.require_samples()
    for other in UPDATE_ORDERS:
        if other != order:
            result[other] = engine.step(net, inputs_, targets, other, after=True).after.error  # type: ignore[union-attr]
    return {o: result[o] for o in UPDATE_ORDERS}


async def train_endpoint(request: Request) -> JSONResponse:
    """POST /api/train: N full-batch steps; the page calls it in chunks to draw the live loss curve."""
    data = inputs.known_fields(await inputs.read_json(request), "train")
    state = request.app.state
    net, iterations = train_request(data, state.spec, state.budget)  # small work: refusals come at once, before any queue
    return JSONResponse(await stoppable(request, _train, data, net, iterations))


def train_request(data: dict[str, Any], served: Network, budget: work.Budget) -> tuple[Network, int]:
    """The network and iteration count of a /api/train request, within `budget` (ApiError if not)."""
    net = inputs.spec_from(data, served)
    net.require_samples(inputs.SOURCE)
    iterations = inputs.integer(data, "iterations", 1, 0, inputs.MAX_ITERATIONS)
    try:
        budget.check_train(net, iterations)
    except work.BudgetError as exc:
        raise ApiError(422, exc.message, "iterations") from None
    return net, iterations


class Stopped(Exception):
    """Raised inside a worker when its request was abandoned or ran out of time."""


def _unstoppable(job: Callable[..., Any]) -> Callable[..., Any]:
    """A job that cannot check `stop` as it goes (stoppable still checks once, as it starts: a request
    abandoned while it waited for a worker is never computed)."""
    return lambda *args: job(*args[:-1])


async def stoppable(request: Request, job: Any, *args: Any, quick: bool = False) -> Any:
    """job(*args, stop) in the server's worker pool (every endpoint that computes shares it); `stop()`
    raises Stopped once the client has hung up or the job has *run* longer than the time limit (time spent
    waiting for a worker does not count). 422 when the time limit stopped it."""
    state = request.app.state
    started: list[float] = []  # when a worker took the job
    cancelled = threading.Event()

    def overdue() -> bool:
        return bool(started) and time.monotonic() > started[0] + state.time_limit

    def stop() -> None:
        if not started:
            started.append(time.monotonic())
        if cancelled.is_set() or overdue():
            raise Stopped

    def begin(*real: Any) -> Any:
        stop()  # the clock starts when a worker takes the job
        return job(*real, stop)

    limiter = state.quick if quick else state.workers
    task = asyncio.ensure_future(anyio.to_thread.run_sync(begin, *args, limiter=limiter))
    while not task.done():
        await asyncio.wait({task}, timeout=0.1)
        if not task.done() and (overdue() or await request.is_disconnected()):
            cancelled.set()  # a job that starts from now on stops at once (begin calls stop first)
            if not started:
                task.cancel()  # still waiting for a worker: it never starts
            # a running job stops at its next stop() call; waiting for it keeps its worker slot taken until
            # its thread has ended, so the pool never runs more jobs than it has workers
            with contextlib.suppress(asyncio.CancelledError, Stopped):
                await task
            break
    if task.cancelled() or (task.done() and isinstance(task.exception(), Stopped)):
        raise ApiError(422, f"stopped: the work took longer than the server's time limit of {state.time_limit:g} s "
                            "(or the client left); ask for fewer iterations", "iterations")
    return task.result()


def _train(data: dict[str, Any], net: Network, iterations: int, stop: Callable[[], None]) -> dict[str, Any]:
    order = inputs.update_order(data)
    every = inputs.integer(data, "every", max(1, iterations // 200), 1, inputs.MAX_ITERATIONS)
    every = max(every, math.ceil(iterations / 10_000))  # at most ~10,000 points on the curve
    history = train(net, iterations, update_order=order, every=every, progress=lambda done: stop())
    return dict(history.to_dict(), spec=history.network.to_dict(), warnings=target_warnings(net))


async def export_endpoint(request: Request) -> Response:
    """POST /api/export: the network as a spec file, or the step (or `only` names) as a document."""
    data = inputs.known_fields(await inputs.read_json(request), "export")
    body, media, filename = await stoppable(request, _unstoppable(_export), data, request.app.state.spec,
                                            request.app.state.budget, quick=True)
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _export(data: dict[str, Any], served: Network, budget: work.Budget = work.SERVER) -> tuple[str, str, str]:
    fmt = data.get("format")
    choices = list(DOCUMENTS) + list(SPEC_FILES)
    if fmt not in choices:
        raise ApiError(422, f"'format' must be one of {', '.join(choices)}, got {fmt!r}", "format")
    net = inputs.spec_from(data, served)
    if fmt in SPEC_FILES:
        from stepgrad.core.persist import dumps

        return dumps(net, fmt), *SPEC_FILES[fmt]
    renderer, media, filename = DOCUMENTS[fmt]
    if importlib.util.find_spec(FORMATS[renderer]) is None:
        raise ApiError(422, f"the {fmt} format is not available in this version of stepgrad yet", "format")
    net.require_samples(inputs.SOURCE)
    inputs.check_explainable(net, budget)
    trace = inputs.dressed(data, explain(net, update_order=inputs.update_order(data)))
    only = inputs.names(data)
    if only:
        only = inputs.only(trace, only)
    return render(trace, renderer, digits=inputs.integer(data, "digits", 9, 1, 17), only=only), media, filename
