"""Editing and training on the pages of layer-table networks (the maps page of conv networks, the sequence page).

    GET  /api/layers/state   the served network's state (web/layer_state.py), the page kind and the limits
                             (and `refused`, one line, when the state is too large to send back)
    POST /api/layers/page    {state, sample?}               -> the page recomputed for the state
    POST /api/layers/edit    {state, sample?, name, value}  -> one weight, bias, input or the learning rate set
    POST /api/layers/step    {state, sample?}               -> one gradient-descent step taken: the page after it,
                                                               and the step (each parameter, its gradient and new
                                                               value, E_total and E_total+)
    POST /api/layers/train   {state, iterations, every?}    -> N full-batch steps: the error history, the state after

A page answer is {"kind": "maps" | "sequence", "state", "page": what GET /api/maps or /api/sequence answers
for the state, "parameters": [{"layer", "role", "trained", "entries": [{"name", "value", "gradient", "updated",
"gradient_name", "updated_name"}]}],
"inputs": [{"position": "1,2,3", "name", "value"}] (the sample's input cells), "E_total", "E_total+"}. Every
number is the engine's (core/layers/engine.py, the trace of tracing/layered.py); the page only shows them.
Requests pass the same guard (web/guard.py), body limit, worker pools, time limit and work budget as the dense
explorer's (web/api.py); a bad value is refused in one line naming its field.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from stepgrad.core import names
from stepgrad.core.budget import BudgetError
from stepgrad.core.errors import DivergenceError
from stepgrad.core.layers import engine
from stepgrad.core.layers.engine import LayerStep
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.training.layered import full_batch, train_work
from stepgrad.web import inputs, layer_state, maps, sequence
from stepgrad.web.inputs import ApiError

MAX_LISTED = 3_000  # parameter entries the page lists with their gradients (the others: edit by name)
FIELDS = {"page": ("state", "sample"), "edit": ("state", "sample", "name", "value"), "step": ("state", "sample"),
          "train": ("state", "iterations", "every")}


def served(request: Request) -> tuple[LayerNetwork, str]:
    """The layer-table network `stepgrad serve` was given and its page ("maps" or "sequence")."""
    app = request.app.state
    if getattr(app, "layers", None) is not None:
        return app.layers, "sequence"
    if isinstance(getattr(app, "spec", None), LayerNetwork):
        return app.spec, "maps"
    raise ApiError(404, "this server shows a dense network: /api/layers/ is for the pages of layer-table networks "
                        "(conv, pooling, rnn, attention, normalization); the dense page edits with /api/explain", "spec")


async def read(request: Request, endpoint: str) -> dict[str, Any]:
    """The request's JSON body, every field one `endpoint` reads (else 422 naming the first unknown one)."""
    data = await inputs.read_json(request)
    allowed = FIELDS[endpoint]
    for key in data:
        if key not in allowed:
            near = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f" (it reads: {', '.join(allowed)})"
            raise ApiError(422, f"unknown field {str(key)[:64]!r} for /api/layers/{endpoint}{hint}", str(key)[:64])
    if "state" not in data:
        raise ApiError(422, "missing 'state' (the page's network: GET /api/layers/state gives the served one)", "state")
    return data


FLOAT_CHARACTERS = 26  # the longest float64 JSON writes ("-1.2345678901234567e-100") and its ", "
REQUEST_ROOM = 4096  # bytes of a request besides its state (the other fields, a typed value, digits gained)


async def state_endpoint(request: Request) -> JSONResponse:
    """GET /api/layers/state: the served network's state, the page kind and the limits; `refused` (one line) when
    the state is too large for the requests that carry it (the page is then shown, not edited)."""
    net, kind = served(request)
    app = request.app.state
    state = layer_state.state_of(net)
    # as training goes on each value may take the most digits a float64 is written with: room for that from the start
    numbers = net.parameter_count + sum(2 * layer.running_mean.size for layer in net.all_layers()
                                        if hasattr(layer, "running_mean")) + int(np.size(state["inputs"]))
    size = max(len(json.dumps(state)), FLOAT_CHARACTERS * numbers)
    refused = None
    if size + REQUEST_ROOM > inputs.MAX_BODY:
        refused = (f"this network's values take up to {size:,} bytes, more than a request may carry "
                   f"({inputs.MAX_BODY:,}): "
                   "the page shows it, but editing and training it here needs a smaller network (stepgrad train "
                   "trains it)")
    return JSONResponse({"kind": kind, "state": state, "refused": refused,
                         "limits": {"iterations": inputs.MAX_ITERATIONS, "work": app.budget.work,
                                    "seconds": app.time_limit, "body_bytes": inputs.MAX_BODY}})


async def page_endpoint(request: Request) -> JSONResponse:
    """POST /api/layers/page: the page of the state's network."""
    return await _computed(request, "page", _page)


async def edit_endpoint(request: Request) -> JSONResponse:
    """POST /api/layers/edit: the page after setting one value ("name" and "value")."""
    return await _computed(request, "edit", _edit)


async def step_endpoint(request: Request) -> JSONResponse:
    """POST /api/layers/step: one gradient-descent step; the page after it, with the step."""
    return await _computed(request, "step", _step)


Job = Callable[[LayerNetwork, str, int, int, dict[str, Any]], dict[str, Any]]


async def _computed(request: Request, endpoint: str, job: Job) -> JSONResponse:
    """job(network of the state, page kind, sample, iteration, request body) in the explain pool (web/api.py)."""
    from stepgrad.web.api import _unstoppable, stoppable

    served_net, kind = served(request)
    data = await read(request, endpoint)

    def run(data: dict[str, Any]) -> dict[str, Any]:
        net = layer_state.network_from(served_net, data["state"])
        sample = inputs.integer(data, "sample", 1, 1, 10**9)
        return job(net, kind, sample, layer_state.iteration_of(data["state"]), data)

    return JSONResponse(await stoppable(request, _unstoppable(run), data, quick=True))


