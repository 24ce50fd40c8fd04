"""The checker's calculator: every formula of every registry entry evaluates to the trace's value."""

from __future__ import annotations

import math

import pytest

import stepgrad
from stepgrad.core.functions import ACTIVATIONS, LOSSES
from stepgrad.core.optim import OPTIMIZERS
from stepgrad.teach.check.formula import FormulaError, evaluate, parse

SPECS = [
    {"layers": [2, 2, 2]},
    {"layers": [2, 3, 2], "activation": "tanh"},
    {"layers": [3, 2, 3], "activations": ["relu", "softmax"], "loss": "cross_entropy"},
    {"layers": [2, 2, 1], "activations": ["leaky_relu", "sigmoid"], "loss": "cross_entropy", "update_biases": True},
    {"layers": [2, 2, 2], "activations": ["linear", "sigmoid"], "loss": "mean_squared_error",
     "biases": [[0.1, -0.2], [0.3, 0.1]], "update_biases": True},
    {"layers": [2, 3, 2, 2], "activations": ["relu", "tanh", "softmax"], "loss": "mean_squared_error"},
]


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("order", ["synchronous", "sequential"])
def test_every_step_formula_gives_its_value(spec, order):
    samples = [{"inputs": [0.3 - 0.1 * i for i in range(spec["layers"][0])],
                "targets": [0.2 + 0.6 * (k == 0) for k in range(spec["layers"][-1])]},
               {"inputs": [0.7] * spec["layers"][0], "targets": [0.5] * spec["layers"][-1]}]
    if spec.get("loss") == "cross_entropy" and spec["activations"][-1] == "softmax":  # a distribution
        for sample in samples:
            sample["targets"] = [t / sum(sample["targets"]) for t in sample["targets"]]
    trace = stepgrad.explain(stepgrad.Network.from_dict(dict(spec, seed=1, samples=samples)), update_order=order)
    values = trace.values
    for step in trace:
        if step.text:
            assert evaluate(parse(step.text), values.__getitem__) == pytest.approx(step.value, rel=1e-12, abs=1e-15), step.name


def _registry_specs() -> list[dict]:
    """One network per (output activation, valid loss), the hidden activations taking turns."""
    hidden = [a for a, entry in ACTIVATIONS.items() if entry.hidden_ok]
    specs = []
    for out in ACTIVATIONS:
        for loss, entry in LOSSES.items():
            if entry.value is None and out not in entry.combinations:
                continue
            specs.append({"layers": [2, 3, 2], "activations": [hidden[len(specs) % len(hidden)], out], "loss": loss,
                          "update_biases": True, "biases": [[0.1, -0.2, 0.3], 0.1]})
    return specs


REGISTRY_SPECS = _registry_specs()


def _check(spec: dict, order: str, optimizer: str | None) -> set[str]:
    samples = [{"inputs": [0.3, -1.2], "targets": [0.9, 0.1]}, {"inputs": [0.7, 0.7], "targets": [0.2, 0.8]}]
    if LOSSES[spec["loss"]].value is not None:  # wide targets: both branches of huber
        samples[0]["targets"] = [2.6, -1.4]
    net = stepgrad.Network.from_dict(dict(spec, seed=1, samples=samples))
    trace = stepgrad.explain(net, update_order=order, optimizer=optimizer)
    values = trace.values
    texts = set()
    for step in trace:
        if step.text:
            texts.add(step.text)
            assert evaluate(parse(step.text), values.__getitem__) == pytest.approx(step.value, rel=1e-12, abs=1e-15), step.name
    return texts


@pytest.mark.parametrize("spec", REGISTRY_SPECS, ids=lambda s: "-".join(s["activations"]) + "-" + s["loss"])
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_every_registry_formula_is_recomputed(spec, optimizer):
    order = "sequential" if OPTIMIZERS[optimizer].plain else "synchronous"
    # the optimizer's own learning rate: RMSprop's first step is about 10 eta per weight, which at 0.5 drives a
    # cross-entropy output to 0 after the step
    _check(dict(spec, learning_rate=OPTIMIZERS[optimizer].learning_rate), order, optimizer if optimizer != "sgd" else None)


def test_the_registry_specs_use_every_entry():
    used = {a for s in REGISTRY_SPECS for a in s["activations"]}
    assert used == set(ACTIVATIONS)
    assert {s["loss"] for s in REGISTRY_SPECS} == set(LOSSES)
    for loss, entry in LOSSES.items():
        assert {s["activations"][-1] for s in REGISTRY_SPECS if s["loss"] == loss} >= set(entry.combinations)


def test_grammar():
    v = {"a": 2.0, "b": -3.0}.__getitem__
    assert evaluate(parse("1 - «a»^2"), v) == -3.0
    assert evaluate(parse("-(«b» - «a») * 1/2"), v) == 2.5
    assert evaluate(parse("(1 if «b» > 0 else 0.01)"), v) == 0.01
    assert evaluate(parse("max(0, «a») + exp(0) + ln(1) + tanh(0)"), v) == 3.0
    assert evaluate(parse("sqrt(4) + abs(«b») + min(1, «a») + log1p(0)"), v) == 6.0
    assert math.isclose(evaluate(parse("1 / (1 + exp(-«a»))"), v), 1 / (1 + math.exp(-2)))


@pytest.mark.parametrize("text", ["__import__('os')", "«a» +", "open(«a»)", "«a» «a»", "(«a»"])
def test_nothing_else_is_understood(text):
    with pytest.raises(FormulaError):
        parse(text)
