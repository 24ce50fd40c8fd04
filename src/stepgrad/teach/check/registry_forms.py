"""The registry's formulas as the checker's calculator sees them: a text template and the entry's own function.

A step whose plain text is an activation's or a loss's template, filled («net» -> «net_h1»), is evaluated
by calling the registry entry (its value, derivative or gradient) on the values of its operands: the
calculator needs no grammar for the function, whatever notation the template prints it in. This module
is the one place that knows how the entries' callables are shaped (numpy arrays in, arrays out).

    >>> form = next(f for f in forms() if f.name == "leaky_relu.value")
    >>> form.roles, form.function(net=-2.0)
    (('net',), -0.02)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from stepgrad.core.functions import ACTIVATIONS, LOSSES, Activation, Loss
from stepgrad.core.trace import SLOT

ROLES = ("net", "out", "target", "n")  # the slots a form may have; «sum_exp» (softmax's sum) is left to the grammar


@dataclass(frozen=True)
class Form:
    """One registry formula: `function(*role values)` is the value of `template` with its «role» slots filled."""

    name: str  # "leaky_relu.value", "huber.gradient"
    template: str
    roles: tuple[str, ...]  # the roles in the template, in the order `function` takes them
    function: Callable[..., float]  # called with the roles as keywords (others ignored): function(net=0.3)


def _scalar(values: np.ndarray) -> float:
    return float(np.asarray(values).reshape(-1)[0])


def _activation_forms(entry: Activation) -> list[Form]:
    if entry.derivative is None:  # coupled (softmax): its template spells the sum out, the grammar reads it
        return []
    forward, derivative = entry.forward, entry.derivative

    def value(net: float = np.nan, **_: float) -> float:
        return _scalar(forward(np.array([net])))

    def slope(net: float = np.nan, out: float = np.nan, **_: float) -> float:  # a template may name only one
        return _scalar(derivative(np.array([net]), np.array([out])))

    return [_form(f"{entry.name}.value", entry.text, value),
            _form(f"{entry.name}.derivative", entry.derivative_text, slope)]


def _loss_forms(entry: Loss) -> list[Form]:
    if entry.value is None or entry.gradient is None:  # a combination's value is of net: the grammar reads its text
        return []
    functions = {"value": entry.value, "gradient": entry.gradient}

    def of(kind: str) -> Callable[..., float]:
        def function(out: float = np.nan, target: float = np.nan, n: float = 1.0, **_: float) -> float:
            count = max(1, int(n))  # a loss that divides by the number of outputs reads it from the shape
            return _scalar(functions[kind](np.full(count, out), np.full(count, target)))

        return function

    return [_form(f"{entry.name}.value", entry.text, of("value")),
            _form(f"{entry.name}.gradient", entry.gradient_text, of("gradient"))]


def _form(name: str, template: str, function: Callable[..., float]) -> Form:
    roles = tuple(dict.fromkeys(SLOT.findall(template)))
    return Form(name, template, roles, function)


_PROBES = (-2.5, -0.6, -0.01, 0.02, 0.7, 3.0)


def _depends_only_on_its_roles(form: Form) -> bool:
    """Whether the function ignores every role its template does not name (tanh's derivative names only
    «out»; a function that needs the other too cannot be called from the template's operands)."""
    absent = [r for r in ("net", "out", "target", "n") if r not in form.roles]
    with np.errstate(all="ignore"):
        for x in _PROBES:
            for y in _PROBES:
                shown = dict(zip(form.roles, (x, y, abs(x) + 1)))
                seen = {repr(form.function(**shown, **{r: v if r != "n" else abs(v) + 1 for r in absent}))
                        for v in (-0.8, 1.7)}
                if len(seen) > 1:
                    return False
    return True


def forms() -> list[Form]:
    """Every registry formula the calculator evaluates by calling its entry: one that names at least one
    quantity and is more than a bare quantity («net»), with no role beyond ROLES and no hidden operand."""
    out = [f for entry in ACTIVATIONS.values() for f in _activation_forms(entry)]
    out += [f for entry in LOSSES.values() for f in _loss_forms(entry)]
    return [f for f in out if f.roles and set(f.roles) <= set(ROLES) and SLOT.fullmatch(f.template.strip()) is None
            and _depends_only_on_its_roles(f)]


def registry_key() -> tuple[int, ...]:
    """Changes whenever an entry is added, removed or replaced (the calculator's cache follows it)."""
    return tuple(map(id, ACTIVATIONS.values())) + (0,) + tuple(map(id, LOSSES.values()))
