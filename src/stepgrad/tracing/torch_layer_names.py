"""PyTorch's names of a layer-table network's parameters (conv, rnn, attention, normalization), entry by entry, and
the trace annotated with them.

`explain_torch` on a module with convolution, nn.RNN, an attention head, nn.MultiheadAttention, nn.LayerNorm or
nn.BatchNorm1d, and `explain` of a network `from_torch` read (its `[torch]` table, core/layers/torch_record.py),
name each parameter as PyTorch indexes it, beside stepgrad's name:

    Wh1[1,2]      0.rnn.weight_hh_l0[0, 1]
    Wk1[2,1]      2.attention.in_proj_weight[3, 0]     (the rows of in_proj_weight are Wq, then Wk, then Wv)
    gamma_n1[2]   1.weight[1]
    k1[1,1,2,3]   0.weight[0, 0, 1, 2]                 (turned 180 degrees for convolution = "convolution")
    bh1[1]        0.rnn.bias_ih_l0[0] + 0.rnn.bias_hh_l0[0]   (stepgrad's one bias is nn.RNN's two summed)

The links (which torch parameter stacks which stepgrad roles, and nn.RNN's bias partner) are read off the module
by interop/compare_layers.py. The trace carries each given parameter's note (`PyTorch: 0.rnn.weight_hh_l0[0, 1]`),
the ranges in the given section's introduction (shown by every format) and the whole map in `trace.meta["torch"]`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from stepgrad.core.layers.base import Layer
from stepgrad.core.layers.conv import Conv
from stepgrad.core.trace import Section, Trace

Link = tuple[str, tuple[str, ...], str | None]  # torch name, stepgrad roles stacked by rows, partner (added to it)


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


def _index(at: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(i) for i in at) + "]"


def _torch_index(layer: Layer, role: str, offset: int, at: tuple[int, ...]) -> tuple[int, ...]:
    """Where entry `at` (0-based) of role `role` sits in the torch tensor stacking it `offset` rows down."""
    shape = layer.params[role].shape
    index = [offset + at[0], *at[1:]]
    if isinstance(layer, Conv) and role == "kernel" and layer.flipped:  # torch holds the kernel turned 180 degrees
        for axis in ((-1,) if layer.one_d else (-2, -1)):
            index[axis] = shape[axis] - 1 - at[axis]
    return tuple(index)


def layer_torch_names(pairs: list[tuple[Layer, list[Link]]]) -> tuple[dict[str, str], list[str]]:
    """(stepgrad name -> torch name of every parameter entry, one range sentence per torch tensor)."""
    names: dict[str, str] = {}
    ranges: list[str] = []
    for layer, found in pairs:
        for name, roles, partner in found:
            offset, ours, theirs = 0, [], []
            for role in roles:
                for at in np.ndindex(*layer.params[role].shape):
                    ours.append(layer.parameter_name(role, tuple(i + 1 for i in at)))
                    theirs.append(_torch_index(layer, role, offset, at))
                offset += layer.params[role].shape[0]
            if ours[0] in names:  # nn.RNN's second bias: named with the first
                continue
            for entry, at in zip(ours, theirs):
                names[entry] = f"{name}{_index(at)}" + (f" + {partner}{_index(at)}" if partner else "")
            span = f"{ours[0]}..{ours[-1]}" if len(ours) > 1 else ours[0]
            last = f"..{_index(theirs[-1])}" if len(ours) > 1 else ""
            ranges.append(f"{span} = {name}{_index(theirs[0])}{last}" + (
                f" + {partner} (entry by entry: stepgrad's one bias is their sum)" if partner else ""))
    return names, ranges


def layer_dressed(trace: Trace, net: Any) -> Trace:
    """`trace` of a layer-table network named as its `[torch]` table says (as is when it has none)."""
    found = net.spec.get("torch") if isinstance(getattr(net, "spec", None), dict) else None
    if not isinstance(found, dict) or "torch" in trace.meta:
        return trace
    from stepgrad.core.layers.torch_record import fits, links

    if not fits(found, net.all_layers()):
        return trace  # edited since: not that model any more, its names would be wrong
    pairs = links(found, net.all_layers())
    names, ranges = layer_torch_names(pairs)
    return named(trace, found.get("model") or "the model", names, ranges, held_biases(net, pairs))


def held_biases(net: Any, pairs: list[tuple[Layer, list[Link]]]) -> tuple[str, ...]:
    """The bias entries a step of `net` holds fixed (every one when update_biases is off)."""
    if net.update_biases:
        return ()
    return tuple(layer.parameter_name(role, tuple(i + 1 for i in at)) for layer, _ in pairs for role in layer.params
                 if role.startswith("bias") for at in np.ndindex(*layer.params[role].shape))
