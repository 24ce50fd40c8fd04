"""Realistic student solutions, one known mistake each, and the verdicts a careful marker gives.

Every solution is worked out here in plain Python, the way a student works the seed deck's step by
hand: one quantity after another, each from the values already written (no stepgrad code). A slip
changes one quantity and everything after it uses the changed value, as on paper. The marker's
verdicts: the slip is wrong with its diagnosis; what follows from it is "follows" (error carried
forward, along the route the student took); nothing else is wrong.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable

import pytest

import stepgrad
from stepgrad.core.spec import Network
from stepgrad.teach.check import Rules, check, loads

DECK = {"i1": 0.05, "i2": 0.10, "target_o1": 0.01, "target_o2": 0.99, "b1": 0.35, "b2": 0.60, "eta": 0.5,
        "w1": 0.15, "w2": 0.20, "w3": 0.25, "w4": 0.30, "w5": 0.40, "w6": 0.45, "w7": 0.50, "w8": 0.55}
SIGMOID = (lambda x: 1 / (1 + math.exp(-x)), lambda out: out * (1 - out))
TANH = (math.tanh, lambda out: 1 - out * out)
EDGES = {"h1": ("w1", "w2"), "h2": ("w3", "w4"), "o1": ("w5", "w6"), "o2": ("w7", "w8")}
Slip = Callable[[str, float, dict], float]


def by_hand(slip: Slip | None = None, activation=SIGMOID, via_delta: bool = False,
            given: dict[str, float] = DECK) -> dict[str, float]:
    """The step as written on paper; `slip(name, value, so_far)` may replace one value (carried on)."""
    f, df = activation
    v = dict(given)

    def put(name: str, value: float) -> float:
        v[name] = slip(name, value, v) if slip else value
        return v[name]

    def forward(plus: str = "") -> None:
        for h, (a, b) in (("h1", EDGES["h1"]), ("h2", EDGES["h2"])):
            put(f"net_{h}{plus}", v[a + plus] * v["i1"] + v[b + plus] * v["i2"] + v["b1"])
        for h in ("h1", "h2"):
            put(f"out_{h}{plus}", f(v[f"net_{h}{plus}"]))
        for o, (a, b) in (("o1", EDGES["o1"]), ("o2", EDGES["o2"])):
            put(f"net_{o}{plus}", v[a + plus] * v[f"out_h1{plus}"] + v[b + plus] * v[f"out_h2{plus}"] + v["b2"])
        for o in ("o1", "o2"):
            put(f"out_{o}{plus}", f(v[f"net_{o}{plus}"]))
        for o in ("o1", "o2"):
            put(f"E_{o}{plus}", 0.5 * (v[f"target_{o}"] - v[f"out_{o}{plus}"]) ** 2)
        put(f"E_total{plus}", v[f"E_o1{plus}"] + v[f"E_o2{plus}"])

    forward()
    for o in ("o1", "o2"):
        put(f"dE_total/dout_{o}", -(v[f"target_{o}"] - v[f"out_{o}"]))
        put(f"dout_{o}/dnet_{o}", df(v[f"out_{o}"]))
        put(f"dE_{o}/dnet_{o}", v[f"dE_total/dout_{o}"] * v[f"dout_{o}/dnet_{o}"])
    for o, weights in (("o1", EDGES["o1"]), ("o2", EDGES["o2"])):
        for w, h in zip(weights, ("h1", "h2")):
            put(f"dnet_{o}/d{w}", v[f"out_{h}"])
            chain = v[f"dE_{o}/dnet_{o}"] if via_delta else v[f"dE_total/dout_{o}"] * v[f"dout_{o}/dnet_{o}"]
            put(f"dE_total/d{w}", chain * v[f"dnet_{o}/d{w}"])
    for h, (to_o1, to_o2) in (("h1", ("w5", "w7")), ("h2", ("w6", "w8"))):
        for o, w in (("o1", to_o1), ("o2", to_o2)):
            put(f"dnet_{o}/dout_{h}", v[w])
            put(f"dE_{o}/dout_{h}", v[f"dE_{o}/dnet_{o}"] * v[f"dnet_{o}/dout_{h}"])
        put(f"dE_total/dout_{h}", v[f"dE_o1/dout_{h}"] + v[f"dE_o2/dout_{h}"])
        put(f"dout_{h}/dnet_{h}", df(v[f"out_{h}"]))
        put(f"dE_total/dnet_{h}", v[f"dE_total/dout_{h}"] * v[f"dout_{h}/dnet_{h}"])
    for h, weights in (("h1", EDGES["h1"]), ("h2", EDGES["h2"])):
        for w, i in zip(weights, ("i1", "i2")):
            put(f"dnet_{h}/d{w}", v[i])
            chain = v[f"dE_total/dnet_{h}"] if via_delta else v[f"dE_total/dout_{h}"] * v[f"dout_{h}/dnet_{h}"]
            put(f"dE_total/d{w}", chain * v[f"dnet_{h}/d{w}"])
    for k in range(1, 9):
        put(f"w{k}+", v[f"w{k}"] - v["eta"] * v[f"dE_total/dw{k}"])
    forward("+")
    return {k: x for k, x in v.items() if k not in given}


def written(values: dict[str, float], digits: int = 6) -> str:
    return "\n".join(f"{name} = {x:.{digits}g}" for name, x in values.items())


def at(target: str, mistaken: Callable[[float, dict], float]) -> Slip:
    return lambda name, value, v: mistaken(value, v) if name == target else value


def tanh_network() -> Network:
    spec = stepgrad.builtin().to_dict()
    spec.pop("activations", None)
    spec["activation"] = "tanh"
    return Network.from_dict(spec, "<tanh deck>")


# (case, slip, by_hand options, network, the slipped quantity, its diagnosis, quantities that must follow)
CASES = [
    ("sign of the error derivative flipped", at("dE_total/dout_o1", lambda x, v: -x), {}, None,
     "dE_total/dout_o1", "flipped_sign", ["dE_o1/dnet_o1", "dE_total/dw5", "w5+"]),
    ("delta without the activation derivative, then delta times input",
     at("dE_o1/dnet_o1", lambda x, v: v["dE_total/dout_o1"]), {"via_delta": True}, None,
     "dE_o1/dnet_o1", "missing_derivative", ["dE_total/dw5", "dE_total/dw6", "w5+", "dE_o1/dout_h1"]),
    ("half dropped in the error", at("E_o1", lambda x, v: 2 * x), {}, None, "E_o1", "dropped_half", ["E_total"]),
    ("the other output weight for the hidden path", at("dnet_o1/dout_h1", lambda x, v: v["w6"]), {}, None,
     "dnet_o1/dout_h1", "wrong_edge", ["dE_o1/dout_h1", "dE_total/dout_h1", "dE_total/dnet_h1"]),
    ("bias forgotten", at("net_h1", lambda x, v: x - v["b1"]), {}, None,
     "net_h1", "forgotten_bias", ["out_h1", "net_o1", "out_o1", "E_total"]),
    ("old weight in the forward pass after the update",
     at("net_o1+", lambda x, v: v["w5"] * v["out_h1+"] + v["w6+"] * v["out_h2+"] + v["b2"]), {}, None,
     "net_o1+", "old_new_weights", ["out_o1+", "E_o1+", "E_total+"]),
    ("learning rate forgotten", at("w5+", lambda x, v: v["w5"] - v["dE_total/dw5"]), {}, None,
     "w5+", "learning_rate", ["net_o1+"]),
    ("target used for out in the derivative",
     at("dout_o1/dnet_o1", lambda x, v: v["target_o1"] * (1 - v["target_o1"])), {}, None,
     "dout_o1/dnet_o1", "target_output_swap", ["dE_o1/dnet_o1", "dE_total/dw5"]),
    ("o1's derivative copied for o2", at("dout_o2/dnet_o2", lambda x, v: v["dout_o1/dnet_o1"]), {}, None,
     "dout_o2/dnet_o2", "wrong_neuron", ["dE_o2/dnet_o2", "dE_total/dw7"]),
    ("one path only for h1", at("dE_total/dout_h1", lambda x, v: v["dE_o1/dout_h1"]), {}, None,
     "dE_total/dout_h1", "one_path", ["dE_total/dnet_h1", "dE_total/dw1", "w1+"]),
    ("net where out is needed", at("dnet_o1/dw5", lambda x, v: v["net_h1"]), {}, None,
     "dnet_o1/dw5", "net_for_out", ["dE_total/dw5", "w5+"]),
    ("sigmoid's derivative in a tanh network",
     at("dout_h1/dnet_h1", lambda x, v: v["out_h1"] * (1 - v["out_h1"])), {"activation": TANH}, tanh_network,
     "dout_h1/dnet_h1", "wrong_activation_derivative", ["dE_total/dnet_h1", "dE_total/dw1"]),
    ("factors added instead of multiplied",
     at("dE_o2/dnet_o2", lambda x, v: v["dE_total/dout_o2"] + v["dout_o2/dnet_o2"]), {}, None,
     "dE_o2/dnet_o2", "sum_for_product", ["dE_o2/dout_h1"]),
    ("a decimal point moved", at("dE_total/dw1", lambda x, v: 10 * x), {}, None,
     "dE_total/dw1", "power_of_ten", ["w1+"]),  # net_h1+ is within 0.03 % of exact: close, full credit
    ("the updated weight in the hidden layer's delta",
     at("dnet_o1/dout_h2", lambda x, v: v["w6"] - v["eta"] * v["dE_total/dw6"]), {}, None, "dnet_o1/dout_h2", "old_new_weights",
     ["dE_o1/dout_h2", "dE_total/dout_h2"]),
    ("a slip in the hidden delta, then delta times input",
     at("dE_total/dnet_h2", lambda x, v: -x), {"via_delta": True}, None,
     "dE_total/dnet_h2", "flipped_sign", ["dE_total/dw3", "dE_total/dw4", "w3+", "w4+"]),
    ("h2's net used for h1", at("out_h1", lambda x, v: 1 / (1 + math.exp(-v["net_h2"]))), {}, None,
     "out_h1", "wrong_neuron", ["net_o1", "dnet_o1/dw5"]),
    ("the error derivative as out minus target squared",
     at("dE_total/dout_o2", lambda x, v: -2 * (v["target_o2"] - v["out_o2"])), {}, None,
     "dE_total/dout_o2", "dropped_half", ["dE_o2/dnet_o2", "dE_total/dw8"]),
    ("w7 for w8 in the forward pass", at("net_o2", lambda x, v: v["w7"] * v["out_h1"] + v["w7"] * v["out_h2"] + v["b2"]),
     {}, None, "net_o2", "wrong_edge", ["out_o2", "E_o2"]),
    ("out_h2 for out_h1 in the update gradient", at("dnet_o2/dw7", lambda x, v: v["out_h2"]), {}, None,
     "dnet_o2/dw7", "wrong_edge", ["dE_total/dw7", "w7+"]),
]


@pytest.mark.parametrize("case,slip,options,network,slipped,mistake,follows", CASES, ids=[c[0] for c in CASES])
def test_one_known_mistake_gets_its_diagnosis_and_the_rest_is_credited(case, slip, options, network, slipped,
                                                                        mistake, follows):
    net = network() if network else stepgrad.builtin()
    report = check(net, loads(written(by_hand(slip, **options))))
    by = {r.name: r for r in report.results}
    assert (by[slipped].verdict, by[slipped].mistake) == ("wrong", mistake), by[slipped].diagnosis
    for name in follows:
        assert by[name].verdict == "follows", (name, by[name])
    assert [r.name for r in report.results if r.verdict == "wrong"] == [slipped]
    assert not report.ok


def test_the_textbook_route_is_credited_and_named():
    slip = at("dE_o1/dnet_o1", lambda x, v: 1.1 * x)
    report = check(stepgrad.builtin(), loads(written(by_hand(slip, via_delta=True))))
    by = {r.name: r for r in report.results}
    assert by["dE_total/dw5"].verdict == "follows"
    assert by["dE_total/dw5"].route.startswith("δ·input: dE_o1/dnet_o1")
    assert by["dE_o1/dout_h1"].route == "chain"  # δ·w is the derivation's own formula there
    assert report.to_dict()["results"][[r.name for r in report.results].index("dE_total/dw5")]["route"]


def test_a_correct_solution_passes_both_ways():
    for via_delta in (False, True):
        report = check(stepgrad.builtin(), loads(written(by_hand(via_delta=via_delta))))
        assert report.ok and report.counts["correct"] == len(report.results)


def test_forgetting_eta_names_both_readings():
    report = check(stepgrad.builtin(), loads(written(by_hand(at("w5+", lambda x, v: v["w5"] - v["dE_total/dw5"])))))
    text = next(r.diagnosis for r in report.results if r.name == "w5+")
    assert "eta left out" in text and "subtracted twice" in text


@pytest.mark.parametrize("text,name,mistake", [
    ("dnet_h1/dw1 = 0.1", "dnet_h1/dw1", "wrong_edge"),  # i2 = 0.1 in full; i1 = 0.05 only rounded half up
    ("w6 = 0.5", "w6", "wrong_edge"),  # w7 copied for w6 = 0.45
])
def test_a_value_too_brief_to_tell_from_a_known_mistake_is_close_and_names_it(text, name, mistake):
    # consistent with the exact value at the precision written: never wrong, but the reading is named
    (result,) = check(stepgrad.builtin(), loads(text)).results
    assert (result.verdict, result.mistake) == ("close", mistake)
    assert "too brief" in result.diagnosis


@pytest.mark.parametrize("text", [
    "out_h1 = 0.6",  # out_h2 = 0.597 rounds alike, but so does out_h1 = 0.593: no reading, too few digits
    "E_total = 0.3", "dE_total/dw1 = 0.0004",
])
def test_one_significant_digit_is_close_without_an_invented_mistake(text):
    (result,) = check(stepgrad.builtin(), loads(text)).results
    assert (result.verdict, result.mistake) == ("close", "too_few_digits"), result.diagnosis
    assert "3 or more" in result.diagnosis


@pytest.mark.parametrize("text", [
    "net_h1 = 0.38",  # 0.3775 at two decimals, though w2 for w1 gives 0.38 exactly
    "w1+ = 0.15",  # 0.14978 at two decimals; eta 0.1 gives 0.14996, rounding alike says nothing
])
def test_two_digits_that_a_mistake_also_gives_are_still_correct_work(text):
    (result,) = check(stepgrad.builtin(), loads(text)).results
    assert (result.verdict, result.mistake) == ("correct", None)


def test_a_brief_slip_is_close_with_its_reading_and_what_follows_only_follows():
    # i2 = 0.1 for dnet_h1/dw1 (i1 = 0.05): 0.1 is also 0.05 rounded to one decimal
    report = check(stepgrad.builtin(), loads(written(by_hand(at("dnet_h1/dw1", lambda x, v: v["i2"])))))
    by = {r.name: r for r in report.results}
    assert (by["dnet_h1/dw1"].verdict, by["dnet_h1/dw1"].mistake) == ("close", "wrong_edge")
    assert by["dE_total/dw1"].verdict == by["w1+"].verdict == "follows"  # not "correct": the 0.1 was i2


def test_brief_but_unambiguous_values_stay_correct():
    text = "w5+ = 0.36\nout_o1 = 0.75\nnet_o1 = 1.1\ndE_total/dw5 = 0.082"
    report = check(stepgrad.builtin(), loads(text))
    assert [r.verdict for r in report.results] == ["correct"] * 4


def test_min_digits_makes_a_short_value_close_but_not_an_exact_one():
    text = "out_h1 = 0.593\nnet_h1 = 0.3775\ndnet_h1/dw1 = 0.05"
    report = check(stepgrad.builtin(), loads(text), rules=Rules(min_digits=4))
    by = {r.name: r for r in report.results}
    assert (by["out_h1"].verdict, by["out_h1"].mistake) == ("close", "too_few_digits")
    assert by["net_h1"].verdict == by["dnet_h1/dw1"].verdict == "correct"  # written in full


def test_a_trivial_earlier_answer_does_not_make_later_ones_free():
    slip = at("out_o1", lambda x, v: 1.0)  # then out(1 - out) = 0, every o1 gradient 0, w5+ = w5
    text = written(by_hand(slip)).replace("out_o1 = 1\n", "out_o1 = 1.00000\n")
    report = check(stepgrad.builtin(), loads(text))
    by = {r.name: r for r in report.results}
    assert by["out_o1"].verdict == "wrong"
    for name in ("dout_o1/dnet_o1", "dE_o1/dnet_o1", "dE_total/dw5", "w5+"):
        assert by[name].verdict != "follows", name
    assert by["dE_total/dout_o1"].verdict == "follows"  # 1 - 0.01 is a real carried error


def test_blank_and_template_only_submissions_fail():
    template = "# my homework\nout_h1 =\nnet_o1 =\ndE_total/dw5 =\n"
    for text in ("", "# nothing yet\n", template):
        report = check(stepgrad.builtin(), loads(text))
        assert not report.ok
        assert report.counts["unanswered"] > 0 and "unanswered" in report.summary()
        assert report.to_dict()["summary"]["unanswered"] == report.counts["unanswered"]
    half = check(stepgrad.builtin(), loads("out_h1 = 0.593270\nnet_o1 =\n"))
    assert half.counts == {**half.counts, "correct": 1, "unanswered": 1} and not half.ok


def test_every_unreadable_line_is_reported_and_the_rest_is_marked():
    text = "out_h1 = 0,5,93\nnet_h1 = 0.3775\nout_o1 ≈ 0.75\nE_o1 = 0.2748 (rounded)\nE_total = 0.298371\n"
    report = check(stepgrad.builtin(), loads(text, lenient=True))
    unreadable = [r for r in report.results if r.verdict == "unreadable"]
    assert [r.line for r in unreadable] == [1, 3, 4]
    assert {r.name: r.verdict for r in report.results if r.name} == {"net_h1": "correct", "E_total": "correct"}
    comma = check(stepgrad.builtin(), loads("out_h1 = 0,593\n", lenient=True))  # a decimal comma is read
    assert [r.verdict for r in comma.results] == ["correct"]
    assert not report.ok and "3 unreadable" in report.summary()


def test_order_given_keeps_the_students_order():
    text = "dE_total/dw5 = 0.0821670\nout_h1 = 0.593270\nnet_h1 = 0.3775\n"
    given = check(stepgrad.builtin(), loads(text), rules=Rules(order="given"))
    assert [r.name for r in given.results] == ["dE_total/dw5", "out_h1", "net_h1"]
    derivation = check(stepgrad.builtin(), loads(text))
    assert [r.name for r in derivation.results] == ["net_h1", "out_h1", "dE_total/dw5"]


def test_a_hint_when_the_values_fit_another_network():
    spec = stepgrad.builtin().to_dict()
    spec["learning_rate"] = 0.1
    spec["weights"][0][0][0] = 0.16
    other = Network.from_dict(spec, "<other>")
    text = written(by_hand())
    report = check(other, loads(text), alternatives={"the seed deck's network": stepgrad.builtin()})
    assert "fit the seed deck's network better" in report.meta["hint"]
    assert "hint" not in check(stepgrad.builtin(), loads(text), alternatives={"x": other}).meta


def test_a_batch_summed_instead_of_averaged_is_diagnosed():
    spec = stepgrad.builtin().to_dict()
    spec["samples"] = [{"inputs": [0.05, 0.1], "targets": [0.01, 0.99]}, {"inputs": [0.2, 0.3], "targets": [0.5, 0.6]}]
    spec.pop("inputs", None)
    spec.pop("targets", None)
    net = Network.from_dict(spec, "<batch>")
    per_sample = []
    for inputs, targets in (((0.05, 0.1), (0.01, 0.99)), ((0.2, 0.3), (0.5, 0.6))):
        given = {**DECK, "i1": inputs[0], "i2": inputs[1], "target_o1": targets[0], "target_o2": targets[1]}
        per_sample.append(by_hand(given=given)["dE_total/dw5"])
    report = check(net, loads(f"dE_total/dw5 = {sum(per_sample):.6g}\nw5+ = {0.4 - 0.5 * sum(per_sample) / 2:.6g}"))
    by = {r.name: r for r in report.results}
    assert (by["dE_total/dw5"].verdict, by["dE_total/dw5"].mistake) == ("wrong", "batch_summed")
    assert by["w5+"].verdict == "correct"


@pytest.mark.parametrize("name,text,line", [
    ("bad.txt", "out_h1 = 0.59\nnet_o1: 1.1\n", 2),
    ("dup.txt", "# x\nout_h1 = 0.59\nout_h1 = 0.6\n", 3),
    ("nan.txt", "out_h1 = 0.59\nout_o1 = NaN\n", 2),
])
def test_cli_reports_a_bad_line_and_marks_the_rest(tmp_path, name, text, line):
    path = tmp_path / name
    path.write_text(text)
    proc = subprocess.run([sys.executable, "-m", "stepgrad", "check", str(path), "--format", "json"],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    data = json.loads(proc.stdout)
    assert [r["line"] for r in data["results"] if r["verdict"] == "unreadable"] == [line]
    assert data["summary"]["unreadable"] == 1 and data["summary"]["correct"] == 1
