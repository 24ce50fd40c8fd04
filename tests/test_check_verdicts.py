"""stepgrad check: verdicts and diagnoses against hand-made solutions.

The reference numbers come from `deck_step` below: the seed network's step written out by hand in
plain Python (no stepgrad code), and every deliberate mistake is computed here the way a student
would make it.
"""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, Decimal

import pytest

import stepgrad
from stepgrad.teach.check import check, loads

ETA = 0.5


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def deck_step(order: str = "synchronous") -> dict[str, float]:
    """The seed deck's training step by hand (independent of stepgrad)."""
    i1, i2, t1, t2, b1, b2 = 0.05, 0.10, 0.01, 0.99, 0.35, 0.60
    w = {1: 0.15, 2: 0.20, 3: 0.25, 4: 0.30, 5: 0.40, 6: 0.45, 7: 0.50, 8: 0.55}
    v: dict[str, float] = {}

    def forward(w, plus=""):
        v["net_h1" + plus] = w[1] * i1 + w[2] * i2 + b1
        v["net_h2" + plus] = w[3] * i1 + w[4] * i2 + b1
        h1, h2 = sigmoid(v["net_h1" + plus]), sigmoid(v["net_h2" + plus])
        v["out_h1" + plus], v["out_h2" + plus] = h1, h2
        v["net_o1" + plus] = w[5] * h1 + w[6] * h2 + b2
        v["net_o2" + plus] = w[7] * h1 + w[8] * h2 + b2
        o1, o2 = sigmoid(v["net_o1" + plus]), sigmoid(v["net_o2" + plus])
        v["out_o1" + plus], v["out_o2" + plus] = o1, o2
        v["E_o1" + plus], v["E_o2" + plus] = 0.5 * (t1 - o1) ** 2, 0.5 * (t2 - o2) ** 2
        v["E_total" + plus] = v["E_o1" + plus] + v["E_o2" + plus]

    forward(w)
    h1, h2, o1, o2 = v["out_h1"], v["out_h2"], v["out_o1"], v["out_o2"]
    v["dE_total/dout_o1"], v["dE_total/dout_o2"] = o1 - t1, o2 - t2
    v["dout_o1/dnet_o1"], v["dout_o2/dnet_o2"] = o1 * (1 - o1), o2 * (1 - o2)
    d1 = v["dE_o1/dnet_o1"] = v["dE_total/dout_o1"] * v["dout_o1/dnet_o1"]
    d2 = v["dE_o2/dnet_o2"] = v["dE_total/dout_o2"] * v["dout_o2/dnet_o2"]
    grads = {5: d1 * h1, 6: d1 * h2, 7: d2 * h1, 8: d2 * h2}
    new = {k: w[k] - ETA * grads[k] for k in (5, 6, 7, 8)}
    down = new if order == "sequential" else w
    v["dE_total/dout_h1"] = d1 * down[5] + d2 * down[7]
    v["dE_total/dout_h2"] = d1 * down[6] + d2 * down[8]
    v["dout_h1/dnet_h1"], v["dout_h2/dnet_h2"] = h1 * (1 - h1), h2 * (1 - h2)
    e1 = v["dE_total/dout_h1"] * v["dout_h1/dnet_h1"]
    e2 = v["dE_total/dout_h2"] * v["dout_h2/dnet_h2"]
    grads.update({1: e1 * i1, 2: e1 * i2, 3: e2 * i1, 4: e2 * i2})
    new.update({k: w[k] - ETA * grads[k] for k in (1, 2, 3, 4)})
    for k in range(1, 9):
        v[f"dE_total/dw{k}"] = grads[k]
        v[f"w{k}+"] = new[k]
    forward(new, "+")
    return v


def significant(x: float, digits: int, truncate: bool = False) -> str:
    if not truncate:
        return f"{x:.{digits}g}"
    d = Decimal(f"{x:.15g}")  # the digits a calculator shows
    quantum = Decimal(1).scaleb(d.adjusted() - digits + 1)
    return str(d.quantize(quantum, ROUND_DOWN))


def verdicts(text: str, **kw) -> dict[str, tuple[str, str | None]]:
    report = check(stepgrad.builtin(), loads(text), **kw)
    return {r.name: (r.verdict, r.mistake) for r in report.results}


