"""A real uvicorn server on 127.0.0.1 in a background thread, for the browser and load tests.

    with running_server() as url:
        httpx.get(url + "api/network")
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest


@contextlib.contextmanager
def running_server(spec=None, app=None) -> Iterator[str]:
    """Serve `app` (default: create_app(spec)) on a free loopback port; yields the base URL; stops on exit."""
    import uvicorn

    from stepgrad.web.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app or create_app(spec), log_level="warning", lifespan="off", backlog=512)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


def test_real_server_answers_on_loopback_and_stops():
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("uvicorn")
    with running_server() as url:
        assert url.startswith("http://127.0.0.1:")
        r = httpx.get(url + "api/network", timeout=10)
        assert r.status_code == 200 and r.json()["spec"]["layers"] == [2, 2, 2]
        page = httpx.get(url, timeout=10)
        assert page.status_code == 200 and '<script type="module" src="/static/app.js">' in page.text
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "api/network", timeout=2)
