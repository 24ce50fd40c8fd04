"""Renderers: each format is a small writer of a trace. `render(trace, "json")` returns a string.

A new format is one module with `render(trace, digits=..., **options) -> str`, listed in FORMATS.
"""

from __future__ import annotations

import importlib

from stepgrad.core.errors import StepgradError
from stepgrad.core.trace import Trace
from stepgrad.formats.formula import Precision

FORMATS = {
    "text": "stepgrad.formats.text",
    "json": "stepgrad.formats.json_format",
    "markdown": "stepgrad.formats.markdown",
    "latex": "stepgrad.formats.latex",
    "slides": "stepgrad.formats.slides",
    "html": "stepgrad.formats.html",
}


def render(trace: Trace, fmt: str = "text", digits: Precision = 9, only: list[str] | None = None, **options) -> str:
    """The trace in format `fmt` (see FORMATS), at `digits` significant digits, optionally narrowed to `only`."""
    if fmt not in FORMATS:
        raise StepgradError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    try:
        module = importlib.import_module(FORMATS[fmt])
    except ModuleNotFoundError as exc:
        if exc.name == FORMATS[fmt]:
            raise StepgradError(f"the {fmt} format is not available yet") from None
        raise
    if only:
        trace = trace.select(only)
    return module.render(trace, digits=digits, **options)
