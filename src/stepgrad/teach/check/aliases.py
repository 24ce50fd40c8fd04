"""The notations students write for stepgrad's names: δ_o1, delta_o1, d_o1, w5_new, w5', ∂E/∂w5, LaTeX.

    >>> known = {"dE_o1/dnet_o1", "dE_total/dw5", "w5+", "E_total+", "dE_total[2]/dnet_h1[2]"}
    >>> [canonical(n, known) for n in ["δ_o1", "delta_o1", "d_o1", "w5_new", "w5'", "∂E_total/∂w5", "dE/dw5",
    ...                                "\\\\frac{\\\\partial E}{\\\\partial w_5}", "δ_h1[2]", "E_total_new"]]
    ['dE_o1/dnet_o1', 'dE_o1/dnet_o1', 'dE_o1/dnet_o1', 'w5+', 'w5+', 'dE_total/dw5', 'dE_total/dw5',
     'dE_total/dw5', 'dE_total[2]/dnet_h1[2]', 'E_total+']

A name is only read as another when the result is a name of this network's step (`known`), so an
alias never hides a typo: what cannot be read stays unknown, with the checker's "did you mean".

Old per-sample names, from before each side of a derivative carried its sample (`dout_o1/dnet_o1[2]`,
`dE_total/dw5[2]`), are read as the names they stood for (`dout_o1[2]/dnet_o1[2]`, `dE_total[2]/dw5`):
they can mean nothing else. One old form is also a true name today: `dE_total/dout_o1[2]` is the batch
error's derivative with respect to sample 2's out_o1, `batch_scale` (1/N for the mean over N samples)
times sample 2's own `dE_total[2]/dout_o1[2]`. It is read as the old name only when its value is
sample 2's own derivative (nearer to it than to the batch's); otherwise it is judged as what it says.

    >>> read_old = {"dE_total[2]/dout_o1[2]": 0.6}
    >>> [reading(n, v, read_old, scale=0.5) for n, v in [("dE_total/dout_o1[2]", 0.6), ("dE_total/dout_o1[2]", 0.3)]]
    ['dE_total[2]/dout_o1[2]', None]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from stepgrad.core import names
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.spec import Network
from stepgrad.teach.check.solution import Solution

_DELTA = re.compile(r"(?:δ|delta|d|\\delta)_?\{?([iho]\d+(?:_\d+)?)\}?")
_UPDATED = ("_new", "'", "^+", "^{+}", "(new)", "^new", "_neu")


def _plain(name: str) -> str:
    """LaTeX and typography taken off: ∂ -> d, \\frac{\\partial E}{\\partial w_5} -> dE/dw5, w_{5} -> w5, $ gone."""
    name = name.replace("$", "").replace("−", "-").replace(" ", "")
    name = re.sub(r"_\{([^{}]*)\}", r"_\1", name)  # w_{5} -> w_5, E_{total} -> E_total
    name = name.replace("\\partial", "d").replace("∂", "d")
    name = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"\1/\2", name)
    return re.sub(r"w_(\d+)", r"w\1", name)  # w_5 -> w5


def _split_sample(name: str) -> tuple[str, int | None]:
    """("δ_h1", 2) for "δ_h1[2]"; (name, None) without a sample."""
    base, bracket, rest = name.rpartition("[")
    if bracket and rest.endswith("]") and rest[:-1].isdigit():
        return base, int(rest[:-1])
    return name, None


def _candidates(name: str) -> list[str]:
    """Readings of a written name, most literal first (every name built by stepgrad.core.names)."""
    found = [name]
    base, sample = _split_sample(name)
    for suffix in _UPDATED:
        if base.endswith(suffix):
            found.append(names.at(names.updated(base[: -len(suffix)]), sample))
    parts = base.split("/")
    if len(parts) == 2 and parts[0] in ("dE", "dE_tot") and parts[1].startswith("d"):
        found.append(names.partial(names.error(), parts[1][1:], sample))
    m = _DELTA.fullmatch(base)
    if m:
        neuron = m.group(1)
        found += [names.partial(names.error(), names.net(neuron), sample),
                  names.partial(names.error(neuron), names.net(neuron), sample)]
    return found


def batch_scale(net: Network | LayerNetwork) -> float:
    """dE_total/dX[k] over dE_total[k]/dX[k]: 1/N when the batch error is the mean of N samples' errors, else 1."""
    inputs, _ = net.require_samples()
    samples = len(inputs)
    return 1.0 / samples if net.reduction == "mean" and samples > 1 else 1.0


def reading(written: str, value: float | None, known: Mapping[str, float], scale: float = 1.0) -> str | None:
    """The network's name for `written` with value `value`: canonical(), or the name an old per-sample name
    stood for (unless it is the batch error's derivative and `value` says so); None when neither is known."""
    found = canonical(written, known)
    if found is not None:
        return found
    old = names.legacy(_plain(written))
    if old is None or old not in known:
        return None
    if names.is_name(_plain(written)) and value is not None and scale != 1.0:  # also a true name today
        own = known[old]
        if abs(value - own * scale) < abs(value - own):
            return None  # the batch error's derivative, judged as written
    return old


def canonical(written: str, known: set[str] | Mapping[str, float]) -> str | None:
    """The network's name for `written` (itself when known), or None when no reading is a known name."""
    if written in known:
        return written
    plain = _plain(written)
    for candidate in _candidates(plain):
        if candidate in known:
            return candidate
    return None


def read(solution: Solution, known: dict[str, float], scale: float = 1.0) -> tuple[Solution, dict[str, str]]:
    """The solution with the notations students use read as the network's names (aliases.py), and
    {written: read as} for the report; a name already given in the network's own notation is kept as written.
    `scale`: batch_scale() of the network (tells an old per-sample name from the batch error's derivative)."""
    taken = {g.name for g in solution if g.name in known} | {n for n, _ in solution.unanswered if n in known}
    read_as: dict[str, str] = {}

    def rename(name: str, value: float | None = None) -> str:
        found = reading(name, value, known, scale)
        if found is None or found == name or found in taken:
            return name
        taken.add(found)
        read_as[name] = found
        return found

    answers = tuple(replace(g, name=rename(g.name, g.value)) for g in solution.answers)
    blank = tuple((rename(n), line) for n, line in solution.unanswered)
    if not read_as:
        return solution, {}
    return Solution(solution.source, answers, blank, solution.problems), read_as
