"""Where everything of a network picture goes: neurons, their text, biases, and each edge's label.

One layout serves every picture of a network (the SVG diagram, the HTML page, the explorer, and the
slides' TikZ): it works in abstract units (1 unit = 1 px at 13 px text) and knows nothing of SVG.

    >>> from stepgrad.core.spec import Network
    >>> net = Network.from_dict({"layers": [2, 2], "weights": [[[0.1, 0.2], [0.3, 0.4]]]})
    >>> place = diagram_layout(net.layers, {"w1": "w1 = 0.1", "w2": "w2 = 0.2", "w3": "w3 = 0.3", "w4": "w4 = 0.4"})
    >>> place.labelled, sorted(place.labels)
    (True, ['w1', 'w2', 'w3', 'w4'])
    >>> any(a.box.overlaps(b.box) for a in place.labels.values() for b in place.labels.values() if a is not b)
    False

Edge labels sit on their own edge (centred on it, to be drawn with a white halo), each at a distance
along the edge chosen so that no label covers a neuron, a neuron's text, a bias or another label. When
the columns are too crowded the layout first widens them; if labels still do not fit, it drops every
edge label (`labelled` is False) and the picture says so.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

FONT = 13.0            # px of the label text; CHAR is a generous average width of one character
CHAR = 0.62 * FONT
LINE = 13.0            # px between the lines of text under a neuron
PAD = 2.0              # px of clear space around every text box (the halo)
GAPS = (280.0, 360.0, 460.0, 580.0)  # column gaps tried in turn until every edge label fits
MARGIN = 70.0


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle: x0 <= x1, y0 <= y1 (SVG coordinates, y downwards)."""

    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box) -> bool:
        """True if the two rectangles share any area."""
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1


def text_box(text: str, x: float, baseline: float, anchor: str = "middle", size: float = FONT) -> Box:
    """The (generous) box of one line of text drawn at x (anchor start or middle) and `baseline`."""
    width = len(text) * 0.62 * size + 2 * PAD
    left = x - width / 2 if anchor == "middle" else x - PAD
    return Box(left, baseline - 0.95 * size - PAD, left + width, baseline + 0.3 * size + PAD)


@dataclass(frozen=True)
class Node:
    """A neuron: its circle, and the boxes of the text lines under it (net, out, target)."""

    name: str
    layer: int
    index: int
    x: float
    y: float
    radius: float
    lines: tuple[Box, ...] = ()

    @property
    def box(self) -> Box:
        return Box(self.x - self.radius, self.y - self.radius, self.x + self.radius, self.y + self.radius)


@dataclass(frozen=True)
class Label:
    """An edge label: centred at (x, y) on its edge (the text's baseline is y + FONT / 3)."""

    name: str
    text: str
    x: float
    y: float
    t: float  # how far along the edge, 0 at the source neuron, 1 at the target
    box: Box


@dataclass(frozen=True)
class BiasSpot:
    """Where a bias is drawn: a box (shared bias) or a tag above its neuron; `box` covers its text."""

    name: str
    text: str
    x: float
    y: float
    shared: bool
    box: Box


@dataclass
class DiagramLayout:
    """Positions of everything in a network picture (see the module docstring)."""

    width: float
    height: float
    gap: float
    spacing: float
    radius: float
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)  # x1, y1, x2, y2
    labels: dict[str, Label] = field(default_factory=dict)
    biases: dict[str, BiasSpot] = field(default_factory=dict)
    labelled: bool = True
    legend_y: float = 0.0  # the baseline of the legend's row, below everything else
    font: float = FONT  # the size of the text, in layout units
    lines: list[tuple[float, float, float, float]] = field(default_factory=list)  # a shared bias's dashed lines

    def obstacles(self) -> list[Box]:
        """Every box a label must keep clear of: circles, neuron text, biases."""
        boxes = [n.box for n in self.nodes.values()]
        boxes += [b for n in self.nodes.values() for b in n.lines]
        boxes += [b.box for b in self.biases.values()]
        return boxes


