"""Terminal text with rich: each section a heading, each step the deck's line
name = formula = numbers = value, hidden weights with every path to the outputs."""

from __future__ import annotations

import io

from rich.console import Console, Group
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from ..trace import Step, Trace
from .formula import Precision, derivation_rows, number, shows_numbers, substituted, symbolic

WIDTH = 110


def _step_lines(step: Step, trace: Trace, digits: Precision) -> list[Text]:
    value = number(step.value, digits)
    if not step.text:
        return [Text.assemble((step.name, "bold cyan"), " = ", (value, "bold"))]
    line = Text.assemble((step.name, "bold cyan"), " = ")
    rows = derivation_rows(step) or [(symbolic(step), "")]
    for k, (expression, rule) in enumerate(rows):
        if k:
            line.append("\n    = ")
        line.append(expression, style="dim")
        if rule:
            line.append(f"   ({rule})", style="italic dim")
    if shows_numbers(step):
        line.append("\n    = ")
        line.append(substituted(step, trace, digits))
    line.append(" = ")
    line.append(value, style="bold green")
    if step.note:
        line.append(f"   ({step.note})", style="italic dim")
    lines = [line]
    if step.paths:
        lines.append(Text(f"    summed over {len(step.paths)} paths to the outputs:", style="dim"))
        for p in step.paths:
            lines.append(Text("      " + " * ".join(p.factors) + " = " + number(p.value, digits), style="dim"))
    elif step.path_count:
        lines.append(Text(f"    ({step.path_count} paths to the outputs, summed through the deltas above)", style="dim"))
    return lines


def _given_table(steps: tuple[Step, ...], digits: Precision) -> Table:
    table = Table(show_header=False, box=None, padding=(0, 2))
    row: list[str] = []
    for s in steps:
        row.append(f"[cyan]{s.name}[/] = {number(s.value, digits)}")
        if len(row) == 4:
            table.add_row(*row)
            row = []
    if row:
        table.add_row(*row)
    return table


def rich_renderable(trace: Trace, digits: Precision = 9) -> Group:
    """The whole trace as one rich renderable (print it to a Console)."""
    parts: list = []
    for section in trace.sections:
        parts.append(Rule(Text(section.title, style="bold"), align="left"))
        if section.intro:
            parts.append(Text(section.intro, style="italic"))
        if section.key == "given":
            parts.append(_given_table(section.steps, digits))
            continue
        for step in section.steps:
            parts.extend(_step_lines(step, trace, digits))
    return Group(*parts)


def render(trace: Trace, digits: Precision = 9, width: int = WIDTH, color: bool = False, **_: object) -> str:
    """The trace as plain text (no colour codes unless `color`)."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, no_color=not color, highlight=False)
    console.print(rich_renderable(trace, digits))
    return buffer.getvalue()
