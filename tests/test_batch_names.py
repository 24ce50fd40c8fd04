"""True names in a batch: each side of a derivative carries its sample, old names are read as aliases.

The reference values are computed by hand here (the deck's network with three samples, sigmoid and half
squared error, mean over the batch): sample k's own dE_total[k]/dout_o1[k] = out_o1[k] - target_o1[k],
the batch error's dE_total/dout_o1[k] a third of it. Finite differences for every [k] name are in
test_names_true.py.
"""

from __future__ import annotations

import json
import math

import pytest

import stepgrad
from stepgrad.core import names
from stepgrad.teach.check import check, solution

SAMPLES = [((0.05, 0.10), (0.01, 0.99)), ((0.2, 0.3), (0.5, 0.1)), ((0.9, 0.1), (0.3, 0.7))]


def batch(reduction: str = "mean") -> stepgrad.Network:
    return stepgrad.Network.from_dict({
        "layers": [2, 2, 2], "learning_rate": 0.5, "reduction": reduction,
        "weights": [[[0.15, 0.20], [0.25, 0.30]], [[0.40, 0.45], [0.50, 0.55]]], "biases": [0.35, 0.60],
        "samples": [{"inputs": list(x), "targets": list(t)} for x, t in SAMPLES]})


def own_dout_o1(k: int) -> float:
    """Sample k's own dE_total[k]/dout_o1[k], by hand."""
    (i1, i2), (t1, _) = SAMPLES[k - 1]
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    h1, h2 = sig(0.15 * i1 + 0.20 * i2 + 0.35), sig(0.25 * i1 + 0.30 * i2 + 0.35)
    return sig(0.40 * h1 + 0.45 * h2 + 0.60) - t1


def test_the_issue_figures():
    values = stepgrad.explain(batch()).values
    assert values["dE_total[1]/dout_o1[1]"] == pytest.approx(own_dout_o1(1), rel=1e-12)
    assert round(values["dE_total[1]/dout_o1[1]"], 4) == 0.7414 and round(own_dout_o1(1) / 3, 4) == 0.2471
    assert "dE_total/dout_o1[1]" not in values  # the batch error's derivative is not a step


def test_every_per_sample_name_carries_its_sample_on_each_side():
    trace = stepgrad.explain(batch())
    data = json.loads(stepgrad.render(trace, "json"))
    for name in data["values"]:  # the JSON's names, as written
        assert names.legacy(name) is None, name  # no old form left
        parts = names.parse(name)
        if parts.kind == "partial" and parts.sample is not None:
            top, bottom = names.sides(name)
            assert names.parse(top).sample == parts.sample and not parts.batch
            assert names.parse(bottom).sample in (parts.sample, None)
            assert top in data["values"] and bottom in data["values"]


def test_old_names_are_read_as_the_names_they_stood_for():
    net = batch()
    v = stepgrad.explain(net).values
    text = "\n".join([
        f"dE_total/dout_o1[1] = {own_dout_o1(1):.6f}",  # sample 1's own value under its old name
        f"dout_o1/dnet_o1[2] = {v['dout_o1[2]/dnet_o1[2]']:.6f}",
        f"dE_total/dw5[3] = {v['dE_total[3]/dw5']:.6f}",
        f"dE_total/dout_o1[2] = {own_dout_o1(2) / 3:.6f}",  # the batch error's derivative, as the name says
        f"dE_total/dout_o1[3] = {own_dout_o1(3) / 3 * 1.2:.6f}",  # the batch's, 20 % off: wrong as what it says
    ])
    report = check(net, solution.loads(text))
    by = {r.name: r for r in report.results}
    assert by["dE_total[1]/dout_o1[1]"].verdict == "correct"
    assert by["dout_o1[2]/dnet_o1[2]"].verdict == "correct" and by["dE_total[3]/dw5"].verdict == "correct"
    assert report.meta["read_as"] == {"dE_total/dout_o1[1]": "dE_total[1]/dout_o1[1]",
                                     "dout_o1/dnet_o1[2]": "dout_o1[2]/dnet_o1[2]", "dE_total/dw5[3]": "dE_total[3]/dw5"}
    batch_2, batch_3 = by["dE_total/dout_o1[2]"], by["dE_total/dout_o1[3]"]
    assert batch_2.verdict == "correct" and batch_2.expected == pytest.approx(own_dout_o1(2) / 3, rel=1e-12)
    assert "1/3 of sample 2's own dE_total[2]/dout_o1[2]" in batch_2.note
    assert batch_3.verdict == "wrong" and batch_3.expected == pytest.approx(own_dout_o1(3) / 3, rel=1e-12)
    from stepgrad.teach.check.report import render_text

    assert "dE_total/dout_o1[1] as dE_total[1]/dout_o1[1] (its old name)" in render_text(report, width=300)


def test_with_the_sum_over_the_batch_both_readings_agree():
    net = batch("sum")
    report = check(net, solution.loads(f"dE_total/dout_o1[2] = {own_dout_o1(2):.6f}"))
    assert [(r.name, r.verdict) for r in report.results] == [("dE_total[2]/dout_o1[2]", "correct")]


def test_the_explorer_shows_the_new_names():
    from starlette.testclient import TestClient

    from stepgrad.web.app import create_app

    spec = {"layers": [2, 2, 2], "samples": [{"inputs": list(x), "targets": list(t)} for x, t in SAMPLES[:2]]}
    with TestClient(create_app(), base_url="http://127.0.0.1:8000") as client:
        data = client.post("/api/explain", json={"spec": spec, "only": ["w5"]}).json()
    shown = {s["name"] for sec in data["selected"]["sections"] for s in sec["steps"]}
    assert {"dE_total[1]/dout_o1[1]", "dnet_o1[2]/dw5", "dE_total[2]/dw5", "dE_total/dw5"} <= shown
    assert not any(names.legacy(n) for n in data["values"])


def test_only_points_an_old_name_to_its_name_today():
    from stepgrad.tracing.only import OnlyError, resolve_only

    trace = stepgrad.explain(batch())
    assert resolve_only(trace, "dE_total[2]/dw5") == ["dE_total[2]/dw5"]
    with pytest.raises(OnlyError, match=r"did you mean dE_total\[2\]/dw5\?"):
        resolve_only(trace, "dE_total/dw5[2]")
