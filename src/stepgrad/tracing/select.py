"""Narrow a trace to the steps about a few names (`--only w5,w1`), with the chain-rule factors they need."""

from __future__ import annotations

from stepgrad.core.names import parse
from stepgrad.core.trace import Section, Trace

# Sections whose steps are pulled in as factors; forward values are only referred to.
_DERIVED = ("backward_", "update", "weight_", "bias_")  # weight_/bias_: `group(trace, "weight")`


def _about(step_name: str, wanted: str) -> bool:
    if step_name == wanted:
        return True
    if wanted not in step_name:  # every match below contains the wanted name: a fast reject
        return False
    name = parse(step_name).but(sample=None)
    if wanted in (str(name), str(name.but(after=False))):  # w5, w5+ (and out_o1[2]) for w5
        return True
    if name.kind == "state":  # the optimizer's state: m_w5, m_w5+ for w5
        return name.parameter == wanted
    # dE_total/dw5, dnet_o1/dw5 for wanted w5
    return name.kind == "partial" and str(name.bottom) == wanted


def select(trace: Trace, names: list[str]) -> Trace:
    """The steps about each wanted name plus, recursively, their backward-pass factors."""
    derived = {s.name: s for sec in trace.sections if sec.key.startswith(_DERIVED) for s in sec.steps}
    keep: set[str] = set()
    todo = [s.name for s in trace if any(_about(s.name, n) for n in names)]
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        step = derived.get(name)
        if step is not None and step.kind != "update":
            todo.extend(step.operands)
    sections = []
    for sec in trace.sections:
        steps = tuple(s for s in sec.steps if s.name in keep)
        if steps:
            sections.append(Section(sec.key, sec.title, steps, sec.intro))
    all_values = trace.values
    all_values.update(trace.context)
    shown = {s.name for sec in sections for s in sec.steps}
    context = {k: v for k, v in all_values.items() if k not in shown}
    meta = dict(trace.meta, only=list(names))
    return Trace(tuple(sections), meta, context)


def unknown(trace: Trace, names: list[str]) -> list[str]:
    """The names in `names` that select nothing in `trace`."""
    return [n for n in names if not any(_about(s.name, n) for s in trace)]
