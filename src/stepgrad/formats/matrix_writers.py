r"""Writers of the matrix view (`stepgrad.tracing.matrix`): text, markdown, latex, slides, html and json.

    print(render_matrix(stepgrad.explain(net), "text"))

Each matrix is shown twice, side by side: its entries' scalar names and their values, so every
number is tied to its name in the scalar derivation (the legend). Writers only format.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape as html_escape

from stepgrad.core.errors import StepgradError
from stepgrad.core.names import latex_symbol
from stepgrad.core.trace import Trace
from stepgrad.formats.formula import Precision, number
from stepgrad.formats.latex import escape as latex_escape
from stepgrad.tracing.matrix import Equation, Matrix, MatrixView, matrix_view

FORMATS = ("text", "markdown", "latex", "slides", "html", "json")


def render_matrix(trace: Trace, fmt: str = "text", digits: Precision = 9) -> str:
    """The trace's step in matrix form, in `fmt` (one of FORMATS), at `digits` significant digits."""
    if fmt not in FORMATS:
        raise StepgradError(f"unknown format {fmt!r} for the matrix view; choose from {', '.join(FORMATS)}")
    view = matrix_view(trace)
    return {"text": text, "markdown": markdown, "latex": latex, "slides": slides, "html": html,
            "json": to_json}[fmt](view, digits)


def _operands(eq: Equation) -> list[Matrix]:
    """The result, then each operand once."""
    seen, shown = set(), [eq.result]
    for m in eq.operands:
        if m.symbol not in seen and m.symbol != eq.result.symbol:
            seen.add(m.symbol)
            shown.append(m)
    return shown


# -- text ---------------------------------------------------------------------------------------
def _grid(cells: list[list[str]]) -> list[str]:
    widths = [max(len(r[c]) for r in cells) for c in range(len(cells[0]))]
    return ["[ " + "  ".join(x.rjust(w) for x, w in zip(r, widths)) + " ]" for r in cells]


def _text_matrix(m: Matrix, digits: Precision) -> list[str]:
    names = _grid([list(r) for r in m.names])
    values = _grid([[number(v, digits) for v in r] for r in m.values])
    head = f"{m.symbol} = "
    mid = len(names) // 2
    lines = []
    for i, (n, v) in enumerate(zip(names, values)):
        lead = head if i == mid else " " * len(head)
        lines.append(f"{lead}{n}{' = ' if i == mid else '   '}{v}")
    return lines


def text(view: MatrixView, digits: Precision = 9) -> str:
    """Plain text: each equation, then every matrix as [names] = [values]."""
    out = [f"One training step in matrix form ({view.meta.get('samples', 1)} sample(s) as columns)", ""]
    for block in view.blocks:
        out += [block.title, "-" * len(block.title)]
        for eq in block.equations:
            out.append(f"{eq.result.symbol} = {eq.text}" + (f"   ({eq.note})" if eq.note else ""))
            for m in _operands(eq):
                out += ["    " + line for line in _text_matrix(m, digits)]
            out.append("")
    return "\n".join(out).rstrip() + "\n"


# -- LaTeX (shared by markdown, latex and slides) ----------------------------------------------
def _bmatrix(cells: list[list[str]]) -> str:
    return r"\begin{bmatrix}" + r" \\ ".join(" & ".join(r) for r in cells) + r"\end{bmatrix}"


def _latex_matrix(m: Matrix, digits: Precision) -> str:
    names = _bmatrix([[latex_symbol(n) for n in r] for r in m.names])
    values = _bmatrix([[number(v, digits, "latex") for v in r] for r in m.values])
    return f"{m.latex} = {names} = {values}"


def _latex_equation(eq: Equation) -> str:
    return f"{eq.result.latex} = {eq.latex}"


