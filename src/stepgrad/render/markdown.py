"""Markdown for GitHub and Jupyter: a heading per section, math in $…$ and $$…$$.

    stepgrad explain --format markdown -o step.md

Each quantity is one display block, aligned: symbol = formula, = numbers, = value.
"""

from __future__ import annotations

from .document import Document, Line, build
from .formula import Precision
from .latex import escape as latex_escape


def _escape(text: str) -> str:
    """Text safe in Markdown: characters that would start emphasis, code or HTML are escaped."""
    return "".join("\\" + c if c in "\\`*_[]<>#|$" else c for c in text)


def _equation(line: Line) -> str:
    if not line.formula:
        return f"$${line.symbol} = {line.value_latex}$$"
    return ("$$\n\\begin{aligned}\n"
            + "".join(f"{line.symbol if k == 0 else ''} &= {expression}"
                      + (rf" && \text{{{latex_escape(rule)}}}" if rule else "") + " \\\\\n"
                      for k, (expression, rule) in enumerate(line.rows))
            + (f"&= {line.numbers} \\\\\n" if line.numbers else "")
            + f"&= \\mathbf{{{line.value_latex}}}\n"
            "\\end{aligned}\n$$")


def _paths(line: Line) -> list[str]:
    if line.paths:
        return [f"Summed over the {len(line.paths)} paths to the outputs:", ""] + [
            f"- ${product} = {value}$" for product, value in line.paths] + [""]
    if line.path_count:
        return [f"({line.path_count} paths to the outputs, summed through the deltas above.)", ""]
    return []


def document(doc: Document) -> str:
    """The Markdown source of the document."""
    out = [f"# {_escape(doc.title)}", ""]
    if doc.subtitle:
        out += [_escape(doc.subtitle.capitalize()) + f". Values to {doc.digits} significant digits.", ""]
    for part in doc.parts:
        out += [f"## {_escape(part.title)}", ""]
        if part.intro:
            out += [_escape(part.intro), ""]
        if part.given:
            out += ["| quantity | value |", "|---|---:|"]
            out += [f"| ${l.symbol}$ | ${l.value_latex}$ |" for g in part.groups for l in g.lines]
            out.append("")
            continue
        for group in part.groups:
            if len(part.groups) > 1:
                out += [f"### {_escape(group.title)}", ""]
            for line in group.lines:
                out += [_equation(line), ""]
                if line.note:
                    out += [f"*{_escape(line.note)}*", ""]
                out += _paths(line)
    return "\n".join(out).rstrip() + "\n"


def render(trace, digits: Precision = 9, **_: object) -> str:
    """The trace as Markdown."""
    return document(build(trace, digits))
