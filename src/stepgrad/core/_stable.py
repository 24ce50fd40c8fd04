"""Numerically stable forms of the formulas whose plain code would overflow (exp of a large |net|).

The coupled entries' generated code calls softmax, logsumexp, softplus_value and sigmoid_value (the
rewrite rules of `core/symbolic/coupled.py` put them there).

The generated code of an entry marked `stable` in `core/symbolic/formulas.py` calls these numpy functions
(`<name>_value`, and `<name>_derivative` where there is one) and uses PYTHON's scalar code; the
tests hold every one to the entry's formula on a grid that reaches |net| = 800.
"""

from __future__ import annotations

import math

import numpy as np

Array = np.ndarray

# exp only ever sees a non-positive argument
_SIGMOID_PY = "(1.0 / (1.0 + exp(-{net})) if {net} >= 0.0 else exp({net}) / (1.0 + exp({net})))"
_SOFTPLUS_PY = "(max({net}, 0.0) + log1p(exp(-abs({net}))))"

# name -> (scalar value from {net} / {out}, {target}, {n}; scalar derivative or None: the generated one)
PYTHON: dict[str, tuple[str, str | None]] = {
    "sigmoid": (_SIGMOID_PY, None),
    "softplus": (_SOFTPLUS_PY, _SIGMOID_PY),
    "silu": ("{net} * " + _SIGMOID_PY, f"{_SIGMOID_PY} * (1.0 + {{net}} * (1.0 - {_SIGMOID_PY}))"),
    "log_cosh": ("(abs({out} - {target}) + log1p(exp(-2.0 * abs({out} - {target}))) - 0.6931471805599453)", None),
}


def sigmoid_value(net: Array) -> Array:
    """1 / (1 + exp(-net)), stably."""
    e = np.exp(-np.abs(net))
    return np.where(net >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softplus_value(net: Array) -> Array:
    """ln(1 + exp(net)), stably."""
    return np.maximum(net, 0.0) + np.log1p(np.exp(-np.abs(net)))


def softplus_derivative(net: Array, out: Array) -> Array:
    """The sigmoid of net."""
    return sigmoid_value(net)


def silu_value(net: Array) -> Array:
    """net * sigmoid(net)."""
    return net * sigmoid_value(net)


def silu_derivative(net: Array, out: Array) -> Array:
    """s (1 + net (1 - s)) with s = sigmoid(net)."""
    s = sigmoid_value(net)
    return s * (1.0 + net * (1.0 - s))


def log_cosh_value(out: Array, target: Array) -> Array:
    """ln cosh(out - target) = |d| + ln(1 + exp(-2|d|)) - ln 2, stably."""
    d = np.abs(out - target)
    return d + np.log1p(np.exp(-2.0 * d)) - np.log(2.0)


def softmax(net: Array) -> Array:
    """exp(net) / sum of exp(net) over the last axis, shifted by the row maximum (no overflow)."""
    shifted = net - net.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def logsumexp(net: Array) -> Array:
    """ln of the sum of exp(net) over the last axis (kept as an axis of 1), as m + ln(sum of exp(net - m))."""
    m = net.max(axis=-1, keepdims=True)
    return m + np.log(np.exp(net - m).sum(axis=-1, keepdims=True))


def erf_array(x: Array) -> Array:
    """math.erf elementwise (numpy has no erf; scipy is not a dependency)."""
    return _ERF(x)


_ERF = np.vectorize(math.erf, otypes=[float])


def shaped(like: Array, value: Array | float) -> Array:
    """value as an array of like's shape and floating dtype (a constant derivative, an integer select)."""
    value = np.asarray(value)
    like = np.asarray(like)
    dtype = like.dtype if like.dtype.kind == "f" else np.dtype(np.float64)
    if value.shape == like.shape and value.dtype == dtype:
        return value
    return np.broadcast_to(value, like.shape).astype(dtype)
