r"""The frames the lecture adds to the slides (`explain --format slides --lecture`, the seed's default):
the error after one update in both update orders side by side, and the deck's own mistakes.

The values are the two traces' own (one per update order) and the rows of the deck report the caller
passes in (stepgrad.teach.deck_figures.slips, taken through its public function by the API): nothing
here computes or judges a figure.
"""

from __future__ import annotations

from collections.abc import Sequence

from stepgrad.core import names
from stepgrad.core.names import latex_symbol
from stepgrad.core.trace import Trace
from stepgrad.formats.document import inline
from stepgrad.formats.formula import Precision, number
from stepgrad.formats.latex import escape
from stepgrad.formats.latex import title as latex_title

Mistake = tuple[str, str, float, str, str]  # quantity, what the deck prints, exact value, verdict, why
MISTAKE_LINES = 15  # lines of \scriptsize table on one frame
REASON_CHARS = 50  # characters of a reason per line of its column

ORDERS = {
    "synchronous": "every gradient from the old weights",
    "sequential": "each layer updated before the layer below computes its deltas",
}


def frame(title: str, body: str, size: str = r"\small") -> str:
    """One Beamer frame."""
    return f"\\begin{{frame}}\n\\frametitle{{{latex_title(title)}}}\n{size}\n{body}\n\\end{{frame}}\n"


def both_orders(trace: Trace, other: Trace, digits: Precision, mistakes: Sequence[Mistake] = ()) -> str:
    """The outputs and the error after one update, in the derivation's update order and the other one."""
    orders = [trace, other]
    outputs = trace.meta["neurons"][-1]
    samples = int(trace.meta.get("samples") or 1)
    heads = " & ".join(["", "before"] + [rf"after ({escape(t.meta['update_order'])})" for t in orders])
    rows = []
    for s in range(samples):
        n = s + 1 if samples > 1 else None
        for o in outputs:
            cells = [f"${latex_symbol(names.out(o, n))}$", f"${_value(trace, names.out(o, n), digits)}$"]
            cells += [f"${_value(t, names.out(o, n, after=True), digits)}$" for t in orders]
            rows.append(" & ".join(cells) + r" \\")
    error = names.error()
    rows.append(r"\hline " + " & ".join([f"${latex_symbol(error)}$", f"${_value(trace, error, digits)}$"]
                                        + [rf"$\boldsymbol{{{_value(t, names.error(after=True), digits)}}}$"
                                           for t in orders]) + r" \\")
    table = "\\begin{tabular}{l|l|ll}\n" + heads + r" \\ \hline" + "\n" + "\n".join(rows) + "\n\\end{tabular}"
    said = [rf"\item \textbf{{{escape(t.meta['update_order'])}}}: {escape(ORDERS.get(t.meta['update_order'], ''))}"
            + (" (the derivation above)" if t is trace else "") for t in orders]
    printed = next((m for m in mistakes if m[0] == names.error(after=True)), None)
    if printed is not None:
        closest = min(orders, key=lambda t: abs(t.lookup(names.error(after=True)) - _float(printed[1])))
        said.append(rf"\item The deck prints ${escape(printed[1])}$: the {escape(closest.meta['update_order'])} "
                    "order's value.")
    body = ("\\begin{center}\n" + table + "\n\\end{center}\n\\begin{itemize}\n" + "\n".join(said)
            + "\n\\end{itemize}")
    return frame("The error after one update, in both orders", body)


def _value(trace: Trace, name: str, digits: Precision) -> str:
    return number(trace.lookup(name), digits, "latex")


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def mistakes_frames(mistakes: Sequence[Mistake], digits: Precision, source: str) -> list[str]:
    """The deck's own mistakes: every printed figure that is not the exact value, with the reason,
    on as many frames as they need."""
    intro = (rf"Every other figure {escape(source)} prints is correct. Checked by \texttt{{stepgrad check}} on a "
             "transcription of the deck, against the exact step (synchronous order).")
    pages: list[list[str]] = [[]]
    used = 0
    for name, printed, exact, verdict, reason in mistakes:
        lines = 1 + len(reason) // REASON_CHARS
        if pages[-1] and used + lines > MISTAKE_LINES:
            pages.append([])
            used = 0
        symbol = f"${inline(latex_symbol(name))}$" if names.is_name(name) else escape(name)
        pages[-1].append(" & ".join([symbol, f"${escape(printed)}$", f"${number(exact, digits, 'latex')}$",
                                     escape(verdict), rf"\raggedright {escape(reason)}"])
                         + r" \tabularnewline[2pt]")  # \raggedright redefines \\ in the last cell
        used += lines
    frames = []
    head = r"quantity & the deck prints & exact & verdict & why \\ \hline"
    for k, rows in enumerate(pages):
        table = ("\\begin{tabular}{llllp{5.6cm}}\n" + head + "\n" + "\n".join(rows)
                 + "\n\\end{tabular}")
        title = "The deck's own mistakes" + (f" ({k + 1}/{len(pages)})" if len(pages) > 1 else "")
        frames.append(frame(title, (intro + "\n\n\\medskip\n" if k == 0 else "") + table, r"\scriptsize"))
    return frames
