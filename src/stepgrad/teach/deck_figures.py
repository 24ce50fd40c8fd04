"""The seed deck's own figures, checked: which of its printed numbers are off, and the cause of each.

    >>> rows = slips()
    >>> [(r.name, r.cause) for r in rows][:3]
    [('net_o2', 'digit dropped'), ('dE_total/dout_o2', 'decimal point missing'), ('dE_total/dw7', 'rounding')]

The deck's numbers are transcribed, exactly as printed, in the bundled file
`stepgrad/examples/seed-deck-solution.txt` (also at examples/seed-deck-solution.txt). Nothing here
types a cause in: a figure is off when the exact step, rounded or truncated to the decimals printed,
is not the figure; its cause is the smallest explanation that reproduces it (check/causes.py: the
deck's arithmetic redone with rounding, the other update order, a copied figure, one slip in copying),
or "unexplained". The deck's label slips (words, not figures) are data in deck_labels.py.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from typing import Any

from stepgrad.core.spec import builtin
from stepgrad.core.trace import Section, Trace
from stepgrad.teach.check import check, solution
from stepgrad.teach.check.causes import Cause, find, given
from stepgrad.teach.check.context import Context, build
from stepgrad.teach.check.precision import matches
from stepgrad.teach.check.verdicts import Report, Result
from stepgrad.teach.deck_labels import LABEL_SLIPS

TRANSCRIPTION = "seed-deck-solution.txt"
SOURCE = "the seed deck"


@dataclass(frozen=True)
class Slip:
    """One printed figure of the deck that is not the exact value: the figure, the value, the cause, why.

    `verdict` is what `stepgrad check` marks it (it judges a student, not the deck's arithmetic);
    `cause` is the kind of slip found by redoing the deck's arithmetic (check.causes.KINDS).
    """

    name: str
    printed: str
    exact: float
    verdict: str
    cause: str
    reason: str
    line: int = 0  # the line of the transcription


def transcription() -> solution.Solution:
    """The deck's printed numbers under stepgrad's names (the bundled transcription)."""
    text = resources.files("stepgrad.examples").joinpath(TRANSCRIPTION).read_text()
    return solution.loads(text, "text", SOURCE)


@lru_cache(maxsize=1)
def report() -> Report:
    """The checker's verdict on every figure of the deck (synchronous order, as the deck derives)."""
    return check(builtin(), transcription())


@lru_cache(maxsize=1)
def context() -> Context:
    """The checker's worlds for the deck: the exact step, the sequential one, the deck's figures as its own."""
    return build(builtin(), transcription())


def figures() -> dict[str, str]:
    """Every figure the deck prints, as printed, by stepgrad's name."""
    return {g.name: g.text for g in transcription()}


@lru_cache(maxsize=1)
def causes() -> dict[str, Cause]:
    """The cause of every figure of the deck that is off, by name, in the order of the transcription."""
    ctx = context()
    printed = figures()
    off = {name: text for name, text in printed.items() if not matches(given(name, text), ctx.exact[name])}
    return {name: find(ctx, name, text, printed, off) for name, text in off.items()}


def slips(marked: Report | None = None) -> list[Slip]:
    """Every deck figure that is off, in the order of the derivation, with its cause."""
    marked = marked or report()
    found = causes()
    return [Slip(r.name, r.given, float(r.expected or 0.0), r.verdict, found[r.name].kind, found[r.name].reason,
                 r.line) for r in marked.results if r.name in found]


def printed(marked: Report | None = None) -> dict[str, Result]:
    """The checker's result for every quantity the deck prints, by name."""
    return {r.name: r for r in (marked or report()).results}


def note(name: str) -> str:
    """What the deck prints for `name`, and why it is off or how it is labelled ('' if it prints nothing)."""
    text = figures().get(name)
    parts = []
    if text is not None:
        cause = causes().get(name)
        parts.append(f"the deck prints {text}" + (f": {cause.reason}" if cause else ""))
    parts += [f"on {s.where} the deck {s.text}" for s in LABEL_SLIPS if s.quantity == name]
    return "; ".join(parts)


def as_data() -> dict[str, Any]:
    """The whole report as plain data: every figure that is off with its cause, every label slip."""
    return {
        "source": "examples/seed-deck-solution.txt",
        "figures": [{"name": s.name, "printed": s.printed, "exact": s.exact, "cause": s.cause, "reason": s.reason,
                     "checker_verdict": s.verdict} for s in slips()],
        "labels": [{"slide": s.slide, "title": s.title, "lines": list(s.lines), "quantity": s.quantity,
                    "writes": s.writes, "means": s.means, "why": s.why} for s in LABEL_SLIPS],
    }


def summary() -> str:
    """One paragraph: how many figures are off and why, how many label slips."""
    rows = slips()
    kinds = [s.cause for s in rows]
    plain = {"rounding": "rounding", "other update order": "the other update order's value",
             "follows": "carried forward from an earlier slip", "unexplained": "unexplained"}
    told = [f"{kinds.count(kind)} {words}" for kind, words in plain.items() if kind in kinds]
    made = [kind for kind in kinds if kind not in plain]
    if made:
        told.insert(0, f"{len(made)} slips in copying ({', '.join(dict.fromkeys(made))})")
    return (f"Of the {len(figures())} figures the deck prints, {len(rows)} are not the exact step's: "
            f"{'; '.join(told)}. Its formulas have {len(LABEL_SLIPS)} label slips.")


def annotate(trace: Trace, marked: Report | None = None) -> Trace:
    """The trace with the deck's printed figure (and its cause, and any label slip) beside each quantity,
    the report as data in meta["deck"] and a closing section that sums it up."""
    sections = []
    for sec in trace.sections:
        steps = []
        for s in sec.steps:
            told = note(s.name)
            if told:
                s = replace(s, note=f"{s.note}; {told}" if s.note else told)
            steps.append(s)
        sections.append(Section(sec.key, sec.title, tuple(steps), sec.intro))
    sections.append(Section("deck", "The deck's figures, checked", (), summary() + " Each figure's cause and each "
                            "label slip is noted beside its quantity (the JSON has them all under meta.deck)."))
    return Trace(tuple(sections), dict(trace.meta, deck=as_data()), trace.context)
