"""The registry of activations and losses: one entry each, value and derivative side by side.

Every part of stepgrad reads these entries: the engine computes with `forward`/`derivative` and
`value`/`gradient`, the trace writes formulas from the templates, the checker's diagnoses replay
them with a mistake applied, torch interop builds the `torch` counterparts, and each training
backend uses the entry's code for it (`inplace` for fast.py, `python` for the pure-Python path,
`kernel` for the numba kernel) or declines the network when the entry has none.
Templates are LaTeX or plain text with «role» slots that the trace fills with quantity names.

    >>> ACTIVATIONS["sigmoid"].derivative_text
    '«out» * (1 - «out»)'
    >>> LOSSES["cross_entropy"].combination("softmax").delta_text
    '«out» - «target»'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stepgrad.core import _inplace as ip
from stepgrad.core import _torch_forms as tf
from stepgrad.core._inplace import LEAKY_SLOPE
from stepgrad.core.errors import StepgradError

Array = np.ndarray

HUBER_DELTA = 1.0

# How a derivative is obtained, in the seed deck's style: (rule, LaTeX, text) lines with the same
# «role» slots as the entry's templates; each line equals the derivative (the tests evaluate them).
DerivationLines = tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class Python:
    """Scalar Python expressions for the generated pure-Python backend, slots {net}, {out}, {target}, {n}.

    They use only `math`'s exp, log1p, tanh, sqrt, abs, max and min, and are written by us (the
    backend compiles the code it generates from them, never from user input).
    """

    value: str  # out from {net} (activation); E_ok from {out}, {target}, {n}, {net} (loss)
    derivative: str  # dout/dnet from {net}, {out} (activation); dE_total/dout (loss), delta (combination)


@dataclass(frozen=True)
class InPlace:
    """numpy in-place forms for fast.DenseTrainer: forward(net, out, scratch), times_derivative(g, net, out, scratch)."""

    forward: Callable[[Array, Array, Array], None]
    times_derivative: Callable[[Array, Array, Array, Array], None] | None


@dataclass(frozen=True)
class Activation:
    """One activation: out = forward(net), dout/dnet = derivative(net, out), and its formulas.

    A coupled activation (softmax) has no elementwise derivative; `backward(out, dE/dout)` gives
    dE/dnet instead. `torch` returns the torch module (torch imported lazily); `torch_source` is
    its Python source for `describe`. `python`, `inplace` and `kernel` are the backends' code.
    """

    name: str
    forward: Callable[[Array], Array]
    derivative: Callable[[Array, Array], Array] | None  # None: not elementwise (see backward)
    latex: str  # out in terms of «net»
    text: str
    derivative_latex: str  # dout/dnet in terms of «net» and «out»
    derivative_text: str
    torch: Callable[[], Any]
    torch_source: str
    hidden_ok: bool = True
    backward: Callable[[Array, Array], Array] | None = None  # coupled: dE/dnet from (out, dE/dout)
    python: Python | None = None
    inplace: InPlace | None = None
    kernel: int | None = None  # the numba kernel's branch for this activation
    derivation: DerivationLines = ()  # how dout/dnet is obtained (explain --derive), ending in derivative_*


def _sigmoid(net: Array) -> Array:
    # Stable for large |net|: exp only ever sees a non-positive argument.
    e = np.exp(-np.abs(net))
    return np.where(net >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(net: Array) -> Array:
    return np.maximum(net, 0.0) + np.log1p(np.exp(-np.abs(net)))  # ln(1 + e^net), stably


def _softmax(net: Array) -> Array:
    shifted = net - net.max(axis=-1, keepdims=True)  # log-sum-exp shift: no overflow
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(out: Array, grad_out: Array) -> Array:
    """dE/dnet from dE/dout through softmax's Jacobian: out_j (g_j - sum_k g_k out_k)."""
    return out * (grad_out - (grad_out * out).sum(axis=-1, keepdims=True))


