"""The notations students use: decimal commas, δ_o1 / delta_o1 / d_o1, w5_new / w5', ∂E/∂w5, LaTeX."""

from __future__ import annotations

import pytest

import rounded_students as students
import stepgrad
from stepgrad.teach.check import check, loads
from stepgrad.teach.check.report import render_text
from stepgrad.teach.check.solution import parse_number


@pytest.mark.parametrize("key", students.KEYS)
def test_a_whole_solution_with_decimal_commas_is_read(key):
    net = students.network(key)
    text, wrote = students.solve(net, ("significant", 5))
    with_commas = text.replace(".", ",")
    report = check(net, loads(with_commas))
    assert report.counts["correct"] + report.counts["close"] == len(wrote)
    assert report.ok and report.meta["decimal_commas"] == sum("." in x for x in wrote.values())


@pytest.mark.parametrize("text,value", [("0,5933", "0.5933"), ("-0,0226", "-0.0226"), ("3,51e-5", "0.0000351"),
                                        ("3,51 x 10^-5", "0.0000351")])
def test_decimal_commas(text, value):
    assert str(parse_number(text)) == value


@pytest.mark.parametrize("text", ["1,234.5", "1,2,3", "0,5,"])
def test_ambiguous_commas_are_not_numbers(text):
    assert parse_number(text) is None


DECK = {"dE_o1/dnet_o1": 0.13849856162855698, "w5+": 0.35891647971788465, "dE_total/dw5": 0.08216704056423078,
        "dE_total/dw1": 0.00043856773447434685, "E_total+": 0.29102777369359933}  # the deck's published figures


@pytest.mark.parametrize("written,name", [
    ("δ_o1", "dE_o1/dnet_o1"), ("delta_o1", "dE_o1/dnet_o1"), ("d_o1", "dE_o1/dnet_o1"), ("δo1", "dE_o1/dnet_o1"),
    ("w5_new", "w5+"), ("w5'", "w5+"), ("w5^+", "w5+"), ("E_total_new", "E_total+"),
    ("∂E_total/∂w5", "dE_total/dw5"), ("∂E/∂w5", "dE_total/dw5"), ("dE/dw5", "dE_total/dw5"),
    (r"\frac{\partial E}{\partial w_5}", "dE_total/dw5"), (r"$\frac{\partial E_{total}}{\partial w_{1}}$", "dE_total/dw1"),
])
def test_each_notation_is_read_and_said(written, name):
    report = check(stepgrad.builtin(), loads(f"{written} = {DECK[name]:.6g}"))
    (result,) = report.results
    assert (result.name, result.verdict) == (name, "correct")
    assert report.meta["read_as"] == {written.replace(" ", ""): name}
    assert f"as {name}" in " ".join(render_text(report).split())


def test_a_name_given_twice_in_two_notations_is_not_merged():
    report = check(stepgrad.builtin(), loads("w5+ = 0.3589\nw5' = 0.3589"))
    by = {r.name: r.verdict for r in report.results}
    assert by == {"w5+": "correct", "w5'": "unknown"}


def test_batch_notation_keeps_the_sample():
    net = students.network("2-2-2 batch of 2")
    value = stepgrad.explain(net).values["dE_total[2]/dnet_h1[2]"]
    (result,) = check(net, loads(f"δ_h1[2] = {value:.6g}")).results
    assert (result.name, result.verdict) == ("dE_total[2]/dnet_h1[2]", "correct")
