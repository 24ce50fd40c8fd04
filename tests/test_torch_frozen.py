"""Frozen parameters anywhere (a frozen weight after a trained layer, a partly frozen layer): held fixed exactly as
PyTorch holds them, with every optimizer (momentum, Adam, weight decay: torch.optim skips a parameter without a
gradient), in explain, train, check and compare_with_torch.

References: PyTorch's own training on a copy of the model (autograd + opt.step(), float64, 1e-12), finite
differences and autograd on an unfrozen copy for the frozen parameters' gradients (still true derivatives).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import stepgrad
from stepgrad.core import engine
from stepgrad.core.names import gradient, updated
from stepgrad.core.persist import dumps
from stepgrad.interop.compare import read_step

torch = pytest.importorskip("torch")
nn = torch.nn

OPTIMIZERS = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.3),
    "momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.05),
    "nesterov": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.02),
    "adam": lambda p: torch.optim.Adam(p, lr=0.05, weight_decay=0.02),
    "adamw": lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.1),
    "rmsprop": lambda p: torch.optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True, weight_decay=0.01),
    "adagrad": lambda p: torch.optim.Adagrad(p, lr=0.05, lr_decay=0.1, weight_decay=0.01),
    "nadam": lambda p: torch.optim.NAdam(p, lr=0.01, weight_decay=0.01),
}
ACTIVATIONS = [nn.Tanh, nn.Sigmoid, nn.Softplus, nn.ELU]


def _random_model(seed: int):
    """A random MLP whose weights and biases are frozen at random (never every parameter of the first layer: a frozen
    first layer is read as fixed features, interop/frozen.py, tested elsewhere)."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    widths = [int(n) for n in rng.integers(2, 5, size=int(rng.integers(3, 5)))]
    parts, linears = [], []
    for k, (a, b) in enumerate(zip(widths, widths[1:])):
        linear = nn.Linear(a, b, bias=bool(rng.random() < 0.85), dtype=torch.float64)
        linears.append(linear)
        parts.append(linear)
        if k < len(widths) - 2:
            parts.append(ACTIVATIONS[int(rng.integers(len(ACTIVATIONS)))]())
    tensors = [m.weight for m in linears] + [m.bias for m in linears if m.bias is not None]
    while True:
        frozen = rng.random(len(tensors)) < 0.4
        first = [linears[0].weight] + ([linears[0].bias] if linears[0].bias is not None else [])
        if not all(frozen[[i for i, t in enumerate(tensors) if any(t is f for f in first)]]) and not all(frozen):
            break
    for t, f in zip(tensors, frozen):
        t.requires_grad_(not f)
    x = torch.tensor(rng.normal(size=(4, widths[0])))
    y = torch.tensor(rng.uniform(size=(4, widths[-1])))
    return nn.Sequential(*parts), x, y


def _torch_train(model, make, x, y, steps: int, earlier: int = 0):
    """The optimizer after `earlier` steps on the model (what stepgrad is given), and a copy trained `steps` more."""
    opt = make([p for p in model.parameters()])
    for _ in range(earlier):
        opt.zero_grad()
        nn.MSELoss()(model(x), y).backward()
        opt.step()
    twin, twin_opt = copy.deepcopy((model, opt))
    for _ in range(steps):
        twin_opt.zero_grad()
        nn.MSELoss()(twin(x), y).backward()
        twin_opt.step()
    return opt, twin


def _pairs(net, model):
    """(stepgrad's array, torch's parameter) for every tensor, weights then biases (a missing bias: None)."""
    linears = [m for m in model if isinstance(m, nn.Linear)]
    return list(zip(net.weights, [m.weight for m in linears])) + list(zip(net.biases, [m.bias for m in linears]))


SEEDS = range(24)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_frozen_subsets_train_as_torch_trains(seed):
    """from_torch (with the optimizer's state, read_step) then `train` N steps equals torch's own N steps at 1e-12,
    frozen tensors equal to their starting values bit for bit."""
    model, x, y = _random_model(seed)
    name = list(OPTIMIZERS)[seed % len(OPTIMIZERS)]
    earlier, steps = seed % 3, 3 + seed % 4
    opt, twin = _torch_train(model, OPTIMIZERS[name], x, y, steps, earlier)
    step = read_step(model, x, y, loss_fn=nn.MSELoss(), optimizer=opt)
    assert step.frozen == 0
    net = step.network
    trained = stepgrad.train(net, steps, optimizer=step.optimizer).network
    for (ours, theirs), (start, _) in zip(_pairs(trained, twin), _pairs(net, model)):
        if theirs is None:  # nn.Linear(bias=False): a bias fixed at 0
            assert not np.any(ours)
            continue
        if not theirs.requires_grad:
            assert np.array_equal(ours, start) and np.array_equal(ours, theirs.detach().numpy())
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
    flags = [p is not None and p.requires_grad for _, p in _pairs(net, model)]
    assert net.trains() == flags


