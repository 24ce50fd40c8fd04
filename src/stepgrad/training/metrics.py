"""How well a network fits a data set: the mean error (the engine's E_total) and the accuracy.

Accuracy depends on the targets (data.Dataset.task): for one-hot targets the output with the
largest value must be the target's class; for one 0/1 target the output must be on the right
side of 0.5; for other targets there is no accuracy (None).
"""

from __future__ import annotations

import numpy as np

from stepgrad.core import engine


def accuracy(outputs: np.ndarray, targets: np.ndarray, task: str) -> float | None:
    """The fraction of samples classified right, or None for regression."""
    if task == "multiclass":
        return float(np.mean(outputs.argmax(axis=1) == targets.argmax(axis=1)))
    if task == "binary":
        return float(np.mean((outputs[:, 0] >= 0.5) == (targets[:, 0] >= 0.5)))
    return None


def evaluate(net, train_data, test_data=None) -> dict:
    """{"loss", "train_accuracy"[, "test_loss", "test_accuracy"]} of `net` on the data sets."""
    with np.errstate(all="ignore"):  # a diverged run shows as a non-finite loss; fit reports it
        return _evaluate(net, train_data, test_data)


def _evaluate(net, train_data, test_data) -> dict:
    fwd = engine.forward(net, train_data.inputs, targets=train_data.targets)
    task = train_data.task
    result: dict = {"loss": float(fwd.error)}
    acc = accuracy(fwd.outs[-1], train_data.targets, task)
    if acc is not None:
        result["train_accuracy"] = acc
    if test_data is not None and len(test_data):
        test = engine.forward(net, test_data.inputs, targets=test_data.targets)
        result["test_loss"] = float(test.error)
        acc = accuracy(test.outs[-1], test_data.targets, task)
        if acc is not None:
            result["test_accuracy"] = acc
    return result
