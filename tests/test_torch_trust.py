"""PyTorch traps: frozen, partly frozen, no bias, shared and tied layers, reused and in-place activations,
identities. Each is either explained exactly (against autograd + opt.step() run here, float64) or refused
in one line naming the part: never a silent difference."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import stepgrad
from stepgrad.core.errors import StepgradError
from stepgrad.core.names import gradient, layout, updated
from stepgrad.interop.compare import Comparison, ParameterDiff
from torch_helpers import torch_next_step

torch = pytest.importorskip("torch")
nn = torch.nn
F = nn.functional

OPTIMIZERS = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.3),
    "momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
    "adam": lambda p: torch.optim.Adam(p, lr=0.05, weight_decay=0.02),
    "adamw": lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.1),
    "nesterov": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.8, dampening=0.0, nesterov=True, weight_decay=0.02),
    "dampened": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.3),
    "adam_betas": lambda p: torch.optim.Adam(p, lr=0.03, betas=(0.8, 0.95), eps=1e-6),
    "rmsprop": lambda p: torch.optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True, weight_decay=0.01),
    "adagrad": lambda p: torch.optim.Adagrad(p, lr=0.05, lr_decay=0.1, initial_accumulator_value=0.1),
    "nadam": lambda p: torch.optim.NAdam(p, lr=0.01, weight_decay=0.01, momentum_decay=0.01),
    "groups": lambda p: _no_decay_on_biases(list(p)),  # AdamW, the biases in a group without decay, lr of their own
}


def _no_decay_on_biases(parameters):
    return torch.optim.AdamW([{"params": [q for q in parameters if q.dim() == 2]},
                              {"params": [q for q in parameters if q.dim() == 1], "weight_decay": 0.0, "lr": 0.02}],
                             lr=0.01, weight_decay=0.1)


def _data(inputs: int = 3, outputs: int = 2, samples: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    return torch.tensor(rng.normal(size=(samples, inputs))), torch.tensor(rng.uniform(size=(samples, outputs)))


def _torch_step(model, x, y, make, earlier: int = 0):
    """PyTorch itself on a copy: (gradients, parameters after the step) by parameter name, and the optimizer
    (over the user's model, with `earlier` steps taken) that stepgrad is given."""
    opt = make(model.parameters())
    _, grads, after = torch_next_step(model, opt, x, y, nn.MSELoss(), earlier)
    return grads, after, opt


def _check_exact(model, linears: list[str], x, y, optimizer: str = "sgd", earlier: int = 0, fixed: list[str] = ()):
    """explain_torch's gradients and new values equal PyTorch's for every parameter; fixed biases stay, and so do the
    frozen first layers `fixed`."""
    before = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
    grads, after, opt = _torch_step(model, x, y, OPTIMIZERS[optimizer], earlier)
    trace = stepgrad.explain_torch(model, x, y, loss_fn=nn.MSELoss(), optimizer=opt)
    values = trace.values
    params = dict(model.named_parameters())
    widths = [params[f"{linears[0]}.weight"].shape[1]] + [params[f"{p}.weight"].shape[0] for p in linears]
    names = layout(widths, [False] * len(linears))
    compared = set()
    for l, prefix in enumerate(linears):
        w_names = np.array(names.weights[l])
        for j, i in np.ndindex(w_names.shape):
            w, key = str(w_names[j, i]), f"{prefix}.weight"
            if key in grads:  # a frozen weight has no gradient in torch (test_torch_frozen.py checks ours by FD)
                assert abs(values[gradient(w)] - grads[key][j, i]) <= 1e-9 * max(abs(grads[key][j, i]), 1e-6), w
            assert abs(values[updated(w)] - after[key][j, i]) <= 1e-12 * max(abs(after[key][j, i]), 1)
        compared.add(f"{prefix}.weight")
        key = f"{prefix}.bias"
        for j, b in enumerate(names.biases[l]):
            if key in grads:  # trained in torch: trained here, to the same value
                assert abs(values[gradient(b)] - grads[key][j]) <= 1e-9 * max(abs(grads[key][j]), 1e-6), b
                assert abs(values[updated(b)] - after[key][j]) <= 1e-12 * max(abs(after[key][j]), 1)
            else:  # frozen or absent: fixed here too, with the value torch keeps (0 for no bias)
                assert values.get(updated(b), values[b]) == values[b]  # held fixed: b+ = b, or no update shown
                kept = after[key][j] if key in after else 0.0
                assert values[b] == kept
        compared.add(key)
    for name in after:
        if name.rpartition(".")[0] in fixed:  # frozen first layers: torch left them as they were, stepgrad shows none
            assert np.array_equal(after[name], before[name]) and name not in grads
            compared.add(name)
    assert set(after) <= compared, "a parameter torch has was not checked"
    comparison = stepgrad.compare_with_torch(model, x, y, loss_fn=nn.MSELoss(), optimizer=opt)
    assert comparison.agrees(1e-9), str(comparison)
    assert {p.parameter for p in comparison.parameters} == set(after)
    return trace


def _mlp(bias=(True, True), seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4, bias=bias[0]), nn.Tanh(), nn.Linear(4, 2, bias=bias[1])).double()


