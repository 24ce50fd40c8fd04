"""One format-neutral document built from a trace; Markdown, LaTeX, slides and HTML are thin writers of it.

    >>> doc = build(stepgrad.explain(stepgrad.builtin()), digits=9)
    >>> doc.parts[1].groups[0].title
    'Calculating h1'
    >>> doc.parts[1].groups[0].lines[0].numbers
    '0.15 \\\\cdot 0.05 + 0.2 \\\\cdot 0.1 + 0.35 \\\\cdot 1'

Every formula is LaTeX (the writers typeset it, or turn it into MathML); numbers are formatted
here once, at the requested digits. Lines are grouped as a presenter would show them: a neuron's
net and out together, a backward chain up to its delta or gradient, a hidden weight's paths.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from stepgrad.core import names
from stepgrad.core.names import latex_symbol
from stepgrad.core.trace import Step, Trace
from stepgrad.formats.formula import Precision, derivation_rows, number, operand, shows_numbers, substituted, symbol

MAX_GROUP = 8  # lines per group at most (a slide's worth)
WIDE = 12  # more weights than this (a 2-3-2 has 12): each kind derived once per layer, the others in a table
OTHERS_PER_ROW = 2  # cells per row of that table (a slide holds two partial derivatives = value)


@dataclass(frozen=True)
class Line:
    """One quantity: symbol = formula = numbers = value (formula and numbers empty for given values)."""

    name: str
    symbol: str
    value: float
    value_latex: str
    value_text: str
    formula: str = ""
    numbers: str = ""
    note: str = ""
    paths: tuple[tuple[str, str], ...] = ()  # (LaTeX product of the factors, LaTeX value) per path
    path_count: int = 0
    derivation: tuple[tuple[str, str], ...] = ()  # (LaTeX, rule) rows from the derivation to the formula
    kind: str = ""  # the step's kind (trace.KINDS): net, out, delta, gradient, ...

    @property
    def rows(self) -> tuple[tuple[str, str], ...]:
        """The symbolic rows before the numbers: the derivation (ending in the formula), or the formula."""
        return self.derivation or ((self.formula, ""),)


@dataclass(frozen=True)
class Group:
    """Lines shown together (one slide): a neuron's forward values, a chain up to its delta or gradient."""

    title: str
    lines: tuple[Line, ...]
    subject: str = ""
    table: Table | None = None  # the other samples' values of the quantities derived for sample 1 (no lines)


@dataclass(frozen=True)
class Table:
    """Given values of one kind as a matrix: a row per neuron (or sample), a column per input.

    `columns` and `rows` are labels in LaTeX (i_{1}, h_{1}, "sample 1"); a cell is the Line of the
    value there, or None where the network has none (a shared bias spans its layer).
    """

    title: str
    corner: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[Line | None, ...]], ...]
    style: str = "equation"  # a cell: "equation" (w_5 = 0.4) or "value" (0.4, the row names the quantity)

    @property
    def lines(self) -> list[Line]:
        return [cell for _label, cells in self.rows for cell in cells if cell is not None]


@dataclass(frozen=True)
class Part:
    """A section of the trace; `given` parts are tables of values rather than equations."""

    key: str
    title: str
    intro: str
    groups: tuple[Group, ...]
    given: bool = False
    tables: tuple[Table, ...] = ()  # the given values by kind (given parts of a whole network)
    plan: tuple[Line, ...] = ()  # the chain rule the part works out, in symbols, stated first (kind "plan")


@dataclass(frozen=True)
class Document:
    """The whole derivation: a title, a one-line description of the network, the parts."""

    title: str
    subtitle: str
    parts: tuple[Part, ...]
    digits: Precision

    def lines(self) -> Iterator[Line]:
        for part in self.parts:
            for group in part.groups:
                yield from group.lines
                if group.table is not None:
                    yield from group.table.lines

    def value(self, name: str) -> Line | None:
        """The line of `name`, if the document shows it."""
        return next((line for line in self.lines() if line.name == name), None)


def _symbol(name: str) -> str:
    return symbol(name, "latex")


def _number(value: float, digits: Precision) -> str:
    return operand(value, digits, "latex")