_SIGMOID_PY = "(1.0 / (1.0 + exp(-{net})) if {net} >= 0.0 else exp({net}) / (1.0 + exp({net})))"
_SOFTPLUS_PY = "(max({net}, 0.0) + log1p(exp(-abs({net}))))"

ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in [
        Activation(
            "sigmoid", _sigmoid, lambda net, out: out * (1.0 - out),
            r"\frac{1}{1 + e^{-«net»}}", "1 / (1 + exp(-«net»))",
            r"«out» (1 - «out»)", "«out» * (1 - «out»)",
            tf.module("Sigmoid"), "nn.Sigmoid()",
            python=Python(_SIGMOID_PY, "{out} * (1.0 - {out})"),
            inplace=InPlace(ip.sigmoid, ip.times_sigmoid_derivative), kernel=0,
            derivation=(
                ("power rule, chain rule on 1/(1 + exp(-net))",
                 r"-1 \cdot (1 + e^{-«net»})^{-2} \cdot e^{-«net»} \cdot (-1)",
                 "-1 * (1 + exp(-«net»))^(-2) * exp(-«net») * (-1)"),
                ("as two fractions", r"\frac{1}{1 + e^{-«net»}} \cdot \frac{e^{-«net»}}{1 + e^{-«net»}}",
                 "1 / (1 + exp(-«net»)) * exp(-«net») / (1 + exp(-«net»))"),
                ("the first is out, the second 1 - out", r"«out» (1 - «out»)", "«out» * (1 - «out»)"),
            ),
        ),
        Activation(
            "tanh", np.tanh, lambda net, out: 1.0 - out * out,
            r"\tanh(«net»)", "tanh(«net»)",
            r"1 - «out»^{2}", "1 - «out»^2",
            tf.module("Tanh"), "nn.Tanh()",
            python=Python("tanh({net})", "1.0 - {out} * {out}"),
            inplace=InPlace(ip.tanh, ip.times_tanh_derivative), kernel=1,
            derivation=(
                ("the derivative of tanh", r"1 - \tanh^{2}(«net»)", "1 - tanh(«net»)^2"),
                ("with out = tanh(net)", r"1 - «out»^{2}", "1 - «out»^2"),
            ),
        ),
        Activation(
            "relu", lambda net: np.maximum(net, 0.0), lambda net, out: (net > 0).astype(net.dtype),
            r"\max(0, «net»)", "max(0, «net»)",
            r"\begin{cases} 1 & \text{if } «net» > 0 \\ 0 & \text{otherwise} \end{cases}",
            "(1 if «net» > 0, else 0)",
            tf.module("ReLU"), "nn.ReLU()",
            python=Python("({net} if {net} > 0.0 else 0.0)", "(1.0 if {net} > 0.0 else 0.0)"),
            inplace=InPlace(ip.relu, ip.times_relu_derivative), kernel=2,
            derivation=(
                ("net for net > 0 (power rule), the constant 0 otherwise",
                 r"\begin{cases} 1 \cdot «net»^{1-1} & \text{if } «net» > 0 \\ 0 & \text{otherwise} \end{cases}",
                 "(1 * «net»^(1-1) if «net» > 0, else 0)"),
            ),
        ),
        Activation(
            "leaky_relu", lambda net: np.where(net > 0, net, LEAKY_SLOPE * net),
            lambda net, out: np.where(net > 0, 1.0, LEAKY_SLOPE).astype(net.dtype),
            r"\begin{cases} «net» & \text{if } «net» > 0 \\ 0.01 \cdot «net» & \text{otherwise} \end{cases}",
            "(«net» if «net» > 0, else 0.01 * «net»)",
            r"\begin{cases} 1 & \text{if } «net» > 0 \\ 0.01 & \text{otherwise} \end{cases}",
            "(1 if «net» > 0, else 0.01)",
            tf.module("LeakyReLU", LEAKY_SLOPE), f"nn.LeakyReLU({LEAKY_SLOPE})",
            python=Python(f"({{net}} if {{net}} > 0.0 else {LEAKY_SLOPE} * {{net}})",
                          f"(1.0 if {{net}} > 0.0 else {LEAKY_SLOPE})"),
            inplace=InPlace(ip.leaky_relu, ip.times_leaky_relu_derivative), kernel=3,
            derivation=(
                ("net for net > 0, 0.01 net otherwise (power rule)",
                 r"\begin{cases} 1 \cdot «net»^{1-1} & \text{if } «net» > 0 \\ 0.01 \cdot 1 & \text{otherwise} \end{cases}",
                 "(1 * «net»^(1-1) if «net» > 0, else 0.01 * 1)"),
            ),
        ),
        Activation(
            "linear", lambda net: net.copy(), lambda net, out: np.ones_like(net),
            r"«net»", "«net»", "1", "1",
            tf.module("Identity"), "nn.Identity()",
            python=Python("{net}", "1.0"),
            inplace=InPlace(ip.linear, ip.times_one), kernel=4,
            derivation=(("power rule", r"1 \cdot «net»^{1-1}", "1 * «net»^(1-1)"),),
        ),
        Activation(
            "softmax", _softmax, None,
            r"\frac{e^{«net»}}{«sum_exp»}", "exp(«net») / («sum_exp»)",
            "", "",
            tf.module("Softmax", dim=-1), "nn.Softmax(dim=-1)",
            hidden_ok=False, backward=softmax_backward,
            inplace=InPlace(ip.softmax, None), kernel=5,
        ),
        Activation(
            "softplus", _softplus, lambda net, out: _sigmoid(net),
            r"\ln\left(1 + e^{«net»}\right)", "ln(1 + exp(«net»))",
            r"\frac{1}{1 + e^{-«net»}}", "1 / (1 + exp(-«net»))",
            tf.module("Softplus"), "nn.Softplus()",
            python=Python(_SOFTPLUS_PY, _SIGMOID_PY),
            derivation=(
                ("chain rule on ln(1 + exp(net))", r"\frac{1}{1 + e^{«net»}} \cdot e^{«net»}",
                 "1 / (1 + exp(«net»)) * exp(«net»)"),
                ("divided through by exp(net)", r"\frac{1}{1 + e^{-«net»}}", "1 / (1 + exp(-«net»))"),
            ),
        ),
    ]
}


