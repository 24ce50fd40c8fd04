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
    name = "dE_total[1]/dnet_o1[1]"
    return name, lambda v, x: (v["out_o1[1]"] - v["target_o1[1]"]) * v["out_o1[1]"] * (1 - v["out_o1[1]"])


def _sigmoid_for_softmax(net):
    return "out_o2[2]", lambda v, x: _sigmoid(v["net_o2[2]"])


def _one_sample(net):
    return "dE_total/dw6", lambda v, x: v["dE_total[2]/dw6"]


def _shared_bias(net):
    return "dE_total/db2", lambda v, x: v["dE_o1/dnet_o1"]


def _own_output(net):
    return "dnet_o1/dw6", lambda v, x: v["out_o1"]


def _transposed(net):
    return "dE_total/dw2", lambda v, x: v["dE_total/dout_h2"] * v["dout_h2/dnet_h2"] * v["i1"]


def _tanh_as_sigmoid_derivative(net):
    return "dout_h2[1]/dnet_h2[1]", lambda v, x: v["out_h2[1]"] * (1 - v["out_h2[1]"])


def _plus_for_minus(net):
    values = stepgrad.explain(net).values  # the weight with the largest gradient: + and - differ visibly
    weight = max((n for n in values if n.startswith("w") and not n.endswith("+")),
                 key=lambda n: abs(values[f"dE_total/d{n}"]))
    return f"{weight}+", lambda v, x: v[weight] + v["eta"] * v[f"dE_total/d{weight}"]


def _summed(net):
    return "dE_total/dw3", lambda v, x: v["dE_total[1]/dw3"] + v["dE_total[2]/dw3"]


def _no_half(net):
    return "dE_total/dout_o2", lambda v, x: -2 * (v["target_o2"] - v["out_o2"])


def _one_path(net):
    return "dE_total/dout_h2", lambda v, x: v["dE_o1/dout_h2"]


def _output_derivative_left_out(net):
    return "dE_o2/dnet_o2", lambda v, x: v["dE_total/dout_o2"]


def _wrong_neuron(net):
    return "dout_o2/dnet_o2", lambda v, x: v["out_o1"] * (1 - v["out_o1"])


CASES = [  # (the mistake, network, the slip, the diagnosis)
    ("tanh's derivative as out(1 - out)", "3-4-2 tanh/softmax CE, 2 samples", _tanh_as_sigmoid_derivative,
     "wrong_activation_derivative"),
    ("+ for - in the update", "3-3-2 sigmoid", _plus_for_minus, "flipped_sign"),
    ("the batch summed, not averaged", "2-2-2 batch of 2", _summed, "batch_summed"),
    ("the ½ dropped", "2-3-2 tanh, two hidden ReLU", _no_half, "dropped_half"),
    ("one path only for a hidden neuron", "3-3-2 sigmoid", _one_path, "one_path"),
    ("the output derivative left out", "8-6-4", _output_derivative_left_out, "missing_derivative"),
    ("o1's values for o2", "3-3-2 sigmoid", _wrong_neuron, "wrong_neuron"),
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


@pytest.mark.parametrize("style", students.STYLES, ids=[f"{k}-{n}" for k, n in students.STYLES])
@pytest.mark.parametrize("case,key,slip,mistake", CASES, ids=[c[0] for c in CASES])
def test_each_planted_mistake_gets_exactly_its_diagnosis(case, key, slip, mistake, style):
    net = _network(key)
    slipped, wrongly = slip(net)

    def plant(name, v, value):
        return wrongly(v, value) if name == slipped else None

    text, wrote = students.solve(net, style, plant=plant)
    report = check(net, loads(text))
    by = {r.name: r for r in report.results}
    if (by[slipped].verdict, by[slipped].mistake) == ("close", "too_few_digits"):
        # 0.03, 0.001, 0.000: one significant digit, consistent with correct work, cannot name a mistake
        assert len(wrote[slipped].replace("-", "").replace(".", "").strip("0")) <= 1, wrote[slipped]
        assert not [r.name for r in report.results if r.verdict == "wrong"]
        return
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
