"""Conveniences that objects of the lower layers offer and higher layers implement: a trace that shows
itself in rich and Jupyter, a network that explains, trains and draws itself.

Imports run only downward (the import-linter contracts in pyproject.toml), so `Trace.__rich__` cannot
import the text writer, nor `Network.explain` the trace builder. Instead each such method calls a hook
by name, and the package that owns the implementation plugs it in when it is imported, in its
`__init__`: `stepgrad.formats` the displays of a trace, a training history and a matrix view,
`stepgrad.pictures` the network's diagram, `stepgrad.tracing` and `stepgrad.training` the network's
`explain()` and `train()`. `import stepgrad` imports all of them (so does importing any module of
stepgrad, whose parent package is the facade), so every hook is plugged in before it can be called.

    >>> from stepgrad.core import hooks
    >>> hooks.call("trace.markdown", stepgrad.explain(stepgrad.builtin())).startswith("# ")
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# hook name -> what it returns; a name not listed here cannot be plugged in or called (no typos)
HOOKS = {
    "trace.rich": "the trace as a rich renderable (Trace.__rich__)",
    "trace.html": "the trace as an HTML fragment (Trace._repr_html_)",
    "trace.markdown": "the trace as Markdown (Trace._repr_markdown_)",
    "history.html": "a training history as an HTML fragment (History._repr_html_)",
    "matrix.html": "a matrix view as HTML tables (MatrixView._repr_html_)",
    "network.svg": "the network's diagram as SVG (Network._repr_svg_)",
    "network.explain": "the trace of one training step (Network.explain)",
    "network.train": "a training run (Network.train)",
}

_plugged: dict[str, Callable[..., Any]] = {}


def plug(name: str, implementation: Callable[..., Any]) -> None:
    """Make `implementation` the one that hook `name` (a key of HOOKS) calls."""
    if name not in HOOKS:
        raise KeyError(f"no hook named {name!r}; the hooks are {', '.join(HOOKS)}")
    _plugged[name] = implementation


def call(name: str, *args: Any, **kwargs: Any) -> Any:
    """What the implementation plugged in for hook `name` returns for these arguments."""
    implementation = _plugged.get(name)
    if implementation is None:  # only while stepgrad's own __init__ is still importing
        raise RuntimeError(f"{HOOKS[name]} is not plugged in yet: import stepgrad first")
    return implementation(*args, **kwargs)
