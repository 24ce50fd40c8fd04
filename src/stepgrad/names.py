"""The naming scheme: the public contract shared by the trace, JSON, the checker and the web page.

Neurons: inputs i1.., hidden h1.. (one hidden layer) or h<layer>_<k> (several), outputs o1..
Weights w1..wN are numbered as the deck does: layer by layer, neuron by neuron, input by input
(w1: i1->h1, w2: i2->h1, w3: i1->h2, ...). Shared biases b1..bL (one per non-input layer),
per-neuron biases b_h1, b_o1. Quantities: net_h1, out_h1, E_o1, E_total, dE_total/dw5, w5+,
E_total+. With several samples, per-sample quantities carry the sample number: out_o1[2].
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Layout:
    """Names of every neuron, weight and bias of a network shape."""

    neurons: tuple[tuple[str, ...], ...]  # per layer, inputs first
    weights: tuple[tuple[tuple[str, ...], ...], ...]  # weights[l][j][i]: input i -> neuron j of layer l+1
    biases: tuple[tuple[str, ...], ...]  # per weight layer: ("b1",) shared or ("b_h1", "b_h2") per neuron

    def bias_of(self, layer: int, neuron: int) -> str:
        """Name of the bias that neuron `neuron` of weight layer `layer` adds."""
        names = self.biases[layer]
        return names[0] if len(names) == 1 else names[neuron]

    @property
    def all_weights(self) -> list[str]:
        return [w for layer in self.weights for row in layer for w in row]


def layout(layers: tuple[int, ...] | list[int], shared_biases: tuple[bool, ...] | list[bool]) -> Layout:
    """The names for a network with `layers` neurons per layer and the given bias sharing."""
    return _layout(tuple(layers), tuple(bool(s) for s in shared_biases))


@lru_cache(maxsize=64)
def _layout(layers: tuple[int, ...], shared: tuple[bool, ...]) -> Layout:
    depth = len(layers) - 1
    neurons: list[tuple[str, ...]] = [tuple(f"i{k + 1}" for k in range(layers[0]))]
    for l in range(1, depth):
        prefix = "h" if depth == 2 else f"h{l}_"
        neurons.append(tuple(f"{prefix}{k + 1}" for k in range(layers[l])))
    neurons.append(tuple(f"o{k + 1}" for k in range(layers[-1])))
    weights = []
    n = 0
    for l in range(depth):
        rows = []
        for _j in range(layers[l + 1]):
            row = []
            for _i in range(layers[l]):
                n += 1
                row.append(f"w{n}")
            rows.append(tuple(row))
        weights.append(tuple(rows))
    biases = tuple(
        (f"b{l + 1}",) if shared[l] else tuple(f"b_{name}" for name in neurons[l + 1]) for l in range(depth)
    )
    return Layout(tuple(neurons), tuple(weights), biases)


def at(name: str, sample: int | None) -> str:
    """The per-sample name: out_o1 -> out_o1[2] for sample 2 (1-based); unchanged for None."""
    return name if sample is None else f"{name}[{sample}]"


# ---------------------------------------------------------------------------------------------
# LaTeX symbols

_NEURON = re.compile(r"^([iho])(\d+)(?:_(\d+))?$")
_SAMPLE = re.compile(r"^(.*)\[(\d+)\]$")


def _neuron_latex(n: str) -> str:
    m = _NEURON.match(n)
    if not m:
        return n
    kind, a, b = m.groups()
    return f"{kind}_{{{a},{b}}}" if b else f"{kind}_{{{a}}}"


def _atom_latex(atom: str) -> str:
    plus = atom.endswith("+")
    base = atom[:-1] if plus else atom
    if base.startswith(("net_", "out_")):
        head, _, neuron = base.partition("_")
        s = rf"\mathrm{{{head}}}_{{{_neuron_latex(neuron)}}}"
    elif base.startswith("target_"):
        s = rf"\mathrm{{target}}_{{{_neuron_latex(base[7:])}}}"
    elif base == "E_total":
        s = r"E_{\mathrm{total}}"
    elif base.startswith("E_"):
        s = rf"E_{{{_neuron_latex(base[2:])}}}"
    elif re.fullmatch(r"w\d+", base):
        s = rf"w_{{{base[1:]}}}"
    elif re.fullmatch(r"b\d+", base):
        s = rf"b_{{{base[1:]}}}"
    elif base.startswith("b_"):
        s = rf"b_{{{_neuron_latex(base[2:])}}}"
    elif base == "eta":
        s = r"\eta"
    elif _NEURON.match(base):
        s = _neuron_latex(base)
    else:
        escaped = base.replace("_", "\\_")
        s = rf"\mathrm{{{escaped}}}"
    return s + ("^{+}" if plus else "")


@lru_cache(maxsize=100_000)
def latex_symbol(name: str) -> str:
    """LaTeX for a quantity name: dE_total/dw5 -> \\frac{\\partial E_{\\mathrm{total}}}{\\partial w_{5}}."""
    sample = None
    m = _SAMPLE.match(name)
    if m:
        name, sample = m.group(1), m.group(2)
    if "/" in name and name.startswith("d"):
        top, bottom = name.split("/", 1)
        s = rf"\frac{{\partial {_atom_latex(top[1:])}}}{{\partial {_atom_latex(bottom[1:])}}}"
    else:
        s = _atom_latex(name)
    if sample is not None:
        s = rf"{{{s}}}^{{[{sample}]}}"
    return s
