"""Reading API requests safely: size-limited JSON bodies, specs, and every limit, as ApiError (4xx).

Nothing read here is evaluated or used as a path: a spec is a JSON object (the TOML schema) or the
text of an uploaded file parsed by `stepgrad.core.spec.parse`.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from stepgrad.core.budget import SERVER, Budget, BudgetError
from stepgrad.core.errors import SpecError
from stepgrad.core.spec import UPDATE_ORDERS, Network, check_depth, parse, unique_keys
from stepgrad.core.trace import Trace
from stepgrad.tracing.only import OnlyError, resolve_only

MAX_BODY = 512 * 1024  # bytes: a 10,000-weight network with trained (17-digit) weights fits
MAX_WEIGHTS = 10_000
MAX_LAYERS = 32
MAX_ITERATIONS = 100_000
MAX_EXPLAIN_STEPS = 60_000  # samples x (weights + neurons): a step-by-step trace this long is unreadable anyway
MAX_NAMES = 50
SOURCE = "spec"  # SpecError.where reads "spec: weights[1]"; the field is what follows


class ApiError(Exception):
    """A request the API refuses: HTTP status, one clear line, and the field it is about."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


async def read_json(request: Request) -> dict[str, Any]:
    """The request body as a JSON object: 413 past MAX_BODY bytes, 400 for bad JSON or NaN."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise ApiError(413, f"request body too large: {int(declared)} bytes, the limit is {MAX_BODY}")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY:
            raise ApiError(413, f"request body too large: the limit is {MAX_BODY} bytes")
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_reject_constant, object_pairs_hook=unique_keys)
        check_depth(data, "request body")
    except RecursionError:
        raise ApiError(400, "request body is nested too deeply") from None
    except SpecError as exc:
        raise ApiError(400, str(exc)) from None
    except UnicodeDecodeError:
        raise ApiError(400, "request body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"request body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object")
    return data


SPEC_FIELDS = ("spec", "spec_format")
FIELDS = {  # every field each endpoint reads; anything else is a mistake worth saying ({"iteration": 5000})
    "explain": (*SPEC_FIELDS, "update_order", "digits", "only", "show", "math_for", "math_steps", "group", "derive"),
    "train": (*SPEC_FIELDS, "iterations", "update_order", "every"),
    "export": (*SPEC_FIELDS, "format", "update_order", "digits", "only", "group", "derive"),
    "view": (*SPEC_FIELDS, "view", "update_order", "digits", "only", "block"),
}


def known_fields(data: dict[str, Any], endpoint: str) -> dict[str, Any]:
    """`data` when every field is one `endpoint` reads; else 422 naming the first unknown field (and a near one)."""
    import difflib

    allowed = FIELDS[endpoint]
    for key in data:
        if key not in allowed:
            near = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f" (it reads: {', '.join(allowed)})"
            raise ApiError(422, f"unknown field {str(key)[:64]!r} for /api/{endpoint}{hint}", str(key)[:64])
    return data


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number a network can use")


def spec_from(data: dict[str, Any], default: Network | None = None) -> Network:
    """The network of a request: "spec" as an object, or as TOML/JSON text with "spec_format"."""
    spec = data.get("spec")
    if spec is None:
        if default is None:
            raise ApiError(422, "missing 'spec' (the network as a JSON object, or TOML/JSON text)", "spec")
        return default.copy()
    if isinstance(spec, str):
        fmt = data.get("spec_format", "toml")
        if fmt not in ("toml", "json"):
            raise ApiError(422, f"spec_format must be 'toml' or 'json', not {fmt!r}", "spec_format")
        spec = parse(spec, fmt, SOURCE)
    if not isinstance(spec, dict):
        raise ApiError(422, "'spec' must be an object (the network) or the text of a spec file", "spec")
    check_size(spec)
    return Network.from_dict(spec, SOURCE)


def check_size(spec: dict[str, Any]) -> None:
    """Refuse networks past the limits before building them (from_dict would allocate the weights)."""
    layers = spec.get("layers")
    if not isinstance(layers, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in layers):
        return  # from_dict names the problem
    if len(layers) > MAX_LAYERS:
        raise ApiError(422, f"too many layers: {len(layers)}, the limit is {MAX_LAYERS}", "layers")
    weights = sum(a * b for a, b in zip(layers, layers[1:]))
    if weights > MAX_WEIGHTS:
        raise ApiError(422, f"network too large: {weights} weights, the limit is {MAX_WEIGHTS}", "layers")


def check_explainable(net: Network, budget: Budget = SERVER) -> None:
    """Refuse a step-by-step trace over the work budget (about MAX_EXPLAIN_STEPS samples x parameters)."""
    try:
        budget.check_trace(net)
    except BudgetError as exc:
        raise ApiError(422, f"too large to explain step by step: {exc.message}; use fewer samples or a smaller "
                            "network", "samples") from None


def integer(data: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    """An integer field within [low, high]."""
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(422, f"'{key}' must be an integer, got {value!r}", key)
    if not low <= value <= high:
        raise ApiError(422, f"'{key}' must be between {low:,} and {high:,}, got {value:,}", key)
    return value


def update_order(data: dict[str, Any]) -> str | None:
    """The update order asked for, or None for the spec's own."""
    value = data.get("update_order")
    if value is not None and value not in UPDATE_ORDERS:
        raise ApiError(422, f"'update_order' must be one of {', '.join(UPDATE_ORDERS)}, got {value!r}", "update_order")
    return value


def dressed(data: dict[str, Any], trace: Trace) -> Trace:
    """The trace as asked: "group" ("layer" as computed, "weight" as the deck tells it) and "derive"
    (true: how each local derivative is obtained)."""
    from stepgrad.tracing.derive import derive
    from stepgrad.tracing.group import GROUPINGS, group

    by = data.get("group", "layer")
    if by not in GROUPINGS:
        raise ApiError(422, f"'group' must be one of {', '.join(GROUPINGS)}, got {by!r}", "group")
    wanted = data.get("derive", False)
    if not isinstance(wanted, bool):
        raise ApiError(422, f"'derive' must be true or false, got {wanted!r}", "derive")
    return group(derive(trace) if wanted else trace, by)


def names(data: dict[str, Any]) -> list[str] | None:
    """The "only" field: a list of quantity names (w5, h1, out_o1, E_total), or None."""
    value = data.get("only")
    if value is None or value == []:
        return None
    if isinstance(value, str):
        value = [value]
    if (not isinstance(value, list) or len(value) > MAX_NAMES
            or not all(isinstance(n, str) and 0 < len(n) <= 64 for n in value)):
        raise ApiError(422, f"'only' must be a list of at most {MAX_NAMES} quantity names like \"w5\"", "only")
    return value


def only(trace: Trace, names: list[str]) -> list[str]:
    """The quantities `names` ask for (stepgrad.tracing.only's rule, as for --only); 422 naming what is not there."""
    try:
        return resolve_only(trace, names)
    except OnlyError as exc:
        raise ApiError(422, f"{exc.message} in this network", "only") from None
