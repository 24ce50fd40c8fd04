"""The server's limits count work, not waiting; every endpoint that computes runs in a bounded pool and is
never started for a client that left; unknown request fields are refused naming the field."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import anyio
import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from stepgrad.web.api import stoppable  # noqa: E402
from stepgrad.web.app import create_app  # noqa: E402


class _Request:
    def __init__(self, time_limit: float, workers: int = 1, gone: bool = False) -> None:
        self.app = SimpleNamespace(state=SimpleNamespace(time_limit=time_limit, workers=anyio.CapacityLimiter(workers),
                                                         quick=anyio.CapacityLimiter(workers)))
        self.gone = gone

    async def is_disconnected(self) -> bool:
        return self.gone


def _sleeper(seconds: float):
    def job(stop):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            stop()
            time.sleep(0.01)
        return "done"
    return job


def test_time_waiting_for_a_worker_does_not_count():
    # 8 jobs of 0.2 s each through one worker: the last waits 1.4 s, far past the 1 s limit, yet each ran 0.2 s
    async def run():
        request = _Request(time_limit=1.0)
        return await asyncio.gather(*(stoppable(request, _sleeper(0.2)) for _ in range(8)))

    assert asyncio.run(run()) == ["done"] * 8


def test_a_job_running_past_the_limit_is_stopped():
    async def run():
        return await stoppable(_Request(time_limit=0.3), _sleeper(30))

    with pytest.raises(Exception, match="time limit"):
        asyncio.run(run())


def test_a_request_whose_client_left_is_never_started():
    started = []

    def job(stop):
        started.append(True)
        return "done"

    async def run():
        request = _Request(time_limit=10, gone=True)
        busy = request.app.state.workers
        await busy.acquire_on_behalf_of("another request")  # the only worker is taken
        try:
            with pytest.raises(Exception, match="client left"):
                await stoppable(request, job)
        finally:
            busy.release_on_behalf_of("another request")

    asyncio.run(run())
    assert started == []


@pytest.mark.parametrize("path, body, field", [
    ("/api/train", {"iteration": 5000}, "iteration"),
    ("/api/explain", {"onyl": ["w5"]}, "onyl"),
    ("/api/export", {"format": "markdown", "digit": 3}, "digit"),
    ("/api/view", {"view": "matrix", "spec_fromat": "toml"}, "spec_fromat"),
])
def test_unknown_fields_are_refused_naming_the_field(path, body, field):
    client = TestClient(create_app(), base_url="http://127.0.0.1")
    r = client.post(path, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field and "unknown field" in r.json()["error"]


def test_known_fields_still_work():
    client = TestClient(create_app(), base_url="http://127.0.0.1")
    assert client.post("/api/train", json={"iterations": 3, "every": 1}).status_code == 200
    assert client.post("/api/explain", json={"only": ["w5"], "digits": 4, "group": "weight"}).status_code == 200
