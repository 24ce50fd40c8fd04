"""The checker's output: a rich table (first mistake highlighted, one-line summary) or JSON for graders."""

from __future__ import annotations

import json
from typing import Any

from stepgrad.core import names
from stepgrad.formats.escape import terminal
from stepgrad.formats.formula import number
from stepgrad.teach.check.verdicts import Report, Result

STYLES = {"correct": "green", "follows": "cyan", "close": "yellow", "wrong": "red", "unknown": "magenta",
          "unanswered": "red", "unreadable": "magenta"}


def _note(r: Result, digits: int) -> str:
    if r.verdict == "correct":
        return r.note or ""
    if r.verdict == "close":
        return r.diagnosis or f"rounding drift: relative error {r.relative_error:.1e}"
    if r.verdict == "follows":
        route = f" along the route {r.route}" if r.route and r.route != "chain" else ""
        return f"follows from your earlier values (error carried forward{route})"
    if r.verdict in ("unknown", "unreadable"):
        return r.diagnosis or ""
    if r.verdict == "unanswered":
        return "no value written"
    if r.verdict == "wrong":
        lines = [r.diagnosis or "no known mistake explains this value"]
        if r.formula:
            lines.append(r.formula)
        return "\n".join(lines)
    return ""


def _num(x: float | None, digits: int) -> str:
    return "" if x is None else number(x, digits)


WIDE = 110  # narrower than this, each answer is a few lines instead of a table row


class _Marked:
    """The report for a console: a table when there is room, else one block of lines per answer,
    so that no number or name is ever cut or folded mid-digit at any width."""

    def __init__(self, report: Report, digits: int) -> None:
        self.report, self.digits = report, digits

    def __rich_console__(self, console, options):
        yield _table(self.report, self.digits) if options.max_width >= WIDE else _blocks(self.report, self.digits)
        yield from _footer(self.report)


def rich_table(report: Report, digits: int = 9):
    """The report as a rich renderable: a table (or, on a narrow console, lines) and the summary line."""
    return _Marked(report, digits)


def _table(report: Report, digits: int):
    from rich.table import Table
    from rich.text import Text

    first = report.first_wrong
    table = Table(title=Text(f"stepgrad check: {terminal(report.source)}"), title_justify="left", show_lines=False)
    for header in ("line", "name", "given", "verdict", "expected", "from your values"):
        table.add_column(header, no_wrap=True, justify="right" if header == "line" else "left")
    table.add_column("note", ratio=1)
    for r in report.results:
        note = _note(r, digits)
        if r is first:
            note = "◀ first mistake. " + note
        # what the solution wrote is text: no markup of rich's, no terminal escape sequence
        table.add_row(str(r.line), Text(terminal(r.name)), Text(terminal(r.given)), Text(r.verdict, style=STYLES[r.verdict]),
                      _num(r.expected, digits),
                      _num(r.expected_from_own, digits) if r.verdict != "correct" else "",
                      Text(terminal(note)), style="bold" if r is first else None)
    return table


def _blocks(report: Report, digits: int):
    """One block per answer: 'line 15  net_o2 = 1.22492136  close', then the expected values and the note."""
    from rich.console import Group
    from rich.padding import Padding
    from rich.text import Text

    first = report.first_wrong
    lines: list[Any] = [Text(f"stepgrad check: {terminal(report.source)}", style="italic")]
    for r in report.results:
        head = Text.assemble((f"line {r.line}  " if r.line else "", "dim"), (terminal(r.name), "bold" if r is first else ""),
                             f" = {terminal(r.given)}  " if r.given else "  ", (r.verdict, STYLES[r.verdict]))
        lines.append(head)
        if r.verdict != "correct" and r.expected is not None:
            own = "" if r.expected_from_own is None else f"; from your values {_num(r.expected_from_own, digits)}"
            lines.append(Padding(Text(f"expected {_num(r.expected, digits)}{own}", style="dim"), (0, 0, 0, 4)))
        note = _note(r, digits)
        if r is first:
            note = "◀ first mistake. " + note
        lines += [Padding(Text(terminal(part)), (0, 0, 0, 4)) for part in note.splitlines()]  # wrapped lines stay indented
    return Group(*lines)


def _footer(report: Report):
    from rich.text import Text

    order = report.meta.get("update_order")
    rounding = report.meta.get("round_to")
    context = f"({order} update order" + (f", every value rounded to {rounding} decimals)" if rounding is not None else ")")
    style = "bold green" if report.ok else "bold red"
    yield Text.assemble((report.summary(), style), " ", (context, "dim"))
    read = [f"{written} as {name}" + (" (its old name)" if names.legacy(written) == name else "")
            for written, name in report.meta.get("read_as", {}).items()]
    if report.meta.get("decimal_commas"):
        read.append(f"{report.meta['decimal_commas']} decimal comma(s) as points")
    if read:
        yield Text("read " + "; ".join(read), style="dim")
    if report.meta.get("missing_text"):
        yield Text(report.meta["missing_text"] + " (not a pass until they are answered)", style="red")
    if report.meta.get("geometry"):  # a stride or padding wrong throughout (geometry_sheet.py): said once
        yield Text("note on the whole sheet: " + report.meta["geometry"]["note"], style="red")
    if report.meta.get("hint"):
        yield Text("hint: " + report.meta["hint"], style="yellow")


def render_text(report: Report, digits: int = 9, width: int = 140) -> str:
    """The table as plain text (no colour), for files and tests."""
    import io

    from rich.console import Console

    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, highlight=False).print(rich_table(report, digits))
    return buffer.getvalue()


def render_json(report: Report) -> str:
    """{"summary": {...}, "results": [{name, given, expected, expected_from_own, verdict, diagnosis, relative_error, ...}]}."""
    return json.dumps(report.to_dict(), indent=2, allow_nan=False, default=float)