def _refused(model, message: str, x=None, y=None):
    x, y = _data() if x is None else (x, y)
    for call in (lambda: stepgrad.explain_torch(model, x, y, loss_fn=nn.MSELoss()),
                 lambda: stepgrad.compare_with_torch(model, x, y, loss_fn=nn.MSELoss()),
                 lambda: stepgrad.from_torch(model)):
        with pytest.raises(StepgradError) as err:
            call()
        assert message in str(err.value) and "\n" not in str(err.value)


# -- frozen parameters ----------------------------------------------------------------------------


def test_a_frozen_weight_is_held_fixed_exactly():
    model = _mlp()
    model[0].weight.requires_grad_(False)
    _check_exact(model, ["0", "2"], *_data(), "adam", earlier=1)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "groups"])
def test_a_frozen_first_layer_is_held_fixed_exactly(optimizer):
    """A frozen feature extractor: its outputs are the step's inputs, and torch leaves it as it is."""
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    model[0].requires_grad_(False)
    trace = _check_exact(model, ["2", "4"], *_data(), optimizer, earlier=2, fixed=["0"])
    assert "Layer '0' is frozen (requires_grad=False): its outputs (after its tanh) are computed from the batch first " \
           "and are this step's inputs i1..i5" in trace.section("given").intro
    assert trace.meta["torch"]["names"]["w1"] == "2.weight[0, 0]"


def test_a_frozen_layer_after_a_trained_one_is_held_fixed_exactly():
    model = _mlp()
    model[2].requires_grad_(False)
    _check_exact(model, ["0", "2"], *_data(), "momentum", earlier=1)
    model[0].requires_grad_(False)
    with pytest.raises(StepgradError, match="every layer of Sequential is frozen"):
        stepgrad.explain_torch(model, *_data(), loss_fn=nn.MSELoss())


def test_one_frozen_bias_beside_trained_ones_is_held_fixed_exactly():
    model = _mlp()
    model[2].bias.requires_grad_(False)
    _check_exact(model, ["0", "2"], *_data(), "adamw", earlier=1)


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_every_bias_frozen_is_explained_exactly_and_kept(optimizer):
    model = _mlp(seed=1)
    for m in (model[0], model[2]):
        m.bias.requires_grad_(False)
    x, y = _data()
    _check_exact(model, ["0", "2"], x, y, optimizer, earlier=2)
    comparison = stepgrad.compare_with_torch(model, x, y, loss_fn=nn.MSELoss())
    assert [p.status for p in comparison.parameters if p.parameter.endswith("bias")] == ["fixed", "fixed"]
    assert "fixed: not trained" in str(comparison)


# -- no bias --------------------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_no_bias_in_any_layer_is_explained_exactly(optimizer):
    model = _mlp(bias=(False, False), seed=2)
    x, y = _data(seed=2)
    _check_exact(model, ["0", "2"], x, y, optimizer, earlier=1)
    assert stepgrad.from_torch(model).update_biases is False


def test_no_bias_in_one_layer_beside_trained_biases_is_exact():
    _check_exact(_mlp(bias=(True, False)), ["0", "2"], *_data(), "sgd")


def test_no_bias_in_one_layer_and_the_other_frozen_is_exact():
    model = _mlp(bias=(True, False), seed=3)
    model[0].bias.requires_grad_(False)
    x, y = _data(seed=3)
    _check_exact(model, ["0", "2"], x, y, "adam")


def test_from_torch_never_trains_a_bias_that_does_not_exist():
    net = stepgrad.from_torch(_mlp(bias=(False, True)), update_biases=True)
    assert net.trains() == [True, True, False, True]


def _state_dict_file(tmp_path, model):
    path = tmp_path / "model.pt"
    torch.save(model.state_dict(), path)
    return str(path)


