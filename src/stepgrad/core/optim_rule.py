"""An optimizer's registry entry: its rules (one formula per quantity) and the update it computes.

A rule may hold only under a condition on the hyperparameters and the step number (`when`): torch's
SGD starts its velocity as the first gradient, RMSprop has a centered and a momentum form. An
explanation shows the rules that apply to the step it explains, so every formula shown is the one
computed, in mathematics (never a conditional written as code).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Array = np.ndarray
Quantities = dict[str, Array]
Rounder = Callable[[Array], Array]
Condition = Callable[[dict[str, float], int], bool]


@dataclass(frozen=True)
class Rule:
    """One quantity an optimizer computes per parameter: its role and its formula (LaTeX and text).

    when(hyper, t): whether the rule is the one that applies (None: always); `note` says why it does.
    """

    role: str  # "v+", "m+", "s+", "m_hat", "s_hat", ... or "p+"
    latex: str
    text: str
    when: Condition | None = None
    note: str = ""

    def applies(self, hyper: dict[str, float], t: int) -> bool:
        """Whether this rule is the one used at step t with these hyperparameters."""
        return self.when is None or bool(self.when(hyper, t))


@dataclass(frozen=True)
class Optimizer:
    """An update rule: hyperparameters (defaults), state slots, the formulas in order, and its code.

    `compute(hyper, slots, param, grad, t, lr, rounded)` returns every role's value for one parameter
    (slots: this parameter's previous state by slot name; t: the step number, 1 first), and every slot's
    new value "slot+" even when a rule leaves it as it was. `python` holds the update as Python
    statements for the pure-Python backend (names {p}, {g}, the slots {v}/{m}/{s}, the
    hyperparameters, lr and t); `kernel` is the numba kernel's branch. `once`: roles with one value for
    every parameter (NAdam's momentum schedule), shown once; `start`: a slot's value before the first
    step, a hyperparameter's name or a number (zero otherwise).
    """

    name: str
    title: str
    hyper: dict[str, float]
    slots: tuple[str, ...]
    rules: tuple[Rule, ...]
    description: str
    compute: Callable[[dict[str, float], dict[str, Array], Array, Array, int, float, Rounder], Quantities]
    python: tuple[str, ...] | None = None
    kernel: int | None = None
    learning_rate: float = 0.1  # the default for a data set (train.default_network)
    plain: bool = False  # p+ = p - eta * g: backends may fold eta into the gradient; the sequential order applies
    once: frozenset[str] = frozenset()
    start: dict[str, str | float] = field(default_factory=dict)

    def rules_at(self, hyper: dict[str, float], t: int) -> tuple[Rule, ...]:
        """The rules that apply at step t (one per role)."""
        return tuple(r for r in self.rules if r.applies(hyper, t))

    def initial(self, slot: str, hyper: dict[str, float]) -> float:
        """The slot's value before the first step."""
        value = self.start.get(slot, 0.0)
        return float(hyper[value]) if isinstance(value, str) else float(value)
