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

from dataclasses import replace
from html import escape
from typing import TYPE_CHECKING

from stepgrad.core.errors import StepgradError
from stepgrad.core.names import at, gradient, layout, parse, target, updated
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
                max_labels: int = 40, digits: int = 4, tip_digits: int | None = None,
                selected: str | None = None) -> str:
    """An SVG document (a string) of `net`; with a trace, its values on neurons and `show` on the edges.

    The tooltips (<title>) write `tip_digits` digits (default: `digits`): labels short, the full value on hover.
    A network too big for labels gets a summary line per layer, edges coloured by size, and the values of the
    `selected` neuron or weight on a card."""
    tip_digits = tip_digits or digits
    place, values = network_layout(net, trace, show=show, max_labels=max_labels, digits=digits)
    names = layout(net.layers, net.shared_biases)  # type: ignore[arg-type]
    lookup = _lookup(trace)
    small = len(values) <= max_labels
    torch_names = _torch_names(trace)
    radius = place.radius
    biggest = max((abs(v) for v in values.values() if v is not None), default=1.0) or 1.0
    summaries: list[str] = []
    if not small:
        summaries = _summaries(net, place, names, lookup, digits)
        place = replace(place, legend_y=place.legend_y + SUMMARY_ROOM, height=place.height + SUMMARY_ROOM + 15)
    width, height = place.width, place.height
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sg-net{"" if small else " sg-big"}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="network {"-".join(map(str, net.layers))}">',
        f"<title>network {escape('-'.join(map(str, net.layers)))}: {escape(show)}</title>",
        f"<style>{STYLE}{'' if small else HEAT_STYLE}</style>",
    ]
    # edges (weights), drawn first so neurons sit on top; colour by sign, width and opacity by |value|
    for name, (x1, y1, x2, y2) in place.edges.items():
        v = values[name]
        cls = "sg-edge sg-neg" if v is not None and v < 0 else "sg-edge"
        share = abs(v) / biggest if v is not None else 0.3
        if small:
            text = f"{_edge_label(name, show)} = {_fmt(v, tip_digits)}" if v is not None else name
            text += torch_names.get(name, "")
            value = f' data-value="{v!r}"' if v is not None else ""
            out.append(f'<line id="edge-{name}" class="{cls}" data-name="{name}"{value} tabindex="0" '
                       f'x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke-width="{0.8 + 2.6 * share:.2f}" '
                       f'stroke-opacity="{0.45 + 0.55 * share:.2f}"><title>{escape(text)}</title></line>')
        else:  # hundreds of edges: no labels; a short tooltip (hover) and data-value; width by |value|
            value = f' data-value="{v:.6g}"' if v is not None else ""
            tip = f"{_edge_label(name, show)} = {_fmt(v, tip_digits)}" if v is not None else name
            tip += torch_names.get(name, "")
            heat = f' class="{_heat(v, share)}"' if v is not None else ""  # colour: sign, darker when larger
            out.append(f'<line id="edge-{name}"{heat} data-name="{name}"{value} x1="{x1:.0f}" y1="{y1:.0f}" '
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
            full = facts if tip_digits == digits else _neuron_facts(neuron, l, node.index, net, lookup, show == "updated", tip_digits)
            tip = neuron + ("" if not full else ": " + ", ".join(full))
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
    out.extend(summaries)
    if not small and selected:
        out.append(_card(net, place, names, lookup, values, show, digits, selected))
    out.append(_legend(place, show, dead, len(values), big=not small))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _short(x: float) -> str:
    """A number in [0, 10) to two decimals without a leading zero ('.45'): thousands of edges add up."""
    return f"{x:.2f}".removeprefix("0")


def _legend(place: DiagramLayout, show: str, dead: bool, count: int, big: bool = False) -> str:
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
        if big:
            parts.append(f'<text x="20" y="{y + 15:.0f}">{count} weights: too many to label. Left out: the edge labels, '
                         f'the biases,</text><text x="20" y="{y + 30:.0f}">each neuron\'s net and out (hover or focus an '
                         "edge; select a neuron or a weight for its values)</text>")
        else:
            parts.append(f'<text x="20" y="{y + 15:.0f}">{count} weights: too many to label. Left out: the edge labels '
                         "(hover or focus an edge for its value)</text>")
    parts.append("</g>")
    return "".join(parts)


SUMMARY_ROOM = 34.0  # px the layer summaries of a big network take above the legend


HEAT = 5  # shades per sign of a big network's edges


def _shade(k: int, negative: bool) -> str:
    """Shade k of HEAT: pale for small values, deep blue (> 0) or orange-brown (< 0) for the largest."""
    pale, deep = ((246, 210, 189), (127, 39, 4)) if negative else ((198, 219, 239), (8, 48, 107))
    t = (k + 1) / HEAT
    return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(pale, deep))


