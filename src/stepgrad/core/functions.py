"""The registry of activations and losses: one entry each, value and derivative side by side.

Every part of stepgrad reads these entries: the engine computes with `forward`/`derivative` and
`value`/`gradient`, the trace writes formulas from the templates, the checker's diagnoses replay
them with a mistake applied, torch interop builds the `torch` counterparts, and each training
backend uses the entry's code for it (`inplace` for fast.py, `python` for the pure-Python path,
`kernel` for the numba kernel) or declines the network when the entry has none. What each field
holds: `core/entries.py`. The elementwise entries are written once, as formulas, in
`core/symbolic/formulas.py`, and so are softmax and the losses combined with their output activation
(cross-entropy), written over the output vector; everything else about them is generated
(`core/_generated.py`), so adding one is a line there. `register` adds an entry at run time from a formula (needs SymPy).

    >>> ACTIVATIONS["sigmoid"].derivative_text
    '«out» * (1 - «out»)'
    >>> LOSSES["cross_entropy"].combination("softmax").delta_text
    '«out» - «target»'
    >>> ACTIVATIONS["tanh"].scalar.derivative(0.5)   # 1 - tanh(0.5)^2
    0.7864477329659274
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stepgrad.core import _generated
from stepgrad.core import _inplace as ip
from stepgrad.core.entries import Activation, Combination, InPlace, Loss, Python, Scalar
from stepgrad.core.errors import StepgradError

__all__ = ["ACTIVATIONS", "LOSSES", "Activation", "Combination", "InPlace", "Loss", "Python", "Scalar",
           "activation", "class_label", "fill", "loss", "loss_terms", "register", "target_problem", "unregister"]

Array = np.ndarray
LEAKY_SLOPE = ip.LEAKY_SLOPE  # leaky_relu's slope for negative net (core/symbolic/formulas.py)
HUBER_DELTA = 1.0  # huber's delta (core/symbolic/formulas.py)
softmax_backward = _generated.softmax_backward

# numpy in-place forms (no allocation per step) for the entries fast.py trains most; the others use `forward`
_INPLACE = {
    "sigmoid": InPlace(ip.sigmoid, ip.times_sigmoid_derivative), "tanh": InPlace(ip.tanh, ip.times_tanh_derivative),
    "relu": InPlace(ip.relu, ip.times_relu_derivative),
    "leaky_relu": InPlace(ip.leaky_relu, ip.times_leaky_relu_derivative), "linear": InPlace(ip.linear, ip.times_one),
}


def _activation(name: str, g: dict[str, Any]) -> Activation:
    return Activation(
        name, g["value"], g["derivative"], g["latex"], g["text"], g["derivative_latex"], g["derivative_text"],
        torch_module=g["torch_module"], torch_functional=g["torch_functional"], torch_kwargs=dict(g["torch_kwargs"]),
        python=Python(*g["python"]), inplace=_INPLACE.get(name), kernel=g["kernel"], derivation=g["derivation"],
        scalar=Scalar(*g["scalar"]))


def _loss(name: str, g: dict[str, Any]) -> Loss:
    return Loss(
        name, g["latex"], g["text"], g["gradient_latex"], g["gradient_text"], g["value"], g["gradient"],
        g["torch_per_sample"], torch_module=g["torch_module"], torch_functional=g["torch_functional"],
        torch_kwargs=dict(g["torch_kwargs"]), python=Python(*g["python"]), kernel=g["kernel"],
        derivation=g["derivation"], scalar=Scalar(*g["scalar"]))


def _coupled_activation(name: str, g: dict[str, Any]) -> Activation:
    """softmax: every out depends on every net, so no elementwise derivative (backward instead), never hidden."""
    return Activation(
        name, g["forward"], None, g["latex"], g["text"], "", "", torch_module=g["torch_module"],
        torch_functional=g["torch_functional"], torch_kwargs=dict(g["torch_kwargs"]), hidden_ok=False,
        backward=g["backward"], inplace=InPlace(ip.softmax, None) if name == "softmax" else None, kernel=g["kernel"])


def _combination(g: dict[str, Any]) -> Combination:
    delta = g["delta"]
    return Combination(
        g["value"], g["latex"], g["text"], g["torch_per_sample"], g["torch_module"], g["torch_functional"],
        dict(g["torch_kwargs"]), delta_latex=g["delta_latex"], delta_text=g["delta_text"],
        python=Python(*g["python"]) if g["python"] else None, kernel=g["kernel"], derivation=g["derivation"],
        distribution=g["distribution"], coupled=g["coupled"], delta_note=g["delta_note"],
        delta=None if delta is None else (lambda net, out, target: delta(net, out, target)))


def _combined_losses() -> list[Loss]:
    """The losses defined only with their output activations (cross-entropy): E_o as the first combination writes it."""
    by_loss: dict[str, dict[str, Any]] = {}
    for (loss_name, activation_name), g in _generated.COMBINATIONS.items():
        by_loss.setdefault(loss_name, {})[activation_name] = g
    return [Loss(name, next(iter(combos.values()))["latex"], next(iter(combos.values()))["text"], "", "", None, None,
                 None, combinations={a: _combination(g) for a, g in combos.items()}) for name, combos in by_loss.items()]


COMBINED = [name for name, _ in _generated.COMBINATIONS]  # the built-in losses defined with their activations only


def _in_order() -> tuple[dict[str, Activation], dict[str, Loss]]:
    acts = {name: _activation(name, g) for name, g in _generated.ACTIVATIONS.items()}
    ordered = {}
    for name, entry in acts.items():  # softmax after linear, as the deck lists them
        ordered[name] = entry
        if name == "linear":
            ordered.update({n: _coupled_activation(n, g) for n, g in _generated.COUPLED_ACTIVATIONS.items()})
    generated_losses = [_loss(name, g) for name, g in _generated.LOSSES.items()]
    losses = generated_losses[:2] + _combined_losses() + generated_losses[2:]
    return ordered, {entry.name: entry for entry in losses}


ACTIVATIONS, LOSSES = _in_order()


def register(formula: Any) -> Activation | Loss:
    """Add an entry at run time from a `formulas.ActivationFormula` or `LossFormula` (SymPy generates
    its forms now; no kernel code, so the numba backend declines it); returns the entry."""
    from stepgrad.core.symbolic import forms, formulas, generate

    kind = "activation" if isinstance(formula, formulas.ActivationFormula) else "loss"
    table: dict[str, Any] = ACTIVATIONS if kind == "activation" else LOSSES
    if formula.name in table:
        raise StepgradError(f"there is already a {kind} {formula.name!r}")
    made = forms.activation_forms(formula) if kind == "activation" else forms.loss_forms(formula)
    namespace: dict[str, Any] = {}
    # The source is generated from the formula by our own printers, never from user text.
    exec(compile(generate._HEADER + generate.function_source(formula.name, kind, made), "<stepgrad.register>", "exec"),  # noqa: S102
         namespace)
    calls = ("value", "derivative") if kind == "activation" else ("value", "gradient")
    data = {k: v for k, v in made.items() if k != "numpy"} | {c: namespace[f"{formula.name}_{c}"] for c in calls}
    data["scalar"] = (namespace[f"{formula.name}_scalar"], namespace[f"{formula.name}_scalar_derivative"])
    data["kernel"] = None
    entry = _activation(formula.name, data) if kind == "activation" else _loss(formula.name, data)
    table[formula.name] = entry
    return entry


def unregister(name: str) -> None:
    """Remove an entry added by `register` (a built-in entry cannot be removed)."""
    if name in _generated.ACTIVATIONS or name in _generated.LOSSES or name in _generated.COUPLED_ACTIVATIONS or \
            name in COMBINED:
        raise StepgradError(f"{name!r} is a built-in entry")
    ACTIVATIONS.pop(name, None)
    LOSSES.pop(name, None)


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
