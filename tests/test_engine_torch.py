"""The engine's gradients and updates against PyTorch autograd on 240 seeded random networks.

The torch side is written here from the definitions, not from stepgrad's code: the forward pass
with torch's own activations, each loss by hand (half SE = 1/2 sum (t - o)^2 per sample, MSE = the
mean over outputs, softmax cross-entropy = -sum t log_softmax(net), sigmoid cross-entropy =
BCE-with-logits summed over outputs; the batch loss is the mean over samples), a shared bias as one
scalar parameter broadcast over its layer (so autograd sums its gradient over the layer).

Tolerance: |stepgrad - torch| <= 1e-9 * max(|torch|, 1e-6) for every entry (relative, with an
absolute floor of 1e-15 for gradients that are zero or nearly so).
"""

from __future__ import annotations

import numpy as np
import pytest

import stepgrad
from conftest import slow_after
from stepgrad.core import engine
from stepgrad.core.functions import LOSSES as LOSS_ENTRIES
from test_engine_fd import HIDDEN, OUTPUT, random_network

torch = pytest.importorskip("torch")
F = torch.nn.functional

RTOL, FLOOR = 1e-9, 1e-6
CASES = 240


# The references, written from the definitions; test_references_cover_the_registry fails when a
# registry entry has none here.
ACTIVATIONS = {
    "sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "linear": lambda v: v,
    "leaky_relu": lambda v: F.leaky_relu(v, 0.01), "softmax": lambda v: torch.softmax(v, dim=-1),
    "softplus": F.softplus, "elu": F.elu, "gelu": F.gelu, "gelu_tanh": lambda v: F.gelu(v, approximate="tanh"),
    "silu": F.silu, "softsign": F.softsign,
}
LOSSES = {  # per sample, from (net, out, target)
    "half_squared_error": lambda z, out, t: (0.5 * (t - out) ** 2).sum(dim=1),
    "mean_squared_error": lambda z, out, t: ((t - out) ** 2).mean(dim=1),
    "huber": lambda z, out, t: F.huber_loss(out, t, reduction="none", delta=1.0).sum(dim=1),
    "log_cosh": lambda z, out, t: torch.log(torch.cosh(out - t)).sum(dim=1),
    "l1": lambda z, out, t: (out - t).abs().mean(dim=1),
    "smooth_l1": lambda z, out, t: F.smooth_l1_loss(out, t, reduction="none", beta=1.0).mean(dim=1),
    "squared_error": lambda z, out, t: ((t - out) ** 2).sum(dim=1),
    "absolute_error": lambda z, out, t: (out - t).abs().sum(dim=1),
}
COMBINED = {  # (loss, output activation): per sample, from the logits
    ("cross_entropy", "softmax"): lambda z, t: -(t * torch.log_softmax(z, dim=1)).sum(dim=1),
    ("cross_entropy", "sigmoid"): lambda z, t: F.binary_cross_entropy_with_logits(z, t, reduction="none").sum(dim=1),
    ("cross_entropy_with_logits", "linear"): lambda z, t: F.cross_entropy(z, t, reduction="none"),
    ("binary_cross_entropy_with_logits", "linear"):
        lambda z, t: F.binary_cross_entropy_with_logits(z, t, reduction="none").mean(dim=1),
}


def activate(name: str, z):
    return ACTIVATIONS[name](z)


def batch_loss(net: stepgrad.Network, z, out, t):
    pair = (net.loss, net.activations[-1])
    per_sample = COMBINED[pair](z, t) if pair in COMBINED else LOSSES[net.loss](z, out, t)
    return per_sample.mean()


def torch_parameters(net: stepgrad.Network):
    ws = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in net.weights]
    bs = [torch.tensor(b, dtype=torch.float64, requires_grad=True) for b in net.biases]  # shape (1,) if shared
    return ws, bs


def torch_loss(net, ws_forward, ws_backward, bs, x, t):
    """The batch loss; layer l's forward value uses ws_forward[l], its backward path ws_backward[l].

    z = a @ Wb^T + (a.detach() @ (Wf - Wb)^T): the value is a @ Wf^T, the gradient with respect to
    a flows through Wb. With Wb = Wf this is the plain forward pass.
    """
    a = x
    z = None
    for l, (wf, wb, b) in enumerate(zip(ws_forward, ws_backward, bs)):
        z = a @ wb.T + b if wb is wf else a @ wb.T + a.detach() @ (wf - wb).detach().T + b
        a = activate(net.activations[l], z)
    return batch_loss(net, z, a, t)


def close(ours: np.ndarray, theirs: np.ndarray) -> bool:
    return bool(np.all(np.abs(ours - theirs) <= RTOL * np.maximum(np.abs(theirs), FLOOR)))


def assert_close(ours, theirs, what: str) -> None:
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, what
    worst = np.max(np.abs(ours - theirs) / np.maximum(np.abs(theirs), FLOOR), initial=0.0)
    assert close(ours, theirs), f"{what}: worst relative difference {worst:.3e}"


