"""`stepgrad serve` against hostile and careless requests: foreign Host and Origin, non-JSON POSTs,
requests over the work budget, abandoned and over-long trainings, and short requests answered
while trainings run (issue 14). The server tests run a real uvicorn on 127.0.0.1 only; they hold the
trainings and observe what stopped them, so that no test depends on the machine's speed."""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import json
import queue
import random
import socket
import threading
import time
import warnings
from collections.abc import Iterator

import pytest

pytest.importorskip("starlette")
with warnings.catch_warnings():  # starlette 1.x suggests httpx2 for its TestClient; httpx works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from stepgrad.web import api  # noqa: E402
from stepgrad.web.app import create_app  # noqa: E402

httpx = pytest.importorskip("httpx")
JSON = {"content-type": "application/json"}
SEED = {
    "layers": [2, 2, 2], "weights": [[[0.15, 0.2], [0.25, 0.3]], [[0.4, 0.45], [0.5, 0.55]]], "biases": [0.35, 0.6],
    "samples": [{"inputs": [0.05, 0.1], "targets": [0.01, 0.99]}],
}


def long_spec() -> dict:
    """A network the compiled backends do not take, so training runs a step at a time (seconds)."""
    rng = random.Random(5)
    return {"layers": [32, 64, 10], "learning_rate": 0.05,
            "samples": [{"inputs": [round(rng.uniform(-1, 1), 3) for _ in range(32)],
                         "targets": [round(rng.uniform(0, 1), 3) for _ in range(10)]} for _ in range(20)]}


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(), raise_server_exceptions=False, base_url="http://127.0.0.1:8000") as c:
        yield c


# -- Host, Origin, Content-Type --------------------------------------------------------------------
@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "", "localhost.:80"])
def test_foreign_host_is_refused(client, host):
    r = client.get("/api/network", headers={"Host": host})
    assert r.status_code == 403 and r.json()["field"] == "Host"
    r = client.post("/api/train", json={"iterations": 1}, headers={"Host": host})
    assert r.status_code == 403


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "LOCALHOST", "[::1]:8000", "127.0.0.1"])
def test_loopback_hosts_are_served(client, host):
    assert client.get("/api/network", headers={"Host": host}).status_code == 200


def test_served_and_allowed_hosts():
    app = create_app(host="192.168.1.20", allow_hosts=["teacher-pc.local"])
    with TestClient(app, base_url="http://teacher-pc.local:8000") as c:
        assert c.get("/api/network").status_code == 200
        assert c.get("/api/network", headers={"Host": "192.168.1.20:8000"}).status_code == 200
        assert c.get("/api/network", headers={"Host": "other.local"}).status_code == 403
    with TestClient(create_app(host="0.0.0.0"), base_url="http://0.0.0.0:8000") as c:
        assert c.get("/api/network").status_code == 403  # 0.0.0.0 is not a name a browser is sent to
    with TestClient(create_app(allow_hosts=["*"]), base_url="http://anything.example") as c:
        assert c.get("/api/network").status_code == 200


