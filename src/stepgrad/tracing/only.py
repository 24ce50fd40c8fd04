"""`--only` (CLI) and `"only"` (web API): which quantities a reader asked for, resolved by one rule.

    >>> from stepgrad import builtin, explain
    >>> resolve_only(explain(builtin()), "w5, h1")
    ['w5', 'net_h1', 'out_h1']

The rule, the same for the command line and the web page:

- a quantity or parameter name (`w5`, `out_h1`, `dE_total/dw5`, `b1`) stands for itself and the
  steps about it (select.py pulls in the chain-rule factors);
- a neuron of a hidden or output layer (`h1`, `o2`) stands for its net and out, and an output
  neuron also for its error (`E_o2`);
- `error` or `E_total` stands for the total error and every output's error;
- anything else is refused with one line naming it, and a "did you mean" when a name differs only in
  case (`W5` -> w5) or is close to one (`w9` -> w1, w5 ...).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from stepgrad.core import names
from stepgrad.core.errors import StepgradError
from stepgrad.core.trace import Trace

ERROR_WORDS = ("error", "E_total")


class OnlyError(StepgradError):
    """An `--only` name that selects nothing; `names` holds every such name in the order given."""

    def __init__(self, message: str, names: list[str]) -> None:
        super().__init__(message, where="--only")
        self.names = names


def split(text: str | Iterable[str] | None) -> list[str]:
    """'w5, w1' (or a list of names) -> ['w5', 'w1'], blanks dropped."""
    if text is None:
        return []
    parts = text.split(",") if isinstance(text, str) else list(text)
    return [p.strip() for p in parts if p.strip()]


def expand(wanted: list[str], trace: Trace) -> list[str]:
    """Each neuron name to its net, out (and error), `error` to E_total and every E_o; the rest as given."""
    layers = trace.meta["neurons"]
    outputs = list(layers[-1])
    neurons = {n for layer in layers[1:] for n in layer}
    result: list[str] = []
    for name in wanted:
        if name in ERROR_WORDS:
            result += [names.TOTAL] + [names.error(o) for o in outputs]
        elif name in neurons:
            result += [names.net(name), names.out(name)] + ([names.error(name)] if name in outputs else [])
        else:
            result.append(name)
    return list(dict.fromkeys(result))


def resolve_only(trace: Trace, text: str | Iterable[str] | None) -> list[str]:
    """The quantity names `text` asks for in `trace` (empty: everything); OnlyError for a name that is not there."""
    names = split(text)
    if not names:
        return []
    wanted = expand(names, trace)
    missing = [n for n in names if n not in ERROR_WORDS and trace.unknown(expand([n], trace))]
    if missing:
        raise OnlyError("; ".join(_no_such(n, trace) for n in missing), missing)
    return wanted


def suggestions(name: str, trace: Trace) -> list[str]:
    """Names close to `name`: the same name in another case; else, for `w9`, the network's w1 .. w8;
    else up to 3 similar names."""
    choices = list(dict.fromkeys(_choices(trace)))
    today = names.legacy(name)  # an old per-sample name (dE_total/dw5[2]): the name it stood for
    if today is not None and today in choices:
        return [today]
    same = [c for c in choices if c.lower() == name.lower()]
    if same:
        return same[:1]
    stem = name.rstrip("0123456789")
    if stem != name and stem:
        family = sorted((c for c in choices if c.startswith(stem) and c[len(stem):].isdigit()),
                        key=lambda c: int(c[len(stem):]))
        if family:
            return family
    return difflib.get_close_matches(name, choices, n=3)


def _no_such(name: str, trace: Trace) -> str:
    hint = suggestions(name, trace)
    if len(hint) > 3:
        listed = f"one of {hint[0]} .. {hint[-1]}"
    else:
        listed = ", ".join(hint)
    return f"no quantity named {name!r}" + (f" (did you mean {listed}?)" if hint else "")


def _choices(trace: Trace) -> Iterable[str]:
    """Every name --only accepts: neurons, the section word, the trace's quantities and their parameters."""
    for layer in trace.meta["neurons"][1:]:
        yield from layer
    yield "error"
    for step in trace:
        yield step.name
        if step.subject:
            yield step.subject
