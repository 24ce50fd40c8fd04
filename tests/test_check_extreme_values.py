"""Numbers no one copies by hand (5e-324, 1e300, 30 digits) get verdicts, never a traceback.

Found by tests/test_fuzz_inputs.py: the copying-slip finder quantized `out_h1 = 5e-324` to its 324 places
and raised decimal.InvalidOperation out of `stepgrad check`.
"""

from __future__ import annotations

import pytest

import stepgrad
from stepgrad.teach.check import check, loads


@pytest.mark.parametrize("written", ["5e-324", "-5e-324", "1e-300", "1e300", "123456789012345678901234567890.5"])
def test_an_extreme_number_is_marked_wrong(written: str) -> None:
    report = check(stepgrad.builtin(), loads(f"out_h1 = {written}\nnet_h1 = 1e-320\nE_total = 0.298371109\n"))
    verdicts = {r.name: r.verdict for r in report.results}
    assert verdicts["out_h1"] == "wrong" and verdicts["net_h1"] == "wrong"
    assert verdicts["E_total"] in ("correct", "follows", "close", "wrong")  # judged, whatever the route
