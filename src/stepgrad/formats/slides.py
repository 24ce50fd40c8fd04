r"""A Beamer deck like the seed deck: title, the network, the given values, forward pass, error, one
frame group per neuron and weight, the new weights, the error before and after, and (given a training
History) the table after training.

    stepgrad explain --format slides -o deck.tex && pdflatex deck.tex && pdflatex deck.tex
    (twice: the page counter "3 / 40" needs the second run; latexmk -pdf deck.tex does the same)

Nothing is cut: a group that does not fit one frame continues on the next, titled "(2/3)". A network
of more than SUMMARY_WEIGHTS weights gets a summary deck by default: per-layer tables of net and out,
of deltas, of gradients and of the new weights, with one worked example per layer and kind of
quantity, and a frame that says what was left out and how to get it (explain --only, or --all for
every derivation). From Python: render(trace, "slides", history=stepgrad.train(net, 10_000), full=True).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from stepgrad.core import names
from stepgrad.core.trace import Trace
from stepgrad.formats.document import Document, Group, Line, Part, Table, build, layer_name, numbered
from stepgrad.formats.formula import Precision, number
from stepgrad.formats.latex import align, bold, equation_rows, escape, line_items, network_figure, table_blocks
from stepgrad.formats.latex import title as latex_title
from stepgrad.formats.layer_figure import layer_figures
from stepgrad.formats.lecture import Mistake, both_orders, mistakes_frames
from stepgrad.formats.others_slides import OTHERS
from stepgrad.formats.others_slides import frames as others_frames

WIDTH = 46  # characters shown in a formula row before it breaks at a top-level +
RULE_ROOM = 6  # what a derivation's rule beside its row takes of WIDTH (the frame is wider than the rows)
BUDGET = 12.1  # a frame's height in rows of \small text
TABLE_ROWS = 17  # rows of \\scriptsize table on one frame
TABLE_CHARS = 112  # characters of \\scriptsize table text across a frame
SUMMARY_WEIGHTS = 40  # more weights than this: the default deck summarises the passes

PREAMBLE = r"""\documentclass[aspectratio=169,11pt]{beamer}
\usepackage{amsmath,bm}
\usepackage{tikz}
\usefonttheme[onlymath]{serif}
\setbeamertemplate{navigation symbols}{}
\setbeamertemplate{footline}[frame number]
\setbeamerfont{frametitle}{size=\large}
\setlength{\tabcolsep}{4pt}
"""


def _height(kind: str, latex: str) -> float:
    """Rows of \\small text an align item takes: a fraction (a partial derivative) is taller."""
    if kind == "text":
        return 1.2 + len(latex) // 110
    rule = latex.partition(r"\tag*{")[2]
    if rule:  # a derivation's rule beside the row, wrapped in its column: as tall as its lines
        return max(_height(kind, latex.partition(r"\tag*{")[0]), 0.8 * (1 + (len(rule) - 60) // 30))
    if r"\begin{cases}" in latex:
        return 2.4
    if r"\frac" in latex:
        return 2.3 if r"\left(" in latex else 1.8
    return 1.15 if "^{[" in latex or "^{+}" in latex else 1.0


def _pages(quantities: list[list[tuple[str, str]]]) -> list[list[tuple[str, str]]]:
    """The quantities' items packed into frames of at most BUDGET rows, in order: a quantity starts a
    new frame rather than break, unless it alone is taller than a frame (then it breaks between rows)."""
    pages: list[list[tuple[str, str]]] = [[]]
    used = 0.0
    for items in quantities:
        height = sum(_height(*item) for item in items)
        if pages[-1] and used + height > BUDGET and height <= BUDGET:
            pages.append([])
            used = 0.0
        for item in items:
            h = _height(*item)
            if pages[-1] and used + h > BUDGET:
                # a note never opens a frame alone: the row it is about comes with it
                carried = [pages[-1].pop()] if item[0] == "text" and len(pages[-1]) > 1 else []
                pages.append(carried)
                used = sum(_height(*c) for c in carried)
            pages[-1].append(item)
            used += h
    return pages


def _frame(title: str, body: str, size: str = r"\small") -> str:
    return f"\\begin{{frame}}\n\\frametitle{{{latex_title(title)}}}\n{size}\n{body}\n\\end{{frame}}\n"


def _frames(title: str, quantities: list[list[tuple[str, str]]]) -> list[str]:
    pages = _pages(quantities)
    return [_frame(numbered(title, k, len(pages)), align(page)) for k, page in enumerate(pages)]


def _group_items(lines: tuple[Line, ...] | list[Line]) -> list[list[tuple[str, str]]]:
    """Per quantity, its align items (rows with the rule that derives each beside it, so a rule is always on
    its row's frame; the note); then, as a piece of its own (it may go to the next frame), a hidden weight's
    paths to the outputs."""
    out = []
    for line in lines:
        items = line_items(line, WIDTH, rule_room=RULE_ROOM)
        k = next((n for n, (kind, text) in enumerate(items) if kind == "text" and "paths to the outputs" in text),
                 len(items))
        out += [items[:k]] + ([items[k:]] if items[k:] else [])
    return out


def _merged(groups: tuple[Group, ...]) -> list[tuple[str, list[Line]]]:
    """Groups that are pieces of one (a neuron with many lines) joined again: (title, lines)."""
    out: list[tuple[str, list[Line]]] = []
    for g in groups:
        title = g.subject or g.title
        if out and out[-1][0] == title:
            out[-1][1].extend(g.lines)
        else:
            out.append((title, list(g.lines)))
    return out


def _row_height(row: str) -> float:
    return 1.7 if r"\frac" in row else 1.0


def _table_frames(title: str, table: Table, style: str = "equation", intro: str = "") -> list[str]:
    """One table on as few frames as hold it, titled "title: table title (k/n)"."""
    return _tables_frames(f"{title}: {table.title}", [table], style, intro, captions=False)


def _tables_frames(title: str, tables: list[Table], style: str = "equation", intro: str = "",
                   captions: bool = True) -> list[str]:
    """Tables on as few frames as hold them: column blocks of at most TABLE_ROWS rows, stacked, each
    table under its caption; a table too long for a frame continues on the next."""
    pages: list[list[str]] = [[]]
    heights: list[float] = []
    used = 2.0 if intro else 0.0
    for table in tables:
        caption = rf"\textbf{{{escape(table.title)}}}\\[2pt]" "\n" if captions else ""
        for spec, head, body in table_blocks(table, TABLE_CHARS, style):
            rows: list[str] = []
            for k, row in enumerate(body):
                rows.append(row)
                extra = 2.2 if caption else 1.4  # the caption, the header row, the gap
                if k + 1 < len(body) and used + sum(map(_row_height, rows + [body[k + 1]])) + extra <= TABLE_ROWS:
                    continue
                if pages[-1] and used + sum(map(_row_height, rows)) + extra > TABLE_ROWS:
                    pages.append([])
                    heights.append(used)
                    used = 0.0
                pages[-1].append(caption + f"\\begin{{tabular}}{{{spec}}}\n{head}\n" + "\n".join(rows)
                                 + "\n\\end{tabular}")
                used += sum(map(_row_height, rows)) + extra
                rows, caption = [], ""
    heights.append(used)
    frames = []
    for k, page in enumerate(pages):
        size = r"\small" if len(pages) == 1 and heights[0] <= 0.55 * TABLE_ROWS and len(page) <= 2 else r"\scriptsize"
        text = (escape(intro) + "\n\n" if intro and k == 0 else "") + "\\begin{center}\n" \
            + "\n\n\\medskip\n".join(page) + "\n\\end{center}"
        frames.append(_frame(numbered(title, k, len(pages)), text, size))
    return frames


def _full(part: Part, value: Callable[[str], Line | None] | None = None) -> list[str]:
    frames: list[str] = []
    runs: list[list[Group]] = [[]]  # the derivations between the other samples' tables
    for group in part.groups:
        if group.table is None:
            runs[-1].append(group)
            continue
        frames += _run(part, tuple(runs[-1]), plan=len(runs) == 1)
        frames += (others_frames(part.title, group.table, _frame, value) if group.table.title == OTHERS else None) or \
            _table_frames(part.title, group.table, group.table.style)
        runs.append([])
    return frames + _run(part, tuple(runs[-1]), plan=len(runs) == 1)


def _run(part: Part, groups: tuple[Group, ...], plan: bool) -> list[str]:
    """Frames of a run of derivations; after a table of the other samples, what is left is over the batch."""
    frames = []
    merged = _merged(groups)
    if plan and part.plan and merged:  # the plan, then the factors: one frame group, the plan on its first frame
        items = [("text", r"\textbf{The plan}, then each factor:")] + [
            ("row", row) for line in part.plan for row in equation_rows(line, WIDTH)]
        lines = [ln for _, group in merged for ln in group]
        return _frames(part.title, [items] + _group_items(lines))
    for subject, lines in merged:
        title = f"{part.title}: {subject}" if subject != part.title else (
            part.title if plan else f"{part.title}: over the batch")
        frames += _frames(title, _group_items(lines))
    return frames


# -- the summary of a large network ------------------------------------------------------------------

class _Summary:
    """Per-layer tables and worked examples for the passes of a network too large to show in full."""

    def __init__(self, doc: Document, trace: Trace):
        self.doc, self.meta = doc, trace.meta
        self.neurons: list[list[str]] = self.meta["neurons"]
        self.weights: list = self.meta["weights"]
        self.depth = len(self.weights)
        self.samples = int(self.meta.get("samples") or 1)
        self.left_out: list[str] = []

    def _line(self, name: str) -> Line | None:
        line = self.doc.value(name)  # with its symbol as derived (a table of others shows it on one line)
        return replace(line, symbol=names.latex_symbol(name)) if line is not None and line.kind != "given" else line

    def _sample_rows(self, neurons: list[str], columns: list[str]) -> list[tuple[str, tuple[Line | None, ...]]]:
        rows = []
        for s in range(self.samples):
            n = s + 1 if self.samples > 1 else None
            for neuron in neurons:
                label = names.latex_symbol(neuron) + (f"^{{[{n}]}}" if n else "")
                rows.append((label, tuple(self._line(self._named(c, neuron, n)) for c in columns)))
        return rows

    def _named(self, column: str, neuron: str, sample: int | None) -> str:
        if column == "net":
            return names.net(neuron, sample)
        if column == "out":
            return names.out(neuron, sample)
        if column == "net+":
            return names.net(neuron, sample, after=True)
        if column == "out+":
            return names.out(neuron, sample, after=True)
        if column == "dE/dout":
            return names.partial(names.TOTAL, names.out(neuron), sample)
        if column == "dout/dnet":
            return names.partial(names.out(neuron), names.net(neuron), sample)
        raise ValueError(column)

    def _delta_name(self, neuron: str, sample: int | None) -> str:
        top = names.TOTAL
        for candidate in (names.partial(names.error(neuron), names.net(neuron), sample),
                          names.partial(top, names.net(neuron), sample)):
            if self._line(candidate) is not None:
                return candidate
        return names.partial(top, names.net(neuron), sample)

    def forward(self, part: Part, after: bool) -> list[str]:
        frames = []
        columns = ["net+", "out+"] if after else ["net", "out"]
        heads = (r"\mathrm{net}^{+}", r"\mathrm{out}^{+}") if after else (r"\mathrm{net}", r"\mathrm{out}")
        for l in range(self.depth):
            table = Table(f"{'' if l < self.depth - 1 else ''}{layer_name(l, self.depth)}", "", heads,
                          tuple(self._sample_rows(self.neurons[l + 1], columns)))
            frames += _table_frames(part.title, table)
            if not after:  # one worked example per layer: its first neuron
                first = self.neurons[l + 1][0]
                lines = [ln for g in part.groups for ln in g.lines if names.neurons_in(ln.name) == {first}]
                example = [ln for ln in lines if names.parse(ln.name).sample in (None, 1)]
                frames += _frames(f"{part.title}: worked example, {layer_name(l, self.depth)} ({first})",
                                  _group_items(example))
                rest = self.neurons[l + 1][1:]
                if rest:
                    self.left_out.append(f"how net and out of {rest[0]}" + (f"..{rest[-1]}" if len(rest) > 1 else "")
                                         + " are computed (their values are in the table)")
        return frames

    def backward(self, part: Part, l: int) -> list[str]:
        frames: list[str] = []
        layer = self.neurons[l + 1]
        output = l == self.depth - 1
        columns = [c for c in ("dE/dout", "dout/dnet")
                   if self._line(self._named(c, layer[0], 1 if self.samples > 1 else None)) is not None]
        rows = []
        for label, cells in self._sample_rows(layer, columns):
            neuron_sample = self._sample_of(label)
            rows.append((label, cells + (self._line(self._delta_name(*neuron_sample)),)))
        heads = tuple({"dE/dout": r"\partial E/\partial \mathrm{out}",
                       "dout/dnet": r"\partial \mathrm{out}/\partial \mathrm{net}"}[c] for c in columns)
        frames += _table_frames(part.title, Table(f"the deltas of the {layer_name(l, self.depth)}", "",
                                                  heads + (r"\delta = \partial E/\partial \mathrm{net}",), tuple(rows)))
        gradients = Table(f"the gradients of the weights into the {layer_name(l, self.depth)}", "",
                          tuple(names.latex_symbol(i) for i in self.neurons[l]),
                          tuple((names.latex_symbol(layer[j]),
                                 tuple(self._keyed(names.gradient(w), w) for w in row))
                                for j, row in enumerate(self.weights[l])))
        frames += _table_frames(part.title, gradients, "keyed",
                                intro="Each cell: the weight, then the gradient of the error with respect to it.")
        biases = [ln for g in part.groups for ln in g.lines if ln.kind == "gradient" and _bias_gradient(ln.name)]
        if biases:
            frames += _table_frames(part.title, Table(f"the gradients of the biases of the {layer_name(l, self.depth)}",
                                                      "", ("",), tuple(("", (b,)) for b in biases)))
        shown = 0
        for kind in ("delta", "gradient"):  # one worked example per kind: the first chain of each
            group = next((g for g in part.groups if g.lines and g.lines[-1].kind == kind), None)
            if group is None:
                continue
            title = group.subject or group.title
            lines = [ln for g in part.groups if (g.subject or g.title) == title for ln in g.lines]
            frames += _frames(f"{part.title}: worked example, {title[0].lower() + title[1:]}", _group_items(lines))
            shown += 1
        what = "output" if output else "hidden"
        if any(ln.kind == "partial" and _share(ln.name) for g in part.groups for ln in g.lines):
            self.left_out.append(f"each output's share of dE/dout for the {layer_name(l, self.depth)} "
                                 "(the shares add up to dE/dout in the table)")
        weights = [w for row in self.weights[l] for w in row][1:]
        self.left_out.append(f"the chain rule for the other {what} neurons' deltas and the other weights' gradients "
                             f"of the {layer_name(l, self.depth)} ({weights[0]}..{weights[-1]}; "
                             "their values are in the tables)" if weights else "")
        self.left_out = [x for x in self.left_out if x]
        return frames

    def _sample_of(self, label: str) -> tuple[str, int | None]:
        neuron_latex, _, sample = label.partition("^{[")
        neuron = next(n for col in self.neurons for n in col if names.latex_symbol(n) == neuron_latex)
        return neuron, int(sample.rstrip("]}")) if sample else None

    def _keyed(self, name: str, key: str) -> Line | None:
        line = self._line(name)
        return replace(line, symbol=names.latex_symbol(key)) if line is not None else None

    def update(self, part: Part) -> list[str]:
        frames = []
        for l in range(self.depth):
            table = Table(f"the weights into the {layer_name(l, self.depth)}", "",
                          tuple(names.latex_symbol(i) for i in self.neurons[l]),
                          tuple((names.latex_symbol(self.neurons[l + 1][j]),
                                 tuple(self._line(names.updated(w)) for w in row))
                                for j, row in enumerate(self.weights[l])))
            frames += _table_frames(part.title, table)
            first = self._line(names.updated(self.weights[l][0][0]))
            if first is not None:
                frames += _frames(f"{part.title}: worked example, {layer_name(l, self.depth)}", _group_items([first]))
        rest = [ln for g in part.groups for ln in g.lines if ln.name.startswith("b")]
        if rest:
            frames += _frames(f"{part.title}: the biases", _group_items(rest))
        held = "; those held fixed keep their value, w+ = w" if not all(self.meta.get("trains", [True])) else ""
        self.left_out.append(f"the derivation of each new weight (every one is w - eta * gradient{held})")
        return frames

    def what_was_left_out(self) -> str:
        items = "\n".join(rf"\item {escape(x)}" for x in self.left_out)
        body = (r"This network has more than " + str(SUMMARY_WEIGHTS) + " weights, so the passes were summarised: "
                r"every value is in the tables, with one worked example per layer and kind of quantity. Left out:"
                "\n\\begin{itemize}\n" + items + "\n\\end{itemize}\n"
                r"Any derivation in full: \texttt{stepgrad explain SPEC --format slides --only w113} "
                r"(a weight, a neuron such as \texttt{h3}, or several, comma-separated). "
                r"Every derivation: add \texttt{--all}.")
        return _frame("What these slides leave out", body)


def _share(name: str) -> bool:
    """Whether `name` is one output's share of a hidden neuron's dE/dout (dE_o1/dout_h1)."""
    n = names.parse(name)
    return n.top is not None and n.top.kind == "error" and bool(n.top.neuron) and n.bottom is not None \
        and n.bottom.kind == "out"


def _bias_gradient(name: str) -> bool:
    """Whether `name` is a bias's gradient over the whole batch (dE_total/db_h1, not ...[2])."""
    n = names.parse(name)
    return n.sample is None and n.bottom is not None and n.bottom.kind == "bias"


def _given(part: Part) -> list[str]:
    if not part.tables:
        lines = tuple(ln for g in part.groups for ln in g.lines)
        return _frames(part.title, [[("row", rf"{ln.symbol} &= {ln.value_latex}")] for ln in lines])
    return _tables_frames(part.title, list(part.tables), intro=part.intro)


def _training(histories: list, digits: Precision) -> str:
    """The table after training: inputs, new outputs, targets, and the error before and after."""
    first = histories[0]
    inputs, targets = first.network.require_samples()
    neurons = first.network.layers
    outs = [h.network_outputs() for h in histories]
    columns = "l" * (2 + len(histories))
    header = " & ".join(["input"] + [f"new output ({escape(h.update_order)})" for h in histories] + ["target"])
    rows = []
    for s in range(min(len(inputs), 6)):
        for k in range(max(neurons[0], neurons[-1])):
            cells = [f"$i_{{{k + 1}}} = {number(inputs[s][k], digits, 'latex')}$" if k < neurons[0] else ""]
            cells += [f"$o_{{{k + 1}}} = {number(o[s][k], digits, 'latex')}$" if k < neurons[-1] else "" for o in outs]
            cells.append(f"$o_{{{k + 1}}} = {number(targets[s][k], digits, 'latex')}$" if k < neurons[-1] else "")
            rows.append(" & ".join(cells))
        rows.append("\\hline")
    errors = " & ".join(["$E_{\\mathrm{total}}$"] + [f"${number(h.final_error, digits, 'latex')}$" for h in histories] + [""])
    table = (f"\\begin{{tabular}}{{{columns}}}\n{header} \\\\ \\hline\n" + " \\\\\n".join(rows).replace("\\\\\n\\hline", "\\\\ \\hline")
             + f"\n{errors}\n\\end{{tabular}}")
    title = f"After {first.start + first.iterations:,} iterations"
    size = r"\small" if max(neurons[0], neurons[-1]) * min(len(inputs), 6) <= 12 else r"\tiny"
    return _frame(title, "\\begin{center}\n" + table + "\n\\end{center}", size)


def _whole(trace: Trace) -> bool:
    """Whether the trace has every weight's gradient (it was not narrowed to a few names)."""
    values = trace.values
    return all(names.gradient(w) in values for layer in trace.meta["weights"] for row in layer for w in row)


def weight_count(trace: Trace) -> int:
    """How many weights the traced network has."""
    return sum(len(row) for layer in trace.meta.get("weights") or () for row in layer)


def deck(doc: Document, trace: Trace, histories: list | None = None, full: bool | None = None,
         other: Trace | None = None, mistakes: Sequence[Mistake] = ()) -> str:
    """The Beamer source of the deck; `full` False summarises the passes (the default beyond SUMMARY_WEIGHTS).
    The lecture: `other`, the same step in the other update order, puts the error after the update in
    both orders side by side; `mistakes`, the deck's own (stepgrad.teach.deck_figures), get frames of their own."""
    if full is None:  # a trace narrowed by --only is shown in full
        full = weight_count(trace) <= SUMMARY_WEIGHTS or not trace.meta.get("neurons") or not _whole(trace)
    summary = None if full else _Summary(doc, trace)
    frames = [r"\begin{frame}" + "\n\\titlepage\n" + r"\end{frame}" + "\n"]
    figure = network_figure(trace, doc.digits, width=14.0, height=6.6)
    if figure:
        frames.append(_frame("Our neural network", figure))
        if " = " not in figure:  # too small for values on its edges: one layer at a time, where that fits
            frames += [_frame(title, picture) for title, picture in layer_figures(trace)]
    for part in doc.parts:
        if other is not None and part.key.startswith(("after", "error_after")):
            continue  # both orders, side by side, below
        if part.given:
            frames += _given(part)
        elif part.key.startswith("after"):  # the deck shows only the error after; the values in tables
            frames += (summary or _Summary(doc, trace)).forward(part, after=True) if trace.meta.get("neurons") \
                else _frames(part.title, [[("row", rf"{ln.symbol} &= {bold(ln.value_latex)}")]
                                          for g in part.groups for ln in g.lines])
        elif summary is not None and part.key.startswith("forward"):
            frames += summary.forward(part, after=False)
        elif summary is not None and part.key.startswith("backward_"):
            frames += summary.backward(part, int(part.key.removeprefix("backward_")) - 1)
        elif summary is not None and part.key.startswith("update"):
            frames += summary.update(part)
        else:
            frames += _full(part, doc.value)
    if summary is not None:
        frames.append(summary.what_was_left_out())
    before, after = doc.value(names.error()), doc.value(names.error(after=True))
    if other is not None:
        frames.append(both_orders(trace, other, doc.digits, mistakes))
    elif before and after:
        frames.append(_frame("The error before and after one update", (
            "\\begin{align*}\n"
            rf"\text{{before: }} E_{{\mathrm{{total}}}} &= {before.value_latex} \\" "\n"
            rf"\text{{after: }} E_{{\mathrm{{total}}}}^{{+}} &= {after.value_latex}" "\n\\end{align*}"), r"\large"))
    if histories:
        frames.append(_training(histories, doc.digits))
    if mistakes:
        frames += mistakes_frames(mistakes, doc.digits, "the deck")
    head = [PREAMBLE, f"\\title{{{escape(doc.title)}}}", f"\\subtitle{{{escape(doc.subtitle)}}}",
            r"\author{stepgrad}", r"\date{}", r"\begin{document}"]
    return "\n".join(head) + "\n" + "\n".join(frames) + "\\end{document}\n"


def render(trace: Trace, digits: Precision = 9, history=None, full: bool | None = None, other: Trace | None = None,
           mistakes: Sequence[Mistake] = (), **_: object) -> str:
    """The trace as a Beamer deck; `history` (a History or a list of them) adds the training table;
    `full` True shows every derivation of a large network (the default summarises beyond 40 weights);
    `other` and `mistakes` make it the lecture (see deck)."""
    histories = [history] if history is not None and not isinstance(history, (list, tuple)) else history
    return deck(build(trace, digits), trace, list(histories) if histories else None, full, other, mistakes)
