"""One self-contained HTML page: inline CSS, the network as inline SVG, every formula as MathML.

    stepgrad explain --format html -o step.html      # opens offline in any current browser

Nothing is fetched (no scripts, fonts or images from anywhere); it prints well (@media print).
Each quantity is an element with id="step-<name>" and data-name="<name>".
"""

from __future__ import annotations

from html import escape

from ..trace import Trace
from .document import Document, Line, Part, build
from .formula import Precision
from .mathml import to_mathml

CSS = """
.stepgrad{font-family:Georgia,'Times New Roman',serif;color:#1d1d1f;line-height:1.45;max-width:60rem;margin:0 auto;padding:1rem 1.5rem}
.stepgrad h1{font-size:1.7rem;margin:.2rem 0}
.stepgrad h2{font-size:1.3rem;border-bottom:1px solid #ccd;padding-bottom:.2rem;margin-top:2rem}
.stepgrad h3{font-size:1.05rem;margin:1.2rem 0 .4rem;color:#345}
.stepgrad .sub,.stepgrad .intro{color:#555;font-style:italic}
.stepgrad figure{margin:1rem 0;overflow-x:auto}.stepgrad figure svg{max-width:100%;height:auto}
.stepgrad figcaption{font-size:.85rem;color:#555}
.stepgrad table.given{border-collapse:collapse}.stepgrad table.given td{padding:.15rem .9rem;border-bottom:1px solid #eee}
.stepgrad .step{display:grid;grid-template-columns:max-content 1fr;column-gap:.4rem;row-gap:.25rem;margin:.5rem 0 .9rem;
  padding:.3rem .6rem;border-left:3px solid #c8d6ea;break-inside:avoid;overflow-x:auto}
.stepgrad .step .value math{color:#0b4f9c}.stepgrad .note{grid-column:2;font-size:.9rem;color:#555;font-style:italic}
.stepgrad .paths{grid-column:2;font-size:.9rem;color:#333}.stepgrad .paths ul{margin:.2rem 0}
.stepgrad math{font-size:1.08em;math-style:normal}
@media print{
  .stepgrad{max-width:none;padding:0;font-size:11pt}
  .stepgrad h2{break-after:avoid}.stepgrad h3{break-after:avoid}
  .stepgrad .step{border-left:1px solid #999;overflow:visible}
  .stepgrad figure{break-inside:avoid}
  @page{margin:1.6cm}
}
"""


def _math(latex: str, display: bool = False) -> str:
    return to_mathml(latex, display)


def _bold(latex: str) -> str:
    return r"\mathbf{" + latex + "}"


def _step(line: Line) -> str:
    name = escape(line.name, quote=True)
    rows = [f'<div class="step" id="step-{name}" data-name="{name}">', f"<div>{_math(line.symbol)}</div>"]
    if not line.formula:
        rows.append(f'<div class="value">{_math("= " + _bold(line.value_latex))}</div>')
    else:
        for k, (expression, rule) in enumerate(line.rows):
            note = f' <span class="rule">{escape(rule)}</span>' if rule else ""
            rows.append(("<div></div>" if k else "") + f"<div>{_math('= ' + expression)}{note}</div>")
        if line.numbers:
            rows.append(f"<div></div><div>{_math('= ' + line.numbers)}</div>")
        rows.append(f'<div></div><div class="value">{_math("= " + _bold(line.value_latex))}</div>')
    if line.note:
        rows.append(f'<div></div><div class="note">{escape(line.note)}</div>')
    if line.paths:
        items = "".join(f"<li>{_math(p + ' = ' + v)}</li>" for p, v in line.paths)
        rows.append(f'<div></div><div class="paths">Summed over the {len(line.paths)} paths to the outputs:<ul>{items}</ul></div>')
    elif line.path_count:
        rows.append(f'<div></div><div class="paths">({line.path_count} paths to the outputs, summed through the deltas above.)</div>')
    rows.append("</div>")
    return "".join(rows)


def _part(part: Part) -> str:
    out = [f'<section id="part-{escape(part.key, quote=True)}"><h2>{escape(part.title)}</h2>']
    if part.intro:
        out.append(f'<p class="intro">{escape(part.intro)}</p>')
    if part.given:
        cells = [f'<td id="step-{escape(l.name, quote=True)}" data-name="{escape(l.name, quote=True)}">'
                 f"{_math(l.symbol + ' = ' + l.value_latex)}</td>" for g in part.groups for l in g.lines]
        rows = ["<tr>" + "".join(cells[i:i + 4]) + "</tr>" for i in range(0, len(cells), 4)]
        out.append('<table class="given">' + "".join(rows) + "</table>")
    else:
        for group in part.groups:
            if len(part.groups) > 1:
                out.append(f"<h3>{escape(group.title)}</h3>")
            out.extend(_step(line) for line in group.lines)
    out.append("</section>")
    return "\n".join(out)


def body(trace: Trace, digits: Precision = 9, diagram: bool = True, doc: Document | None = None) -> str:
    """The page's content, without <html>/<head>: a <div class="stepgrad"> with its own <style> (for notebooks)."""
    doc = doc or build(trace, digits)
    out = [f'<div class="stepgrad"><style>{CSS}</style>', f"<header><h1>{escape(doc.title)}</h1>"]
    if doc.subtitle:
        out.append(f'<p class="sub">{escape(doc.subtitle.capitalize())}. Values to {doc.digits} significant digits.</p>')
    out.append("</header>")
    if diagram:
        from ..diagram import network_from_trace, network_svg

        net = network_from_trace(trace)
        if net is not None:
            out.append(f"<figure>{network_svg(net, trace)}<figcaption>The network: each weight on its edge; "
                       "net and out of each neuron from the forward pass.</figcaption></figure>")
    out.extend(_part(part) for part in doc.parts)
    out.append("</div>")
    return "\n".join(out)


def render(trace: Trace, digits: Precision = 9, **_: object) -> str:
    """The trace as one self-contained HTML page."""
    doc = build(trace, digits)
    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8"/>\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1"/>\n'
            f"<title>{escape(doc.title)} · stepgrad</title>\n</head>\n<body>\n{body(trace, digits, doc=doc)}\n</body>\n</html>\n")


def history_html(history, digits: Precision = 6) -> str:
    """A training History as a small HTML table: E_total at up to a dozen recorded iterations."""
    rows = list(zip(history.recorded, history.errors))
    if len(rows) > 12:
        rows = rows[:: max(1, len(rows) // 10)][:11] + [rows[-1]]
    cells = "".join(f"<tr><td>{i:,}</td><td>{e:.{digits}g}</td></tr>" for i, e in rows)
    what = escape(history.optimizer if history.epochs else history.update_order)
    return (f'<table class="stepgrad-history"><caption>Training ({what}): E_total after '
            f"{history.start + history.iterations:,} iterations = {history.final_error:.{digits}g}</caption>"
            f'<tr><th>iteration</th><th>E_total</th></tr>{cells}</table>')