@pytest.mark.slow  # a process or a torch run: make test (CI)
def test_import_of_a_state_dict_without_biases_keeps_them_fixed(tmp_path, cli):
    model = _mlp(bias=(False, False), seed=4)
    result = cli("import", _state_dict_file(tmp_path, model), "--activation", "tanh,linear",
                 "-o", str(tmp_path / "net.toml"))
    assert result.returncode == 0, result.stderr
    assert "bias fixed at 0" in result.stderr
    net = stepgrad.load(tmp_path / "net.toml")
    assert net.update_biases is False
    x, y = _data(seed=4)
    net.inputs, net.targets = x.numpy(), y.numpy()
    grads, after, _ = _torch_step(model, x, y, OPTIMIZERS["sgd"])
    net.learning_rate, net.loss = 0.3, "mean_squared_error"
    # stepgrad's mean_squared_error is nn.MSELoss's mean over outputs, then over samples
    trace = stepgrad.explain(net, update_order="synchronous")
    w = layout(net.layers, net.shared_biases).weights[1][0][0]
    assert abs(trace.values[updated(w)] - after["2.weight"][0, 0]) <= 1e-12


@pytest.mark.slow  # a process or a torch run: make test (CI)
def test_import_keeps_a_missing_bias_at_zero_beside_trained_ones(tmp_path, cli):
    result = cli("import", _state_dict_file(tmp_path, _mlp(bias=(True, False))), "--update-biases",
                 "--shared-biases", "no", "-o", str(tmp_path / "net.toml"))
    assert result.returncode == 0, result.stderr
    net = stepgrad.load(tmp_path / "net.toml")
    assert net.trains() == [True, True, True, False] and net.biases[1].tolist() == [0.0, 0.0]


@pytest.mark.slow  # a process or a torch run: make test (CI)
def test_import_with_no_update_biases_keeps_the_missing_one_at_zero(tmp_path, cli):
    result = cli("import", _state_dict_file(tmp_path, _mlp(bias=(True, False))), "--no-update-biases",
                 "--shared-biases", "no", "-o", str(tmp_path / "net.toml"))
    assert result.returncode == 0, result.stderr
    net = stepgrad.load(tmp_path / "net.toml")
    assert net.update_biases is False and net.biases[1].tolist() == [0.0, 0.0]


# -- shared and tied parameters -------------------------------------------------------------------


def test_a_linear_placed_twice_in_a_sequential_is_refused():
    shared = nn.Linear(3, 3, dtype=torch.float64)
    _refused(nn.Sequential(shared, nn.Tanh(), shared), "layer '2' (Linear(in_features=3, out_features=3, bias=True)) "
             "is used twice in the model (also as '0')", *_data(3, 3))


class Twice(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3, dtype=torch.float64)

    def forward(self, x):
        return self.fc(torch.tanh(self.fc(x)))


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.encode = nn.Linear(3, 3, dtype=torch.float64)
        self.decode = nn.Linear(3, 3, dtype=torch.float64)
        self.decode.weight = self.encode.weight

    def forward(self, x):
        return self.decode(torch.tanh(self.encode(x)))


def test_a_linear_called_twice_in_forward_is_refused():
    _refused(Twice(), "layer 'fc' (Linear(in_features=3, out_features=3, bias=True)) is called twice in forward()",
             *_data(3, 3))


def test_tied_weights_are_refused():
    _refused(Tied(), "decode.weight is the same tensor as a parameter of layer 'encode' (tied weights)", *_data(3, 3))


# -- reused and in-place activations, identities --------------------------------------------------


def test_a_reused_activation_module_is_two_activations():
    torch.manual_seed(5)
    tanh = nn.Tanh()
    model = nn.Sequential(nn.Linear(3, 4), tanh, nn.Linear(4, 2), tanh).double()
    x, y = _data(seed=5)
    trace = _check_exact(model, ["0", "2"], x, y, "momentum")
    assert trace.meta["activations"] == ["tanh", "tanh"]


