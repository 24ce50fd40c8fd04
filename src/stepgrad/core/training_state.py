"""Where training stopped: the typed `Network.training` record a saved network carries to resume exactly.

    >>> from stepgrad import builtin, train
    >>> TrainingState.of(train(builtin(), 100).network).iterations
    100
    >>> TrainingState.of(builtin())            # never trained: the start
    TrainingState(iterations=0, update_order=None, epochs=None, optimizer=None)

train() and fit() write it (`finished`), they and the optimizers read it (`of`); the spec reads and
writes it as the `[training]` table of the saved-file schema (spec.py owns that schema).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from stepgrad.core.errors import SpecError

UPDATE_ORDERS = ("synchronous", "sequential")  # spec.UPDATE_ORDERS: how a step updates the layers
KEYS = ("iterations", "update_order", "epochs", "optimizer")


@dataclass(frozen=True)
class TrainingState:
    """Iterations (and data-set epochs) done so far, the update order used, and the optimizer's state."""

    iterations: int = 0
    update_order: str | None = None  # the order the last run used (None: never said)
    epochs: int | None = None  # data-set runs (fit) count epochs; full-batch runs leave it out
    optimizer: dict[str, Any] | None = None  # optim.OptimizerState.to_dict(); None for sgd

    @staticmethod
    def of(net: Any) -> TrainingState:
        """`net`'s training state, or the state of a network never trained."""
        return net.training if net.training is not None else TrainingState()

    @staticmethod
    def finished(net: Any, state: TrainingState) -> None:
        """Record on `net` (a trained copy) where its training stopped."""
        net.training = state

    def to_dict(self) -> dict[str, Any]:
        """The `[training]` table: plain data, only the keys that apply."""
        d: dict[str, Any] = {"iterations": self.iterations}
        if self.update_order is not None:
            d["update_order"] = self.update_order
        if self.epochs is not None:
            d["epochs"] = self.epochs
        if self.optimizer is not None:
            d["optimizer"] = copy.deepcopy(self.optimizer)
        return d

    @classmethod
    def from_dict(cls, data: Any, source: str = "<spec>") -> TrainingState:
        """Validate a `[training]` table (SpecError naming the key) and read it."""
        where = f"{source}: training"
        if not isinstance(data, dict):
            raise SpecError("expected a table (iterations, update_order, ...)", where=where)
        for key in data:
            if key not in KEYS:
                raise SpecError(f"unknown key {key!r} (allowed: {', '.join(KEYS)})", where=f"{where}.{key}")
        counts = {}
        for key in ("iterations", "epochs"):
            count = data.get(key, 0)
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise SpecError(f"expected a whole number >= 0, got {count!r}", where=f"{where}.{key}")
            counts[key] = count
        order = data.get("update_order")
        if order is not None and order not in UPDATE_ORDERS:
            raise SpecError(f"expected synchronous or sequential, got {order!r}", where=f"{where}.update_order")
        optimizer = data.get("optimizer")
        if optimizer is not None and not isinstance(optimizer, dict):
            raise SpecError("expected a table (name, hyper, t, slots)", where=f"{where}.optimizer")
        return cls(counts["iterations"], order, data.get("epochs"),
                   copy.deepcopy(optimizer))
