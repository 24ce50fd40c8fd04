"""A layer-table trace (conv, rnn, attention, normalization) annotated with PyTorch's names of its parameters.

interop/layer_names.py reads the names off the module (`Wh1[1,2]` -> `0.rnn.weight_hh_l0[0, 1]`); this module
writes them into the trace as tracing/torch_names.py does for dense layers: each given parameter's note
(`PyTorch: 0.rnn.weight_hh_l0[0, 1]`), the ranges in the given section's introduction, and the whole map in
`trace.meta["torch"]`.
"""

from __future__ import annotations

from dataclasses import replace

from stepgrad.core.trace import Section, Trace


def named(trace: Trace, label: str, names: dict[str, str], ranges: list[str], fixed: tuple[str, ...] = ()) -> Trace:
    """`trace` with every parameter's torch name (`names`: stepgrad name -> torch name) said where it is given;
    `fixed`: the entries the step holds fixed (biases that do not train)."""
    intro = f"In PyTorch ({label}): " + "; ".join(ranges) + ", row by row." if ranges else ""
    sections = []
    for section in trace.sections:
        if section.key == "given":
            steps = tuple(replace(s, note=s.note or f"PyTorch: {names[s.name]}") if s.name in names else s
                          for s in section.steps)
            section = Section(section.key, section.title, steps, f"{section.intro} {intro}".strip(), section.plan)
        sections.append(section)
    meta = dict(trace.meta, torch={"model": label, "names": dict(names), "fixed": list(fixed), "dtype": "float64",
                                   "computed_in": "float64", "intro": intro})
    return Trace(tuple(sections), meta, trace.context)
