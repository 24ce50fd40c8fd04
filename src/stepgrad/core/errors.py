"""Errors a user can cause. Each carries one clear line and the exit status 2.

Whatever a file or request put into the message (a key with a newline or a terminal escape, a
lone surrogate) is shown escaped, so the error stays one harmless line:

    >>> str(StepgradError("unknown key 'a\\x1b[2Jb\\nc'", where="net.toml"))
    "net.toml: unknown key 'a\\\\x1b[2Jb\\\\nc'"
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def printable(text: str) -> str:
    """`text` with control characters and lone surrogates written as escapes (\\n, \\x1b, \\ud800)."""
    return _UNSAFE.sub(lambda m: repr(m.group())[1:-1] if m.group() != "'" else m.group(), text)


class StepgradError(Exception):
    """A problem with what the user gave us (a file, an option, a value): shown as one line, exit 2."""

    exit_code = 2

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.message = printable(message)
        self.where = None if where is None else printable(where)
        super().__init__(f"{self.where}: {self.message}" if self.where else self.message)


class SpecError(StepgradError):
    """A network spec that cannot be used; `where` names the file and key."""


class DataError(StepgradError):
    """Training data that cannot be used; `where` names the file and row."""


class DivergenceError(StepgradError):
    """Training produced an overflow or NaN; the message says at which iteration and where."""


class NotLearning(StepgradError):
    """`train --strict`: the run finished but learned nothing (a flat error, dead or saturated neurons,
    divergence). Exit status 1; `output` is the report, still shown before the line."""

    exit_code = 1

    def __init__(self, message: str, *, output: str = "") -> None:
        super().__init__(message)
        self.output = output
