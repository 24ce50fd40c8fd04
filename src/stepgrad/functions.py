"""The registry of activations and losses: one entry each, value and derivative side by side.

Every part of stepgrad reads these entries: the engine computes with `forward`/`derivative`,
the trace writes formulas from the templates, and the checker's diagnoses replay them with a
mistake applied. Templates are LaTeX or plain text with «role» slots that the trace fills with
quantity names (see `stepgrad.formula`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Array = np.ndarray

LEAKY_SLOPE = 0.01


def _sigmoid(net: Array) -> Array:
    # Stable for large |net|: exp only ever sees a non-positive argument.
    e = np.exp(-np.abs(net))
    return np.where(net >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softmax(net: Array) -> Array:
    shifted = net - net.max(axis=-1, keepdims=True)  # log-sum-exp shift: no overflow
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class Activation:
    """One activation: out = forward(net), dout/dnet = derivative(net, out), and its formulas."""

    name: str
    forward: Callable[[Array], Array]
    derivative: Callable[[Array, Array], Array] | None  # None: not elementwise (softmax)
    latex: str  # out in terms of «net»
    text: str
    derivative_latex: str  # dout/dnet in terms of «net» and «out»
    derivative_text: str
    hidden_ok: bool = True


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in [
        Activation(
            "sigmoid", _sigmoid, lambda net, out: out * (1.0 - out),
            r"\frac{1}{1 + e^{-«net»}}", "1 / (1 + exp(-«net»))",
            r"«out» (1 - «out»)", "«out» * (1 - «out»)",
        ),
        Activation(
            "tanh", np.tanh, lambda net, out: 1.0 - out * out,
            r"\tanh(«net»)", "tanh(«net»)",
            r"1 - «out»^{2}", "1 - «out»^2",
        ),
        Activation(
            "relu", lambda net: np.maximum(net, 0.0), lambda net, out: (net > 0).astype(net.dtype),
            r"\max(0, «net»)", "max(0, «net»)",
            r"\begin{cases} 1 & \text{if } «net» > 0 \\ 0 & \text{otherwise} \end{cases}",
            "(1 if «net» > 0 else 0)",
        ),
        Activation(
            "leaky_relu", lambda net: np.where(net > 0, net, LEAKY_SLOPE * net),
            lambda net, out: np.where(net > 0, 1.0, LEAKY_SLOPE).astype(net.dtype),
            r"\begin{cases} «net» & \text{if } «net» > 0 \\ 0.01 \cdot «net» & \text{otherwise} \end{cases}",
            "(«net» if «net» > 0 else 0.01 * «net»)",
            r"\begin{cases} 1 & \text{if } «net» > 0 \\ 0.01 & \text{otherwise} \end{cases}",
            "(1 if «net» > 0 else 0.01)",
        ),
        Activation(
            "linear", lambda net: net.copy(), lambda net, out: np.ones_like(net),
            r"«net»", "«net»", "1", "1",
        ),
        Activation(
            "softmax", _softmax, None,
            r"\frac{e^{«net»}}{«sum_exp»}", "exp(«net») / («sum_exp»)",
            "", "", hidden_ok=False,
        ),
    ]
}


@dataclass(frozen=True)
class Loss:
    """One loss, summed over output neurons: E_ok = term(out, target), dE_total/dout_ok = gradient.

    `combined` losses (cross-entropy) give the error signal at net directly, out - target,
    which is both simpler and numerically stable; their term is computed from net (log-sum-exp).
    """

    name: str
    latex: str  # E_ok in terms of «target», «out» (and «n», the number of outputs)
    text: str
    gradient_latex: str  # dE_total/dout_ok
    gradient_text: str
    combined: bool = False  # True: delta = out - target, no separate dE/dout and dout/dnet


LOSSES: dict[str, Loss] = {
    l.name: l
    for l in [
        Loss(
            "half_squared_error",
            r"\frac{1}{2} («target» - «out»)^{2}", "1/2 * («target» - «out»)^2",
            r"-(«target» - «out»)", "-(«target» - «out»)",
        ),
        Loss(
            "mean_squared_error",
            r"\frac{1}{«n»} («target» - «out»)^{2}", "1/«n» * («target» - «out»)^2",
            r"-\frac{2}{«n»} («target» - «out»)", "-2/«n» * («target» - «out»)",
        ),
        Loss(
            "cross_entropy",
            r"-«target» \ln «out»", "-«target» * ln(«out»)",
            "", "", combined=True,
        ),
    ]
}

# Binary cross-entropy on sigmoid outputs has its own per-output term.
SIGMOID_CE_LATEX = r"-\left(«target» \ln «out» + (1 - «target») \ln(1 - «out»)\right)"
SIGMOID_CE_TEXT = "-(«target» * ln(«out») + (1 - «target») * ln(1 - «out»))"
COMBINED_DELTA_LATEX = r"«out» - «target»"
COMBINED_DELTA_TEXT = "«out» - «target»"


def loss_terms(loss: str, activation: str, net: Array, out: Array, target: Array) -> Array:
    """E_ok for every sample and output neuron (shape of out)."""
    if loss == "half_squared_error":
        return 0.5 * (target - out) ** 2
    if loss == "mean_squared_error":
        return (target - out) ** 2 / out.shape[-1]
    if loss == "cross_entropy":
        if activation == "softmax":
            m = net.max(axis=-1, keepdims=True)
            log_sum_exp = m + np.log(np.exp(net - m).sum(axis=-1, keepdims=True))
            return target * (log_sum_exp - net)  # -t ln softmax(net), stably
        # -(t ln o + (1-t) ln(1-o)) with o = sigmoid(net): softplus(net) - t*net, stably
        softplus = np.maximum(net, 0.0) + np.log1p(np.exp(-np.abs(net)))
        return softplus - target * net
    raise KeyError(loss)


def loss_gradient(loss: str, out: Array, target: Array) -> Array:
    """dE_total/dout for the non-combined losses."""
    if loss == "half_squared_error":
        return -(target - out)
    if loss == "mean_squared_error":
        return -2.0 / out.shape[-1] * (target - out)
    raise KeyError(loss)


def softmax_backward(out: Array, grad_out: Array) -> Array:
    """dE/dnet from dE/dout through softmax's Jacobian: out_j (g_j - sum_k g_k out_k)."""
    return out * (grad_out - (grad_out * out).sum(axis=-1, keepdims=True))
