"""Terminal text with rich: each section a heading, each step the deck's line
name = formula = numbers = value, hidden weights with every path to the outputs.

Lines are laid out here, not by the terminal: a line breaks only between words (a number or a
name is never split, at any width from 60 columns up), a long sum breaks before one of its + or -
signs, and a continued line is indented under the "=" it continues. The rule that gives a derived
line (explain --derive) sits right-aligned after it, or on its own dim line when it does not fit.
"""

from __future__ import annotations

import io
import json

from rich.console import Console, ConsoleOptions, RenderResult
from rich.rule import Rule
from rich.text import Text

from stepgrad.core import names
from stepgrad.core.trace import Step, Trace
from stepgrad.formats.document import Line, Table, by_sample, given_tables, repeated
from stepgrad.formats.formula import Precision, derivation_rows, number, shows_numbers, substituted, symbolic

WIDTH = 110
MAX_INDENT = 24  # a longer name puts its "=" here rather than under the name's end

Word = tuple[str, str]  # (text, rich style)


def _words(text: str, style: str = "") -> list[Word]:
    return [(w, style) for w in text.split(" ") if w]


def _operator(word: str) -> bool:
    return word in ("+", "-")


def wrap(words: list[Word], first: str, indent: int, width: int) -> list[list[Word]]:
    """`words` laid out after `first` (styled by the caller) in lines of at most `width` columns,
    continuation lines starting at column `indent`; breaks prefer the place before a + or - that
    keeps the line at least half full. Each returned line is its words (the first line's without
    `first`); a word longer than a line stands alone on its line."""
    lines: list[list[Word]] = []
    current: list[Word] = []
    start = len(first)

    def length(ws: list[Word]) -> int:
        return start + sum(len(w) for w, _ in ws) + max(0, len(ws) - 1)

    for word in words:
        current.append(word)
        while len(current) > 1 and length(current) > width:
            fits = [k for k in range(1, len(current)) if length(current[:k]) <= width] or [1]
            terms = [k for k in fits if _operator(current[k][0]) and length(current[:k]) >= width // 2]
            k = terms[-1] if terms else fits[-1]
            lines.append(current[:k])
            current = current[k:]
            start = indent
    lines.append(current)
    return lines


def _text(lines: list[list[Word]], first: Text, indent: int) -> list[Text]:
    out = []
    for n, ws in enumerate(lines):
        line = first.copy() if n == 0 else Text(" " * indent)
        for k, (w, style) in enumerate(ws):
            if k:
                line.append(" ")
            line.append(w, style=style)
        out.append(line)
    return out


def _aside(lines: list[Text], remark: str, width: int, indent: int) -> list[Text]:
    """`remark` in parentheses, right-aligned after the last line when it fits, else on dim lines of its own."""
    remark = f"({remark})"
    last = lines[-1]
    if last.cell_len + 3 + len(remark) <= width:
        last.append(" " * (width - last.cell_len - len(remark)))
        last.append(remark, style="italic dim")
        return lines
    return lines + _text(wrap(_words(remark, "italic dim"), " " * indent, indent, width), Text(" " * indent), indent)


def equation_lines(step: Step, trace: Trace, digits: Precision, width: int) -> list[Text]:
    """The step as the deck's line, wrapped: name = formula, = numbers = value, the note, the paths."""
    value = number(step.value, digits)
    head = Text.assemble((step.name, "bold cyan"), " = ")
    eq = min(len(step.name) + 1, MAX_INDENT)  # the column of "=" on the lines below the first
    indent = eq + 4  # a wrapped row continues under its first term
    if not step.text:
        return _text(wrap([(value, "bold")], head.plain, indent, width), head, indent)
    rows = derivation_rows(step) or [(symbolic(step), "")]
    last_words = _words(substituted(step, trace, digits)) if shows_numbers(step) else []
    out: list[Text] = []
    for k, (expression, rule) in enumerate(rows):
        words = _words(expression, "dim")
        if k == len(rows) - 1 and not last_words:
            words += [("=", ""), (value, "bold green")]
        first = head if k == 0 else Text(" " * eq + "= ")
        lines = _text(wrap(words, first.plain, indent, width), first, indent)
        out += _aside(lines, rule, width, indent) if rule else lines
    if last_words:
        first = Text(" " * eq + "= ")
        out += _text(wrap(last_words + [("=", ""), (value, "bold green")], first.plain, indent, width), first, indent)
    if step.note:
        out = _aside(out, step.note, width, indent)
    if step.paths:
        said = "the one path to the outputs:" if len(step.paths) == 1 else f"summed over {len(step.paths)} paths to the outputs:"
        out.append(Text(" " * eq + said, style="dim"))
        for p in step.paths:
            words = _words(" * ".join(p.factors) + " = " + number(p.value, digits), "dim")
            out += _text(wrap(words, " " * (eq + 2), eq + 6, width), Text(" " * (eq + 2)), eq + 6)
    elif step.path_count:
        note = f"({step.path_count} paths to the outputs, summed through the deltas above)"
        out += _text(wrap(_words(note, "dim"), " " * eq, eq + 1, width), Text(" " * eq), eq + 1)
    return out


def plan_lines(step: Step, width: int) -> list[Text]:
    """A quantity's formula in symbols only, as the plan of its section states it: name = formula."""
    head = Text.assemble((step.name, "cyan"), " = ")
    indent = min(len(step.name) + 1, MAX_INDENT) + 4
    return _text(wrap(_words(symbolic(step), "dim"), head.plain, indent, width), head, indent)


def _any_sample(name: str) -> str:
    """Sample 1's name for any sample k: out_o1[1] -> out_o1[k]."""
    return names.any_sample(name)


def sample_lines(rows: dict[str, list[Step]], digits: Precision, width: int) -> list[Text]:
    """The other samples' values of the quantities derived for sample 1 above: a row per quantity
    (sample 1's name), a column per sample, aligned; columns that do not fit continue below."""
    samples = sorted({names.parse(s.name).sample or 0 for row in rows.values() for s in row})
    values = {s.name: number(s.value, digits) for row in rows.values() for s in row}
    size = max(len(v) for v in values.values()) + 2
    size = max(size, max(len(f"sample {k}") for k in samples) + 2)
    label_width = min(max(len(_any_sample(n)) for n in rows) + 2, MAX_INDENT + 8)
    per_line = max(1, (width - label_width) // size)
    title = f"samples {samples[0]}..{samples[-1]}" if len(samples) > 1 else f"sample {samples[0]}"
    out = [Text(f"The same quantities for {title}:", style="italic")]
    for k in range(0, len(samples), per_line):
        chunk = samples[k:k + per_line]
        out.append(Text("".ljust(label_width) + "".join(f"sample {n}".rjust(size - 2).ljust(size) for n in chunk)
                        .rstrip(), style="dim"))
        for name, row in rows.items():
            by = {names.parse(s.name).sample: s for s in row}
            line = Text(_any_sample(name).ljust(label_width), style="cyan")
            line.append("".join((values[by[n].name] if n in by else "").rjust(size - 2).ljust(size) for n in chunk)
                        .rstrip())
            out.append(line)
    return out


def _plain(label: str) -> str:
    """A table label in text: 'h_{1}' -> 'h1', 'sample 2' stays."""
    return label.replace("_{", "").replace("}", "").replace("{", "").replace(",", "_")


def table_lines(table: Table, digits: Precision, width: int) -> list[Text]:
    """A given-values table: a heading, then a row per neuron (or sample) of name = value cells in
    aligned columns. A weight matrix (a row per neuron, a column per input to it) is headed by its
    columns, "from i1 i2", so each weight's edge reads off its row and column; a matrix wider than the
    terminal continues in blocks of columns below, each under its own heads; a cell keeps its column
    when others are left out (--only)."""
    cells = {l.name: f"{l.name} = {number(l.value, digits)}" for l in table.lines}
    size = max(len(c) for c in cells.values())
    labels = [_plain(label) for label, _ in table.rows]
    matrix = len(table.columns) > 1 and any(label and not label.startswith("sample") for label in labels)
    label_width = max([len(x) + 2 for x in labels] + ([6] if matrix else [2]))
    per_line = max(1, (width - label_width) // (size + 2))
    out = [Text(table.title, style="bold")]
    if matrix:
        for k in range(0, len(table.columns), per_line):
            heads = [_plain(c) for c in table.columns[k:k + per_line]]
            out.append(Text("from".ljust(label_width) + "".join(h.ljust(size + 2) for h in heads).rstrip(),
                            style="dim"))
            for label, (_l, row) in zip(labels, table.rows):
                chunk = [cells[c.name] if c is not None else "" for c in row[k:k + per_line]]
                if any(chunk):
                    out.append(_cells(label.ljust(label_width), chunk, size))
        return out
    for label, (_l, row) in zip(labels, table.rows):
        texts = [cells[c.name] for c in row if c is not None]
        for k in range(0, len(texts), per_line):
            out.append(_cells((label if k == 0 else "").ljust(label_width), texts[k:k + per_line], size))
    return out


def _cells(start: str, chunk: list[str], size: int) -> Text:
    """One row of a table: name = value cells, each padded to `size` + 2 but the last."""
    line = Text(start)
    for n, cell in enumerate(chunk):
        name, _, val = cell.partition(" = ")
        line.append(name, style="cyan")
        line.append((" = " + val if cell else "") + (" " * (size + 2 - len(cell)) if n < len(chunk) - 1 else ""))
    line.rstrip()
    return line


def _given(trace: Trace, steps: tuple[Step, ...], digits: Precision, width: int) -> list[Text]:
    lines = tuple(Line(s.name, "", s.value, "", number(s.value, digits)) for s in steps)
    tables = given_tables(lines, trace.meta)
    if not tables:
        return [t for s in steps for t in equation_lines(s, trace, digits, width)]
    return [t for table in tables for t in table_lines(table, digits, width)]


class TraceView:
    """The trace as a rich renderable, laid out for the width it is printed at (a Console's width).

        >>> view = TraceView(stepgrad.explain(stepgrad.builtin()))
        >>> buffer = io.StringIO()
        >>> Console(file=buffer, width=60).print(view)
        >>> max(len(line) for line in buffer.getvalue().splitlines())
        60
    """

    def __init__(self, trace: Trace, digits: Precision = 9):
        self.trace, self.digits = trace, digits

    def lines(self, width: int) -> list:
        """Headings, intros and laid-out lines for `width` columns."""
        parts: list = []
        others = repeated(self.trace)
        for section in self.trace.sections:
            parts.append(Rule(Text(section.title, style="bold"), align="left"))
            if section.intro:
                parts.append(Text(section.intro, style="italic"))
            if section.key == "given":
                parts.extend(_given(self.trace, section.steps, self.digits, width))
                continue
            if section.plan:
                parts.append(Text("The plan (then each factor, one at a time):", style="italic"))
                for name in section.plan:
                    parts.extend(plan_lines(self.trace.step(name), width))
            steps = tuple(s for s in section.steps if s.name not in others)
            first, rows, rest = by_sample(steps) if not self.trace.meta.get("all") else ([], {}, [])
            if not rows:  # one sample (or --all): every step in full
                first, rest = list(steps), []
            for step in first:
                parts.extend(equation_lines(step, self.trace, self.digits, width))
            if rows:  # the other samples: the same quantities, their values
                parts.extend(sample_lines(rows, self.digits, width))
            for step in rest:
                parts.extend(equation_lines(step, self.trace, self.digits, width))
            tabled = [Line(s.name, "", s.value, "", number(s.value, self.digits)) for s in section.steps
                      if s.name in others]
            if tabled:  # a wide network: the others of each kind, computed as the first above
                parts.extend(table_lines(Table("The others, computed the same way (values):", "", ("",),
                                               (("", tuple(tabled)),)), self.digits, width))
        return parts

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.lines(options.max_width)


def rich_renderable(trace: Trace, digits: Precision = 9) -> TraceView:
    """The whole trace as one rich renderable (print it to a Console; it fits the console's width)."""
    return TraceView(trace, digits)


def render(trace: Trace, digits: Precision = 9, width: int = WIDTH, color: bool = False, **_: object) -> str:
    """The trace as plain text (no colour codes unless `color`), `width` columns wide."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, no_color=not color, highlight=False)
    console.print(TraceView(trace, digits))
    return buffer.getvalue()



def name_listing(trace: Trace, fmt: str, precision: Precision) -> str:
    """Every name of a trace with its value: JSON, or text in the trace's sections (`stepgrad names`)."""
    if fmt == "json":
        return json.dumps(trace.values, indent=2)
    width = max(len(n) for n in trace.values)
    lines = []
    for section in trace.sections:
        lines.append(f"# {section.title}")
        lines += [f"{step.name:<{width}} = {number(step.value, precision)}" for step in section.steps]
    return "\n".join(lines) + "\n"