def _line(step: Step, trace: Trace, digits: Precision) -> Line:
    paths = tuple(
        (r" \cdot ".join(latex_symbol(f) for f in p.factors), number(p.value, digits, "latex")) for p in step.paths
    )
    return Line(
        name=step.name, symbol=latex_symbol(step.name), value=step.value,
        value_latex=number(step.value, digits, "latex"), value_text=number(step.value, digits),
        formula=step.fill("latex", _symbol) if step.latex else "",
        numbers=substituted(step, trace, digits, "latex") if step.latex and shows_numbers(step) else "",
        note=step.note, paths=paths, path_count=step.path_count,
        derivation=tuple(derivation_rows(step, "latex")), kind=step.kind,
    )


def _plan_line(step: Step) -> Line:
    """A quantity's formula in symbols only (no numbers, no value): a line of a part's plan."""
    return Line(name=step.name, symbol=latex_symbol(step.name), value=step.value, value_latex="", value_text="",
                formula=step.fill("latex", _symbol), kind="plan")


def layer_name(layer: int, depth: int) -> str:
    """The deck's words for weight layer `layer` (0-based) of `depth`: hidden layer 1, ..., output layer."""
    if layer == depth - 1:
        return "output layer"
    return "hidden layer" if depth == 2 else f"hidden layer {layer + 1}"


def given_tables(lines: tuple[Line, ...], meta: dict) -> tuple[Table, ...]:
    """The given values as tables by kind: inputs and targets per sample, a weight matrix and the biases
    per layer; whatever the network's layout does not place (the learning rate) in a last table."""
    neurons, weights, biases = meta.get("neurons"), meta.get("weights"), meta.get("biases")
    by_name = {l.name: l for l in lines}
    if not neurons or not weights:
        return ()
    samples = int(meta.get("samples") or 1)
    tables: list[Table] = []
    used: set[str] = set()

    def take(name: str) -> Line | None:
        line = by_name.get(name)
        if line is not None:
            used.add(name)
        return line

    def table(title: str, corner: str, columns: list[str], rows: list[tuple[str, list[str]]]) -> None:
        cells = [(label, tuple(take(n) for n in row_names)) for label, row_names in rows]
        cells = [(label, row) for label, row in cells if any(c is not None for c in row)]
        if cells:
            tables.append(Table(title, corner, tuple(columns), tuple(cells)))

    sample_numbers = [s + 1 if samples > 1 else None for s in range(samples)]
    row_label = (lambda n: f"sample {n}") if samples > 1 else (lambda n: "")
    table("Inputs", "", [latex_symbol(i) for i in neurons[0]],
          [(row_label(n), [names.at(i, n) for i in neurons[0]]) for n in sample_numbers])
    table("Targets", "", [latex_symbol(o) for o in neurons[-1]],
          [(row_label(n), [names.target(o, n) for o in neurons[-1]]) for n in sample_numbers])
    depth = len(weights)
    for l, layer in enumerate(weights):
        table(f"Weights into the {layer_name(l, depth)}", "", [latex_symbol(i) for i in neurons[l]],
              [(latex_symbol(neurons[l + 1][j]), list(row)) for j, row in enumerate(layer)])
    for l, bias_names in enumerate(biases or ()):
        shared = len(bias_names) == 1 and len(neurons[l + 1]) > 1
        columns = ["all"] if shared else [latex_symbol(n) for n in neurons[l + 1]]
        table(f"Biases of the {layer_name(l, depth)}", "", columns, [("", list(bias_names))])
    rest = [l.name for l in lines if l.name not in used]
    if rest:
        table("Other values", "", ["" for _ in rest], [("", rest)])
    return tuple(tables)


def _title(step: Step) -> str:
    subject = step.subject or step.name
    sample = names.parse(step.name).sample if names.is_name(step.name) else None
    of = f", sample {sample}" if sample else ""
    if step.kind == "gradient":
        return f"The gradient of {subject}{of}"
    if step.kind == "delta":
        return f"The delta of {subject}{of}"
    return subject


def numbered(title: str, k: int, count: int) -> str:
    """`title` of piece k (0-based) of `count`: "Forward pass: o1 (2/3)"; the title alone for one piece."""
    return title if count <= 1 else f"{title} ({k + 1}/{count})"


