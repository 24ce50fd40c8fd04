r"""A Beamer deck like the seed deck: title, the network, forward pass, error, one frame group per
weight, the new weights, the error before and after, and (given a training History) the table
after training.

    stepgrad explain --format slides -o deck.tex && pdflatex deck.tex

From Python: render(trace, "slides", history=stepgrad.train(net, 10_000)).
"""

from __future__ import annotations

from ..names import error, latex_symbol
from ..trace import Trace
from .document import Document, Group, Line, Part, build
from .formula import Precision, number
from .latex import escape, given_table, paths_block, wrap

PER_FRAME = 3  # quantities per frame (two rows each)
WIDTH = 46  # characters shown in a formula row before it breaks at a top-level +
LABELLED_WEIGHTS = 16  # more weights than this: the diagram drops the values on its edges

PREAMBLE = r"""\documentclass[aspectratio=169,11pt]{beamer}
\usepackage{amsmath}
\usepackage{tikz}
\setbeamertemplate{navigation symbols}{}
\setbeamertemplate{footline}[frame number]
\setbeamerfont{frametitle}{size=\large}
"""


def _rows(line: Line) -> str:
    """Two rows for a quantity: symbol = formula, then = numbers = value."""
    if not line.formula:
        return rf"{line.symbol} &= \mathbf{{{line.value_latex}}}"
    rows = []
    for k, (expression, _rule) in enumerate(line.rows):
        first = wrap(expression, WIDTH)
        rows += [f"{line.symbol if k == 0 else ''} &= {first[0]}"] + [rf"&\quad {p}" for p in first[1:]]
    if line.numbers:
        numbers = wrap(line.numbers, WIDTH)
        rows += [f"&= {numbers[0]}"] + [rf"&\quad {p}" for p in numbers[1:]]
    rows[-1] += rf" = \mathbf{{{line.value_latex}}}"
    return " \\\\\n".join(rows)


def _frame(title: str, body: str, size: str = r"\small") -> str:
    return f"\\begin{{frame}}\n\\frametitle{{{escape(title)}}}\n{size}\n{body}\n\\end{{frame}}\n"


def _equations(lines: tuple[Line, ...]) -> str:
    body = "\\begin{align*}\n" + " \\\\[2pt]\n".join(_rows(l) for l in lines) + "\n\\end{align*}"
    notes = [f"\\emph{{{escape(l.note)}}}" for l in lines if l.note]
    paths = [paths_block(l) for l in lines if l.paths or l.path_count]
    return "\n".join([body, *notes, *paths])


def _group_frames(part: Part, group: Group) -> list[str]:
    frames = []
    for i in range(0, len(group.lines), PER_FRAME):
        chunk = group.lines[i:i + PER_FRAME]
        title = f"{part.title}: {group.title}" if group.title != part.title else part.title
        if i:
            title += " (continued)"
        paths = any(l.paths for l in chunk)
        frames.append(_frame(title, _equations(chunk), r"\footnotesize" if paths else r"\small"))
    return frames


