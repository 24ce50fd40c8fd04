"""The report on the deck's own figures: each stated cause checked against the deck's arithmetic, redone here.

Every reconstruction below is typed from the slides (tests/data/seed-deck.txt, a copy of the deck's
text) and computed with plain Python floats, independently of stepgrad's engine and of its cause-finder:
the network's forward pass and both update orders are written out by hand for the 2-2-2 sigmoid net.
A figure is *reproduced* by a value when the value, rounded (half up) or truncated to the decimals the
figure is printed with, is the figure.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

import stepgrad
from stepgrad.teach.check.causes import edits, find
from stepgrad.teach.check.context import build
from stepgrad.teach.check.solution import loads
from stepgrad.teach.deck_figures import causes, slips
from stepgrad.teach.deck_labels import LABEL_SLIPS

DECK_TEXT = Path(__file__).parent / "data" / "seed-deck.txt"


def reproduces(value: float, figure: str) -> bool:
    places = max(0, -Decimal(figure).as_tuple().exponent)
    shown = Decimal(repr(value))
    quantum = Decimal(1).scaleb(-places)
    return Decimal(figure) in (shown.quantize(quantum, ROUND_HALF_UP), shown.quantize(quantum, ROUND_DOWN))


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def deck_step(order: str) -> dict[str, float]:
    """The deck's network, one step, by hand: every quantity the report talks about."""
    i1, i2, t1, t2, b1, b2, eta = 0.05, 0.10, 0.01, 0.99, 0.35, 0.60, 0.5
    w = [0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55]

    def forward(w):
        h1 = sigmoid(w[0] * i1 + w[1] * i2 + b1)
        h2 = sigmoid(w[2] * i1 + w[3] * i2 + b1)
        net_o1, net_o2 = w[4] * h1 + w[5] * h2 + b2, w[6] * h1 + w[7] * h2 + b2
        return h1, h2, net_o1, net_o2, sigmoid(net_o1), sigmoid(net_o2)

    h1, h2, net_o1, net_o2, o1, o2 = forward(w)
    d1, d2 = (o1 - t1) * o1 * (1 - o1), (o2 - t2) * o2 * (1 - o2)  # dE/dnet_o1, dE/dnet_o2
    out_grads = [d1 * h1, d1 * h2, d2 * h1, d2 * h2]
    new = w[:4] + [w[4 + k] - eta * g for k, g in enumerate(out_grads)]
    upper = new if order == "sequential" else w  # the hidden layer's backward pass: new or old w5..w8
    dh1, dh2 = d1 * upper[4] + d2 * upper[6], d1 * upper[5] + d2 * upper[7]  # dE/dout_h1, dE/dout_h2
    hidden = [dh1 * h1 * (1 - h1) * i1, dh1 * h1 * (1 - h1) * i2, dh2 * h2 * (1 - h2) * i1, dh2 * h2 * (1 - h2) * i2]
    new[:4] = [w[k] - eta * g for k, g in enumerate(hidden)]
    *_, o1_after, o2_after = forward(new)
    return {
        "out_h1": h1, "out_h2": h2, "net_o2": net_o2, "dE_o1/dnet_o1": d1, "dE_o2/dnet_o2": d2,
        "dE_total/dout_o2": o2 - t2, "dout_o2/dnet_o2": o2 * (1 - o2),
        "dE_total/dw7": out_grads[2], "dE_total/dout_h1": dh1, "dout_h1/dnet_h1": h1 * (1 - h1),
        "dE_total/dout_h2": dh2, "dout_h2/dnet_h2": h2 * (1 - h2), "dE_total/dw1": hidden[0],
        "dE_total/dw2": hidden[1], "dE_total/dw3": hidden[2], "dE_total/dw4": hidden[3], "w3+": new[2],
        "E_total+": 0.5 * (t1 - o1_after) ** 2 + 0.5 * (t2 - o2_after) ** 2,
    }


SYNC, SEQ = deck_step("synchronous"), deck_step("sequential")
EXPECTED_CAUSES = {  # read off the slides, each reconstructed in the test below
    "net_o2": "digit dropped", "dE_total/dout_o2": "decimal point missing", "dE_total/dw7": "rounding",
    "dE_total/dout_h2": "unexplained", "dE_total/dw2": "digits swapped", "dE_total/dw3": "another quantity",
    "dE_total/dw4": "follows", "w3+": "follows", "E_total+": "other update order",
}


