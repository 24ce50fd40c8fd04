"""One self-contained HTML page: inline CSS, the network as inline SVG, every formula as MathML.

    stepgrad explain --format html -o step.html      # opens offline in any current browser

Nothing is fetched (no scripts, fonts or images from anywhere); it prints well (@media print).
Each quantity is an element with id="step-<name>" and data-name="<name>".

No number is cut: a long formula wraps between its top-level terms (one inline <math> per term), and a
term wider than the page scrolls in a box whose shaded edge shows it. On a phone the diagram keeps its
size and pans. The page ends with E_total before and after the update. A trace of more than BIG steps
gets collapsed sections (<details>, laid out only when opened) with one text line per step, so a
16-16-10 page writes in about 0.1 s and opens at once.
"""

from __future__ import annotations

from html import escape

from stepgrad.core.names import latex_symbol
from stepgrad.core.trace import Trace
from stepgrad.formats.document import Document, Line, Part, Table, build
from stepgrad.formats.formula import Precision
from stepgrad.formats.latex import paths_text, precision_words
from stepgrad.formats.mathml import to_mathml, to_mathml_terms

CSS = """
.stepgrad{font-family:Georgia,'Times New Roman',serif;color:#1d1d1f;line-height:1.45;max-width:60rem;margin:0 auto;
  padding:1rem 1.5rem;overflow-wrap:anywhere}
.stepgrad h1{font-size:1.7rem;margin:.2rem 0}
.stepgrad h2{font-size:1.3rem;border-bottom:1px solid #ccd;padding-bottom:.2rem;margin-top:2rem}
.stepgrad h3{font-size:1.05rem;margin:1.2rem 0 .4rem;color:#345}
.stepgrad .sub,.stepgrad .intro{color:#555;font-style:italic}
.stepgrad figure{margin:1rem 0}.stepgrad figure .pan{overflow-x:auto}.stepgrad figure svg{max-width:100%;height:auto;display:block}
.stepgrad figcaption{font-size:.85rem;color:#555}
.stepgrad table.given{border-collapse:collapse;display:block;overflow-x:auto}
.stepgrad table.given td{padding:.15rem .9rem;border-bottom:1px solid #eee}
.stepgrad .step{display:grid;grid-template-columns:max-content minmax(0,1fr);column-gap:.4rem;row-gap:.25rem;margin:.5rem 0 .9rem;
  padding:.3rem .6rem;border-left:3px solid #c8d6ea;break-inside:avoid}
.stepgrad .step>div{min-width:0}
.stepgrad .eq{overflow-x:auto;overscroll-behavior-x:contain;
  background:linear-gradient(to right,#fff 30%,#fff0) left/2rem 100% no-repeat local,
  linear-gradient(to left,#fff 30%,#fff0) right/2rem 100% no-repeat local,
  radial-gradient(farthest-side at 0 50%,#0003,#0000) left/.6rem 100% no-repeat scroll,
  radial-gradient(farthest-side at 100% 50%,#0003,#0000) right/.6rem 100% no-repeat scroll}
.stepgrad .step .value math{color:#0b4f9c}.stepgrad .note{grid-column:2;font-size:.9rem;color:#555;font-style:italic}
.stepgrad .paths{grid-column:2;font-size:.9rem;color:#333}.stepgrad .paths ul{margin:.2rem 0}
.stepgrad math{font-size:1.08em;math-style:normal}
.stepgrad details>summary{cursor:pointer;font-size:1.3rem;font-weight:bold;margin-top:1.5rem}
.stepgrad .lines{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem;margin:.3rem 0;padding:0;list-style:none}
.stepgrad .lines li{padding:.1rem 0 .1rem 2em;text-indent:-2em;border-bottom:1px solid #f0f0f0}
.stepgrad table.compare{border-collapse:collapse;margin:.5rem 0}
.stepgrad table.compare td,.stepgrad table.compare th{padding:.2rem .8rem;border-bottom:1px solid #ddd;text-align:left}
@media (max-width:40rem){
  .stepgrad{padding:.6rem .7rem}
  .stepgrad figure svg{max-width:none;width:auto}
  .stepgrad .step{padding:.2rem .3rem}
}
@media print{
  .stepgrad{max-width:none;padding:0;font-size:11pt}
  .stepgrad h2{break-after:avoid}.stepgrad h3{break-after:avoid}
  .stepgrad .step{border-left:1px solid #999}.stepgrad .eq{overflow:visible;background:none}
  .stepgrad figure{break-inside:avoid}
  @page{margin:1.6cm}
}
"""


