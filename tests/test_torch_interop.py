"""PyTorch interop: to_torch/from_torch round trips, state_dict export/import, explain_torch vs autograd."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import stepgrad
from conftest import slow_after
from stepgrad.core import engine
from stepgrad.core.errors import StepgradError
from stepgrad.core.names import layout
from test_engine_fd import random_network
from test_persist import same_network

torch = pytest.importorskip("torch")
nn = torch.nn
F = nn.functional

MODULES = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "linear": nn.Identity,
           "leaky_relu": lambda: nn.LeakyReLU(0.01), "softmax": lambda: nn.Softmax(dim=-1),
           "softplus": nn.Softplus, "elu": nn.ELU, "gelu": nn.GELU, "gelu_tanh": lambda: nn.GELU(approximate="tanh"),
           "silu": nn.SiLU, "softsign": nn.Softsign}


def test_every_registry_activation_has_a_module_here():
    from stepgrad.core.functions import ACTIVATIONS

    assert set(MODULES) == set(ACTIVATIONS)


def test_import_stepgrad_does_not_import_torch():
    code = "import sys, stepgrad; stepgrad.save; assert 'torch' not in sys.modules; print('ok')"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout == "ok\n"


def test_to_torch_builds_linear_and_activation_modules():
    net = random_network(5)
    model = stepgrad.to_torch(net)
    kinds = [type(m).__name__ for m in model]
    expected = []
    for act in net.activations:
        expected += ["Linear", type(MODULES[act]()).__name__]
    assert kinds == expected
    assert all(p.dtype == torch.float64 for p in model.parameters())


def test_to_torch_computes_what_the_engine_computes():
    for seed in range(40):
        net = random_network(seed)
        model = stepgrad.to_torch(net)
        ours = engine.forward(net, net.inputs).outs[-1]
        theirs = model(torch.tensor(net.inputs)).detach().numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
        for l, linear in enumerate(model[::2]):  # shared biases are expanded, one per neuron
            assert np.array_equal(linear.bias.detach().numpy(), np.broadcast_to(net.biases[l], (net.layers[l + 1],)))
            assert linear.bias.requires_grad == net.update_biases


def test_to_torch_then_from_torch_is_identical():
    for seed in range(60):
        net = random_network(seed)
        back = stepgrad.from_torch(stepgrad.to_torch(net), loss=net.loss, learning_rate=net.learning_rate,
                                   shared_biases=net.shared_biases, inputs=net.inputs, targets=net.targets)
        same_network(net, back)


def test_equal_biases_read_back_as_shared():
    net = stepgrad.builtin()
    back = stepgrad.from_torch(stepgrad.to_torch(net), inputs=net.inputs, targets=net.targets, name="mazur")
    same_network(net, back)  # b1, b2 shared again; update_biases false from requires_grad
    per_neuron = stepgrad.from_torch(stepgrad.to_torch(net), shared_biases=False)
    assert per_neuron.shared_biases == [False, False]
    assert per_neuron.biases[0].tolist() == [0.35, 0.35]


class Wrapper(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(2, 2), nn.Tanh())

    def forward(self, x):
        return self.layers(x)


class Branching(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x):
        return torch.tanh(self.fc(x)) + x


def test_a_module_subclass_is_followed_through_its_forward():
    model = Wrapper()
    net = stepgrad.from_torch(model)
    assert net.activations == ["tanh"]
    np.testing.assert_array_equal(net.weights[0], model.layers[0].weight.detach().double().numpy())


@pytest.mark.parametrize("module, message", [
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.Conv1d(1, 1, 1)), "unsupported layer '1' (Conv1d)"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.Tanh(), nn.Dropout())), "unsupported layer '1.1' (Dropout)"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.LeakyReLU(0.2)), "slope 0.01"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=-1), nn.Linear(3, 2)), "softmax is allowed only as the last"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=0)), "dim=-1"),
    (lambda: nn.Sequential(nn.Tanh(), nn.Linear(2, 3)), "an activation must follow an nn.Linear"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.ReLU()), "unsupported layer '2' (ReLU)"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.Linear(4, 2)), "takes 4 inputs but the layer before gives 3"),
    (lambda: nn.Sequential(), "no nn.Linear layer"),
    (lambda: "not a module", "expected an nn.Sequential"),
    (lambda: Branching(), "unsupported operation 'add' (function add) in Branching.forward()"),
])
def test_from_torch_names_the_first_unsupported_layer(module, message):
    with pytest.raises(StepgradError) as err:
        stepgrad.from_torch(module())
    assert message in str(err.value)


def test_from_torch_reads_a_float32_user_model():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))  # float32, no final activation
    net = stepgrad.from_torch(model)
    assert net.activations == ["relu", "linear"] and net.update_biases is True
    assert np.array_equal(net.weights[1], model[2].weight.detach().double().numpy())
    x = torch.randn(5, 3)
    np.testing.assert_allclose(engine.forward(net, x.double().numpy()).outs[-1], model(x).detach().numpy(), rtol=1e-5)


# -- explain_torch and compare_with_torch -----------------------------------------------------------


def random_model(seed: int):
    """A random nn.Sequential (float64) with a loss that fits its output, inputs and targets."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    widths = [int(n) for n in rng.integers(1, 9, size=int(rng.integers(2, 6)))]
    loss = ["half_squared_error", "mean_squared_error", "cross_entropy"][seed % 3]
    out = ("softmax" if seed % 2 else "sigmoid") if loss == "cross_entropy" else \
        ["sigmoid", "tanh", "linear", "softmax", "relu", "leaky_relu"][seed % 6]
    if out == "softmax":
        widths[-1] = max(widths[-1], 2)
    hidden = ["sigmoid", "tanh", "relu", "leaky_relu", "linear"]
    modules = []
    for l in range(len(widths) - 1):
        modules.append(nn.Linear(widths[l], widths[l + 1], dtype=torch.float64))
        act = out if l == len(widths) - 2 else hidden[int(rng.integers(len(hidden)))]
        if act != "linear" or rng.random() < 0.5:  # a bare Linear is linear too
            modules.append(MODULES[act]())
    samples = int(rng.integers(1, 6))
    x = torch.tensor(rng.normal(size=(samples, widths[0])))
    t = torch.tensor(rng.dirichlet(np.ones(widths[-1]), size=samples) if out == "softmax"
                     else rng.uniform(0, 1, size=(samples, widths[-1])))
    return nn.Sequential(*modules), loss, x, t


