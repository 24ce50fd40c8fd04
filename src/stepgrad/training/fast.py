"""The fast training path for any network size: engine.step's arithmetic with reused buffers.

`DenseTrainer` keeps the parameters in the chosen dtype and preallocates every array a step needs
(net, out and delta per layer, the gradients, the optimizer state), so a step is a handful of
in-place numpy calls with no allocation. The semantics are engine.step's, tested against it:
the batch error is the mean over samples, gradients are the matching mean, a shared bias gets the
sum of its neurons' gradients, biases move only with update_biases, and the sequential order
sends deltas down through the just-updated weights. The optimizers follow `optim.compute`.
Every activation, loss and optimizer comes from its registry entry: the entry's in-place numpy
form when it has one, else its array form (`supports` says which networks this path takes).

    >>> net = stepgrad.builtin()
    >>> inputs, targets = net.require_samples()
    >>> trainer = DenseTrainer(net, batch_size=32, dtype=np.float32)
    >>> trainer.step(inputs, targets)             # one mini-batch step, in place
    >>> trainer.write_back(net)                   # the trained parameters, as float64
    >>> round(float(net.weights[1][0, 0]), 6)     # the deck's w5+
    0.358916
"""

from __future__ import annotations

import numpy as np

from stepgrad.core.functions import Activation, activation, loss
from stepgrad.core.optim import OptimizerState, get
from stepgrad.core.spec import Network

Array = np.ndarray


def supports(net: Network, dtype=np.float64, optimizer: str = "sgd", update_order: str | None = None) -> bool:
    """Whether DenseTrainer computes this network: every activation elementwise or coupled with a
    backward, the loss valid with the output activation, the sequential order only for a plain rule."""
    if net.reduction != "mean":  # the summed batch: engine.step alone
        return False
    acts = [activation(a) for a in net.activations]
    if any(a.derivative is None and a.backward is None for a in acts):
        return False
    entry = loss(net.loss)
    if entry.combination(acts[-1].name) is None and entry.gradient is None:
        return False
    return (update_order or net.update_order) != "sequential" or get(optimizer).plain


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
        self.acts = [activation(a) for a in net.activations]
        self.loss = loss(net.loss)
        self.combination = self.loss.combination(self.acts[-1].name)
        self.lr = float(net.learning_rate)
        self.sequential = (update_order or net.update_order) == "sequential"
        self.update_biases = bool(net.update_biases)
        trains = net.trains()  # per layer: whether its weights and its bias move (frozen parameters keep their value)
        self.trains = [(trains[l], trains[net.depth + l]) for l in range(net.depth)]
        self.shared = [net.shared_bias(l) for l in range(net.depth)]
        self.layers = list(net.layers)
        self.params = [self._join(w, b) for w, b in zip(net.weights, net.biases)]  # [W | b] per layer
        self.weights = [p[:, :-1] for p in self.params]  # views
        state = optimizer or OptimizerState.fresh("sgd", [])
        self.rule = get(state.name)
        if self.sequential and not self.rule.plain:
            raise ValueError("the sequential update order is defined for plain gradient descent only")
        self.state = state
        self.slots = {k: [self._join(a, b) for a, b in zip(v[:self.depth], v[self.depth:])] for k, v in state.slots.items()}
        self.grads = [np.empty_like(p) for p in self.params]
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
        for l in range(self.depth):
            z = nets[l]
            np.matmul(x if l == 0 else outs[l], self.params[l].T, out=z)
            _activate(self.acts[l], z, acts[l], scratch[l])
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
        fused = self.rule.plain
        scale = self.lr / n if fused else 1.0 / n
        for l in range(self.depth - 1, -1, -1):
            d, g = deltas[l], self.grads[l]
            # scale the deltas (n x neurons), not the gradient (neurons x inputs): fewer numbers
            scaled = np.multiply(d, scale, out=scratch[l])
            np.matmul(scaled.T, x if l == 0 else outs[l], out=g)  # weights and (last column) bias
            if not self.trains[l][0]:
                g[:, :-1] = 0.0
            if not self.trains[l][1]:
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
        if self.combination is not None:  # the loss with this output activation: out - target
            if self.combination.delta is None:
                np.subtract(out, t, out=d)
            else:
                np.copyto(d, self.combination.signal(z, out, t))
            return
        np.copyto(d, self.loss.gradient(out, t))  # type: ignore[misc]
        act = self.acts[-1]
        if act.derivative is None:  # coupled (softmax)
            np.copyto(d, act.backward(out, d))  # type: ignore[misc]
            return
        _times_derivative(act, d, z, out, scratch)

    def update(self, l: int, fused: bool) -> None:
        """Apply the optimizer to layer l's weights and bias (a frozen bias has a zero gradient)."""
        p, g = self.params[l], self.grads[l]
        if fused:  # the gradients already carry the learning rate
            p -= g
            return
        slots = {name: joined[l] for name, joined in self.slots.items()}
        weights, bias = self.trains[l]
        if any(self.state.settings) or not weights:  # their own settings (torch's parameter groups), or frozen weights
            parts = ([(slice(None, -1), l)] if weights else []) + ([(slice(-1, None), self.depth + l)] if bias else [])
        else:  # weight decay must not move a frozen bias
            parts = [(slice(None, -1) if not bias else slice(None), l)]
        for part, index in parts:
            hyper, rate = self.state.of(index, self.lr)
            q = self.rule.compute(hyper, {k: a[:, part] for k, a in slots.items()}, p[:, part], g[:, part],
                                  self.state.t + 1, rate, lambda a: a)
            for name, joined in slots.items():
                joined[:, part] = q[f"{name}+"]
            p[:, part] = q["p+"]

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
        return OptimizerState(self.state.name, dict(self.state.hyper), self.state.t, slots, self.state.settings)


def _activate(act: Activation, z: Array, out: Array, scratch: Array) -> None:
    """out = the activation of z: the entry's in-place form, else its array form."""
    if act.inplace is not None:
        act.inplace.forward(z, out, scratch)
    else:
        np.copyto(out, act.forward(z))


def _times_derivative(act: Activation, g: Array, z: Array, out: Array, scratch: Array) -> None:
    """g *= dout/dnet, the registry's derivative, in place."""
    if act.inplace is not None and act.inplace.times_derivative is not None:
        act.inplace.times_derivative(g, z, out, scratch)
    else:
        g *= act.derivative(z, out)  # type: ignore[misc]
