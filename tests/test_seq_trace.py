"""The trace of sequence models (rnn, attention, layernorm, batchnorm): every formula gives its value, the values
are the engine's, and every name in it is true by finite differences (tests/seq_trace_gallery.py and random ones).

Names the engine also gives (dE_total/dh1_t2[1], dE_total/dscore_a1[3,2], dE_total/dvar_n1[1], ...) are checked
with test_norm_names_fd's nudges inside the layers; the trace's own: the factor dnet_d1[2,1]/dw_d1[1,2] (nudge
the weight, watch that net), and dE_total/dx[..] of a normalization on the input (nudge the input, watch E_total).
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import slow_after
from layer_helpers import factor_by_differences
from seq_gallery import random_attention_spec, random_norm_spec, random_rnn_spec
from seq_trace_gallery import GALLERY
from stepgrad.core import names
from stepgrad.core.layers import engine
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.layers.values import named_values
from stepgrad.core.trace import Trace
from stepgrad.teach.check.formula import evaluate, parse
from stepgrad.tracing.layered import explain_layers
from test_norm_names_fd import FLOOR, RTOL, numeric

STEP = 1e-6


def formulas_hold(net: LayerNetwork) -> Trace:
    """The trace, after checking each step's formula against its value and each value against the engine's."""
    trace = explain_layers(net)
    values = trace.values
    engine_values = named_values(net, engine.step(net, net.inputs, net.targets, after=True))
    for step in trace:
        if step.name in engine_values:
            assert step.value == pytest.approx(engine_values[step.name], rel=1e-13, abs=1e-15), step.name
        if step.text:
            got = evaluate(parse(step.text), values.__getitem__)
            assert got == pytest.approx(step.value, rel=1e-9, abs=1e-12), (step.name, step.text)
    not_updated = {n for n in engine_values if n.endswith("+") and not net.update_biases and (
        names.parse(n).kind == "bias" and not str(names.parse(n).parameter).startswith("beta"))}
    assert set(engine_values) - not_updated <= set(values)  # every engine name is in the trace
    return trace


def _input(net: LayerNetwork, n: names.Name) -> float:
    """dE_total/dx[..] by central differences: the input nudged, the error watched (the batch's where samples mix)."""
    s = 0 if n.sample is None else n.sample - 1
    found = []
    for sign in (1, -1):
        x = net.inputs.copy()
        x[(s, *(p - 1 for p in n.bottom.position))] += sign * STEP
        fwd = engine.forward(net, x, net.targets)
        found.append(fwd.error if n.batch else fwd.sample_errors[s])
    return float((found[0] - found[1]) / (2 * STEP))


def names_hold(net: LayerNetwork, trace: Trace) -> set[str]:
    """Check every derivative name of the trace by finite differences; the kinds checked."""
    checked: set[str] = set()
    for step in trace:
        n = names.parse(step.name)
        if n.kind != "partial":
            continue
        if n.top.kind == "net":
            got = factor_by_differences(net, n, STEP)
        elif n.bottom.kind == "input":
            got = _input(net, n)
        else:
            got = numeric(net, step.name)
        assert abs(got - step.value) <= RTOL * max(abs(step.value), FLOOR), f"{step.name}: {step.value} vs {got}"
        checked.add(str(n.bottom.symbol or n.bottom.kind))
    return checked


@pytest.mark.parametrize("key", GALLERY)
def test_the_gallery_every_formula_and_every_name(key: str) -> None:
    net = LayerNetwork.from_dict(GALLERY[key])
    trace = formulas_hold(net)
    checked = names_hold(net, trace)
    expected = {"rnn_last": {"net", "out", "weight", "bias"}, "rnn_sequence": {"net", "out", "weight"},
                "attention_causal": {"q", "k", "v", "score", "a", "z", "out", "weight", "bias"},
                "layernorm_dense": {"xhat", "mu", "var", "input", "weight", "bias"},
                "batchnorm_training": {"xhat", "mu", "var", "net", "out", "weight", "bias"}}[key]
    assert expected <= checked


@pytest.mark.parametrize("seed", slow_after(2, range(12)))
@pytest.mark.parametrize("kind", ["rnn", "attention", "norm"])
def test_random_sequence_networks(kind: str, seed: int) -> None:
    make = {"rnn": lambda: random_rnn_spec(seed, smooth=True, truncate=False),
            "attention": lambda: random_attention_spec(seed, smooth=True),
            "norm": lambda: random_norm_spec(seed, smooth=True)}[kind]
    net = LayerNetwork.from_dict(make())
    names_hold(net, formulas_hold(net))


def test_bptt_plan_one_term_per_step_adding_up() -> None:
    net = LayerNetwork.from_dict(GALLERY["rnn_last"])
    trace = explain_layers(net)
    values = trace.values
    step = trace.step("dE_total[1]/dWh1[1,2]")
    assert [p.factors for p in step.paths] == [(f"dE_total[1]/dnet_h1_t{t}[1][1]", f"h1_t{t - 1}[2][1]") for t in (1, 2, 3)]
    for path in step.paths:  # each step's contribution is the product of its two named factors
        assert path.value == pytest.approx(values[path.factors[0]] * values[path.factors[1]], rel=1e-15)
    assert sum(p.value for p in step.paths) == pytest.approx(step.value, rel=1e-13)
    assert step.value != pytest.approx(step.paths[-1].value, rel=1e-3)  # not the last step's term alone
    # dE_total/dh1_t2: only what step 3 sends back (the output reads the last state only)
    back = trace.step("dE_total[1]/dh1_t2[1][1]")
    assert back.operands == ["dE_total[1]/dnet_h1_t3[1][1]", "Wh1[1,1]", "dE_total[1]/dnet_h1_t3[2][1]", "Wh1[2,1]"]


def test_attention_conventions_in_the_formulas() -> None:
    net = LayerNetwork.from_dict(GALLERY["attention_causal"])
    trace = explain_layers(net)
    assert "/ sqrt(2)" in trace.step("score_a1[2,1]").text
    assert "score_a1[1,2]" not in trace.values  # masked: the key after the query has no score
    row = trace.step("a_a1[2,1]").text  # the softmax over the keys of row 2: keys 1 and 2 only
    assert "score_a1[2,1]" in row and "score_a1[2,2]" in row and "score_a1[2,3]" not in row
    assert np.isclose(sum(trace.values[f"a_a1[3,{j}]"] for j in (1, 2, 3)), 1.0)
    assert "/ sqrt(2)" in trace.step("dE_total/dq_a1[1,1]").text


def test_three_paths_of_batchnorm() -> None:
    net = LayerNetwork.from_dict(GALLERY["batchnorm_training"])
    trace = explain_layers(net)
    d_out = trace.step("dE_total/dout_d1[1][2]")  # samples mix: the batch error's derivative
    assert {"dE_total/dxhat_n1[1][2]", "dE_total/dvar_n1[1]", "dE_total/dmu_n1[1]"} <= set(d_out.operands)
    assert "«dE_total/dmu_n1[1]» / 3" in d_out.text and "/ 3" in trace.step("var_n1[1]").text  # biased: N
    assert not [s for s in trace if s.name.startswith("dE_total[")]  # no error is one sample's


def _sequences(rng: np.random.Generator, steps: int, features: int, outputs: int) -> list[dict]:
    return [{"inputs": rng.uniform(-1, 1, (steps, features)).tolist(), "targets": rng.uniform(0.1, 0.9, outputs).tolist()}
            for _ in range(3)]


STACKS = {  # the sequence layers one after another: the names each reads from the layer before
    "rnn then batchnorm (samples mixed)": lambda rng: {
        "layers": [{"type": "sequence", "steps": 3, "features": 2}, {"type": "rnn", "hidden": 2, "output": "last"},
                   {"type": "batchnorm", "gamma": [1.1, 0.9], "beta": [0.1, -0.1]},
                   {"type": "dense", "neurons": 1, "activation": "sigmoid"}], "samples": _sequences(rng, 3, 2, 1)},
    "causal attention then layernorm": lambda rng: {
        "layers": [{"type": "sequence", "steps": 3, "features": 2},
                   {"type": "attention", "causal": True, "output": "sequence"}, {"type": "layernorm"},
                   {"type": "dense", "neurons": 1, "activation": "sigmoid"}],
        "samples": _sequences(rng, 3, 2, 3), "step_reduction": "mean"},
    "rnn then rnn": lambda rng: {
        "layers": [{"type": "sequence", "steps": 3, "features": 1}, {"type": "rnn", "hidden": 2, "output": "sequence"},
                   {"type": "rnn", "hidden": 2, "output": "last"}, {"type": "dense", "neurons": 1, "activation": "sigmoid"}],
        "samples": _sequences(rng, 3, 1, 1)},
}


@pytest.mark.parametrize("key", slow_after(1, list(STACKS)))
def test_stacked_sequence_layers(key: str) -> None:
    spec = STACKS[key](np.random.default_rng(3))
    net = LayerNetwork.from_dict({**spec, "seed": 1})
    assert {"net", "weight"} <= names_hold(net, formulas_hold(net))


LAST = {  # a sequence layer as the network's last layer: its out's signal is the loss's derivative
    "attention": {"layers": [{"type": "sequence", "steps": 3, "features": 2},
                             {"type": "attention", "output": "sequence", "key_size": 2}],
                  "step_reduction": "sum"},
    "causal attention, last out": {"layers": [{"type": "sequence", "steps": 3, "features": 2},
                                              {"type": "attention", "causal": True, "output": "last", "key_size": 2}]},
    "rnn": {"layers": [{"type": "sequence", "steps": 3, "features": 1}, {"type": "rnn", "hidden": 2, "output": "sequence"}],
            "step_reduction": "mean"},
    "rnn, last state": {"layers": [{"type": "sequence", "steps": 3, "features": 1},
                                   {"type": "rnn", "hidden": 2, "output": "last"}]},
    "layernorm": {"layers": [{"type": "input", "shape": [3]}, {"type": "layernorm"}]},
    "batchnorm": {"layers": [{"type": "input", "shape": [2]}, {"type": "dense", "neurons": 2, "activation": "tanh"},
                             {"type": "batchnorm", "mode": "training"}]},
}


@pytest.mark.parametrize("key", slow_after(2, list(LAST)))
def test_a_sequence_layer_last_takes_the_loss_derivative(key: str) -> None:
    rng = np.random.default_rng(5)
    spec = dict(LAST[key], loss="half_squared_error", seed=2)
    net = LayerNetwork.from_dict(spec | {"samples": _samples_for(rng, spec)})
    trace = formulas_hold(net)
    if key != "rnn":  # its targets target_h1[t,j] are not names core/names parses yet: the formulas only
        names_hold(net, trace)
    last = net.layers[-1].label
    signals = [s for s in trace if s.kind == "partial" and s.name.startswith("dE_total") and s.subject == last]
    assert signals and all(s.text != "0" for s in signals if s.value != 0)


def _samples_for(rng: np.random.Generator, spec: dict) -> list[dict]:
    """Two random samples fitting the spec's input and its last layer's out (targets of that shape)."""
    first, last = spec["layers"][0], spec["layers"][-1]
    shape = [first["steps"], first["features"]] if first["type"] == "sequence" else first["shape"]
    if last["type"] == "attention":
        out = [shape[0], shape[1]] if last["output"] == "sequence" else [shape[1]]
    elif last["type"] == "rnn":
        out = [shape[0], last["hidden"]] if last["output"] == "sequence" else [last["hidden"]]
    elif last["type"] == "batchnorm":
        out = [spec["layers"][-2]["neurons"]]
    else:
        out = shape
    return [{"inputs": rng.uniform(-1, 1, shape).round(2).tolist(), "targets": rng.uniform(-1, 1, out).round(2).tolist()}
            for _ in range(3 if last["type"] == "batchnorm" else 1)]
