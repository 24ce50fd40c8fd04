"""The check every training run ends with: each trained value a finite number, on every backend.

The step-by-step engine checks each step as it goes (engine.check_finite); the compiled and dense
backends run many steps at once, so train() and fit() call `check_trained` on what they return:
weights, biases, the optimizer's state, the outputs and the error after the last step.

    >>> from stepgrad.core.spec import builtin
    >>> from stepgrad.core import optim
    >>> net = builtin()
    >>> net.biases[1][0] = float("inf")
    >>> check_trained(net, optim.state_of(net, "sgd"), 7)
    Traceback (most recent call last):
    ...
    stepgrad.core.errors.DivergenceError: training diverged by iteration 7: b2 is not a finite number (overflow or NaN; ...)
"""

from __future__ import annotations

import numpy as np

from stepgrad.core import names as quantity
from stepgrad.core.errors import DivergenceError
from stepgrad.core.names import layout
from stepgrad.core.optim import OptimizerState
from stepgrad.core.spec import Network


def not_finite(net: Network, state: OptimizerState, outputs: np.ndarray | None = None,
               error: float | None = None) -> list[str]:
    """Names of the trained values that are not finite numbers, parameters first."""
    names = layout(net.layers, net.shared_biases)  # type: ignore[arg-type]
    found = [names.weights[l][j][i] for l, w in enumerate(net.weights) for j, i in np.argwhere(~np.isfinite(w))]
    found += [names.biases[l][j] for l, b in enumerate(net.biases) for (j,) in np.argwhere(~np.isfinite(b))]
    found += [f"the optimizer's {slot} state" for slot, arrays in state.slots.items()
              if not all(np.isfinite(a).all() for a in arrays)]
    if outputs is not None:
        found += [quantity.out(o) for k, o in enumerate(names.neurons[-1]) if not np.isfinite(outputs[:, k]).all()]
    if error is not None and not np.isfinite(error):
        found.append(quantity.TOTAL)
    return found


def check_trained(net: Network, state: OptimizerState, iteration: int, outputs: np.ndarray | None = None,
                  error: float | None = None) -> None:
    """DivergenceError naming `iteration` and the first value of `net`, `state`, `outputs` or `error`
    that overflowed or is NaN."""
    found = not_finite(net, state, outputs, error)
    if found:
        raise DivergenceError(f"training diverged by iteration {iteration}: {found[0]} is not a finite number "
                              f"(overflow or NaN; try a smaller learning_rate, now {net.learning_rate})")
