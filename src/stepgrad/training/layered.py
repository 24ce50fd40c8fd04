"""Training a layer-table network (convolution, pooling, residual blocks) with mini-batch SGD on the engine of core/layers.

    >>> from stepgrad.training.data import bundled
    >>> images = as_images(bundled("digits"), (1, 8, 8))        # the 8x8 digits as 1-channel images
    >>> history = fit_layers(net, images, epochs=3, batch_size=32)  # doctest: +SKIP

Each epoch shuffles the rows by training.loop.epoch_order(seed, epoch), as the dense trainer does, and
takes one engine.step per batch (the batch's mean, or sum, of the samples' gradients), so a run can be
replayed step for step in PyTorch (tests/test_conv_train.py does), with any registry optimizer
(core/layers/optimize.py; tests/test_conv_optimizers.py holds each to torch.optim's opt.step()).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from stepgrad.core.errors import DataError
from stepgrad.core.layers import engine
from stepgrad.core.layers.optimize import fresh_state, optimize
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.training.data import Dataset
from stepgrad.training.loop import epoch_order


@dataclass
class LayerHistory:
    """A run: the trained network and, per epoch, the mean training error and (with test data) the accuracy."""

    network: LayerNetwork
    epochs: list[int] = field(default_factory=list)
    errors: list[float] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)


def as_images(data: Dataset, shape: tuple[int, ...]) -> Dataset:
    """The data set with each row of inputs read as one sample of `shape` (the 8x8 digits: (1, 8, 8))."""
    size = int(np.prod(shape))
    if data.inputs.shape[1] != size:
        raise DataError(f"rows of {data.inputs.shape[1]} values cannot be images of {' x '.join(map(str, shape))}",
                        where=data.name)
    return Dataset(data.inputs.reshape(len(data.inputs), *shape), data.targets, data.name, classes=data.classes)


def accuracy(net: LayerNetwork, data: Dataset) -> float:
    """The share of samples whose largest output is the target's largest (class accuracy)."""
    out = engine.forward(net, data.inputs).output
    return float(np.mean(out.argmax(axis=1) == data.targets.argmax(axis=1)))


def fit_layers(net: LayerNetwork, train: Dataset, test: Dataset | None = None, epochs: int = 5, batch_size: int = 32,
               seed: int = 0, progress: Callable[[int, float], None] | None = None, optimizer: str = "sgd",
               hyper: dict[str, float] | None = None) -> LayerHistory:
    """Train a copy of `net` for `epochs` passes in shuffled mini-batches with its learning_rate and a registry
    optimizer (core/optim.py: sgd, momentum, adam, ...; `hyper` its hyperparameters, else the registry's),
    its state starting at zero and carried from batch to batch as torch.optim carries it."""
    model = net.copy()
    history = LayerHistory(model)
    state = None if optimizer == "sgd" and not hyper else fresh_state(model, optimizer, **(hyper or {}))
    for epoch in range(1, epochs + 1):
        order = epoch_order(seed, epoch, len(train))
        errors = []
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            rec = engine.step(model, train.inputs[rows], train.targets[rows])
            if state is not None:
                rec = optimize(model, rec, state)[0]
            engine.apply(model, rec)
            errors.append(rec.forward.error)
        history.epochs.append(epoch)
        history.errors.append(float(np.mean(errors)))
        if test is not None:
            history.accuracies.append(accuracy(model, test))
        if progress is not None:
            progress(epoch, history.errors[-1])
    return history


def train_work(net: LayerNetwork, steps: int, rows: int) -> int:
    """Multiply-adds (about) of `steps` passes over `rows` samples: forward, backward and update of every layer."""
    per_row = sum(int(np.prod(layer.out_shape)) * max(1, sum(p.size for p in layer.params.values())
                                                       // max(1, layer.out_shape[0]))
                  for layer in net.all_layers())
    return 3 * steps * rows * per_row


@dataclass
class FullBatch:
    """A full-batch run on the network's own samples: E_total after each recorded number of steps, the network after."""

    network: LayerNetwork
    iterations: list[int] = field(default_factory=list)
    errors: list[float] = field(default_factory=list)


def full_batch(net: LayerNetwork, steps: int, every: int = 1, start: int = 0,
               progress: Callable[[int], None] | None = None) -> FullBatch:
    """`steps` gradient-descent steps of a copy of `net` on all its samples (engine.step, then engine.apply), as
    torch.optim.SGD takes them; E_total recorded before every `every`-th step and after the last, numbered from
    `start` (the steps taken before). `progress(done)` is called after each step (it may raise to stop)."""
    model = net.copy()
    inputs, targets = model.require_samples()
    run = FullBatch(model)
    for k in range(steps):
        rec = engine.step(model, inputs, targets)
        if k % every == 0:
            run.iterations.append(start + k)
            run.errors.append(rec.forward.error)
        engine.apply(model, rec)
        if progress is not None:
            progress(k + 1)
    run.iterations.append(start + steps)
    run.errors.append(engine.forward(model, inputs, targets).error)
    return run
