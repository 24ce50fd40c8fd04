"""The seed deck's own figures, checked: which of its printed numbers are slips, and why.

    >>> rows = slips()
    >>> [(r.name, r.verdict) for r in rows][:2]
    [('net_o2', 'close'), ('dE_total/dout_o2', 'wrong')]

The deck's numbers are transcribed, exactly as printed, in the bundled file
`stepgrad/examples/seed-deck-solution.txt` (also at examples/seed-deck-solution.txt). Nothing here
types a verdict in: `stepgrad check` marks the transcription against the exact step, and every
figure that is not correct becomes a row with the checker's reason. A figure that only carries an
earlier slip forward ("follows") names the slip it inherits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources

from stepgrad.core.spec import builtin
from stepgrad.core.trace import Trace
from stepgrad.teach.check import check, solution
from stepgrad.teach.check.verdicts import Report, Result

TRANSCRIPTION = "seed-deck-solution.txt"
SOURCE = "the seed deck"


@dataclass(frozen=True)
class Slip:
    """One printed figure of the deck that is not the exact value: the figure, the value, the verdict, why."""

    name: str
    printed: str
    exact: float
    verdict: str
    reason: str


def transcription() -> solution.Solution:
    """The deck's printed numbers under stepgrad's names (the bundled transcription)."""
    text = resources.files("stepgrad.examples").joinpath(TRANSCRIPTION).read_text()
    return solution.loads(text, "text", SOURCE)


@lru_cache(maxsize=1)
def report() -> Report:
    """The checker's verdict on every figure of the deck (synchronous order, as the deck derives)."""
    return check(builtin(), transcription())


def slips(marked: Report | None = None) -> list[Slip]:
    """Every deck figure that is not correct, in the order of the derivation, with its reason."""
    marked = marked or report()
    wrong = {r.name: r for r in marked.results if r.verdict != "correct"}
    return [Slip(r.name, r.given, float(r.expected or 0.0), r.verdict, _reason(r, wrong, marked))
            for r in marked.results if r.verdict != "correct"]


def _reason(r: Result, wrong: dict[str, Result], marked: Report) -> str:
    if r.verdict == "close":
        return f"rounding: the deck carried rounded values on (relative error {r.relative_error:.1e})"
    if r.verdict == "follows":
        inherited = [name for name in _operands(r) if name in wrong and wrong[name].verdict != "close"]
        if inherited:
            return f"follows from the deck's {', '.join(inherited)}: the slip carried forward"
        return "follows from the deck's own earlier figures (rounding carried forward)"
    return r.diagnosis or "no known mistake explains this figure"


def _operands(r: Result) -> list[str]:
    # The checker's formula line is "name = a * b * c" in plain names; its operands are the names.
    if not r.formula:
        return []
    rhs = r.formula.split(" = ", 1)[1]
    return [token for token in rhs.replace("(", " ").replace(")", " ").split() if "_" in token or "/" in token]


def printed(marked: Report | None = None) -> dict[str, Result]:
    """The deck's figure for every quantity it prints, by name."""
    return {r.name: r for r in (marked or report()).results}


def annotate(trace: Trace, marked: Report | None = None) -> Trace:
    """The trace with the deck's printed figure noted beside each quantity the deck prints."""
    from stepgrad.core.trace import Section

    figures = printed(marked)
    sections = []
    for sec in trace.sections:
        steps = []
        for s in sec.steps:
            r = figures.get(s.name)
            if r is not None:
                note = f"the deck prints {r.given}" + ("" if r.verdict == "correct" else f" ({r.verdict})")
                s = replace(s, note=f"{s.note}; {note}" if s.note else note)
            steps.append(s)
        sections.append(Section(sec.key, sec.title, tuple(steps), sec.intro))
    return Trace(tuple(sections), dict(trace.meta, deck=True), trace.context)
