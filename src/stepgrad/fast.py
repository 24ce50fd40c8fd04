"""The fast training path for any network size: engine.step's arithmetic with reused buffers.

`DenseTrainer` keeps the parameters in the chosen dtype and preallocates every array a step needs
(net, out and delta per layer, the gradients, the optimizer state), so a step is a handful of
in-place numpy calls with no allocation. The semantics are engine.step's, tested against it:
the batch error is the mean over samples, gradients are the matching mean, a shared bias gets the
sum of its neurons' gradients, biases move only with update_biases, and the sequential order
sends deltas down through the just-updated weights. The optimizers follow `optim.compute`.

    >>> trainer = DenseTrainer(net, batch_size=32, dtype=np.float32, optimizer=state)
    >>> trainer.step(x_batch, t_batch)            # one mini-batch step, in place
    >>> trainer.write_back(net)                   # the trained parameters, as float64
"""

from __future__ import annotations

import numpy as np

from .functions import LEAKY_SLOPE
from .optim import OptimizerState
from .spec import Network

Array = np.ndarray
SUPPORTED = {"sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax"}


class DenseTrainer:
    """Mini-batch training steps of one network in `dtype`, every buffer allocated once."""

    def __init__(self, net: Network, batch_size: int, dtype=np.float64, optimizer: OptimizerState | None = None,
                 update_order: str | None = None):
        self.dtype = np.dtype(dtype)
        self.depth = net.depth
        self.acts = list(net.activations)
        self.loss = net.loss
        self.lr = float(net.learning_rate)
        self.sequential = (update_order or net.update_order) == "sequential"
        self.update_biases = bool(net.update_biases)
        self.shared = [net.shared_bias(l) for l in range(net.depth)]
        self.weights = [np.array(w, dtype=self.dtype) for w in net.weights]
        self.biases = [np.array(b, dtype=self.dtype) for b in net.biases]
        self.state = (optimizer or OptimizerState.fresh("sgd", [])).as_dtype(self.dtype)
        if self.sequential and self.state.name != "sgd":
            raise ValueError("the sequential update order is defined for plain gradient descent only")
        self.resize(batch_size, net.layers)
        self.grad_w = [np.empty_like(w) for w in self.weights]
        self.grad_b = [np.empty_like(b) for b in self.biases]
        self.tmp_w = [np.empty_like(w) for w in self.weights]
        self.tmp_b = [np.empty_like(b) for b in self.biases]

    def resize(self, batch_size: int, layers: list[int]) -> None:
        """(Re)allocate the per-sample buffers for batches of up to `batch_size` rows."""
        self.capacity = batch_size
        self.nets = [np.empty((batch_size, n), self.dtype) for n in layers[1:]]
        self.outs = [np.empty((batch_size, n), self.dtype) for n in layers[1:]]
        self.deltas = [np.empty((batch_size, n), self.dtype) for n in layers[1:]]
        self.scratch = [np.empty((batch_size, n), self.dtype) for n in layers[1:]]
        self.layers = list(layers)

    # -- forward ----------------------------------------------------------------------------------
    def forward(self, x: Array, n: int) -> Array:
        """Fill nets/outs for the first n rows; returns the output layer's out (a view)."""
        a = x
        for l in range(self.depth):
            z, out = self.nets[l][:n], self.outs[l][:n]
            np.matmul(a, self.weights[l].T, out=z)
            z += self.biases[l]
            _activate(self.acts[l], z, out, self.scratch[l][:n])
            a = out
        return a

    # -- one step ---------------------------------------------------------------------------------
    def step(self, x: Array, t: Array) -> None:
        """One gradient step on the batch (x, t), in place."""
        n = x.shape[0]
        if n > self.capacity:
            self.resize(n, self.layers)
        out = self.forward(x, n)
        d = self.deltas[-1][:n]
        self.output_delta(out, t, d, n)
        for l in range(self.depth - 1, -1, -1):
            d = self.deltas[l][:n]
            below = x if l == 0 else self.outs[l - 1][:n]
            gw, gb = self.grad_w[l], self.grad_b[l]
            np.matmul(d.T, below, out=gw)
            gw /= n
            if self.shared[l]:
                gb[0] = (d.sum(axis=0) / n).sum()
            else:
                np.sum(d, axis=0, out=gb)
                gb /= n
            if self.sequential:
                self.update(l)
            if l > 0:
                lower = self.deltas[l - 1][:n]
                np.matmul(d, self.weights[l], out=lower)
                _times_derivative(self.acts[l - 1], lower, self.nets[l - 1][:n], self.outs[l - 1][:n],
                                  self.scratch[l - 1][:n])
        if not self.sequential:
            for l in range(self.depth):
                self.update(l)
        self.state.t += 1

    def output_delta(self, out: Array, t: Array, d: Array, n: int) -> None:
        """dE_total/dnet at the output layer, per sample, into d (engine.output_delta's arithmetic)."""
        act = self.acts[-1]
        if self.loss == "cross_entropy":
            np.subtract(out, t, out=d)
            return
        if self.loss == "half_squared_error":
            np.subtract(t, out, out=d)
            np.negative(d, out=d)
        else:  # mean_squared_error: -2/n_out * (t - out)
            np.subtract(t, out, out=d)
            d *= -2.0 / out.shape[-1]
        if act == "softmax":
            s = (d * out).sum(axis=-1, keepdims=True)
            d -= s
            d *= out
            return
        _times_derivative(act, d, self.nets[-1][:n], out, self.scratch[-1][:n])

    def update(self, l: int) -> None:
        """Apply the optimizer to layer l's weights (and biases when they are trained)."""
        k = l
        self._update(self.weights[l], self.grad_w[l], self.tmp_w[l], k)
        if self.update_biases:
            self._update(self.biases[l], self.grad_b[l], self.tmp_b[l], self.depth + l)

    def _update(self, p: Array, g: Array, tmp: Array, k: int) -> None:
        name, lr, h = self.state.name, self.lr, self.state.hyper
        if name == "sgd":
            np.multiply(g, lr, out=tmp)
            p -= tmp
        elif name == "momentum":
            v = self.state.slots["v"][k]
            v *= h["mu"]
            v += g
            np.multiply(v, lr, out=tmp)
            p -= tmp
        else:  # adam, as optim.compute
            m, s = self.state.slots["m"][k], self.state.slots["s"][k]
            t = self.state.t + 1
            m *= h["beta1"]
            np.multiply(g, 1 - h["beta1"], out=tmp)
            m += tmp
            s *= h["beta2"]
            np.multiply(g, 1 - h["beta2"], out=tmp)
            tmp *= g
            s += tmp
            np.divide(s, 1 - h["beta2"] ** t, out=tmp)
            np.sqrt(tmp, out=tmp)
            tmp += h["epsilon"]
            np.divide(m, tmp, out=tmp)  # m / (1 - b1^t) / (...) folded below, as in compute()
            tmp *= lr / (1 - h["beta1"] ** t)
            p -= tmp

    def write_back(self, net: Network) -> None:
        """Copy the trained parameters into `net` as float64."""
        net.weights = [w.astype(np.float64) for w in self.weights]
        net.biases = [b.astype(np.float64) for b in self.biases]


