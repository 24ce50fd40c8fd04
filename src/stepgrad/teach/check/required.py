"""Which answers a solution must give to pass, and what is missing, said in the derivation's words.

    >>> trace = stepgrad.explain(stepgrad.builtin())
    >>> len(required(trace, "answers")), len(required(trace, "template"))
    (28, 54)
    >>> missing_text(trace, [n for n in required(trace, "answers") if not n.startswith(("net", "out", "E_"))])
    '16 answers missing: the gradients (8: dE_total/dw5 … dE_total/dw4) and the new weights (8: w1+ … w8+)'

The rule (`--require`, or `require` in the exercise's check.toml):
- "answers" (the default): the results of the step: every forward-pass value (net, out) and error;
  every gradient of the error with respect to a parameter (the mean over the batch, not the per-sample
  pieces); every new parameter; the total error after the update (E_total+, as the deck ends).
  Intermediate factors (dE/dout, dout/dnet, deltas, paths) and the forward pass with the new weights
  may be kept in the calculator: a student who computes δ·input directly is complete.
- "template": every line of the exercise's solution template except pure copies (dnet_o1/dw5 = out_h1,
  dnet_o1/dout_h1 = w5), which say nothing the given numbers do not.
- "none": nothing is required (a solution passes when nothing written is wrong).
- otherwise a comma-separated list of name patterns (fnmatch: "dE_total/dw*,w*+").
"""

from __future__ import annotations

import fnmatch

from stepgrad.core import names
from stepgrad.core.trace import SLOT, Step, Trace

RULES = ("answers", "template", "none")
_RESULT_SECTIONS = ("forward", "error", "update")


def _is_parameter_gradient(step: Step) -> bool:
    try:
        parts = names.parse(step.name)
    except ValueError:
        return False
    return (parts.kind == "partial" and parts.sample is None and parts.top is not None and parts.bottom is not None
            and parts.top.kind == "error" and parts.bottom.kind in ("weight", "bias"))


def required(trace: Trace, rule: str | tuple[str, ...] = "answers") -> list[str]:
    """The names a solution must answer under `rule`, in the derivation's order."""
    if rule == "none":
        return []
    if rule == "template":
        return [s.name for s in trace if s.text and not SLOT.fullmatch(s.text)]
    if rule == "answers":
        keep = []
        for section in trace.sections:
            for step in section.steps:
                if step.text and (section.key in _RESULT_SECTIONS or _is_parameter_gradient(step)
                                  or step.name == names.error(after=True)):
                    keep.append(step.name)
        return keep
    patterns = [rule] if isinstance(rule, str) else list(rule)
    patterns = [p.strip() for part in patterns for p in part.split(",") if p.strip()]
    return [s.name for s in trace if s.text and any(fnmatch.fnmatchcase(s.name, p) for p in patterns)]


_PLAIN_TITLES = {"forward": "the forward pass", "error": "the error", "update": "the new weights",
                 "after": "the forward pass with the new weights", "error_after": "the error after the update"}


def missing_text(trace: Trace, missing: list[str]) -> str:
    """'16 answers missing: the gradients (8: dE_total/dw5 … dE_total/dw4) and the new weights (8: w1+ … w8+)'."""
    if not missing:
        return ""
    wanted = set(missing)
    groups: list[tuple[str, list[str]]] = []
    for section in trace.sections:
        names_here = [s.name for s in section.steps if s.name in wanted]
        if not names_here:
            continue
        title = _PLAIN_TITLES.get(section.key, "the gradients" if section.key.startswith("backward") else
                                  section.title[:1].lower() + section.title[1:])
        if groups and groups[-1][0] == title:
            groups[-1][1].extend(names_here)
        else:
            groups.append((title, names_here))
    parts = [f"{title} ({', '.join(found)})" if len(found) <= 2 else f"{title} ({len(found)}: {found[0]} … {found[-1]})"
             for title, found in groups]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    count = len(missing)
    return f"{count} answer{'s' * (count != 1)} missing: {listed}"