def test_the_figures_that_are_off_are_exactly_these():
    assert {s.name: s.cause for s in slips()} == EXPECTED_CAUSES
    for name, figure in [("net_o2", "1.22492136"), ("dE_total/dw7", "-0.02260253"), ("dE_total/dw2", "0.000877131"),
                         ("dE_total/dw3", "0.00043856"), ("dE_total/dout_h2", "0.041369954"),
                         ("dE_total/dw4", "0.00099541"), ("w3+", "0.24978"), ("E_total+", "0.291027924")]:
        assert not reproduces(SYNC[name], figure), name  # really off: not the exact value, however cut


def test_net_o2_is_out_h1_copied_with_a_digit_dropped():
    printed_out_h1, used = "0.593269992", "0.59326992"  # slide 5 prints out_h1; slide 8 substitutes `used`
    assert reproduces(SYNC["out_h1"], printed_out_h1)
    assert any(printed_out_h1[:k] + printed_out_h1[k + 1:] == used for k in range(2, len(printed_out_h1)))
    assert reproduces(0.5 * float(used) + 0.55 * 0.596884378 + 0.6, "1.22492136")
    cause = causes()["net_o2"]
    assert (cause.operand, cause.copied) == ("out_h1", used) and "dropped" in cause.reason


def test_dw2_is_dout_h1_copied_with_two_digits_swapped():
    rounded = f"{SYNC['dE_total/dout_h1']:.8f}"
    assert rounded == "0.03635031"
    used = "0.03635013"  # slide 50 substitutes this
    assert used == rounded[:-2] + rounded[-1] + rounded[-2]
    assert reproduces(float(used) * SYNC["dout_h1/dnet_h1"] * 0.1, "0.000877131")
    assert reproduces(float(used) * 0.2413007086 * 0.1, "0.000877131")  # with the factor as the slide writes it
    cause = causes()["dE_total/dw2"]
    assert (cause.operand, cause.copied, cause.source) == ("dE_total/dout_h1", used, rounded)


def test_dout_h2_is_unexplained():
    exact = SYNC["dE_total/dout_h2"]
    assert abs(0.041369954 - exact) / exact == pytest.approx(8.9e-6, rel=0.01)
    # no rounding of its two terms (dE_o1/dnet_o1 * w6 and dE_o2/dnet_o2 * w8), at any decimals, gives it
    d1, d2 = SYNC["dE_o1/dnet_o1"], SYNC["dE_o2/dnet_o2"]
    cuts = [lambda x, k: x, lambda x, k: round(x, k), lambda x, k: math.trunc(x * 10**k) / 10**k]
    for places in range(2, 12):
        for a in (cut(d1, places) for cut in cuts):
            for b in (cut(d2, places) for cut in cuts):
                for terms in ((a * 0.45, b * 0.55), (round(a * 0.45, places), round(b * 0.55, places))):
                    assert not reproduces(sum(terms), "0.041369954")
    assert not reproduces(0.138498562 * 0.45 - 0.03809823 * 0.55, "0.041369954")  # the deck's own figures
    cause = causes()["dE_total/dout_h2"]
    assert cause.value is None and "8.9e-06" in cause.reason


def test_dw7_really_is_rounding():
    # slide 31 substitutes -0.21707153 (dE_total/dout_o2 cut to 8 decimals) and 0.17551005
    assert f"{SYNC['dE_total/dout_o2']:.8f}" == "-0.21707153"
    assert reproduces(-0.21707153 * 0.17551005 * 0.593269992, "-0.02260253")
    assert reproduces(-0.21707153 * SYNC["dout_o2/dnet_o2"] * SYNC["out_h1"], "-0.02260253")
    assert causes()["dE_total/dw7"].reason.startswith("rounding")


def test_dout_o2_lost_its_decimal_point():
    assert f"{SYNC['dE_total/dout_o2']:.8f}".replace("0.", "") == "-21707153"
    assert "-0.21707153" in causes()["dE_total/dout_o2"].reason


def test_dw3_is_w1s_gradient():
    assert reproduces(SYNC["dE_total/dw1"], "0.00043856")
    assert causes()["dE_total/dw3"].operand == "dE_total/dw1"


def test_the_figures_that_follow_are_computed_from_the_earlier_slips():
    assert reproduces(0.041369954 * SYNC["dout_h2/dnet_h2"] * 0.1, "0.00099541")
    assert "dE_total/dout_h2 = 0.041369954" in causes()["dE_total/dw4"].reason
    assert reproduces(0.25 - 0.5 * 0.00043856, "0.24978")
    assert "dE_total/dw3 = 0.00043856" in causes()["w3+"].reason


