"""Every elementwise activation and loss of stepgrad, each written once as a formula (SymPy).

An activation is out = f(net); a loss is one output's error E_o = g(out, target) (n: the number of
outputs; E_total of a sample sums the E_o). Everything else (derivative, its form in terms of out,
text and LaTeX templates, the `--derive` lines, numpy, scalar Python and numba kernel code, the
PyTorch counterpart) is generated from these by `stepgrad.core.symbolic.generate` into
`core/_generated.py` and `training/_tiny_kernel.py` (a test checks that regenerating changes
nothing). Adding an entry is adding one line here and running

    python -m stepgrad.core.symbolic.generate

`stable` names a hand-written numerically stable form in `core/_stable.py` (for exp of large
|net|), used instead of the generated numpy and scalar code; the tests hold it to the formula.

The coupled entries are written over the whole output vector (K outputs, output 0 the one derived):
softmax, and each combination of a loss with its output activation, whose E_total of a sample is its own
expression (-sum of t_k ln softmax_k(net)). `core/symbolic/coupled.py` derives dE_total/dnet_0 from it
(simplified with the targets summing to 1 where that is needed), and writes the numpy code in a stable
form by the rewrite rules stated there (ln of a softmax as net - logsumexp, ln(1 + exp) as softplus).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy import Abs, Add, Float, Piecewise, Rational, erf, exp, log, pi, sqrt, tanh

from stepgrad.core._inplace import LEAKY_SLOPE  # one constant for the formula and fast.py's in-place form
from stepgrad.core.symbolic.printing import NET as net
from stepgrad.core.symbolic.printing import OUT as out
from stepgrad.core.symbolic.printing import SUM_EXP
from stepgrad.core.symbolic.printing import TARGET as target
from stepgrad.core.symbolic.printing import N as n

HUBER_DELTA = 1.0  # huber's delta, and smooth_l1's beta: |out - target| < 1 is the quadratic piece


@dataclass(frozen=True)
class ActivationFormula:
    """out = formula(net), with its PyTorch counterpart: torch_module(**torch_kwargs), torch_functional(x, **torch_kwargs)."""

    name: str
    formula: Any
    torch_module: str
    torch_functional: str | None
    torch_kwargs: dict[str, Any] = field(default_factory=dict)
    stable: bool = False  # a hand-written stable form in core/_stable.py (numpy) and STABLE_PYTHON


@dataclass(frozen=True)
class LossFormula:
    """E_o = formula(out, target, n); torch: the per-sample loss, `torch_scale` * functional(reduction='none') reduced over outputs."""

    name: str
    formula: Any
    torch_module: str | None
    torch_functional: str | None
    torch_kwargs: dict[str, Any] = field(default_factory=dict)
    torch_reduce: str = "sum"  # how torch's per-output terms make one sample's loss: "sum" or "mean"
    torch_scale: float = 1.0
    stable: bool = False


ACTIVATIONS = [
    ActivationFormula("sigmoid", 1 / (1 + exp(-net)), "nn.Sigmoid", "torch.sigmoid", stable=True),
    ActivationFormula("tanh", tanh(net), "nn.Tanh", "torch.tanh"),
    ActivationFormula("relu", Piecewise((net, net > 0), (0, True)), "nn.ReLU", "F.relu"),
    ActivationFormula("leaky_relu", Piecewise((net, net > 0), (Float(LEAKY_SLOPE) * net, True)), "nn.LeakyReLU",
                      "F.leaky_relu", {"negative_slope": LEAKY_SLOPE}),
    ActivationFormula("linear", net, "nn.Identity", None),
    ActivationFormula("softplus", log(1 + exp(net)), "nn.Softplus", "F.softplus", stable=True),
    ActivationFormula("elu", Piecewise((net, net > 0), (exp(net) - 1, True)), "nn.ELU", "F.elu"),
    ActivationFormula("gelu", net / 2 * (1 + erf(net / sqrt(2))), "nn.GELU", "F.gelu"),
    ActivationFormula("gelu_tanh", net / 2 * (1 + tanh(sqrt(2 / pi) * (net + Float(0.044715) * net ** 3))), "nn.GELU",
                      "F.gelu", {"approximate": "tanh"}),
    ActivationFormula("silu", net / (1 + exp(-net)), "nn.SiLU", "F.silu", stable=True),
    ActivationFormula("softsign", net / (1 + Abs(net)), "nn.Softsign", "F.softsign"),
]

_d = out - target
LOSSES = [
    LossFormula("half_squared_error", Rational(1, 2) * (target - out) ** 2, "nn.MSELoss", "F.mse_loss",
                torch_scale=0.5),
    LossFormula("mean_squared_error", (target - out) ** 2 / n, "nn.MSELoss", "F.mse_loss", torch_reduce="mean"),
    LossFormula("huber", Piecewise((Rational(1, 2) * _d ** 2, Abs(_d) < 1), (Abs(_d) - Rational(1, 2), True)),
                "nn.HuberLoss", "F.huber_loss", {"delta": HUBER_DELTA}),
    LossFormula("log_cosh", log(sp.cosh(_d)), None, None, stable=True),
    LossFormula("l1", Abs(_d) / n, "nn.L1Loss", "F.l1_loss", torch_reduce="mean"),
    LossFormula("smooth_l1", Piecewise((Rational(1, 2) * _d ** 2 / n, Abs(_d) < 1), ((Abs(_d) - Rational(1, 2)) / n, True)),
                "nn.SmoothL1Loss", "F.smooth_l1_loss", {"beta": 1.0}, torch_reduce="mean"),
    # the sums over the outputs: PyTorch's reduction='sum' adds every element, outputs and samples alike
    LossFormula("squared_error", (target - out) ** 2, "nn.MSELoss", "F.mse_loss"),
    LossFormula("absolute_error", Abs(_d), "nn.L1Loss", "F.l1_loss"),
]


# --- the coupled entries: formulas over a vector of K outputs ---------------------------------------------

K = 3  # outputs of the vector the coupled formulas are written and derived over (output 0 is the one derived)
NETS = sp.symbols(f"SLOTnet0:{K}", real=True)
TARGETS = sp.symbols(f"SLOTtarget0:{K}", real=True)
Vector = Sequence[Any]


def softmax_of(nets: Vector, k: int = 0) -> Any:
    """exp(net_k) / sum over j of exp(net_j)."""
    return exp(nets[k]) / Add(*[exp(x) for x in nets])


def sigmoid_of(x: Any) -> Any:
    """1 / (1 + exp(-x))."""
    return 1 / (1 + exp(-x))


@dataclass(frozen=True)
class CoupledActivationFormula:
    """out_k = formula_of(nets, k) over every net of the layer (softmax); `kernel`: its branch in the numba kernel."""

    name: str
    formula_of: Callable[[Vector, int], Any]  # out_k from every net
    torch_module: str
    torch_functional: str | None
    torch_kwargs: dict[str, Any] = field(default_factory=dict)
    kernel: int | None = None

    def formula(self, nets: Vector) -> Any:
        """out_0."""
        return self.formula_of(nets, 0)


@dataclass(frozen=True)
class CombinationFormula:
    """A loss with its output activation, as its own expression: output k's E_o = term(nets, target_k, k) from
    every raw score (E_total of a sample sums them); `shown` is E_o as the documents write it (in out, target,
    n and sum_exp); torch: functional(output, target, reduction='none'), reduced over outputs by `torch_reduce`."""

    loss: str
    activation: str
    term: Callable[[Vector, Any, int], Any]
    shown: Any
    torch_module: str
    torch_functional: str
    torch_reduce: str = ""  # "" (already per sample), "sum" or "mean"
    kernel: int | None = None
    note: str = ""  # what the error signal is, in words, when it is not out - target


SOFTMAX_KERNEL, SIGMOID_CE_KERNEL = 100, 101  # training/_tiny_kernel.py's hand-written branches

COUPLED_ACTIVATIONS = [
    CoupledActivationFormula("softmax", softmax_of, "nn.Softmax", "F.softmax", {"dim": -1}, kernel=SOFTMAX_KERNEL),
]

COMBINATIONS = [
    CombinationFormula(
        "cross_entropy", "softmax", lambda nets, t, k: -t * log(softmax_of(nets, k)),
        -target * log(out), "nn.CrossEntropyLoss", "F.cross_entropy", kernel=SOFTMAX_KERNEL),
    CombinationFormula(
        "cross_entropy", "sigmoid",
        lambda nets, t, k: -(t * log(sigmoid_of(nets[k])) + (1 - t) * log(1 - sigmoid_of(nets[k]))),
        sp.Mul(-1, target * log(out) + (1 - target) * log(1 - out), evaluate=False), "nn.BCEWithLogitsLoss",
        "F.binary_cross_entropy_with_logits", "sum", kernel=SIGMOID_CE_KERNEL),
    # PyTorch's nn.CrossEntropyLoss: raw scores (a model ending in nn.Linear), class probabilities
    CombinationFormula(
        "cross_entropy_with_logits", "linear",
        lambda nets, t, k: -t * log(softmax_of(nets, k)),
        -target * log(exp(out) / SUM_EXP), "nn.CrossEntropyLoss", "F.cross_entropy",
        note="the softmax of the raw scores minus the target (one-hot for a class label)"),
    # PyTorch's nn.BCEWithLogitsLoss: raw scores, the mean over the outputs of each sample
    CombinationFormula(
        "binary_cross_entropy_with_logits", "linear",
        lambda nets, t, k: (log(1 + exp(nets[k])) - t * nets[k]) / n,
        (log(1 + exp(out)) - target * out) / n, "nn.BCEWithLogitsLoss", "F.binary_cross_entropy_with_logits", "mean",
        note="the sigmoid of the raw score minus the target, over the number of outputs"),
]
