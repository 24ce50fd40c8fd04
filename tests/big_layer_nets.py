"""Layer networks of the size a course shows (not the hand-sized ones): the explorer's pages are tried on these.

BIG_CONV: a 2x16x16 input, two 3x3 conv layers (4 channels), max pooling, a residual block and a dense head with
10 softmax outputs; RNN12: an Elman rnn over 12 time steps with 8 hidden units; ATTENTION8: one attention head over
8 tokens with d = 8; BATCHNORM8: batchnorm over a batch of 8 samples. Inputs and targets are drawn from fixed seeds.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _one_hot(k: int, n: int = 10) -> list[float]:
    return [1.0 if i == k else 0.0 for i in range(n)]


def _round(a: np.ndarray) -> Any:
    return np.round(a, 2).tolist()


BIG_CONV: dict[str, Any] = {
    "name": "conv 2x16x16", "activation": "relu", "loss": "cross_entropy", "learning_rate": 0.1, "seed": 7,
    "update_biases": True, "init": "he",
    "layers": [{"type": "input", "shape": [2, 16, 16]},
               {"type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1},
               {"type": "maxpool", "kernel": 2},
               {"type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1},
               {"type": "residual", "layers": [{"type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1}]},
               {"type": "maxpool", "kernel": 2},
               {"type": "flatten"},
               {"type": "dense", "neurons": 10, "activation": "softmax"}],
    "samples": [{"inputs": _round(_rng(s).uniform(0, 1, (2, 16, 16))), "targets": _one_hot(3 * s)} for s in (1, 2)]}

RNN12: dict[str, Any] = {
    "name": "rnn over 12 steps", "loss": "half_squared_error", "learning_rate": 0.1, "seed": 4, "step_reduction": "mean",
    "layers": [{"type": "sequence", "steps": 12, "features": 2},
               {"type": "rnn", "hidden": 8, "output": "sequence"},
               {"type": "dense", "neurons": 1, "activation": "tanh"}],
    "samples": [{"inputs": _round(_rng(10 + s).uniform(-1, 1, (12, 2))),
                 "targets": _round(_rng(20 + s).uniform(-0.8, 0.8, 12))} for s in (1, 2)]}

ATTENTION8: dict[str, Any] = {
    "name": "attention over 8 tokens", "loss": "half_squared_error", "learning_rate": 0.1, "seed": 6,
    "step_reduction": "mean",
    "layers": [{"type": "sequence", "steps": 8, "features": 8},
               {"type": "attention", "causal": False, "key_size": 8},
               {"type": "dense", "neurons": 1, "activation": "tanh"}],
    "samples": [{"inputs": _round(_rng(30 + s).uniform(-1, 1, (8, 8))),
                 "targets": _round(_rng(40 + s).uniform(-0.8, 0.8, 8))} for s in (1, 2)]}

BATCHNORM8: dict[str, Any] = {
    "name": "batchnorm over 8 samples", "loss": "half_squared_error", "learning_rate": 0.1, "seed": 8,
    "activation": "tanh",
    "layers": [{"type": "input", "shape": [4]},
               {"type": "dense", "neurons": 6},
               {"type": "batchnorm"},
               {"type": "dense", "neurons": 2, "activation": "sigmoid"}],
    "samples": [{"inputs": _round(_rng(50 + s).uniform(-1, 1, 4)), "targets": _round(_rng(60 + s).uniform(0.1, 0.9, 2))}
                for s in range(8)]}

BIG = {"conv": BIG_CONV, "rnn": RNN12, "attention": ATTENTION8, "batchnorm": BATCHNORM8}
