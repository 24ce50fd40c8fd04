"""Error carried forward through values the student never wrote: the batch mean from their own δ.

The sheet (simulated here in plain Python, rounded_students.solve) leaves out one ReLU derivative in a
batch of 2: the δ of a dead neuron in sample 1 is written as dE_total/dout (the derivative 0 dropped),
and the mean gradients are computed directly as Σ δ[k]·input[k] / 2 without writing the per-sample
products. Marker's verdicts: that δ is wrong (named), every later value follows from it.
"""

from __future__ import annotations

import re

import pytest

import rounded_students as students
import stepgrad
from stepgrad.core import names
from stepgrad.teach.check import check, loads

SPEC = {"layers": [2, 2, 2], "activations": ["relu", "sigmoid"], "learning_rate": 0.5, "seed": 11,
        "update_biases": True, "biases": [[0.1, -0.3], [0.2, 0.1]],
        "samples": [{"inputs": [0.5, -0.8], "targets": [0.1, 0.9]}, {"inputs": [-0.6, 0.4], "targets": [0.7, 0.2]}]}
PRODUCT = re.compile(r"«(dE_total\[(?P<s>\d)\]/dout_(?P<n>\w+)\[\d\])» \* «dout_\w+\[\d\]/dnet_\w+\[\d\]» \* «(?P<x>dnet_\w+\[\d\]/dw\d+)»")


@pytest.mark.parametrize("style", [("significant", 6), ("decimals", 4), ("decimals", 3)], ids=str)
def test_a_missing_relu_derivative_in_a_batch_is_wrong_once_and_everything_after_follows(style):
    net = students.sheet_network(SPEC)
    trace = stepgrad.explain(net)
    texts = {s.name: s.text for s in trace}
    dead = "dE_total[1]/dnet_h1[1]"  # net_h1[1] < 0: its derivative is 0
    assert trace.values["net_h1[1]"] < 0 and trace.values[dead] == 0

    def plant(name, v, value):
        if name == dead:
            return v["dE_total[1]/dout_h1[1]"]  # the derivative factor left out
        m = PRODUCT.fullmatch(texts[name])
        if m and m.group("n").startswith("h"):  # a hidden per-sample gradient: the student's δ · input
            return v[names.partial("E_total", names.net(m.group("n")), int(m.group("s")))] * v[m.group("x")]
        return None

    def skip(name):  # per-sample gradient products and the derivative lines are not written
        parts = names.parse(name)
        return (parts.kind == "partial" and parts.sample is not None and (
            (parts.top.kind == "error" and parts.bottom.kind in ("weight", "bias"))
            or (parts.top.kind == "net" and str(parts.top.neuron).startswith("h")))) or name.startswith("dout_h")

    text, wrote = students.solve(net, style, skip=skip, plant=plant)
    report = check(net, loads(text))
    by = {r.name: r for r in report.results}
    assert by[dead].verdict == "wrong" and by[dead].mistake in ("relu_negative_slope", "missing_derivative")
    assert [r.name for r in report.results if r.verdict == "wrong"] == [dead]
    for name in ("dE_total/dw1", "dE_total/dw2", "dE_total/db_h1", "w1+", "w2+", "b_h1+"):
        brief = (by[name].verdict, by[name].mistake) == ("close", "too_few_digits")  # 0.003: one digit
        assert by[name].verdict == "follows" or brief, by[name]
    assert all(r.verdict in ("correct", "follows", "close") for r in report.results if r.name != dead)
