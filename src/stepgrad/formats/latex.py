r"""A complete LaTeX article (amsmath) of the derivation; compiles with pdflatex as it is.

    stepgrad explain --format latex -o step.tex && pdflatex step.tex && pdflatex step.tex
    (twice, as for the slides; latexmk -pdf step.tex does the same)

The given values are tables by kind (inputs and targets per sample, a weight matrix and the biases
per layer) that break across pages; a TikZ figure shows the network. The quantities of one group
(a neuron's net and out, a chain up to a delta or gradient) share one align* block, so their "="
signs stand in one column; long sums break at their top-level + signs, the continuation indented.
The result is bold, its sign included. Displays may break across pages; headings keep a few lines
of what follows with them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from stepgrad.core import names
from stepgrad.core.names import latex_symbol
from stepgrad.core.trace import Trace
from stepgrad.formats.document import Document, Line, Part, Table, build
from stepgrad.formats.formula import Decimals, Precision, number

# Text mode with the default OT1 font has no < > | " (they print as ¡ ¿ — ”): those are written as
# commands; the few non-ASCII characters a note or rule may hold become math or ASCII.
_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
            "^": r"\^{}", "_": r"\_", "%": r"\%", "~": r"\~{}", "<": r"\textless{}", ">": r"\textgreater{}",
            "|": r"\textbar{}", '"': "''", "→": r"$\to$", "−": "-", "×": r"$\times$", "·": r"$\cdot$",
            "≤": r"$\le$", "≥": r"$\ge$", "≠": r"$\ne$", "≈": r"$\approx$", "±": r"$\pm$", "²": r"$^{2}$",
            "√": r"$\surd$", "∑": r"$\sum$", "∂": r"$\partial$", "η": r"$\eta$", "δ": r"$\delta$",
            "σ": r"$\sigma$", "α": r"$\alpha$", "β": r"$\beta$", "ε": r"$\varepsilon$", "…": r"\dots{}",
            "–": "--", "—": "---", "‘": "`", "’": "'", "“": "``", "”": "''"}

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[utf8]{inputenc}
\usepackage[a4paper,margin=2cm]{geometry}
\usepackage{amsmath,amssymb,bm}
\usepackage{longtable,array}
\usepackage{tikz}
\allowdisplaybreaks
\setlength{\tabcolsep}{4pt}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.5em}
% a heading starts a new page rather than stand alone at the bottom of one
\newcommand{\keeplines}[1]{\par\vskip 0pt plus #1\baselineskip\penalty-200\vskip 0pt plus -#1\baselineskip}
"""
PLAN = r"\textbf{The plan.} The chain rule this part works out; then each factor, one at a time."
WIDTH = 58  # characters shown in a formula row before it breaks at a top-level + or -
RULE_WIDTH, RULE_CHARS = "4.2cm", 18  # a derivation's rule beside its row (wrapped), and what it leaves the row
TABLE_CHARS = 92  # characters of \\small table text across the page
LABELLED_WEIGHTS = 40  # more weights than this: the figure leaves the weights to the tables (as the SVG does)
MIN_PT = 10.95  # the figure's text size at least: its subscripts are 8 pt


def escape(text: str) -> str:
    """Text safe for LaTeX's text mode (names like dE_total/dw5, notes, titles): every character prints as
    itself; one the OT1 font cannot print (beyond ASCII, accented letters and the table above) is written
    as its Unicode name, [greek small letter lamda]."""
    return "".join(_SPECIAL.get(c) or (c if _printable(c) else f"[{unicodedata.name(c, hex(ord(c))).lower()}]")
                   for c in text)


def math_text(text: str) -> str:
    r"""Text for \text{..} in math a browser typesets (MathJax, KaTeX: Markdown): only LaTeX's own
    specials escaped, since < > | print as themselves there and \textgreater is unknown."""
    return "".join(_SPECIAL.get(c, c) if c in "\\{}$&#^_%~→−×∂η…–—" else c for c in text)