def autograd_loss(loss: str, model, x, t):
    """The loss written here from its definition (batch = mean over samples)."""
    z = x
    for m in list(model)[:-1] if not isinstance(model[-1], nn.Linear) else model:
        z = m(z)
    out = model[-1](z) if not isinstance(model[-1], nn.Linear) else z
    if loss == "half_squared_error":
        return (0.5 * (t - out) ** 2).sum(dim=1).mean()
    if loss == "mean_squared_error":
        return ((t - out) ** 2).mean(dim=1).mean()
    if isinstance(model[-1], nn.Softmax):
        return -(t * torch.log_softmax(z, dim=1)).sum(dim=1).mean()
    return F.binary_cross_entropy_with_logits(z, t, reduction="none").sum(dim=1).mean()


@pytest.mark.parametrize("chunk", slow_after(1, range(5)))
def test_explain_torch_agrees_with_autograd_on_50_random_models(chunk):
    for seed in range(chunk, 50, 5):
        model, loss, x, t = random_model(seed)
        lr = 0.1 + seed / 100
        trace = stepgrad.explain_torch(model, x, t, loss=loss, lr=lr)
        autograd_loss(loss, model, x, t).backward()
        values = trace.values
        layers = trace_layers(model)
        bias_names = layout(layers, [False] * (len(layers) - 1)).biases
        assert abs(values["E_total"] - autograd_loss(loss, model, x, t).item()) <= 1e-12
        n_w = 0
        for l, linear in enumerate(m for m in model if isinstance(m, nn.Linear)):
            g, w = linear.weight.grad.numpy(), linear.weight.detach().numpy()
            rows, cols = g.shape
            for j in range(rows):
                for i in range(cols):
                    n_w += 1
                    ours = values[f"dE_total/dw{n_w}"]
                    assert abs(ours - g[j, i]) <= 1e-9 * max(abs(g[j, i]), 1e-6), (seed, f"w{n_w}")
                    assert abs(values[f"w{n_w}+"] - (w[j, i] - lr * g[j, i])) <= 1e-9 * max(abs(w[j, i]), 1e-6)
            for j, name in enumerate(bias_names[l]):  # PyTorch's biases are per neuron: b_h1, b_o1 ...
                gb = linear.bias.grad.numpy()[j]
                assert abs(values[f"dE_total/d{name}"] - gb) <= 1e-9 * max(abs(gb), 1e-6), (seed, name)
        comparison = stepgrad.compare_with_torch(model, x, t, loss=loss, lr=lr)
        assert comparison.agrees(1e-9), str(comparison)
        assert len(comparison.parameters) == 2 * sum(isinstance(m, nn.Linear) for m in model)


