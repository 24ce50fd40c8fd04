"""Every common mistake gets its name: one planted slip per solution, computed here the way a student makes it.

Each student (rounded_students.solve) works the step in plain Python on their own rounded values; the
slip replaces one value by what the mistaken computation gives (written out below, not taken from
stepgrad), and every later value is computed from it. The marker's verdicts: the slip is wrong with
exactly that diagnosis, nothing else is wrong, and a correct solution of the same network never gets it.
"""

from __future__ import annotations

import math

import pytest

import rounded_students as students
import stepgrad
from stepgrad.teach.check import check, loads


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _deck_with_biases():
    spec = stepgrad.builtin().to_dict()
    spec["update_biases"] = True
    return stepgrad.Network.from_dict(spec, "<deck, biases updated>")


def _first(net, test) -> str:
    return next(s.name for s in stepgrad.explain(net) if test(s))


def _relu_dead_derivative(net):
    values = stepgrad.explain(net).values
    name = _first(net, lambda s: s.name.startswith("dout_h") and values[s.name.split("/d")[1]] < 0)
    return name, lambda v, x: 1.0  # the slope of the positive side


def _relu_not_applied(net):
    values = stepgrad.explain(net).values
    name = _first(net, lambda s: s.name.startswith("out_h") and values["net" + s.name[3:]] < 0)
    return name, lambda v, x: v["net" + name[3:]]


def _eta_twice(net):
    return "w3+", lambda v, x: v["w3"] - v["eta"] * v["eta"] * v["dE_total/dw3"]


def _softmax_signal(net):
    name = "dE_total/dnet_o1[1]"
    return name, lambda v, x: (v["out_o1[1]"] - v["target_o1[1]"]) * v["out_o1[1]"] * (1 - v["out_o1[1]"])


def _sigmoid_for_softmax(net):
    return "out_o2[2]", lambda v, x: _sigmoid(v["net_o2[2]"])


def _one_sample(net):
    return "dE_total/dw6", lambda v, x: v["dE_total/dw6[2]"]


def _shared_bias(net):
    return "dE_total/db2", lambda v, x: v["dE_o1/dnet_o1"]


def _own_output(net):
    return "dnet_o1/dw6", lambda v, x: v["out_o1"]


def _transposed(net):
    return "dE_total/dw2", lambda v, x: v["dE_total/dout_h2"] * v["dout_h2/dnet_h2"] * v["i1"]


CASES = [  # (the mistake, network, the slip, the diagnosis)
    ("ReLU derivative 1 at a negative net", "2-3-3-1 relu, dead neurons", _relu_dead_derivative, "relu_negative_slope"),
    ("ReLU not applied", "2-3-3-1 relu, dead neurons", _relu_not_applied, "activation_not_applied"),
    ("learning rate applied twice (eta = 0.25)", "2-3-2 tanh, two hidden ReLU", _eta_twice, "learning_rate"),
    ("softmax error signal times out(1 - out)", "3-4-2 tanh/softmax CE, 2 samples", _softmax_signal,
     "softmax_signal_times_derivative"),
    ("sigmoid instead of softmax", "3-4-2 tanh/softmax CE, 2 samples", _sigmoid_for_softmax, "sigmoid_for_softmax"),
    ("only one sample of the batch", "2-2-2 batch of 2", _one_sample, "one_sample"),
    ("a shared bias's gradient from one neuron", "deck with biases", _shared_bias, "shared_bias_one_neuron"),
    ("the receiving neuron's output as the edge's input", "deck", _own_output, "own_output_as_input"),
    ("transposed weight numbering", "deck", _transposed, "transposed_numbering"),
]


def _network(key: str):
    return _deck_with_biases() if key == "deck with biases" else students.network(key)


@pytest.mark.parametrize("style", [("significant", 6), ("decimals", 4)], ids=["6 digits", "4 decimals"])
@pytest.mark.parametrize("case,key,slip,mistake", CASES, ids=[c[0] for c in CASES])
def test_each_planted_mistake_gets_exactly_its_diagnosis(case, key, slip, mistake, style):
    net = _network(key)
    slipped, wrongly = slip(net)

    def plant(name, v, value):
        return wrongly(v, value) if name == slipped else None

    text, wrote = students.solve(net, style, plant=plant)
    report = check(net, loads(text))
    by = {r.name: r for r in report.results}
    assert (by[slipped].verdict, by[slipped].mistake) == ("wrong", mistake), by[slipped]
    assert [r.name for r in report.results if r.verdict == "wrong"] == [slipped]
    assert not report.ok


@pytest.mark.parametrize("key", sorted({c[1] for c in CASES}))
def test_a_correct_solution_never_gets_these_diagnoses(key):
    net = _network(key)
    keys = {c[3] for c in CASES}
    for style in students.STYLES:
        text, _ = students.solve(net, style)
        named = [(r.name, r.mistake) for r in check(net, loads(text)).results if r.mistake in keys]
        assert not named, (style, named)


def test_learning_rate_twice_is_named_as_such():
    net = students.network("2-3-2 tanh, two hidden ReLU")
    slipped, wrongly = _eta_twice(net)
    text, _ = students.solve(net, ("significant", 6), plant=lambda n, v, x: wrongly(v, x) if n == slipped else None)
    result = next(r for r in check(net, loads(text)).results if r.name == slipped)
    assert "eta applied twice" in result.diagnosis and "0.0625" in result.diagnosis
