"""A real uvicorn server on 127.0.0.1 in a background thread, for the browser and load tests.

    with running_server() as url:
        httpx.get(url + "api/network")
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest


@contextlib.contextmanager
def running_server(spec=None, app=None) -> Iterator[str]:
    """Serve `app` (default: create_app(spec)) on a free loopback port; yields the base URL; stops on exit."""
    from stepgrad.web.app import create_app
    from stepgrad.web.background import serving

    with serving(app or create_app(spec)) as url:
        yield url


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
