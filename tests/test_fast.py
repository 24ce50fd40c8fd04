"""Every fast training path agrees with engine.step (float64, 1e-12 relative) on random networks."""

from __future__ import annotations

import numpy as np
import pytest

import stepgrad
from stepgrad.core import engine, optim
from stepgrad.training import tiny
from stepgrad.training.fast import DenseTrainer
from stepgrad.training.loop import train

RTOL, ATOL = 1e-12, 1e-14

CASES = [  # (layers, activations, loss, shared biases, update_biases, order, optimizer)
    ([2, 2, 2], ["sigmoid", "sigmoid"], "half_squared_error", True, False, "synchronous", "sgd"),
    ([2, 2, 2], ["sigmoid", "sigmoid"], "half_squared_error", True, True, "sequential", "sgd"),
    ([3, 4, 3, 2], ["tanh", "relu", "linear"], "mean_squared_error", False, True, "sequential", "sgd"),
    ([4, 5, 3], ["leaky_relu", "softmax"], "cross_entropy", False, True, "synchronous", "momentum"),
    ([3, 4, 1], ["tanh", "sigmoid"], "cross_entropy", True, True, "synchronous", "adam"),
    ([3, 3, 3], ["sigmoid", "softmax"], "half_squared_error", False, False, "synchronous", "adam"),
    ([5, 6, 4, 3], ["tanh", "sigmoid", "softmax"], "cross_entropy", False, True, "synchronous", "momentum"),
]


def random_network(layers, acts, loss, shared, update_biases, order, seed, samples=5):
    rng = np.random.default_rng(seed)
    biases = [float(rng.normal()) if shared else rng.normal(size=n).tolist() for n in layers[1:]]
    targets = rng.uniform(0.05, 0.95, size=(samples, layers[-1]))
    if loss == "cross_entropy" and acts[-1] == "softmax":
        targets = np.eye(layers[-1])[rng.integers(0, layers[-1], samples)]
    return stepgrad.Network.from_dict({
        "layers": layers, "activations": acts, "loss": loss, "learning_rate": float(rng.uniform(0.05, 0.5)),
        "update_biases": update_biases, "update_order": order, "seed": seed,
        "weights": [rng.normal(size=(layers[l + 1], layers[l])).tolist() for l in range(len(layers) - 1)],
        "biases": biases,
        "samples": [{"inputs": x.tolist(), "targets": t.tolist()}
                    for x, t in zip(rng.normal(size=(samples, layers[0])), targets)],
    })


def reference(net, batches, order, optimizer):
    """engine.step, then the optimizer (optim.apply) on its gradients, batch after batch."""
    net = net.copy()
    state = optim.OptimizerState.fresh(optimizer, optim.parameters(net))
    errors = []
    for x, t in batches:
        rec = engine.step(net, x, t, order)
        errors.append(rec.forward.error)
        if optimizer == "sgd":
            engine.apply(net, rec)
        else:
            new, _ = optim.apply(state, net.learning_rate, optim.parameters(net), rec.grad_weights + rec.grad_biases,
                                 optim.active_flags(net))
            net.weights, net.biases = new[:net.depth], new[net.depth:]
    return net, errors, state


def assert_same_parameters(a, b):
    for x, y in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_allclose(x, y, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dense_trainer_matches_engine(case, seed):
    *shape, order, optimizer = case
    net = random_network(*shape, order, seed)
    x, t = net.require_samples()
    batches = [(x, t), (x[:3], t[:3]), (x[3:], t[3:]), (x, t)]
    expected, _, state = reference(net, batches, order, optimizer)
    trainer = DenseTrainer(net, 5, np.float64, optim.OptimizerState.fresh(optimizer, optim.parameters(net)), order)
    for bx, bt in batches:
        trainer.step(bx, bt)
    got = net.copy()
    trainer.write_back(got)
    assert_same_parameters(got, expected)
    for slot in state.slots:
        for a, b in zip(trainer.exported_state().slots[slot], state.slots[slot]):
            np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


needs_numba = pytest.mark.skipif(not tiny.available(), reason="numba not installed")


@needs_numba
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_tiny_kernel_matches_engine_full_batch(case, seed):
    *shape, order, optimizer = case
    net = random_network(*shape, order, seed)
    x, t = net.require_samples()
    expected, errors, _ = reference(net, [(x, t)] * 25, order, optimizer)
    state = optim.OptimizerState.fresh(optimizer, optim.parameters(net))
    params, got_errors = tiny.run(net, x, t, 25, None, 0, state, order == "sequential")
    got = net.copy()
    got.weights, got.biases = tiny.Layout(net).unpack(params, net.weights, net.biases)
    assert_same_parameters(got, expected)
    np.testing.assert_allclose(got_errors, errors, rtol=RTOL, atol=ATOL)
    assert state.t == 25


@needs_numba
@pytest.mark.parametrize("case", CASES[2:5])
def test_tiny_kernel_matches_engine_mini_batches(case):
    *shape, order, optimizer = case
    net = random_network(*shape, order, 7, samples=7)
    x, t = net.require_samples()
    perm = np.array([3, 0, 6, 1, 5, 2, 4], dtype=np.int64)
    starts, ends = np.array([0, 3, 6]), np.array([3, 6, 7])
    batches = [(x[perm[a:b]], t[perm[a:b]]) for a, b in zip(starts, ends)]
    expected, errors, _ = reference(net, batches, order, optimizer)
    state = optim.OptimizerState.fresh(optimizer, optim.parameters(net))
    params, got_errors = tiny.run(net, x, t, 3, (perm, starts, ends), 3, state, order == "sequential")
    got = net.copy()
    got.weights, got.biases = tiny.Layout(net).unpack(params, net.weights, net.biases)
    assert_same_parameters(got, expected)
    np.testing.assert_allclose(got_errors, errors, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("order", ["synchronous", "sequential"])
def test_train_fast_and_fallback_agree_with_engine(order, monkeypatch):
    net = random_network([2, 3, 2], ["sigmoid", "sigmoid"], "half_squared_error", True, True, order, 3)
    x, t = net.require_samples()
    expected, errors, _ = reference(net, [(x, t)] * 400, order, "sgd")
    fast = train(net, 400, every=1)
    assert_same_parameters(fast.network, expected)
    np.testing.assert_allclose(fast.errors[:-1], errors, rtol=RTOL, atol=ATOL)
    monkeypatch.setattr(tiny, "_kernel", False)  # as if numba were missing
    assert not tiny.available()
    slow = train(net, 400, every=1)
    assert_same_parameters(slow.network, expected)


def test_deck_10000_iterations_fast_path():
    history = train(stepgrad.builtin(), 10_000, update_order="sequential", every=1000)
    out = history.network_outputs()[0]
    assert abs(out[0] - 0.015912196) < 1e-9 and abs(out[1] - 0.984065734) < 1e-9  # the deck's figures
