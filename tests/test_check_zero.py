"""An exact 0 (a ReLU that is off) has no relative error: only a unit in the last written digit is rounding drift.

The network is small enough to do by hand: i1 = 1, w1 = -1, b1 = 0.5, so net_h1 = -0.5 and the ReLU is off;
every gradient through it (dE_total/dw1) is exactly 0, whatever the student's other numbers.
"""

from __future__ import annotations

import pytest

from stepgrad.core.spec import Network
from stepgrad.teach.check import check, loads

SPEC = {"layers": [1, 1, 1], "activations": ["relu", "sigmoid"], "weights": [[[-1.0]], [[0.8]]],
        "biases": [[0.5], [0.1]], "learning_rate": 0.5, "samples": [{"inputs": [1.0], "targets": [0.3]}]}


def verdict(written: str) -> str:
    net = Network.from_dict(SPEC, "<zero>")
    (result,) = check(net, loads(f"dE_total/dw1 = {written}\n")).results
    assert result.expected == 0.0  # by hand: the ReLU's derivative at -0.5 is 0
    return result.verdict


@pytest.mark.parametrize("written", ["0", "0.000", "-0.0", "0.0000000"])
def test_zero_written_any_way_is_correct(written: str) -> None:
    assert verdict(written) == "correct"


@pytest.mark.parametrize("written", ["0.0009", "0.0005", "-0.0002", "0.00003"])
def test_a_small_number_for_an_exact_zero_is_wrong_not_close(written: str) -> None:
    assert verdict(written) == "wrong"


def test_one_unit_in_the_last_written_digit_is_drift() -> None:
    assert verdict("0.001") == "close"
