"""HTML and LaTeX writers of a layer-table explanation's blocks (formats/maps.py).

HTML: one self-contained page with the house CSS; each grid and table scrolls sideways in its own
box and each formula wraps between its terms, so nothing overflows a 390 px phone. LaTeX: an
article (pdflatex); grids are arrays scaled down to the line width when wider, long formulas break
before a top-level =, + or -.
"""

from __future__ import annotations

from html import escape as html_escape

from stepgrad.core.trace import Trace
from stepgrad.formats import latex as tex
from stepgrad.formats.formula import Precision
from stepgrad.formats.html import CSS
from stepgrad.formats.maps import Block, Equations, Grid, Heading, Paragraph, Table
from stepgrad.formats.maps_seq import blocks
from stepgrad.formats.mathml import to_mathml_terms

TITLE = "One training step of a layer-table network"
EXTRA_CSS = """
.stepgrad .grid{display:block;overflow-x:auto;border-collapse:collapse;margin:.2rem 0 .8rem;max-width:100%}
.stepgrad .grid td,.stepgrad .grid th{padding:.1rem .55rem;text-align:right;font-variant-numeric:tabular-nums;
  border-bottom:1px solid #eee;white-space:nowrap}
.stepgrad .gridtitle{font-weight:bold;margin:.7rem 0 0;overflow-wrap:anywhere}
.stepgrad .grid th{color:#667;font-weight:normal}
@media (max-width:480px){.stepgrad .grid{font-size:.8rem}.stepgrad .grid td,.stepgrad .grid th{padding:.1rem .25rem}}
"""


def _chunks(latex: str) -> list[str]:
    """The formula cut where a phone may wrap it inside parentheses (which to_mathml_terms never breaks): after
    each argument of a max(...) (a max-pool's window) and before a + or - inside (...) (a cross-entropy's
    terms); never inside {...} or \\left(...\\right). The pieces side by side read as the whole formula."""
    chunks: list[str] = []
    current, braces, inside = "", 0, list[str]()
    for k, char in enumerate(latex):
        if braces == 0 and inside and "left" not in inside and latex[k:k + 3] in (" + ", " - ") and current.strip():
            chunks.append(current)
            current = ""
        current += char
        if char in "{}":
            braces += 1 if char == "{" else -1
        elif char == "(":
            inside.append("max" if latex.endswith(r"\max(", 0, k + 1) else "left" if latex.endswith(
                r"\left(", 0, k + 1) else "(")
        elif char == ")" and inside:
            inside.pop()
        elif char == "," and braces == 0 and inside[-1:] == ["max"] and latex[k + 1:k + 2] == " ":
            chunks.append(current)
            current = ""
    return [*chunks, current] if current.strip() else chunks


def _equation_html(latex: str, note: str) -> str:
    pieces = "<wbr/>".join(term for chunk in _chunks(latex) for term in to_mathml_terms(chunk))
    extra = f'<div class="note">{html_escape(note)}</div>' if note else ""
    return f'<div class="step" style="display:block"><div class="eq">{pieces}</div>{extra}</div>'


def _table_html(caption: str, header: tuple[str, ...], rows, row_labels: tuple[str, ...] | None = None) -> str:
    head = "".join(f"<th>{html_escape(h)}</th>" for h in header)
    body = []
    for k, row in enumerate(rows):
        label = f"<th>{html_escape(row_labels[k])}</th>" if row_labels is not None else ""
        body.append("<tr>" + label + "".join(f"<td>{html_escape(str(c))}</td>" for c in row) + "</tr>")
    title = f'<div class="gridtitle">{html_escape(caption)}</div>' if caption else ""  # above, never squeezed
    return f'{title}<table class="grid"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def html(items: list[Block], title: str = TITLE) -> str:
    """A self-contained HTML page."""
    out = [f'<div class="stepgrad"><h1>{html_escape(title)}</h1>']
    for item in items:
        if isinstance(item, Heading):
            out.append(f"<h2>{html_escape(item.text)}</h2>")
        elif isinstance(item, Paragraph):
            out.append(f"<p>{html_escape(item.text)}</p>")
        elif isinstance(item, Equations):
            out += [_equation_html(line, note) for line, note in zip(item.latex, item.notes)]
        elif isinstance(item, Grid):
            out.append(_table_html(item.title, ("", *item.column_labels), item.rows, item.row_labels))
        elif isinstance(item, Table):
            out.append(_table_html("", item.header, item.rows))
    out.append("</div>")
    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8"/>\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1"/>\n'
            f"<title>{html_escape(title)} · stepgrad</title>\n<style>{CSS}{EXTRA_CSS}</style>\n</head>\n<body>\n"
            + "\n".join(out) + "\n</body>\n</html>\n")


