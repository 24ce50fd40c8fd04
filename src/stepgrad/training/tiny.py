"""The fast path for tiny networks (the deck's 2-2-2): the whole training loop compiled by numba.

For a few neurons, numpy's per-call overhead (~1 µs per operation) costs far more than the
arithmetic, so here every step of every iteration is a scalar loop that numba compiles once
(`cache=True`: later runs load the machine code from __pycache__). The loop is engine.step's
arithmetic written out per sample and neuron: mean-over-samples batch error and gradients, shared
biases summing their neurons' gradients, update_biases, the synchronous and sequential orders, and
the optimizers of `optim` (sgd, momentum, adam). Tested against engine.step on random networks.

Without numba (or with STEPGRAD_NO_NUMBA=1) `available()` is False and training takes the next
backend (`pure`, then the engine). The kernel's branches are the registry entries' `kernel` codes;
`supports` refuses a network with an entry that has none.

Layout: all parameters in one float64 vector, every weight matrix (row-major) then every bias
vector, the order of `optim.parameters`; per-sample activations in one row per sample, the
layers side by side (offsets `neuron_at`).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from stepgrad.core import optim
from stepgrad.core.functions import activation, loss

MAX_PARAMETERS = 600  # above this the numpy path (fast.py) wins

_kernel: Any = None  # None: not tried yet; False: unavailable; else the compiled loop


def available() -> bool:
    """True when numba can be imported (and is not switched off by STEPGRAD_NO_NUMBA=1)."""
    return _load() is not None


def _load():
    global _kernel
    if _kernel is None:
        if os.environ.get("STEPGRAD_NO_NUMBA"):
            _kernel = False
        else:
            try:
                from stepgrad.training._tiny_kernel import _train_loop

                _smoke(_train_loop)
            except Exception:  # numba missing, broken or unable to compile: the numpy path takes over
                _kernel = False
            else:
                _kernel = _train_loop
    return _kernel or None


def _smoke(kernel) -> None:
    """One step of a 1-1 network, with the argument types of `run`: compiles (or loads from the
    cache) the kernel, so that a numba that cannot compile it is found here, not mid-training."""
    i64 = np.int64
    params = np.array([0.5, 0.1])
    kernel(params, np.zeros(2), np.zeros(2), np.array([1, 1], i64), np.array([0], i64), np.array([1], i64),
           np.array([1], i64), np.array([0, 1, 2], i64), np.array([0], i64), 0, 0, np.zeros(4), 0, 0.5,
           False, False, np.ones((1, 1)), np.ones((1, 1)), np.arange(1, dtype=i64), np.zeros(2, i64),
           np.ones(2, i64), 1, np.empty(1))
    if not np.isfinite(params).all():
        raise RuntimeError("the compiled training loop gave a non-finite result")


def loss_code(net) -> int | None:
    """The kernel's code for the network's loss with its output activation (None: not in the kernel)."""
    entry = loss(net.loss)
    combined = entry.combination(net.activations[-1])
    if combined is not None:
        return combined.kernel
    return entry.kernel if entry.value is not None else None


def supports(net, dtype=np.float64, optimizer: str = "sgd", update_order: str | None = None) -> bool:
    """Whether the compiled path takes this network: float64, small, every entry with a kernel code, numba present."""
    if net.reduction != "mean" or net.partly_frozen:  # the summed batch, frozen parameters: engine.step alone
        return False
    if np.dtype(dtype) != np.float64 or net.parameter_count > MAX_PARAMETERS:
        return False
    rule = optim.get(optimizer)
    if rule.kernel is None or ((update_order or net.update_order) == "sequential" and not rule.plain):
        return False
    if any(activation(a).kernel is None for a in net.activations) or loss_code(net) is None:
        return False
    return available()


class Layout:
    """Offsets of every weight, bias and neuron in the flat vectors."""

    def __init__(self, net):
        layers = list(net.layers)
        self.layers = np.array(layers, dtype=np.int64)
        depth = len(layers) - 1
        self.bias_count = np.array([b.size for b in net.biases], dtype=np.int64)
        w_at, b_at, at = [], [], 0
        for l in range(depth):
            w_at.append(at)
            at += layers[l + 1] * layers[l]
        for l in range(depth):
            b_at.append(at)
            at += int(self.bias_count[l])
        self.weight_at = np.array(w_at, dtype=np.int64)
        self.bias_at = np.array(b_at, dtype=np.int64)
        self.size = at
        self.neuron_at = np.concatenate([[0], np.cumsum(layers)]).astype(np.int64)

    def pack(self, weights, biases) -> np.ndarray:
        """Weight matrices and bias vectors as one flat float64 vector."""
        return np.concatenate([np.ravel(w) for w in weights] + [np.ravel(b) for b in biases]).astype(np.float64)

    def unpack(self, flat: np.ndarray, like_weights, like_biases):
        """The flat vector back as (weights, biases) shaped like the given ones."""
        weights = [flat[o:o + w.size].reshape(w.shape).copy() for o, w in zip(self.weight_at, like_weights)]
        biases = [flat[o:o + b.size].reshape(b.shape).copy() for o, b in zip(self.bias_at, like_biases)]
        return weights, biases


def run(net, inputs: np.ndarray, targets: np.ndarray, steps: int, order: np.ndarray | None, batch_size: int,
        state, sequential: bool) -> tuple[np.ndarray, np.ndarray]:
    """Train `net`'s parameters for `steps` steps; returns (new flat parameters, error before each step).

    order None: every step uses all samples (full batch); else step k uses the rows
    order[k*batch_size : (k+1)*batch_size] (clipped at the end of each epoch by the caller's `order`).
    The optimizer `state` (optim.OptimizerState) is advanced in place.
    """
    kernel = _load()
    codes = (loss_code(net), optim.get(state.name).kernel)
    if kernel is None or None in codes or not supports(net, np.float64, state.name, "synchronous"):
        raise ValueError(f"the compiled path does not support this network ({net.activations}, {net.loss}, {state.name})")
    lay = Layout(net)
    acts = np.array([activation(a).kernel for a in net.activations], dtype=np.int64)
    params = lay.pack(net.weights, net.biases)
    slot1, slot2 = np.zeros(lay.size), np.zeros(lay.size)
    names = list(state.slots)
    if names:
        slot1 = lay.pack(state.slots[names[0]][:net.depth], state.slots[names[0]][net.depth:])
    if len(names) > 1:
        slot2 = lay.pack(state.slots[names[1]][:net.depth], state.slots[names[1]][net.depth:])
    h = state.hyper
    hyper = np.array([h.get("mu", 0.0), h.get("beta1", 0.0), h.get("beta2", 0.0), h.get("epsilon", 0.0)])
    n = inputs.shape[0]
    if order is None:
        rows = np.arange(n, dtype=np.int64)
        starts = np.zeros(steps + 1, dtype=np.int64)
        ends = np.full(steps + 1, n, dtype=np.int64)
    else:
        rows, starts, ends = order
    errors = np.empty(steps)
    x = np.ascontiguousarray(inputs, dtype=np.float64)
    t = np.ascontiguousarray(targets, dtype=np.float64)
    kernel(params, slot1, slot2, lay.layers, lay.weight_at, lay.bias_at, lay.bias_count, lay.neuron_at, acts,
           codes[0], codes[1], hyper, state.t, float(net.learning_rate),
           sequential, bool(net.update_biases), x, t, rows, starts, ends, steps, errors)
    for k, name in enumerate(names):
        w, b = lay.unpack(slot1 if k == 0 else slot2, net.weights, net.biases)
        state.slots[name] = w + b
    state.t += steps
    return params, errors
