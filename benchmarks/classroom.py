"""Mark a class of 500 generated submissions (the seed deck's step: correct, blank, with a slip,
unreadable) into a gradebook, and append the timing row to benchmarks/CLASSROOM.md.

The target (issue 15): 500 submissions in under 10 s. Run: .venv/bin/python benchmarks/classroom.py
"""

from __future__ import annotations

import platform
import sys
import tempfile
import time
from pathlib import Path

import stepgrad
from stepgrad.teach.classroom import mark_class
from stepgrad.tracing.build import explain

HERE = Path(__file__).resolve().parent
COUNT = 500


def submissions(folder: Path) -> None:
    """Every fourth correct to 6 digits, then blank, a flipped sign carried on, an unreadable line."""
    trace = [s for s in explain(stepgrad.builtin()) if s.text]
    correct = "\n".join(f"{s.name} = {s.value:.6g}" for s in trace)
    kinds = [correct, "\n".join(f"{s.name} =" for s in trace),
             correct.replace("dE_total/dout_o1 = 0.741365", "dE_total/dout_o1 = -0.741365"),
             correct.replace("out_h1 = 0.59327", "out_h1 = 0,59327")]
    for k in range(COUNT):
        (folder / f"student{k:03d}.txt").write_text(kinds[k % 4])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "returned"
        folder.mkdir()
        submissions(folder)
        start = time.perf_counter()
        net = stepgrad.builtin()
        book = mark_class(str(folder), lambda student: net)
        book.write(str(Path(tmp) / "marked"))
        elapsed = time.perf_counter() - start
    row = (f"| {COUNT} submissions, seed deck (correct, blank, slip, unreadable) | {elapsed:.2f} s | "
           f"< 10 s | {'yes' if elapsed < 10 else 'no'} | {platform.python_version()}, {platform.machine()} |")
    print(row)
    results = HERE / "CLASSROOM.md"
    if not results.exists():
        results.write_text("# Marking a class (benchmarks/classroom.py)\n\n"
                           "| case | time (mark + write gradebook and feedback) | target | met | Python |\n"
                           "|---|---:|---|---|---|\n")
    with results.open("a") as f:
        f.write(row + "\n")
    sys.exit(0 if elapsed < 10 else 1)


if __name__ == "__main__":
    main()