def test_cross_origin_text_plain_post_does_not_run(client, monkeypatch):
    ran = []
    monkeypatch.setattr(api, "train", lambda *a, **k: ran.append(1))
    body = b'{"iterations": 5}'
    r = client.post("/api/train", content=body,
                    headers={"Content-Type": "text/plain", "Origin": "http://evil.example"})
    assert r.status_code == 403 and r.json()["field"] == "Origin"
    r = client.post("/api/train", content=body, headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and r.json()["field"] == "Content-Type"
    r = client.post("/api/train", content=body)  # no Content-Type at all (a no-cors Blob)
    assert r.status_code == 415
    r = client.post("/api/explain", json={}, headers={"Origin": "http://127.0.0.1:9999"})  # another local site
    assert r.status_code == 403
    r = client.post("/api/explain", json={}, headers={"Origin": "null"})
    assert r.status_code == 403
    assert ran == []


def test_same_origin_json_post_runs(client):
    r = client.post("/api/explain", json={"only": ["w5"]},
                    headers={"Origin": "http://127.0.0.1:8000", "Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 200 and round(r.json()["values"]["dE_total/dw5"], 9) == 0.082167041


# -- work budget -------------------------------------------------------------------------------------
def test_the_heavy_request_is_refused_at_once(client, monkeypatch):
    trained = []
    monkeypatch.setattr(api, "_train", lambda *args: trained.append(1))
    rng = random.Random(1)
    samples = [{"inputs": [rng.choice([0, 1])], "targets": [rng.choice([0, 1])]}
               for _ in range(15_000)]
    body = {"spec": {"layers": [1, 4999, 1], "activation": "tanh", "samples": samples}, "iterations": 100_000}
    content = json.dumps(body, separators=(",", ":")).encode()
    assert len(content) < 512 * 1024  # inside the body limit, as in the issue (about 425 KiB)
    r = client.post("/api/train", content=content, headers=JSON)
    assert r.status_code == 422, r.text
    err = r.json()
    assert err["field"] == "iterations" and "work budget" in err["error"] and "--max-work" in err["error"]
    assert trained == []  # refused before any training started (nothing queued, no time spent)


def test_budget_is_a_server_setting():
    with TestClient(create_app(max_work=1000), base_url="http://127.0.0.1") as c:
        r = c.post("/api/train", json={"spec": SEED, "iterations": 1000})
        assert r.status_code == 422 and "1e+03" in r.json()["error"]
        assert c.post("/api/train", json={"spec": SEED, "iterations": 10}).status_code == 200
        assert c.get("/api/network").json()["limits"]["work"] == 1000


# -- cancellation and fairness on a real server --------------------------------------------------------
@contextlib.contextmanager
def serving(**settings) -> Iterator[str]:
    from stepgrad.web.background import serving as background

    with background(create_app(**settings)) as url:
        yield url.rstrip("/")


def train_body(iterations: int) -> dict:
    return {"spec": long_spec(), "iterations": iterations, "every": max(1, iterations // 10)}


HOLD = 60  # seconds a held training waits at most (a hang guard, not a timing claim)


class HeldTrainings:
    """The server's trainings (stepgrad.web.api._train, the real one), each held at its first progress
    report until its stop() raises (the client left, or the time limit passed) or the test releases it:
    the tests observe what stopped a training instead of timing it."""

    def __init__(self) -> None:
        self.started = threading.Semaphore(0)  # released once per training that reached its first step
        self.release = threading.Event()
        self.outcomes: queue.Queue[str] = queue.Queue()  # "stopped" or "finished", one per training
        self.lock = threading.Lock()
        self.running = self.most = 0

    def hold(self, stop) -> None:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        self.started.release()
        try:
            deadline = time.monotonic() + HOLD
            while not self.release.wait(0.01):
                stop()  # raises Stopped once the server has stopped this training
                if time.monotonic() > deadline:
                    raise RuntimeError(f"a held training was neither stopped nor released in {HOLD} s")
        finally:
            with self.lock:
                self.running -= 1

    def train(self, real):
        def _train(data, net, iterations, stop):
            first = [True]

            def held_stop() -> None:
                if first:
                    first.clear()
                    self.hold(stop)
                stop()

            try:
                result = real(data, net, iterations, held_stop)
            except api.Stopped:
                self.outcomes.put("stopped")
                raise
            self.outcomes.put("finished")
            return result

        return _train


@pytest.fixture
def trainings(monkeypatch) -> HeldTrainings:
    held = HeldTrainings()
    monkeypatch.setattr(api, "_train", held.train(api._train))
    yield held
    held.release.set()


def post_and_hang_up(url: str, body: dict, trainings: HeldTrainings) -> None:
    """POST body to /api/train on a raw socket, wait until its training runs, then close the connection."""
    host, port = url.removeprefix("http://").split(":")
    content = json.dumps(body).encode()
    with socket.create_connection((host, int(port)), timeout=HOLD) as conn:
        conn.sendall(b"POST /api/train HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(content) + content)
        assert trainings.started.acquire(timeout=HOLD), "the training did not start"


def test_a_disconnected_training_stops(trainings):
    with serving(workers=1, time_limit=600) as url:
        post_and_hang_up(url, train_body(100_000), trainings)
        # the server saw the client leave and stopped the training (the time limit is far away)
        assert trainings.outcomes.get(timeout=HOLD) == "stopped"
        # the one worker is free again: a short training gets it
        trainings.release.set()
        r = httpx.post(url + "/api/train", json={"spec": SEED, "iterations": 10}, timeout=HOLD)
        assert r.status_code == 200
        assert trainings.outcomes.get(timeout=HOLD) == "finished"


def test_the_time_limit_stops_a_training(trainings):
    with serving(time_limit=0.5) as url:  # the training is held until stopped: only the time limit can end it
        r = httpx.post(url + "/api/train", json=train_body(100_000), timeout=HOLD)
        assert r.status_code == 422 and r.json()["field"] == "iterations" and "time limit" in r.json()["error"]


def test_short_requests_are_answered_while_trainings_run(trainings):
    with serving(time_limit=600, workers=2) as url:
        async def run() -> tuple[list[bool], int]:
            async with httpx.AsyncClient(base_url=url, timeout=HOLD) as client:
                runs = [asyncio.create_task(client.post("/api/train", json=train_body(100_000))) for _ in range(6)]
                for _ in range(2):  # both workers busy with a held training; four more wait their turn
                    assert await asyncio.to_thread(trainings.started.acquire, timeout=HOLD)
                answered_meanwhile = []
                faulthandler.dump_traceback_later(HOLD - 5)  # should an explain hang: every thread's stack
                try:
                    for _ in range(15):
                        r = await client.post("/api/explain", json={"spec": SEED, "only": ["w1"], "math_for": []})
                        assert r.status_code == 200 and round(r.json()["values"]["out_h1"], 9) == 0.593269992
                        answered_meanwhile.append(not any(t.done() for t in runs))
                finally:
                    faulthandler.cancel_dump_traceback_later()
                most = trainings.most  # before the hang-ups below: a stopped training may overlap the next one
                for task in runs:
                    task.cancel()
                await asyncio.gather(*runs, return_exceptions=True)
                return answered_meanwhile, most

        answered_meanwhile, most = asyncio.run(run())
        # every explain was answered while all six trainings were still running or waiting
        assert answered_meanwhile == [True] * 15
        assert most == 2  # trainings never take more than the server's workers
