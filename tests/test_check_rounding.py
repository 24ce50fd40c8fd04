"""Correct work rounded by hand is never marked wrong, and never given an invented mistake.

The students are simulated in rounded_students.py, independently of the checker: each value is
computed with plain Python from the student's own earlier, rounded values, then rounded (2-6
decimals, 3-6 significant digits, or truncated) and written with or without trailing zeros.
"""

from __future__ import annotations

import pytest

import rounded_students as students
import stepgrad
from gallery import SMALL
from gallery import network as gallery_network
from stepgrad.teach.check import check, loads
from stepgrad.teach.exercise import generate
from stepgrad.teach.quiz import Quiz

ALLOWED = ("correct", "follows", "close")


def _assert_never_wrong(report, what: str) -> None:
    bad = [(r.name, r.given, r.verdict, r.diagnosis) for r in report.results if r.verdict not in ALLOWED]
    assert not bad, (what, bad[:5])
    # no invented mistake on a value credited as correct or as following from the student's values
    invented = [(r.name, r.given, r.mistake) for r in report.results
                if r.verdict in ("correct", "follows") and r.mistake]
    assert not invented, (what, invented[:5])


@pytest.mark.parametrize("key", students.KEYS)
@pytest.mark.parametrize("style", students.STYLES, ids=[f"{k}-{n}" for k, n in students.STYLES])
def test_correct_work_rounded_at_every_step_is_never_wrong(key, style):
    net = students.network(key)
    for strip in (False, True):
        text, wrote = students.solve(net, style, strip)
        report = check(net, loads(text))
        assert len(report.results) == len(wrote)
        _assert_never_wrong(report, (key, style, strip))


@pytest.mark.parametrize("style", students.STYLES, ids=[f"{k}-{n}" for k, n in students.STYLES])
def test_nineteen_students_on_random_exercise_networks(style):
    shapes = [((2, 2, 2), "sigmoid", {}), ((2, 3, 1), "relu", {}), ((3, 2, 2), "tanh", {}),
              ((2, 2, 2), "sigmoid", {"samples": 2}), ((2, 3, 2), "tanh", {"output": "softmax", "loss": "cross_entropy"})]
    for student in range(19):
        layers, activation, options = shapes[student % len(shapes)]
        net = generate(layers, activation, seed=100 + student, **options).network
        text, _ = students.solve(net, style, strip=student % 2 == 1)
        _assert_never_wrong(check(net, loads(text)), (student, layers, activation, options))


def test_students_who_skip_intermediates_and_round_are_never_wrong():
    """Only the forward values, the gradients and the new weights written; the rest kept in the calculator."""
    def skip(name: str) -> bool:
        return name.startswith("d") and not name.startswith("dE_total/dw")

    for key in students.KEYS:
        net = students.network(key)
        for style in (("decimals", 3), ("significant", 4)):
            text, _ = students.solve(net, style, skip=skip)
            _assert_never_wrong(check(net, loads(text)), (key, style))


@pytest.mark.parametrize("key", SMALL)
@pytest.mark.parametrize("k", [2, 3, 4, 5, 6])
def test_readme_promise_a_round_k_solution_checked_without_round_is_never_wrong(key, k):
    net = gallery_network(key)
    trace = stepgrad.explain(net, round_to=k)
    text = "\n".join(f"{s.name} = {s.value:.{k}f}" for s in trace if s.text)
    _assert_never_wrong(check(net, loads(text)), (key, k))
    assert check(net, loads(text), round_to=k).counts["wrong"] == 0


def test_a_relu_derivative_of_one_passes_the_rounded_value_through():
    """The issue's example: dE_total/dout_h1 = 0.079 is right, so dE_total/dnet_h1 = 0.079 · 1 is right."""
    net = students.network("2-3-3-1 relu, dead neurons")
    text, wrote = students.solve(net, ("decimals", 3))
    report = check(net, loads(text))
    by = {r.name: r for r in report.results}
    live = [n for n in wrote if n.startswith("dout_h") and float(wrote[n]) == 1.0]
    assert live
    for name in live:
        top = name.split("/")[0].removeprefix("dout_")
        delta = f"dE_total/dnet_{top}"
        assert wrote[delta] == wrote[f"dE_total/dout_{top}"]
        assert by[delta].verdict in ("correct", "close") and by[delta].mistake in (None, "too_few_digits")


