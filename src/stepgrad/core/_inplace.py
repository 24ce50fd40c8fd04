"""numpy in-place forms of the registry's activations, for fast.DenseTrainer (no allocation per step).

Each `name(net, out, scratch)` writes the activation of net into out; each
`times_name_derivative(g, net, out, scratch)` multiplies g by dout/dnet in place. They compute
what the registry's `forward` and `derivative` compute (the tests hold them to engine.step).
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray
LEAKY_SLOPE = 0.01  # leaky_relu's slope for negative net (functions.LEAKY_SLOPE)


def sigmoid(z: Array, out: Array, scratch: Array) -> None:
    """The registry's stable form: exp sees -|z| only."""
    np.abs(z, out=scratch)
    np.negative(scratch, out=scratch)
    np.exp(scratch, out=scratch)
    np.add(scratch, 1.0, out=out)
    np.divide(np.where(z >= 0, 1.0, scratch), out, out=out)


def times_sigmoid_derivative(g: Array, z: Array, out: Array, scratch: Array) -> None:
    """g *= out (1 - out)."""
    np.subtract(1.0, out, out=scratch)
    scratch *= out
    g *= scratch


def tanh(z: Array, out: Array, scratch: Array) -> None:
    """out = tanh(z)."""
    np.tanh(z, out=out)


def times_tanh_derivative(g: Array, z: Array, out: Array, scratch: Array) -> None:
    """g *= 1 - out^2."""
    np.multiply(out, out, out=scratch)
    np.subtract(1.0, scratch, out=scratch)
    g *= scratch


def relu(z: Array, out: Array, scratch: Array) -> None:
    """out = max(z, 0)."""
    np.maximum(z, 0.0, out=out)


def times_relu_derivative(g: Array, z: Array, out: Array, scratch: Array) -> None:
    """g *= (1 if z > 0 else 0)."""
    g *= z > 0


def leaky_relu(z: Array, out: Array, scratch: Array) -> None:
    """out = z if z > 0 else 0.01 z."""
    np.multiply(z, LEAKY_SLOPE, out=scratch)
    np.copyto(out, z)
    np.copyto(out, scratch, where=z <= 0)


def times_leaky_relu_derivative(g: Array, z: Array, out: Array, scratch: Array) -> None:
    """g *= (1 if z > 0 else 0.01)."""
    np.copyto(g, g * LEAKY_SLOPE, where=z <= 0)


def linear(z: Array, out: Array, scratch: Array) -> None:
    """out = z."""
    np.copyto(out, z)


def times_one(g: Array, z: Array, out: Array, scratch: Array) -> None:
    """g *= 1: nothing to do."""


def softmax(z: Array, out: Array, scratch: Array) -> None:
    """out = softmax(z) over the last axis, shifted by the row maximum."""
    np.subtract(z, np.maximum.reduce(z, axis=-1, keepdims=True), out=out)
    np.exp(out, out=out)
    out /= np.add.reduce(out, axis=-1, keepdims=True)
