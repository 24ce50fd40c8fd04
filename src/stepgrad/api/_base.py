"""What every job shares: the `note` callback, quiet numbers with named errors, loading a spec, target warnings."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np

from stepgrad.core.errors import StepgradError
from stepgrad.core.spec import Network, builtin, load

Note = Callable[[str], None]
Job = TypeVar("Job", bound=Callable[..., Any])


def _silent(message: str) -> None:
    """The default `note`: say nothing."""


def _quiet_numbers(job: Job) -> Job:
    """Run `job(spec, ...)` without numpy's overflow warnings: a value that overflows is reported once,
    as one error line naming it (engine.check_finite, diverge.check_trained), not as warnings before
    it; an error that names no file names the spec file."""

    @functools.wraps(job)
    def run(spec: str | None = None, *args: Any, **kwargs: Any) -> Any:
        try:
            with np.errstate(all="ignore"):
                return job(spec, *args, **kwargs)
        except StepgradError as exc:
            if exc.where is None and spec is not None and type(exc).__init__ is StepgradError.__init__:
                raise type(exc)(exc.message, where=spec) from None
            raise

    return cast(Job, run)


def load_spec(spec: str | None) -> Network:
    """The network from a spec file, or the built-in seed network when none is given."""
    return builtin() if spec is None else load(spec)


def warn_targets(net: Network, note: Note) -> None:
    from stepgrad.core.spec import target_warnings

    for warning in target_warnings(net):
        note(f"stepgrad: warning: {warning}")