def _chunks(lines: list[Line], title: str) -> list[Group]:
    count = -(-len(lines) // MAX_GROUP)
    return [Group(numbered(title, i // MAX_GROUP, count), tuple(lines[i:i + MAX_GROUP]), subject=title)
            for i in range(0, len(lines), MAX_GROUP)]


def by_sample(steps: Sequence[Step]) -> tuple[list[Step], dict[str, list[Step]], list[Step]]:
    """A batch's steps as a reader takes them: sample 1's, derived in full; the other samples' values of
    the same quantities, by sample 1's name (a table); the rest (the batch means, the updates), in order."""
    first = [s for s in steps if _sample(s.name) == 1]
    twins: dict[str, list[Step]] = {s.name: [] for s in first}
    rest = []
    for s in steps:
        k = _sample(s.name)
        if k is not None and k > 1 and _at(s.name, 1) in twins:
            twins[_at(s.name, 1)].append(s)
        elif k != 1:
            rest.append(s)
    return first, {name: row for name, row in twins.items() if row}, rest


def _sample(name: str) -> int | None:
    return names.parse(name).sample if names.is_name(name) else None


def _at(name: str, sample: int) -> str:
    return str(names.parse(name).but(sample=sample))


def sample_table(rows: dict[str, list[Step]], trace: Trace, digits: Precision) -> Table:
    """The other samples' values of sample 1's quantities: a row per quantity, a column per sample."""
    samples = sorted({_sample(s.name) or 0 for row in rows.values() for s in row})
    cells = []
    for name, row in rows.items():
        by = {_sample(s.name): s for s in row}
        label = inline(latex_symbol(name)).replace("{[1]}", "{[k]}")  # out_o1^{[k]}: the column's sample
        cells.append((label, tuple(_line(by[k], trace, digits) if k in by else None for k in samples)))
    title = f"Samples {samples[0]}..{samples[-1]}" if len(samples) > 1 else f"Sample {samples[0]}"
    return Table(f"{title}: the same quantities", "", tuple(f"\\text{{sample {k}}}" for k in samples), tuple(cells),
                 style="value")


def repeated(trace: Trace) -> set[str]:
    """In a wide network (more than WIDE weights; not with --all or a numeric check), every quantity but the first of its kind
    in each layer: net_h2..net_h16 after net_h1, dE_total/dw2.. after dE_total/dw1. These are shown as
    values in a table; the first is derived, and the others are computed the same way."""
    meta = trace.meta
    weights = meta.get("weights") or ()
    if meta.get("all") or sum(len(row) for layer in weights for row in layer) <= WIDE:
        return set()
    if meta.get("numeric"):  # a finite-difference check was asked for: every gradient shows its note
        return set()
    layer_of = {n: l for l, col in enumerate(meta.get("neurons") or ()) for n in col}
    layer_of.update({w: l for l, layer in enumerate(weights) for row in layer for w in row})
    layer_of.update({b: l for l, biases in enumerate(meta.get("biases") or ()) for b in biases})

    def kind(n: names.Name | None) -> tuple | None:
        if n is None:
            return None
        return (n.kind, layer_of.get(n.neuron or ""), layer_of.get(n.parameter or ""), n.symbol, n.after,
                n.sample, kind(n.top), kind(n.bottom))

    seen: set[tuple] = set()
    out = set()
    for sec in trace.sections:
        if sec.key == "given":
            continue
        for s in sec.steps:
            if not names.is_name(s.name) or not s.text:
                continue
            pattern = kind(names.parse(s.name))
            if pattern in seen:
                out.add(s.name)
            seen.add(pattern)  # type: ignore[arg-type]
    return out


def inline(symbol: str) -> str:
    r"""A symbol on one line, for a table: \frac{\partial E}{\partial w_{5}} -> \partial E/\partial w_{5}."""
    if symbol.startswith(r"{\frac{"):  # {\frac{..}{..}}^{[1]}: a sample's, in parentheses
        depth = 0
        for k, c in enumerate(symbol):
            depth += {"{": 1, "}": -1}.get(c, 0)
            if depth == 0:
                return f"({inline(symbol[1:k])}){symbol[k + 1:]}"
    if not symbol.startswith(r"\frac{"):
        return symbol
    depth, cut = 0, []
    for k, c in enumerate(symbol):
        depth += {"{": 1, "}": -1}.get(c, 0)
        if c == "}" and depth == 0:
            cut.append(k)
            if len(cut) == 2:
                break
    if len(cut) < 2:
        return symbol
    return f"{symbol[6:cut[0]]}/{symbol[cut[0] + 2:cut[1]]}{symbol[cut[1] + 1:]}"


def others_table(steps: Sequence[Step], trace: Trace, digits: Precision) -> Table:
    """The quantities computed like the ones derived above, as name = value cells, a few per row."""
    cells = [replace(line, symbol=inline(line.symbol)) for line in (_line(s, trace, digits) for s in steps)]
    rows = tuple(("", tuple(cells[k:k + OTHERS_PER_ROW])) for k in range(0, len(cells), OTHERS_PER_ROW))
    width = min(OTHERS_PER_ROW, len(cells))
    return Table("The others, computed the same way", "", ("",) * width,
                 tuple((label, row + (None,) * (width - len(row))) for label, row in rows))


def _groups(key: str, title: str, steps: tuple[Step, ...], trace: Trace, digits: Precision,
            full: bool = False, others: frozenset[str] = frozenset()) -> list[Group]:
    if key != "given" and others and any(s.name in others for s in steps):
        kept = tuple(s for s in steps if s.name not in others)
        table = others_table([s for s in steps if s.name in others], trace, digits)
        return (_groups(key, title, kept, trace, digits, full) if kept else []) + [
            Group(table.title, (), subject=f"{title}: {table.title}", table=table)]
    if key != "given" and not full and any(_sample(s.name) == 2 for s in steps):
        first, rows, rest = by_sample(steps)
        if rows:  # sample 1 in full, the other samples as a table, then the rest (the means)
            table = sample_table(rows, trace, digits)
            return (_groups(key, title, tuple(first), trace, digits, True)
                    + [Group(table.title, (), subject=table.title, table=table)]
                    + _groups(key, title, tuple(rest), trace, digits, True))
    if key == "given":
        return [Group(title, tuple(_line(s, trace, digits) for s in steps))]
    if key.startswith(("forward", "after")):
        by_subject: dict[str, list[Line]] = {}
        for s in steps:  # a neuron's net and out side by side, neurons in the order computed
            by_subject.setdefault(s.subject or s.name, []).append(_line(s, trace, digits))
        return [g for subject, lines in by_subject.items() for g in _chunks(lines, f"Calculating {subject}")]
    if key.startswith(("backward", "weight_", "bias_")):
        groups: list[Group] = []
        pending: list[Step] = []
        for s in steps:  # a chain ends in its delta or gradient
            pending.append(s)
            if s.kind in ("delta", "gradient"):
                groups += _chunks([_line(p, trace, digits) for p in pending], _title(s))
                pending = []
        if pending:
            groups += _chunks([_line(p, trace, digits) for p in pending], title)
        return groups
    return _chunks([_line(s, trace, digits) for s in steps], title)


def build(trace: Trace, digits: Precision = 9) -> Document:
    """The document of `trace` with numbers at `digits` significant digits."""
    meta = trace.meta
    layers = "-".join(str(n) for n in meta.get("layers", ()))
    activations = ", ".join(dict.fromkeys(meta.get("activations", ())))
    facts = [f"a {layers} network" if layers else "", activations,
             str(meta.get("loss", "")).replace("_", " "),
             f"learning rate {meta['learning_rate']:g}" if "learning_rate" in meta else "",
             f"{meta['update_order']} update" if meta.get("update_order") else ""]
    subtitle = ", ".join(f for f in facts if f)
    name = str(meta.get("name") or "")
    others = frozenset(repeated(trace))
    parts = []
    for sec in trace.sections:
        groups = tuple(_groups(sec.key, sec.title, sec.steps, trace, digits, bool(meta.get("all")), others))
        given = sec.key == "given" or all(not s.latex for s in sec.steps)
        tables = given_tables(tuple(l for g in groups for l in g.lines), meta) if sec.key == "given" else ()
        plan = tuple(_plan_line(trace.step(p)) for p in sec.plan)
        parts.append(Part(sec.key, sec.title, sec.intro, groups, given=given, tables=tables, plan=plan))
    title = "Step by step backpropagation" + (f": {name}" if name and name != "mazur" else "")
    return Document(title, subtitle, tuple(parts), digits)
