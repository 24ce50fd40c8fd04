"""The network as an SVG picture: neurons in columns, every weight on its edge, the biases.

    >>> svg = network_svg(stepgrad.builtin())                       # weights w1..w8 on the edges
    >>> net = stepgrad.builtin()
    >>> svg = network_svg(net, stepgrad.explain(net), show="gradients")  # dE_total/dw on the edges

Every edge and neuron is an element with a stable id and `data-name` (the trace's name), so a page
can make them clickable:  edges  <line id="edge-w5" data-name="w5" data-value="0.4">  (with a
<text class="sg-label"> sibling in <g id="label-w5" data-name="w5"> when labelled), neurons
<g id="neuron-h1" data-name="h1">, biases <g id="bias-b1" data-name="b1">. Large networks (more than
`max_labels` weights, or whose labels do not fit) keep every edge (width and opacity by |value|) but
drop the edge labels, and say so in the legend; each element still carries a <title> tooltip.
Positions come from stepgrad.pictures.layout (`network_layout` here gives it for any picture).

The picture only reads the network and, optionally, a trace; it computes nothing.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from stepgrad.core.errors import StepgradError
from stepgrad.core.names import gradient, layout, parse, target, updated
from stepgrad.core.names import net as net_name
from stepgrad.core.names import out as out_name
from stepgrad.pictures.layout import DiagramLayout, diagram_layout

if TYPE_CHECKING:
    from stepgrad.core.spec import Network
    from stepgrad.core.trace import Trace

SHOWS = ("weights", "gradients", "updated")
POSITIVE, NEGATIVE = "#2b6cb0", "#c05621"

STYLE = """
.sg-net{font-family:Helvetica,Arial,sans-serif;font-size:13px}
.sg-net .sg-edge,.sg-net.sg-big line[data-name]{stroke:#2b6cb0}.sg-net .sg-edge.sg-neg,.sg-net.sg-big line.sg-neg{stroke:#c05621}
.sg-net .sg-edge:focus,.sg-net .sg-edge:hover{stroke-opacity:1;outline:none;filter:drop-shadow(0 0 2px #000)}
.sg-net .sg-bias-edge{stroke:#888;stroke-dasharray:4 3}
.sg-net .sg-neuron circle{fill:#fff;stroke:#333;stroke-width:1.5}
.sg-net .sg-neuron.sg-input circle{fill:#e8f0fb}.sg-net .sg-neuron.sg-output circle{fill:#fdf0e6}
.sg-net .sg-neuron.sg-dead circle{fill:#eee;stroke:#999;stroke-dasharray:3 2}
.sg-net .sg-bias rect{fill:#f4f4f4;stroke:#888}
.sg-net text{fill:#222}.sg-net .sg-label{paint-order:stroke;stroke:#fff;stroke-width:4px;stroke-linejoin:round}
.sg-net .sg-halo{fill:#fff}
.sg-net .sg-value{font-size:11px;fill:#555}.sg-net .sg-legend text{font-size:11px;fill:#444}
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


def network_layout(net: Network, trace: Trace | None = None, *, show: str = "weights", max_labels: int = 40,
                   digits: int = 4) -> tuple[DiagramLayout, dict[str, float | None]]:
    """The layout of `net`'s picture (see stepgrad.pictures.layout) and the value on each edge."""
    if show not in SHOWS:
        raise StepgradError(f"unknown --show {show!r}; choose from {', '.join(SHOWS)}", where="--show")
    if show != "weights" and trace is None:
        raise StepgradError(f"showing {show} needs a trace of one training step", where="--show")
    names = layout(net.layers, net.shared_biases)  # type: ignore[arg-type]
    lookup = _lookup(trace)
    values: dict[str, float | None] = {}
    for l, rows in enumerate(names.weights):
        for j, row in enumerate(rows):
            for i, name in enumerate(row):
                default = float(net.weights[l][j, i]) if show == "weights" else None
                values[name] = lookup(_value_name(name, show), default)
    small = len(values) <= max_labels
    texts = {name: (f"{_edge_label(name, show)} = {_fmt(v, digits)}" if v is not None else name)
             for name, v in values.items()}
    neuron_texts: dict[str, list[str]] = {}
    bias_texts: dict[str, tuple[str, bool, int, int]] = {}
    if small:
        for l, layer_names in enumerate(names.neurons):
            for k, neuron in enumerate(layer_names):
                neuron_texts[neuron] = _neuron_facts(neuron, l, k, net, lookup, show == "updated", digits)
        for l, bias_names in enumerate(names.biases):
            for j, name in enumerate(bias_names):
                bias_texts[name] = (_bias_text(net, name, l, j, lookup, show, digits), net.shared_bias(l), l, j)
    place = diagram_layout(net.layers, texts, neuron_texts=neuron_texts, bias_texts=bias_texts, labelled=small)
    return place, values


def network_svg(net: Network, trace: Trace | None = None, *, show: str = "weights",
                max_labels: int = 40, digits: int = 4) -> str:
    """An SVG document (a string) of `net`; with a trace, its values on neurons and `show` on the edges."""
    place, values = network_layout(net, trace, show=show, max_labels=max_labels, digits=digits)
    names = layout(net.layers, net.shared_biases)  # type: ignore[arg-type]
    lookup = _lookup(trace)
    small = len(values) <= max_labels
    torch_names = _torch_names(trace)
    radius = place.radius
    biggest = max((abs(v) for v in values.values() if v is not None), default=1.0) or 1.0
    width, height = place.width, place.height
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sg-net{"" if small else " sg-big"}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="network {"-".join(map(str, net.layers))}">',
        f"<title>network {escape('-'.join(map(str, net.layers)))}: {escape(show)}</title>",
        f"<style>{STYLE}</style>",
    ]
    # edges (weights), drawn first so neurons sit on top; colour by sign, width and opacity by |value|
    for name, (x1, y1, x2, y2) in place.edges.items():
        v = values[name]
        cls = "sg-edge sg-neg" if v is not None and v < 0 else "sg-edge"
        share = abs(v) / biggest if v is not None else 0.3
        if small:
            text = f"{_edge_label(name, show)} = {_fmt(v, digits)}" if v is not None else name
            text += torch_names.get(name, "")
            value = f' data-value="{v!r}"' if v is not None else ""
            out.append(f'<line id="edge-{name}" class="{cls}" data-name="{name}"{value} tabindex="0" '
                       f'x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke-width="{0.8 + 2.6 * share:.2f}" '
                       f'stroke-opacity="{0.45 + 0.55 * share:.2f}"><title>{escape(text)}</title></line>')
        else:  # hundreds of edges: no labels; a short tooltip (hover) and data-value; width by |value|
            value = f' data-value="{v:.6g}"' if v is not None else ""
            tip = f"{_edge_label(name, show)} = {_fmt(v, digits)}" if v is not None else name
            tip += torch_names.get(name, "")
            neg = ' class="sg-neg"' if v is not None and v < 0 else ""  # the stylesheet colours big edges by [data-name]
            out.append(f'<line id="edge-{name}"{neg} data-name="{name}"{value} x1="{x1:.0f}" y1="{y1:.0f}" '
                       f'x2="{x2:.0f}" y2="{y2:.0f}" stroke-width="{_short(0.2 + 1.2 * share)}" '
                       f'stroke-opacity="{_short(0.25 + 0.55 * share)}"><title>{escape(tip)}</title></line>')
    out.extend(_biases(net, place, small, torch_names))
    for name, label in place.labels.items():
        b = label.box  # a white card under the text: the edge stops at its label
        out.append(f'<g id="label-{name}" data-name="{name}"><rect class="sg-halo" x="{b.x0 + 1:.1f}" y="{b.y0 + 1:.1f}" '
                   f'width="{b.x1 - b.x0 - 2:.1f}" height="{b.y1 - b.y0 - 2:.1f}" rx="4"/><text class="sg-label" x="{label.x:.1f}" '
                   f'y="{label.y + 13 / 3:.1f}" text-anchor="middle">{escape(label.text)}</text></g>')
    dead = False
    for l, layer_names in enumerate(names.neurons):
        kind = "sg-input" if l == 0 else "sg-output" if l == len(names.neurons) - 1 else "sg-hidden"
        for neuron in layer_names:
            node = place.nodes[neuron]
            facts = _neuron_facts(neuron, l, node.index, net, lookup, show == "updated", digits)
            is_dead = l > 0 and lookup(out_name(neuron), None) == 0.0
            dead = dead or is_dead
            tip = neuron + ("" if not facts else ": " + ", ".join(facts))
            tip += " (dead: out = 0, no gradient flows back through it)" if is_dead else ""
            part = [f'<g id="neuron-{neuron}" class="sg-neuron {kind}{" sg-dead" if is_dead else ""}" data-name="{neuron}">',
                    f"<title>{escape(tip)}</title>",
                    f'<circle cx="{node.x:.1f}" cy="{node.y:.1f}" r="{radius:.1f}"/>']
            if small or radius >= 9:
                size = "" if small else f' font-size="{max(6.0, radius * 0.8):.1f}"'
                part.append(f'<text x="{node.x:.1f}" y="{node.y + 4.5:.1f}" text-anchor="middle"{size}>{neuron}</text>')
            if small:
                for n, fact in enumerate(facts):
                    part.append(f'<text class="sg-value" x="{node.x:.1f}" y="{node.y + radius + 14 + 13 * n:.1f}" '
                                f'text-anchor="middle">{escape(fact)}</text>')
            part.append("</g>")
            out.append("".join(part))
    out.append(_legend(place, show, dead, len(values)))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _short(x: float) -> str:
    """A number in [0, 10) to two decimals without a leading zero ('.45'): thousands of edges add up."""
    return f"{x:.2f}".removeprefix("0")


def _legend(place: DiagramLayout, show: str, dead: bool, count: int) -> str:
    """One row under the picture: colour = sign, width and opacity = size, dead neurons, dropped labels."""
    what = {"weights": "weight", "gradients": "gradient", "updated": "new weight"}[show]
    y, x = place.legend_y, 20.0
    parts = ['<g class="sg-legend">']
    for colour, text in ((POSITIVE, f"{what} > 0"), (NEGATIVE, f"{what} < 0")):
        parts.append(f'<line x1="{x:.0f}" y1="{y - 4:.0f}" x2="{x + 24:.0f}" y2="{y - 4:.0f}" stroke="{colour}" stroke-width="2.5"/>'
                     f'<text x="{x + 30:.0f}" y="{y:.0f}">{escape(text)}</text>')
        x += 40 + 7 * len(text)
    parts.append(f'<line x1="{x:.0f}" y1="{y - 4:.0f}" x2="{x + 12:.0f}" y2="{y - 4:.0f}" stroke="#666" stroke-width="0.8" '
                 'stroke-opacity=".45"/>'
                 f'<line x1="{x + 14:.0f}" y1="{y - 4:.0f}" x2="{x + 26:.0f}" y2="{y - 4:.0f}" stroke="#666" stroke-width="3.4"/>'
                 f'<text x="{x + 32:.0f}" y="{y:.0f}">width, opacity: size |{escape(what)}|</text>')
    x += 40 + 7 * len(f"width, opacity: size |{what}|")
    if dead:
        parts.append(f'<circle cx="{x + 6:.0f}" cy="{y - 4:.0f}" r="6" fill="#eee" stroke="#999" stroke-dasharray="3 2"/>'
                     f'<text x="{x + 16:.0f}" y="{y:.0f}">dead: out = 0</text>')
    if not place.labelled:
        parts.append(f'<text x="20" y="{y + 15:.0f}">{count} weights: too many to label; '
                     "hover or focus an edge for its value</text>")
    parts.append("</g>")
    return "".join(parts)


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


def _bias_text(net: Network, name: str, l: int, j: int, lookup, show: str, digits: int) -> str:
    v = None if show == "weights" else lookup(_value_name(name, show), None)
    if v is None:  # a bias that is not trained keeps its value
        return f"{name} = {_fmt(float(net.biases[l][j]), digits)}"
    return f"{_edge_label(name, show)} = {_fmt(v, digits)}"


def _torch_names(trace: Trace | None) -> dict[str, str]:
    """" (PyTorch: fc1.weight[0, 1])" for each weight and bias of a trace of a PyTorch model (meta["torch"]), for tooltips."""
    mapping = ((trace.meta.get("torch") or {}).get("names") or {}) if trace is not None else {}
    return {ours: f" (PyTorch: {theirs})" for ours, theirs in mapping.items()}


def _biases(net: Network, place: DiagramLayout, small: bool, torch_names: dict[str, str] | None = None) -> list[str]:
    """Shared biases as a box below the previous column with dashed edges; per-neuron biases as a tag."""
    parts = []
    names = layout(net.layers, net.shared_biases)  # type: ignore[arg-type]
    for spot in place.biases.values():
        label = escape(spot.text)
        tip = escape(spot.text + (torch_names or {}).get(spot.name, ""))
        if spot.shared:
            l = next(l for l, b in enumerate(names.biases) if spot.name in b)
            edges = "".join(
                f'<line class="sg-bias-edge" x1="{spot.x:.1f}" y1="{spot.y:.1f}" x2="{place.nodes[k].x - place.radius:.1f}" '
                f'y2="{place.nodes[k].y:.1f}" stroke-width="1"/>' for k in names.neurons[l + 1])
            b = spot.box
            parts.append(f'<g id="bias-{spot.name}" class="sg-bias" data-name="{spot.name}"><title>{tip}</title>'
                         f'{edges}<rect x="{b.x0 + 4:.1f}" y="{b.y0:.1f}" width="{b.x1 - b.x0 - 8:.1f}" height="{b.y1 - b.y0:.1f}" rx="6"/>'
                         f'<text x="{spot.x:.1f}" y="{spot.y + 4.5:.1f}" text-anchor="middle">{label}</text></g>')
        else:
            parts.append(f'<g id="bias-{spot.name}" class="sg-bias" data-name="{spot.name}"><title>{tip}</title>'
                         f'<text class="sg-value" x="{spot.x:.1f}" y="{spot.y:.1f}" text-anchor="middle">'
                         f"{label}</text></g>")
    return parts


def network_from_trace(trace: Trace) -> Network | None:
    """The network a trace starts from (shape from its meta, values by name; NaN where the trace has none)."""
    import numpy as np

    from stepgrad.core.spec import Network

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