def _printable(c: str) -> bool:
    return " " <= c <= "~" or c == "\n" or (unicodedata.category(c).startswith("L") and "\u00c0" <= c < "\u0180")


_NAMED = ("neuron", "input", "weight", "bias")


def title(text: str) -> str:
    """A heading in LaTeX: escaped, with the neurons, weights and biases it names as math
    ('The delta of h1' -> 'The delta of $h_{1}$'; '(w5..w8)' -> '($w_{5}$..$w_{8}$)')."""

    def word(m: re.Match) -> str:
        token = m.group(0)
        if names.is_name(token) and names.parse(token).kind in _NAMED:
            return f"${latex_symbol(token)}$"
        return escape(token)

    return re.sub(r"[A-Za-z]\w*|[^A-Za-z]+", word, text)


def bold(value_latex: str) -> str:
    r"""The result in bold, its minus sign too (\boldsymbol, not \mathbf, which leaves the sign thin)."""
    return rf"\boldsymbol{{{value_latex}}}"


_CASES = re.compile(r"\\begin\{cases\}(.*?)\\end\{cases\}", re.DOTALL)


def _visible(latex: str) -> int:
    """Roughly how many characters `latex` shows (commands and braces take no room; an operator with
    its spaces takes two; cases as wide as their widest row)."""
    latex = _CASES.sub(lambda m: "x" * (2 + max(_visible(row) for row in m.group(1).split(r"\\"))), latex)
    latex = re.sub(r"\\cdot|\\times|[=+]| - ", "xx", latex)
    latex = re.sub(r"\\(cosh|sinh|tanh)(?![a-zA-Z])", "xxx", latex)  # a function's name shows (\ln, \exp too, but are short)
    return len(re.sub(r"\\[a-zA-Z]+|[{}_^ &]", "", latex))


def _group_end(latex: str, start: int) -> int:
    """The index just after the brace group opening at `start`."""
    depth, i = 0, start
    while i < len(latex):
        if latex[i] == "\\":  # \{ \} \\ and commands: no brace of the group
            i += 2
            continue
        depth += {"{": 1, "}": -1}.get(latex[i], 0)
        if depth == 0:
            return i + 1
        i += 1
    return len(latex)


# one token each: what opens a piece, what closes it, and escapes that do neither
_TOKEN = re.compile(r"(?P<open>\\begin\{[^}]*\}|\\left(?![a-zA-Z])|\{)|(?P<close>\\end\{[^}]*\}|\\right(?![a-zA-Z])|\})"
                    r"|\\[{}\\]|.", re.DOTALL)


def _depths(latex: str) -> list[int]:
    r"""The nesting depth at each character of `latex`: inside braces, \left..\right and \begin..\end
    (a cases environment is one piece); escaped \{ \} \\ do not count. An opening token is outside what
    it opens, a closing one inside."""
    depths, depth = [], 0
    for m in _TOKEN.finditer(latex):
        if m.group("close"):
            depths += [depth] * len(m.group())
            depth -= 1
            continue
        depths += [depth] * len(m.group())
        if m.group("open"):
            depth += 1
    return depths


def linear_fractions(latex: str, width: int) -> str:
    r"""Top-level fractions wider than `width` written on one line, A / (B), so a long denominator (a
    softmax's sum) can break between its terms."""
    depths = _depths(latex)
    out, i = [], 0
    while i < len(latex):
        if depths[i] == 0 and latex.startswith(r"\frac{", i):
            top_end = _group_end(latex, i + 5)
            bottom_end = _group_end(latex, top_end)
            top, bottom = latex[i + 6:top_end - 1], latex[top_end + 1:bottom_end - 1]
            if _visible(top) + _visible(bottom) > width:
                product = not any(top.startswith((" + ", " - "), k) for k in _outside(top))
                # a product over a short denominator: the constant in front, so the factors can break apart
                short = product and _visible(bottom) <= width
                out.append(rf"\frac{{1}}{{{bottom}}} \cdot {top}" if short else f"{{{top}}} / ({bottom})")
                i = bottom_end
                continue
        out.append(latex[i])
        i += 1
    return "".join(out)


