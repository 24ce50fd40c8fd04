"""Training: repeat the engine's step and keep the history.

    >>> history = stepgrad.train(stepgrad.builtin(), 10_000, update_order="sequential")
    >>> round(float(history.network_outputs()[0][0]), 9)
    0.015912196

`train` takes full-batch steps on the spec's samples (the deck's 10,000 iterations); `fit` trains
on a data set in shuffled mini-batches for some epochs (see `stepgrad.training.data`). Both compute what
engine.step computes, through the first backend whose `supports()` takes the network: `tiny`
(compiled by numba, when installed), `pure` (generated Python, for tiny networks without numba),
then for `fit` `fast.DenseTrainer` (numpy), and otherwise the engine itself. The tests hold every
backend to engine.step over every registry entry. Optimizers other than plain gradient descent
(`stepgrad.core.optim`) take the gradients of the synchronous order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from stepgrad.core import engine, hooks, optim
from stepgrad.core import names as quantity
from stepgrad.core.errors import DivergenceError, StepgradError
from stepgrad.core.names import layout
from stepgrad.core.optim import check_order
from stepgrad.core.spec import Network
from stepgrad.core.torch_record import dtype_of
from stepgrad.core.training_state import TrainingState
from stepgrad.training import fast, pure, tiny
from stepgrad.training.diverge import check_trained
from stepgrad.training.fast import DenseTrainer

COMPILED = (tiny, pure)  # backends for small float64 networks, each with supports() and run(), in order


def compiled_backend(net: Network, dtype, optimizer: str, order: str):
    """The first of COMPILED that supports the network (a module with `run`), or None."""
    for backend in COMPILED:
        if backend.supports(net, dtype, optimizer, order):
            return backend
    return None


@dataclass
class History:
    """A training run: the errors before each recorded iteration, and the trained network."""

    network: Network
    update_order: str
    iterations: int  # iterations done in this run
    start: int  # iterations already done before this run (resumed training)
    recorded: list[int] = field(default_factory=list)  # iteration numbers (0 = before training)
    errors: list[float] = field(default_factory=list)
    final_error: float = float("nan")
    optimizer: str = "sgd"
    optimizer_state: dict | None = None  # plain data (optim.OptimizerState.to_dict), to resume exactly
    epochs: list[dict] = field(default_factory=list)  # fit(): per epoch: loss, accuracies, seconds
    metrics: dict = field(default_factory=dict)  # fit(): the final loss and accuracies
    data: str = ""  # fit(): the data set's name
    dtype: str = "float64"

    def network_outputs(self) -> np.ndarray:
        """The trained network's outputs for the spec's samples."""
        inputs, targets = self.network.require_samples()
        return engine.forward(self.network, inputs).outs[-1]

    def values(self) -> dict[str, float]:
        """Final quantities by name: out_o1, E_total, w1 ... (per-sample names for batches)."""
        net = self.network
        inputs, targets = net.require_samples()
        fwd = engine.forward(net, inputs, targets=targets)
        names = layout(net.layers, net.shared_biases)  # type: ignore[arg-type]
        multi = inputs.shape[0] > 1
        out: dict[str, float] = {}
        for s in range(inputs.shape[0]):
            sample = s + 1 if multi else None
            for l in range(net.depth):
                for j, neuron in enumerate(names.neurons[l + 1]):
                    out[quantity.net(neuron, sample)] = float(fwd.nets[l][s, j])
                    out[quantity.out(neuron, sample)] = float(fwd.outs[l + 1][s, j])
            for k, o in enumerate(names.neurons[-1]):
                out[quantity.error(o, sample)] = float(fwd.error_terms[s, k])
        out[quantity.TOTAL] = fwd.error
        for l, layer in enumerate(names.weights):
            for j, row in enumerate(layer):
                for i, w in enumerate(row):
                    out[w] = float(net.weights[l][j, i])
        for l, bs in enumerate(names.biases):
            for j, b in enumerate(bs):
                out[b] = float(net.biases[l][j])
        return out

    def _repr_html_(self) -> str:
        """Jupyter shows the run as a table of E_total at some recorded iterations (stepgrad.formats plugs this in)."""
        return hooks.call("history.html", self)

    def to_dict(self) -> dict:
        """Plain data for JSON: the history, the final error and (with samples) the final values."""
        d = {
            "update_order": self.update_order, "iterations": self.iterations, "start": self.start,
            "history": [{"iteration": i, "E_total": e} for i, e in zip(self.recorded, self.errors)],
            "final_error": self.final_error,
        }
        if self.optimizer != "sgd" or self.epochs:
            d["optimizer"] = self.optimizer
        if self.epochs:
            d.update(data=self.data, dtype=self.dtype, epochs=self.epochs, metrics=self.metrics)
        elif self.dtype != "float64":
            d["dtype"] = self.dtype
        if self.network.inputs is not None and self.network.targets is not None:
            d["values"] = self.values()
        return d


def _finish(net: Network, order: str, start: int, iterations: int, state: optim.OptimizerState,
            epochs: int | None = None) -> None:
    TrainingState.finished(net, TrainingState(start + iterations, order, epochs,
                                              None if optim.get(state.name).plain else state.to_dict()))


def train(net: Network, iterations: int, update_order: str | None = None, every: int = 1,
          progress: Callable[[int], None] | None = None, optimizer: str = "sgd", dtype: str | None = None,
          **hyper: float) -> History:
    """Train a copy of `net` for `iterations` full-batch steps; record E_total every `every` iterations.

    dtype "float32": every step computed in float32 (the engine on float32 arrays, as PyTorch trains a float32
    model); None: the spec's `[torch]` dtype, else float64. The trained parameters are stored as float64 (exactly
    the float32 numbers), and `History.dtype` says which precision the run used.
    """
    order = update_order or net.update_order
    check_order(order, optimizer)
    dtype = dtype_of(net) if dtype is None else dtype
    if dtype not in ("float64", "float32"):
        raise StepgradError(f"expected float64 or float32, got {dtype!r}", where="dtype")
    trained = net.copy()
    inputs, targets = trained.require_samples()
    start = TrainingState.of(trained).iterations
    state = optim.state_of(trained, optimizer, **hyper)
    history = History(trained, order, iterations, start, optimizer=optimizer, dtype=dtype)
    every = max(1, every)
    if dtype == "float32":
        errors32 = _train_in_float32(trained, inputs, targets, iterations, order, state, start, progress)
        return _finished(history, trained, net, inputs, targets, iterations, every, order, start, state, errors32)
    # The path depends on the network alone (never on the number of iterations), so that N + M
    # iterations in two runs equal N + M in one, bit for bit.
    # the compiled kernels share one setting: per-parameter settings (torch's parameter groups) go to numpy
    backend = compiled_backend(trained, np.float64, optimizer, order) if not any(state.settings) else None
    if backend is not None:
        compiled = _train_compiled(backend, trained, inputs, targets, iterations, order, state, progress)
        errors: np.ndarray | list[float] | None = compiled
        if compiled is None:  # diverged: the engine finds and names the iteration
            trained = net.copy()
            state = optim.state_of(trained, optimizer, **hyper)
            history.network = trained
            errors = _train_engine(trained, inputs, targets, iterations, order, state, start, None)
    else:
        errors = _train_engine(trained, inputs, targets, iterations, order, state, start, progress)
    assert errors is not None
    return _finished(history, trained, net, inputs, targets, iterations, every, order, start, state, errors)


def _finished(history: History, trained: Network, net: Network, inputs, targets, iterations: int, every: int,
              order: str, start: int, state: optim.OptimizerState, errors) -> History:
    """The history of a finished full-batch run: recorded errors, the final error, the training state."""
    history.recorded = [start + it for it in range(0, iterations, every)]
    history.errors = [float(errors[it]) for it in range(0, iterations, every)]
    if history.dtype == "float32":  # the final error in the run's own precision
        single = trained.copy()
        single.weights = [w.astype(np.float32) for w in trained.weights]
        single.biases = [b.astype(np.float32) for b in trained.biases]
        final = engine.forward(single, inputs.astype(np.float32), targets=targets.astype(np.float32))
    else:
        final = engine.forward(trained, inputs, targets=targets)
    check_trained(trained, state, start + iterations, final.outs[-1], final.error)
    history.final_error = final.error
    history.recorded.append(start + iterations)
    history.errors.append(final.error)
    _finish(trained, order, start, iterations, state)
    history.optimizer_state = state.to_dict()
    return history


def _train_in_float32(net: Network, inputs, targets, iterations: int, order: str, state: optim.OptimizerState,
                      start: int, progress) -> list[float]:
    """The engine's steps on float32 copies of the parameters, samples and optimizer state (numpy then computes
    every quantity in float32); the float32 results are written back into `net` and `state` as float64."""
    f32 = np.dtype(np.float32)
    net.weights = [w.astype(f32) for w in net.weights]
    net.biases = [b.astype(f32) for b in net.biases]
    single = state.as_dtype(f32)
    try:
        errors = _train_engine(net, inputs.astype(f32), targets.astype(f32), iterations, order, single, start,
                               progress)
    finally:
        net.weights = [w.astype(np.float64) for w in net.weights]
        net.biases = [b.astype(np.float64) for b in net.biases]
        state.t, state.slots = single.t, {k: [a.astype(np.float64) for a in v] for k, v in single.slots.items()}
    return errors


def _train_engine(net, inputs, targets, iterations, order, state, start, progress) -> list[float]:
    errors = []
    for it in range(iterations):
        rec = engine.step(net, inputs, targets, order)
        if not optim.get(state.name).plain:
            rec.new_weights, rec.new_biases = _optimizer_update(net, rec, state)
        engine.check_finite(rec, start + it + 1, net)
        errors.append(rec.forward.error)
        engine.apply(net, rec)
        if progress is not None:
            progress(it + 1)
    return errors


def _optimizer_update(net: Network, rec: engine.StepRecord, state: optim.OptimizerState):
    new, _ = optim.apply(state, net.learning_rate, optim.parameters(net), rec.grad_weights + rec.grad_biases,
                         optim.active_flags(net))
    return new[:net.depth], new[net.depth:]


def _train_compiled(backend, net, inputs, targets, iterations, order, state, progress) -> np.ndarray | None:
    chunk = iterations if progress is None else max(1, iterations // 100)
    errors, done = [], 0
    lay = tiny.Layout(net)
    while done < iterations:
        steps = min(chunk, iterations - done)
        params, errs = backend.run(net, inputs, targets, steps, None, 0, state, order == "sequential")
        if not (np.isfinite(params).all() and np.isfinite(errs).all()):
            return None
        net.weights, net.biases = lay.unpack(params, net.weights, net.biases)
        errors.append(errs)
        done += steps
        if progress is not None:
            progress(done)
    return np.concatenate(errors) if errors else np.zeros(0)


# -- mini-batch training on a data set ------------------------------------------------------------


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order of the rows in epoch `epoch` (1-based): a permutation seeded by (seed, epoch), so a
    resumed run shuffles exactly as an uninterrupted one."""
    return np.random.default_rng((seed, epoch)).permutation(n)


