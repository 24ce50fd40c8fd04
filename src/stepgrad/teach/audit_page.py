"""The audit as a page a teacher can attach: text, Markdown, HTML or JSON, all from one list of blocks.

    >>> from stepgrad.teach.audit import audit
    >>> from stepgrad.teach.deck_figures import transcription
    >>> from stepgrad.core.spec import builtin
    >>> page = render(audit(builtin(), transcription()), "markdown")
    >>> page.startswith("# Audit of the seed deck")
    True
"""

from __future__ import annotations

import html
import json
import textwrap

from stepgrad.core.errors import StepgradError
from stepgrad.formats import escape
from stepgrad.teach.audit import Audit, Figure

WIDTH = 100  # the text page's paragraphs are wrapped here (the table's rows are not)
KINDS = {"correct": "correct", "follows": "follows an earlier slip", "setting": "another configuration", "slip": "slip"}


def _finding(f: Figure) -> str:
    if f.kind == "correct":
        return "correct"
    if f.kind == "setting":
        return f"follows {f.explained_by}" + (f" ({f.reason})" if f.reason else "")
    return f.reason


def blocks(result: Audit) -> list[tuple]:
    """The page as (kind, ...) blocks: h1, p, table."""
    title = f"Audit of {result.source}" + (f" ({result.network})" if result.network else "")
    best = result.best.describe(result.base)
    counts = {k: sum(f.kind == k for f in result.figures) for k in KINDS}
    rows = [(str(f.number), f.name, f.printed, "" if f.expected is None else f"{f.expected:.9g}", _finding(f))
            for f in result.figures]
    scores = [(c.short(result.base), str(n)) for c, n in sorted(result.scores, key=lambda s: -s[1])]
    return [
        ("h1", title),
        ("p", f"{len(result.figures)} printed figures. {result.summary()[:1].upper()}{result.summary()[1:]}"),
        ("p", f"The configuration that best explains them: {best}. "
              f"Exact in it: {counts['correct']}; given by another configuration: {counts['setting']}; "
              f"carrying an earlier slip forward: {counts['follows']}; slips: {counts['slip']}."),
        ("h2", "Every figure"),
        ("table", ("#", "quantity", "printed", "best configuration gives", "finding"), rows),
        ("h2", "The configurations tried"),
        ("table", ("configuration", "figures exact"), scores),
    ]


def render(result: Audit, fmt: str = "text") -> str:
    """The page in `fmt`: text, markdown, html or json."""
    if fmt == "json":
        return json.dumps(result.to_dict(), indent=2) + "\n"
    writer = {"text": _text, "markdown": _markdown, "html": _html}.get(fmt)
    if writer is None:
        raise StepgradError(f"expected text, markdown, html or json, got {fmt!r}", where="--format")
    return writer(blocks(result))


def _text(page: list[tuple]) -> str:
    out = []
    for kind, *rest in page:
        if kind in ("h1", "h2"):
            text = escape.terminal(rest[0])
            out.append(text + "\n" + ("=" if kind == "h1" else "-") * len(text))
        elif kind == "p":
            out.append(textwrap.fill(escape.terminal(rest[0]), WIDTH, break_on_hyphens=False))
        else:
            headers, rows = rest
            widths = [max(len(str(r[k])) for r in [headers, *rows]) for k in range(len(headers))]
            lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in [headers, *rows]]
            out.append("\n".join(escape.terminal(line) for line in lines))
    return "\n\n".join(out) + "\n"


def _markdown(page: list[tuple]) -> str:
    out = []
    for kind, *rest in page:
        if kind in ("h1", "h2"):
            out.append(("# " if kind == "h1" else "## ") + escape.markdown(rest[0]))
        elif kind == "p":
            out.append(escape.markdown(rest[0]))
        else:
            headers, rows = rest
            out.append("\n".join(["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
                                 + ["| " + " | ".join(escape.markdown(str(c)) for c in r) + " |" for r in rows]))
    return "\n\n".join(out) + "\n"


def _html(page: list[tuple]) -> str:
    title = html.escape(escape.plain(page[0][1]))
    out = [f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>"
           "<style>td,th{padding:2px 8px;text-align:left}</style></head><body>"]
    for kind, *rest in page:
        if kind in ("h1", "h2"):
            out.append(f"<{kind}>{escape.html(rest[0])}</{kind}>")
        elif kind == "p":
            out.append(f"<p>{escape.html(rest[0])}</p>")
        else:
            headers, rows = rest
            head = "".join(f"<th>{escape.html(h)}</th>" for h in headers)
            body = "".join("<tr>" + "".join(f"<td>{escape.html(str(c))}</td>" for c in r) + "</tr>" for r in rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return "\n".join(out + ["</body></html>", ""])