class Everyday(nn.Module):
    """The identities people leave in a forward(): views, flatten, dropout in eval mode, in-place ReLU."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4, dtype=torch.float64)
        self.drop = nn.Dropout(0.5)
        self.fc2 = nn.Linear(4, 2, dtype=torch.float64)

    def forward(self, x):
        x = x.view(-1, 3)
        x = F.relu(self.fc1(torch.flatten(x, 1)), inplace=True)
        x = F.dropout(x, 0.5, training=self.training)
        return self.fc2(self.drop(x).reshape(-1, 4))


@pytest.mark.parametrize("build", [
    lambda: nn.Sequential(nn.Flatten(), nn.Linear(3, 4), nn.ReLU(inplace=True), nn.Dropout(0.0),
                          nn.Linear(4, 2), nn.Identity()).double(),
    lambda: nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.01, inplace=True), nn.Dropout(0.3),
                          nn.Linear(4, 2)).double().eval(),
    lambda: Everyday().eval(),
])
def test_identities_and_in_place_activations_are_exact(build):
    torch.manual_seed(6)
    model = build()
    linears = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    x, y = _data(seed=6)
    x = x + 0.5  # some ReLU inputs positive, some not
    _check_exact(model, linears, x, y, "adamw", earlier=1)


def test_dropout_in_training_mode_is_refused():
    _refused(nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 2)).double(),
             "unsupported layer '1' (Dropout): dropout in training mode drops random inputs (call model.eval()")
    _refused(Everyday(), "unsupported operation 'dropout' (function dropout) in Everyday.forward(): dropout in "
             "training mode")


def test_a_view_to_another_width_is_refused():
    class Viewed(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2, dtype=torch.float64)

        def forward(self, x):
            return self.fc(x).view(-1, 1)

    _refused(Viewed(), "a view to width 1 of 2 features", torch.zeros(2, 4, dtype=torch.float64),
             torch.zeros(4, 1, dtype=torch.float64))


@pytest.mark.parametrize("make, message", [
    (lambda p: torch.optim.Adamax(p), "unsupported optimizer torch.optim.Adamax"),
    (lambda p: torch.optim.Adam(p, maximize=True), "maximize=True"),
])
def test_optimizer_settings_stepgrad_lacks_are_refused(make, message):
    """An optimizer stepgrad does not model is one line, never another optimizer's step."""
    model = _mlp()
    with pytest.raises(StepgradError, match=message):
        stepgrad.explain_torch(model, *_data(), loss_fn=nn.MSELoss(), optimizer=make(model.parameters()))


def test_an_unsupported_setting_says_the_whole_setting():
    with pytest.raises(StepgradError) as err:
        stepgrad.from_torch(nn.Sequential(nn.Linear(2, 2), nn.Softplus(beta=2.0)))
    assert str(err.value).endswith("stepgrad's softplus is nn.Softplus(), with beta 1.0, threshold 20.0")


# -- functions in forward(), from the registry ---------------------------------------------------


def _functional_cases():
    from stepgrad.core.functions import ACTIVATIONS
    from stepgrad.interop.reading import counterpart

    for entry in ACTIVATIONS.values():
        for name in sorted(counterpart(entry).functions):
            if hasattr(F, name) and entry.hidden_ok:
                yield entry.name, name, dict(getattr(entry, "torch_kwargs", None) or {})


@pytest.mark.parametrize("activation, function, settings", list(_functional_cases()))
def test_every_registry_function_called_in_forward_is_exact(activation, function, settings):
    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(3, 4, dtype=torch.float64)
            self.fc2 = nn.Linear(4, 2, dtype=torch.float64)

        def forward(self, x):
            return self.fc2(getattr(F, function)(self.fc1(x), **settings))  # F.gelu(x, approximate="tanh")

    torch.manual_seed(7)
    model = Functional()
    trace = _check_exact(model, ["fc1", "fc2"], *_data(seed=7))
    assert trace.meta["activations"] == [activation, "linear"]


def test_functions_known_to_the_registry_are_followed():
    from stepgrad.core.functions import ACTIVATIONS
    from stepgrad.interop.reading import counterpart

    found = {counterpart(e).activation: counterpart(e) for e in ACTIVATIONS.values()}
    assert found["leaky_relu"].module == "LeakyReLU" and "leaky_relu" in found["leaky_relu"].functions
    assert "tanh" in found["tanh"].functions and "relu" in found["relu"].functions


def test_counterpart_reads_the_registrys_torch_names_when_it_has_them():
    from types import SimpleNamespace

    from stepgrad.interop.reading import counterpart

    entry = SimpleNamespace(name="elu", torch_module="nn.ELU", torch_functional="F.elu", torch_source="")
    assert counterpart(entry).module == "ELU" and counterpart(entry).functions == {"elu"}
    entry = SimpleNamespace(name="gelu_tanh", torch_module="nn.GELU(approximate='tanh')",
                            torch_functional="F.gelu(approximate='tanh')")
    assert counterpart(entry).module == "GELU" and counterpart(entry).functions == {"gelu"}
    entry = SimpleNamespace(name="silu", torch=nn.SiLU)  # only the module factory: its class names it
    assert counterpart(entry).module == "SiLU" and counterpart(entry).functions == {"silu"}