def fit(net: Network, train_data, test_data=None, epochs: int = 20, batch_size: int = 32, optimizer: str = "sgd",
        seed: int = 0, dtype=np.float64, update_order: str | None = None, evaluate_every: int = 1,
        progress: Callable[[dict], None] | None = None, metrics: bool = True, **hyper: float) -> History:
    """Train a copy of `net` on `train_data` (a data.Dataset): `epochs` passes in shuffled mini-batches.

    Each epoch shuffles the rows by `epoch_order(seed, epoch)` (the same seed, the same run),
    steps through batches of `batch_size` (the last one may be smaller; each step uses the mean
    gradient of its batch), then every `evaluate_every` epochs (0: only at the end) records the
    loss and accuracy on the training and test data; `progress` receives each record.
    metrics=False skips every evaluation (for timing the training alone).
    """
    from time import perf_counter

    from stepgrad.training.metrics import evaluate

    order = update_order or net.update_order
    check_order(order, optimizer)
    trained = net.copy()
    start = TrainingState.of(trained).iterations
    state = optim.state_of(trained, optimizer, **hyper)
    dtype = np.dtype(dtype)
    history = History(trained, order, 0, start, optimizer=optimizer, data=getattr(train_data, "name", ""),
                      dtype=dtype.name)
    x, t = train_data.inputs, train_data.targets
    n = len(x)
    batch_size = max(1, min(batch_size, n))
    first_epoch = (TrainingState.of(trained).epochs or 0) + 1  # resumed runs continue the count
    # the compiled kernels share one setting: per-parameter settings (torch's parameter groups) go to numpy
    backend = None if any(state.settings) else compiled_backend(trained, dtype, optimizer, order)
    trainer = None
    if backend is None:
        dense = fast.supports(trained, dtype, optimizer, order)
        trainer = (DenseTrainer if dense else EngineTrainer)(trained, batch_size, dtype, state, order)
    xs, ts = DenseTrainer.with_ones(x, dtype), t.astype(dtype, copy=False)
    bounds = np.arange(0, n, batch_size, dtype=np.int64)
    starts, ends = bounds, np.minimum(bounds + batch_size, n)
    batches = list(zip(starts.tolist(), ends.tolist()))
    if metrics and evaluate_every:
        history.recorded.append(start)
        history.errors.append(evaluate(trained, train_data, test_data)["loss"])
    iteration = 0
    clock = perf_counter()
    for epoch in range(first_epoch, first_epoch + epochs):
        perm = epoch_order(seed, epoch, n)
        if trainer is None:
            assert backend is not None
            params, _ = backend.run(trained, x, t, len(starts), (perm.astype(np.int64), starts, ends), batch_size,
                                    state, order == "sequential")
            trained.weights, trained.biases = tiny.Layout(trained).unpack(params, trained.weights, trained.biases)
        else:
            xp, tp = xs[perm], ts[perm]
            step = trainer.step
            for a, b in batches:
                step(xp[a:b], tp[a:b])
        iteration += len(starts)
        last = first_epoch + epochs - 1
        if metrics and evaluate_every and (epoch % evaluate_every == 0 or epoch == last):
            if trainer is not None:
                trainer.write_back(trained)
            record = {"epoch": epoch, "iteration": start + iteration, **evaluate(trained, train_data, test_data),
                      "seconds": perf_counter() - clock}
            if not np.isfinite(record["loss"]):
                raise DivergenceError(f"training diverged in epoch {epoch}: the loss is not a finite number "
                                      f"(try a smaller learning_rate, now {trained.learning_rate})")
            history.epochs.append(record)
            history.recorded.append(start + iteration)
            history.errors.append(record["loss"])
            if progress is not None:
                progress(record)
    if trainer is not None:
        trainer.write_back(trained)
        state = trainer.exported_state()
    final = evaluate(trained, train_data, test_data) if metrics else {"loss": float("nan")}
    check_trained(trained, state, start + iteration, error=final["loss"] if metrics else 0.0)
    if metrics and (not history.epochs or history.epochs[-1]["epoch"] != first_epoch + epochs - 1):
        history.recorded.append(start + iteration)
        history.errors.append(final["loss"])
    history.iterations = iteration
    history.final_error = final["loss"]
    history.metrics = final
    _finish(trained, order, start, iteration, state, epochs=first_epoch + epochs - 1)
    history.optimizer_state = state.to_dict()
    return history


