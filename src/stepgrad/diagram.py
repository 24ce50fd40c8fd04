"""The network as an SVG picture: neurons in columns, every weight on its edge, the biases.

    >>> svg = network_svg(stepgrad.builtin())                       # weights w1..w8 on the edges
    >>> net = stepgrad.builtin()
    >>> svg = network_svg(net, stepgrad.explain(net), show="gradients")  # dE_total/dw on the edges

Every edge and neuron is an element with a stable id and `data-name` (the trace's name), so a page
can make them clickable:  edges  <line id="edge-w5" data-name="w5" data-value="0.4">  (with a
<text class="sg-label"> sibling in <g id="label-w5" data-name="w5"> when labelled), neurons
<g id="neuron-h1" data-name="h1">, biases <g id="bias-b1" data-name="b1">. Large networks (more than
`max_labels` weights) keep every edge (thinner, fainter, width by |value|) but drop the edge labels
and the numbers on neurons; each element still carries a <title> tooltip.

The picture only reads the network and, optionally, a trace; it computes nothing.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from .errors import StepgradError
from .names import gradient, layout, parse, target, updated
from .names import net as net_name
from .names import out as out_name

if TYPE_CHECKING:
    from .spec import Network
    from .trace import Trace

SHOWS = ("weights", "gradients", "updated")
COLUMN_GAP = 280
MARGIN = 70

STYLE = """
.sg-net{font-family:Helvetica,Arial,sans-serif;font-size:13px}
.sg-net .sg-edge{stroke:#2b6cb0}.sg-net .sg-edge.sg-neg{stroke:#c05621}
.sg-net .sg-bias-edge{stroke:#888;stroke-dasharray:4 3}
.sg-net.sg-big .sg-edge{stroke-opacity:.45}
.sg-net .sg-neuron circle{fill:#fff;stroke:#333;stroke-width:1.5}
.sg-net .sg-neuron.sg-input circle{fill:#e8f0fb}.sg-net .sg-neuron.sg-output circle{fill:#fdf0e6}
.sg-net .sg-bias rect{fill:#f4f4f4;stroke:#888}
.sg-net text{fill:#222}.sg-net .sg-label{paint-order:stroke;stroke:#fff;stroke-width:4px;stroke-linejoin:round}
.sg-net .sg-value{font-size:11px;fill:#555}
.sg-net [data-name]{cursor:pointer}
"""


def _edge_label(name: str, show: str) -> str:
    return {"weights": name, "gradients": f"∂E/∂{name}", "updated": updated(name)}[show]


def _value_name(name: str, show: str) -> str:
    return {"weights": name, "gradients": gradient(name), "updated": updated(name)}[show]


def _fmt(x: float, digits: int) -> str:
    s = f"{x:.{digits}g}"
    if "e" in s:
        mantissa, exponent = s.split("e")
        sup = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
        s = f"{mantissa}×10{str(int(exponent)).translate(sup)}"
    return s.replace("-", "−", 1) if s.startswith("-") else s


def network_svg(net: Network, trace: Trace | None = None, *, show: str = "weights",
                max_labels: int = 40, digits: int = 4) -> str:
    """An SVG document (a string) of `net`; with a trace, its values on neurons and `show` on the edges."""
    if show not in SHOWS:
        raise StepgradError(f"unknown --show {show!r}; choose from {', '.join(SHOWS)}", where="--show")
    if show != "weights" and trace is None:
        raise StepgradError(f"showing {show} needs a trace of one training step", where="--show")
    names = layout(net.layers, net.shared_biases)  # type: ignore[arg-type]
    lookup = _lookup(trace)
    edge_count = sum(w.size for w in net.weights)
    small = edge_count <= max_labels
    tallest = max(net.layers)
    spacing = 150.0 if tallest <= 4 else max(14.0, min(90.0, 900.0 / tallest))
    radius = 26.0 if small else max(4.0, min(18.0, spacing * 0.36))
    height = (tallest + 0.25) * spacing + 50  # room for the bias boxes below the last row
    width = (len(net.layers) - 1) * COLUMN_GAP + 2 * MARGIN + 40
    after = show == "updated"

    def position(l: int, k: int) -> tuple[float, float]:
        n = net.layers[l]
        top = 24 + (tallest - n) * spacing / 2
        return MARGIN + 20 + l * COLUMN_GAP, top + (k + 0.5) * spacing

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sg-net{"" if small else " sg-big"}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="network {"-".join(map(str, net.layers))}">',
        f"<title>network {escape('-'.join(map(str, net.layers)))}: {escape(show)}</title>",
        f"<style>{STYLE}</style>",
    ]
    # edges (weights), drawn first so neurons sit on top
    values = []
    for l, layer in enumerate(names.weights):
        for j, row in enumerate(layer):
            for i, name in enumerate(row):
                vname = _value_name(name, show)
                values.append((l, j, i, name, lookup(vname, float(net.weights[l][j, i]) if show == "weights" else None)))
    biggest = max((abs(v) for *_, v in values if v is not None), default=1.0) or 1.0
    labels: list[str] = []
    for l, j, i, name, v in values:
        (x1, y1), (x2, y2) = position(l, i), position(l + 1, j)
        x1, x2 = x1 + radius, x2 - radius
        cls = "sg-edge sg-neg" if v is not None and v < 0 else "sg-edge"
        text = f"{_edge_label(name, show)} = {_fmt(v, digits)}" if v is not None else name
        if small:
            value = f' data-value="{v!r}"' if v is not None else ""
            out.append(f'<line id="edge-{name}" class="{cls}" data-name="{name}"{value} '
                       f'x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke-width="1.6">'
                       f"<title>{escape(text)}</title></line>")
            # near the source, where a neuron's edges fan out; spread along the edge when there are many
            fan = net.layers[l + 1]
            t = 0.3 if fan <= 2 else 0.18 + 0.64 * j / (fan - 1)
            lx, ly = x1 + t * (x2 - x1), y1 + t * (y2 - y1) - 4
            labels.append(f'<g id="label-{name}" data-name="{name}"><text class="sg-label" x="{lx:.1f}" '
                          f'y="{ly:.1f}" text-anchor="middle">{escape(text)}</text></g>')
        else:  # thousands of edges: no labels or tooltips (data-value has the number), width by |value|
            share = abs(v) / biggest if v is not None else 0.3
            value = f' data-value="{v:.6g}"' if v is not None else ""
            out.append(f'<line id="edge-{name}" class="{cls}" data-name="{name}"{value} x1="{x1:.0f}" y1="{y1:.0f}" '
                       f'x2="{x2:.0f}" y2="{y2:.0f}" stroke-width="{0.2 + 1.2 * share:.2f}"/>')
    out.extend(_biases(net, names, position, radius, spacing, small, lookup, show, digits))
    out.extend(labels)
    for l, layer_names in enumerate(names.neurons):
        kind = "sg-input" if l == 0 else "sg-output" if l == len(names.neurons) - 1 else "sg-hidden"
        for k, neuron in enumerate(layer_names):
            x, y = position(l, k)
            facts = _neuron_facts(neuron, l, k, net, lookup, after, digits)
            tip = neuron + ("" if not facts else ": " + ", ".join(facts))
            part = [f'<g id="neuron-{neuron}" class="sg-neuron {kind}" data-name="{neuron}">',
                    f"<title>{escape(tip)}</title>",
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}"/>']
            if small or radius >= 9:
                size = "" if small else f' font-size="{max(6.0, radius * 0.8):.1f}"'
                part.append(f'<text x="{x:.1f}" y="{y + 4.5:.1f}" text-anchor="middle"{size}>{neuron}</text>')
            if small:
                for n, fact in enumerate(facts):
                    part.append(f'<text class="sg-value" x="{x:.1f}" y="{y + radius + 14 + 13 * n:.1f}" '
                                f'text-anchor="middle">{escape(fact)}</text>')
            part.append("</g>")
            out.append("".join(part))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _lookup(trace: Trace | None):
    def lookup(name: str, default: float | None = None) -> float | None:
        try:
            v = default if trace is None else float(trace.lookup(name))
        except KeyError:
            v = default
        return None if v is None or v != v else v  # NaN: a value the trace does not have

    return lookup


def _neuron_facts(neuron: str, l: int, k: int, net: Network, lookup, after: bool, digits: int) -> list[str]:
    """What a neuron shows: its input value, or net and out from the trace (after the update if `after`)."""
    single = net.inputs is not None and len(net.inputs) == 1
    if l == 0:
        v = lookup(neuron, float(net.inputs[0, k]) if single else None)  # type: ignore[index]
        return [] if v is None else [f"{neuron} = {_fmt(v, digits)}"]
    facts = []
    for head, build in (("net", net_name), ("out", out_name)):
        name = build(neuron)
        v = lookup(updated(name), None) if after else None
        v = lookup(name, None) if v is None else v
        if v is not None:
            facts.append(f"{head} = {_fmt(v, digits)}")
    if l == len(net.layers) - 1:
        t = lookup(target(neuron), float(net.targets[0, k]) if single else None)  # type: ignore[index]
        if t is not None:
            facts.append(f"target = {_fmt(t, digits)}")
    return facts


def _biases(net, names, position, radius, spacing, small, lookup, show, digits) -> list[str]:
    """Shared biases as a node below the previous column with dashed edges; per-neuron biases as a tag."""
    parts = []
    for l, bias_names in enumerate(names.biases):
        shared = net.shared_bias(l)
        for j, name in enumerate(bias_names):
            v = None if show == "weights" else lookup(_value_name(name, show), None)
            if v is None:  # a bias that is not trained keeps its value
                label = f"{name} = {_fmt(float(net.biases[l][j]), digits)}"
            else:
                label = f"{_edge_label(name, show)} = {_fmt(v, digits)}"
            if shared:
                x, y = position(l, net.layers[l] - 1)
                x, y = x + COLUMN_GAP * 0.35, y + spacing * 0.75
                edges = "" if not small else "".join(
                    f'<line class="sg-bias-edge" x1="{x:.1f}" y1="{y:.1f}" x2="{position(l + 1, k)[0] - radius:.1f}" '
                    f'y2="{position(l + 1, k)[1]:.1f}" stroke-width="{1.0 if small else 0.3}"/>'
                    for k in range(net.layers[l + 1]))
                w = 24 + 7 * len(label) if small else 30
                text = (f'<text x="{x:.1f}" y="{y + 4.5:.1f}" text-anchor="middle">{escape(label)}</text>'
                        if small else "")
                parts.append(f'<g id="bias-{name}" class="sg-bias" data-name="{name}"><title>{escape(label)}</title>'
                             f'{edges}<rect x="{x - w / 2:.1f}" y="{y - 11:.1f}" width="{w:.1f}" height="22" rx="6"/>'
                             f"{text}</g>")
            elif small:
                x, y = position(l + 1, j)
                parts.append(f'<g id="bias-{name}" class="sg-bias" data-name="{name}"><title>{escape(label)}</title>'
                             f'<text class="sg-value" x="{x:.1f}" y="{y - radius - 6:.1f}" text-anchor="middle">'
                             f"{escape(label)}</text></g>")
    return parts


def network_from_trace(trace: Trace) -> Network | None:
    """The network a trace starts from (shape from its meta, values by name; NaN where the trace has none)."""
    import numpy as np

    from .spec import Network

    meta = trace.meta
    if not meta.get("neurons") or not meta.get("weights"):
        return None

    def value(name: str) -> float:
        try:
            return float(trace.lookup(name))
        except KeyError:
            return float("nan")

    weights = [np.array([[value(w) for w in row] for row in layer]) for layer in meta["weights"]]
    biases = [np.array([value(b) for b in names]) for names in meta["biases"]]
    shared = [len(names) == 1 and parse(names[0]).neuron is None for names in meta["biases"]]
    inputs = targets = None
    if meta.get("samples", 1) == 1:
        inputs = np.array([[value(i) for i in meta["neurons"][0]]])
        targets = np.array([[value(target(o)) for o in meta["neurons"][-1]]])
    return Network(layers=list(meta["layers"]), activations=list(meta.get("activations", [])), weights=weights,
                   biases=biases, inputs=inputs, targets=targets, shared_biases=shared, name=str(meta.get("name", "")))
