"""Parameters a step holds fixed (`update_weights = [true, false]`, a frozen PyTorch parameter): their new value
is their old one, said in one sentence per update section, while their gradients stay the true derivatives.

    >>> net = stepgrad.loads('''
    ... layers = [2, 2, 2]
    ... update_weights = [true, false]
    ... samples = [{inputs = [0.05, 0.1], targets = [0.01, 0.99]}]
    ... ''')
    >>> held_sentences(net, [0, 1])
    ['w5..w8 are held fixed (update_weights = [true, false]): w5+ = w5 and so on; their gradients are shown all the same.']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stepgrad.core import names
from stepgrad.core.spec import Network
from stepgrad.core.trace import Step

NOTE = "held fixed: it does not train"


def held_step(make: Callable[..., Step], parameter: str, value: float) -> Step:
    """The update step `w5+ = w5` of a parameter that does not train (`make`: the builder's step maker)."""
    return make(names.updated(parameter), value, "update", f"«{parameter}»", f"«{parameter}»", (parameter,),
                subject=parameter, note=NOTE)


def held_tensors(net: Network, layers: list[int] | None = None) -> list[tuple[int, str, list[str]]]:
    """(layer, "weights" or "biases", its entries' names) of every parameter tensor held fixed whose update the
    trace shows (biases only when some bias trains), in `layers` (default: all)."""
    if not net.partly_frozen:
        return []
    trains = net.trains()
    lay = names.layout(net.layers, net.shared_biases or [False] * net.depth)
    found = []
    for l in range(net.depth) if layers is None else layers:
        if not trains[l]:
            found.append((l, "weights", [w for row in lay.weights[l] for w in row]))
        if net.update_biases and not trains[net.depth + l]:
            found.append((l, "biases", list(lay.biases[l])))
    return found


def span(entries: list[str]) -> str:
    """`w5..w8`, or the one name."""
    return entries[0] if len(entries) == 1 else f"{entries[0]}..{entries[-1]}"


def held_sentences(net: Network, layers: list[int], why: Callable[[int, str], str] | None = None) -> list[str]:
    """One sentence per held tensor of `layers`; `why(layer, role)` says why (default: the spec's key)."""
    sentences = []
    for l, role, entries in held_tensors(net, layers):
        reason = why(l, role) if why is not None else f"update_{role} = {_flags(net, role)}"
        first = entries[0]
        verb = "is" if len(entries) == 1 else "are"
        more = "" if len(entries) == 1 else " and so on"
        sentences.append(f"{span(entries)} {verb} held fixed ({reason}): {names.updated(first)} = {first}{more}; "
                         f"{'its gradient is' if len(entries) == 1 else 'their gradients are'} shown all the same.")
    return sentences


def _flags(net: Network, role: str) -> str:
    trains = net.trains()
    flags: Any = trains[:net.depth] if role == "weights" else trains[net.depth:]
    return "[" + ", ".join("true" if f else "false" for f in flags) + "]"