def _cell(value: str) -> str:
    return value.replace("e-", r"\mathrm{e}{-}").replace("e+", r"\mathrm{e}{+}")


def _fit(body: str) -> str:
    """Scaled down to the line width when wider (graphicx, loaded by tikz)."""
    return r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{" + body + "}"


def _narrow(piece: str) -> str:
    """A formula piece that no + or - breaks (a long max(...)), scaled to fit the line."""
    if len(piece) <= 2 * tex.WIDTH + 40:
        return piece
    return r"\resizebox{\ifdim\width>0.9\linewidth 0.9\linewidth\else\width\fi}{!}{$\displaystyle " + piece + "$}"


def latex(items: list[Block], title: str = TITLE) -> str:
    """A LaTeX article (pdflatex)."""
    out = [tex.PREAMBLE, f"\\title{{{tex.escape(title)}}}", r"\author{stepgrad}", r"\date{}", r"\begin{document}",
           r"\maketitle", r"\sloppy"]
    for item in items:
        if isinstance(item, Heading):
            out.append(f"\\section*{{{tex.escape(item.text)}}}")
        elif isinstance(item, Paragraph):
            out.append(tex.escape(item.text) + "\n")
        elif isinstance(item, Equations):
            for line, note in zip(item.latex, item.notes):
                pieces = [_narrow(p) for p in tex.wrap(line, tex.WIDTH, at=(" = ", " + ", " - "))]
                rows = " \\\\\n".join(("&" if k == 0 else r"&\quad ") + p for k, p in enumerate(pieces))
                out.append("\\begin{align*}\n" + rows + "\n\\end{align*}")
                if note:
                    out.append(f"\\emph{{{tex.escape(note)}}}\n")
        elif isinstance(item, Grid):
            columns = "r|" + "r" * len(item.column_labels)
            lines = [" & ".join(["", *item.column_labels]) + r" \\ \hline"]
            lines += [" & ".join([label, *map(_cell, row)]) + r" \\" for label, row in zip(item.row_labels, item.rows)]
            array = f"$\\begin{{array}}{{{columns}}}\n" + "\n".join(lines) + "\n\\end{array}$"
            out.append(f"\\textbf{{{tex.escape(item.title)}}}\\\\[2pt]\n{_fit(array)}\n")
        elif isinstance(item, Table):
            spec = "l" * len(item.header)
            cells = [" & ".join(tex.escape(str(c)) for c in r) + r" \\" for r in (item.header, *item.rows)]
            out.append(f"{{\\small\\begin{{longtable}}{{{spec}}}\n" + cells[0] + r" \hline" + "\n" +
                       "\n".join(cells[1:]) + "\n\\end{longtable}}")
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"


def render_html(trace: Trace, digits: Precision = 9, full: bool = False, matrix: bool = False,
                derive: bool = False, **_: object) -> str:
    """A layer-table trace as one HTML page."""
    return html(blocks(trace, digits, full, matrix, derive))


def render_latex(trace: Trace, digits: Precision = 9, full: bool = False, matrix: bool = False,
                derive: bool = False, **_: object) -> str:
    """A layer-table trace as a LaTeX article."""
    return latex(blocks(trace, digits, full, matrix, derive))
