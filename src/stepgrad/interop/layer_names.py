"""PyTorch's names of a layer-table module's parameters (conv, rnn, attention, normalization), entry by entry.

`explain_torch` on a module with convolution, nn.RNN, an attention head, nn.MultiheadAttention, nn.LayerNorm or
nn.BatchNorm1d names each parameter of its explanation as PyTorch indexes it, beside stepgrad's name:

    Wh1[1,2]      0.rnn.weight_hh_l0[0, 1]
    Wk1[2,1]      2.attention.in_proj_weight[3, 0]     (the rows of in_proj_weight are Wq, then Wk, then Wv)
    gamma_n1[2]   1.weight[1]
    K1[1,1,2,3]   0.weight[0, 0, 1, 2]                 (turned 180 degrees for convolution = "convolution")
    bh1[1]        0.rnn.bias_ih_l0[0] + 0.rnn.bias_hh_l0[0]   (stepgrad's one bias is nn.RNN's two summed)

The links (which torch parameter stacks which stepgrad roles, and nn.RNN's bias partner) are compare_layers'; the
trace is annotated by tracing/torch_layer_names.py.
"""

from __future__ import annotations

import numpy as np

from stepgrad.core.layers.base import Layer
from stepgrad.core.layers.conv import Conv
from stepgrad.interop.sequences import Link


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