def wrap(latex: str, width: int = WIDTH, at: tuple[str, ...] = (" + ", " - ")) -> list[str]:
    r"""Pieces of a long formula, each about `width` characters shown, cut before a top-level ' + ' / ' - '
    (or the operators `at`), never inside braces, \left..\right or an environment (cases); too wide a
    fraction is first written on one line (linear_fractions). Cuts outside parentheses come first, between
    the terms or, in a long product, between its factors (the next row starting with \cdot); only when
    these leave a row too wide is a sum inside parentheses cut too."""
    latex = linear_fractions(latex, width)
    terms = _greedy(latex, [i for i in _outside(latex) if latex.startswith(at, i)], set(), width)
    pieces = [part for p in terms for part in (_factors(p, width) if _visible(p) > width * 5 // 4 else [p])]
    if all(_visible(p) <= width * 5 // 4 for p in pieces):  # the estimate is rough: a little over still fits
        return pieces
    depths = _depths(latex)
    cuts = [i for i in range(len(latex)) if depths[i] == 0 and latex.startswith(at, i)]
    pieces = _greedy(latex, cuts, set(), width)
    if any(_visible(p) > width and _SIZED.search(p) for p in pieces):  # cut inside \left( .. \right) too
        return wrap(_SIZED.sub(lambda m: {r"\left": r"\bigl", r"\right": r"\bigr"}[m.group(1)] + m.group(2), latex),
                    width, at)
    return [part for p in pieces for part in (_factors(p, width) if _visible(p) > width else [p])]


def _greedy(latex: str, cuts: list[int], factors: set[int], width: int) -> list[str]:
    r"""`latex` cut at the fewest of `cuts` (a space before an operator or between factors) so each piece
    is at most `width` shown where it can be; a piece after a factor cut starts with \cdot."""
    pieces, start, last = [], 0, None
    for cut in cuts + [len(latex)]:
        if last is not None and last > start and _visible(latex[start:cut]) > width:
            pieces.append(latex[start:last])
            start = last + 1
        last = cut
    pieces.append(latex[start:])
    starts = [0]
    for p in pieces[:-1]:
        starts.append(starts[-1] + len(p) + 1)
    return [rf"\cdot {p}" if k and begin - 1 in factors and not p.startswith(("\\cdot", "\\times")) else p
            for k, (begin, p) in enumerate(zip(starts, pieces))]


def _factor_cuts(latex: str, outside: list[int]) -> list[int]:
    """The spaces between two factors of a product, at the positions `outside` (never right after an
    operator or a function's name, never before an operator)."""
    return [i for i in outside if latex[i] == " " and i > 2 and latex[i + 1:i + 2] not in ("", "+", "-", "=", "&", "/")
            and not re.search(r"(\\[a-zA-Z]+|[-+=(/&])$", latex[:i])]


def _outside(latex: str) -> list[int]:
    r"""The positions outside every brace group, environment, \left..\right and parenthesis pair."""
    depths, parens, found = _depths(latex), 0, []
    for i, ch in enumerate(latex):
        if depths[i] == 0 and ch in "()" and not latex.endswith(("\\left", "\\right"), 0, i):  # \left( is a depth
            parens += 1 if ch == "(" else -1
        elif depths[i] == 0 and parens == 0:
            found.append(i)
    return found


def _factors(piece: str, width: int) -> list[str]:
    r"""A product too wide for a row cut between its top-level factors (outside braces, environments and
    parentheses), each continuation starting with \cdot."""
    cuts = _factor_cuts(piece, _outside(piece))
    return _greedy(piece, cuts, set(cuts), width)


_SIZED = re.compile(r"(\\left|\\right)([()\[\]]|\\[{}]|\.)")


def margin_rule(rule: str) -> str:
    r"""A derivation's rule as a tag at the right margin, wrapped (amsmath moves it below a row too wide to
    share the line; a column of rules would push every wide row past the margin)."""
    return rf" \tag*{{\parbox[t]{{{RULE_WIDTH}}}{{\raggedright\footnotesize {escape(rule)}}}}}"


def column_rule(rule: str) -> str:
    r"""A derivation's rule in a column of its own (&&), for math typeset in a browser (no \tag in aligned)."""
    return rf" && \text{{{math_text(rule)}}}"


def equation_rows(line: Line, width: int = WIDTH, rules: bool = True,
                  beside: Callable[[str], str] = margin_rule, rule_room: int = RULE_CHARS) -> list[str]:
    r"""The align rows of one quantity: 'w_{5}^{+} &= w_{5} - ...', continuations '&\quad + ...',
    the numbers, and the bold value on the last row (with `rules`, each derived row's rule `beside` it)."""
    if not line.formula:
        return [rf"{line.symbol} &= {bold(line.value_latex)}"]
    if line.kind == "plan":  # in symbols only: where the derivation is going
        return [(line.symbol if n == 0 else "") + (" &= " if n == 0 else r" &\quad ") + piece
                for n, piece in enumerate(wrap(line.formula, width))]
    rows = []
    texts = list(line.rows) + ([(line.numbers, "")] if line.numbers else [])
    value = rf" = {bold(line.value_latex)}"
    ruled_last = False
    for k, (text, rule) in enumerate(texts):
        ruled = rules and bool(rule)
        last = k == len(texts) - 1 and not ruled
        room = width - rule_room if ruled and beside is margin_rule else width  # the margin's rule takes room
        pieces = wrap(text + (value if last else ""), room)
        if last and _CASES.search(pieces[-1]) and _visible(pieces[-1]) > room:  # the value below a wide cases
            pieces = wrap(text, room)
        for n, piece in enumerate(pieces):
            lhs = line.symbol if (k, n) == (0, 0) else ""
            comment = beside(rule) if ruled and n == len(pieces) - 1 else ""
            rows.append(lhs + (" &= " if n == 0 else r" &\quad ") + piece + comment)
            ruled_last = bool(comment)
    if ruled_last or not rows[-1].endswith(value):
        rows.append(rf"&{value}")
    return rows


def cell(line: Line, style: str) -> str:
    """A table cell: 'equation' ($w_{5} = 0.4$), 'value' ($0.4$) or 'keyed' ($w_{5}$: $0.4$)."""
    if style == "value":
        return f"${line.value_latex}$"
    if style == "keyed":
        return f"${line.symbol}$: ${line.value_latex}$"
    return f"${line.symbol} = {line.value_latex}$"


def table_blocks(table: Table, chars: int, style: str = "equation") -> list[tuple[str, str, list[str]]]:
    r"""The table as (column spec, header row, body rows), at most as wide as `chars` characters: a wide
    matrix continues below itself in blocks of columns, each under its own header row, all in the one
    tabular, so the blocks' columns line up."""
    width = len(table.columns)
    widest = max((_visible(cell(x, style)) for _, cells in table.rows for x in cells if x is not None), default=1)
    columns = max(1, min(width, chars // (widest + 4)))
    labelled = any(label for label, _ in table.rows)
    spec = ("l|" if labelled else "") + "l" * columns
    heads_of: list[str] = []
    body: list[str] = []
    for c in range(0, width, columns):
        heads = list(table.columns[c:c + columns]) + [""] * (columns - len(table.columns[c:c + columns]))
        head = " & ".join(([""] if labelled else []) + [f"${h}$" if h else "" for h in heads]) + r" \\ \hline"
        if c and any(heads):
            body.append(r"\hline " + head)  # the next block's heads, in the same columns
        heads_of.append(head if any(heads) else "")
        for label, cells in table.rows:
            shown = [cell(x, style) if x is not None else "" for x in cells[c:c + columns]]
            if any(shown):
                shown += [""] * (columns - len(shown))
                body.append(" & ".join(([f"${label}$" if "_" in label else label] if labelled else []) + shown)
                            + r" \\")
    return [(spec, heads_of[0], body)]


def table_pieces(table: Table, chars: int, style: str = "equation") -> list[str]:
    """The table as a longtable (that breaks across pages)."""
    return [f"\\begin{{longtable}}{{{spec}}}\n{head}\n" + "\n".join(body) + "\n\\end{longtable}"
            for spec, head, body in table_blocks(table, chars, style)]


def network_figure(trace: Trace, digits: Precision, width: float = 12.0, height: float = 5.0,
                   min_pt: float = MIN_PT) -> str:
    """The network in TikZ, placed by the same layout as the SVG diagram and the web page
    (stepgrad.pictures.layout): each weight on its edge where no label covers a neuron, a bias, a bias's
    line or another label. Every text is at least `min_pt` (a subscript too: 10.95 pt text has 8 pt
    subscripts), so a figure that cannot fit `width` x `height` cm with its labels that large labels its
    edges with the weights' names alone (their values are in the tables), and failing that draws its
    edges faint with no labels. Neurons carry their names when they fit in the circle; layers are named
    below."""
    from stepgrad.pictures.layout import FONT

    meta = trace.meta
    neurons, weights = meta.get("neurons"), meta.get("weights")
    if not neurons or not weights:
        return ""
    count = sum(len(row) for layer in weights for row in layer)
    places = min(digits, 4) if isinstance(digits, int) else 4  # picture labels: 4 digits
    chosen = None
    # labels with values, else names, where no line crosses them; else names on their own edge where it
    # crosses another (still clear of every other text); else no labels
    styles = [("value", True), ("name", True), ("name", False)] if count <= LABELLED_WEIGHTS else []
    for style, strict in styles + [("", False)]:
        for font in (FONT * k / 8 for k in range(8, 29)):
            place, bias_texts = _figure_layout(trace, style, font, places, strict)
            if style and not place.labelled:
                continue
            bottom = max([n.y + n.radius for n in place.nodes.values()]
                         + [spot.box.y1 for spot in place.biases.values()]) + 2.2 * font
            scale = min(width / place.width, height / (bottom + font))  # cm per layout unit
            if not style or font * scale * 28.45 >= min_pt:
                chosen = (place, bias_texts, bottom, scale, style)
                break
        if chosen:
            break
    assert chosen is not None
    place, bias_texts, bottom, scale, style = chosen
    size = max(min_pt, place.font * scale * 28.45) if style else min_pt  # the text size, in pt

    def value(name: str) -> float | None:
        try:
            return trace.lookup(name)
        except KeyError:
            return None

    def label(name: str) -> str:
        v = value(name) if style == "value" else None
        # a bias's neuron one level down, b_{h1}: a subscript of a subscript would be under 8 pt
        symbol = re.sub(r"_\{([a-z]+)_\{([\d,]+)\}\}", r"_{\1\2}", latex_symbol(name))
        return f"${symbol}$" if v is None else f"${symbol} = {number(v, places, 'latex')}$"

    def at(x: float, y: float) -> str:
        return f"({x * scale:.3f},{-y * scale:.3f})"

    font_cmd = rf"\fontsize{{{size:.2f}}}{{{1.2 * size:.1f}}}\selectfont"
    diameter = 2 * place.radius * scale * 28.45  # pt
    # a neuron's name, h_{1,1}: a letter at the text size, its subscript (digits, a comma) at 8/11 of it
    longest = max(0.58 + sum(0.28 if c == "_" else 0.5 for c in n[1:]) * 8 / 11 for col in neurons for n in col)
    named = longest * min_pt <= 0.9 * diameter and max(len(c) for c in neurons) <= 10
    node_size = min(size, 0.9 * diameter / longest) if named else size
    out = [r"\begin{tikzpicture}[",
           rf"neuron/.style={{circle,draw,minimum size={2 * place.radius * scale:.2f}cm,inner sep=0pt,"
           rf"font=\fontsize{{{node_size:.2f}}}{{{1.2 * node_size:.1f}}}\selectfont}},",
           rf"w/.style={{font={font_cmd},fill=white,inner sep=0.6pt}}]"]
    for n in place.nodes.values():
        out.append(rf"\node[neuron] ({n.name}) at {at(n.x, n.y)} {{{f'${latex_symbol(n.name)}$' if named else ''}}};")
    faint = "" if place.labelled else "[very thin,opacity=0.3]"
    for x1, y1, x2, y2 in place.edges.values():
        out.append(rf"\draw{faint} {at(x1, y1)} -- {at(x2, y2)};")
    for x1, y1, x2, y2 in place.lines:  # dashed bias lines first: every text is drawn over the lines
        out.append(rf"\draw[dashed,gray] {at(x1, y1)} -- {at(x2, y2)};")
    for b, spot in place.biases.items():
        frame = ",draw,rounded corners,inner sep=1.8pt" if spot.shared else ",anchor=base"  # a tag: its baseline
        out.append(rf"\node[w{frame}] at {at(spot.x, spot.y)} {{{label(b)}}};")
    if place.labelled:
        out += [rf"\node[w] at {at(lab.x, lab.y)} {{{label(w)}}};" for w, lab in place.labels.items()]
    depth = len(weights)
    for l, col in enumerate(neurons):
        name = "inputs" if l == 0 else "output layer" if l == depth else (
            "hidden layer" if depth == 2 else f"hidden layer {l}")
        x = place.nodes[col[0]].x
        out.append(rf"\node[font={font_cmd},anchor=north] at {at(x, bottom - 1.6 * place.font)} {{{name} ({len(col)})}};")
    out.append(r"\end{tikzpicture}")
    return "\\begin{center}\n" + "\n".join(out) + "\n\\end{center}"


def _figure_layout(trace: Trace, style: str, font: float, places: int, strict: bool = True):
    """The layout of the figure with edge labels `style` ("value": w5 = 0.4, "name": w5, "": none)."""
    from stepgrad.pictures.layout import diagram_layout

    meta = trace.meta
    neurons, weights, biases = meta["neurons"], meta["weights"], meta.get("biases") or ()

    def plain(name: str) -> str:  # the label as the layout measures it
        try:
            return f"{name} = {number(trace.lookup(name), places)}" if style == "value" else name
        except KeyError:
            return name

    edge_texts = {w: plain(w) for layer in weights for row in layer for w in row}
    bias_texts: dict[str, tuple[str, bool, int, int]] = {}
    if style:
        for l, names_ in enumerate(biases):
            for j, b in enumerate(names_):
                bias_texts[b] = (plain(b), len(names_) == 1 and len(neurons[l + 1]) > 1, l, j)
    place = diagram_layout([len(c) for c in neurons], edge_texts, bias_texts=bias_texts, labelled=bool(style),
                           font=font, strict=strict, exact=True)
    return place, bias_texts


def precision_words(digits: Precision) -> str:
    """'9 significant digits', or '9 decimals' (Decimals(9), as the deck prints)."""
    return str(digits) if isinstance(digits, Decimals) else f"{digits} significant digits"


def paths_rows(line: Line, width: int = WIDTH) -> list[str]:
    """The paths from a hidden weight to the outputs whose products add up to its gradient, as align
    rows in the right-hand column; a long product continues on the next row."""
    rows = []
    for product, value in line.paths:
        pieces = wrap(f"{product} = {value}", width, at=(r" \cdot ",))
        rows += [r"&\quad " + pieces[0]] + [r"&\qquad " + p for p in pieces[1:]]
    return rows


def paths_text(line: Line) -> str:
    if len(line.paths) == 1:
        return "The one path to the outputs:"
    if line.paths:
        return f"Summed over the {len(line.paths)} paths to the outputs:"
    if line.path_count:
        return f"({line.path_count} paths to the outputs, summed through the deltas above.)"
    return ""


def align(items: list[tuple[str, str]]) -> str:
    r"""An align* of ("row", latex) and ("text", latex) items: quantities' rows, with \intertext between
    them for notes and path headings (text at the very start or end stands outside the display)."""
    before = [t for kind, t in _leading(items)]
    items = items[len(before):]
    after = [t for kind, t in _leading(items[::-1])][::-1]
    items = items[:len(items) - len(after)]
    out = []
    for k, (kind, latex) in enumerate(items):
        if kind == "text":
            out.append(rf"\intertext{{{latex}}}")
            continue
        out.append(latex)
        if k + 1 < len(items) and items[k + 1][0] == "row":
            out[-1] += " \\\\[2pt]" if items[k + 1][1].split("&")[0].strip() else " \\\\"
        elif k + 1 < len(items):
            out[-1] += " \\\\"
    display = "\\begin{align*}\n" + "\n".join(out) + "\n\\end{align*}" if out else ""
    return "\n".join(["\n".join(before), display, "\n".join(after)]).strip("\n")


def _leading(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    k = 0
    while k < len(items) and items[k][0] == "text":
        k += 1
    return items[:k]


def line_items(line: Line, width: int = WIDTH, rules: bool = True, rule_room: int = RULE_CHARS) -> list[tuple[str, str]]:
    """The align items of one quantity: its rows, its note, the paths to the outputs."""
    items = [("row", r) for r in equation_rows(line, width, rules, rule_room=rule_room)]
    if line.note:
        items.append(("text", rf"\emph{{{escape(line.note)}}}"))
    if paths_text(line):
        items.append(("text", escape(paths_text(line))))
    items += [("row", p) for p in paths_rows(line, width)]
    return items


def _block(lines: tuple[Line, ...]) -> str:
    r"""One align* for a group: every quantity's rows, notes and paths as \intertext between them."""
    return align([item for line in lines for item in line_items(line)])


def given_tables(part: Part) -> list[str]:
    """The given values as a table per kind, each a longtable that breaks across pages."""
    if not part.tables:
        return [_block(tuple(l for g in part.groups for l in g.lines))]
    out = []
    for table in part.tables:
        out.append(f"\\keeplines{{6}}\\textbf{{{escape(table.title)}}}\\nopagebreak\n")
        out += ["{\\small"] + table_pieces(table, TABLE_CHARS) + ["}"]
    return out


def _part(part: Part) -> list[str]:
    out = [r"\keeplines{16}" + f"\\section{{{title(part.title)}}}"]
    if part.intro:
        out.append(escape(part.intro) + "\n")
    if part.given:
        return out + given_tables(part)
    if part.plan:
        out.append(PLAN + "\n" + _block(part.plan))
    for k, group in enumerate(part.groups):
        if len(part.groups) > 1:  # the section's heading already kept room for the first
            out.append((r"\keeplines{8}" if k else "") + f"\\subsection*{{{title(group.title)}}}")
        if group.table is not None:
            out += ["{\\small"] + table_pieces(group.table, TABLE_CHARS, group.table.style) + ["}"]
            continue
        out.append(f"% {escape(group.title)}\n" + _block(group.lines))
    return out


def document(doc: Document, trace: Trace | None = None) -> str:
    """The article's source."""
    out = [PREAMBLE, f"\\title{{{escape(doc.title)}}}", r"\author{stepgrad}", r"\date{}", r"\begin{document}",
           r"\maketitle", escape(doc.subtitle.capitalize() + ".") if doc.subtitle else "",
           f"Values are shown to {precision_words(doc.digits)}.\n"]
    figure = network_figure(trace, doc.digits, width=14.0, height=8.0) if trace is not None else ""
    if figure:
        out.append(figure)
    for part in doc.parts:
        out.extend(_part(part))
    out.append(r"\end{document}")
    return "\n".join(o for o in out if o) + "\n"


def render(trace, digits: Precision = 9, **_: object) -> str:
    """The trace as a complete LaTeX article."""
    return document(build(trace, digits), trace)