def diagram_layout(layers: list[int] | tuple[int, ...], edge_texts: dict[str, str], *,
                   neuron_texts: dict[str, list[str]] | None = None,
                   bias_texts: dict[str, tuple[str, bool, int, int]] | None = None,
                   labelled: bool = True, font: float = FONT, strict: bool = False,
                   exact: bool = False) -> DiagramLayout:
    """The layout of a network with `layers` neurons per layer.

    `edge_texts` maps each weight's name to its label, in the order of names.layout (weights of layer
    l, by target j, then source i); `neuron_texts` maps a neuron to the lines under it; `bias_texts`
    maps a bias to (text, shared, layer l, neuron j). With `labelled` False, no edge labels are placed.
    `font` is the text's size in layout units: larger text on the same geometry, for a picture that
    must stay readable when scaled down (the slides). `strict`: a label no other line crosses, or
    none (wider columns are tried first); otherwise such a spot is only preferred. `exact`: a line
    crosses a label when it passes through its inked part, computed exactly (else: sampled along the
    line, through the whole box, as the SVG diagram has always placed them)."""
    from stepgrad.core.names import layout as names_layout

    neuron_texts = neuron_texts or {}
    bias_texts = bias_texts or {}
    names = names_layout(list(layers), [True] * (len(layers) - 1))
    edges = [[(name, edge_texts.get(name, name)) for row in rows for name in row] for rows in names.weights]
    if not labelled:
        return _place(layers, names.neurons, edges, neuron_texts, bias_texts, GAPS[0], False, font)
    for gap in GAPS:
        layout = _place(layers, names.neurons, edges, neuron_texts, bias_texts, gap, True, font, strict, exact)
        if layout.labelled:
            return layout
    return _place(layers, names.neurons, edges, neuron_texts, bias_texts, GAPS[0], False, font)


def _place(layers, neurons, edges, neuron_texts, bias_texts, gap, labelled, font=FONT, strict=False,
           exact=False) -> DiagramLayout:
    tallest = max(layers)
    roomy = labelled or bool(neuron_texts) or bool(bias_texts)  # text under and above neurons needs room
    spacing = 150.0 if tallest <= 4 else max(14.0, min(90.0, 900.0 / tallest))
    if roomy:
        spacing = 150.0 if tallest <= 4 else 120.0
    radius = max(26.0, 0.9 * font) if roomy else max(4.0, min(18.0, spacing * 0.36))  # a name fits its circle
    layout = DiagramLayout(width=0, height=0, gap=gap, spacing=spacing, radius=radius, font=font)
    for l, names in enumerate(neurons):
        top = 36 + radius + (tallest - layers[l]) * spacing / 2  # room for a bias tag above the top neuron
        for k, name in enumerate(names):
            x, y = MARGIN + 20 + l * gap, top + k * spacing
            lines = tuple(text_box(s, x, y + radius + 14 + LINE * n, size=font)
                          for n, s in enumerate(neuron_texts.get(name, [])))
            layout.nodes[name] = Node(name, l, k, x, y, radius, lines)
    for name, (text, shared, l, j) in bias_texts.items():
        if shared:
            last = layout.nodes[neurons[l][-1]]
            x, y = last.x + gap * 0.35, last.y + spacing * 0.75
            box = text_box(text, x, y + 4.5, size=font)
            box = Box(box.x0 - 8, y - 11 * font / FONT, box.x1 + 8, y + 11 * font / FONT)
            layout.lines += [(x, y, n.x - radius, n.y) for n in (layout.nodes[m] for m in neurons[l + 1])]
        else:
            node = layout.nodes[neurons[l + 1][j]]
            x, y = node.x, node.y - radius - 6
            box = text_box(text, x, y, size=11.0 * font / FONT)
        layout.biases[name] = BiasSpot(name, text, x, y, shared, box)
    for l, layer_edges in enumerate(edges):
        for n, (name, _text) in enumerate(layer_edges):
            j, i = divmod(n, layers[l])
            a, b = layout.nodes[neurons[l][i]], layout.nodes[neurons[l + 1][j]]
            layout.edges[name] = (a.x + radius, a.y, b.x - radius, b.y)
    layout.labelled = labelled and _place_labels(layout, edges, layers, strict, exact)
    if not layout.labelled:
        layout.labels.clear()
    bottom = max([b.y1 for b in layout.obstacles()] + [b.box.y1 for b in layout.labels.values()])
    right = max([b.x1 for b in layout.obstacles()] + [b.box.x1 for b in layout.labels.values()])
    layout.legend_y = bottom + 28
    layout.width = max(right + MARGIN / 2, (len(layers) - 1) * gap + 2 * MARGIN + 40, 560.0)
    layout.height = layout.legend_y + (16 if layout.labelled else 32)  # a second row says labels were dropped
    return layout