@dataclass(frozen=True)
class Combination:
    """A loss together with one output activation: the error signal at net is out - target.

    Simpler and stable: `value(net, target)` computes E_ok from net (log-sum-exp, softplus), and
    there is no separate dE/dout or dout/dnet. `torch` returns per-sample losses from the logits.
    """

    value: Callable[[Array, Array], Array]  # E_ok from (net, target)
    latex: str  # E_ok in terms of «target», «out»
    text: str
    torch: Callable[[], Callable[[Any, Any], Any]]
    delta_latex: str = r"«out» - «target»"
    delta_text: str = "«out» - «target»"
    python: Python | None = None  # value from {net}, {target}; derivative: the delta from {out}, {target}
    kernel: int | None = None
    derivation: DerivationLines = ()  # how out - target is obtained; extra roles «sum_targets», «cross_terms»
    distribution: bool = False  # targets must be probabilities summing to 1 (else out - target is not dE/dnet)
    # dE_total/dnet from (net, out, target) when it is not out - target (a loss of raw scores: softmax(net) - target)
    delta: Callable[[Array, Array, Array], Array] | None = None
    coupled: bool = False  # every E_ok depends on every net (log-sum-exp): dE_total/dnet, never dE_ok/dnet
    delta_note: str = ""  # what the error signal is, in words (shown beside it)

    def signal(self, net: Array, out: Array, target: Array) -> Array:
        """dE_total/dnet at the output, per sample: out - target, or the entry's own `delta`."""
        return out - target if self.delta is None else self.delta(net, out, target)


@dataclass(frozen=True)
class Loss:
    """One loss, summed over output neurons: E_ok = value(out, target), dE_total/dout_ok = gradient(out, target).

    A loss defined only together with certain output activations (cross-entropy) has value and
    gradient None and lists them in `combinations`. `torch` returns a function giving per-sample
    losses (summed over outputs) from (out, target); the batch loss is their mean.
    """

    name: str
    latex: str  # E_ok in terms of «target», «out» (and «n», the number of outputs)
    text: str
    gradient_latex: str  # dE_total/dout_ok
    gradient_text: str
    value: Callable[[Array, Array], Array] | None
    gradient: Callable[[Array, Array], Array] | None
    torch: Callable[[], Callable[[Any, Any], Any]] | None
    combinations: dict[str, Combination] = field(default_factory=dict)
    python: Python | None = None
    kernel: int | None = None
    derivation: DerivationLines = ()  # how dE_o/dout_o is obtained from E_o (explain --derive)

    def combination(self, activation: str) -> Combination | None:
        """The combined form with this output activation, or None (then value and gradient apply)."""
        return self.combinations.get(activation)

    def problem(self, activation: str) -> str | None:
        """Why this loss cannot follow `activation` outputs (and what to use instead), or None."""
        if self.value is not None or activation in self.combinations:
            return None
        hint = ""
        if activation == "linear" and self.name == "cross_entropy":
            hint = ("; for raw scores (a model ending in nn.Linear, what nn.CrossEntropyLoss takes) use "
                    "loss cross_entropy_with_logits, or put softmax on the output layer")
        elif "linear" in self.combinations:
            hint = "; it takes the raw scores of a linear output layer (drop the output activation)"
        return f"{self.name} needs {' or '.join(self.combinations)} outputs, not {activation}{hint}"

    def check(self, activation: str) -> None:
        """A StepgradError when this loss cannot follow `activation` outputs."""
        problem = self.problem(activation)
        if problem:
            raise StepgradError(problem, where="loss")


