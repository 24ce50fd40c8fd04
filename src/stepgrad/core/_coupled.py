"""The coupled entries, written by hand: softmax (every out depends on every net) and the cross-entropy losses.

Their formulas are vectors (a sum over the outputs), so they are not elementwise formulas in
`core/symbolic/formulas.py`; their derivations carry the extra roles «sum_exp», «sum_targets» and
«cross_terms» that tracing/derive.py fills per network. The tests hold them to PyTorch and to
finite differences like every other entry.
"""

from __future__ import annotations

import numpy as np

from stepgrad.core import _inplace as ip
from stepgrad.core._stable import sigmoid_value, softplus_value
from stepgrad.core.entries import Activation, Combination, DerivationLines, InPlace, Loss, Python

Array = np.ndarray
_SIGMOID_PY = "(1.0 / (1.0 + exp(-{net})) if {net} >= 0.0 else exp({net}) / (1.0 + exp({net})))"
_SOFTPLUS_PY = "(max({net}, 0.0) + log1p(exp(-abs({net}))))"
SOFTMAX_KERNEL, SOFTMAX_CE_KERNEL, SIGMOID_CE_KERNEL = 100, 100, 101  # training/_tiny_kernel.py's codes


def softmax(net: Array) -> Array:
    """exp(net) / sum of exp(net) over the last axis, shifted by the row maximum (no overflow)."""
    shifted = net - net.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(out: Array, grad_out: Array) -> Array:
    """dE/dnet from dE/dout through softmax's Jacobian: out_j (g_j - sum_k g_k out_k)."""
    return out * (grad_out - (grad_out * out).sum(axis=-1, keepdims=True))


SOFTMAX = Activation(
    "softmax", softmax, None, r"\frac{e^{«net»}}{«sum_exp»}", "exp(«net») / («sum_exp»)", "", "",
    torch_module="nn.Softmax", torch_functional="F.softmax", torch_kwargs={"dim": -1},
    hidden_ok=False, backward=softmax_backward, inplace=InPlace(ip.softmax, None), kernel=SOFTMAX_KERNEL,
)


def _softmax_cross_entropy(net: Array, target: Array) -> Array:
    m = net.max(axis=-1, keepdims=True)
    log_sum_exp = m + np.log(np.exp(net - m).sum(axis=-1, keepdims=True))
    return target * (log_sum_exp - net)  # -t ln softmax(net), stably


def _sigmoid_cross_entropy(net: Array, target: Array) -> Array:
    return softplus_value(net) - target * net  # -(t ln o + (1-t) ln(1-o)) with o = sigmoid(net), stably


def _bce_with_logits(net: Array, target: Array) -> Array:
    return _sigmoid_cross_entropy(net, target) / net.shape[-1]  # PyTorch's mean over the outputs


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
_CE = "F.cross_entropy(output, target, reduction='none')"
_BCE = "F.binary_cross_entropy_with_logits(output, target, reduction='none')"
_NONE = {"reduction": "none"}

LOSSES = [
    Loss(
        "cross_entropy", r"-«target» \ln «out»", "-«target» * ln(«out»)", "", "", None, None, None,
        combinations={
            "softmax": Combination(
                _softmax_cross_entropy, r"-«target» \ln «out»", "-«target» * ln(«out»)", _CE,
                "nn.CrossEntropyLoss", "F.cross_entropy", _NONE, kernel=SOFTMAX_CE_KERNEL,
                derivation=_SOFTMAX_CE_DERIVATION, distribution=True),
            "sigmoid": Combination(
                _sigmoid_cross_entropy,
                r"-\left(«target» \ln «out» + (1 - «target») \ln(1 - «out»)\right)",
                "-(«target» * ln(«out») + (1 - «target») * ln(1 - «out»))",
                f"{_BCE}.sum(dim=-1)", "nn.BCEWithLogitsLoss", "F.binary_cross_entropy_with_logits", _NONE,
                python=Python(f"{_SOFTPLUS_PY} - {{target}} * {{net}}", "{out} - {target}"), kernel=SIGMOID_CE_KERNEL,
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
                _CE, "nn.CrossEntropyLoss", "F.cross_entropy", _NONE,
                delta_latex=r"\frac{e^{«out»}}{«sum_exp»} - «target»",
                delta_text="exp(«out») / («sum_exp») - «target»",
                derivation=_LOGITS_CE_DERIVATION, distribution=True,
                delta=lambda net, out, target: softmax(net) - target, coupled=True,
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
                f"{_BCE}.mean(dim=-1)", "nn.BCEWithLogitsLoss", "F.binary_cross_entropy_with_logits", _NONE,
                delta_latex=r"\frac{1}{«n»} \left(\frac{1}{1 + e^{-«out»}} - «target»\right)",
                delta_text="1/«n» * (1 / (1 + exp(-«out»)) - «target»)",
                python=Python(f"({_SOFTPLUS_PY} - {{target}} * {{net}}) / {{n}}",
                              f"({_SIGMOID_PY} - {{target}}) / {{n}}"),
                derivation=_BCE_LOGITS_DERIVATION,
                delta=lambda net, out, target: (sigmoid_value(net) - target) / net.shape[-1],
                delta_note="the sigmoid of the raw score minus the target, over the number of outputs"),
        },
    ),
]