def _place_labels(layout: DiagramLayout, edges: list[list[tuple[str, str]]], layers, strict: bool = False,
                  exact: bool = False) -> bool:
    """Put every edge label where it covers nothing; False if one does not fit (`strict`: or if every
    spot left for it has another line through it)."""
    taken = layout.obstacles()
    for layer_edges in edges:
        slots = len(layer_edges)
        for n, (name, text) in enumerate(layer_edges):
            x1, y1, x2, y2 = layout.edges[name]
            # stagger: each edge of a layer starts its search at its own distance along the edge
            preferred = 0.2 + 0.6 * (n + 0.5) / slots if slots > 2 else 0.3
            best: tuple[int, float, Label] | None = None
            for t in (k / 40 for k in range(4, 37)):
                x, y = x1 + t * (x2 - x1), y1 + t * (y2 - y1)
                box = text_box(text, x, y + layout.font / 3, size=layout.font)
                if any(box.overlaps(o) for o in taken):
                    continue
                # prefer a spot no other edge crosses, so the label reads as its own edge's
                ink, crosses = (_ink(box), _clips) if exact else (box, _crosses)
                lines = itertools.chain((e for other, e in layout.edges.items() if other != name), layout.lines)
                # (nor a shared bias's dashed line); `strict` takes only a spot nothing crosses: whether one does
                # is all it needs to know (the first crossing found), the others count them to take the fewest
                crossings = any(crosses(e, ink) for e in lines) if strict else sum(crosses(e, ink) for e in lines)
                key = (crossings, abs(t - preferred))
                if best is None or key < best[:2]:
                    best = (*key, Label(name, text, x, y, t, box))
            if best is None or (strict and best[0] > 0):
                return False
            layout.labels[name] = best[2]
            taken.append(best[2].box)
    return True


def _ink(box: Box) -> Box:
    """Where a label's text is inked inside its generous box (a twentieth in from the sides, 15% from
    top and bottom)."""
    dx, dy = (box.x1 - box.x0) * 0.05, (box.y1 - box.y0) * 0.15
    return Box(box.x0 + dx, box.y0 + dy, box.x1 - dx, box.y1 - dy)


def _crosses(edge: tuple[float, float, float, float], box: Box) -> bool:
    """True if the segment passes through the box (sampled finely enough for text-sized boxes)."""
    x1, y1, x2, y2 = edge
    if max(x1, x2) < box.x0 or min(x1, x2) > box.x1 or max(y1, y2) < box.y0 or min(y1, y2) > box.y1:
        return False
    steps = 64
    return any(box.x0 <= x1 + (x2 - x1) * k / steps <= box.x1 and box.y0 <= y1 + (y2 - y1) * k / steps <= box.y1
               for k in range(steps + 1))


def _clips(edge: tuple[float, float, float, float], box: Box) -> bool:
    """True if the segment passes through the box (Liang-Barsky clipping: exact, and fast enough to ask
    for every candidate spot of every label)."""
    x1, y1, x2, y2 = edge
    if max(x1, x2) < box.x0 or min(x1, x2) > box.x1 or max(y1, y2) < box.y0 or min(y1, y2) > box.y1:
        return False
    dx, dy = x2 - x1, y2 - y1
    low, high = 0.0, 1.0
    for p, q in ((-dx, x1 - box.x0), (dx, box.x1 - x1), (-dy, y1 - box.y0), (dy, box.y1 - y1)):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            low = max(low, t)
        else:
            high = min(high, t)
        if low > high:
            return False
    return True