def _diagram(trace: Trace, digits: Precision) -> str:
    """The network in TikZ: neurons in columns, each weight labelled on its edge (small networks)."""
    meta = trace.meta
    neurons, weights, biases = meta.get("neurons"), meta.get("weights"), meta.get("biases")
    if not neurons or not weights:
        return ""
    count = sum(len(row) for layer in weights for row in layer)
    labelled = count <= LABELLED_WEIGHTS  # values on the edges and biases
    tallest = max(len(col) for col in neurons)
    named = tallest <= 8  # names in the neurons
    dy = min(2.6, 5.0 / (tallest - 1)) if tallest > 1 else 2.6  # the picture fits a 16:9 frame
    dx = min(4.6, 12.0 / max(1, len(neurons) - 1))
    diameter = min(0.8, 0.6 * dy)

    def value(name: str) -> str:
        try:
            v = trace.lookup(name)
        except KeyError:
            return ""
        return number(v, min(digits, 4) if isinstance(digits, int) else 4, "latex")  # picture labels: 4 digits at most

    def label(name: str) -> str:
        v = value(name)
        return f"${latex_symbol(name)}" + (f" = {v}$" if v else "$")

    out = [rf"\begin{{tikzpicture}}[x={dx:.2f}cm,y=1cm,",
           rf"neuron/.style={{circle,draw,minimum size={diameter:.2f}cm,inner sep=0pt,font=\small}},",
           r"w/.style={font=\footnotesize,fill=white,inner sep=1pt,sloped,pos=0.3}]"]
    for l, col in enumerate(neurons):
        for k, n in enumerate(col):
            y = -(k - (len(col) - 1) / 2) * dy
            text = f"${latex_symbol(n)}$" if named else ""
            out.append(rf"\node[neuron] ({n}) at ({l},{y:.3f}) {{{text}}};")
    for l, layer in enumerate(weights):
        for j, row in enumerate(layer):
            for i, w in enumerate(row):
                edge = f"node[w] {{{label(w)}}} " if labelled else ""
                style = "" if labelled else "[very thin,opacity=0.4]"
                out.append(rf"\draw{style} ({neurons[l][i]}) -- {edge}({neurons[l + 1][j]});")
    for l, names in enumerate(biases or ()):
        if not labelled:
            break
        if len(names) == 1 and len(neurons[l + 1]) > 1:
            y = -max(len(neurons[l]) - 1, len(neurons[l + 1]) - 1) / 2 * dy - 1.1  # below both columns
            out.append(rf"\node[draw,rounded corners,font=\footnotesize] ({names[0]}) at ({l + 0.4},{y:.3f}) "
                       rf"{{{label(names[0])}}};")
            out += [rf"\draw[dashed,gray] ({names[0]}) -- ({n});" for n in neurons[l + 1]]
        else:
            out += [rf"\node[above=1pt,font=\scriptsize] at ({n}.north) {{{label(b)}}};" for b, n in zip(names, neurons[l + 1])]
    out.append(r"\end{tikzpicture}")
    return "\\begin{center}\n" + "\n".join(out) + "\n\\end{center}"


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
    return _frame(title, "\\begin{center}\n" + table + "\n\\end{center}")


def deck(doc: Document, trace: Trace, histories: list | None = None) -> str:
    """The Beamer source of the deck."""
    frames = [r"\begin{frame}" + "\n\\titlepage\n" + r"\end{frame}" + "\n"]
    diagram = _diagram(trace, doc.digits)
    if diagram:
        frames.append(_frame("Our neural network", diagram))
    for part in doc.parts:
        if part.given:
            lines = tuple(l for g in part.groups for l in g.lines)
            for i in range(0, len(lines), 15):
                frames.append(_frame(part.title, (escape(part.intro) if not i else "") + "\n" + given_table(lines[i:i + 15])))
            continue
        if part.key.startswith("after"):  # the deck shows only the error after; the values in one frame
            lines = tuple(l for g in part.groups for l in g.lines)
            for i in range(0, len(lines), 12):
                body = "\n".join([r"\begin{align*}"] + [
                    " & ".join(rf"{l.symbol} &= {l.value_latex}" for l in lines[j:j + 2]) + r" \\"
                    for j in range(i, min(i + 12, len(lines)), 2)] + [r"\end{align*}"])
                frames.append(_frame(part.title, body))
            continue
        for group in part.groups:
            frames += _group_frames(part, group)
    before, after = doc.value(error()), doc.value(error(after=True))
    if before and after:
        frames.append(_frame("The error before and after one update", (
            "\\begin{align*}\n"
            rf"\text{{before: }} E_{{\mathrm{{total}}}} &= {before.value_latex} \\" "\n"
            rf"\text{{after: }} E_{{\mathrm{{total}}}}^{{+}} &= {after.value_latex}" "\n\\end{align*}"), r"\large"))
    if histories:
        frames.append(_training(histories, doc.digits))
    head = [PREAMBLE, f"\\title{{{escape(doc.title)}}}", f"\\subtitle{{{escape(doc.subtitle)}}}",
            r"\author{stepgrad}", r"\date{}", r"\begin{document}"]
    return "\n".join(head) + "\n" + "\n".join(frames) + "\\end{document}\n"


def render(trace: Trace, digits: Precision = 9, history=None, **_: object) -> str:
    """The trace as a Beamer deck; `history` (a History or a list of them) adds the training table."""
    histories = [history] if history is not None and not isinstance(history, (list, tuple)) else history
    return deck(build(trace, digits), trace, list(histories) if histories else None)