@pytest.mark.parametrize("digits", [4, 6, 9])
@pytest.mark.parametrize("truncate", [False, True])
def test_a_correct_solution_is_all_correct(digits, truncate):
    values = deck_step()
    text = "\n".join(f"{n} = {significant(x, digits, truncate)}" for n, x in values.items())
    result = verdicts(text)
    assert len(result) == len(values)
    assert {n: v for n, (v, _) in result.items() if v != "correct"} == {}


def test_the_deck_published_figures_are_correct():
    text = """out_h1 = 0.593269992
dE_total/dw5 = 0.082167041
w5+ = 0.35891648
E_total = 0.298371109
dE_total/dw1 = 0.000438568"""
    assert {v for v, _ in verdicts(text).values()} == {"correct"}


def _mistakes() -> list[tuple[str, str, str]]:
    """(name, value a student writes, expected diagnosis), each mistake made by hand."""
    v = deck_step()
    seq = deck_step("sequential")
    h1, h2, o1 = v["out_h1"], v["out_h2"], v["out_o1"]
    return [
        ("dE_total/dout_o2", "-21707153", "power_of_ten"),  # the deck's dropped decimal point
        ("dE_total/dw5", f"{v['dE_total/dw5'] * 10:.6g}", "power_of_ten"),
        ("dE_total/dout_o1", f"{-(o1 - 0.01):.6g}", "flipped_sign"),
        ("w5+", f"{0.4 + 0.5 * v['dE_total/dw5']:.6g}", "flipped_sign"),  # added instead of subtracted
        ("dE_total/dw5", f"{(o1 - 0.01) * h1:.6g}", "missing_derivative"),
        ("dE_total/dnet_h1", f"{v['dE_total/dout_h1']:.6g}", "missing_derivative"),
        ("net_h1", f"{0.15 * 0.05 + 0.25 * 0.10 + 0.35:.6g}", "wrong_edge"),  # w3 instead of w2
        ("dnet_o2/dout_h1", "0.55", "wrong_edge"),  # w8 instead of w7
        ("dE_total/dw6", f"{v['dE_o1/dnet_o1'] * h1:.6g}", "wrong_edge"),  # out_h1 instead of out_h2
        ("dnet_o1/dout_h1", f"{v['w5+']:.8g}", "old_new_weights"),  # w5+ instead of w5
        ("E_total+", "0.291027924", "old_new_weights"),  # the deck's: the sequential order's value
        ("dE_total/dw1", f"{seq['dE_total/dw1']:.9g}", "old_new_weights"),
        ("w5+", f"{0.4 - 0.1 * v['dE_total/dw5']:.6g}", "learning_rate"),
        ("w1+", f"{0.15 - 0.05 * v['dE_total/dw1']:.9g}", "learning_rate"),
        ("net_o1", f"{0.4 * h1 + 0.45 * h2:.6g}", "forgotten_bias"),
        ("net_h2", f"{0.25 * 0.05 + 0.30 * 0.10:.6g}", "forgotten_bias"),
        ("dout_o1/dnet_o1", f"{0.01 * (1 - 0.01):.6g}", "target_output_swap"),
        ("E_o1", f"{(0.01 - o1) ** 2:.6g}", "dropped_half"),
        ("E_total", f"{(0.01 - o1) ** 2 + (0.99 - v['out_o2']) ** 2:.6g}", "dropped_half"),
        ("dE_total/dw3", "0.00043856", "wrong_neuron"),  # the deck's: w1's gradient
        ("dE_o1/dout_h1", "-0.01904911", "wrong_neuron"),  # the deck's label: it is dE_o2/dout_h1
        ("dE_total/dw2", f"{v['dE_total/dout_h1'] + v['dout_h1/dnet_h1'] + 0.1:.7g}", "sum_for_product"),
    ]


@pytest.mark.parametrize("name,given,kind", _mistakes(), ids=lambda x: x if isinstance(x, str) and "/" not in x else None)
def test_each_mistake_is_diagnosed(name, given, kind):
    result = verdicts(f"{name} = {given}")
    assert result[name] == ("wrong", kind)


def test_a_number_two_mistakes_explain_names_both():
    # with eta = 0.5, forgetting eta is the same as subtracting twice
    (r,) = check(stepgrad.builtin(), loads(f"w1+ = {0.15 - deck_step()['dE_total/dw1']:.9g}")).results
    assert r.mistake == "learning_rate" or "learning rate" in r.diagnosis