def _softmax_cross_entropy(net: Array, target: Array) -> Array:
    m = net.max(axis=-1, keepdims=True)
    log_sum_exp = m + np.log(np.exp(net - m).sum(axis=-1, keepdims=True))
    return target * (log_sum_exp - net)  # -t ln softmax(net), stably


def _sigmoid_cross_entropy(net: Array, target: Array) -> Array:
    return _softplus(net) - target * net  # -(t ln o + (1-t) ln(1-o)) with o = sigmoid(net), stably


def _bce_with_logits(net: Array, target: Array) -> Array:
    return _sigmoid_cross_entropy(net, target) / net.shape[-1]  # PyTorch's mean over the outputs


def _huber(out: Array, target: Array) -> Array:
    d = np.abs(out - target)
    return np.where(d <= HUBER_DELTA, 0.5 * d * d, HUBER_DELTA * (d - 0.5 * HUBER_DELTA))


_SOFTMAX_CE_DERIVATION: DerivationLines = (
    ("chain rule through every output: dE/dout_k = -target_k / out_k, dout_j/dnet_j = out_j (1 - out_j), "
     "dout_k/dnet_j = -out_k out_j",
     r"-\frac{«target»}{«out»} «out» (1 - «out») + «cross_terms»",
     "-«target» / «out» * «out» * (1 - «out») + «cross_terms»"),
    ("multiplied out", r"«out» («sum_targets») - «target»", "«out» * («sum_targets») - «target»"),
    ("the targets sum to 1", r"«out» - «target»", "«out» - «target»"),
)
_LOGITS_CE_DERIVATION: DerivationLines = (
    ("E_total = (sum of targets) ln(sum of exp) - sum of target * out, differentiated by this out",
     r"\left(«sum_targets»\right) \frac{e^{«out»}}{«sum_exp»} - «target»",
     "(«sum_targets») * exp(«out») / («sum_exp») - «target»"),
    ("the targets sum to 1: softmax minus the one-hot target", r"\frac{e^{«out»}}{«sum_exp»} - «target»",
     "exp(«out») / («sum_exp») - «target»"),
)
_BCE_LOGITS_DERIVATION: DerivationLines = (
    ("chain rule on 1/n (ln(1 + exp(out)) - target * out)",
     r"\frac{1}{«n»} \left(\frac{e^{«out»}}{1 + e^{«out»}} - «target»\right)",
     "1/«n» * (exp(«out») / (1 + exp(«out»)) - «target»)"),
    ("divided through by exp(out): the sigmoid", r"\frac{1}{«n»} \left(\frac{1}{1 + e^{-«out»}} - «target»\right)",
     "1/«n» * (1 / (1 + exp(-«out»)) - «target»)"),
)
_SIGMOID_CE_DERIVATION: DerivationLines = (
    ("chain rule: dE/dout times dout/dnet = out (1 - out)",
     r"\left(-\frac{«target»}{«out»} + \frac{1 - «target»}{1 - «out»}\right) «out» (1 - «out»)",
     "(-«target» / «out» + (1 - «target») / (1 - «out»)) * «out» * (1 - «out»)"),
    ("multiplied out", r"-«target» (1 - «out») + (1 - «target») «out»",
     "-«target» * (1 - «out») + (1 - «target») * «out»"),
    ("simplified", r"«out» - «target»", "«out» - «target»"),
)