# one class per shade (a class is shorter than a colour on each of thousands of edges); big pictures only
HEAT_STYLE = "".join(f".sg-net.sg-big line.{'sg-neg n' if neg else 'p'}{k}{{stroke:{_shade(k, neg)}}}".replace("sg-neg n", "sg-neg.n")
                 for neg in (False, True) for k in range(HEAT))


def _heat(v: float, share: float) -> str:
    """The class of an edge's shade: its sign, and how large it is among the picture's values."""
    k = min(HEAT - 1, int(min(1.0, max(0.0, share)) ** 0.6 * HEAT))
    return f"sg-neg n{k}" if v < 0 else f"p{k}"


def _summaries(net: Network, place: DiagramLayout, names, lookup, digits: int) -> list[str]:
    """One or two lines under each column of a big network: what the layer is, and the range of its values."""
    from stepgrad.core.names import out as out_of

    single = net.inputs is not None and len(net.inputs) == 1
    sample = None if single else 1  # several samples (or a trace's network, which keeps none): the first's
    mark = "" if sample is None else f"[{sample}]"
    parts = ['<g class="sg-summary">']
    y = place.legend_y - 10
    for l, layer_names in enumerate(names.neurons):
        x = place.nodes[layer_names[0]].x
        if l == 0:
            head, found = f"{len(layer_names)} inputs", [lookup(at(n, sample)) for n in layer_names]
        else:
            head = f"{net.activations[l - 1]} · {len(layer_names)} neurons"
            found = [lookup(out_of(n, sample)) for n in layer_names]
        known = [v for v in found if v is not None]
        lines = [head] + ([f"{'i' if l == 0 else 'out'}{mark}: {_fmt(min(known), 3)} … {_fmt(max(known), 3)}"] if known else [])
        for n, text in enumerate(lines):
            parts.append(f'<text class="sg-value" x="{x:.0f}" y="{y + 14 * n:.0f}" text-anchor="middle">{escape(text)}</text>')
    parts.append("</g>")
    return parts


def _card(net: Network, place: DiagramLayout, names, lookup, values, show: str, digits: int, selected: str) -> str:
    """The selected neuron's values (or the selected weight's) on a card beside it, in a big network."""
    if selected in place.nodes:
        node = place.nodes[selected]
        lines = [selected, *_neuron_facts(selected, node.layer, node.index, net, lookup, show == "updated", digits)]
        x, y = node.x + node.radius + 8, node.y - 8
    elif selected in place.edges and values.get(selected) is not None:
        x1, y1, x2, y2 = place.edges[selected]
        lines = [f"{_edge_label(selected, show)} = {_fmt(values[selected], digits)}"]
        x, y = (x1 + x2) / 2, (y1 + y2) / 2
    else:
        return ""
    width = max(len(t) for t in lines) * 8.0 + 12
    x = min(x, place.width - width - 4)
    texts = "".join(f'<text x="{x + 6:.0f}" y="{y + 14 * (n + 1) - 2:.0f}">{escape(t)}</text>' for n, t in enumerate(lines))
    return (f'<g class="sg-card" data-card="{escape(selected)}"><rect x="{x:.0f}" y="{y - 4:.0f}" width="{width:.0f}" '
            f'height="{14 * len(lines) + 8:.0f}" rx="4" fill="#fff" stroke="#7a1fa2" stroke-width="2"/>{texts}</g>')


def _lookup(trace: Trace | None):
    def lookup(name: str, default: float | None = None) -> float | None:
        try:
            v = default if trace is None else float(trace.lookup(name))
        except KeyError:
            v = default
        return None if v is None or v != v else v  # NaN: a value the trace does not have

    return lookup


def _neuron_facts(neuron: str, l: int, k: int, net: Network, lookup, after: bool, digits: int) -> list[str]:
    """What a neuron shows: its input value, or net and out from the trace (after the update if `after`).

    With several samples these are the first sample's, and say so: net[1] = ..."""
    single = net.inputs is not None and len(net.inputs) == 1
    sample = None if single else 1  # several samples (or a trace's network, which keeps none): the first's
    mark = "" if sample is None else f"[{sample}]"
    if l == 0:
        v = lookup(at(neuron, sample), float(net.inputs[0, k]) if net.inputs is not None else None)
        return [] if v is None else [f"{neuron}{mark} = {_fmt(v, digits)}"]
    facts = []
    for head, build in (("net", net_name), ("out", out_name)):
        v = lookup(build(neuron, sample, after=True), None) if after else None
        v = lookup(build(neuron, sample), None) if v is None else v
        if v is not None:
            facts.append(f"{head}{mark} = {_fmt(v, digits)}")
    if l == len(net.layers) - 1:
        t = lookup(target(neuron, sample), float(net.targets[0, k]) if net.targets is not None else None)
        if t is not None:
            facts.append(f"target{mark} = {_fmt(t, digits)}")
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
