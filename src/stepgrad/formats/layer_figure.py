"""One weight layer of the network in TikZ with each weight's value on its edge, for a slide of its own.

A network too big for the whole figure to carry its weights' values at a readable size (the 3-4-2:
names only) can still show them one layer at a time, as the SVG diagram does for the whole network:
the layer's neurons in two columns, each edge labelled `w13 = −0.341` where the SVG layout
(stepgrad.pictures.layout) finds a spot clear of every other text. Labels are plain text, as the SVG
writes them (`w13`, `h1`: no subscripts), so the text size is the size of every character; a layer
that cannot be drawn with its text at least `min_pt` is left out (its values are in the tables).
"""

from __future__ import annotations

from stepgrad.core.names import layout as names_layout
from stepgrad.core.trace import Trace
from stepgrad.formats.document import layer_name
from stepgrad.formats.formula import number

MIN_LABEL_PT = 8.0  # every character of a layer figure at least this size (plain text: no subscripts)
PLACES = 3  # significant digits of a weight on its edge (the tables have them all)


def layer_figures(trace: Trace, width: float = 14.5, height: float = 7.0,
                  min_pt: float = MIN_LABEL_PT) -> list[tuple[str, str]]:
    """(frame title, centred tikzpicture) for each weight layer whose values fit on its edges at `min_pt`."""
    meta = trace.meta
    neurons, weights = meta.get("neurons"), meta.get("weights")
    if not neurons or not weights:
        return []
    found = []
    for l, layer in enumerate(weights):
        picture = _layer(trace, neurons[l], neurons[l + 1], layer, width, height, min_pt)
        if picture:
            found.append((f"The weights into the {layer_name(l, len(weights))}", picture))
    return found


def _layer(trace: Trace, sources: list[str], targets: list[str], rows: list[list[str]], width: float,
           height: float, min_pt: float) -> str:
    sizes = [len(sources), len(targets)]
    sub = names_layout(sizes, [True])  # the layout names a two-layer net's neurons and weights afresh
    weight = {s: o for rows_s, rows_o in zip(sub.weights[0], rows) for s, o in zip(rows_s, rows_o)}
    neuron = dict(zip(sub.neurons[0] + sub.neurons[1], list(sources) + list(targets)))
    texts = {s: f"{o} = {number(trace.lookup(o), PLACES)}" for s, o in weight.items()}  # as measured
    shown = {s: f"{o} = {number(trace.lookup(o), PLACES, 'latex')}" for s, o in weight.items()}  # 10^{-5}, not e-05
    found = _fit(sizes, sub.neurons, [[(w, texts[w]) for row in sub.weights[0] for w in row]], width, height, min_pt)
    if found is None:
        return ""
    place, scale, size = found

    def at(x: float, y: float) -> str:
        return f"({x * scale:.3f},{-y * scale:.3f})"

    def plain(text: str) -> str:
        return "$" + text.replace("−", "-").replace("_", r"\_") + "$"  # h1_1 as written: no subscript

    font_cmd = rf"\fontsize{{{size:.2f}}}{{{1.2 * size:.1f}}}\selectfont"
    out = [r"\begin{tikzpicture}[",
           rf"neuron/.style={{circle,draw,minimum size={2 * place.radius * scale:.2f}cm,inner sep=0pt,font={font_cmd}}},",
           rf"w/.style={{font={font_cmd},fill=white,inner sep=0.6pt}}]"]
    for n in place.nodes.values():
        out.append(rf"\node[neuron] ({n.name}) at {at(n.x, n.y)} {{{plain(neuron[n.name])}}};")
    for x1, y1, x2, y2 in place.edges.values():
        out.append(rf"\draw {at(x1, y1)} -- {at(x2, y2)};")
    out += [rf"\node[w] at {at(lab.x, lab.y)} {{{plain(shown[w])}}};" for w, lab in place.labels.items()]
    out.append(r"\end{tikzpicture}")
    return "\\begin{center}\n" + "\n".join(out) + "\n\\end{center}"


GAPS = (280.0, 360.0, 460.0, 580.0, 720.0, 900.0)  # column gaps tried: a slide is wider than the SVG


def _fit(sizes, neurons, edges, width: float, height: float, min_pt: float):
    """(layout, cm per unit, text pt) of the roomiest layout whose text scales to `min_pt`: first with no
    line through a label, then with a label on its own edge where another crosses it; None if none fits."""
    from stepgrad.pictures.layout import FONT, _place

    for strict in (True, False):
        for k in range(8, 29):  # the smallest text in layout units: the roomiest layout
            font = FONT * k / 8
            for gap in GAPS:
                place = _place(sizes, neurons, edges, {}, {}, gap, True, font, strict, True)
                if not place.labelled:
                    continue
                bottom = max(n.y + n.radius for n in place.nodes.values()) + 2.2 * font
                scale = min(width / place.width, height / (bottom + font))
                if font * scale * 28.45 >= min_pt:
                    return place, scale, font * scale * 28.45
    return None
