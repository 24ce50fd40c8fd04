"""JSON: the trace's structured steps plus a flat `values` object (name -> number)."""

from __future__ import annotations

import json

from stepgrad.core.trace import Trace
from stepgrad.formats.formula import Decimals, Precision, equation, substituted, symbolic


def render(trace: Trace, digits: Precision = 9, **_: object) -> str:
    """The trace as JSON; each step also carries its formula rendered in text and LaTeX."""
    data = trace.to_dict()
    steps = {s.name: s for s in trace}
    for sec in data["sections"]:
        for d in sec["steps"]:
            step = steps[d["name"]]
            if step.text:
                d["formula"] = symbolic(step, "text")
                d["formula_latex"] = symbolic(step, "latex")
                d["substituted"] = substituted(step, trace, digits, "text")
                d["substituted_latex"] = substituted(step, trace, digits, "latex")
            d["equation"] = equation(step, trace, digits, "text")
    data["meta"] = dict(data["meta"], **({"decimals": digits.places} if isinstance(digits, Decimals) else {"digits": digits}))
    return json.dumps(data, indent=2, allow_nan=False)
