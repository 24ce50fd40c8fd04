"""The trace: names, structure, paths, selection and JSON round trip, on networks beyond the deck."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import stepgrad
from stepgrad.core import names
from stepgrad.core.trace import Trace


def deep_net(**overrides):
    spec = {
        "layers": [3, 2, 2, 2], "activations": ["tanh", "relu", "sigmoid"], "seed": 3,
        "biases": [[0.1, -0.2], 0.3, [0.05, 0.0]], "update_biases": True,
        "samples": [{"inputs": [0.5, -0.2, 0.1], "targets": [0.2, 0.9]},
                    {"inputs": [-0.3, 0.8, 0.4], "targets": [0.7, 0.1]}],
    }
    spec.update(overrides)
    return stepgrad.Network.from_dict(spec)


def test_deck_names_and_order():
    trace = stepgrad.explain(stepgrad.builtin())
    keys = [s.key for s in trace.sections]
    assert keys == ["given", "forward", "error", "backward_2", "backward_1", "update", "after", "error_after"]
    v = trace.values
    for name in ["net_h1", "out_o2", "E_o1", "E_total", "dE_total/dout_o1", "dout_o1/dnet_o1", "dnet_o1/dw5",
                 "dE_total/dw5", "dE_o1/dnet_o1", "dnet_o1/dout_h1", "dE_o1/dout_h1", "dE_total/dout_h1",
                 "w5+", "E_total+", "b1", "b2", "eta"]:
        assert name in v, name
    assert trace.step("dE_total/dw5").factors == ("dE_total/dout_o1", "dout_o1/dnet_o1", "dnet_o1/dw5")
    # w5 is the edge h1 -> o1, w7 is h1 -> o2: dnet_o2/dout_h1 is w7 (the deck's slip says w8)
    assert v["dnet_o2/dout_h1"] == 0.5


def test_sequential_sections_interleave_updates():
    trace = stepgrad.explain(stepgrad.builtin(), update_order="sequential")
    keys = [s.key for s in trace.sections]
    assert keys == ["given", "forward", "error", "backward_2", "update_2", "backward_1", "update_1", "after", "error_after"]
    step = trace.step("dnet_o1/dout_h1")
    assert step.operands == ["w5+"]


def test_paths_sum_to_the_gradient():
    trace = stepgrad.explain(deep_net(samples=[{"inputs": [0.5, -0.2, 0.1], "targets": [0.2, 0.9]}]))
    w1 = trace.step("dE_total/dw1")
    assert w1.path_count == 4 and len(w1.paths) == 4
    assert sum(p.value for p in w1.paths) == pytest.approx(w1.value, rel=1e-12, abs=1e-15)
    # every factor of every path is a named quantity of the trace
    for p in w1.paths:
        assert all(f in trace.values for f in p.factors)


def test_multi_layer_names_and_biases():
    trace = stepgrad.explain(deep_net())
    v = trace.values
    for name in ["net_h1_1[1]", "out_h2_2[2]", "out_o1[2]", "E_total[1]", "E_total", "dE_total/dw1",
                 "dE_total[2]/dw1", "b_h1_1", "b2", "b_o1", "dE_total/db2", "b2+", "b_o2+",
                 "dnet_h2_1[1]/dout_h1_2[1]", "dE_total[1]/dout_h1_2[1]", "dE_total[2]/dnet_h1_1[2]", "E_total+"]:
        assert name in v, name
    assert "dE_h2_1[1]/dout_h1_2[1]" not in v  # there is no E_h2_1: a hidden neuron's share is a chain-rule term
    # weights: 3*2 + 2*2 + 2*2 = 14, numbered layer by layer
    assert "w14" in v and "w15" not in v
    # batch error and gradients are the mean over samples
    assert v["E_total"] == pytest.approx((v["E_total[1]"] + v["E_total[2]"]) / 2, rel=1e-15)
    assert v["dE_total/dw7"] == pytest.approx((v["dE_total[1]/dw7"] + v["dE_total[2]/dw7"]) / 2, rel=1e-12)


def test_shared_bias_gradient_is_the_sum_over_its_layer():
    trace = stepgrad.explain(deep_net())
    v = trace.values
    per_sample = [v[names.partial("E_total", "net_h2_1", s)] + v[names.partial("E_total", "net_h2_2", s)] for s in (1, 2)]
    assert v["dE_total/db2"] == pytest.approx(np.mean(per_sample), rel=1e-12)
    assert v["b2+"] == pytest.approx(0.3 - 0.5 * v["dE_total/db2"], rel=1e-14)


def test_select_keeps_the_chain():
    trace = stepgrad.explain(stepgrad.builtin())
    only = trace.select(["w1"])
    names = set(only.values)
    assert {"dE_total/dw1", "w1+", "dnet_h1/dw1", "dE_total/dout_h1", "dE_o1/dout_h1", "dE_o2/dout_h1",
            "dE_o1/dnet_o1", "dnet_o1/dout_h1", "dout_o1/dnet_o1", "dE_total/dout_o1"} <= names
    assert "dE_total/dw5" not in names and "net_h1" not in names
    # quantities referred to but not shown stay available for substitution
    assert only.lookup("out_h1") == trace.values["out_h1"]


def test_json_round_trip():
    trace = stepgrad.explain(deep_net())
    again = Trace.from_dict(json.loads(trace.to_json()))
    assert again == trace


@pytest.mark.parametrize("act,loss", [("softmax", "cross_entropy"), ("sigmoid", "cross_entropy"),
                                      ("softmax", "half_squared_error"), ("linear", "mean_squared_error")])
def test_output_layers(act, loss):
    net = deep_net(activations=["sigmoid", "tanh", act], loss=loss,
                   samples=[{"inputs": [0.5, -0.2, 0.1], "targets": [0.0, 1.0]}])
    trace = stepgrad.explain(net)
    v = trace.values
    assert all(math.isfinite(x) for x in v.values())
    # softmax couples the outputs: the error signal is dE_total/dnet_o1 (dE_o1/dnet_o1 would be false)
    signal = "dE_total/dnet_o1" if act == "softmax" else "dE_o1/dnet_o1"
    assert signal in v
    if loss == "cross_entropy":
        assert v[signal] == pytest.approx(v["out_o1"] - 0.0, rel=1e-14)
        assert "dE_total/dout_o1" not in v


def test_formulas_render_symbolically_and_with_numbers():
    from stepgrad.formats.formula import equation, symbolic

    trace = stepgrad.explain(stepgrad.builtin())
    w5 = trace.step("w5+")
    assert symbolic(w5) == "w5 - eta * dE_total/dw5"
    assert equation(w5, trace) == "w5+ = w5 - eta * dE_total/dw5 = 0.4 - 0.5 * 0.0821670406 = 0.35891648"
    assert "(-0.217071535)" in equation(trace.step("dE_o2/dnet_o2"), trace)


def test_overflow_in_explain_is_reported():
    net = stepgrad.Network.from_dict({"layers": [1, 1], "activation": "linear", "weights": [[[1e200]]],
                                      "biases": [0.0], "samples": [{"inputs": [1e200], "targets": [0.0]}]})
    with pytest.raises(stepgrad.DivergenceError, match="not a finite number"):
        stepgrad.explain(net)


def test_latex_symbols_with_superscripts_are_braced():
    """A per-sample symbol (out^{[1]}) followed by a template's ^{2} must not be a double superscript."""
    import re

    from stepgrad.formats.formula import symbolic

    trace = stepgrad.explain(deep_net())
    latex = symbolic(trace.step("dout_h1_1[1]/dnet_h1_1[1]"), "latex")  # tanh: 1 - out^2
    assert re.search(r"\}\^\{\[1\]\}\^", latex) is None, latex
    assert latex.count("{") == latex.count("}")
