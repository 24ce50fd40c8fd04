"""Server timings of the maps and sequence pages on the course-sized networks of tests/big_layer_nets.py: the view
(GET /api/maps or /api/sequence), the Edit and train panel's page, one step and 100 training steps, with the answers'
sizes. A benchmark, not a test (the machine's load changes the numbers: it prints the load per core with its table).

    python benchmarks/layer_pages.py            # every network, a Markdown table
    python benchmarks/layer_pages.py conv       # one of: conv, rnn, attention, batchnorm

The goal: every answer under 1 s on an idle machine (docs/guides/explorer.md gives the numbers measured).
"""

from __future__ import annotations

import copy
import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def _timed(client, method: str, path: str, body: dict | None = None) -> tuple[float, int]:
    began = time.perf_counter()
    answer = client.get(path) if method == "GET" else client.post(path, json=body)
    assert answer.status_code == 200, answer.text[:300]
    return time.perf_counter() - began, len(answer.content)


def main(wanted: list[str]) -> None:
    with warnings.catch_warnings():  # starlette's TestClient suggests httpx2; httpx works
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    from big_layer_nets import BIG
    from stepgrad.core.layers.spec import LayerNetwork
    from stepgrad.web.app import create_app

    print(f"load per core: {os.getloadavg()[0] / (os.cpu_count() or 1):.2f}\n")
    print("| network | view | page | step | train 100 |\n|---|---|---|---|---|")
    for key, spec in BIG.items():
        if wanted and key not in wanted:
            continue
        client = TestClient(create_app(LayerNetwork.from_dict(copy.deepcopy(spec))), base_url="http://127.0.0.1:8000")
        kind = client.get("/api/layers/state").json()["kind"]
        client.get(f"/api/{kind}?sample=1")  # warm up (imports, the first step)
        state = client.get("/api/layers/state").json()["state"]
        cells = [_timed(client, "GET", f"/api/{kind}?sample=1"),
                 _timed(client, "POST", "/api/layers/page", {"state": state}),
                 _timed(client, "POST", "/api/layers/step", {"state": state}),
                 _timed(client, "POST", "/api/layers/train", {"state": state, "iterations": 100})]
        print(f"| {spec['name']} | " + " | ".join(f"{s:.2f} s, {n / 1000:.0f} kB" for s, n in cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
