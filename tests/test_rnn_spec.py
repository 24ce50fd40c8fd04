"""The sequence input and the rnn table: what they read, their one-line errors, a small case worked by hand."""

from __future__ import annotations

import math

import pytest

from stepgrad.core.errors import SpecError
from stepgrad.core.layers import engine
from stepgrad.core.layers.rnn import Rnn, Sequence
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.layers.values import named_values

SEQUENCE = {"type": "sequence", "steps": 2, "features": 1}


def build(*layers, **keys) -> LayerNetwork:
    return LayerNetwork.from_dict({"layers": [SEQUENCE, *layers], **keys}, "net.toml")


def test_one_unit_by_hand() -> None:
    # h1 = tanh(0.5 * 1 + 0.8 * 0 + 0.1) = tanh(0.6); h2 = tanh(0.5 * 2 + 0.8 * h1 + 0.1)
    net = build({"type": "rnn", "hidden": 1, "weights_x": [[0.5]], "weights_h": [[0.8]], "biases": [0.1]},
                {"type": "dense", "neurons": 1, "activation": "linear", "bias": False, "weights": [[1.0]]},
                loss="half_squared_error", samples=[{"inputs": [[1.0], [2.0]], "targets": [0.0]}])
    values = named_values(net, engine.step(net, net.inputs, net.targets))
    h1 = math.tanh(0.6)
    h2 = math.tanh(1.1 + 0.8 * h1)
    assert values["h1_t1[1]"] == pytest.approx(h1, rel=1e-15) and values["h1_t2[1]"] == pytest.approx(h2, rel=1e-15)
    # E = h2^2 / 2: dE/dnet2 = h2 (1 - h2^2); dE/dh1 = dE/dnet2 * 0.8; dE/dnet1 = dE/dh1 * (1 - h1^2)
    d_net2 = h2 * (1 - h2 ** 2)
    d_net1 = d_net2 * 0.8 * (1 - h1 ** 2)
    assert values["dE_total/dh1_t1[1]"] == pytest.approx(d_net2 * 0.8, rel=1e-14)
    # Wh's gradient: one term per step, dE/dnet_t * h_(t-1), with h_0 = 0
    assert values["dE_total/dWh1[1,1]"] == pytest.approx(d_net2 * h1 + d_net1 * 0.0, rel=1e-14)
    assert values["dE_total/dWx1[1,1]"] == pytest.approx(d_net2 * 2.0 + d_net1 * 1.0, rel=1e-14)
    assert values["h1_t0[1]"] == 0.0


def test_a_sequence_output_needs_step_reduction_and_mean_divides_by_the_steps() -> None:
    layers = ({"type": "rnn", "hidden": 1, "output": "sequence"}, {"type": "dense", "neurons": 1, "activation": "linear"})
    samples = [{"inputs": [[1.0], [2.0]], "targets": [[0.5], [0.2]]}]
    with pytest.raises(SpecError, match='step_reduction = "sum" or "mean"'):
        build(*layers, samples=samples)
    total = build(*layers, samples=samples, step_reduction="sum", seed=4)
    mean = build(*layers, samples=samples, step_reduction="mean", seed=4)
    assert engine.forward(mean, mean.inputs, mean.targets).error == pytest.approx(
        engine.forward(total, total.inputs, total.targets).error / 2, rel=1e-15)
    assert isinstance(total.layers[-1].out_shape, Sequence)


@pytest.mark.parametrize("layers,where,message", [
    ([{"type": "rnn"}], "layers[1].hidden", "missing key 'hidden'"),
    ([{"type": "rnn", "hidden": 2, "output": "all"}], "layers[1].output", "expected one of last, sequence"),
    ([{"type": "rnn", "hidden": 2, "activation": "softmax"}], "layers[1].activation", "recurrent activation"),
    ([{"type": "rnn", "hidden": 2, "weights_h": [[1, 2]]}], "layers[1].weights_h", "expected 2 entries"),
    ([{"type": "rnn", "hidden": 2, "truncate": 0}], "layers[1].truncate", "whole number from 1"),
    ([{"type": "conv1d", "out_channels": 1, "kernel": 1}], "layers[1]", "conv1d does not take a sequence"),
    ([{"type": "batchnorm"}], "layers[1]", "batchnorm does not take a sequence"),
])
def test_errors_name_the_key(layers: list, where: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        build(*layers)
    assert message in str(caught.value) and where in str(caught.value)


def test_rnn_needs_a_sequence_and_step_reduction_a_sequence_output() -> None:
    with pytest.raises(SpecError, match="rnn needs a sequence"):
        LayerNetwork.from_dict({"layers": [{"type": "input", "shape": [3]}, {"type": "rnn", "hidden": 2}]})
    with pytest.raises(SpecError, match="step_reduction is for a sequence output"):
        build({"type": "rnn", "hidden": 1}, step_reduction="mean")
    with pytest.raises(SpecError, match="missing key 'steps'"):
        LayerNetwork.from_dict({"layers": [{"type": "sequence", "features": 2}, {"type": "rnn", "hidden": 2}]})


def test_the_layer_describes_its_conventions() -> None:
    layer = build({"type": "rnn", "hidden": 3, "truncate": 1, "h0": [0, 0, 1]}).layers[0]
    assert isinstance(layer, Rnn)
    assert layer.describe() == ("rnn h1: 2 steps of 1 -> 3 units, tanh, h0 given, passes on the last step's h, "
                                "BPTT truncated to 1 steps")


@pytest.mark.parametrize("table,where,message", [
    ({"type": "attention", "scale": "yes"}, "layers[1].scale", "expected true or false"),
    ({"type": "attention", "output": "all"}, "layers[1].output", "expected one of sequence, last"),
    ({"type": "attention", "key_size": 2, "weights_q": [[1.0]]}, "layers[1].weights_q", "expected 2 entries"),
    ({"type": "attention", "bias": False, "biases_o": [0.0]}, "layers[1].biases_o", "bias = false"),
    ({"type": "attention", "heads": 2}, "layers[1].heads", "unknown key 'heads' for attention"),
])
def test_attention_errors_name_the_key(table: dict, where: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        build(table)
    assert message in str(caught.value) and where in str(caught.value)


def test_attention_describes_its_conventions_and_needs_a_sequence() -> None:
    head = build({"type": "attention", "key_size": 4, "causal": True}, step_reduction="sum").layers[0]
    assert head.describe() == ("attention a1: one head over 2 steps of 1, scores scaled by 1/sqrt(4), softmax over "
                               "the keys (each row of a adds to 1), causal mask, passes on every position's out")
    assert "scores not scaled" in build({"type": "attention", "scale": False, "output": "last"}).layers[0].describe()
    with pytest.raises(SpecError, match="attention needs a sequence"):
        LayerNetwork.from_dict({"layers": [{"type": "input", "shape": [3]}, {"type": "attention"}]})
