"""The work budget: how much computing one command or one web request may ask for, checked before
any work starts.

Work is counted in multiply-adds, about:

- training: samples x parameters x iterations (full-batch steps; for epochs on a data set, rows x
  parameters x epochs);
- a step-by-step derivation (explain, names, diagrams with gradients, check): every sample x
  (parameters + neurons) becomes a few recorded steps, each with its formula and numbers (about
  700 bytes and 50 microseconds), counted as TRACE_STEP multiply-adds, so that memory stays bounded.

The command line allows CLI_WORK (`--max-work N` raises it; minutes of training, or about 2 GB
of trace at the default); `stepgrad serve` allows SERVER_WORK per request (`serve --max-work N`).

    >>> from stepgrad.core.spec import builtin
    >>> train_work(builtin(), 10_000)
    100000
    >>> Budget(10**9, "--max-work").check_train(builtin(), 10**12)
    Traceback (most recent call last):
    ...
    stepgrad.core.budget.BudgetError: --max-work: training 1 samples x 10 parameters x 1,000,000,000,000 iterations ...
"""

from __future__ import annotations

from dataclasses import dataclass

from stepgrad.core.errors import StepgradError
from stepgrad.core.spec import Network

CLI_WORK = 2 * 10**11
SERVER_WORK = 2 * 10**10
TRACE_STEP = 333_334  # multiply-adds one sample x parameter of a derivation counts for (time and memory)


class BudgetError(StepgradError):
    """The work asked for is over the budget: names the budget and how to raise it."""


@dataclass(frozen=True)
class Budget:
    """A work limit in multiply-adds and the option that raises it ("--max-work")."""

    work: float = CLI_WORK
    option: str = "--max-work"

    def check(self, work: float, what: str) -> None:
        """Raise BudgetError when `work` (described by `what`) is over the limit."""
        if work > self.work:
            raise BudgetError(f"{what} is {work:.2g} multiply-adds, over the work budget of {self.work:.2g} "
                              f"(raise it with {self.option})", where=self.option)

    def check_train(self, net: Network, iterations: int, samples: int | None = None) -> None:
        """BudgetError when training `net` for `iterations` steps (or epochs over `samples` rows) is over it."""
        n = samples if samples is not None else samples_of(net)
        self.check(train_work(net, iterations, n),
                   f"training {n:,} samples x {net.parameter_count:,} parameters x {iterations:,} iterations")

    def check_trace(self, net: Network, samples: int | None = None) -> None:
        """BudgetError when deriving one step of `net` step by step is over it."""
        n = samples if samples is not None else samples_of(net)
        self.check(trace_work(net, n), f"deriving one step of {n:,} samples x {net.parameter_count:,} "
                                       f"parameters step by step")


CLI = Budget()
SERVER = Budget(SERVER_WORK, "stepgrad serve --max-work")


def samples_of(net: Network) -> int:
    """The number of samples in the spec (at least 1: a step needs one)."""
    return max(1, 0 if net.inputs is None else len(net.inputs))


def train_work(net: Network, iterations: int, samples: int | None = None) -> int:
    """Multiply-adds of `iterations` full-batch steps on `samples` rows (default: the spec's samples)."""
    return (samples if samples is not None else samples_of(net)) * net.parameter_count * iterations


def trace_work(net: Network, samples: int | None = None) -> int:
    """What a step-by-step derivation of one training step counts for."""
    size = (samples if samples is not None else samples_of(net)) * (net.parameter_count + sum(net.layers))
    return size * TRACE_STEP


def cli_budget(max_work: float | None) -> Budget:
    """The command line's budget, or `max_work` when given."""
    return CLI if max_work is None else Budget(max_work, "--max-work")