def markdown(view: MatrixView, digits: Precision = 9) -> str:
    """Markdown with $$ math (GitHub, Jupyter, pandoc)."""
    out = ["# One training step in matrix form", ""]
    for block in view.blocks:
        out += [f"## {block.title}", ""]
        for eq in block.equations:
            out += [f"$$ {_latex_equation(eq)} $$", ""]
            if eq.note:
                out += [f"*{eq.note}*", ""]
            out += [f"$$ {_latex_matrix(m, digits)} $$\n" for m in _operands(eq)]
    return "\n".join(out).rstrip() + "\n"


_PREAMBLE = r"""\usepackage[utf8]{inputenc}
\usepackage{amsmath,amssymb}
\setcounter{MaxMatrixCols}{64}
"""


def _latex_body(view: MatrixView, digits: Precision, heading: str) -> list[str]:
    out = []
    for block in view.blocks:
        out.append(heading.replace("TITLE", latex_escape(block.title)))
        for eq in block.equations:
            out.append(r"\[ " + _latex_equation(eq) + r" \]")
            if eq.note:
                out.append(r"\emph{" + latex_escape(eq.note) + "}")
            for m in _operands(eq):
                out.append(r"\[ " + _latex_matrix(m, digits) + r" \]")
        if "frame" in heading:
            out.append(r"\end{frame}")
    return out


def latex(view: MatrixView, digits: Precision = 9) -> str:
    """A complete LaTeX article; compiles with pdflatex as it is."""
    out = [r"\documentclass[10pt]{article}", r"\usepackage[a4paper,margin=1.5cm,landscape]{geometry}", _PREAMBLE,
           r"\setlength{\parindent}{0pt}", r"\begin{document}", r"\section*{One training step in matrix form}"]
    out += _latex_body(view, digits, r"\subsection*{TITLE}")
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"


def slides(view: MatrixView, digits: Precision = 9) -> str:
    """A beamer deck, a frame (breaking as needed) per block; compiles with pdflatex."""
    out = [r"\documentclass[aspectratio=169,9pt]{beamer}", _PREAMBLE, r"\setbeamertemplate{navigation symbols}{}",
           r"\begin{document}", r"\begin{frame}{One training step in matrix form}",
           f"Samples are the columns ({view.meta.get('samples', 1)}).", r"\end{frame}"]
    out += _latex_body(view, digits, r"\begin{frame}[allowframebreaks]{TITLE}")
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"


# -- HTML ---------------------------------------------------------------------------------------
_CSS = """.stepgrad-matrix{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;max-width:72rem;margin:0 auto;
padding:0 .2rem;color:#1d1d1f;line-height:1.4}
.stepgrad-matrix h1{font-size:1.35rem;margin:.8rem 0}
.stepgrad-matrix h2{font-size:1.1rem;border-bottom:1px solid #ccd;margin:1.2rem 0 .4rem}
.stepgrad-matrix .eq{display:flex;margin:.7rem 0 .2rem;overflow-x:auto}.stepgrad-matrix .note{color:#555;font-style:italic;font-size:.9rem}
.stepgrad-matrix .ms{display:flex;flex-wrap:wrap;gap:.2rem 1.6rem;align-items:center}
.stepgrad-matrix .m{display:flex;flex-wrap:wrap;align-items:center;gap:0 .4rem;flex:0 0 auto;max-width:100%;overflow-x:auto;padding:.2rem 0}
.stepgrad-matrix .m>span{display:flex}
.stepgrad-matrix math{font-size:1rem;margin:0;text-align:left}.stepgrad-matrix .names math{color:#4a5360}
.stepgrad-matrix mtd{padding:.15rem .4rem}
.stepgrad-matrix section{content-visibility:auto;contain-intrinsic-size:auto 60rem}"""


def _mn(x: float, digits: Precision) -> str:
    """One number as MathML: a sign joined to it, powers of ten typeset (3.51 × 10⁻⁵)."""
    text = number(x, digits)
    mantissa, _, exponent = text.partition("e")
    out = f"<mn>{mantissa.replace('-', '&#x02212;')}</mn>"
    if exponent:
        out += f"<mo>&#x000D7;</mo><msup><mn>10</mn><mn>{str(int(exponent)).replace('-', '&#x02212;')}</mn></msup>"
    return out


