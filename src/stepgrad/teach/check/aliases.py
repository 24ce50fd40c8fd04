"""The notations students write for stepgrad's names: δ_o1, delta_o1, d_o1, w5_new, w5', ∂E/∂w5, LaTeX.

    >>> known = {"dE_o1/dnet_o1", "dE_total/dw5", "w5+", "E_total+", "dE_total/dnet_h1[2]"}
    >>> [canonical(n, known) for n in ["δ_o1", "delta_o1", "d_o1", "w5_new", "w5'", "∂E_total/∂w5", "dE/dw5",
    ...                                "\\\\frac{\\\\partial E}{\\\\partial w_5}", "δ_h1[2]", "E_total_new"]]
    ['dE_o1/dnet_o1', 'dE_o1/dnet_o1', 'dE_o1/dnet_o1', 'w5+', 'w5+', 'dE_total/dw5', 'dE_total/dw5',
     'dE_total/dw5', 'dE_total/dnet_h1[2]', 'E_total+']

A name is only read as another when the result is a name of this network's step (`known`), so an
alias never hides a typo: what cannot be read stays unknown, with the checker's "did you mean".
"""

from __future__ import annotations

import re
from dataclasses import replace

from stepgrad.core import names
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


def canonical(written: str, known: set[str] | dict) -> str | None:
    """The network's name for `written` (itself when known), or None when no reading is a known name."""
    if written in known:
        return written
    plain = _plain(written)
    for candidate in _candidates(plain):
        if candidate in known:
            return candidate
    return None


def read(solution: Solution, known: dict[str, float]) -> tuple[Solution, dict[str, str]]:
    """The solution with the notations students use read as the network's names (aliases.py), and
    {written: read as} for the report; a name already given in the network's own notation is kept as written."""
    taken = {g.name for g in solution if g.name in known} | {n for n, _ in solution.unanswered if n in known}
    read_as: dict[str, str] = {}

    def rename(name: str) -> str:
        found = canonical(name, known)
        if found is None or found == name or found in taken:
            return name
        taken.add(found)
        read_as[name] = found
        return found

    answers = tuple(replace(g, name=rename(g.name)) for g in solution.answers)
    blank = tuple((rename(n), line) for n, line in solution.unanswered)
    if not read_as:
        return solution, {}
    return Solution(solution.source, answers, blank, solution.problems), read_as
