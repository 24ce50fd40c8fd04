"""Errors a user can cause. Each carries one clear line and the exit status 2."""

from __future__ import annotations


class StepgradError(Exception):
    """A problem with what the user gave us (a file, an option, a value): shown as one line, exit 2."""

    exit_code = 2

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class SpecError(StepgradError):
    """A network spec that cannot be used; `where` names the file and key."""


class DataError(StepgradError):
    """Training data that cannot be used; `where` names the file and row."""


class DivergenceError(StepgradError):
    """Training produced an overflow or NaN; the message says at which iteration and where."""
