"""PyTorch's losses as stepgrad reads them: nn.NLLLoss after log_softmax, nn.L1Loss, and reduction='sum' (and 'mean')
for every elementwise loss with several outputs; gradients and new parameters equal autograd + opt.step() (float64)."""

from __future__ import annotations

import numpy as np
import pytest

import stepgrad
from stepgrad.core.errors import StepgradError
from torch_helpers import torch_next_step

torch = pytest.importorskip("torch")
nn = torch.nn
F = nn.functional


def _data(outputs: int, seed: int = 0, spread: float = 1.5):
    rng = np.random.default_rng(seed)
    return torch.tensor(rng.normal(size=(4, 3))), torch.tensor(rng.normal(0, spread, size=(4, outputs)))


def _agrees(model, x, y, loss_fn, make=lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), earlier: int = 0):
    """explain_torch's numbers equal torch's own step (autograd + opt.step() on a joint copy); returns the trace."""
    opt = make(model.parameters())
    torch_loss, _, after = torch_next_step(model, opt, x, y, loss_fn, earlier)
    trace = stepgrad.explain_torch(model, x, y, loss_fn=loss_fn, optimizer=opt)
    assert trace.values["E_total"] == pytest.approx(torch_loss, rel=1e-12)
    comparison = stepgrad.compare_with_torch(model, x, y, loss_fn=loss_fn, optimizer=opt)
    assert comparison.agrees(1e-12), str(comparison)
    w1 = after[[n for n in after if n.endswith("weight")][0]]
    assert trace.values["w1+"] == pytest.approx(float(w1[0, 0]), rel=1e-12, abs=1e-15)
    return trace


def _regression(outputs: int, last=None, seed: int = 0):
    torch.manual_seed(seed)
    layers = [nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, outputs)] + ([last] if last is not None else [])
    return nn.Sequential(*layers).double()


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("outputs", [1, 3])
@pytest.mark.parametrize("loss_fn, expected", [
    (nn.MSELoss, {"mean": "mean_squared_error", "sum": "squared_error"}),
    (nn.L1Loss, {"mean": "l1", "sum": "absolute_error"}),
    (nn.HuberLoss, {"mean": "smooth_l1", "sum": "huber"}),
    (nn.SmoothL1Loss, {"mean": "smooth_l1", "sum": "huber"}),
])
def test_elementwise_losses_with_either_reduction_equal_autograd(loss_fn, expected, outputs, reduction):
    x, y = _data(outputs)
    trace = _agrees(_regression(outputs), x, y, loss_fn(reduction=reduction), earlier=2)
    if outputs > 1:
        assert trace.meta["loss"] == expected[reduction]


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_bce_of_sigmoid_outputs_summed_equals_autograd(reduction):
    x, _ = _data(3)
    y = torch.tensor(np.random.default_rng(1).uniform(size=(4, 3 if reduction == "sum" else 1)))
    model = _regression(y.shape[1], nn.Sigmoid())
    _agrees(model, x, y, nn.BCELoss(reduction=reduction))


@pytest.mark.parametrize("scale", [1.0, 40.0])  # 40: raw scores far past where log(sigmoid) would round to 0
@pytest.mark.parametrize("make", [lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), lambda p: torch.optim.Adam(p, lr=0.01)],
                         ids=["sgd", "adam"])
def test_bce_with_logits_summed_over_several_outputs_equals_autograd(make, scale):
    x, _ = _data(3)
    y = torch.tensor(np.random.default_rng(2).uniform(size=(4, 3)))
    model = _regression(3)
    with torch.no_grad():
        model[2].weight.mul_(scale)
    trace = _agrees(model, x, y, nn.BCEWithLogitsLoss(reduction="sum"), make=make, earlier=2)
    assert trace.meta["loss"] == "cross_entropy"  # binary cross-entropy summed over the outputs, of their sigmoid
    assert "nn.BCEWithLogitsLoss applies the sigmoid itself" in trace.section("given").intro


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("last", ["module", "function", "method"])
def test_nll_loss_after_log_softmax_is_cross_entropy(last, reduction):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(3, 5), nn.Linear(5, 4)

        def forward(self, x):
            z = self.fc2(torch.relu(self.fc1(x)))
            return z.log_softmax(dim=1) if last == "method" else F.log_softmax(z, dim=-1)

    torch.manual_seed(3)
    model = (nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 4), nn.LogSoftmax(dim=1)) if last == "module"
             else Net()).double()
    x, _ = _data(4, seed=3)
    trace = _agrees(model, x, torch.tensor([0, 3, 1, 3]), nn.NLLLoss(reduction=reduction),
                    make=lambda p: torch.optim.Adam(p, lr=0.01), earlier=3)
    assert trace.meta["loss"] == "cross_entropy_with_logits"


@pytest.mark.parametrize("model, loss_fn, targets, message", [
    (lambda: nn.Sequential(nn.Linear(3, 4), nn.LogSoftmax(dim=1)), nn.MSELoss(), None,
     "stepgrad reads log_softmax as the last step before nn.NLLLoss"),
    (lambda: nn.Sequential(nn.Linear(3, 4)), nn.NLLLoss(), "indices", "nn.NLLLoss takes log-probabilities"),
    (lambda: nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.LogSoftmax(dim=1)), nn.NLLLoss(), "indices",
     "a tanh comes between them"),
    (lambda: nn.Sequential(nn.Linear(3, 4), nn.LogSoftmax(dim=1)), nn.NLLLoss(weight=torch.ones(4)), "indices",
     "nn.NLLLoss(weight=...) is not supported"),
    (lambda: nn.Sequential(nn.Linear(3, 4), nn.LogSoftmax(dim=1)), nn.NLLLoss(), None,
     "nn.NLLLoss takes class indices"),
    (lambda: nn.Sequential(nn.Linear(3, 4), nn.Sigmoid()), nn.BCELoss(), None,
     "nn.BCELoss() with 4 outputs averages over the outputs"),
])
def test_losses_stepgrad_cannot_read_are_refused_in_one_line(model, loss_fn, targets, message):
    x = torch.tensor(np.random.default_rng(0).normal(size=(4, 3)))
    y = torch.tensor([0, 1, 2, 3]) if targets == "indices" else torch.rand(4, 4, dtype=torch.float64)
    for call in (stepgrad.explain_torch, stepgrad.compare_with_torch):
        with pytest.raises(StepgradError) as err:
            call(model().double(), x, y, loss_fn=loss_fn)
        assert message in str(err.value) and "\n" not in str(err.value)