def trace_layers(model) -> list[int]:
    linears = [m for m in model if isinstance(m, nn.Linear)]
    return [linears[0].in_features] + [m.out_features for m in linears]


def test_compare_with_torch_reports_a_disagreement(monkeypatch):
    model, loss, x, t = random_model(4)
    import stepgrad.interop.compare as tc

    real = tc.explain

    def wrong_step(net, **kw):
        net.learning_rate *= 1.001  # stepgrad's update is now slightly off; the gradients are not
        return real(net, **kw)

    monkeypatch.setattr(tc, "explain", wrong_step)
    comparison = stepgrad.compare_with_torch(model, x, t, loss=loss, lr=0.5)
    assert not comparison.agrees(1e-9)
    assert max(p.gradient_rel for p in comparison.parameters) < 1e-12
    assert max(p.updated_abs for p in comparison.parameters) > 1e-6
    assert "DISAGREES" in str(comparison)


def test_explain_torch_leaves_the_model_alone():
    model, loss, x, t = random_model(7)
    before = [p.detach().clone() for p in model.parameters()]
    stepgrad.compare_with_torch(model, x, t, loss=loss)
    stepgrad.explain_torch(model, x, t, loss=loss)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert all(p.grad is None for p in model.parameters())


# -- export / import ------------------------------------------------------------------------------


@pytest.mark.slow  # the command line with torch; the round trip is checked in process
def test_export_writes_a_state_dict_torch_loads(tmp_path, cli):
    result = cli("export", "-o", str(tmp_path / "model.pt"))
    assert result.returncode == 0, result.stderr
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert state["0.weight"].tolist() == [[0.15, 0.2], [0.25, 0.3]]
    assert state["2.bias"].tolist() == [0.6, 0.6]  # the shared bias b2, once per neuron
    model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 2), nn.Sigmoid()).double()
    model.load_state_dict(state)
    out = model(torch.tensor([[0.05, 0.1]], dtype=torch.float64))
    assert [round(v, 9) for v in out[0].tolist()] == [0.75136507, 0.772928465]  # the deck's out_o1, out_o2
    assert "nn.Sequential(nn.Linear(2, 2, dtype=torch.float64), nn.Sigmoid()" in result.stderr


def test_export_then_import_is_identical(tmp_path, capsys):
    for seed in range(10):
        net = random_network(seed)
        spec = tmp_path / f"net{seed}.json"
        stepgrad.save(net, spec)
        assert run_main(capsys, "export", str(spec), "-o", str(tmp_path / "m.pt"))[0] == 0
        layers = "-".join(map(str, net.layers))
        code, _, err = run_main(capsys, "import", str(tmp_path / "m.pt"), "--layers", layers, "--like", str(spec),
                                "-o", str(tmp_path / "back.json"))
        assert code == 0, err
        back = stepgrad.load(tmp_path / "back.json")
        if all(n > 1 or not s for n, s in zip(net.layers[1:], net.shared_biases)):
            same_network(net, back)
        assert all(np.array_equal(a, b) for a, b in zip(net.weights, back.weights))


@pytest.mark.slow  # the command line with torch
def test_import_a_users_state_dict(tmp_path, cli):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2), nn.Softmax(dim=-1))
    torch.save(model.state_dict(), tmp_path / "user.pt")
    result = cli("import", str(tmp_path / "user.pt"), "--layers", "3-4-2", "--activation", "tanh,softmax",
                 "--loss", "cross_entropy")
    assert result.returncode == 0, result.stderr
    net = stepgrad.loads(result.stdout)
    assert net.activations == ["tanh", "softmax"] and net.loss == "cross_entropy" and net.update_biases
    assert net.biases[0].tolist() == model[0].bias.detach().double().tolist()


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    """The CLI's entry point in this process (torch is imported once): exit status, stdout, stderr."""
    from stepgrad.cli import main

    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