@pytest.mark.parametrize("chunk", range(8))
def test_synchronous_gradients_match_autograd(chunk):
    for seed in range(chunk, CASES, 8):
        net = random_network(seed)
        x = torch.tensor(net.inputs)
        t = torch.tensor(net.targets)
        ws, bs = torch_parameters(net)
        loss = torch_loss(net, ws, ws, bs, x, t)
        loss.backward()
        rec = engine.step(net, net.inputs, net.targets, "synchronous")
        where = f"seed {seed} ({net.layers}, {net.activations}, {net.loss})"
        assert_close(rec.forward.error, loss.item(), f"{where}: E_total")
        for l in range(net.depth):
            assert_close(rec.grad_weights[l], ws[l].grad.numpy(), f"{where}: dE/dW[{l}]")
            assert_close(rec.grad_biases[l], bs[l].grad.numpy(), f"{where}: dE/db[{l}]")
            lr = net.learning_rate
            assert_close(rec.new_weights[l], ws[l].detach().numpy() - lr * ws[l].grad.numpy(), f"{where}: W+[{l}]")
            expected_b = bs[l].detach().numpy() - lr * bs[l].grad.numpy() if net.update_biases else net.biases[l]
            assert_close(rec.new_biases[l], expected_b, f"{where}: b+[{l}]")


@pytest.mark.parametrize("chunk", slow_after(1, range(4)))
def test_sequential_updates_match_torch(chunk):
    """Sequential: update the top layer first, then backpropagate through the updated weights."""
    for seed in range(chunk, CASES, 4):
        net = random_network(seed)
        x = torch.tensor(net.inputs)
        t = torch.tensor(net.targets)
        lr = net.learning_rate
        old_ws = [torch.tensor(w) for w in net.weights]
        new_ws: list = [None] * net.depth
        new_bs: list = [None] * net.depth
        for l in range(net.depth - 1, -1, -1):
            ws = [w.clone().requires_grad_(k == l) for k, w in enumerate(old_ws)]
            backward = [ws[k] if k <= l else new_ws[k] for k in range(net.depth)]
            bs = [torch.tensor(b, requires_grad=True) for b in net.biases]
            torch_loss(net, ws, backward, bs, x, t).backward()
            new_ws[l] = (ws[l] - lr * ws[l].grad).detach()
            new_bs[l] = (bs[l] - lr * bs[l].grad).detach().numpy() if net.update_biases else net.biases[l]
        rec = engine.step(net, net.inputs, net.targets, "sequential")
        where = f"seed {seed} ({net.layers}, {net.activations}, {net.loss})"
        for l in range(net.depth):
            assert_close(rec.new_weights[l], new_ws[l].numpy(), f"{where}: W+[{l}] (sequential)")
            assert_close(rec.new_biases[l], new_bs[l], f"{where}: b+[{l}] (sequential)")


def test_references_cover_the_registry():
    """Every registry entry has an independent torch reference above, and its own torch counterpart agrees."""
    from stepgrad.core import functions
    from stepgrad.interop import compare as torch_compare

    assert set(ACTIVATIONS) == set(functions.ACTIVATIONS)
    assert set(LOSSES) | {loss for loss, _ in COMBINED} == set(functions.LOSSES)
    assert set(COMBINED) == {(n, a) for n, e in functions.LOSSES.items() for a in e.combinations}
    z = torch.linspace(-30, 30, 24, dtype=torch.float64).reshape(4, 6)
    t = torch.rand(4, 6, dtype=torch.float64) * 3 - 1
    for name, entry in functions.ACTIVATIONS.items():
        torch.testing.assert_close(entry.torch()(z), ACTIVATIONS[name](z), rtol=1e-12, atol=1e-12)
    for loss, entry in functions.LOSSES.items():
        for act, fn in ACTIVATIONS.items():
            out = fn(z)
            pair = (loss, act)
            if pair in COMBINED:
                expected = COMBINED[pair](z, t).mean()
            elif entry.value is not None:
                expected = LOSSES[loss](z, out, t).mean()
            else:
                continue
            torch.testing.assert_close(torch_compare.torch_loss(loss, act, z, out, t), expected)


def test_random_networks_cover_every_case():
    """The generator really visits every activation, loss/output pairing, bias kind and batch size."""
    nets = [random_network(seed) for seed in range(CASES)]
    hidden = {a for n in nets for a in n.activations[:-1]}
    pairs = {(n.loss, n.activations[-1]) for n in nets}
    assert hidden == set(HIDDEN)
    assert {a for n in nets for a in n.activations[-1:]} == set(OUTPUT)
    assert set(COMBINED) <= pairs
    assert {n.loss for n in nets} == set(LOSS_ENTRIES)
    assert {n.depth - 1 for n in nets} == {1, 2, 3, 4}
    assert {len(n.inputs) for n in nets} == {1, 2, 3, 4, 5}
    assert {s for n in nets for s in n.shared_biases} == {True, False}
    assert {w for n in nets for w in n.layers} == set(range(1, 9))
