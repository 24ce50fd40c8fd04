"""Optimizers against torch.optim (float64, step for step); mini-batch gradients; explain --optimizer."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tests.test_fast import random_network

import stepgrad
from stepgrad.core import engine, optim
from stepgrad.training.loop import train

torch = pytest.importorskip("torch")

TORCH_ACTS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "linear": lambda z: z}


def torch_run(net, optimizer, steps, hyper):
    """The same network in plain torch autograd + torch.optim; returns the parameters after each step."""
    x = torch.tensor(net.inputs, dtype=torch.float64)
    t = torch.tensor(net.targets, dtype=torch.float64)
    ws = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in net.weights]
    bs = [torch.tensor(b, dtype=torch.float64, requires_grad=True) for b in net.biases]
    params = ws + (bs if net.update_biases else [])
    if optimizer == "momentum":
        opt = torch.optim.SGD(params, lr=net.learning_rate, momentum=hyper["mu"])
    else:
        opt = torch.optim.Adam(params, lr=net.learning_rate, betas=(hyper["beta1"], hyper["beta2"]), eps=hyper["epsilon"])
    history = []
    for _ in range(steps):
        opt.zero_grad()
        a = x
        for l, (w, b) in enumerate(zip(ws, bs)):
            z = a @ w.T + b
            act = net.activations[l]
            a = torch.softmax(z, dim=1) if act == "softmax" else TORCH_ACTS[act](z)
        if net.loss == "cross_entropy":
            loss = -(t * torch.log_softmax(z, dim=1)).sum(dim=1).mean()
        else:
            loss = (0.5 * (t - a) ** 2).sum(dim=1).mean()
        loss.backward()
        opt.step()
        history.append([p.detach().numpy().copy() for p in ws + bs])
    return history


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
@pytest.mark.parametrize("seed", range(6))
def test_optimizers_match_torch_step_for_step(optimizer, seed):
    shapes = [([3, 4, 2], ["tanh", "sigmoid"], "half_squared_error"), ([4, 5, 3], ["relu", "softmax"], "cross_entropy"),
              ([2, 3, 3, 2], ["sigmoid", "tanh", "linear"], "half_squared_error")]
    layers, acts, loss = shapes[seed % 3]
    net = random_network(layers, acts, loss, seed % 2 == 0, seed % 3 != 2, "synchronous", seed)
    hyper = {"mu": 0.8} if optimizer == "momentum" else {"beta1": 0.85, "beta2": 0.99, "epsilon": 1e-7}
    expected = torch_run(net, optimizer, 12, hyper)
    # Adam divides by sqrt(s): last-bit differences in a near-zero gradient (torch sums in another
    # order) grow over the steps, so its tolerance is looser than momentum's.
    rtol = 1e-10 if optimizer == "momentum" else 1e-8
    # the general path: engine.step + optim.apply
    state = optim.OptimizerState.fresh(optimizer, optim.parameters(net), **hyper)
    current = net.copy()
    x, t = net.require_samples()
    for k in range(12):
        rec = engine.step(current, x, t, "synchronous")
        new, _ = optim.apply(state, current.learning_rate, optim.parameters(current),
                             rec.grad_weights + rec.grad_biases, optim.active_flags(current))
        current.weights, current.biases = new[:net.depth], new[net.depth:]
        for mine, theirs in zip(current.weights + current.biases, expected[k]):
            np.testing.assert_allclose(mine, theirs, rtol=rtol, atol=rtol / 100)
    # the training paths (tiny kernel or numpy), 12 full-batch steps
    trained = train(net, 12, optimizer=optimizer, **hyper).network
    for mine, theirs in zip(trained.weights + trained.biases, expected[-1]):
        np.testing.assert_allclose(mine, theirs, rtol=rtol, atol=rtol / 100)


def test_resumed_optimizer_state_continues_exactly():
    net = random_network([3, 4, 2], ["tanh", "sigmoid"], "half_squared_error", False, True, "synchronous", 5)
    once = train(net, 20, optimizer="adam").network
    half = train(net, 10, optimizer="adam").network
    json.dumps(half.training.to_dict())  # the saved state is plain data
    again = train(half, 10, optimizer="adam").network
    for a, b in zip(once.weights + once.biases, again.weights + again.biases):
        np.testing.assert_array_equal(a, b)


def test_mini_batch_gradient_is_the_mean_of_per_sample_gradients():
    net = random_network([4, 5, 3], ["tanh", "softmax"], "cross_entropy", False, True, "synchronous", 11, samples=6)
    x, t = net.require_samples()
    batch = engine.step(net, x, t)
    singles = [engine.step(net, x[s:s + 1], t[s:s + 1]) for s in range(6)]
    for l in range(net.depth):
        np.testing.assert_allclose(batch.grad_weights[l], np.mean([r.grad_weights[l] for r in singles], axis=0),
                                   rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(batch.grad_biases[l], np.mean([r.grad_biases[l] for r in singles], axis=0),
                                   rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_explain_optimizer_first_step_matches_torch(cli, optimizer):
    result = cli("explain", "--optimizer", optimizer, "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    v = data["values"]
    net = stepgrad.builtin()
    hyper = dict(optim.OPTIMIZERS[optimizer].hyper)
    expected = torch_run(net, optimizer, 1, hyper)[0]
    assert v["w5+"] == pytest.approx(expected[1][0, 0], rel=1e-12)
    assert v["w1+"] == pytest.approx(expected[0][0, 0], rel=1e-12)
    keys = [s["key"] for s in data["sections"]]
    assert keys.index("optimizer") < keys.index("update") < keys.index("after")
    g = v["dE_total/dw5"]
    if optimizer == "momentum":
        assert v["v_w5"] == 0 and v["v_w5+"] == pytest.approx(g, rel=1e-15)
    else:  # first step: m_hat = g and s_hat = g^2 exactly in real arithmetic
        assert v["m_w5+"] == pytest.approx(0.1 * g, rel=1e-12)
        assert v["m_hat_w5"] == pytest.approx(g, rel=1e-12)
        assert v["s_hat_w5"] == pytest.approx(g * g, rel=1e-12)
        assert v["t"] == 1
    # the forward pass after the update uses the optimizer's weights
    assert v["E_total+"] == pytest.approx(engine.forward(
        net, net.inputs, [torch_w for torch_w in expected[:2]], net.biases, net.targets).error, rel=1e-12)


def test_explain_optimizer_only_selects_the_state(cli):
    result = cli("explain", "--optimizer", "adam", "--only", "w5", "--format", "json")
    assert result.returncode == 0, result.stderr
    names = list(json.loads(result.stdout)["values"])
    assert {"m_w5+", "s_w5+", "m_hat_w5", "s_hat_w5", "w5+", "dE_total/dw5"} <= set(names)
    assert "w6+" not in names and "m_w6+" not in names


def test_sequential_order_with_adam_is_a_clear_error(cli):
    result = cli("explain", "--optimizer", "adam", "--update-order", "sequential")
    assert result.returncode == 2 and "synchronous" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_explain_optimizer_in_hand_calculation_mode(cli):
    result = cli("explain", "--optimizer", "momentum", "--round", "4", "--format", "json")
    assert result.returncode == 0, result.stderr
    v = json.loads(result.stdout)["values"]
    assert v["dE_total/dw5"] == 0.0822  # the engine's rounded gradient
    assert v["v_w5+"] == 0.0822 and v["w5+"] == round(0.4 - 0.5 * 0.0822, 4)
