"""Save a network and read it back: the spec with its trained weights, where training stopped and
the error history, as TOML or JSON (the file's extension picks), written atomically.

    >>> history = stepgrad.train(stepgrad.builtin(), 5000)
    >>> stepgrad.save(history.network, "trained.toml", history=history)
    >>> stepgrad.load("trained.toml").training.iterations
    5000

A saved file is an ordinary spec (any command reads it) with these keys added (format_version 1):

    format_version = 1
    update_order = "sequential"        # the order training used, so a resumed run continues it
    [training]                         # the state training needs to continue exactly
    iterations = 5000                  # `stepgrad train trained.toml -n M` resumes from here
    epochs = 3                         # data-set runs only
    [training.optimizer]               # momentum's or Adam's state (name, hyper, t, slots)
    [history]                          # E_total before each recorded iteration (all runs so far)
    iteration = [0, 50, ...]
    E_total = [0.298371109..., ...]

Floats are written with Python's shortest round-trip repr, so every float64 reads back bit for bit.
numpy arrays in the training state are written as (nested) lists of numbers. spec.py owns this
schema (it reads and checks every key, `[training]` as a typed TrainingState); this module writes it.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from stepgrad.core.errors import StepgradError
from stepgrad.core.files import write_atomic
from stepgrad.core.spec import FORMAT_VERSION, Network, load

__all__ = ["dumps", "load", "save", "saved_dict", "write_atomic"]


class RunHistory(Protocol):
    """What saving reads of a training run (a `stepgrad.History`, which lives in the layer above):
    the iterations done before it, and E_total at each recorded iteration."""

    start: int
    recorded: list[int]
    errors: list[float]


def save(network: Network, path: str | os.PathLike, history: RunHistory | None = None) -> None:
    """Write `network` (weights, training state, error history) to a .toml or .json file, atomically."""
    fmt = "json" if Path(path).suffix.lower() == ".json" else "toml"
    write_atomic(path, dumps(network, fmt, history))


def dumps(network: Network, fmt: str = "toml", history: RunHistory | None = None) -> str:
    """The saved-network text in `fmt` ("toml" or "json")."""
    data = saved_dict(network, history)
    if fmt == "json":
        return compact_arrays(json.dumps(data, indent=2, allow_nan=False)) + "\n"
    import tomli_w

    return compact_arrays(tomli_w.dumps(data))


# An array of numbers (or booleans, or plain strings) as the writers print it: one item per line.
_SCALAR = r'(?:-?[\d.]+(?:[eE][-+]?\d+)?|true|false|"[\w .+-]*")'
_ARRAY = re.compile(r"\[\n((?:[ \t]+" + _SCALAR + r",?\n)+)([ \t]*)\]")
PER_LINE = 32  # a longer array of numbers (an error history) wraps at WRAP characters
WRAP = 96


def compact_arrays(text: str) -> str:
    """Arrays of numbers on one line each, so a weight matrix reads a row per line (TOML or JSON as
    written by tomli_w / json.dumps with an indent); a long one (an error history) wraps.

        >>> print(compact_arrays('w = [\\n    [\\n        0.1,\\n        -0.2,\\n    ],\\n]'))
        w = [
            [0.1, -0.2],
        ]
    """

    def one_line(m: re.Match) -> str:
        items = [x.strip().rstrip(",") for x in m.group(1).splitlines()]
        indent = m.group(2)
        if len(items) <= PER_LINE:
            return "[" + ", ".join(items) + "]"
        rows = [[items[0]]]
        for item in items[1:]:  # lines of at most WRAP characters
            if len(", ".join(rows[-1] + [item])) > WRAP:
                rows.append([])
            rows[-1].append(item)
        comma = "" if json_style else ","  # TOML allows a trailing comma, JSON does not
        return "[\n" + ",\n".join(indent + "  " + ", ".join(r) for r in rows) + comma + "\n" + indent + "]"

    json_style = text.lstrip().startswith("{")

    return _ARRAY.sub(one_line, text)


def saved_dict(network: Network, history: RunHistory | None = None) -> dict[str, Any]:
    """The saved schema as plain data: the spec, `format_version`, `training` and `history`."""
    data = network.to_dict()
    data.pop("format_version", None)
    data = {"format_version": FORMAT_VERSION, **data}
    if network.training is not None and network.training.update_order is not None:
        data["update_order"] = network.training.update_order
    points = _merged_history(network.extra.get("history"), history)
    if points is not None:
        data["history"] = points
    return _plain(data, "")


def _merged_history(previous: Any, history: RunHistory | None) -> dict[str, list] | None:
    """Earlier runs' points (before this run's start) followed by this run's."""
    if history is None:
        return previous
    iterations: list[int] = []
    errors: list[float] = []
    if isinstance(previous, dict):
        for i, e in zip(previous.get("iteration", []), previous.get("E_total", [])):
            if i < history.start:
                iterations.append(int(i))
                errors.append(float(e))
    iterations += [int(i) for i in history.recorded]
    errors += [float(e) for e in history.errors]
    return {"iteration": iterations, "E_total": errors}


def _plain(value: Any, where: str) -> Any:
    """numpy arrays and scalars to lists, ints and floats; refuse what TOML/JSON cannot hold exactly."""
    if isinstance(value, dict):
        return {str(k): _plain(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, where) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist(), where)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if not math.isfinite(number):
            raise StepgradError(f"cannot save {number}: not a finite number", where=where or "network")
        return number
    if isinstance(value, str):
        return value
    raise StepgradError(f"cannot save a value of type {type(value).__name__}", where=where or "network")
