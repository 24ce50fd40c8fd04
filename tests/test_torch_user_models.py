"""Models written the way PyTorch users write them (a Module subclass around nn.Sequential, tied weights, a frozen
first layer (held fixed), AdamW without decay on the biases, Dropout in eval mode, x.view(x.size(0), -1)): each is explained
exactly (every parameter, named as torch names it, equal to torch's own next step on a joint copy of the model and
its optimizer, float64, 1e-12) or refused in one line naming the part."""

from __future__ import annotations

import numpy as np
import pytest

import stepgrad
from stepgrad.core.errors import StepgradError
from torch_helpers import torch_next_step

torch = pytest.importorskip("torch")
nn = torch.nn
F = nn.functional


def _batch():
    rng = np.random.default_rng(0)
    return torch.tensor(rng.normal(size=(6, 8))), torch.tensor(rng.integers(3, size=6))


def _exact(model, make_optimizer, loss_fn, earlier: int = 2, fixed: set[str] = frozenset()):
    """explain_torch's new value of every parameter, found by its torch name, is torch's own next step's."""
    torch.manual_seed(0)
    x, y = _batch()
    model = model.double()
    opt = make_optimizer(model)
    loss, _, after = torch_next_step(model, opt, x, y, loss_fn, earlier)  # the optimizer's state so far, then a step
    trace = stepgrad.explain_torch(model, x, y, loss_fn=loss_fn, optimizer=opt)
    assert trace.values["E_total"] == pytest.approx(loss, rel=1e-12)
    before = {name: p.detach().numpy().copy() for name, p in model.named_parameters()}
    named = set()
    for ours, theirs in trace.meta["torch"]["names"].items():
        key, _, index = theirs.partition("[")
        new = after[key][tuple(int(i) for i in index.rstrip("]").split(","))]
        assert trace.values[f"{ours}+"] == pytest.approx(float(new), rel=1e-12, abs=1e-15), (ours, theirs)
        named.add(key)
    assert all(np.array_equal(after[name], before[name]) for name in fixed)  # frozen: torch left it, stepgrad too
    assert named | set(fixed) == set(after)  # every parameter torch has
    assert stepgrad.compare_with_torch(model, x, y, loss_fn=loss_fn, optimizer=opt).agrees(1e-12)
    return trace


def _refused(model, message: str) -> None:
    x, y = _batch()
    for call in (stepgrad.explain_torch, stepgrad.compare_with_torch):
        with pytest.raises(StepgradError) as err:
            call(model.double(), x, y, loss_fn=nn.CrossEntropyLoss())
        assert message in str(err.value) and "\n" not in str(err.value)


class Classifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU())
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        return self.head(self.features(x))


@pytest.mark.slow  # torch steps: make test (CI)
def test_a_subclass_around_a_sequential_with_adam():
    trace = _exact(Classifier(), lambda m: torch.optim.Adam(m.parameters(), lr=1e-3), nn.CrossEntropyLoss())
    assert trace.meta["torch"]["names"]["w1"] == "features.0.weight[0, 0]"


class TiedAutoencoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Linear(8, 4)
        self.decoder_bias = nn.Parameter(torch.zeros(8))

    def forward(self, x):
        return F.linear(torch.tanh(self.encoder(x)), self.encoder.weight.t(), self.decoder_bias)


class TiedLayers(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.out = nn.Linear(8, 8), nn.Linear(8, 8), nn.Linear(8, 3)
        self.b.weight = self.a.weight

    def forward(self, x):
        return self.out(torch.tanh(self.b(torch.tanh(self.a(x)))))


def test_tied_weights_are_refused_naming_the_parameter():
    _refused(TiedAutoencoder(), "forward() reads the parameter encoder.weight itself")
    _refused(TiedLayers(), "b.weight is the same tensor as a parameter of layer 'a' (tied weights)")


class FrozenFirst(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(8, 5, bias=False)
        self.embed.weight.requires_grad_(False)
        self.fc = nn.Linear(5, 3)

    def forward(self, x):
        return self.fc(torch.tanh(self.embed(x)))


@pytest.mark.slow  # torch steps: make test (CI)
def test_a_frozen_embedding_like_first_layer_is_held_fixed():
    trace = _exact(FrozenFirst(), lambda m: torch.optim.SGD([p for p in m.parameters() if p.requires_grad], lr=0.1),
                   nn.CrossEntropyLoss(), fixed={"embed.weight"})
    assert "Layer 'embed' is frozen" in trace.section("given").intro


class GeluMLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(8, 6), nn.GELU(), nn.Linear(6, 3)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


@pytest.mark.slow  # torch steps: make test (CI)
def test_adamw_without_decay_on_the_biases_by_name():
    def groups(model):
        named = list(model.named_parameters())
        return torch.optim.AdamW([{"params": [p for n, p in named if not n.endswith("bias")], "weight_decay": 0.01},
                                  {"params": [p for n, p in named if n.endswith("bias")], "weight_decay": 0.0}], lr=3e-3)

    trace = _exact(GeluMLP(), groups, nn.CrossEntropyLoss())
    assert trace.meta["optimizer"]["settings"][2:] == [{"decay": 0.0}, {"decay": 0.0}]


class Dropped(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(8, 10), nn.ReLU(inplace=True), nn.Dropout(0.2),
                                 nn.Linear(10, 3))

    def forward(self, x):
        x = x.view(x.size(0), -1)
        return F.log_softmax(self.net(x), dim=1)


@pytest.mark.slow  # torch steps: make test (CI)
def test_dropout_in_eval_mode_is_exact_and_in_training_mode_refused():
    nesterov = lambda m: torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, nesterov=True)  # noqa: E731
    _exact(Dropped().eval(), nesterov, nn.NLLLoss())
    x, y = _batch()
    with pytest.raises(StepgradError, match=r"dropout in training mode drops random inputs \(call model.eval\(\)"):
        stepgrad.explain_torch(Dropped().double(), x, y, loss_fn=nn.NLLLoss())


class Reshaped(nn.Module):
    def __init__(self, how: str) -> None:
        super().__init__()
        self.how, self.fc1, self.fc2 = how, nn.Linear(8, 6), nn.Linear(6, 3)

    def forward(self, x):
        if self.how == "shape":
            x = torch.flatten(x.reshape(x.shape[0], -1), start_dim=1)
        h = F.relu(self.fc1(x))
        if self.how == "twice":
            return self.fc2(h.view(h.size(0) * 2, -1))
        return self.fc2(h.view(-1, h.size(0)) if self.how == "columns" else h.view(h.size(0), -1))


@pytest.mark.slow  # torch steps: make test (CI)
@pytest.mark.parametrize("how", ["size", "shape"])
def test_a_view_to_one_row_per_sample_is_the_identity(how):
    _exact(Reshaped(how), lambda m: torch.optim.SGD(m.parameters(), lr=0.1), nn.CrossEntropyLoss())


@pytest.mark.parametrize("how, message", [("twice", "unsupported operation 'mul'"),
                                          ("columns", "unsupported operation 'view' (method view)")])
def test_another_use_of_the_batch_size_is_refused(how, message):
    _refused(Reshaped(how), message)