LOSSES: dict[str, Loss] = {
    l.name: l
    for l in [
        Loss(
            "half_squared_error",
            r"\frac{1}{2} («target» - «out»)^{2}", "1/2 * («target» - «out»)^2",
            r"-(«target» - «out»)", "-(«target» - «out»)",
            lambda out, target: 0.5 * (target - out) ** 2, lambda out, target: -(target - out),
            tf.half_squared_error,
            python=Python("0.5 * (({target} - {out}) * ({target} - {out}))", "-({target} - {out})"), kernel=0,
            derivation=(("power rule, chain rule", r"2 \cdot \frac{1}{2} («target» - «out»)^{2-1} \cdot (-1)",
                         "2 * 1/2 * («target» - «out»)^(2-1) * (-1)"),),
        ),
        Loss(
            "mean_squared_error",
            r"\frac{1}{«n»} («target» - «out»)^{2}", "1/«n» * («target» - «out»)^2",
            r"-\frac{2}{«n»} («target» - «out»)", "-2/«n» * («target» - «out»)",
            lambda out, target: (target - out) ** 2 / out.shape[-1],
            lambda out, target: -2.0 / out.shape[-1] * (target - out),
            tf.mean_squared_error,
            python=Python("({target} - {out}) * ({target} - {out}) / {n}", "-2.0 / {n} * ({target} - {out})"),
            kernel=1,
            derivation=(("power rule, chain rule", r"2 \cdot \frac{1}{«n»} («target» - «out»)^{2-1} \cdot (-1)",
                         "2 * 1/«n» * («target» - «out»)^(2-1) * (-1)"),),
        ),
        Loss(
            "cross_entropy",
            r"-«target» \ln «out»", "-«target» * ln(«out»)",
            "", "", None, None, None,
            combinations={
                "softmax": Combination(_softmax_cross_entropy, r"-«target» \ln «out»", "-«target» * ln(«out»)",
                                       tf.softmax_cross_entropy, kernel=2, derivation=_SOFTMAX_CE_DERIVATION,
                                       distribution=True),
                "sigmoid": Combination(
                    _sigmoid_cross_entropy,
                    r"-\left(«target» \ln «out» + (1 - «target») \ln(1 - «out»)\right)",
                    "-(«target» * ln(«out») + (1 - «target») * ln(1 - «out»))",
                    tf.sigmoid_cross_entropy,
                    python=Python(f"{_SOFTPLUS_PY} - {{target}} * {{net}}", "{out} - {target}"), kernel=3,
                    derivation=_SIGMOID_CE_DERIVATION),
            },
        ),
        Loss(  # PyTorch's nn.CrossEntropyLoss: raw scores (a model ending in nn.Linear), class probabilities
            "cross_entropy_with_logits",
            r"-«target» \ln \frac{e^{«out»}}{«sum_exp»}", "-«target» * ln(exp(«out») / («sum_exp»))",
            "", "", None, None, None,
            combinations={
                "linear": Combination(
                    _softmax_cross_entropy,
                    r"-«target» \ln \frac{e^{«out»}}{«sum_exp»}", "-«target» * ln(exp(«out») / («sum_exp»))",
                    tf.softmax_cross_entropy,
                    delta_latex=r"\frac{e^{«out»}}{«sum_exp»} - «target»",
                    delta_text="exp(«out») / («sum_exp») - «target»",
                    derivation=_LOGITS_CE_DERIVATION, distribution=True,
                    delta=lambda net, out, target: _softmax(net) - target, coupled=True,
                    delta_note="the softmax of the raw scores minus the target (one-hot for a class label)"),
            },
        ),
        Loss(  # PyTorch's nn.BCEWithLogitsLoss: raw scores, the mean over the outputs of each sample
            "binary_cross_entropy_with_logits",
            r"\frac{1}{«n»} \left(\ln(1 + e^{«out»}) - «target» «out»\right)",
            "1/«n» * (ln(1 + exp(«out»)) - «target» * «out»)",
            "", "", None, None, None,
            combinations={
                "linear": Combination(
                    _bce_with_logits,
                    r"\frac{1}{«n»} \left(\ln(1 + e^{«out»}) - «target» «out»\right)",
                    "1/«n» * (ln(1 + exp(«out»)) - «target» * «out»)",
                    tf.bce_with_logits,
                    delta_latex=r"\frac{1}{«n»} \left(\frac{1}{1 + e^{-«out»}} - «target»\right)",
                    delta_text="1/«n» * (1 / (1 + exp(-«out»)) - «target»)",
                    python=Python(f"({_SOFTPLUS_PY} - {{target}} * {{net}}) / {{n}}",
                                  f"({_SIGMOID_PY} - {{target}}) / {{n}}"),
                    derivation=_BCE_LOGITS_DERIVATION,
                    delta=lambda net, out, target: (_sigmoid(net) - target) / net.shape[-1],
                    delta_note="the sigmoid of the raw score minus the target, over the number of outputs"),
            },
        ),
        Loss(
            "huber",
            r"\begin{cases} \frac{1}{2} («out» - «target»)^{2} & \text{if } |«out» - «target»| \le 1 \\ "
            r"|«out» - «target»| - \frac{1}{2} & \text{otherwise} \end{cases}",
            "(1/2 * («out» - «target»)^2 if abs(«out» - «target») <= 1, else abs(«out» - «target») - 1/2)",
            r"\max\left(-1, \min\left(1, «out» - «target»\right)\right)", "max(-1, min(1, «out» - «target»))",
            _huber, lambda out, target: np.clip(out - target, -HUBER_DELTA, HUBER_DELTA),
            tf.huber,
            python=Python("(0.5 * ({out} - {target}) * ({out} - {target}) if abs({out} - {target}) <= 1.0 "
                          "else abs({out} - {target}) - 0.5)",
                          "max(-1.0, min(1.0, {out} - {target}))"),
            derivation=(
                ("each piece: power rule on the square, the slope of |out - target| on the rest",
                 r"\begin{cases} 2 \cdot \frac{1}{2} («out» - «target»)^{2-1} & \text{if } |«out» - «target»| \le 1 \\ "
                 r"\frac{«out» - «target»}{|«out» - «target»|} & \text{otherwise} \end{cases}",
                 "(2 * 1/2 * («out» - «target»)^(2-1) if abs(«out» - «target») <= 1, "
                 "else («out» - «target») / abs(«out» - «target»))"),
            ),
        ),
    ]
}


