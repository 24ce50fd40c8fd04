"""Simulated students who round by hand: each value computed from their own earlier, rounded values.

Independent of the checker: a step's formula text (the trace's, itself tested against PyTorch and
finite differences) is evaluated here with Python's own math on the student's rounded numbers, and
rounded the way the student rounds (decimals, significant digits, or truncation), then written as
text (with or without trailing zeros). Mistakes are planted the same way: one step's value is
replaced by what the student computed wrongly, and every later step carries it on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import numpy as np

import stepgrad
from gallery import GALLERY
from stepgrad.core.spec import Network

_MATH = {"exp": math.exp, "ln": math.log, "log1p": math.log1p, "tanh": math.tanh, "sqrt": math.sqrt,
         "abs": abs, "max": max, "min": min, "cosh": math.cosh, "sinh": math.sinh, "erf": math.erf, "pi": math.pi,
         "sign": lambda x: (x > 0) - (x < 0)}


def python_formula(text: str) -> str:
    """A step's plain-text formula as a Python expression over `v` (test code: the text is the trace's)."""
    text = re.sub(r"«([^»]+)»", lambda m: f"v[{m.group(1)!r}]", text)
    return text.replace("^", "**").replace(", else", " else")  # words ("a if c, else b") to Python


def evaluate(text: str, v: dict[str, float]) -> float:
    return float(eval(python_formula(text), {"__builtins__": {}, **_MATH}, {"v": v}))  # noqa: S307


STYLES = [("decimals", 2), ("decimals", 3), ("decimals", 4), ("decimals", 6), ("significant", 3),
          ("significant", 4), ("significant", 6), ("truncate", 3), ("truncate", 4)]


def written(x: float, style: tuple[str, int], strip: bool = False) -> str:
    """x as the student writes it."""
    kind, k = style
    d = Decimal(f"{x:.15g}")  # what a calculator shows
    if kind == "decimals":
        d = d.quantize(Decimal(1).scaleb(-k), ROUND_HALF_UP)
    elif kind == "truncate":
        d = d.quantize(Decimal(1).scaleb(-k), ROUND_DOWN)
    elif d != 0:
        d = d.quantize(Decimal(1).scaleb(d.adjusted() - k + 1), ROUND_HALF_UP)
    if d == 0:
        d = abs(d)
    text = f"{d:f}"
    if strip and "." in text:
        text = text.rstrip("0").rstrip(".") or "0"
    return text


Plant = Callable[[str, dict[str, float], float], "float | None"]


def solve(net: Network, style: tuple[str, int], strip: bool = False, skip: Callable[[str], bool] = lambda n: False,
          plant: Plant | None = None, order: str | None = None) -> tuple[str, dict[str, str]]:
    """(solution text, {name: value written}) of one student; `plant(name, own, value)` may replace a
    step's value (the mistake), `skip(name)` leaves a value unwritten (computed in the calculator, unrounded)."""
    trace = stepgrad.explain(net, update_order=order or net.update_order)
    v: dict[str, float] = {}
    wrote: dict[str, str] = {}
    for step in trace:
        if not step.text:
            v[step.name] = step.value
            continue
        value = evaluate(step.text, v)
        if plant is not None:
            replaced = plant(step.name, v, value)
            value = value if replaced is None else replaced
        if skip(step.name):
            v[step.name] = value
            continue
        wrote[step.name] = written(value, style, strip)
        v[step.name] = float(wrote[step.name])
    return "\n".join(f"{n} = {x}" for n, x in wrote.items()) + "\n", wrote


def sheet_network(spec: dict) -> Network:
    """A network as an exercise sheet gives it: every weight with two decimals."""
    net = Network.from_dict(spec)
    net.weights = [np.round(w, 2) for w in net.weights]
    return net


NETWORKS: dict[str, dict] = {
    "3-4-2 tanh/softmax CE, 2 samples": GALLERY["3-4-2 tanh/softmax CE, 2 samples"],
    "2-3-3-1 relu, dead neurons": GALLERY["2-3-3-1 relu, per-neuron biases"],
    "8-6-4": GALLERY["8-6-4"],
    "3-3-2 sigmoid": {"layers": [3, 3, 2], "learning_rate": 0.5, "seed": 7,
                      "samples": [{"inputs": [0.1, -0.4, 0.7], "targets": [0.2, 0.9]}]},
    "2-2-2 batch of 2": {"layers": [2, 2, 2], "learning_rate": 0.1, "seed": 11,
                         "samples": [{"inputs": [0.05, 0.1], "targets": [0.01, 0.99]},
                                     {"inputs": [0.3, -0.2], "targets": [0.6, 0.4]}]},
    "2-3-2 tanh, two hidden ReLU": {"layers": [2, 3, 3, 2], "activations": ["tanh", "relu", "sigmoid"],
                                    "learning_rate": 0.25, "seed": 5,
                                    "samples": [{"inputs": [0.6, -0.3], "targets": [0.1, 0.8]}]},
}


def network(key: str) -> Network:
    return stepgrad.builtin() if key == "deck" else sheet_network(NETWORKS[key])


KEYS = ["deck", *NETWORKS]
