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
    """Mini-batch training steps of one network in `dtype`, every buffer allocated once.

    Each layer's weights and bias live in one matrix [W | b] (the bias as a last column), and the
    activations carry a last column of ones, so one matrix product gives net = W out + b and one
    gives both the weight and the bias gradients (fewer numpy calls per step). `step` accepts the
    inputs with that ones column already appended (`with_ones`, what `fit` does once per epoch)
    or without it (then they are copied into a buffer that has it).
    """

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
        self.layers = list(net.layers)
        self.params = [self._join(w, b) for w, b in zip(net.weights, net.biases)]  # [W | b] per layer
        self.weights = [p[:, :-1] for p in self.params]  # views
        state = optimizer or OptimizerState.fresh("sgd", [])
        if self.sequential and state.name != "sgd":
            raise ValueError("the sequential update order is defined for plain gradient descent only")
        self.state = state
        self.slots = {k: [self._join(a, b) for a, b in zip(v[:self.depth], v[self.depth:])] for k, v in state.slots.items()}
        self.grads = [np.empty_like(p) for p in self.params]
        self.tmp = [np.empty_like(p) for p in self.params]
        self.capacity = 0
        self.resize(batch_size)

    def _join(self, w: Array, b: Array) -> Array:
        joined = np.empty((w.shape[0], w.shape[1] + 1), self.dtype)
        joined[:, :-1] = w
        joined[:, -1] = b  # a shared bias repeats in every row
        return joined

    def _split(self, joined: Array, l: int) -> tuple[Array, Array]:
        w = joined[:, :-1].astype(np.float64)
        b = joined[:1, -1] if self.shared[l] else joined[:, -1]
        return w, b.astype(np.float64)

    def resize(self, batch_size: int) -> None:
        """(Re)allocate the per-sample buffers for batches of up to `batch_size` rows."""
        self.capacity = batch_size
        sizes = self.layers
        # outs[l]: the input of weight layer l with its ones column (outs[0]: for inputs given without it)
        self.outs = [np.ones((batch_size, n + 1), self.dtype) for n in sizes[:-1]]
        self.final = np.empty((batch_size, sizes[-1]), self.dtype)
        self.nets = [np.empty((batch_size, n), self.dtype) for n in sizes[1:]]
        self.deltas = [np.empty((batch_size, n), self.dtype) for n in sizes[1:]]
        self.scratch = [np.empty((batch_size, n), self.dtype) for n in sizes[1:]]
        self._views: dict = {}

    def views(self, n: int):
        """The buffers' first n rows, made once per batch size: (outs with ones, activations, nets, deltas, scratch)."""
        found = self._views.get(n)
        if found is None:
            if n > self.capacity:
                self.resize(n)
            outs = [b[:n] for b in self.outs]
            acts = [b[:n, :-1] for b in self.outs[1:]] + [self.final[:n]]  # where layer l writes its out
            found = (outs, acts, [b[:n] for b in self.nets], [b[:n] for b in self.deltas], [b[:n] for b in self.scratch])
            self._views[n] = found
        return found

    @staticmethod
    def with_ones(x: Array, dtype=None) -> Array:
        """x with a last column of ones (the bias input), in `dtype` (default: x's)."""
        out = np.empty((x.shape[0], x.shape[1] + 1), dtype or x.dtype)
        out[:, :-1] = x
        out[:, -1] = 1.0
        return out

    def forward(self, x: Array, n: int) -> Array:
        """Fill nets/outs for the first n rows (x with its ones column); returns the output layer's out."""
        outs, acts, nets, _, scratch = self.views(n)
        a = x
        for l in range(self.depth):
            z = nets[l]
            np.matmul(a, self.params[l].T, out=z)
            _activate(self.acts[l], z, acts[l], scratch[l])
            a = outs[l + 1] if l + 1 < self.depth else None
        return acts[-1]

    # -- one step ---------------------------------------------------------------------------------
    def step(self, x: Array, t: Array) -> None:
        """One gradient step on the batch (x, t), in place."""
        n = x.shape[0]
        outs, acts, nets, deltas, scratch = self.views(n)
        if x.shape[1] == self.layers[0]:
            outs[0][:, :-1] = x
            x = outs[0]
        out = self.forward(x, n)
        self.output_delta(out, t, deltas[-1], nets[-1], scratch[-1])
        # Plain gradient descent folds the mean and the learning rate into one scale (fused update);
        # the other optimizers need the gradient itself.
        fused = self.state.name == "sgd"
        scale = self.lr / n if fused else 1.0 / n
        for l in range(self.depth - 1, -1, -1):
            d, g = deltas[l], self.grads[l]
            # scale the deltas (n x neurons), not the gradient (neurons x inputs): fewer numbers
            scaled = np.multiply(d, scale, out=scratch[l])
            np.matmul(scaled.T, x if l == 0 else outs[l], out=g)  # weights and (last column) bias
            if not self.update_biases:
                g[:, -1] = 0.0
            elif self.shared[l]:
                g[:, -1] = g[:, -1].sum()
            if self.sequential:
                self.update(l, fused)
            if l > 0:
                lower = deltas[l - 1]
                np.matmul(d, self.weights[l], out=lower)
                _times_derivative(self.acts[l - 1], lower, nets[l - 1], acts[l - 1], scratch[l - 1])
        if not self.sequential:
            for l in range(self.depth):
                self.update(l, fused)
        self.state.t += 1

    def output_delta(self, out: Array, t: Array, d: Array, z: Array, scratch: Array) -> None:
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
        _times_derivative(act, d, z, out, scratch)

    def update(self, l: int, fused: bool) -> None:
        """Apply the optimizer to layer l's weights and bias (a frozen bias has a zero gradient)."""
        p, g, tmp = self.params[l], self.grads[l], self.tmp[l]
        if fused:  # the gradients already carry the learning rate
            p -= g
            return
        name, lr, h = self.state.name, self.lr, self.state.hyper
        if name == "momentum":
            v = self.slots["v"][l]
            v *= h["mu"]
            v += g
            np.multiply(v, lr, out=tmp)
            p -= tmp
        else:  # adam, as optim.compute
            m, s = self.slots["m"][l], self.slots["s"][l]
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
        pairs = [self._split(p, l) for l, p in enumerate(self.params)]
        net.weights = [w for w, _ in pairs]
        net.biases = [b for _, b in pairs]

    def exported_state(self) -> OptimizerState:
        """The optimizer state in optim's layout (weights, then biases), float64."""
        slots = {}
        for k, joined in self.slots.items():
            pairs = [self._split(a, l) for l, a in enumerate(joined)]
            slots[k] = [w for w, _ in pairs] + [b for _, b in pairs]
        return OptimizerState(self.state.name, dict(self.state.hyper), self.state.t, slots)


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
        np.subtract(z, np.maximum.reduce(z, axis=-1, keepdims=True), out=out)
        np.exp(out, out=out)
        out /= np.add.reduce(out, axis=-1, keepdims=True)
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
