"""Hand-calculation mode (--round K): every value rounded to K decimals and carried on, as by hand."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import pytest

import stepgrad
from conftest import run_cli
from stepgrad.teach.check import check, loads
from stepgrad.teach.check.formula import evaluate, parse


def by_hand(k: int) -> dict[str, float]:
    """The seed step computed as a person with a calculator does (independent of stepgrad)."""

    def r(x: float) -> float:
        return float(Decimal(f"{x:.15g}").quantize(Decimal(1).scaleb(-k), ROUND_HALF_UP))

    def sig(x: float) -> float:
        return 1 / (1 + math.exp(-x))

    i1, i2, t1, t2, b1, b2, eta = 0.05, 0.10, 0.01, 0.99, 0.35, 0.60, 0.5
    w = {1: 0.15, 2: 0.20, 3: 0.25, 4: 0.30, 5: 0.40, 6: 0.45, 7: 0.50, 8: 0.55}
    v: dict[str, float] = {}

    def forward(w, p=""):
        v["net_h1" + p] = r(w[1] * i1 + w[2] * i2 + b1)
        v["net_h2" + p] = r(w[3] * i1 + w[4] * i2 + b1)
        v["out_h1" + p], v["out_h2" + p] = r(sig(v["net_h1" + p])), r(sig(v["net_h2" + p]))
        v["net_o1" + p] = r(w[5] * v["out_h1" + p] + w[6] * v["out_h2" + p] + b2)
        v["net_o2" + p] = r(w[7] * v["out_h1" + p] + w[8] * v["out_h2" + p] + b2)
        v["out_o1" + p], v["out_o2" + p] = r(sig(v["net_o1" + p])), r(sig(v["net_o2" + p]))
        v["E_o1" + p] = r(0.5 * (t1 - v["out_o1" + p]) ** 2)
        v["E_o2" + p] = r(0.5 * (t2 - v["out_o2" + p]) ** 2)
        v["E_total" + p] = r(v["E_o1" + p] + v["E_o2" + p])

    forward(w)
    h1, h2, o1, o2 = v["out_h1"], v["out_h2"], v["out_o1"], v["out_o2"]
    g1, g2 = r(o1 - t1), r(o2 - t2)
    d1, d2 = r(o1 * (1 - o1)), r(o2 * (1 - o2))
    v["dE_total/dout_o1"], v["dout_o1/dnet_o1"], v["dE_o1/dnet_o1"] = g1, d1, r(g1 * d1)
    v["dE_total/dout_o2"], v["dout_o2/dnet_o2"], v["dE_o2/dnet_o2"] = g2, d2, r(g2 * d2)
    grads = {5: r(g1 * d1 * h1), 6: r(g1 * d1 * h2), 7: r(g2 * d2 * h1), 8: r(g2 * d2 * h2)}
    e1 = r(r(v["dE_o1/dnet_o1"] * w[5]) + r(v["dE_o2/dnet_o2"] * w[7]))
    e2 = r(r(v["dE_o1/dnet_o1"] * w[6]) + r(v["dE_o2/dnet_o2"] * w[8]))
    dh1, dh2 = r(h1 * (1 - h1)), r(h2 * (1 - h2))
    v["dE_total/dout_h1"], v["dE_total/dout_h2"] = e1, e2
    v["dE_total/dnet_h1"], v["dE_total/dnet_h2"] = r(e1 * dh1), r(e2 * dh2)
    grads.update({1: r(e1 * dh1 * i1), 2: r(e1 * dh1 * i2), 3: r(e2 * dh2 * i1), 4: r(e2 * dh2 * i2)})
    new = {n: r(w[n] - eta * grads[n]) for n in w}
    for n in w:
        v[f"dE_total/dw{n}"], v[f"w{n}+"] = grads[n], new[n]
    forward(new, "+")
    return v


@pytest.mark.parametrize("k", [2, 3, 4, 6])
def test_engine_rounds_like_a_person(k):
    trace = stepgrad.explain(stepgrad.builtin(), round_to=k)
    expected = by_hand(k)
    got = {n: trace.values[n] for n in expected}
    assert got == pytest.approx(expected, abs=1e-12)
    assert trace.meta["round_to"] == k


SPECS = [
    {"layers": [2, 3, 2], "activation": "tanh"},
    {"layers": [3, 2, 3], "activations": ["relu", "softmax"], "loss": "mean_squared_error"},
    {"layers": [2, 2, 2, 1], "update_biases": True, "biases": [[0.1, -0.2], 0.3, [0.05]]},
]


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("order", ["synchronous", "sequential"])
def test_every_value_is_its_formula_on_rounded_operands(spec, order):
    import numpy as np

    rng = np.random.default_rng(len(str(spec)))
    spec = dict(spec, seed=3, samples=[
        {"inputs": rng.uniform(0, 1, spec["layers"][0]).round(2).tolist(),
         "targets": rng.uniform(0.05, 0.95, spec["layers"][-1]).round(2).tolist()} for _ in range(2)])
    net = stepgrad.Network.from_dict(spec)
    net.weights = [w.round(2) for w in net.weights]  # given numbers are used as given, not rounded
    trace = stepgrad.explain(net, update_order=order, round_to=3)
    values = trace.values
    for step in trace:
        if step.text:
            x = evaluate(parse(step.text), values.__getitem__)
            want = float(Decimal(f"{x:.15g}").quantize(Decimal("0.001"), ROUND_HALF_UP))
            assert step.value == pytest.approx(want, abs=1e-12), step.name


def test_check_round_accepts_hand_values_and_exact_mode_does_not_call_them_wrong():
    text = "\n".join(f"{n} = {x:.4f}" for n, x in by_hand(4).items())
    rounded = check(stepgrad.builtin(), loads(text), round_to=4)
    assert rounded.counts["correct"] == len(rounded.results)
    exact = check(stepgrad.builtin(), loads(text))
    assert exact.counts["wrong"] == 0
    # the drift shows: values off the exact one are correct for the rounding carried from earlier values
    assert any(r.note and "rounding carried" in r.note for r in exact.results)


def test_cli_round():
    proc = run_cli("explain", "--round", "4", "--only", "out_h1", "--format", "json")
    assert proc.returncode == 0
    assert '"out_h1": 0.5933' in proc.stdout
    proc = run_cli("check", "-", "--round", "2", "--require", "none", input="out_h1 = 0.59\nnet_o1 = 1.11\n")
    assert proc.returncode == 0, proc.stdout
