"""PyTorch models as people write them: 50 seeded random models, their losses and optimizers, against autograd.

Each model is an nn.Sequential or an nn.Module subclass whose forward() calls layers and torch
functions (followed with torch.fx); each loss is a PyTorch loss module with its options (class
indices or probabilities, both reductions, label smoothing); the reference is PyTorch itself:
loss.backward() for the gradients and opt.step() for the new parameters (also after 3 earlier steps).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import stepgrad
from conftest import slow_after
from stepgrad.interop.compare import compare_with_torch

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

TOLERANCE = 1e-9
HIDDEN = [(nn.Tanh, torch.tanh), (nn.Sigmoid, torch.sigmoid), (nn.ReLU, F.relu), (nn.Softplus, F.softplus),
          (lambda: nn.LeakyReLU(0.01), lambda v: F.leaky_relu(v, 0.01))]


class Chain(nn.Module):
    """A forward() written by hand: Linear layers with torch functions between them."""

    def __init__(self, sizes: list[int], functions: list) -> None:
        super().__init__()
        for k in range(len(sizes) - 1):
            setattr(self, f"fc{k}", nn.Linear(sizes[k], sizes[k + 1], dtype=torch.float64))
        self.functions = functions

    def forward(self, x):
        for k, f in enumerate(self.functions):
            x = f(getattr(self, f"fc{k}")(x))
        return getattr(self, f"fc{len(self.functions)}")(x)


def _model(rng: np.random.Generator, seed: int, sizes: list[int]) -> nn.Module:
    torch.manual_seed(seed)
    hidden = [HIDDEN[int(k)] for k in rng.integers(len(HIDDEN), size=len(sizes) - 2)]
    if seed % 2:
        return Chain(sizes, [f for _, f in hidden])
    modules: list[nn.Module] = []
    for k in range(len(sizes) - 1):
        modules.append(nn.Linear(sizes[k], sizes[k + 1], dtype=torch.float64))
        if k < len(hidden):
            modules.append(hidden[k][0]())
    return nn.Sequential(*modules)


def _case(seed: int):
    """(model, inputs, targets, loss_fn) for seed: the loss kinds take turns."""
    rng = np.random.default_rng(seed)
    samples = int(rng.integers(1, 6))
    sizes = [int(n) for n in rng.integers(2, 6, size=int(rng.integers(3, 5)))]
    model = _model(rng, seed, sizes)
    x = torch.tensor(rng.normal(size=(samples, sizes[0])))
    classes = sizes[-1]
    kind = seed % 5
    reduction = "sum" if seed % 3 == 0 else "mean"
    if kind == 0:  # class indices, label smoothing sometimes
        y = torch.tensor(rng.integers(classes, size=samples))
        loss_fn = nn.CrossEntropyLoss(reduction=reduction, label_smoothing=0.1 if seed % 4 == 0 else 0.0)
    elif kind == 1:  # class probabilities
        y = torch.tensor(rng.dirichlet(np.ones(classes), size=samples))
        loss_fn = nn.CrossEntropyLoss(reduction=reduction, label_smoothing=0.2 if seed % 4 == 1 else 0.0)
    elif kind == 2:
        y = torch.tensor(rng.normal(size=(samples, classes)))
        loss_fn = nn.MSELoss()
    elif kind == 3:
        y = torch.tensor(rng.uniform(size=(samples, classes)))
        loss_fn = nn.BCEWithLogitsLoss()
    else:  # both reductions of the elementwise losses, with one output
        model = _model(rng, seed, sizes[:-1] + [1])
        y = torch.tensor(rng.uniform(size=(samples, 1)))
        loss_fn = nn.BCEWithLogitsLoss(reduction=reduction) if seed % 2 else nn.MSELoss(reduction=reduction)
    return model, x, y, loss_fn


OPTIMIZERS = [
    lambda p: torch.optim.SGD(p, lr=0.1),
    lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
    lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01),
    lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.02),
    lambda p: torch.optim.Adam(p, lr=0.01),
    lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05),
    lambda p: torch.optim.AdamW(p, lr=0.01),
    lambda p: torch.optim.AdamW(p, lr=0.02, weight_decay=0.1, betas=(0.85, 0.95)),
    lambda p: torch.optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True, weight_decay=0.01),
    lambda p: torch.optim.Adagrad(p, lr=0.05, lr_decay=0.1, initial_accumulator_value=0.1),
    lambda p: torch.optim.NAdam(p, lr=0.01, weight_decay=0.01, momentum_decay=0.01),
    lambda p: _no_decay_on_biases(list(p)),
]


def _no_decay_on_biases(parameters):
    """The usual AdamW set-up: a second parameter group for the biases, without weight decay."""
    return torch.optim.AdamW([{"params": [q for q in parameters if q.dim() == 2]},
                              {"params": [q for q in parameters if q.dim() == 1], "weight_decay": 0.0, "lr": 0.02}],
                             lr=0.01)


@pytest.mark.parametrize("seed", slow_after(10, range(50)))
def test_gradients_and_plain_step_equal_autograd(seed):
    model, x, y, loss_fn = _case(seed)
    comparison = compare_with_torch(model, x, y, loss_fn=loss_fn, lr=0.3)
    assert comparison.parameters, "no parameter compared"
    assert comparison.agrees(TOLERANCE), str(comparison)


@pytest.mark.parametrize("earlier", [0, 3])
@pytest.mark.parametrize("make", range(len(OPTIMIZERS)))
@pytest.mark.parametrize("seed", slow_after(2, range(0, 50, 7)))
def test_optimizer_step_equals_opt_step(seed, make, earlier):
    model, x, y, loss_fn = _case(seed)
    opt = OPTIMIZERS[make](model.parameters())
    for _ in range(earlier):  # the optimizer's state so far: momentum buffers, moments, step count
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    before = copy.deepcopy(model.state_dict())
    comparison = compare_with_torch(model, x, y, loss_fn=loss_fn, optimizer=opt)
    assert comparison.agrees(TOLERANCE), str(comparison)
    for key, value in model.state_dict().items():  # the user's model and optimizer are left alone
        assert torch.equal(value, before[key])


def test_explain_torch_reads_the_ordinary_classifier():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8, dtype=torch.float64), nn.ReLU(), nn.Linear(8, 3, dtype=torch.float64))
    x = torch.randn(2, 4, dtype=torch.float64)
    y = torch.tensor([0, 2])
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    trace = stepgrad.explain_torch(model, x, y, loss_fn=nn.CrossEntropyLoss(), optimizer=opt)
    assert trace.meta["loss"] == "cross_entropy_with_logits"
    assert trace.meta["optimizer"]["name"] == "torch_sgd"
    reference = nn.CrossEntropyLoss()(model(x), y).item()
    assert trace.values["E_total"] == pytest.approx(reference, rel=1e-12)
    signal = trace.step("dE_total[1]/dnet_o1[1]")
    assert "exp(" in signal.text  # softmax of the raw scores minus the one-hot target


@pytest.mark.parametrize("loss_fn, message", [
    (nn.CrossEntropyLoss(weight=torch.ones(3, dtype=torch.float64)), "weight"),
    (nn.CrossEntropyLoss(reduction="none"), "reduction='none'"),
    (nn.KLDivLoss(), "unsupported loss nn.KLDivLoss"),
    (nn.BCEWithLogitsLoss(pos_weight=torch.ones(3, dtype=torch.float64)), "pos_weight"),
])
def test_an_unsupported_loss_option_is_named(loss_fn, message):
    model = nn.Sequential(nn.Linear(2, 3, dtype=torch.float64))
    y = torch.tensor([0, 1]) if isinstance(loss_fn, nn.CrossEntropyLoss) else torch.zeros(2, 3, dtype=torch.float64)
    with pytest.raises(stepgrad.StepgradError, match=message.replace("(", r"\(").replace(")", r"\)")):
        stepgrad.explain_torch(model, torch.zeros(2, 2, dtype=torch.float64), y, loss_fn=loss_fn)


def test_cross_entropy_after_softmax_says_what_to_do():
    model = nn.Sequential(nn.Linear(2, 3, dtype=torch.float64), nn.Softmax(dim=-1))
    with pytest.raises(stepgrad.StepgradError, match="raw scores.*nn.Linear"):
        stepgrad.explain_torch(model, torch.zeros(2, 2), torch.tensor([0, 1]), loss_fn=nn.CrossEntropyLoss())


def test_the_first_unsupported_operation_is_named():
    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)
            self.drop = nn.Dropout(0.1)

        def forward(self, x):
            return self.drop(torch.tanh(self.fc(x))) + x

    with pytest.raises(stepgrad.StepgradError, match="unsupported operation 'drop'"):
        stepgrad.from_torch(Residual())


def test_an_unsupported_optimizer_option_is_named():
    model = nn.Sequential(nn.Linear(2, 1, dtype=torch.float64))
    opt = torch.optim.Adam(model.parameters(), amsgrad=True)
    with pytest.raises(stepgrad.StepgradError, match="amsgrad"):
        stepgrad.explain_torch(model, torch.zeros(1, 2), torch.zeros(1, 1), loss_fn=nn.MSELoss(), optimizer=opt)
