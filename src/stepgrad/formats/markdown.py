"""Markdown for GitHub and Jupyter: a heading per section, math in $…$ and $$…$$.

    stepgrad explain --format markdown -o step.md     # also writes step.svg, the network, beside it

The given values are compact tables by kind (a weight matrix per layer, in blocks of a few columns).
Each quantity is one display block, aligned: symbol = formula, = numbers, = value; a long sum breaks
between its terms inside the `aligned` block. `diagram="step.svg"` links the network's picture.
"""

from __future__ import annotations

from stepgrad.formats.document import Document, Line, Table, build
from stepgrad.formats.formula import Precision
from stepgrad.formats.latex import column_rule, equation_rows, paths_text, precision_words

WIDTH = 70  # characters shown in a formula row before it breaks at a top-level + or -
COLUMNS = 6  # matrix columns per Markdown table


def _escape(text: str) -> str:
    """Text safe in Markdown: characters that would start emphasis, code or HTML are escaped."""
    return "".join("\\" + c if c in "\\`*_[]<>#|$" else c for c in text)


def _equation(line: Line) -> str:
    if not line.formula:
        return f"$${line.symbol} = {line.value_latex}$$"
    rows = equation_rows(line, WIDTH, beside=column_rule)  # MathJax: no \tag in aligned
    return "$$\n\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}\n$$"


def _paths(line: Line) -> list[str]:
    if line.paths:
        return [paths_text(line), ""] + [f"- ${product} = {value}$" for product, value in line.paths] + [""]
    if line.path_count:
        return [paths_text(line), ""]
    return []


def _table(table: Table) -> list[str]:
    """A given-values table in blocks of COLUMNS columns: a row per neuron (or sample), $name = value$ cells."""
    out = [f"**{_escape(table.title)}**", ""]
    labelled = any(label for label, _ in table.rows)
    for c in range(0, len(table.columns), COLUMNS):
        heads = [f"${h}$" if h else " " for h in table.columns[c:c + COLUMNS]]
        out.append("| " + " | ".join(([" "] if labelled else []) + heads) + " |")
        out.append("|" + "---|" * (len(heads) + labelled))
        for label, cells in table.rows:
            shown = [(f"${x.value_latex}$" if table.style == "value" else f"${x.symbol} = {x.value_latex}$")
                     if x is not None else " " for x in cells[c:c + COLUMNS]]
            out.append("| " + " | ".join(([f"${label}$" if "_" in label else label or " "] if labelled else [])
                                        + shown) + " |")
        out.append("")
    return out


def document(doc: Document, diagram: str | None = None) -> str:
    """The Markdown source of the document (with `diagram`, a link to the network's SVG)."""
    out = [f"# {_escape(doc.title)}", ""]
    if doc.subtitle:
        out += [_escape(doc.subtitle.capitalize()) + f". Values to {precision_words(doc.digits)}.", ""]
    if diagram:
        out += [f"![The network]({diagram})", ""]
    for part in doc.parts:
        out += [f"## {_escape(part.title)}", ""]
        if part.intro:
            out += [_escape(part.intro), ""]
        if part.given:
            if part.tables:
                out += [row for table in part.tables for row in _table(table)]
            else:
                out += [_equation(line) + "\n" for g in part.groups for line in g.lines]
            continue
        if part.plan:
            out += ["**The plan.** The chain rule this part works out; then each factor, one at a time.", ""]
            out += [_equation(line) + "\n" for line in part.plan]
        for group in part.groups:
            if len(part.groups) > 1:
                out += [f"### {_escape(group.title)}", ""]
            if group.table is not None:
                out += _table(group.table)[2:]  # its heading is the group's
            for line in group.lines:
                out += [_equation(line), ""]
                if line.note:
                    out += [f"*{_escape(line.note)}*", ""]
                out += _paths(line)
    return "\n".join(out).rstrip() + "\n"


def render(trace, digits: Precision = 9, diagram: str | None = None, **_: object) -> str:
    """The trace as Markdown; `diagram` is the file name of the network's SVG to link (written beside it)."""
    return document(build(trace, digits), diagram)