def test_diagnosis_says_what_and_gives_the_formula():
    report = check(stepgrad.builtin(), loads("E_total+ = 0.291027924\nw5+ = 0.39178"))
    by_name = {r.name: r for r in report.results}
    assert "sequential update order" in by_name["E_total+"].diagnosis
    assert "learning rate 0.1" in by_name["w5+"].diagnosis
    assert by_name["w5+"].formula == "w5+ = w5 - eta * dE_total/dw5"
    assert by_name["w5+"].expected == pytest.approx(deck_step()["w5+"], rel=1e-12)


def test_error_carried_forward_is_wrong_once_then_follows():
    v = deck_step()
    h1 = 0.61  # wrong
    net_o1 = 0.4 * h1 + 0.45 * v["out_h2"] + 0.6
    o1 = sigmoid(net_o1)
    g = o1 - 0.01
    d = o1 * (1 - o1)
    grad = g * d * h1
    text = f"""out_h1 = {h1}
net_o1 = {net_o1:.7f}
out_o1 = {o1:.7f}
dE_total/dout_o1 = {g:.7f}
dout_o1/dnet_o1 = {d:.7f}
dE_total/dw5 = {grad:.8f}
w5+ = {0.4 - 0.5 * grad:.7f}
"""
    result = verdicts(text)
    assert result.pop("out_h1") == ("wrong", None)
    assert {v for v, _ in result.values()} == {"follows"}


def test_follows_uses_values_the_student_did_not_write_down():
    """Skipped steps are recomputed from the student's own earlier values."""
    h1 = 0.61
    o1 = sigmoid(0.4 * h1 + 0.45 * deck_step()["out_h2"] + 0.6)
    assert verdicts(f"out_h1 = {h1}\nout_o1 = {o1:.6f}")["out_o1"] == ("follows", None)


def test_rounding_drift_is_close_with_its_relative_error():
    report = check(stepgrad.builtin(), loads("out_o1 = 0.7512"))  # exact 0.75136507
    (r,) = report.results
    assert r.verdict == "close"
    exact = deck_step()["out_o1"]
    assert r.relative_error == pytest.approx(abs(0.7512 - exact) / exact, rel=1e-9)


def test_one_unit_off_in_the_last_digit_is_close():
    assert verdicts("out_h1 = 0.594")["out_h1"] == ("close", None)  # exact 0.593269992
    # a one-digit truncation may be correct work, too brief to tell: close, asking for more digits
    assert verdicts("out_h1 = 0.5")["out_h1"] == ("close", "too_few_digits")
    assert verdicts("out_h1 = 0.4")["out_h1"][0] == "wrong"
    assert verdicts("out_h1 = 0.59")["out_h1"][0] == "correct"
    assert verdicts("w5 = 0.04")["w5"] == ("wrong", "power_of_ten")  # a given number copied wrong


def test_an_unexplained_value_is_wrong_without_diagnosis():
    (r,) = check(stepgrad.builtin(), loads("out_o1 = 0.4321")).results
    assert (r.verdict, r.diagnosis) == ("wrong", None)
    assert r.expected_from_own == pytest.approx(deck_step()["out_o1"])


def test_unknown_names_get_the_closest_valid_names():
    (r,) = check(stepgrad.builtin(), loads("out_hl = 0.59")).results
    assert r.verdict == "unknown"
    assert "out_h1" in r.diagnosis


def test_a_value_rounded_to_nothing_is_not_correct():
    assert verdicts("dE_total/dw1 = 0.00")["dE_total/dw1"][0] != "correct"
    assert verdicts("dE_total/dw1 = 0.0004")["dE_total/dw1"] == ("close", "too_few_digits")  # one digit
    assert verdicts("dE_total/dw1 = 0.00044")["dE_total/dw1"][0] == "correct"


def test_sequential_order_check():
    seq = deck_step("sequential")
    text = f"dE_total/dw1 = {seq['dE_total/dw1']:.9g}\nE_total+ = {seq['E_total+']:.9g}"
    assert {v for v, _ in verdicts(text, update_order="sequential").values()} == {"correct"}
    assert verdicts(f"E_total+ = {deck_step()['E_total+']:.9g}", update_order="sequential")["E_total+"] == ("wrong", "old_new_weights")
