"""Only this machine's browser (or the hosts allowed) may drive the server.

A web page the user visits can send requests to http://127.0.0.1:8000 (a cross-site "simple" POST
with `Content-Type: text/plain` needs no CORS preflight), and a DNS-rebinding attack makes such a
page look same-site with a foreign `Host` header. So every request must name an allowed host in
`Host`; a request carrying an `Origin` must come from the page this server serves; and a POST must
declare `Content-Type: application/json` (which a cross-site page cannot send without a preflight,
which this server never answers). Allowed hosts are loopback names plus the `--host` served and any
`--allow-host` (`*` allows every name, as Jupyter's `allow_remote_access`).

    >>> sorted(allowed_hosts("0.0.0.0", ["classroom.local"]))
    ['127.0.0.1', '::1', 'classroom.local', 'localhost']
    >>> host_name("[::1]:8000"), host_name("LocalHost:80"), host_name("example.org")
    ('::1', 'localhost', 'example.org')
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
ANY_ADDRESS = ("0.0.0.0", "::", "")


def allowed_hosts(host: str = "127.0.0.1", extra: Iterable[str] = ()) -> frozenset[str]:
    """The host names a request may name: loopback, the served address (not 0.0.0.0 or ::), `extra`."""
    names = set(LOOPBACK) | {host_name(h) for h in extra}
    if host not in ANY_ADDRESS:
        names.add(host_name(host))
    return frozenset(names)


def host_name(value: str) -> str:
    """The host of a Host header or address, lower-case, without port or IPv6 brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


class LocalOnly:
    """ASGI middleware: 403 for a foreign Host or Origin, 415 for a POST that is not JSON."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str] = LOOPBACK) -> None:
        self.app, self.hosts = app, hosts

    def refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        """(status, message, field) when the request must be refused, else None."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        if "*" not in self.hosts and host_name(host) not in self.hosts:
            return 403, (f"host {host!r} is not served here; start the server with --allow-host to allow it"), "Host"
        origin = headers.get("origin")
        if origin is not None:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or parts.netloc.lower() != host.lower():
                return 403, "requests from other sites are refused", "Origin"
        if scope.get("method") in ("POST", "PUT", "PATCH", "DELETE"):
            kind = headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if kind != "application/json":
                return 415, "the request body must be sent with Content-Type: application/json", "Content-Type"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = self.refusal(scope)
        if refused is None:
            await self.app(scope, receive, send)
            return
        status, message, field = refused
        body = json.dumps({"error": message, "field": field}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
