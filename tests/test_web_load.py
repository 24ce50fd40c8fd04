"""A bounded load check of the explorer's server, on loopback only: 200 concurrent explain requests
all answered correctly (each to its own request), and a long training run that does not stall an
explain request. Everything stops by itself; nothing leaves 127.0.0.1. No wall-clock bounds: the
time-outs below only stop a hang, and "does not stall" is shown by order (answered while it ran).
"""

from __future__ import annotations

import asyncio
import random

import pytest
from tests.test_web_server import running_server

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")
pytestmark = pytest.mark.slow  # a few seconds each; tests/test_hostile_server.py holds the fast checks

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

    results = asyncio.run(run())
    assert len(results) == CONCURRENT
    for rate, r in results:
        assert r.status_code == 200, r.text
        v = r.json()["values"]
        assert v["eta"] == rate  # the answer belongs to this request
        assert round(v["out_o1"], 8) == 0.75136507
        assert v["dE_total/dw5"] == pytest.approx(DE_DW5, rel=1e-9)
        assert v["w5+"] == pytest.approx(0.4 - rate * DE_DW5, rel=1e-9)


def test_long_training_does_not_stall_explain(server):
    rng = random.Random(5)
    big = {
        "layers": [32, 64, 10], "learning_rate": 0.05,
        "samples": [{"inputs": [round(rng.uniform(-1, 1), 3) for _ in range(32)],
                     "targets": [round(rng.uniform(0, 1), 3) for _ in range(10)]} for _ in range(20)],
    }

    async def run():
        async with httpx.AsyncClient(base_url=server, timeout=120) as client:
            task = asyncio.create_task(client.post("/api/train", json={"spec": big, "iterations": 40_000, "every": 400}))
            await asyncio.sleep(0.2)  # the training run is under way
            during = []  # for each explain: was the training still running when its answer came?
            while not task.done() and len(during) < 100:
                r = await client.post("/api/explain", json={"spec": seed_spec(0.5), "only": ["w1"], "math_for": []})
                assert r.status_code == 200 and round(r.json()["values"]["out_o1"], 8) == 0.75136507
                during.append(not task.done())
                await asyncio.sleep(0.05)
            trained = await asyncio.wait_for(task, timeout=120)
            return trained, during

    trained, during = asyncio.run(run())
    assert trained.status_code == 200 and trained.json()["iterations"] == 40_000, trained.text
    # answered while the training ran: an explain stalled behind it would come back only after it
    assert any(during), during