# -- compare_with_torch accounts for every parameter ---------------------------------------------


def test_an_unused_parameter_is_listed_and_torch_leaves_it():
    class Spare(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2, dtype=torch.float64)
            self.head = nn.Linear(2, 5, dtype=torch.float64)  # defined, never called

        def forward(self, x):
            return torch.sigmoid(self.fc(x))

    comparison = stepgrad.compare_with_torch(Spare(), *_data(), loss_fn=nn.MSELoss())
    assert {p.parameter: p.status for p in comparison.parameters} == {
        "fc.weight": "trained", "fc.bias": "trained", "head.weight": "unused", "head.bias": "unused"}
    assert comparison.agrees(1e-9)


def test_a_comparison_with_an_uncompared_parameter_never_agrees():
    diff = ParameterDiff("0.weight", ("w1",), 0.0, 0.0, 0.0, 0.0)
    comparison = Comparison(1.0, 1.0, (diff,), ("extra: torch trains it, but ...",))
    assert not comparison.agrees(1.0)
    assert "NOT COMPARED extra" in str(comparison) and "agrees" not in str(comparison)


# -- torch's names, fixed biases and precision in the explanation ---------------------------------


class Named(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4, dtype=torch.float64)
        self.fc2 = nn.Linear(4, 2, dtype=torch.float64)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


def _evaluate(model, torch_name: str) -> float:
    """The number a torch name like 'fc1.weight[0, 1]' points at, read from the model itself."""
    path, _, index = torch_name.partition("[")
    tensor = model.get_parameter(path).detach()
    return float(tensor[tuple(int(k) for k in index.rstrip("]").split(","))])


def test_every_weight_and_bias_is_named_as_torch_names_it():
    torch.manual_seed(8)
    model = Named()
    trace = stepgrad.explain_torch(model, *_data(seed=8), loss_fn=nn.MSELoss())
    names = trace.meta["torch"]["names"]
    assert len(names) == sum(p.numel() for p in model.parameters())
    for ours, theirs in names.items():
        assert trace.values[ours] == _evaluate(model, theirs), (ours, theirs)
        assert trace.step(ours).note == f"PyTorch: {theirs}"
    assert names["w2"] == "fc1.weight[0, 1]" and names["b_o2"] == "fc2.bias[1]"
    intro = trace.section("given").intro
    assert "w1..w12 = fc1.weight[0, 0]..[3, 2]" in intro and "b_o1..b_o2 = fc2.bias[0]..[1]" in intro
    assert "float32" not in intro and trace.meta["torch"]["dtype"] == "float64"
    for fmt in ("text", "markdown", "html", "json"):
        assert "fc1.weight[0, 0]" in stepgrad.render(trace, fmt).replace("\\", "")  # markdown escapes [ ]


def test_fixed_and_missing_biases_and_float32_are_said():
    torch.manual_seed(9)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2, bias=False)).float()
    model[0].bias.requires_grad_(False)
    trace = stepgrad.explain_torch(model, *_data(seed=9), loss_fn=nn.MSELoss())
    intro = trace.section("given").intro
    assert "Layer '2' has no bias (nn.Linear(..., bias=False)): b_o1..b_o2 are 0 and stay 0." in intro
    assert "0.bias does not require gradients (frozen)" in intro
    assert "parameters are float32; this step is computed in float64" in intro
    comparison = stepgrad.compare_with_torch(model, *_data(seed=9), loss_fn=nn.MSELoss())
    assert comparison.dtype == "float32" and "float32 model's own step differs" in str(comparison)
    assert trace.meta["torch"]["fixed"] == ["b_h1", "b_h2", "b_h3", "b_h4", "b_o1", "b_o2"]


def test_the_api_refuses_a_big_explanation_before_any_work():
    import time

    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    x, y = torch.randn(64, 784), torch.rand(64, 10)
    for call in (stepgrad.explain_torch, stepgrad.compare_with_torch):
        start = time.perf_counter()
        with pytest.raises(StepgradError, match="over the work budget.*max_work"):
            call(model, x, y)
        assert time.perf_counter() - start < 2.0
    small = _mlp()
    with pytest.raises(StepgradError, match="over the work budget"):
        stepgrad.explain_torch(small, *_data(), max_work=1000)


def test_only_keeps_the_quantities_asked_for():
    trace = stepgrad.explain_torch(_mlp(), *_data(), loss_fn=nn.MSELoss(), only="w5")
    full = stepgrad.explain_torch(_mlp(), *_data(), loss_fn=nn.MSELoss())
    assert "w5+" in trace.values and len(trace.values) < len(full.values)
    assert trace.values["w5+"] == full.values["w5+"]