@pytest.mark.parametrize("seed", SEEDS)
def test_random_frozen_subsets_explain_and_compare_as_torch_steps(seed):
    """explain_torch's new value of every entry equals torch's next step; a frozen entry's w+ is w, said so; its
    gradient is the true derivative (autograd on an unfrozen copy); compare_with_torch agrees at 1e-12."""
    model, x, y = _random_model(seed)
    name = list(OPTIMIZERS)[(seed + 3) % len(OPTIMIZERS)]
    opt, twin = _torch_train(model, OPTIMIZERS[name], x, y, 1, earlier=seed % 2)
    trace = stepgrad.explain_torch(model, x, y, loss_fn=nn.MSELoss(), optimizer=opt)
    thawed = copy.deepcopy(model).requires_grad_(True)
    nn.MSELoss()(thawed(x), y).backward()
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    after = dict(twin.named_parameters())
    grads = {n: p.grad for n, p in thawed.named_parameters()}
    for ours, theirs in trace.meta["torch"]["names"].items():
        if theirs.startswith("(none"):
            continue
        key, _, index = theirs.partition("[")
        at = tuple(int(i) for i in index.rstrip("]").split(","))
        new = float(after[key].detach()[at])
        if updated(ours) not in trace.values:  # no bias trains: the biases are given, not updated (update_biases off)
            assert key in frozen and key.endswith("bias") and trace.values[ours] == new
            continue
        assert trace.values[updated(ours)] == pytest.approx(new, rel=1e-12, abs=1e-15), (ours, theirs)
        assert trace.values[gradient(ours)] == pytest.approx(float(grads[key][at]), rel=1e-10, abs=1e-14)
        if key in frozen:
            assert trace.values[updated(ours)] == trace.values[ours]
            assert trace.step(updated(ours)).note == f"fixed: frozen in the torch model ({theirs})"
    update = next(s for s in trace.sections if s.key == "update")
    given = trace.section("given").intro
    for key in frozen:
        assert key in given.split("do not require gradients")[0].split(". ")[-1] or f"{key} does not" in given
        if key.endswith("weight") or trace.meta["update_biases"]:  # no bias trains: biases are not updated at all
            assert f"(frozen in the torch model: {key})" in update.intro
    comparison = stepgrad.compare_with_torch(model, x, y, loss_fn=nn.MSELoss(), optimizer=opt)
    assert comparison.agrees(1e-12), str(comparison)
    assert {p.parameter for p in comparison.parameters if p.status == "fixed"} == frozen


def _finite_difference(net, layer: int, where: tuple[int, ...], role: str, h: float = 1e-6) -> float:
    inputs, targets = net.require_samples()
    values = []
    for sign in (1, -1):
        moved = net.copy()
        arrays = moved.weights if role == "weights" else moved.biases
        arrays[layer] = arrays[layer].copy()
        arrays[layer][where] += sign * h
        values.append(engine.forward(moved, inputs, targets=targets).error)
    return (values[0] - values[1]) / (2 * h)


SPEC = """
layers = [3, 4, 3, 2]
activations = ["tanh", "softplus", "sigmoid"]
update_weights = [true, false, true]
update_biases = [true, true, false]
seed = 3
biases = [[0.1, -0.2, 0.3, 0.05], [0.2, -0.1, 0.4], [0.3, -0.3]]
samples = [{inputs = [0.3, -0.5, 0.9], targets = [0.2, 0.7]}, {inputs = [-0.6, 0.1, 0.4], targets = [0.9, 0.1]}]
"""