def test_the_error_after_the_update_is_the_sequential_orders():
    assert reproduces(SEQ["E_total+"], "0.291027924") and not reproduces(SYNC["E_total+"], "0.291027924")
    assert "sequential update order's value" in causes()["E_total+"].reason


def test_edits_are_single_slips():
    found = {(kind, text) for kind, text, _ in edits("0.0312")}
    assert ("digits swapped", "0.0132") in found and ("digits swapped", "0.0321") in found
    assert ("digit dropped", "0.032") in found and ("digit dropped", "0.312") not in found  # leading zeros kept
    assert ("digit inserted", "0.03172") in found and ("digit changed", "0.0392") in found
    assert all(text != "0.0312" for _, text, _ in edits("0.0312"))


def test_the_cause_finder_is_general():
    """A student's slips on a network that is not the deck's: a swapped digit carried into a product, a copied
    figure, a missing decimal point; each found, with the operand and the figure it was copied as."""
    net = stepgrad.Network.from_dict({
        "layers": [2, 3, 2], "activations": ["tanh", "sigmoid"], "learning_rate": 0.3, "seed": 5,
        "samples": [{"inputs": [0.3, -0.7], "targets": [0.2, 0.9]}]})
    exact = stepgrad.explain(net).values
    factor = f"{exact['dE_total/dout_o1']:.6f}"
    swapped = next(text for kind, text, _ in edits(factor) if kind == "digits swapped")
    slipped = {  # by hand: the same products with the slip in them
        "dE_o1/dnet_o1": f"{float(swapped) * exact['dout_o1/dnet_o1']:.6f}",
        "dE_total/dw8": f"{exact['dE_total/dw7']:.6f}",
        "dE_total/dout_o2": f"{exact['dE_total/dout_o2']:.6f}".replace("0.", "", 1),
    }
    text = "\n".join(f"{name} = {value}" for name, value in slipped.items())
    ctx = build(net, loads(text))
    printed = {name: value for name, value in slipped.items()}
    found = {name: find(ctx, name, figure, printed, printed) for name, figure in slipped.items()}
    assert (found["dE_o1/dnet_o1"].kind, found["dE_o1/dnet_o1"].operand) == ("digits swapped", "dE_total/dout_o1")
    assert float(found["dE_o1/dnet_o1"].copied) == pytest.approx(float(swapped), abs=1e-6)  # the same two digits
    assert (found["dE_total/dw8"].kind, found["dE_total/dw8"].operand) == ("another quantity", "dE_total/dw7")
    assert found["dE_total/dout_o2"].kind == "decimal point missing"


def _plain(latex: str) -> str:
    """A line of the deck's LaTeX as plain names: \\frac{\\partial E_{o_1}}{\\partial net_{h_1}} -> dEo1/dneth1."""
    text = latex
    for _ in range(3):
        text = re.sub(r"\\frac\{\\partial ((?:[^{}]|\{[^{}]*\})*)\}\{\\partial ((?:[^{}]|\{[^{}]*\})*)\}", r"d\1/d\2", text)
    return re.sub(r"[\s_{}$]|\\text|\\mathrm", "", text)


TITLE = re.compile(r"^(Step by step Backpropagation|Our Neural Network|Our Goal|Our neural network|Feed forward|"
                   r"Calculating|The backward pass|Difference in one run|After 10000|Thanks)")


def test_every_label_slip_is_where_it_says():
    lines = DECK_TEXT.read_text().splitlines()
    titles = [(n, line) for n, line in enumerate(lines, start=1) if TITLE.match(line)]
    assert len(LABEL_SLIPS) == 9
    for slip in LABEL_SLIPS:
        first = slip.lines[0]
        number, title = max((t for t in titles if t[0] <= first), key=lambda t: t[0])
        assert (slip.slide, slip.title) == (titles.index((number, title)) + 1, title), slip
        assert _plain(slip.writes) in _plain(lines[first - 1]), (slip, lines[first - 1])
        label = slip.writes.split(" = ")[0] or slip.writes
        for n in slip.lines[1:]:
            assert _plain(label) in _plain(lines[n - 1]), (slip, lines[n - 1])
        assert _plain(slip.means) not in _plain(lines[first - 1])
        assert slip.quantity in stepgrad.explain(stepgrad.builtin()).values
