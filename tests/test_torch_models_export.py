"""`stepgrad export --code`: the script runs, and its first step equals stepgrad's (the reference is PyTorch running it)."""

from __future__ import annotations

import runpy
import subprocess
import sys

import numpy as np
import pytest

import stepgrad
from stepgrad.core.functions import ACTIVATIONS, LOSSES
from stepgrad.core.names import layout, updated
from stepgrad.interop.code import training_code

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _default_dtype():
    """The scripts run here set torch's default dtype to float64; other tests expect torch's own default."""
    before = torch.get_default_dtype()
    yield
    torch.set_default_dtype(before)


def _cases():
    for loss, entry in LOSSES.items():
        outputs = list(entry.combinations) or ["linear", "sigmoid"]
        for out in outputs:
            for optimizer in ("sgd", "momentum", "adam", "torch_sgd", "adamw"):
                yield loss, out, optimizer


def _network(loss: str, out: str, reduction: str, seed: int) -> stepgrad.Network:
    rng = np.random.default_rng(seed)
    combined = LOSSES[loss].combination(out)
    targets = rng.dirichlet(np.ones(3), size=4) if combined is not None and combined.distribution \
        else rng.uniform(0.1, 0.9, size=(4, 3))
    hidden = [a for a, e in ACTIVATIONS.items() if e.hidden_ok]
    return stepgrad.Network.from_dict({
        "layers": [2, 4, 3], "activations": [hidden[seed % len(hidden)], out], "loss": loss, "learning_rate": 0.3,
        "update_biases": True, "reduction": reduction,
        "weights": [rng.normal(size=(4, 2)).tolist(), rng.normal(size=(3, 4)).tolist()],
        "biases": [rng.normal(size=4).tolist(), rng.normal(size=3).tolist()],
        "samples": [{"inputs": x.tolist(), "targets": t.tolist()} for x, t in zip(rng.normal(size=(4, 2)), targets)],
    })


