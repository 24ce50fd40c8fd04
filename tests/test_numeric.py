"""The numerical check: central differences beside every gradient agree with the analytic ones.

The analytic gradients come from the engine (checked against PyTorch elsewhere); the finite
differences only from the batch error E. Agreement: relative difference <= 1e-6 (with the module's
stated floor), on the gallery and on 40 seeded random networks away from ReLU kinks; a gradient
injected wrong by 1 % is reported as a disagreement.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

import stepgrad
from stepgrad.core.trace import Section, Trace
from stepgrad.tracing.numeric import TOLERANCE, check_numeric, numeric_gradients
from test_engine_fd import near_kink, random_network
from views_gallery import gallery


def gradient_names(trace: Trace) -> set[str]:
    names = set()
    for section in trace.sections:
        if section.key.startswith("backward_"):
            names |= {s.name for s in section.steps if s.kind == "gradient" and s.subject}
    return {n for n in names if "[" not in n}


@pytest.mark.parametrize("name", list(gallery()))
def test_gallery_gradients_agree(name):
    net = gallery()[name]
    trace = stepgrad.explain(net)
    checks = numeric_gradients(net, trace)
    assert {c.name for c in checks} == gradient_names(trace)  # every batch gradient, nothing else
    for c in checks:
        assert c.relative_difference <= TOLERANCE or c.kink, (c.name, c.analytic, c.numeric)
        assert c.step > 0


def test_random_networks_agree():
    checked = 0
    for seed in range(2000, 2200):
        net = random_network(seed)
        if near_kink(net):
            continue
        for c in numeric_gradients(net, stepgrad.explain(net, update_order="synchronous")):
            assert c.relative_difference <= TOLERANCE, (seed, c)
        checked += 1
        if checked == 40:
            break
    assert checked == 40


def test_deck_finite_differences_match_the_published_gradients():
    checks = {c.name: c for c in numeric_gradients(stepgrad.builtin(), stepgrad.explain(stepgrad.builtin()))}
    assert checks["dE_total/dw5"].numeric == pytest.approx(0.082167041, abs=1e-9)  # the deck's figure
    assert checks["dE_total/dw1"].numeric == pytest.approx(0.000438568, abs=1e-9)


def test_a_wrong_gradient_is_shown():
    net = stepgrad.builtin()
    trace = stepgrad.explain(net)
    wrong = Trace(tuple(Section(sec.key, sec.title, tuple(
        dataclasses.replace(s, value=s.value * 1.01) if s.name == "dE_total/dw6" else s for s in sec.steps), sec.intro)
        for sec in trace.sections), trace.meta)
    checked = check_numeric(net, wrong)
    assert checked.meta["numeric"]["disagreements"] == ["dE_total/dw6"]
    assert "DISAGREES" in checked.step("dE_total/dw6").note
    assert "DISAGREES" not in checked.step("dE_total/dw5").note
    assert checked.meta["numeric"]["gradients"]["dE_total/dw6"]["relative_difference"] == pytest.approx(0.0099, rel=0.01)


def test_json_carries_the_check_and_notes_show_it():
    net = gallery()["3-4-2-tanh-softmax-ce"]
    checked = check_numeric(net, stepgrad.explain(net))
    data = json.loads(checked.to_json())
    grads = data["meta"]["numeric"]["gradients"]
    assert set(grads) == gradient_names(checked)
    assert all({"analytic", "numeric", "step", "relative_difference"} <= set(g) for g in grads.values())
    text = stepgrad.render(checked, "text")
    assert text.count("central difference with h =") == len(grads)
    assert data["values"] == stepgrad.explain(net).values  # the numbers themselves are unchanged


def test_a_narrowed_trace_is_refused_with_the_way_out():
    net = stepgrad.builtin()
    with pytest.raises(stepgrad.StepgradError, match="check first, then narrow"):
        check_numeric(net, stepgrad.explain(net).select(["w5"]))
