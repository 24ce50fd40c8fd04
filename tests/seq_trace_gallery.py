"""Small sequence-model networks for the trace tests: an RNN over 3 steps (its last state, and every step's),
an attention head with a causal mask, a layernorm before a dense layer, a batchnorm in training mode over 3 samples."""

from __future__ import annotations

from typing import Any

RNN_LAST: dict[str, Any] = {
    "loss": "half_squared_error", "learning_rate": 0.1,
    "layers": [{"type": "sequence", "steps": 3, "features": 2},
               {"type": "rnn", "hidden": 2, "output": "last", "weights_x": [[0.5, -0.3], [-0.4, 0.2]],
                "weights_h": [[0.3, -0.2], [0.6, 0.1]], "biases": [0.1, -0.1]},
               {"type": "dense", "neurons": 1, "activation": "sigmoid", "weights": [[0.8, -0.5]], "biases": [0.05]}],
    "samples": [{"inputs": [[0.3, 0.1], [-0.2, 0.4], [0.5, -0.6]], "targets": [0.9]},
                {"inputs": [[-0.7, 0.2], [0.1, 0.3], [0.4, 0.8]], "targets": [0.2]}]}

RNN_SEQUENCE: dict[str, Any] = {
    "loss": "half_squared_error", "learning_rate": 0.1, "step_reduction": "mean",
    "layers": [{"type": "sequence", "steps": 3, "features": 1},
               {"type": "rnn", "hidden": 2, "output": "sequence", "h0": [0.2, -0.1],
                "weights_x": [[0.7], [-0.5]], "weights_h": [[0.4, -0.3], [0.2, 0.5]], "biases": [0.0, 0.1]},
               {"type": "dense", "neurons": 1, "activation": "linear", "weights": [[0.9, -0.6]], "biases": [0.1]}],
    "samples": [{"inputs": [[0.5], [-0.3], [0.8]], "targets": [0.2, -0.1, 0.4]}]}

ATTENTION_CAUSAL: dict[str, Any] = {
    "loss": "half_squared_error", "learning_rate": 0.1, "step_reduction": "sum",
    "layers": [{"type": "sequence", "steps": 3, "features": 2},
               {"type": "attention", "causal": True, "output": "sequence", "key_size": 2,
                "weights_q": [[0.9, -0.4], [0.3, 1.1]], "weights_k": [[-0.6, 0.8], [1.2, 0.2]],
                "weights_v": [[0.5, -0.7], [0.4, 0.6]], "weights_o": [[0.8, -0.3], [0.2, 0.9]],
                "biases_q": [0.1, 0.0], "biases_k": [0.0, -0.1], "biases_v": [0.05, 0.0], "biases_o": [0.0, 0.1]},
               {"type": "dense", "neurons": 1, "activation": "tanh", "weights": [[0.7, -0.5]], "biases": [0.0]}],
    "samples": [{"inputs": [[1.0, 0.2], [-0.5, 0.8], [0.3, -0.9]], "targets": [0.3, -0.2, 0.5]}]}

LAYERNORM_DENSE: dict[str, Any] = {
    "loss": "half_squared_error", "learning_rate": 0.1,
    "layers": [{"type": "input", "shape": [3]},
               {"type": "layernorm", "gamma": [1.2, 0.8, 1.0], "beta": [0.1, -0.2, 0.0]},
               {"type": "dense", "neurons": 2, "activation": "sigmoid",
                "weights": [[0.5, -0.4, 0.3], [-0.2, 0.6, 0.1]], "biases": [0.0, 0.1]}],
    "samples": [{"inputs": [1.0, 0.2, -0.6], "targets": [0.7, 0.2]},
                {"inputs": [-0.3, 0.9, 0.4], "targets": [0.1, 0.8]}]}

BATCHNORM_TRAINING: dict[str, Any] = {
    "activation": "tanh", "loss": "half_squared_error", "learning_rate": 0.1,
    "layers": [{"type": "input", "shape": [2]},
               {"type": "dense", "neurons": 2, "bias": False, "weights": [[0.5, -0.3], [0.2, 0.8]]},
               {"type": "batchnorm", "mode": "training", "gamma": [1.0, 1.5], "beta": [0.0, 0.1]},
               {"type": "dense", "neurons": 1, "activation": "sigmoid", "weights": [[0.7, -0.4]], "biases": [0.0]}],
    "samples": [{"inputs": [1.0, 0.5], "targets": [0.8]}, {"inputs": [-0.5, 0.25], "targets": [0.1]},
                {"inputs": [0.3, -1.0], "targets": [0.4]}]}

GALLERY = {"rnn_last": RNN_LAST, "rnn_sequence": RNN_SEQUENCE, "attention_causal": ATTENTION_CAUSAL,
           "layernorm_dense": LAYERNORM_DENSE, "batchnorm_training": BATCHNORM_TRAINING}
