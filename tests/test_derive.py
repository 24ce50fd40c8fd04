"""`--derive`: every derivation line of every registry entry evaluates to the derivative it derives."""

from __future__ import annotations

import math

import numpy as np
import pytest

import stepgrad
from gallery import SMALL, network
from stepgrad.core.functions import ACTIVATIONS, LOSSES
from stepgrad.core.spec import Network
from stepgrad.teach.check.formula import evaluate, parse
from stepgrad.tracing.derive import derive


def _random_net(hidden: str, output: str, loss: str, seed: int) -> Network:
    rng = np.random.default_rng(seed)
    layers = [3, 4, 3]
    targets = rng.uniform(0.05, 0.95, layers[-1])
    combined = LOSSES[loss].combination(output)
    if combined is not None and combined.distribution:
        targets = targets / targets.sum()
    return Network.from_dict({
        "layers": layers, "activations": [hidden, output], "loss": loss, "seed": seed, "update_biases": True,
        "biases": [rng.normal(0, 0.3, 4).tolist(), rng.normal(0, 0.3, 3).tolist()],
        "samples": [{"inputs": rng.normal(0, 1, 3).tolist(), "targets": targets.tolist()},
                    {"inputs": rng.normal(0, 1, 3).tolist(), "targets": targets.tolist()}],
    })


def _cases():
    hidden = [a for a, entry in ACTIVATIONS.items() if entry.hidden_ok]
    for h in hidden:
        for o in ACTIVATIONS:
            for loss in LOSSES:
                try:
                    yield pytest.param(_random_net(h, o, loss, 7), id=f"{h}-{o}-{loss}")
                except stepgrad.StepgradError:
                    continue  # a combination the spec refuses (cross-entropy needs softmax or sigmoid)


def _check_lines(trace) -> int:
    values = dict(trace.values, **trace.context)
    checked = 0
    for step in trace:
        for line in step.derivation:
            got = evaluate(parse(line.text), values.__getitem__)
            assert math.isclose(got, step.value, rel_tol=1e-12, abs_tol=1e-15), (step.name, line.text, got, step.value)
            checked += 1
    return checked


@pytest.mark.parametrize("net", list(_cases()))
@pytest.mark.parametrize("order", ["synchronous", "sequential"])
def test_every_derivation_line_equals_the_derivative(net, order):
    trace = derive(stepgrad.explain(net, update_order=order))
    assert _check_lines(trace) > 0


@pytest.mark.parametrize("key", SMALL)
def test_gallery(key):
    trace = derive(stepgrad.explain(network(key)))
    assert _check_lines(trace) > 0


def test_every_local_derivative_of_the_deck_is_derived_as_the_slides_do():
    trace = derive(stepgrad.explain(stepgrad.builtin()))
    derived = {s.name for s in trace if s.derivation}
    local = {s.name for s in trace if s.kind == "partial" and s.name.split("/")[0] in ("dE_total", "dout_o1", "dout_o2",
             "dout_h1", "dout_h2", "dnet_o1", "dnet_o2", "dnet_h1", "dnet_h2")}
    assert local - {"dE_total/dout_h1", "dE_total/dout_h2"} <= derived  # hidden dE/dout are sums of paths
    # the deck: dE_total/dout_o1 = 2 * 1/2 (target_o1 - out_o1)^(2-1) * -1 + 0
    assert trace.step("dE_total/dout_o1").derivation[0].text == "2 * 1/2 * («target_o1» - «out_o1»)^(2-1) * (-1) + 0"
    # the deck: dnet_o1/dw5 = 1 * out_h1 * w5^(1-1) + 0 + 0
    assert trace.step("dnet_o1/dw5").derivation[0].text == "1 * «out_h1» * «w5»^(1-1) + 0 + 0"
    assert trace.step("dout_o1/dnet_o1").derivation[-1].text == "«out_o1» * (1 - «out_o1»)"


def test_derivations_round_trip_through_json():
    trace = derive(stepgrad.explain(stepgrad.builtin()))
    again = stepgrad.Trace.from_dict(trace.to_dict())
    assert again.step("dnet_o1/dw5").derivation == trace.step("dnet_o1/dw5").derivation


def test_every_registry_entry_says_how_its_derivative_is_obtained():
    for name, act in ACTIVATIONS.items():
        assert act.derivation or act.derivative is None, f"activation {name} has no derivation"
    for name, loss in LOSSES.items():
        assert loss.derivation or loss.gradient is None, f"loss {name} has no derivation"
        for activation, combination in loss.combinations.items():
            assert combination.derivation, f"{name} with {activation} has no derivation"
            assert combination.derivation[-1][2] == combination.delta_text  # it ends in the formula shown