def _write_bad_files(folder):
    good = folder / "good.pt"
    torch.save(nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 2)).state_dict(), good)
    files = {
        "truncated.pt": good.read_bytes()[:200],
        "text.pt": b"layers = [2, 2, 2]\n",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    torch.save(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2), nn.Linear(2, 2)).state_dict(), folder / "bn.pt")
    torch.save({"0.weight": torch.zeros(2, 2), "2.weight": torch.zeros(2, 3)}, folder / "chain.pt")
    torch.save({"0.weight": torch.zeros(2, 2), "0.bias": torch.zeros(3)}, folder / "bias.pt")
    torch.save(nn.Linear(2, 2), folder / "module.pt")
    torch.save([1, 2, 3], folder / "list.pt")
    return good


@pytest.mark.parametrize("name, args, message", [
    ("truncated.pt", [], "a damaged or truncated PyTorch file"),
    ("text.pt", [], "not a PyTorch file"),
    ("bn.pt", [], "unsupported layer '1' (parameters bias, num_batches_tracked, running_mean, running_var, weight)"),
    ("chain.pt", [], "2.weight has shape (2, 3): it must take the 2 outputs of the layer before"),
    ("bias.pt", [], "0.bias has shape (3,), expected (2,)"),
    ("module.pt", [], "stepgrad reads only state_dicts"),
    ("list.pt", [], "expected a state_dict (parameter names -> tensors), got list"),
    ("missing.pt", [], "no such file"),
    ("good.pt", ["--layers", "2-3-2"], "0.weight has shape (2, 2) but layers 2-3-2 (from --layers) need (3, 2)"),
    ("good.pt", ["--layers", "2-2"], "the file has 2 linear layers but layers 2-2 (from --layers) need 1"),
    ("good.pt", ["--activation", "swish"], "--activation: unknown activation 'swish'"),
    ("good.pt", ["--activation", "tanh,softmax", "--loss", "cross_entropy", "--layers", "2-2-2"], None),
])
def test_import_bad_input_is_one_line_and_exit_2(tmp_path, capsys, name, args, message):
    _write_bad_files(tmp_path)
    code, out, err = run_main(capsys, "import", str(tmp_path / name), *args)
    if message is None:
        assert code == 0, err
        return
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("stepgrad: error: ") and message in lines[0], lines
    assert out == ""


@pytest.mark.slow  # a process per case: make test (CI)
def test_bad_input_from_the_real_command_line(tmp_path, cli):
    (tmp_path / "text.pt").write_text("not torch")
    result = cli("import", str(tmp_path / "text.pt"))
    assert result.returncode == 2
    assert result.stderr == (f"stepgrad: error: {tmp_path / 'text.pt'}: not a PyTorch file "
                             "(torch.save writes a zip archive; this is not one)\n")


def test_export_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "bad.toml").write_text("layers = [2, 2]\nactivation = 'swish'\n")
    for args, message in ((["nothere.toml"], "no such file"), ([str(tmp_path / "bad.toml")], "unknown activation"),
                          ([], "folder does not exist")):
        out = str(tmp_path / ("missing/m.pt" if not args else "m.pt"))
        code, _, err = run_main(capsys, "export", *args, "-o", out)
        assert code == 2
        assert len(err.strip().splitlines()) == 1 and message in err


def test_the_pytorch_notebook_runs(capsys):
    """examples/pytorch.ipynb is an nbformat 4 notebook whose code cells run top to bottom."""
    import json
    from pathlib import Path

    nb = json.loads((Path(__file__).parent.parent / "examples" / "pytorch.ipynb").read_text())
    assert nb["nbformat"] == 4 and nb["cells"]
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(set(c) >= {"source", "outputs", "execution_count", "metadata"} for c in code)
    namespace: dict = {}
    for cell in code:
        exec(compile("".join(cell["source"]), "pytorch.ipynb", "exec"), namespace)  # our own example code
    assert namespace["comparison"].agrees(1e-9)
    printed = capsys.readouterr().out
    assert "agrees within 1e-9" in printed and "DISAGREES" not in printed
