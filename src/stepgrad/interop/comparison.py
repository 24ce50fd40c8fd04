"""What compare_with_torch returns (Comparison, one ParameterDiff per parameter) and stepgrad's losses written in torch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def torch_loss(loss: str, activation: str, logits: Any, output: Any, targets: Any) -> Any:
    """stepgrad's batch loss written in torch: the mean over samples of each sample's loss.

    `logits` are the output layer's net values, `output` its activations (`activation` applied).
    """
    return torch_sample_losses(loss, activation, logits, output, targets).mean()


def torch_sample_losses(loss: str, activation: str, logits: Any, output: Any, targets: Any) -> Any:
    """Each sample's E_total in torch, from the registry's PyTorch form of `loss` after `activation` outputs.

    A combined form (softmax + cross-entropy ...) reads the logits, the others the outputs.
    """
    from stepgrad.core.functions import loss as loss_entry

    entry = loss_entry(loss)
    combined = entry.combination(activation)
    if combined is not None:  # e.g. nn.CrossEntropyLoss with probability targets, from the logits
        return combined.torch()(logits, targets)
    if entry.torch is None:
        raise ValueError(f"no torch form of {loss} with {activation} outputs")
    return entry.torch()(output, targets)


@dataclass(frozen=True)
class ParameterDiff:
    """stepgrad vs autograd for one PyTorch parameter: largest differences of gradient and new value.

    Relative differences are |stepgrad - torch| / max(|torch|, 1e-6), largest over the tensor's entries (computed
    in float32: over the tensor's largest entry, the precision a float32 sum of many terms keeps).
    status: "trained" (gradients and new values compared), "fixed" (a bias neither trains: its value
    after the step compared, no gradient), "unused" (a parameter forward() never reads: torch's step
    left it as it was, and stepgrad has nothing of it), "running" (a batchnorm's running statistic, a buffer: its
    value after the step compared).
    """

    parameter: str  # the state_dict name, e.g. "0.weight"
    names: tuple[str, ...]  # stepgrad's names of its entries (w1, w2, ...), row by row
    gradient_abs: float
    gradient_rel: float
    updated_abs: float
    updated_rel: float
    status: str = "trained"


@dataclass(frozen=True)
class Comparison:
    """The result of `compare_with_torch`: the losses, one ParameterDiff per parameter of the model, and the
    parameters it could not compare (then it never agrees)."""

    loss_stepgrad: float
    loss_torch: float
    parameters: tuple[ParameterDiff, ...]
    uncompared: tuple[str, ...] = ()  # "name: why", for each parameter not accounted for
    dtype: str = "float64"  # the model's own parameters' dtype
    computed_in: str = "float64"  # both sides' arithmetic (compare_with_torch's dtype)

    @property
    def tolerance(self) -> float:
        """The relative difference `agrees()` allows by default: 1e-9 in float64; in float32 1e-6 of each tensor's
        largest entry (16 float32 units in the last place)."""
        return 1e-9 if self.computed_in == "float64" else 1e-6

    @property
    def max_rel(self) -> float:
        """Largest relative difference over every gradient and updated value."""
        return max((max(p.gradient_rel, p.updated_rel) for p in self.parameters), default=0.0)

    def agrees(self, tolerance: float | None = None) -> bool:
        """True when every parameter was compared and every relative difference (and the loss's) is within `tolerance`
        (default: `self.tolerance`)."""
        tolerance = self.tolerance if tolerance is None else tolerance
        loss_rel = abs(self.loss_stepgrad - self.loss_torch) / max(abs(self.loss_torch), 1e-6)
        return not self.uncompared and self.max_rel <= tolerance and loss_rel <= tolerance

    def __str__(self) -> str:
        width = max([12] + [len(p.parameter) for p in self.parameters])
        rows = [f"loss: stepgrad {self.loss_stepgrad!r}, torch {self.loss_torch!r}",
                f"{'parameter':<{width}} {'stepgrad names':<20} {'grad abs':>10} {'grad rel':>10} "
                f"{'new abs':>10} {'new rel':>10}"]
        for p in self.parameters:
            names = (p.names[0] + (f"..{p.names[-1]}" if len(p.names) > 1 else "")) if p.names else "-"
            if p.status == "trained":
                grads = f"{p.gradient_abs:>10.2e} {p.gradient_rel:>10.2e}"
            else:
                grads = f"{'-':>10} {'-':>10}"
            note = {"trained": "", "fixed": "  (fixed: not trained)", "unused": "  (not used by forward)",
                    "running": "  (running statistic)"}[p.status]
            rows.append(f"{p.parameter:<{width}} {names:<20} {grads} {p.updated_abs:>10.2e} {p.updated_rel:>10.2e}{note}")
        for why in self.uncompared:
            rows.append(f"NOT COMPARED {why}")
        verdict = "agrees" if self.agrees() else "DISAGREES"
        if self.uncompared:
            verdict = f"DISAGREES: {len(self.uncompared)} parameter(s) not compared,"
        rows.append(f"largest relative difference: {self.max_rel:.2e} ({verdict} within {f'{self.tolerance:.0e}'.replace('e-0', 'e-')})")
        if self.computed_in != "float64":
            rows.append(f"both computed in {self.computed_in} (torch on a {self.computed_in} copy): the differences are "
                        f"{self.computed_in} rounding")
        elif self.dtype != "float64":
            rows.append(f"both computed in float64 (torch on a float64 copy); the {self.dtype} model's own step "
                        f"differs by {self.dtype} rounding")
        return "\n".join(rows)


def _diff(ours: np.ndarray, theirs: np.ndarray, dtype: str = "float64") -> tuple[float, float]:
    gap = np.abs(ours - theirs)
    floor = 1e-6
    if dtype != "float64":  # a float32 sum of many terms keeps its absolute precision only: relative to the tensor
        floor = max(floor, float(np.abs(theirs).max(initial=0.0)))
    return float(gap.max(initial=0.0)), float((gap / np.maximum(np.abs(theirs), floor)).max(initial=0.0))
