"""torch.optim's RMSprop, Adagrad and NAdam, and parameter groups: read, explained, and equal to torch's own
opt.step() (float64, after 0 and 3 earlier steps); options stepgrad lacks refused in one line."""

from __future__ import annotations

import numpy as np
import pytest

import stepgrad
from stepgrad.core import engine, optim
from stepgrad.core.errors import StepgradError
from stepgrad.core.names import gradient, layout, updated
from torch_helpers import torch_next_step

torch = pytest.importorskip("torch")
nn = torch.nn

OPTIMIZERS = {
    "rmsprop": lambda p: torch.optim.RMSprop(p, lr=0.01),
    "rmsprop_decay": lambda p: torch.optim.RMSprop(p, lr=0.02, alpha=0.9, eps=1e-6, weight_decay=0.05),
    "rmsprop_momentum": lambda p: torch.optim.RMSprop(p, lr=0.01, momentum=0.8),
    "rmsprop_centered": lambda p: torch.optim.RMSprop(p, lr=0.01, centered=True, weight_decay=0.02),
    "rmsprop_both": lambda p: torch.optim.RMSprop(p, lr=0.01, momentum=0.7, centered=True),
    "adagrad": lambda p: torch.optim.Adagrad(p, lr=0.1),
    "adagrad_options": lambda p: torch.optim.Adagrad(p, lr=0.1, lr_decay=0.2, weight_decay=0.03,
                                                     initial_accumulator_value=0.4, eps=1e-8),
    "nadam": lambda p: torch.optim.NAdam(p, lr=0.02),
    "nadam_options": lambda p: torch.optim.NAdam(p, lr=0.03, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.02,
                                                 momentum_decay=0.01),
}


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    return torch.tensor(rng.normal(size=(4, 3))), torch.tensor(rng.uniform(size=(4, 2)))


