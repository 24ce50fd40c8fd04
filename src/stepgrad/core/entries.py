"""What one registry entry holds: an activation, a loss, a loss combined with an output activation.

The fields every consumer reads (generated from the entry's formula, see `core/symbolic/formulas.py`):

- templates: `latex`/`text` (the value), `derivative_latex`/`derivative_text` (activation: dout/dnet,
  in terms of «out» where a simple form exists), `gradient_*` (loss: dE_total/dout_o), with «role» slots
  («net», «out», «target», «n») that the trace fills; piecewise functions are `cases` in LaTeX
  and words in text ("«net» if «net» > 0, else 0.01 * «net»").
- `derivation`: (rule, LaTeX, text) lines from the definition to the derivative (`explain --derive`).
- numpy: `forward(net)` and `derivative(net, out)` (activation), `value(out, target)` and
  `gradient(out, target)` (loss), per output neuron.
- `scalar`: plain-Python callables on floats for the checker: activation `scalar.value(net)`,
  `scalar.derivative(net)`; loss `scalar.value(out, target, n)`, `scalar.derivative(out, target, n)`.
- backends: `python` (scalar code templates for training/pure.py), `kernel` (the numba branch code,
  None: tiny.supports declines), `inplace` (numpy in-place forms for training/fast.py, optional).
- PyTorch: `torch_module` ("nn.ELU"), `torch_functional` ("F.elu", "torch.tanh"; None: no functional
  form), `torch_kwargs` (the settings both take, e.g. {"negative_slope": 0.01}), `torch_source`
  ("nn.LeakyReLU(negative_slope=0.01)") and `torch()` (builds the module, torch imported then).
  A loss has `torch_per_sample`: a torch expression in `output` and `target` giving each sample's
  loss (stepgrad's E_total of the sample), and `torch()` a callable computing it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stepgrad.core.errors import StepgradError

Array = np.ndarray
DerivationLines = tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class Python:
    """Scalar Python expressions for the generated pure-Python backend, slots {net}, {out}, {target}, {n}.

    They use only `math`'s functions, abs, max and min, and are generated from the registry's
    formulas (the backend compiles the code it generates from them, never from user input).
    """

    value: str  # out from {net} (activation); E_ok from {out}, {target}, {n}, {net} (loss)
    derivative: str  # dout/dnet from {net}, {out} (activation); dE_total/dout (loss), delta (combination)


@dataclass(frozen=True)
class Scalar:
    """Plain-Python functions on floats: value and derivative (see the module docstring for arguments)."""

    value: Callable[..., float]
    derivative: Callable[..., float]


@dataclass(frozen=True)
class InPlace:
    """numpy in-place forms for fast.DenseTrainer: forward(net, out, scratch), times_derivative(g, net, out, scratch)."""

    forward: Callable[[Array, Array, Array], None]
    times_derivative: Callable[[Array, Array, Array, Array], None] | None


@dataclass(frozen=True)
class Activation:
    """One activation: out = forward(net), dout/dnet = derivative(net, out), and its formulas.

    A coupled activation (softmax) has no elementwise derivative; `backward(out, dE/dout)` gives
    dE/dnet instead.

        >>> from stepgrad.core.functions import ACTIVATIONS
        >>> ACTIVATIONS["leaky_relu"].text, ACTIVATIONS["leaky_relu"].torch_source
        ('«net» if «net» > 0, else 0.01 * «net»', 'nn.LeakyReLU(negative_slope=0.01)')
    """

    name: str
    forward: Callable[[Array], Array]
    derivative: Callable[[Array, Array], Array] | None  # None: not elementwise (see backward)
    latex: str  # out in terms of «net»
    text: str
    derivative_latex: str  # dout/dnet in terms of «net» and «out»
    derivative_text: str
    torch_module: str
    torch_functional: str | None = None
    torch_kwargs: dict[str, Any] = field(default_factory=dict)
    hidden_ok: bool = True
    backward: Callable[[Array, Array], Array] | None = None  # coupled: dE/dnet from (out, dE/dout)
    python: Python | None = None
    inplace: InPlace | None = None
    kernel: int | None = None  # the numba kernel's branch for this activation
    derivation: DerivationLines = ()  # how dout/dnet is obtained (explain --derive), ending in derivative_*
    scalar: Scalar | None = None

    @property
    def torch_source(self) -> str:
        """The torch module as Python source: nn.LeakyReLU(negative_slope=0.01)."""
        return _source(self.torch_module, self.torch_kwargs)

    def torch(self) -> Any:
        """The torch module (torch imported now)."""
        from stepgrad.core._torch_forms import module

        return module(self.torch_module.removeprefix("nn."), **self.torch_kwargs)()


def _source(module: str, kwargs: dict[str, Any]) -> str:
    return f"{module}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"


def _per_sample(expression: str) -> Callable[[Any, Any], Any]:
    from stepgrad.core._torch_forms import per_sample

    return per_sample(expression)


@dataclass(frozen=True)
class Combination:
    """A loss together with one output activation: the error signal at net is out - target.

    Simpler and stable: `value(net, target)` computes E_ok from net (log-sum-exp, softplus), and
    there is no separate dE/dout or dout/dnet. `torch_per_sample` is torch's per-sample loss from
    the logits (`output` is net), `torch()` a callable computing it.
    """

    value: Callable[[Array, Array], Array]  # E_ok from (net, target)
    latex: str  # E_ok in terms of «target», «out»
    text: str
    torch_per_sample: str
    torch_module: str | None = None
    torch_functional: str | None = None
    torch_kwargs: dict[str, Any] = field(default_factory=dict)
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

    def torch(self) -> Callable[[Any, Any], Any]:
        """A callable giving torch's per-sample losses from (logits, target)."""
        return _per_sample(self.torch_per_sample)


@dataclass(frozen=True)
class Loss:
    """One loss, summed over output neurons: E_ok = value(out, target), dE_total/dout_ok = gradient(out, target).

    A loss defined only together with certain output activations (cross-entropy) has value and
    gradient None and lists them in `combinations`. `torch()` returns a function giving per-sample
    losses (summed over outputs) from (out, target); the batch loss is their mean.
    """

    name: str
    latex: str  # E_ok in terms of «target», «out» (and «n», the number of outputs)
    text: str
    gradient_latex: str  # dE_total/dout_ok
    gradient_text: str
    value: Callable[[Array, Array], Array] | None
    gradient: Callable[[Array, Array], Array] | None
    torch_per_sample: str | None  # None: only in its combinations
    torch_module: str | None = None
    torch_functional: str | None = None
    torch_kwargs: dict[str, Any] = field(default_factory=dict)
    combinations: dict[str, Combination] = field(default_factory=dict)
    python: Python | None = None
    kernel: int | None = None
    derivation: DerivationLines = ()  # how dE_o/dout_o is obtained from E_o (explain --derive)
    scalar: Scalar | None = None

    @property
    def torch(self) -> Callable[[], Callable[[Any, Any], Any]] | None:
        """A factory of torch's per-sample loss from (out, target), or None (combinations only)."""
        expression = self.torch_per_sample
        return None if expression is None else (lambda: _per_sample(expression))

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
