"""`stepgrad train` reads the `[torch]` dtype of an imported spec: a float32 model trains in float32 (as PyTorch
trains it), says so, and --dtype float64 gives every digit exact; explain honours the same table.

Reference: PyTorch's own float32 training of the same model (SGD and Adam), step for step.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import stepgrad
from stepgrad.api.options import TrainOptions
from stepgrad.api.train import train_network
from stepgrad.core.persist import dumps

torch = pytest.importorskip("torch")
nn = torch.nn


def _float32_model(seed: int = 0):
    torch.manual_seed(seed)
    f32 = torch.float32  # PyTorch's default, said here: another test may have changed the default dtype
    model = nn.Sequential(nn.Linear(3, 4, dtype=f32), nn.Tanh(), nn.Linear(4, 2, dtype=f32), nn.Sigmoid())
    x, y = torch.randn(5, 3, dtype=f32), torch.rand(5, 2, dtype=f32)
    net = stepgrad.from_torch(model, inputs=x, targets=y, loss="mean_squared_error", learning_rate=0.3)
    net.extra["torch"]["dtype"] = "float32"  # what `stepgrad import --dtype float32` writes
    return model, x, y, net


def _torch_train(model, x, y, steps: int, make):
    opt = make(model.parameters())
    for _ in range(steps):
        opt.zero_grad()
        nn.MSELoss()(model(x), y).backward()
        opt.step()
    return [model[0].weight, model[2].weight, model[0].bias, model[2].bias]


def _float32_numbers(arrays) -> bool:
    return all(np.array_equal(a, a.astype(np.float32).astype(np.float64)) for a in arrays)


@pytest.mark.parametrize("optimizer, make", [
    ("sgd", lambda p: torch.optim.SGD(p, lr=0.3)),
    ("torch_adam", lambda p: torch.optim.Adam(p, lr=0.01)),
])
def test_a_float32_spec_trains_in_float32_as_torch_does(optimizer, make):
    model, x, y, net = _float32_model()
    net.learning_rate = 0.3 if optimizer == "sgd" else 0.01  # the optimizers' lr
    history = stepgrad.train(net, 12, optimizer=optimizer)
    theirs = [p.detach().numpy().astype(np.float64) for p in _torch_train(model, x, y, 12, make)]
    ours = history.network.weights + history.network.biases
    assert history.dtype == "float32" and _float32_numbers(ours)  # every number a float32 one
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=5e-7)  # float32's rounding, summed in torch's own order
    exact = stepgrad.train(net, 12, optimizer=optimizer, dtype="float64")
    assert exact.dtype == "float64" and not _float32_numbers(exact.network.weights)
    off = [np.abs(a - b).max() for a, b in zip(ours, theirs)]
    off64 = [np.abs(a - b).max() for a, b in zip(exact.network.weights + exact.network.biases, theirs)]
    assert max(off) < max(off64)  # nearer torch's float32 run than the exact float64 run is


def test_a_float64_spec_still_trains_in_float64_by_default():
    _, _, _, net = _float32_model()
    del net.extra["torch"]["dtype"]
    history = stepgrad.train(net, 3)
    assert history.dtype == "float64" and not _float32_numbers(history.network.weights)


def test_the_command_says_which_precision_it_used(tmp_path):
    _, _, _, net = _float32_model()
    spec = tmp_path / "net.toml"
    spec.write_text(dumps(net))
    notes: list[str] = []
    report = json.loads(train_network(str(spec), fmt="json", run=TrainOptions(iterations=5), note=notes.append))
    assert report["dtype"] == "float32"
    assert any("computed in float32, as the spec's [torch] table says (--dtype float64: every digit exact)" in n
               for n in notes)
    notes.clear()
    report = json.loads(train_network(str(spec), fmt="json", run=TrainOptions(iterations=5, dtype="float64"),
                                      note=notes.append))
    assert "dtype" not in report and not any("float32" in n for n in notes)
    explained = stepgrad.explain(stepgrad.load(spec))
    assert explained.meta["dtype"] == "float32"  # explain reads the same table


def test_a_resumed_float32_run_equals_one_run():
    _, _, _, net = _float32_model(1)
    once = stepgrad.train(net, 6, optimizer="torch_adam").network
    half = stepgrad.train(stepgrad.train(net, 3, optimizer="torch_adam").network, 3, optimizer="torch_adam").network
    for a, b in zip(once.weights + once.biases, half.weights + half.biases):
        assert np.array_equal(a, b)
