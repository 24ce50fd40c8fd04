"""Renderers: each format is a small writer of a trace. `render(trace, "json")` returns a string.

A new format is one module with `render(trace, digits=..., **options) -> str`, listed in FORMATS.

The displays of the objects below (a trace in rich and Jupyter, a training history, a matrix view)
are plugged in here, through stepgrad.core.hooks: the objects never import their writers.

May import: stepgrad.pictures, stepgrad.tracing, stepgrad.training, stepgrad.core.
"""

from __future__ import annotations

import importlib
from typing import Any

from stepgrad.core import hooks
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


def shown(trace: Trace, only: list[str] | None = None, full: bool | None = None) -> Trace:
    """The trace as a document shows it: narrowed to `only`, and (unless `full`) each rule derived once,
    later ones referring to the first ("as for o1"; stepgrad.tracing.derive.once)."""
    from stepgrad.tracing.derive import once

    if only:
        trace = trace.select(only)
    if full:
        return Trace(trace.sections, dict(trace.meta, all=True), trace.context)
    return once(trace)


def render(trace: Trace, fmt: str = "text", digits: Precision = 9, only: list[str] | None = None,
           full: bool | None = None, **options) -> str:
    """The trace in format `fmt` (see FORMATS), at `digits` significant digits, optionally narrowed to `only`;
    `full` True shows everything in full (every derivation, every sample, every neuron)."""
    if fmt not in FORMATS:
        raise StepgradError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    try:
        module = importlib.import_module(FORMATS[fmt])
    except ModuleNotFoundError as exc:
        if exc.name == FORMATS[fmt]:
            raise StepgradError(f"the {fmt} format is not available yet") from None
        raise
    if fmt == "json":  # the data: every derivation as derived
        return module.render(trace.select(only) if only else trace, digits=digits, **options)
    if trace.meta.get("kind") == "layers":  # a layer-table network: formats/maps*.py
        return _render_layers(trace.select(only) if only else trace, fmt, digits, bool(full),
                              bool(options.get("matrix")), bool(options.get("derive")))
    return module.render(shown(trace, only, full), digits=digits, full=full, **options)


def _render_layers(trace: Trace, fmt: str, digits: Precision, full: bool, matrix: bool, derive: bool = False) -> str:
    from stepgrad.formats.maps_pages import render_html, render_latex
    from stepgrad.formats.maps_seq_slides import render_seq_slides, sequence_model
    from stepgrad.formats.maps_slides import render_slides
    from stepgrad.formats.maps_writers import render_markdown, render_text

    writers = {"text": render_text, "markdown": render_markdown, "latex": render_latex, "html": render_html,
               "slides": render_seq_slides if sequence_model(trace) else render_slides}
    if fmt not in writers:
        raise StepgradError(f"the {fmt} format does not show layer-table networks (conv2d, pooling, residual) yet; "
                            f"choose from json, {', '.join(writers)}")
    return writers[fmt](trace, digits, full=full, matrix=matrix, derive=derive)


# -- displays plugged into the objects of the lower layers (each writer imported on first use) ----
def _trace_rich(trace: Trace) -> Any:
    from stepgrad.formats.text import rich_renderable

    return rich_renderable(trace)


def _trace_html(trace: Trace) -> str:
    from stepgrad.formats.html import body

    return body(trace)


def _history_html(history: Any) -> str:
    from stepgrad.formats.html import history_html

    return history_html(history)


def _matrix_html(view: Any) -> str:
    from stepgrad.formats.matrix_writers import fragment

    return fragment(view)


hooks.plug("trace.rich", _trace_rich)
hooks.plug("trace.html", _trace_html)
hooks.plug("trace.markdown", lambda trace: render(trace, "markdown"))
hooks.plug("history.html", _history_html)
hooks.plug("matrix.html", _matrix_html)
