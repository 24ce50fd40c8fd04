"""The Starlette app behind `stepgrad serve`: the static page, the JSON API, and error handling
that answers every bad request with a 4xx JSON line ({"error", "field"}), never a traceback.

    >>> from starlette.testclient import TestClient
    >>> client = TestClient(create_app(), base_url="http://127.0.0.1:8000")
    >>> client.get("/api/network").json()["spec"]["layers"]
    [2, 2, 2]
    >>> client.get("/api/network", headers={"Host": "evil.example"}).status_code   # see stepgrad.web.guard
    403
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from importlib import resources

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stepgrad.core.budget import SERVER_WORK, Budget
from stepgrad.core.errors import DivergenceError, SpecError, StepgradError
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.spec import Network, builtin
from stepgrad.web import api, layer_routes, maps, sequence, views
from stepgrad.web.guard import LocalOnly, allowed_hosts
from stepgrad.web.inputs import ApiError

log = logging.getLogger("stepgrad.web")
STATIC = resources.files("stepgrad.web") / "static"
# The page loads nothing from anywhere else and runs no inline script.
HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
                                 b"script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


TIME_LIMIT = 30.0  # seconds one training request may run (the page trains in short chunks)
WORKERS = 2  # trainings computed at once; more wait their turn, explain requests never wait for them
QUICK_WORKERS = 4  # explain, view and export computed at once (a pool of their own: never behind a training)


def create_app(spec: Network | LayerNetwork | None = None, *, host: str = "127.0.0.1", allow_hosts: Iterable[str] = (),
               max_work: float = SERVER_WORK, time_limit: float = TIME_LIMIT, workers: int = WORKERS,
               extra_routes: Iterable[BaseRoute] = ()) -> Starlette:
    """The explorer app serving `spec` (default: the seed deck's network) on `host`.

    Requests must name a loopback host, `host` or one of `allow_hosts` ("*": any) in their Host
    header (stepgrad.web.guard); each training request may ask for `max_work` multiply-adds
    (stepgrad.core.budget) and run `time_limit` seconds, `workers` at a time. `extra_routes`: more endpoints
    from the layer above (`stepgrad serve` adds study mode's, stepgrad.api.study_routes)."""
    routes = [
        Route("/", index),
        Route("/api/network", api.network, methods=["GET"]),
        Route("/api/explain", api.explain_endpoint, methods=["POST"]),
        Route("/api/train", api.train_endpoint, methods=["POST"]),
        Route("/api/export", api.export_endpoint, methods=["POST"]),
        Route("/api/view", views.view_endpoint, methods=["POST"]),
        Route("/api/sequence", sequence.sequence_endpoint, methods=["GET"]),  # a sequence model's page (sequence.py)
        Route("/api/maps", maps.maps_endpoint, methods=["GET"]),  # a conv network's maps (web/maps.py)
        *layer_routes.ROUTES,  # editing and training on those two pages (web/layer_routes.py)
        *extra_routes,
        Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
    ]
    if not sequence.is_sequence_network(spec):  # a conv network: the dense API refused, the maps page's API
        routes = maps.routes_for(routes, spec)
    handlers = {ApiError: api_error, StepgradError: stepgrad_error, HTTPException: http_error, Exception: internal_error}
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.state.layers = spec if sequence.is_sequence_network(spec) else None
    conv = isinstance(spec, LayerNetwork) and app.state.layers is None  # a conv network: the maps page
    app.state.spec = spec if isinstance(spec, Network) or conv else builtin()
    app.state.budget = Budget(max_work, "stepgrad serve --max-work")
    app.state.time_limit = time_limit
    app.state.workers = anyio.CapacityLimiter(workers)
    app.state.quick = anyio.CapacityLimiter(QUICK_WORKERS)
    app.add_middleware(LocalOnly, hosts=allowed_hosts(host, allow_hosts))
    app.add_middleware(SecurityHeaders)
    return app


async def index(request: Request) -> Response:
    """The page (a sequence model's: sequence.html; a conv network's: the maps page, web/maps.py)."""
    if request.app.state.layers is not None:
        return await sequence.page(request)
    if maps.served(request) is not None:
        return await maps.page(request)
    return FileResponse(str(STATIC / "index.html"), media_type="text/html; charset=utf-8")


def error_response(status: int, message: str, field: str | None = None) -> JSONResponse:
    """The one shape of every error: {"error": "...", "field": "weights[1]" or null}."""
    return JSONResponse({"error": message, "field": field}, status_code=status)


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.message, exc.field)


async def stepgrad_error(request: Request, exc: Exception) -> Response:
    """SpecError.where is "spec: weights[1]" (or just "spec"): the field is what follows the colon."""
    assert isinstance(exc, StepgradError)
    where = exc.where or ""
    field = where.split(": ", 1)[1] if ": " in where else None
    status = 422 if isinstance(exc, (SpecError, DivergenceError)) else 400
    return error_response(status, exc.message, field)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, str(exc.detail))


async def internal_error(request: Request, exc: Exception) -> Response:
    log.exception("internal error on %s %s", request.method, request.url.path)
    return error_response(500, "internal error: the server could not answer this request (see the server log)")


class SecurityHeaders:
    """Adds HEADERS to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)