# -- 100 random models mixing the traps: exact, or refused naming the part -------------------------


class _Functions(nn.Module):
    """forward() written by hand: Linear layers with the registry's torch functions between them."""

    def __init__(self, linears: list, functions: list) -> None:
        super().__init__()
        self.linears = linears
        for k, linear in enumerate(linears):
            setattr(self, f"fc{k}", linear)
        self.functions = functions

    def forward(self, x):
        for k, f in enumerate(self.functions):
            x = f(getattr(self, f"fc{k}")(x))
        return getattr(self, f"fc{len(self.functions)}")(x)


def _hidden_choices():
    from stepgrad.core.functions import ACTIVATIONS
    from stepgrad.interop.reading import counterpart

    modules, functions = [], []
    for entry in ACTIVATIONS.values():
        if not entry.hidden_ok:
            continue
        modules.append(entry.torch)
        for name in sorted(counterpart(entry).functions):
            if hasattr(F, name):
                functions.append(getattr(F, name))
    return modules, functions


def _random_trap(seed: int):
    """(model, its Linear prefixes, the refusal expected or None, the optimizer, earlier steps)."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    modules, functions = _hidden_choices()
    widths = [int(n) for n in rng.integers(2, 5, size=int(rng.integers(3, 5)))]
    regime = rng.choice(["trained", "fixed", "mixed"], p=[0.45, 0.35, 0.2])  # the biases
    linears = [nn.Linear(a, b, bias=regime == "trained" or bool(rng.random() < 0.6), dtype=torch.float64)
               for a, b in zip(widths, widths[1:])]
    expected = None
    if rng.random() < 0.1 and widths[0] == widths[1] == widths[2]:
        linears[1] = linears[0]  # shared: the same Linear twice
        expected = "used twice"
    for linear in linears:
        if rng.random() < 0.04:
            linear.weight.requires_grad_(False)
        if linear.bias is not None and (regime == "fixed" or (regime == "mixed" and rng.random() < 0.5)):
            linear.bias.requires_grad_(False)
    if expected is None and len(linears) > 2 and rng.random() < 0.15:  # a frozen feature extractor: held fixed
        linears[0].requires_grad_(False)
    whole = [not m.weight.requires_grad and (m.bias is None or not m.bias.requires_grad) for m in linears]
    frozen_first = next((k for k, w in enumerate(whole) if not w), len(linears))  # frozen first layers: read as fixed
    if frozen_first == len(linears):
        expected = expected or "is frozen (requires_grad=False): nothing trains"
    if seed % 2:
        hidden = [functions[int(k)] for k in rng.integers(len(functions), size=len(linears) - 1)]
        model = _Functions(linears, hidden)
        prefixes = [f"fc{k}" for k in range(len(linears))]
        if expected == "used twice":
            expected = "called twice in forward()"
    else:
        parts, prefixes = [], []
        reused = modules[int(rng.integers(len(modules)))]()
        for k, linear in enumerate(linears):
            prefixes.append(str(len(parts)))
            parts.append(linear)
            if k < len(linears) - 1:
                parts.append(reused if rng.random() < 0.3 else modules[int(rng.integers(len(modules)))]())
            if rng.random() < 0.2:
                parts.append(nn.Dropout(0.5).eval() if rng.random() < 0.5 else nn.Identity())
        model = nn.Sequential(*parts)
    return model, prefixes, expected, list(OPTIMIZERS)[seed % len(OPTIMIZERS)], 3 * (seed % 3 == 0), widths, frozen_first


@pytest.mark.parametrize("seed", range(100))
def test_random_models_with_traps_are_exact_or_refused_by_name(seed):
    model, prefixes, expected, optimizer, earlier, widths, frozen_first = _random_trap(seed)
    x, y = _data(widths[0], widths[-1], seed=seed)
    if expected is None:
        _check_exact(model, prefixes[frozen_first:], x, y, optimizer, earlier, fixed=prefixes[:frozen_first])
        return
    with pytest.raises(StepgradError) as err:
        stepgrad.explain_torch(model, x, y, loss_fn=nn.MSELoss())
    message = str(err.value)
    assert expected in message and "\n" not in message, message
    assert any(p in message for p in prefixes), message  # the part is named


def test_the_random_models_take_every_optimizer_after_0_and_3_steps():
    """The 100 random models above: every optimizer is checked exactly, both fresh and after 3 earlier steps."""
    checked = set()
    for seed in range(100):
        _, _, expected, optimizer, earlier, _, _ = _random_trap(seed)
        if expected is None:
            checked.add((optimizer, earlier))
    assert checked == {(o, e) for o in OPTIMIZERS for e in (0, 3)}


# -- loss modules that are the registry's huber ------------------------------------------------------


@pytest.mark.parametrize("loss_fn, outputs", [
    (nn.HuberLoss(), 1), (nn.HuberLoss(reduction="sum"), 3), (nn.SmoothL1Loss(), 1),
    (nn.SmoothL1Loss(reduction="sum"), 2), (nn.HuberLoss(delta=1.0), 1), (nn.HuberLoss(), 3),
])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_huber_and_smooth_l1_losses_equal_autograd(loss_fn, outputs, optimizer):
    torch.manual_seed(10)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, outputs)).double()
    x = torch.randn(5, 3, dtype=torch.float64)
    y = 3 * torch.randn(5, outputs, dtype=torch.float64)  # some errors beyond 1: both pieces
    opt = OPTIMIZERS[optimizer](model.parameters())
    twin = copy.deepcopy(model)
    twin_opt = OPTIMIZERS[optimizer](twin.parameters())
    loss_fn(twin(x), y).backward()
    twin_opt.step()
    trace = stepgrad.explain_torch(model, x, y, loss_fn=loss_fn, optimizer=opt)
    w = layout([3, 4, outputs], [False, False]).weights
    for l, linear in enumerate((twin[0], twin[2])):
        for j, i in np.ndindex(linear.weight.shape):
            theirs = float(linear.weight.detach()[j, i])
            assert abs(trace.values[updated(w[l][j][i])] - theirs) <= 1e-12 * max(1.0, abs(theirs))
    assert stepgrad.compare_with_torch(model, x, y, loss_fn=loss_fn, optimizer=opt).agrees(1e-9)


@pytest.mark.parametrize("loss_fn, message", [
    (nn.HuberLoss(delta=2.0), "nn.HuberLoss(delta=...) is not supported"),
    (nn.SmoothL1Loss(beta=0.5), "nn.SmoothL1Loss(beta=...) is not supported"),
])
def test_huber_settings_stepgrad_lacks_are_refused(loss_fn, message):
    with pytest.raises(StepgradError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        stepgrad.explain_torch(_mlp(), *_data(), loss_fn=loss_fn)


@pytest.mark.slow  # a process or a torch run: make test (CI)
def test_the_load_hint_warns_before_softmax_is_applied_twice(tmp_path, cli):
    spec = tmp_path / "net.toml"
    spec.write_text('layers = [2, 3]\nactivation = "softmax"\nloss = "cross_entropy"\n'
                    '[[samples]]\ninputs = [0.1, 0.2]\ntargets = [0, 1, 0]\n')
    result = cli("export", str(spec), "-o", str(tmp_path / "m.pt"))
    assert result.returncode == 0, result.stderr
    assert "ends in nn.Softmax(dim=-1)" in result.stderr and "model[:-1]" in result.stderr
    net = stepgrad.load(spec)
    model = stepgrad.to_torch(net)
    x, t = torch.tensor(net.inputs), torch.tensor(net.targets)
    # what the note says is so: CrossEntropyLoss on model[:-1] is stepgrad's error, on the whole model it is not
    assert abs(nn.CrossEntropyLoss()(model[:-1](x), t).item() - stepgrad.explain(net).values["E_total"]) < 1e-12
    assert abs(nn.CrossEntropyLoss()(model(x), t).item() - stepgrad.explain(net).values["E_total"]) > 1e-3
    plain = cli("export", "-o", str(tmp_path / "d.pt"))
    assert "note: the model ends in" not in plain.stderr


def test_a_network_loads_into_a_subclass_under_its_own_names():
    from stepgrad.interop.convert import state_dict_like

    net = stepgrad.Network.from_dict({"layers": [3, 4, 2], "activations": ["tanh", "linear"], "update_biases": True,
                                      "seed": 3, "biases": [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6]],
                                      "samples": [{"inputs": [0.1, 0.2, 0.3], "targets": [1.0, 0.0]}]})
    model = Named()
    model.load_state_dict(state_dict_like(net, model))  # strict: every key of the model, no other
    out = model(torch.tensor(net.inputs)).detach().numpy()
    from stepgrad.core import engine

    np.testing.assert_allclose(out, engine.forward(net, net.inputs).outs[-1], rtol=1e-13)
    with pytest.raises(StepgradError, match="the model's layers are 3-4-2, the network's 2-2-2"):
        state_dict_like(stepgrad.builtin(), model)


def test_a_new_registry_activation_is_read_from_forward_at_once():
    """Add Mish to the registry (its formula, one entry, registered here): F.mish in forward() and nn.Mish are
    read, exactly."""
    sympy = pytest.importorskip("sympy")
    from stepgrad.core.functions import register, unregister
    from stepgrad.core.symbolic.formulas import ActivationFormula, net

    register(ActivationFormula("mish", net * sympy.tanh(sympy.log(1 + sympy.exp(net))), "nn.Mish", "F.mish"))
    try:
        class WithMish(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(3, 4, dtype=torch.float64)
                self.fc2 = nn.Linear(4, 2, dtype=torch.float64)

            def forward(self, x):
                return self.fc2(F.mish(self.fc1(x)))

        torch.manual_seed(11)
        trace = _check_exact(WithMish(), ["fc1", "fc2"], *_data(seed=11), "adam")
        assert trace.meta["activations"] == ["mish", "linear"]
        sequential = nn.Sequential(nn.Linear(3, 4), nn.Mish(), nn.Linear(4, 2)).double()
        assert _check_exact(sequential, ["0", "2"], *_data(seed=12)).meta["activations"] == ["mish", "linear"]
    finally:
        unregister("mish")
    with pytest.raises(StepgradError, match="stepgrad's elu is nn.ELU\\(\\), with alpha 1.0"):
        stepgrad.from_torch(nn.Sequential(nn.Linear(3, 4), nn.ELU(alpha=0.5)))


@pytest.mark.parametrize("key", ["deck", "3-4-2 tanh/softmax CE, 2 samples", "2-3-3-1 relu, per-neuron biases",
                                 "8-6-4", "16-16-10"])
def test_the_gallery_as_torch_models_agree_on_every_parameter(key):
    from gallery import network

    net = network(key)
    model = stepgrad.to_torch(net)  # biases require gradients exactly when the spec trains them
    comparison = stepgrad.compare_with_torch(model, net.inputs, net.targets, loss=net.loss, lr=net.learning_rate)
    assert comparison.agrees(1e-9), str(comparison)
    assert {p.parameter for p in comparison.parameters} == {n for n, _ in model.named_parameters()}
    status = {p.parameter: p.status for p in comparison.parameters}
    assert all(s == ("trained" if n.endswith("weight") or net.update_biases else "fixed") for n, s in status.items())


def _hooked(kind: str):
    model = _mlp()
    if kind == "forward":
        model[0].register_forward_hook(lambda m, args, out: out * 2)
    elif kind == "model":
        model.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    elif kind == "gradient":
        model[2].weight.register_hook(lambda g: g * 0)
    elif kind == "backward":
        model[2].register_full_backward_hook(lambda m, gin, gout: None)
    else:
        from torch.nn.utils.parametrizations import weight_norm

        weight_norm(model[2])
    return model


@pytest.mark.parametrize("kind, message", [
    ("forward", "layer '0' has a forward hook"), ("model", "layer Sequential has a forward pre hook"),
    ("gradient", "2.weight has a gradient hook"), ("backward", "layer '2' has a backward hook"),
    ("weight_norm", "layer '2' is parametrized (weight computed from other tensors"),
])
def test_what_changes_a_step_out_of_sight_is_refused(kind, message):
    model = _hooked(kind)
    with pytest.raises(StepgradError) as err:
        stepgrad.explain_torch(model, *_data(), loss_fn=nn.MSELoss())
    assert message in str(err.value)


def test_the_diagram_tooltips_name_each_parameter_as_torch_does():
    """The explorer's and the HTML format's network diagram: each weight's and bias's tooltip gives its torch name."""
    import re

    from stepgrad.pictures.diagram import network_from_trace, network_svg

    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    trace = stepgrad.explain_torch(model, *_data(), loss_fn=nn.MSELoss())
    svg = network_svg(network_from_trace(trace), trace)
    tips = dict(re.findall(r'data-name="([^"]+)"[^>]*>(?:<title>)([^<]*)</title>', svg))
    names = trace.meta["torch"]["names"]
    assert tips and all(tips[ours].endswith(f"(PyTorch: {theirs})") for ours, theirs in names.items() if ours in tips)
    assert "(PyTorch: 0.weight[0, 1])" in tips["w2"] and "(PyTorch: 2.bias[1])" in tips["b_o2"]
    plain = network_svg(stepgrad.builtin(), stepgrad.explain(stepgrad.builtin()))
    assert "PyTorch" not in plain
