"""Work that hostile or careless input asks for stays bounded: a solution line of 1 MB, a JSON solution
with 200,000 keys, a 60-60-60 network told one weight at a time. Appends its rows to benchmarks/HOSTILE.md.

Issue 22's measurements before the fixes: a 20 KB line took 11-13 s (a backtracking pattern: 1 MB would
take hours), 200,000 JSON keys over 60 s (line numbers counted from the start for every key), and
`--group weight` on a 60-60 network 11 s (quadratic). Run: .venv/bin/python benchmarks/hostile_input.py
"""

from __future__ import annotations

import json
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import stepgrad
from stepgrad.core.errors import StepgradError
from stepgrad.teach.check.solution import load
from stepgrad.tracing.group import group

HERE = Path(__file__).resolve().parent


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    try:
        run()
    except StepgradError:
        pass  # a refusal is an answer too: what is timed is how soon it comes
    return time.perf_counter() - start


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        line = Path(tmp) / "line.txt"
        line.write_text("out_h1 = " + "1" * 1_000_000 + "x\n")
        rows.append(("a solution with one 1 MB line", timed(lambda: load(str(line), lenient=True))))
        many = Path(tmp) / "many.json"
        many.write_text(json.dumps({f"w{i}": 0.5 for i in range(200_000)}))
        rows.append(("a JSON solution with 200,000 keys (one line)", timed(lambda: load(str(many), lenient=True))))
    net = stepgrad.Network.from_dict({"layers": [60, 60, 60], "activation": "sigmoid", "seed": 1,
                                      "samples": [{"inputs": [0.1] * 60, "targets": [0.5] * 60}]})
    trace = stepgrad.explain(net)
    rows.append(("--group weight of a 60-60-60 network (7,200 weights)", timed(lambda: group(trace, "weight"))))
    results = HERE / "HOSTILE.md"
    if not results.exists():
        results.write_text("# Bounded work on hostile input (benchmarks/hostile_input.py)\n\n"
                           "| case | time | Python |\n|---|---:|---|\n")
    with results.open("a") as f:
        for case, seconds in rows:
            row = f"| {case} | {seconds:.2f} s | {platform.python_version()}, {platform.machine()} |"
            print(row)
            f.write(row + "\n")


if __name__ == "__main__":
    main()