def _math(latex: str, display: bool = False) -> str:
    return to_mathml(latex, display)


def _terms(latex: str) -> str:
    """A formula the browser may wrap between its top-level terms (one inline <math> per term)."""
    return "<wbr/>".join(to_mathml_terms(latex))


def _bold(latex: str) -> str:
    return r"\mathbf{" + latex + "}"


def _step(line: Line) -> str:
    name = escape(line.name, quote=True)
    rows = [f'<div class="step" id="step-{name}" data-name="{name}">', f"<div>{_math(line.symbol)}</div>"]
    if not line.formula:
        rows.append(f'<div class="value eq">{_math("= " + _bold(line.value_latex))}</div>')
    else:
        for k, (expression, rule) in enumerate(line.rows):
            note = f' <span class="rule">{escape(rule)}</span>' if rule else ""
            rows.append(("<div></div>" if k else "") + f'<div class="eq">{_terms("= " + expression)}{note}</div>')
        if line.numbers:
            rows.append(f'<div></div><div class="eq">{_terms("= " + line.numbers)}</div>')
        rows.append(f'<div></div><div class="value eq">{_math("= " + _bold(line.value_latex))}</div>')
    if line.note:
        rows.append(f'<div></div><div class="note">{escape(line.note)}</div>')
    if line.paths:
        items = "".join(f'<li class="eq">{_terms(p + " = " + v)}</li>' for p, v in line.paths)
        rows.append(f'<div></div><div class="paths">{escape(paths_text(line))}<ul>{items}</ul></div>')
    elif line.path_count:
        rows.append(f'<div></div><div class="paths">({line.path_count} paths to the outputs, summed through the deltas above.)</div>')
    rows.append("</div>")
    return "".join(rows)


def _sample_table(table: Table) -> str:
    """The other samples' values of sample 1's quantities: a row per quantity, a column per sample."""
    head = "<tr><th></th>" + "".join(f"<th>{_math(c)}</th>" for c in table.columns) + "</tr>"
    rows = ["<tr><th>" + _math(label) + "</th>" + "".join(
        f'<td id="step-{escape(x.name, quote=True)}" data-name="{escape(x.name, quote=True)}">{_math(x.value_latex)}</td>'
        if x is not None else "<td></td>" for x in cells) + "</tr>" for label, cells in table.rows]
    return '<table class="given samples">' + head + "".join(rows) + "</table>"


def _plan_step(line: Line) -> str:
    """A plan line: like a step, without an id (the step itself comes later with its numbers)."""
    return (f'<div class="step"><div>{_math(line.symbol)}</div>'
            f'<div class="eq">{_terms("= " + line.formula)}</div></div>')


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
        if part.plan:
            out.append('<div class="plan"><p><b>The plan.</b> The chain rule this part works out; then each factor, '
                       "one at a time.</p>" + "".join(_plan_step(line) for line in part.plan) + "</div>")
        for group in part.groups:
            if len(part.groups) > 1:
                out.append(f"<h3>{escape(group.title)}</h3>")
            if group.table is not None:
                out.append(_sample_table(group.table))
            out.extend(_step(line) for line in group.lines)
    out.append("</section>")
    return "\n".join(out)


BIG = 600  # more steps than this: sections are collapsed and each step is one text line


