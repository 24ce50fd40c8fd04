"""Adding an entry is writing its formula once: a throwaway activation and loss, registered from their
formulas alone, work in explain (every text format and --derive), train on every backend (or are
declined up front), and in to_torch / compare_with_torch; then they are removed again."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import sympy

import stepgrad
from stepgrad.core import engine, optim
from stepgrad.core.functions import ACTIVATIONS, LOSSES, register, unregister
from stepgrad.core.symbolic import formulas
from stepgrad.teach.check.formula import evaluate, parse
from stepgrad.tracing.derive import derive
from stepgrad.training import fast, pure, tiny

net_, out_, target_ = formulas.net, formulas.out, formulas.target


@pytest.fixture
def throwaway():
    act = register(formulas.ActivationFormula("tanhshrink", net_ - sympy.tanh(net_), "nn.Tanhshrink", "F.tanhshrink"))
    loss = register(formulas.LossFormula("quartic", (out_ - target_) ** 4 / 4, None, None))
    try:
        yield act, loss
    finally:
        unregister("tanhshrink")
        unregister("quartic")
    assert "tanhshrink" not in ACTIVATIONS and "quartic" not in LOSSES


def _network() -> stepgrad.Network:
    rng = np.random.default_rng(11)
    return stepgrad.Network.from_dict({
        "layers": [2, 3, 2], "activations": ["tanhshrink", "tanhshrink"], "loss": "quartic", "learning_rate": 0.3,
        "update_biases": True,
        "weights": [rng.normal(0, 1, (3, 2)).tolist(), rng.normal(0, 1, (2, 3)).tolist()],
        "biases": [0.1, [0.2, -0.1]],
        "samples": [{"inputs": [0.5, -1.0], "targets": [0.2, 0.7]}, {"inputs": [1.5, 0.3], "targets": [-0.4, 0.1]}],
    })


def test_a_throwaway_entry_explains_in_every_format(throwaway):
    act, loss = throwaway
    assert act.text == "«net» - tanh(«net»)" and loss.gradient_text == "(«out» - «target»)^3"
    trace = derive(stepgrad.explain(_network()))
    for fmt in ("text", "markdown", "html", "json"):
        page = stepgrad.render(trace, fmt)
        assert "tanh" in page and page.strip()
    assert json.loads(stepgrad.render(trace, "json"))
    values = dict(trace.values, **trace.context)
    lines = [(s, line) for s in trace for line in s.derivation]
    assert any(s.name.startswith("dout_") for s, _ in lines) and any(s.name.startswith(("dE_total/dout_o", "dE_total[")) for s, _ in lines)
    for step, line in lines:  # every derivation line of the new entries evaluates to the step's value
        assert math.isclose(evaluate(parse(line.text), values.__getitem__), step.value, rel_tol=1e-12, abs_tol=1e-15)


def test_a_throwaway_entry_trains_on_every_backend(throwaway):
    net = _network()
    x, t = net.require_samples()
    reference = net.copy()
    for _ in range(6):
        rec = engine.step(reference, x, t, "synchronous")
        reference.weights, reference.biases = rec.new_weights, rec.new_biases
    assert not tiny.supports(net)  # no numba branch for a run-time entry: declined up front
    assert pure.supports(net) and fast.supports(net)
    state = optim.OptimizerState.fresh("sgd", optim.parameters(net))
    params, _ = pure.run(net, x, t, 6, None, 0, state, False)
    weights, _ = tiny.Layout(net).unpack(params, net.weights, net.biases)
    trainer = fast.DenseTrainer(net, 2, np.float64)
    for _ in range(6):
        trainer.step(x, t)
    dense = net.copy()
    trainer.write_back(dense)
    for l in range(net.depth):
        np.testing.assert_allclose(weights[l], reference.weights[l], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(dense.weights[l], reference.weights[l], rtol=1e-12, atol=1e-14)
    history = stepgrad.train(net, 6)
    for l in range(net.depth):
        np.testing.assert_allclose(history.network.weights[l], reference.weights[l], rtol=1e-12, atol=1e-14)


def test_a_throwaway_entry_goes_to_torch_and_agrees(throwaway):
    torch = pytest.importorskip("torch")
    net = _network()
    model = stepgrad.to_torch(net)
    assert [type(m).__name__ for m in model] == ["Linear", "Tanhshrink", "Linear", "Tanhshrink"]
    x, t = net.require_samples()
    comparison = stepgrad.compare_with_torch(model, torch.tensor(x), torch.tensor(t), loss="quartic",
                                             lr=float(net.learning_rate))
    assert comparison.agrees(1e-9), str(comparison)
