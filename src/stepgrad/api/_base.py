"""What every job shares: the `note` callback, quiet numbers with named errors, loading a spec, target warnings."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

import numpy as np

from stepgrad.core.errors import StepgradError
from stepgrad.core.spec import Network, builtin, load

if TYPE_CHECKING:
    from stepgrad.core.layers.spec import LayerNetwork

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


@overload
def load_spec(spec: str | None) -> Network: ...
@overload
def load_spec(spec: str | None, layer_tables: bool) -> Network | LayerNetwork: ...


def load_spec(spec: str | None, layer_tables: bool = False) -> Network | LayerNetwork:
    """The network from a spec file, or the built-in seed network when none is given. With `layer_tables`
    (a job that reads them), a spec whose layers hold tables is a LayerNetwork; otherwise it is refused."""
    if spec is None:
        return builtin()
    if layer_tables:
        from stepgrad.core.layers.spec import load_any

        return load_any(spec)
    return load(spec)


def warn_targets(net: Network, note: Note) -> None:
    from stepgrad.core.spec import target_warnings

    for warning in target_warnings(net):
        note(f"stepgrad: warning: {warning}")


def quiz_files(files: dict[str, str] | dict[str, bytes], folder: Any, note: Note) -> str:
    """A quiz's files (name -> text or zip bytes): returned as text when there is no folder (one text file only),
    else written atomically into `folder` (sub-folders made) and named in one note."""
    from stepgrad.core.files import write_atomic

    if folder is None:
        if len(files) != 1 or any(isinstance(data, bytes) for data in files.values()):
            raise StepgradError("a QTI quiz is a zip file (one per student): add -o DIR", where="--format qti")
        return str(next(iter(files.values())))
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / name, data)
    shown = sorted({str(folder / name.split("/")[0]) + ("/" if "/" in name else "") for name in files})
    note(f"wrote {', '.join(shown)}")
    return ""

