"""A bounded load check of the explorer's server, on loopback only: 200 concurrent explain requests
all answered correctly (each to its own request), and a long training run that does not stall an
explain request. Everything stops by itself; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time

import pytest
from tests.test_web_server import running_server

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

CONCURRENT = 200
DE_DW5 = 0.0821670406  # the deck's dE_total/dw5 (0.082167041); it does not depend on the learning rate


@pytest.fixture(scope="module")
def server():
    with running_server() as url:
        yield url


def seed_spec(learning_rate: float) -> dict:
    return {
        "layers": [2, 2, 2], "activation": "sigmoid", "learning_rate": learning_rate,
        "weights": [[[0.15, 0.2], [0.25, 0.3]], [[0.4, 0.45], [0.5, 0.55]]], "biases": [0.35, 0.6],
        "samples": [{"inputs": [0.05, 0.1], "targets": [0.01, 0.99]}],
    }


def test_200_concurrent_explains_all_answered(server):
    rates = [round(0.1 + k / 1000, 3) for k in range(CONCURRENT)]  # one learning rate per request

    async def run() -> list:
        limits = httpx.Limits(max_connections=CONCURRENT, max_keepalive_connections=CONCURRENT)
        async with httpx.AsyncClient(base_url=server, limits=limits, timeout=90) as client:
            async def one(rate: float):
                r = await client.post("/api/explain", json={"spec": seed_spec(rate), "only": ["w5"], "math_for": []})
                return rate, r

            return await asyncio.wait_for(asyncio.gather(*(one(r) for r in rates)), timeout=100)

    start = time.monotonic()
    results = asyncio.run(run())
    elapsed = time.monotonic() - start
    assert len(results) == CONCURRENT
    for rate, r in results:
        assert r.status_code == 200, r.text
        v = r.json()["values"]
        assert v["eta"] == rate  # the answer belongs to this request
        assert round(v["out_o1"], 8) == 0.75136507
        assert v["dE_total/dw5"] == pytest.approx(DE_DW5, rel=1e-9)
        assert v["w5+"] == pytest.approx(0.4 - rate * DE_DW5, rel=1e-9)
    assert elapsed < 90, f"{CONCURRENT} explains took {elapsed:.1f} s"


def test_long_training_does_not_stall_explain(server):
    rng = random.Random(5)
    big = {
        "layers": [32, 64, 10], "learning_rate": 0.05,
        "samples": [{"inputs": [round(rng.uniform(-1, 1), 3) for _ in range(32)],
                     "targets": [round(rng.uniform(0, 1), 3) for _ in range(10)]} for _ in range(20)],
    }

    async def run():
        async with httpx.AsyncClient(base_url=server, timeout=120) as client:
            async def train():
                t0 = time.monotonic()
                r = await client.post("/api/train", json={"spec": big, "iterations": 40_000, "every": 400})
                return r, time.monotonic() - t0

            task = asyncio.create_task(train())
            await asyncio.sleep(0.2)  # the training run is under way
            latencies = []
            while not task.done() and len(latencies) < 100:
                t0 = time.monotonic()
                r = await client.post("/api/explain", json={"spec": seed_spec(0.5), "only": ["w1"], "math_for": []})
                latencies.append(time.monotonic() - t0)
                assert r.status_code == 200 and round(r.json()["values"]["out_o1"], 8) == 0.75136507
                await asyncio.sleep(0.05)
            trained, duration = await asyncio.wait_for(task, timeout=120)
            return trained, duration, latencies

    trained, duration, latencies = asyncio.run(run())
    assert trained.status_code == 200 and trained.json()["iterations"] == 40_000
    assert latencies, "training finished before any explain was sent"
    worst = max(latencies)
    # answered while the training ran, each in a fraction of the training time
    assert worst < max(2.0, duration / 3), (
        f"explain took up to {worst:.2f} s during a {duration:.2f} s training run "
        f"(median {statistics.median(latencies):.3f} s)")