@pytest.mark.parametrize("loss, out, optimizer", list(_cases()))
def test_the_scripts_first_step_equals_stepgrads(tmp_path, loss, out, optimizer):
    for seed, reduction in ((1, "mean"), (2, "sum")):
        net = _network(loss, out, reduction, seed)
        script = tmp_path / "train.py"
        script.write_text(training_code(net, optimizer))
        module = runpy.run_path(str(script), run_name="exported")
        module["step"](module["inputs"], module["targets"])
        trace = stepgrad.explain(net, update_order="synchronous", optimizer=optimizer)
        names = layout(net.layers, net.shared_biases)
        for l, linear in enumerate(module["linears"]):
            ours_w = np.array([[trace.values[updated(w)] for w in row] for row in names.weights[l]])
            ours_b = np.array([trace.values[updated(b)] for b in names.biases[l]])
            np.testing.assert_allclose(linear.weight.detach().numpy(), ours_w, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(linear.bias.detach().numpy(), ours_b, rtol=1e-9, atol=1e-12)


@pytest.mark.slow  # runs the script under torch; its step is checked in process above
def test_the_exported_script_runs(tmp_path):
    out = subprocess.run([sys.executable, "-m", "stepgrad", "export", "--code", "train.py"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    ran = subprocess.run([sys.executable, "train.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    first = ran.stdout.splitlines()[0]
    assert first == f"iteration 0: E_total {stepgrad.explain(stepgrad.builtin()).values['E_total']:.9f}"


@pytest.mark.slow
def test_a_data_set_model_exports_a_script_that_trains(tmp_path):
    pytest.importorskip("sklearn")
    assert subprocess.run([sys.executable, "-m", "stepgrad", "train", "--data", "xor", "--epochs", "3", "--save",
                           "x.toml"], cwd=tmp_path, capture_output=True).returncode == 0
    assert subprocess.run([sys.executable, "-m", "stepgrad", "export", "x.toml", "--code", "x.py"], cwd=tmp_path,
                          capture_output=True).returncode == 0
    ran = subprocess.run([sys.executable, "x.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("epoch 4: loss ")  # it goes on where stepgrad stopped


# -- the script continues where stepgrad stopped ----------------------------------------------------


def _per_neuron(seed: int, update_order: str = "synchronous") -> stepgrad.Network:
    """A 3-4-2 network with per-neuron, trained biases (PyTorch's kind), two samples."""
    rng = np.random.default_rng(seed)
    return stepgrad.Network.from_dict({
        "layers": [3, 4, 2], "activations": ["tanh", "sigmoid"], "learning_rate": 0.2, "update_biases": True,
        "update_order": update_order, "weights": [rng.normal(size=(4, 3)).tolist(), rng.normal(size=(2, 4)).tolist()],
        "biases": [rng.normal(size=4).tolist(), rng.normal(size=2).tolist()],
        "samples": [{"inputs": rng.normal(size=3).tolist(), "targets": rng.uniform(size=2).tolist()} for _ in range(2)],
    })


def _run_steps(tmp_path, net: stepgrad.Network, steps: int, optimizer: str | None = None) -> list:
    """The exported script, run by torch for `steps` steps: its nn.Linear layers afterwards."""
    script = tmp_path / "train.py"
    script.write_text(training_code(net, optimizer))
    module = runpy.run_path(str(script), run_name="exported")
    for _ in range(steps):
        module["step"](module["inputs"], module["targets"])
    return module["linears"]


def _assert_same(linears, net: stepgrad.Network, tolerance: float = 1e-12) -> None:
    for l, linear in enumerate(linears):
        np.testing.assert_allclose(linear.weight.detach().numpy(), net.weights[l], rtol=0, atol=tolerance)
        np.testing.assert_allclose(linear.bias.detach().numpy(), net.biases[l], rtol=0, atol=tolerance)


@pytest.mark.parametrize("optimizer", ["rmsprop", "adagrad", "nadam"])
def test_the_adaptive_optimizers_scripts_first_step_equals_stepgrads(tmp_path, optimizer):
    net = _network("half_squared_error", "sigmoid", "mean", 3)
    linears = _run_steps(tmp_path, net, 1, optimizer)
    _assert_same(linears, stepgrad.train(net, 1, optimizer=optimizer).network)


@pytest.mark.parametrize("optimizer", ["adam", "momentum", "torch_sgd", "torch_adam", "adamw", "rmsprop", "adagrad",
                                       "nadam"])
def test_the_script_of_a_saved_model_continues_its_optimizer_step_for_step(tmp_path, optimizer):
    trained = stepgrad.train(_per_neuron(1), 5, optimizer=optimizer).network  # state: moments, velocities, t = 5
    assert trained.training.optimizer["t"] == 5
    linears = _run_steps(tmp_path, trained, 3)
    _assert_same(linears, stepgrad.train(trained, 3, optimizer=optimizer).network)


def test_the_state_survives_saving_and_the_cli(tmp_path):
    stepgrad.save(stepgrad.train(_per_neuron(2), 4, optimizer="adam").network, tmp_path / "net.toml")
    out = subprocess.run([sys.executable, "-m", "stepgrad", "export", "net.toml", "--code", "train.py"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    module = runpy.run_path(str(tmp_path / "train.py"), run_name="exported")
    for _ in range(2):
        module["step"](module["inputs"], module["targets"])
    saved = stepgrad.load(tmp_path / "net.toml")
    _assert_same(module["linears"], stepgrad.train(saved, 2, optimizer="adam").network)


def test_another_optimizer_says_it_starts_fresh(tmp_path):
    trained = stepgrad.train(_per_neuron(3), 4, optimizer="adam").network
    code = training_code(trained, "momentum")
    assert "# NOTE: momentum starts fresh here: the network was trained with adam" in code
    linears = _run_steps(tmp_path, trained, 2, "momentum")  # fresh momentum, as stepgrad with reset state
    fresh = trained.copy()
    fresh.training = None
    _assert_same(linears, stepgrad.train(fresh, 2, optimizer="momentum").network)


def test_a_sequential_spec_trains_like_stepgrads_sequential_order(tmp_path):
    net = _per_neuron(4, "sequential")
    linears = _run_steps(tmp_path, net, 3)
    sequential = stepgrad.train(net, 3, update_order="sequential").network
    _assert_same(linears, sequential)
    synchronous = stepgrad.train(net, 3, update_order="synchronous").network
    assert not np.allclose(sequential.weights[0], synchronous.weights[0], rtol=0, atol=1e-9)  # the test can fail


@pytest.mark.parametrize("optimizer, order", [("sgd", "synchronous"), ("sgd", "sequential"), ("adam", "synchronous")])
def test_a_shared_trained_bias_trains_as_stepgrads(tmp_path, optimizer, order):
    net = stepgrad.builtin()  # b1, b2: one bias per layer
    net.update_biases, net.update_order = True, order
    trained = stepgrad.train(net, 2, optimizer=optimizer).network if optimizer != "sgd" else net
    linears = _run_steps(tmp_path, trained, 3)
    assert [tuple(linear.bias.shape) for linear in linears] == [(1,), (1,)]
    expected = stepgrad.train(trained, 3, optimizer=optimizer, update_order=order).network
    _assert_same(linears, expected)
    assert expected.biases[0][0] != net.biases[0][0]  # the bias did move


@pytest.mark.slow  # a process or a torch run: make test (CI)
def test_a_data_set_script_continues_with_stepgrads_batches(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)  # 40 rows in batches of 8: the order of the rows matters
    x = rng.normal(size=(40, 3))
    rows = [",".join(f"{v:.4f}" for v in r) + f",{int(r[0] * r[1] > 0)}" for r in x]
    (tmp_path / "d.csv").write_text("a,b,c,label\n" + "\n".join(rows) + "\n")
    run = [sys.executable, "-m", "stepgrad", "train"]
    assert subprocess.run([*run, "--data", "d.csv", "--label", "label", "--epochs", "3", "--optimizer", "adam",
                           "--batch-size", "8", "--save", "x.toml"], cwd=tmp_path, capture_output=True).returncode == 0
    assert subprocess.run([*run, "x.toml", "--epochs", "2", "--batch-size", "8", "--save", "y.toml"], cwd=tmp_path,
                          capture_output=True).returncode == 0
    monkeypatch.chdir(tmp_path)  # the script reads d.csv where it runs
    code = training_code(stepgrad.load(tmp_path / "x.toml"), epochs=2)
    after = stepgrad.load(tmp_path / "y.toml")
    for variant, same in ((code, True), (code.replace("default_rng((", "default_rng((1 + "), False)):
        script = tmp_path / "x.py"
        script.write_text(variant)
        module = runpy.run_path(str(script), run_name="exported")
        module["main"]()
        if same:
            _assert_same(module["linears"], after, tolerance=1e-12)
        else:  # another shuffle gives other weights: the comparison can fail
            assert abs(module["linears"][0].weight.detach().numpy() - after.weights[0]).max() > 1e-6
    ran = subprocess.run([sys.executable, str(tmp_path / "x.py")], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert ran.returncode == 0 and ran.stdout.startswith("epoch 4: loss "), ran.stderr


def test_a_new_registry_loss_exports_at_once(tmp_path):
    """Add a loss to the registry (its formula, one entry, registered here): export --code writes it, and the
    first step agrees."""
    sympy = pytest.importorskip("sympy")
    from stepgrad.core.functions import register, unregister
    from stepgrad.core.symbolic.formulas import LossFormula, out, target

    register(LossFormula("quartic", (out - target) ** 4 / 4, None, None))
    try:
        net = _network("half_squared_error", "linear", "mean", 5)
        net.loss = "quartic"
        linears = _run_steps(tmp_path, net, 1, "adam")
        stepped = stepgrad.train(net, 1, optimizer="adam").network
        _assert_same(linears, stepped)
        assert not np.allclose(stepped.weights[0], net.weights[0])
        assert sympy is not None
    finally:
        unregister("quartic")


@pytest.mark.parametrize("key", ["deck", "3-4-2 tanh/softmax CE, 2 samples", "2-3-3-1 relu, per-neuron biases",
                                 "8-6-4", "16-16-10"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_the_gallery_scripts_continue_stepgrads_training(tmp_path, key, optimizer):
    from gallery import network

    net = network(key)
    net.update_biases = True  # shared biases (b1, b2) train too
    trained = stepgrad.train(net, 3, optimizer=optimizer).network
    linears = _run_steps(tmp_path, trained, 2)
    _assert_same(linears, stepgrad.train(trained, 2, optimizer=optimizer).network)


def test_what_the_script_cannot_carry_is_one_line():
    from stepgrad.core.errors import StepgradError

    nadam = stepgrad.train(_per_neuron(4), 2, optimizer="nadam", float32=1.0).network
    with pytest.raises(StepgradError, match="this state's is float32"):
        training_code(nadam, None)


@pytest.mark.parametrize("kind", ["AdamW", "SGD", "RMSprop", "Adam", "Adagrad"])
def test_parameter_groups_continue_torchs_own_training_step_for_step(tmp_path, kind):
    """AdamW without decay on the biases and a learning rate of their own (and the like): the script's groups are
    torch's, so after torch's 3 steps and stepgrad's reading of them, 3 more script steps equal torch's 3 more."""
    from stepgrad.interop.compare import read_step

    torch.manual_seed(7)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    weights = [p for p in model.parameters() if p.dim() == 2]
    biases = [p for p in model.parameters() if p.dim() == 1]
    options = {"AdamW": ({"lr": 0.01, "weight_decay": 0.1}, {"weight_decay": 0.0, "lr": 0.05}),
               "SGD": ({"lr": 0.1, "momentum": 0.9, "nesterov": True}, {"momentum": 0.5, "nesterov": False}),
               "RMSprop": ({"lr": 0.01, "alpha": 0.9}, {"alpha": 0.95, "weight_decay": 0.01}),
               "Adam": ({"lr": 0.01, "betas": (0.9, 0.99)}, {"betas": (0.8, 0.999), "eps": 1e-6}),
               "Adagrad": ({"lr": 0.1}, {"lr_decay": 0.01, "weight_decay": 0.001})}[kind]
    opt = getattr(torch.optim, kind)([{"params": weights}, {"params": biases, **options[1]}], **options[0])
    x = torch.tensor(np.random.default_rng(7).normal(size=(5, 3)))
    y = torch.tensor(np.random.default_rng(8).uniform(size=(5, 2)))
    loss_fn = torch.nn.MSELoss()
    for _ in range(3):
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    net = read_step(model, x, y, loss_fn=loss_fn, optimizer=opt).network
    assert any(net.training.optimizer["settings"])
    linears = _run_steps(tmp_path, net, 3)
    for _ in range(3):
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    for ours, theirs in zip(linears, (model[0], model[2])):
        np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(ours.bias.detach().numpy(), theirs.bias.detach().numpy(), rtol=0, atol=1e-12)