def _table(cells: list[list[str]], names: Sequence[Sequence[str]], values: list[list[str]] | None = None) -> str:
    """A bracketed matrix; each entry carries its scalar name (data-name) and, for values, `name = value` (title)."""
    rows = []
    for r, row in enumerate(cells):
        tds = []
        for c, cell in enumerate(row):
            name = html_escape(names[r][c])
            title = f"{name} = {html_escape(values[r][c])}" if values else name
            tds.append(f'<mtd data-name="{name}" title="{title}">{cell}</mtd>')
        rows.append("<mtr>" + "".join(tds) + "</mtr>")
    return f'<mrow><mo>[</mo><mtable>{"".join(rows)}</mtable><mo>]</mo></mrow>'


def _html_matrix(m: Matrix, digits: Precision) -> str:
    from stepgrad.formats.mathml import mathml_inner

    names = [[mathml_inner(latex_symbol(n)) for n in r] for r in m.names]
    values = [[_mn(v, digits) for v in r] for r in m.values]
    shown = [[number(v, digits) for v in r] for r in m.values]
    math = '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">'
    symbol = mathml_inner(m.latex)
    return (f'<div class="m"><span class="names">{math}<mrow>{symbol}<mo>=</mo>{_table(names, m.names)}</mrow></math></span>'
            f'<span class="values">{math}<mrow><mo>=</mo>{_table(values, m.names, shown)}</mrow></math></span></div>')


def fragment(view: MatrixView, digits: Precision = 9, drawn: Sequence[str] | None = None) -> str:
    """The view as an HTML fragment (its own scoped style), for a page or a notebook: equations and
    bracketed matrices typeset in MathML, each entry's scalar name beside its value.

    `drawn` (block keys) draws only those blocks; every other block is its heading in a section marked
    data-lazy, for a page that asks for it when it is scrolled to."""
    from stepgrad.formats.mathml import to_mathml

    out = [f'<div class="stepgrad-matrix"><style>{_CSS}</style>']
    for block in view.blocks:
        if drawn is not None and block.key not in drawn:
            entries = sum(len(m.values) * len(m.values[0]) for eq in block.equations for m in _operands(eq))
            out.append(f'<section data-block="{html_escape(block.key)}" data-lazy="{entries}">'
                       f"<h2>{html_escape(block.title)}</h2></section>")
            continue
        out.append(f'<section data-block="{html_escape(block.key)}"><h2>{html_escape(block.title)}</h2>')
        for eq in block.equations:
            out.append(f'<div class="eq" title="{html_escape(eq.result.symbol)} = {html_escape(eq.text)}">'
                       f"{to_mathml(_latex_equation(eq), display=True)}</div>")
            if eq.note:
                out.append(f'<div class="note">{html_escape(eq.note)}</div>')
            out.append('<div class="ms">' + "".join(_html_matrix(m, digits) for m in _operands(eq)) + "</div>")
        out.append("</section>")
    out.append("</div>")
    return "\n".join(out)


def html(view: MatrixView, digits: Precision = 9) -> str:
    """One self-contained HTML page that fits a phone; each entry shows its value, its scalar name beside it."""
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1"><title>stepgrad: matrix form</title>'
            '<style>body{margin:0;padding:.6rem}</style></head><body>\n'
            + fragment(view, digits).replace("<section", "<h1>One training step in matrix form</h1><section", 1)
            + "\n</body></html>\n")


def to_json(view: MatrixView, digits: Precision = 9) -> str:
    """The view as JSON: blocks of equations, each matrix with its names and full-precision values."""
    return json.dumps(view.to_dict(), indent=2, allow_nan=False) + "\n"