def _page(net: LayerNetwork, kind: str, sample: int, iteration: int, data: dict[str, Any]) -> dict[str, Any]:
    return page(net, kind, sample, iteration)


def _edit(net: LayerNetwork, kind: str, sample: int, iteration: int, data: dict[str, Any]) -> dict[str, Any]:
    for key in ("name", "value"):
        if key not in data:
            raise ApiError(422, f"missing {key!r}: an edit names a value and gives its new number", key)
    try:
        return page(layer_state.edited(net, data["name"], data["value"]), kind, sample, iteration)
    except DivergenceError as exc:  # the page stays as it was: say so
        raise ApiError(422, f"not set: with this value {exc.message}", "value") from None


def _step(net: LayerNetwork, kind: str, sample: int, iteration: int, data: dict[str, Any]) -> dict[str, Any]:
    inputs_, targets = net.require_samples()
    rec = engine.step(net, inputs_, targets, after=True)
    taken = {"iteration": iteration + 1, "E_total": rec.forward.error, "E_total+": _after(rec),
             "parameters": parameter_tables(net, rec)}
    engine.apply(net, rec)
    return page(net, kind, sample, iteration + 1) | {"step": taken}


def page(net: LayerNetwork, kind: str, sample: int, iteration: int) -> dict[str, Any]:
    """The page of `net` for `sample` (1-based): the maps or the sequence panels, its parameters and inputs."""
    inputs_, targets = net.require_samples()
    if sample > len(inputs_):
        raise ApiError(422, f"'sample' must be from 1 to {len(inputs_)}, got {sample}", "sample")
    rec = engine.step(net, inputs_, targets, after=True)
    shown = maps._maps(sample, net) if kind == "maps" else sequence.panels(net, sample)
    cells = [{"position": ",".join(str(i + 1) for i in index), "name": layer_state.input_name(net, sample - 1, index),
              "value": float(inputs_[(sample - 1, *index)])} for index in _indices(inputs_.shape[1:])]
    return {"kind": kind, "state": layer_state.state_of(net, iteration), "page": shown,
            "parameters": parameter_tables(net, rec), "inputs": cells, "E_total": rec.forward.error,
            "E_total+": _after(rec), "learning_rate": net.learning_rate, "iteration": iteration,
            "update_biases": net.update_biases}


def parameter_tables(net: LayerNetwork, rec: LayerStep) -> list[dict[str, Any]]:
    """Each layer's parameters by role, every entry with its value, dE_total/d of it and its value after the step
    (at most MAX_LISTED entries in all; a table cut short says how many it leaves out)."""
    tables, listed = [], 0
    for layer in net.all_layers():
        for role, array in layer.params.items():
            grads, new = rec.grads[(layer.label, role)], rec.new_params[(layer.label, role)]
            entries = []
            for index in _indices(array.shape):
                if listed >= MAX_LISTED:
                    break
                name = layer.parameter_name(role, tuple(i + 1 for i in index))
                entries.append({"name": name, "value": float(array[index]), "gradient": float(grads[index]),
                                "updated": float(new[index]), "gradient_name": names.gradient(name),
                                "updated_name": names.updated(name)})
                listed += 1
            tables.append({"layer": layer.label, "role": role, "shape": list(array.shape), "entries": entries,
                           "left_out": int(array.size) - len(entries),
                           "trained": role != "bias" or net.update_biases})  # engine.step's rule
    return tables


async def train_endpoint(request: Request) -> JSONResponse:
    """POST /api/layers/train: `iterations` full-batch steps from the state; the error history and the state after."""
    from stepgrad.web.api import stoppable

    served_net, _ = served(request)
    data = await read(request, "train")
    net = layer_state.network_from(served_net, data["state"])
    iterations = inputs.integer(data, "iterations", 1, 1, inputs.MAX_ITERATIONS)
    every = inputs.integer(data, "every", max(1, iterations // 200), 1, inputs.MAX_ITERATIONS)
    every = max(every, math.ceil(iterations / 10_000))  # at most ~10,000 points on the curve
    rows = len(net.require_samples()[0])
    try:
        request.app.state.budget.check(train_work(net, iterations, rows),
                                       f"training {rows:,} samples x {net.parameter_count:,} parameters x "
                                       f"{iterations:,} iterations")
    except BudgetError as exc:
        raise ApiError(422, exc.message, "iterations") from None
    start = layer_state.iteration_of(data["state"])
    return JSONResponse(await stoppable(request, _train, net, iterations, every, start))


def _train(net: LayerNetwork, iterations: int, every: int, start: int, stop: Callable[[], None]) -> dict[str, Any]:
    run = full_batch(net, iterations, every, start, progress=lambda done: stop())
    return {"history": [{"iteration": i, "E_total": e} for i, e in zip(run.iterations, run.errors)],
            "final_error": run.errors[-1], "state": layer_state.state_of(run.network, start + iterations)}


def _after(rec: LayerStep) -> float | None:
    return None if rec.after is None else rec.after.error


def _indices(shape: tuple[int, ...]) -> Any:
    return np.ndindex(*shape)


ROUTES = [
    Route("/api/layers/state", state_endpoint, methods=["GET"]),
    Route("/api/layers/page", page_endpoint, methods=["POST"]),
    Route("/api/layers/edit", edit_endpoint, methods=["POST"]),
    Route("/api/layers/step", step_endpoint, methods=["POST"]),
    Route("/api/layers/train", train_endpoint, methods=["POST"]),
]
