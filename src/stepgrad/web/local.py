"""The explorer's JSON API answered in this process, without a server: the notebook widget's Python side
(stepgrad.web.widget) hands each request of the page here. The same functions as `stepgrad serve` compute
every answer (stepgrad.web.api, stepgrad.web.views); errors take the server's shape ({"error", "field"}).

    >>> from stepgrad.core.spec import builtin
    >>> reply = Local(builtin()).answer("GET", "/api/network", None)
    >>> reply["status"], reply["media"], json.loads(reply["body"])["spec"]["layers"]
    (200, 'application/json', [2, 2, 2])
    >>> Local(builtin()).answer("POST", "/api/nowhere", {})["status"]
    404
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from stepgrad.core import budget as work
from stepgrad.core.errors import DivergenceError, SpecError, StepgradError
from stepgrad.core.spec import Network
from stepgrad.web import api, inputs, views
from stepgrad.web.app import TIME_LIMIT
from stepgrad.web.inputs import ApiError

log = logging.getLogger("stepgrad.web")
JSON = "application/json"


@dataclass
class Local:
    """Answers the explorer's requests about `spec` (the network shown first) within `budget`."""

    spec: Network
    budget: work.Budget = work.SERVER
    seconds: float = TIME_LIMIT

    def answer(self, method: str, path: str, body: Any) -> dict[str, Any]:
        """{status, media, body (text), filename (a download's)} for one request, as `stepgrad serve` answers it."""
        try:
            return self._route(method, path, body)
        except ApiError as exc:
            return _error(exc.status, exc.message, exc.field)
        except StepgradError as exc:  # as stepgrad.web.app.stepgrad_error
            where = exc.where or ""
            status = 422 if isinstance(exc, (SpecError, DivergenceError)) else 400
            return _error(status, exc.message, where.split(": ", 1)[1] if ": " in where else None)
        except Exception:
            log.exception("internal error on %s %s", method, path)
            return _error(500, "internal error: the explorer could not answer this request (see the log)")

    def _route(self, method: str, path: str, body: Any) -> dict[str, Any]:
        url = urlsplit(path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if (method, url.path) == ("GET", "/api/network"):
            return _json(api.network_payload(self.spec, query.get("builtin"), self.budget, self.seconds))
        if method != "POST" or url.path not in ENDPOINTS:
            return _error(404, f"no such request: {method} {url.path}")
        endpoint = url.path.rsplit("/", 1)[1]
        if not isinstance(body, dict):
            raise ApiError(422, "the request body must be a JSON object", None)
        data = inputs.known_fields(body, endpoint)
        if endpoint == "explain":
            return _json(api._explain(data, self.spec, self.budget))
        if endpoint == "view":
            return _json(views._view(data, self.spec))
        if endpoint == "train":
            net, iterations = api.train_request(data, self.spec, self.budget)
            return _json(api._train(data, net, iterations, lambda: None))
        text, media, filename = api._export(data, self.spec, self.budget)
        return {"status": 200, "media": media, "body": text, "filename": filename}


ENDPOINTS = ("/api/explain", "/api/view", "/api/train", "/api/export")


def _json(data: Any) -> dict[str, Any]:
    return {"status": 200, "media": JSON, "body": json.dumps(data, allow_nan=False)}  # as Starlette's JSONResponse


def _error(status: int, message: str, field: str | None = None) -> dict[str, Any]:
    return {"status": status, "media": JSON, "body": json.dumps({"error": message, "field": field})}