def _activate(act: str, z: Array, out: Array, scratch: Array) -> None:
    if act == "tanh":
        np.tanh(z, out=out)
    elif act == "sigmoid":  # the registry's stable form: exp sees -|z| only
        np.abs(z, out=scratch)
        np.negative(scratch, out=scratch)
        np.exp(scratch, out=scratch)
        np.add(scratch, 1.0, out=out)
        np.divide(np.where(z >= 0, 1.0, scratch), out, out=out)
    elif act == "relu":
        np.maximum(z, 0.0, out=out)
    elif act == "leaky_relu":
        np.multiply(z, LEAKY_SLOPE, out=scratch)
        np.copyto(out, z)
        np.copyto(out, scratch, where=z <= 0)
    elif act == "linear":
        np.copyto(out, z)
    elif act == "softmax":
        np.subtract(z, z.max(axis=-1, keepdims=True), out=out)
        np.exp(out, out=out)
        out /= out.sum(axis=-1, keepdims=True)
    else:
        raise KeyError(act)


def _times_derivative(act: str, g: Array, z: Array, out: Array, scratch: Array) -> None:
    """g *= dout/dnet, the registry's derivative, in place."""
    if act == "tanh":  # 1 - out^2
        np.multiply(out, out, out=scratch)
        np.subtract(1.0, scratch, out=scratch)
        g *= scratch
    elif act == "sigmoid":  # out (1 - out)
        np.subtract(1.0, out, out=scratch)
        scratch *= out
        g *= scratch
    elif act == "relu":
        g *= z > 0
    elif act == "leaky_relu":
        np.copyto(g, g * LEAKY_SLOPE, where=z <= 0)
    elif act == "linear":
        pass
    else:
        raise KeyError(act)
