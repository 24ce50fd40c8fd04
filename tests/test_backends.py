"""Every training backend agrees with engine.step (float64, 1e-12 relative) over the whole registry.

The cases are drawn from the registries themselves: every activation (as the output, and in turn
as a hidden layer), every loss valid with it, every optimizer and every update order it allows.
A new entry is tested here the moment it exists; a backend that declines a network must do so
for the reason its `supports` names (an entry without that backend's code, or numba missing), and
train() then still equals the engine's loop.
"""

from __future__ import annotations

import numpy as np
import pytest

import stepgrad
from stepgrad.core import optim
from stepgrad.core.functions import ACTIVATIONS, LOSSES
from stepgrad.training import fast, pure, tiny
from stepgrad.training.loop import train
from test_fast import assert_same_parameters, reference

RTOL, ATOL = 1e-12, 1e-14
HIDDEN = [a for a, entry in ACTIVATIONS.items() if entry.hidden_ok]


def _cases() -> list[tuple]:
    cases = []
    # the first three optimizers' cases first, the later entries' after them: a new optimizer does not
    # move the hidden activation that earlier cases take (each case's network stays the same)
    first = list(optim.OPTIMIZERS)[:3]
    for group in (first, [o for o in optim.OPTIMIZERS if o not in first]):
        for out_act in ACTIVATIONS:
            for loss, entry in LOSSES.items():
                if entry.value is None and out_act not in entry.combinations:
                    continue
                for opt in group:
                    for order in ("synchronous", "sequential") if optim.OPTIMIZERS[opt].plain else ("synchronous",):
                        hidden = HIDDEN[len(cases) % len(HIDDEN)]
                        cases.append((hidden, out_act, loss, opt, order))
    return cases


CASES = _cases()
IDS = ["-".join(c) for c in CASES]


def network(hidden: str, out_act: str, loss: str, order: str, seed: int, samples: int = 5) -> stepgrad.Network:
    rng = np.random.default_rng(seed)
    layers = [3, 4, 2]
    combined = LOSSES[loss].combination(out_act)
    if out_act == "softmax" or (combined is not None and combined.distribution):
        t = rng.dirichlet(np.ones(2), size=samples)
    elif out_act == "sigmoid" or combined is not None:  # probabilities (a loss of raw scores)
        t = rng.uniform(0.05, 0.95, size=(samples, 2))
    else:  # wide targets: huber's both branches
        t = rng.normal(0, 1.5, size=(samples, 2))
    return stepgrad.Network.from_dict({
        "layers": layers, "activations": [hidden, out_act], "loss": loss, "learning_rate": 0.05,
        "update_biases": bool(seed % 2 == 0), "update_order": order, "seed": seed,
        "weights": [rng.normal(0, 0.8, size=(layers[l + 1], layers[l])).tolist() for l in range(2)],
        "biases": [float(rng.normal()), rng.normal(size=2).tolist()] if seed % 3 else [[0.1, -0.2, 0.3, 0.0], 0.2],
        "samples": [{"inputs": x.tolist(), "targets": y.tolist()} for x, y in zip(rng.normal(size=(samples, 3)), t)],
    })


def declined_for_a_reason(backend: str, net: stepgrad.Network, opt: str) -> bool:
    """The registry-derived reasons a backend may decline a (small, float64) network."""
    if backend == "tiny":
        loss = LOSSES[net.loss]
        combined = loss.combination(net.activations[-1])
        codes = [ACTIVATIONS[a].kernel for a in net.activations] + [
            combined.kernel if combined else loss.kernel, optim.OPTIMIZERS[opt].kernel]
        return not tiny.available() or None in codes
    if backend == "pure":
        loss = LOSSES[net.loss]
        combined = loss.combination(net.activations[-1])
        forms = [ACTIVATIONS[a].python for a in net.activations] + [
            combined.python if combined else loss.python, optim.OPTIMIZERS[opt].python]
        return None in forms
    return False  # DenseTrainer computes every registry entry


def run_backend(backend: str, net, batches, order: str, opt: str):
    state = optim.OptimizerState.fresh(opt, optim.parameters(net))
    got = net.copy()
    if backend == "dense":
        trainer = fast.DenseTrainer(net, 5, np.float64, state, order)
        for bx, bt in batches:
            trainer.step(bx, bt)
        trainer.write_back(got)
        return got, None, trainer.exported_state()
    module = {"tiny": tiny, "pure": pure}[backend]
    x, t = net.require_samples()
    if all(len(bx) == len(x) for bx, _ in batches):
        params, errors = module.run(net, x, t, len(batches), None, 0, state, order == "sequential")
    else:  # the batches of test_mini_batches: rows of one permutation
        perm = np.array([3, 0, 4, 1, 2], dtype=np.int64)
        params, errors = module.run(net, x, t, 3, (perm, np.array([0, 2, 4]), np.array([2, 4, 5])), 2, state,
                                    order == "sequential")
    got.weights, got.biases = tiny.Layout(net).unpack(params, net.weights, net.biases)
    return got, errors, state


