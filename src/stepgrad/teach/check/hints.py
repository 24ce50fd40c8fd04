"""Hints on a whole report: the values fit another network better, or follow the student's own numbers
with hardly any correct (the solution is for another network)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.spec import Network
from stepgrad.teach.check.context import build
from stepgrad.teach.check.precision import matches
from stepgrad.teach.check.solution import Solution

Report = Any  # verdicts.Report (verdicts imports this module: the type is named, not imported)


def better_fit(report: Report, solution: Solution, update_order: str | None, round_to: int | None,
               alternatives: Mapping[str, Network | LayerNetwork]) -> str | None:
    """A hint when another network makes clearly more answers correct (follows hides a wrong network's
    errors: every value after the first wrong one follows from it, so count what is correct)."""
    c = report.counts
    if report.answered - c["correct"] < 3:
        return None
    if not alternatives:
        return _other_numbers(report)
    best: tuple[int, str] | None = None
    for label, other in alternatives.items():
        ctx = build(other, solution, update_order, round_to)
        right = sum(matches(g, ctx.exact[g.name]) for g in solution if g.name in ctx.exact)
        clearly = right >= c["correct"] + max(3, report.answered // 4)  # not a handful of coincidences
        if clearly and (best is None or right > best[0]):
            best = (right, label)
    if best is None:
        return _other_numbers(report)
    return (f"these values fit {best[1]} better ({best[0]} of {report.answered} correct there, "
            f"{c['correct']} here): is this solution for another network?")


def _other_numbers(report: Report) -> str | None:
    """A hint when hardly anything is correct but much follows from the student's own numbers: the
    work is consistent, the given numbers are not this network's (a solution for another network)."""
    c, answered = report.counts, report.answered
    if answered < 10 or c["correct"] > answered // 10 or c["follows"] < answered // 3:
        return None
    return (f"{c['follows']} of {answered} values follow from your own numbers but only {c['correct']} are correct: "
            "the inputs or weights you started from are not this network's; is this solution for another network "
            "(--network, or --variants for a class)?")