def test_a_frozen_parameters_gradient_is_the_true_derivative_and_its_new_value_the_old():
    net = stepgrad.loads(SPEC)
    trace = stepgrad.explain(net)
    names = stepgrad.core.names.layout(net.layers, net.shared_biases)
    for (j, i) in [(0, 0), (2, 3), (1, 2)]:
        w = names.weights[1][j][i]
        assert trace.values[gradient(w)] == pytest.approx(_finite_difference(net, 1, (j, i), "weights"), rel=1e-6)
        assert trace.values[updated(w)] == trace.values[w] == net.weights[1][j, i]
        assert trace.step(updated(w)).text == f"«{w}»"
    for j, b in enumerate(names.biases[2]):
        assert trace.values[gradient(b)] == pytest.approx(_finite_difference(net, 2, (j,), "biases"), rel=1e-6)
        assert trace.values[updated(b)] == trace.values[b]
    w1 = names.weights[0][0][0]
    assert trace.values[updated(w1)] != trace.values[w1]
    update = next(s for s in trace.sections if s.key == "update")
    assert "w13..w24 are held fixed (update_weights = [true, false, true]): w13+ = w13 and so on" in update.intro
    assert "b_o1..b_o2 are held fixed (update_biases = [true, true, false])" in update.intro


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "torch_adam", "adamw", "rmsprop", "adagrad", "nadam"])
def test_train_holds_the_frozen_tensors_with_every_optimizer_and_agrees_with_the_engine(optimizer):
    """`train` (the engine: the compiled backends refuse per-tensor flags) and fit's numpy DenseTrainer keep the
    frozen tensors and move the others exactly as the engine's step + optim.apply does."""
    from stepgrad.core import optim
    from stepgrad.training.fast import DenseTrainer

    net = stepgrad.loads(SPEC)
    trained = stepgrad.train(net, 4, optimizer=optimizer).network
    assert np.array_equal(trained.weights[1], net.weights[1]) and np.array_equal(trained.biases[2], net.biases[2])
    assert not np.array_equal(trained.weights[0], net.weights[0])
    saved = stepgrad.loads(dumps(trained))  # a saved network keeps its flags (and trains on the same way)
    assert saved.trains() == net.trains() and "update_weights = [true, false, true]" in dumps(trained)
    state = optim.OptimizerState.fresh(optimizer, optim.parameters(net))
    trainer = DenseTrainer(net, 2, np.float64, state, "synchronous")
    inputs, targets = net.require_samples()
    for _ in range(4):
        trainer.step(DenseTrainer.with_ones(inputs, np.float64), targets)
    fitted = net.copy()
    trainer.write_back(fitted)
    for a, b in zip(fitted.weights + fitted.biases, trained.weights + trained.biases):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_the_spec_round_trips_and_to_torch_freezes_the_same_tensors():
    net = stepgrad.loads(SPEC)
    data = net.to_dict()
    assert data["update_weights"] == [True, False, True] and data["update_biases"] == [True, True, False]
    assert stepgrad.Network.from_dict(data).trains() == net.trains()
    model = stepgrad.to_torch(net)
    assert [p.requires_grad for p in (m.weight for m in model if isinstance(m, nn.Linear))] == [True, False, True]
    assert [m.bias.requires_grad for m in model if isinstance(m, nn.Linear)] == [True, True, False]
    back = stepgrad.from_torch(model)
    assert back.trains() == net.trains()


@pytest.mark.parametrize("spec, message", [
    ("update_weights = [true]", "expected true or false, or a list of 2"),
    ("update_weights = false", "no weight and no bias trains"),
    ("update_biases = [1, 0]", "expected true or false, or a list of 2"),
])
def test_bad_flags_are_one_line_naming_the_key(spec, message):
    with pytest.raises(stepgrad.SpecError) as err:
        stepgrad.loads(f"layers = [2, 2, 2]\n{spec}\n")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_check_marks_a_frozen_weight_moved_as_wrong_and_held_as_right():
    from stepgrad.teach.check import check, loads

    net = stepgrad.loads(SPEC)
    trace = stepgrad.explain(net)
    w = "w13"
    moved = trace.values[w] - net.learning_rate * trace.values[gradient(w)]
    report = check(net, loads(f"{w}+ = {trace.values[w]:.9g}\nw1+ = {trace.values['w1+']:.9g}"))
    assert {r.name: r.verdict for r in report.results} == {"w13+": "correct", "w1+": "correct"}
    (result,) = check(net, loads(f"{w}+ = {moved:.9g}")).results
    assert result.verdict == "wrong" and result.mistake == "frozen_updated"
    assert "w13 does not train (held fixed" in result.diagnosis


@pytest.mark.slow  # runs exported torch scripts: make test (CI)
@pytest.mark.parametrize("order, optimizer", [("synchronous", "sgd"), ("synchronous", "torch_adam"),
                                              ("sequential", "sgd")])
def test_the_exported_torch_script_holds_the_same_tensors(tmp_path, order, optimizer):
    """`stepgrad export --code`: the script freezes each held tensor, and its steps are stepgrad's."""
    import runpy

    from stepgrad.interop.code import training_code

    net = stepgrad.loads(SPEC.replace("seed = 3", f"seed = 3\nupdate_order = \"{order}\""))
    script = tmp_path / "train.py"
    script.write_text(training_code(net, optimizer))
    before = torch.get_default_dtype()
    try:  # the script sets torch's default dtype to float64; other tests expect torch's own default
        module = runpy.run_path(str(script), run_name="exported")
        for _ in range(3):
            module["step"](module["inputs"], module["targets"])
    finally:
        torch.set_default_dtype(before)
    trained = stepgrad.train(net, 3, optimizer=optimizer).network
    for l, linear in enumerate(module["linears"]):
        np.testing.assert_allclose(linear.weight.detach().numpy(), trained.weights[l], rtol=0, atol=1e-12)
        np.testing.assert_allclose(linear.bias.detach().numpy(), trained.biases[l], rtol=0, atol=1e-12)
    assert np.array_equal(module["linears"][1].weight.detach().numpy(), net.weights[1])