def _compact_part(part: Part, steps: dict, trace: Trace, digits: Precision) -> str:
    """A collapsed section for big traces: one text line per step, laid out only when opened."""
    from stepgrad.formats.formula import equation

    items = []
    for group in part.groups:
        for line in list(group.lines) + (group.table.lines if group.table is not None else []):
            name = escape(line.name, quote=True)
            step = steps.get(line.name)
            text = equation(step, trace, digits, "text") if step is not None else f"{line.name} = {line.value_text}"
            items.append(f'<li id="step-{name}" data-name="{name}">{escape(text)}</li>')
    count = len(items)
    return (f'<details id="part-{escape(part.key, quote=True)}"><summary>{escape(part.title)} '
            f'<small>({count:,} {"step" if count == 1 else "steps"})</small></summary>'
            + (f'<p class="intro">{escape(part.intro)}</p>' if part.intro else "")
            + f'<ol class="lines">{"".join(items)}</ol></details>')


def _comparison(trace: Trace, digits: Precision) -> str:
    """The page's last word: the total error before and after the update, and the change."""
    from stepgrad.core.names import TOTAL, updated
    from stepgrad.formats.formula import number

    try:
        before, after = float(trace.lookup(TOTAL)), float(trace.lookup(updated(TOTAL)))
    except KeyError:
        return ""
    change = after - before
    share = f" ({number(100 * change / before, 3)} %)" if before else ""
    rows = [(TOTAL, "before the update", number(before, digits)), (updated(TOTAL), "after the update", number(after, digits))]
    cells = "".join(f"<tr><td>{_math(latex_symbol(n))}</td><td>{what}</td><td>{escape(v)}</td></tr>" for n, what, v in rows)
    verdict = "The update lowered the total error" if change < 0 else "The update did not lower the total error"
    return (f'<section id="part-compare"><h2>Before and after</h2><table class="compare">{cells}'
            f"<tr><th colspan=\"2\">change</th><th>{escape(number(change, digits))}{escape(share)}</th></tr></table>"
            f'<p class="intro">{verdict}.</p></section>')


def body(trace: Trace, digits: Precision = 9, diagram: bool = True, doc: Document | None = None) -> str:
    """The page's content, without <html>/<head>: a <div class="stepgrad"> with its own <style> (for notebooks)."""
    doc = doc or build(trace, digits)
    steps = {step.name: step for section in trace.sections for step in section.steps}
    big = len(steps) > BIG
    out = [f'<div class="stepgrad"><style>{CSS}</style>', f"<header><h1>{escape(doc.title)}</h1>"]
    if doc.subtitle:
        out.append(f'<p class="sub">{escape(doc.subtitle.capitalize())}. Values to {precision_words(doc.digits)}.</p>')
    if big:
        out.append(f'<p class="sub">{len(steps):,} steps: each section opens on a click and shows one line per step; '
                   "explain --only NAME --format html gives the full formulas of the steps you choose.</p>")
    out.append("</header>")
    if diagram:
        from stepgrad.pictures.diagram import network_from_trace, network_svg

        net = network_from_trace(trace)
        if net is not None:
            out.append(f'<figure><div class="pan">{network_svg(net, trace)}</div><figcaption>{_caption(net)} On a narrow '
                       "screen the picture keeps its size: swipe it sideways.</figcaption></figure>")
    if big:
        out.extend(_compact_part(part, steps, trace, digits) for part in doc.parts)
    else:
        out.extend(_part(part) for part in doc.parts)
    out.append(_comparison(trace, digits))
    out.append("</div>")
    return "\n".join(out)


def _caption(net) -> str:
    """What the diagram shows, and what it leaves out (stepgrad.pictures.diagram labels up to 40 weights)."""
    weights = sum(a * b for a, b in zip(net.layers, net.layers[1:]))
    if weights > 40:
        return (f"The network: each of its {weights} weights as an edge (colour: sign, darker and wider: larger) and a "
                "line per layer with the range of its values. Too many to label: the weights' values, the biases and "
                "each neuron's net and out are left out of the picture (hover an edge for its value); the sections "
                "below give every one.")
    sample = " of the first sample" if net.inputs is None or len(net.inputs) > 1 else ""
    return (f"The network: each weight on its edge (colour: sign, width: size); net and out of each neuron{sample} "
            "from the forward pass.")


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