def fill(template: str, **roles: str) -> str:
    """A registry template with its «role» slots filled: fill("«out» * (1 - «out»)", out="«out_h1»")."""
    for role, value in roles.items():
        template = template.replace(f"«{role}»", value)
    return template


def activation(name: str) -> Activation:
    """The registry entry `name`, or a StepgradError listing the choices."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise StepgradError(f"unknown activation {name!r}; choose from {', '.join(ACTIVATIONS)}") from None


def loss(name: str) -> Loss:
    """The registry entry `name`, or a StepgradError listing the choices."""
    try:
        return LOSSES[name]
    except KeyError:
        raise StepgradError(f"unknown loss {name!r}; choose from {', '.join(LOSSES)}") from None


def target_problem(loss_name: str, activation_name: str, targets: Array) -> str | None:
    """Why these targets (one row per sample) do not suit the loss, or None.

    A combined loss (cross-entropy) needs probabilities, 0..1; with softmax outputs they must also
    sum to 1 per sample, because the error signal out - target is dE_total/dnet only then.
    """
    combined = loss(loss_name).combination(activation_name)
    if combined is None:
        return None
    for k, row in enumerate(np.atleast_2d(targets)):
        if ((row < 0) | (row > 1)).any():
            return f"sample {k + 1}: {loss_name} targets are probabilities between 0 and 1, not {row.tolist()}"
        if combined.distribution and abs(row.sum() - 1.0) > 1e-9:
            return (f"sample {k + 1}: with {activation_name} outputs the targets are a probability distribution "
                    f"and must sum to 1 (these sum to {row.sum():.6g}), e.g. one-hot [0, 1, 0]")
    return None


def class_label(value: Any, classes: int, loss_name: str, activation_name: str, where: str = "targets") -> Any:
    """A sample's targets: a class index (an integer, PyTorch's labels) becomes the one-hot row for a
    loss that takes a probability distribution (cross-entropy); anything else is returned as it is.

        >>> class_label(2, 3, "cross_entropy_with_logits", "linear")
        [0.0, 0.0, 1.0]
    """
    combined = LOSSES[loss_name].combination(activation_name) if loss_name in LOSSES else None
    if isinstance(value, bool) or not isinstance(value, int) or combined is None or not combined.distribution:
        return value
    if not 0 <= value < classes:
        raise StepgradError(f"class index {value} is out of range: the network has {classes} outputs "
                            f"(classes 0..{classes - 1})", where=where)
    return [1.0 if k == value else 0.0 for k in range(classes)]


def loss_terms(loss_name: str, activation_name: str, net: Array, out: Array, target: Array) -> Array:
    """E_ok for every sample and output neuron (shape of out), from the registry entries."""
    entry = loss(loss_name)
    combined = entry.combination(activation_name)
    if combined is not None:
        return combined.value(net, target)
    entry.check(activation_name)
    return entry.value(out, target)  # type: ignore[misc]