def test_one_significant_digit_is_close_and_asks_for_more_digits():
    (r,) = check(stepgrad.builtin(), loads("out_h1 = 0.5")).results  # 0.593 truncated
    assert (r.verdict, r.mistake) == ("close", "too_few_digits") and "3 or more" in r.diagnosis
    (r,) = check(stepgrad.builtin(), loads("dE_total/dw1 = 0.000")).results  # 0.000439 to 3 decimals
    assert (r.verdict, r.mistake) == ("close", "too_few_digits")
    (r,) = check(stepgrad.builtin(), loads("out_h1 = 0.7")).results
    assert r.verdict == "wrong"


def test_a_mistake_is_still_named_when_it_fits_better_than_rounding():
    """A planted slip in a 4-decimal student: wrong with the diagnosis; the rest follows, never wrong."""
    def left_out(name, v, value):
        return v["dE_total/dout_h1"] if name == "dE_total/dnet_h1" else None  # dout_h1/dnet_h1 left out

    net = stepgrad.builtin()
    text, _ = students.solve(net, ("decimals", 4), plant=left_out)
    by = {r.name: r for r in check(net, loads(text)).results}
    assert (by["dE_total/dnet_h1"].verdict, by["dE_total/dnet_h1"].mistake) == ("wrong", "missing_derivative")
    assert [name for name, r in by.items() if r.verdict == "wrong"] == ["dE_total/dnet_h1"]
    assert by["dE_total/dw1"].verdict in ("correct", "close")  # the chain of factors: the slipped delta is not used


def test_the_quiz_marks_a_brief_value_close_not_wrong():
    quiz = Quiz(stepgrad.builtin())
    result = quiz.answer("out_h1", "0.6")  # out_h2 = 0.597 rounds alike: too brief to tell, not h2's values
    assert result.verdict == "close"
    assert quiz.answer("out_o1", "0.751").verdict == "correct"


@pytest.mark.parametrize("key", ["deck", "2-3-3-1 relu, dead neurons"])
@pytest.mark.parametrize("style", [("decimals", 2), ("decimals", 3), ("truncate", 3)], ids=str)
def test_the_quiz_never_marks_rounded_correct_answers_wrong(key, style):
    net = students.network(key)
    _, wrote = students.solve(net, style)
    quiz = Quiz(net)
    for step in quiz.questions:  # answered one at a time, as typed, in the quiz's order
        result = quiz.answer(step.name, wrote[step.name])
        assert result.verdict in ALLOWED, (step.name, wrote[step.name], result.diagnosis)
        assert not (result.verdict in ("correct", "follows") and result.mistake)


@pytest.mark.slow  # 8-6-4 in every style: make test (CI)
@pytest.mark.parametrize("key", [k for k in SMALL if k != "deck"])
@pytest.mark.parametrize("style", [("decimals", 3), ("decimals", 4), ("significant", 4), ("truncate", 4)], ids=str)
@pytest.mark.parametrize("write_weights", [True, False], ids=["weights written", "weights not written"])
def test_long_given_weights_copied_at_the_students_precision_are_never_wrong(key, style, write_weights):
    """The gallery's weights have 16 digits; a sheet prints them rounded, and the student uses what it printed."""
    net = gallery_network(key)
    values: dict[str, float] = {}
    wrote: dict[str, str] = {}
    for step in stepgrad.explain(net):
        if step.text:
            value = students.evaluate(step.text, values)
        else:
            value = step.value
            if not step.name.startswith("w"):  # inputs, targets, biases, eta: short already
                values[step.name] = value
                continue
        wrote[step.name] = students.written(value, style)
        values[step.name] = float(wrote[step.name])
    lines = [f"{n} = {x}" for n, x in wrote.items() if write_weights or n in {s.name for s in stepgrad.explain(net) if s.text}]
    _assert_never_wrong(check(net, loads("\n".join(lines))), (key, style, write_weights))