def _model(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()


def _user_run(make, earlier: int, seed: int = 0):
    """The user's model and optimizer after `earlier` steps; and what their own opt.step() does next (on a joint
    deep copy, so the optimizer's state is torch's own, dtypes included): gradients and new parameters by name."""
    model = _model(seed)
    x, y = _data(seed)
    opt = make(model.parameters())
    _, grads, after = torch_next_step(model, opt, x, y, nn.MSELoss(), earlier)
    return model, opt, x, y, grads, after


def _assert_equal_to_torch(trace, grads, after):
    values = trace.values
    names = layout([3, 4, 2], [False, False])
    for l, prefix in enumerate(("0", "2")):
        for (j, i), w in np.ndenumerate(np.array(names.weights[l])):
            key = f"{prefix}.weight"
            assert values[gradient(w)] == pytest.approx(grads[key][j, i], rel=1e-12, abs=1e-15), w
            assert abs(values[updated(w)] - after[key][j, i]) <= 1e-12 * max(1.0, abs(after[key][j, i])), w
        for j, b in enumerate(names.biases[l]):
            key = f"{prefix}.bias"
            assert abs(values[updated(b)] - after[key][j]) <= 1e-12 * max(1.0, abs(after[key][j])), b


@pytest.mark.parametrize("earlier", [0, 3])
@pytest.mark.parametrize("kind", list(OPTIMIZERS))
def test_the_optimizer_equals_torchs_own_step(kind, earlier):
    model, opt, x, y, grads, after = _user_run(OPTIMIZERS[kind], earlier)
    trace = stepgrad.explain_torch(model, x, y, loss_fn=nn.MSELoss(), optimizer=opt)
    assert trace.meta["optimizer"]["name"] == kind.split("_")[0] and trace.meta["optimizer"]["t"] == earlier + 1
    _assert_equal_to_torch(trace, grads, after)
    comparison = stepgrad.compare_with_torch(model, x, y, loss_fn=nn.MSELoss(), optimizer=opt)
    assert comparison.agrees(1e-12), str(comparison)


def test_every_format_explains_the_new_optimizers_step():
    model, opt, x, y, _, _ = _user_run(OPTIMIZERS["rmsprop_both"], 2)
    trace = stepgrad.explain_torch(model, x, y, loss_fn=nn.MSELoss(), optimizer=opt)
    for fmt in ("text", "markdown", "html", "json", "latex"):
        out = stepgrad.render(trace, fmt)
        assert "rms_w1" in out.replace("\\_", "_") and "m_w1" in out.replace("\\_", "_"), fmt
    # only the rules that apply are shown: centered with momentum has all of them
    shown = {s.name for s in trace.section("optimizer").steps}
    assert {"s_w1+", "m_w1+", "rms_w1", "v_w1+"} <= shown
    model, opt, x, y, _, _ = _user_run(OPTIMIZERS["rmsprop"], 0)
    plain = stepgrad.explain_torch(model, x, y, loss_fn=nn.MSELoss(), optimizer=opt)
    names = {s.name for s in plain.section("optimizer").steps}
    assert "s_w1+" in names and "m_w1+" not in names and "v_w1+" not in names and "m_w1" not in names


def test_nadams_schedule_is_shown_once():
    model, opt, x, y, _, _ = _user_run(OPTIMIZERS["nadam_options"], 3)
    trace = stepgrad.explain_torch(model, x, y, loss_fn=nn.MSELoss(), optimizer=opt)
    names = [s.name for s in trace.section("optimizer").steps]
    assert names.count("mu") == 1 and names.count("prod+") == 1 and names.count("munext") == 1
    v = trace.values
    mu = 0.8 * (1 - 0.5 * 0.96 ** (4 * 0.01))
    assert v["mu"] == mu and v["t"] == 4
    state = opt.state[model[0].weight]
    assert v["prod"] == float(state["mu_product"])  # torch's own product so far, in its dtype
    assert v["float32"] == float(state["mu_product"].dtype == torch.float32)


@pytest.mark.parametrize("make, message", [
    (lambda p: torch.optim.NAdam(p, decoupled_weight_decay=True, weight_decay=0.1),
     "torch.optim.NAdam(decoupled_weight_decay=True) is not supported"),
    (lambda p: torch.optim.RMSprop(p, maximize=True), "torch.optim.RMSprop(maximize=True) is not supported"),
    (lambda p: torch.optim.Adagrad(p, maximize=True), "torch.optim.Adagrad(maximize=True) is not supported"),
    (lambda p: torch.optim.Adamax(p), "unsupported optimizer torch.optim.Adamax"),
])
def test_options_stepgrad_lacks_are_refused_in_one_line(make, message):
    model = _model()
    with pytest.raises(StepgradError) as err:
        stepgrad.explain_torch(model, *_data(), loss_fn=nn.MSELoss(), optimizer=make(model.parameters()))
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("name, make", [
    ("rmsprop", lambda p, h: torch.optim.RMSprop(p, lr=0.01, alpha=h["alpha"], eps=h["epsilon"])),
    ("adagrad", lambda p, h: torch.optim.Adagrad(p, lr=0.01, eps=h["epsilon"])),
    ("nadam", lambda p, h: torch.optim.NAdam(p, lr=0.01, betas=(h["beta1"], h["beta2"]), eps=h["epsilon"],
                                             momentum_decay=h["psi"])),
])
def test_training_with_the_registry_optimizer_equals_torch(name, make):
    """stepgrad train (the fastest backend that takes it) step for step against torch.optim on plain tensors."""
    net = stepgrad.Network.from_dict({"layers": [2, 3, 2], "activations": ["tanh", "sigmoid"], "seed": 4,
                                      "learning_rate": 0.01, "update_biases": True,
                                      "samples": [{"inputs": [0.3, -0.5], "targets": [0.2, 0.7]},
                                                  {"inputs": [0.9, 0.1], "targets": [0.6, 0.1]}]})
    hyper = dict(optim.OPTIMIZERS[name].hyper)
    x, t = (torch.tensor(a) for a in net.require_samples())
    ws = [torch.tensor(w, requires_grad=True) for w in net.weights]
    bs = [torch.tensor(b, requires_grad=True) for b in net.biases]
    opt = make(ws + bs, hyper)
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # NAdam's momentum product in float64, as stepgrad's own nadam
    try:
        for _ in range(5):
            opt.zero_grad()
            out = torch.sigmoid(torch.tanh(x @ ws[0].T + bs[0]) @ ws[1].T + bs[1])
            (0.5 * (t - out) ** 2).sum(dim=1).mean().backward()
            opt.step()
    finally:
        torch.set_default_dtype(default)
    trained = stepgrad.train(net, 5, optimizer=name).network
    for ours, theirs in zip(trained.weights + trained.biases, ws + bs):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
    # the engine's own step agrees with the backend's
    state = optim.OptimizerState.fresh(name, optim.parameters(net))
    current = net.copy()
    for _ in range(5):
        rec = engine.step(current, *net.require_samples(), "synchronous")
        new, _ = optim.apply(state, current.learning_rate, optim.parameters(current),
                             rec.grad_weights + rec.grad_biases, optim.active_flags(current))
        current.weights, current.biases = new[:net.depth], new[net.depth:]
    for a, b in zip(current.weights + current.biases, trained.weights + trained.biases):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


# -- parameter groups ------------------------------------------------------------------------------


def _split(parameters):
    parameters = list(parameters)
    return [p for p in parameters if p.dim() == 2], [p for p in parameters if p.dim() == 1]


def _adamw_no_decay_on_biases(parameters):
    weights, biases = _split(parameters)
    return torch.optim.AdamW([{"params": weights}, {"params": biases, "weight_decay": 0.0}], lr=0.01, weight_decay=0.1)


def _per_layer_sgd(parameters):
    parameters = list(parameters)
    return torch.optim.SGD([{"params": parameters[:2], "lr": 0.2, "momentum": 0.9, "nesterov": True},
                            {"params": parameters[2:], "weight_decay": 0.05}], lr=0.05)


def _rmsprop_groups(parameters):
    weights, biases = _split(parameters)
    return torch.optim.RMSprop([{"params": biases, "lr": 0.001, "centered": True},
                                {"params": weights, "momentum": 0.5}], lr=0.01)


GROUPS = {"adamw_no_decay_on_biases": _adamw_no_decay_on_biases, "per_layer_sgd": _per_layer_sgd,
          "rmsprop_groups": _rmsprop_groups}


@pytest.mark.parametrize("earlier", [0, 3])
@pytest.mark.parametrize("kind", list(GROUPS))
def test_parameter_groups_equal_torchs_own_step(kind, earlier):
    model, opt, x, y, grads, after = _user_run(GROUPS[kind], earlier)
    trace = stepgrad.explain_torch(model, x, y, loss_fn=nn.MSELoss(), optimizer=opt)
    _assert_equal_to_torch(trace, grads, after)
    assert stepgrad.compare_with_torch(model, x, y, loss_fn=nn.MSELoss(), optimizer=opt).agrees(1e-12)


def test_a_parameters_own_settings_are_shown_and_used():
    model, opt, x, y, _, after = _user_run(_adamw_no_decay_on_biases, 0)
    trace = stepgrad.explain_torch(model, x, y, loss_fn=nn.MSELoss(), optimizer=opt)
    assert trace.meta["optimizer"]["settings"] == [{}, {}, {"decay": 0.0}, {"decay": 0.0}]
    v = trace.values
    assert v["decay"] == 0.1 and v["decay_b_o1"] == 0.0 and "decay_w1" not in v
    assert "decay_b_o1" in trace.step("b_o1+").text and "«decay» * «w1»" in trace.step("w1+").text
    text = stepgrad.render(trace, "text")
    assert "decay_b_h1 = 0" in text


def test_training_with_parameter_groups_equals_torch():
    """A network carrying torch's parameter groups (read by explain_torch) trains on, step for step, as torch."""
    model, opt, x, y, _, _ = _user_run(_per_layer_sgd, 2)
    net = stepgrad.interop.compare.read_step(model, x, y, loss_fn=nn.MSELoss(), optimizer=opt).network
    trained = stepgrad.train(net, 4, optimizer="torch_sgd").network
    for _ in range(4):
        opt.zero_grad()
        nn.MSELoss()(model(x), y).backward()
        opt.step()
    torch_after = [model[0].weight, model[2].weight, model[0].bias, model[2].bias]
    for ours, theirs in zip(trained.weights + trained.biases, torch_after):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("settings, message", [
    ([{"lr": 0.1}], "expected one table per parameter"),
    ([{"gamma": 1.0}, {}, {}, {}], "has no hyperparameter 'gamma'"),
    ([{"lr": "fast"}, {}, {}, {}], "expected a finite number"),
])
def test_per_parameter_settings_are_read_strictly(settings, message):
    net = stepgrad.builtin()
    params = optim.parameters(net)
    data = {"name": "torch_adam", "hyper": {}, "t": 0, "slots": {}, "settings": settings}
    with pytest.raises(StepgradError, match=message):
        optim.OptimizerState.from_dict(data, params)
    with pytest.raises(StepgradError, match="one learning rate for every parameter"):
        optim.OptimizerState.from_dict({"name": "sgd", "settings": [{"lr": 0.1}, {}, {}, {}]}, params)


@pytest.mark.parametrize("name", ["torch_sgd", "adamw", "rmsprop"])
@pytest.mark.parametrize("update_biases", [True, False])
def test_the_numpy_backend_takes_each_parameters_own_settings(name, update_biases):
    """fit()'s DenseTrainer (weights and bias in one matrix) equals engine.step + optim.apply with settings."""
    from stepgrad.training.fast import DenseTrainer

    net = stepgrad.Network.from_dict({"layers": [3, 4, 2], "activations": ["tanh", "sigmoid"], "seed": 2,
                                      "update_biases": update_biases, "learning_rate": 0.05})
    rng = np.random.default_rng(2)
    x, t = rng.normal(size=(5, 3)), rng.uniform(size=(5, 2))
    settings = [{"lr": 0.1, "mu": 0.5}, {}, {"decay": 0.0}, {"lr": 0.01, "decay": 0.2}] if name == "torch_sgd" else \
        [{}, {"lr": 0.02}, {"decay": 0.0}, {"decay": 0.0, "lr": 0.001}]
    if name == "torch_sgd":
        hyper = {"mu": 0.9, "decay": 0.01}
    elif name == "adamw":
        hyper = {}
    else:
        hyper = {"decay": 0.05}
        settings = [{"centered": 1.0}, {"mu": 0.4}, {"decay": 0.0}, {"lr": 0.001}]

    def fresh():
        state = optim.OptimizerState.fresh(name, optim.parameters(net), **hyper)
        state.settings = [dict(own) for own in settings]
        return state

    expected, state = net.copy(), fresh()
    for _ in range(3):
        rec = engine.step(expected, x, t, "synchronous")
        new, _ = optim.apply(state, expected.learning_rate, optim.parameters(expected),
                             rec.grad_weights + rec.grad_biases, optim.active_flags(expected))
        expected.weights, expected.biases = new[:2], new[2:]
    trainer = DenseTrainer(net, 5, np.float64, fresh(), "synchronous")
    for _ in range(3):
        trainer.step(x, t)
    got = net.copy()
    trainer.write_back(got)
    for a, b in zip(got.weights + got.biases, expected.weights + expected.biases):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    if not update_biases:
        for a, b in zip(got.biases, net.biases):
            np.testing.assert_array_equal(a, b)


def test_torch_sgds_rule_is_the_mathematics_of_this_step():
    """torch.optim.SGD's velocity: the formula that applies at this step, never a conditional written as code."""
    make = lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=False)  # noqa: E731
    model, opt, x, y, _, _ = _user_run(make, 0)
    first = stepgrad.explain_torch(model, x, y, loss_fn=nn.MSELoss(), optimizer=opt)
    model, opt, x, y, _, _ = _user_run(make, 2)
    later = stepgrad.explain_torch(model, x, y, loss_fn=nn.MSELoss(), optimizer=opt)
    assert first.step("v_w1+").text == "«grad_w1»" and "starts as the gradient" in first.step("v_w1+").note
    assert later.step("v_w1+").text == "«mu» * «v_w1» + (1 - «dampening») * «grad_w1»"
    assert later.step("step_w1").text == "«v_w1+»"
    for name in optim.OPTIMIZERS:
        for rule in optim.OPTIMIZERS[name].rules:
            assert " if " not in rule.text and "else" not in rule.text and "cases" not in rule.latex, (name, rule.role)


@pytest.mark.parametrize("name", ["adam", "nadam", "adagrad"])
def test_a_saved_state_before_the_first_step_may_leave_out_its_slots(name):
    """[training.optimizer] name = "nadam" alone (t = 0): the slots start where the optimizer starts them."""
    net = stepgrad.builtin()
    state = optim.OptimizerState.from_dict({"name": name, "hyper": {"initial": 0.3} if name == "adagrad" else {}},
                                           optim.parameters(net))
    fresh = optim.OptimizerState.fresh(name, optim.parameters(net), **({"initial": 0.3} if name == "adagrad" else {}))
    assert set(state.slots) == set(fresh.slots)
    for slot in fresh.slots:
        for a, b in zip(state.slots[slot], fresh.slots[slot]):
            np.testing.assert_array_equal(a, b)
    net.training = stepgrad.core.training_state.TrainingState(0, "synchronous", None, {"name": name})
    assert np.isfinite(stepgrad.explain(net, optimizer=name).values["w1+"])