@pytest.mark.parametrize("backend", ["tiny", "pure", "dense"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_backend_matches_engine(case, backend):
    hidden, out_act, loss, opt, order = case
    for seed in (1, 2):
        net = network(hidden, out_act, loss, order, seed)
        module = {"tiny": tiny, "pure": pure, "dense": fast}[backend]
        if not module.supports(net, np.float64, opt, order):
            assert declined_for_a_reason(backend, net, opt), f"{backend} declined {case} for no registry reason"
            return
        x, t = net.require_samples()
        perm = np.array([3, 0, 4, 1, 2])
        for batches in ([(x, t)] * 12, [(x[perm[a:b]], t[perm[a:b]]) for a, b in ((0, 2), (2, 4), (4, 5))]):
            expected, errors, state = reference(net, batches, order, opt)
            got, got_errors, got_state = run_backend(backend, net, batches, order, opt)
            if "s" in optim.OPTIMIZERS[opt].slots:
                # Adam divides by the root of the squared gradient: a gradient that is a small difference of
                # large terms (its last bits differing between numpy's and libm's tanh or exp) moves its
                # weight by a full step either way, so the backends agree to 1e-10 there, not 1e-12
                for a, b in zip(got.weights + got.biases, expected.weights + expected.biases):
                    np.testing.assert_allclose(a, b, rtol=1e-10, atol=ATOL)
            else:
                assert_same_parameters(got, expected)
            if got_errors is not None:
                np.testing.assert_allclose(got_errors, errors, rtol=RTOL, atol=ATOL)
            for slot in state.slots:
                for a, b in zip(got_state.slots[slot], state.slots[slot]):
                    np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
            if not optim.OPTIMIZERS[opt].plain:  # the reference loop counts steps only for stateful rules
                assert got_state.t == state.t


@pytest.mark.parametrize("numba", [True, False], ids=["with-numba", "without-numba"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_train_equals_an_engine_loop(case, numba, monkeypatch):
    hidden, out_act, loss, opt, order = case
    if numba and not tiny.available():
        pytest.skip("numba not installed")
    if not numba:
        monkeypatch.setattr(tiny, "_kernel", False)
    net = network(hidden, out_act, loss, order, 3)
    x, t = net.require_samples()
    expected, errors, _ = reference(net, [(x, t)] * 20, order, opt)
    history = train(net, 20, optimizer=opt, every=1)
    assert_same_parameters(history.network, expected)
    np.testing.assert_allclose(history.errors[:-1], errors, rtol=RTOL, atol=ATOL)


def test_every_registry_entry_is_in_the_cases():
    assert {c[0] for c in CASES} == set(HIDDEN)
    assert {c[1] for c in CASES} == set(ACTIVATIONS)
    assert {c[2] for c in CASES} == set(LOSSES)
    assert {c[3] for c in CASES} == set(optim.OPTIMIZERS)
    for loss, entry in LOSSES.items():
        assert {c[1] for c in CASES if c[2] == loss} >= set(entry.combinations)


def test_without_numba_the_pure_path_trains_the_deck(monkeypatch):
    monkeypatch.setattr(tiny, "_kernel", False)
    net = stepgrad.builtin()
    assert not tiny.supports(net) and pure.supports(net)
    out = train(net, 10_000, update_order="sequential").network_outputs()[0]
    assert abs(out[0] - 0.015912196) < 1e-9 and abs(out[1] - 0.984065734) < 1e-9  # the deck's figures


def test_backends_refuse_what_they_do_not_support():
    """An entry without the backend's code is declined up front, and run() refuses it before computing."""
    import sympy

    from stepgrad.core.functions import register, unregister
    from stepgrad.core.symbolic import formulas

    register(formulas.ActivationFormula("cube_root_ish", formulas.net / sympy.sqrt(1 + formulas.net ** 2), "nn.Identity",
                                        None))  # a run-time entry: no numba kernel branch
    try:
        net = network("cube_root_ish", "linear", "huber", "synchronous", 1)
        assert not tiny.supports(net)
        with pytest.raises(ValueError, match="does not support"):
            tiny.run(net, net.inputs, net.targets, 1, None, 0, optim.OptimizerState.fresh("sgd", []), False)
    finally:
        unregister("cube_root_ish")
    soft = network("tanh", "softmax", "cross_entropy", "synchronous", 1)
    assert not pure.supports(soft)
    with pytest.raises(ValueError, match="does not support"):
        pure.run(soft, soft.inputs, soft.targets, 1, None, 0, optim.OptimizerState.fresh("sgd", []), False)


def test_unknown_names_are_clear_errors():
    from stepgrad.core.errors import StepgradError
    from stepgrad.core.functions import activation, loss

    with pytest.raises(StepgradError, match="unknown activation 'swish'"):
        activation("swish")
    with pytest.raises(StepgradError, match="unknown loss 'hinge'"):
        loss("hinge")
    with pytest.raises(StepgradError, match="unknown optimizer"):
        optim.get("adamax")


def test_generated_code_names_only_registry_forms():
    """The pure path's source comes from the registry's templates: no user text reaches it."""
    source = pure.generate([2, 2, 2], ["sigmoid", "sigmoid"], "half_squared_error", [1, 1], False, True, "sgd")
    compile(source, "<test>", "exec")
    assert "exp(-z0_0)" in source and "p4 = p4 - lr * g4" in source
