r"""A complete LaTeX article (amsmath) of the derivation; compiles with pdflatex as it is.

    stepgrad explain --format latex -o step.tex && pdflatex step.tex

Each quantity is an align* block: symbol = formula, = numbers, = value (bold). Long sums break
at their top-level + signs so a 64-input neuron still fits the page.
"""

from __future__ import annotations

import re

from .document import Document, Line, Part, build
from .formula import Precision

_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
            "^": r"\^{}", "_": r"\_", "%": r"\%", "~": r"\~{}", "→": r"$\to$", "−": "-", "×": r"$\times$",
            "∂": r"$\partial$", "η": r"$\eta$", "…": r"\dots{}", "–": "--", "—": "---"}

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[utf8]{inputenc}
\usepackage[a4paper,margin=2cm]{geometry}
\usepackage{amsmath,amssymb}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.5em}
"""


def escape(text: str) -> str:
    """Text safe for LaTeX's text mode (names like dE_total/dw5, notes, titles)."""
    return "".join(_SPECIAL.get(c, c) for c in text)


def _visible(latex: str) -> int:
    """Roughly how many characters `latex` shows (commands and braces take no room)."""
    return len(re.sub(r"\\[a-zA-Z]+|[{}_^ ]", "", latex))


def wrap(latex: str, width: int = 60) -> list[str]:
    """Pieces of a long formula, each about `width` characters shown, cut before top-level ' + ' / ' - '
    (never inside braces or \\left..\\right)."""
    cuts, depth = [], 0
    for i, c in enumerate(latex):
        if c == "{" or latex.startswith(r"\left", i):
            depth += 1
        elif c == "}" or latex.startswith(r"\right", i):
            depth -= 1
        elif depth == 0 and latex.startswith((" + ", " - "), i):
            cuts.append(i)
    pieces, start, last = [], 0, None
    for cut in cuts + [len(latex)]:
        if last is not None and _visible(latex[start:cut]) > width:
            pieces.append(latex[start:last])
            start = last + 1
        last = cut
    pieces.append(latex[start:])
    return pieces


def equation_lines(line: Line, width: int = 60) -> list[str]:
    """The align* rows of one quantity (without the environment): 'w_{5}^{+} &= ...'."""
    if not line.formula:
        return [rf"{line.symbol} &= {line.value_latex}"]
    rows = []
    texts = [(t, rule) for t, rule in line.rows] + ([(line.numbers, "")] if line.numbers else [])
    for k, (text, rule) in enumerate(texts):
        pieces = wrap(text, width)
        for n, piece in enumerate(pieces):
            lhs = line.symbol if (k, n) == (0, 0) else ""
            comment = rf" && \text{{{escape(rule)}}}" if rule and n == len(pieces) - 1 else ""
            rows.append(lhs + (" &= " if n == 0 else r" &\quad ") + piece + comment)
    rows.append(rf"&= \mathbf{{{line.value_latex}}}")
    return rows


def given_table(lines: tuple[Line, ...], columns: int = 3) -> str:
    """Given values as an align* with `columns` pairs per row."""
    cells = [rf"{l.symbol} &= {l.value_latex}" for l in lines]
    rows = [" & ".join(cells[i:i + columns]) for i in range(0, len(cells), columns)]
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"


def paths_block(line: Line) -> str:
    """The paths from a hidden weight to the outputs whose products add up to its gradient."""
    if not line.paths:
        if line.path_count:
            return f"({line.path_count} paths to the outputs, summed through the deltas above.)\n"
        return ""
    rows = [rf"{product} &= {value}" for product, value in line.paths]
    return (f"Summed over the {len(line.paths)} paths to the outputs:\n"
            "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}\n")


def _part(part: Part) -> list[str]:
    out = [f"\\section{{{escape(part.title)}}}"]
    if part.intro:
        out.append(escape(part.intro) + "\n")
    if part.given:
        out.append(given_table(tuple(l for g in part.groups for l in g.lines)))
        return out
    for group in part.groups:
        if len(part.groups) > 1:
            out.append(f"\\subsection*{{{escape(group.title)}}}")
        for line in group.lines:
            out.append(f"% {escape(line.name)}\n\\begin{{align*}}\n" + " \\\\\n".join(equation_lines(line))
                       + "\n\\end{align*}")
            if line.note:
                out.append(f"\\emph{{{escape(line.note)}}}\n")
            out.append(paths_block(line))
    return out


def document(doc: Document) -> str:
    """The article's source."""
    out = [PREAMBLE, f"\\title{{{escape(doc.title)}}}", r"\author{stepgrad}", r"\date{}", r"\begin{document}",
           r"\maketitle", escape(doc.subtitle.capitalize() + ".") if doc.subtitle else "",
           f"Values are shown to {doc.digits} significant digits.\n"]
    for part in doc.parts:
        out.extend(_part(part))
    out.append(r"\end{document}")
    return "\n".join(o for o in out if o) + "\n"


def render(trace, digits: Precision = 9, **_: object) -> str:
    """The trace as a complete LaTeX article."""
    return document(build(trace, digits))