class EngineTrainer:
    """fit()'s last resort, DenseTrainer's interface on engine.step: one step per batch, then the optimizer."""

    def __init__(self, net: Network, batch_size: int, dtype, state: optim.OptimizerState, order: str):
        self.net, self.state, self.order = net.copy(), state, order

    def step(self, x: np.ndarray, t: np.ndarray) -> None:
        """One step on the batch (x may carry DenseTrainer's ones column)."""
        x = x[:, :self.net.layers[0]].astype(np.float64)
        rec = engine.step(self.net, x, t.astype(np.float64), self.order)
        if not optim.get(self.state.name).plain:
            rec.new_weights, rec.new_biases = _optimizer_update(self.net, rec, self.state)
        else:
            self.state.t += 1
        engine.apply(self.net, rec)

    def write_back(self, net: Network) -> None:
        """Copy the trained parameters into `net`."""
        net.weights, net.biases = list(self.net.weights), list(self.net.biases)

    def exported_state(self) -> optim.OptimizerState:
        """The optimizer state."""
        return self.state




def default_epochs(rows: int, batch_size: int) -> int:
    """20 epochs; a data set of a few batches (xor: 1 per epoch) gets enough epochs for 1,000 steps."""
    steps = -(-rows // max(1, batch_size))
    return 20 if steps >= 10 else max(20, -(-1000 // steps))


def resume_optimizer(net: Network, optimizer: str | None, reset: bool = False,
                     learning_rate: float | None = None) -> str:
    """The optimizer to train `net` with: the one asked for, else the one it was trained with (else sgd).

    Switching a trained network to another optimizer would drop the old one's state and keep its
    learning rate, so it is an error unless `reset`: then the state is cleared and, unless
    `learning_rate` is given, the learning rate becomes the new optimizer's default.
    """
    state = TrainingState.of(net)
    saved = (state.optimizer or {}).get("name") if state.optimizer else ("sgd" if state.iterations else None)
    if optimizer is None:
        return str(saved or "sgd")
    if saved is None or saved == optimizer:
        return optimizer
    if not reset:
        raise StepgradError(f"this network was trained with {saved} (learning rate {net.learning_rate:g}); "
                            f"add --reset-optimizer to continue with {optimizer} from a fresh state, "
                            f"or leave out --optimizer to continue with {saved}", where="--optimizer")
    net.training = replace(state, optimizer=None)
    if learning_rate is None:
        net.learning_rate = optim.get(optimizer).learning_rate
    return optimizer


def default_network(data, seed: int = 0, hidden: int = 32, optimizer: str = "sgd") -> Network:
    """The default recipe for a data set: one tanh hidden layer of `hidden` neurons, trained biases,
    softmax + cross-entropy for one-hot targets, sigmoid + cross-entropy for one 0/1 target, else linear."""
    task = data.task
    out = {"multiclass": "softmax", "binary": "sigmoid"}.get(task, "linear")
    loss = "half_squared_error" if task == "regression" else "cross_entropy"
    layers = [int(data.inputs.shape[1]), hidden, int(data.targets.shape[1])]
    return Network.from_dict({
        "name": f"{data.name or 'data'} {'-'.join(map(str, layers))}", "layers": layers,
        "activations": ["tanh", out], "loss": loss, "learning_rate": optim.get(optimizer).learning_rate,
        "update_biases": True, "biases": [[0.0] * hidden, [0.0] * layers[-1]], "seed": seed,
    })
