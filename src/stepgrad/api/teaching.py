"""Teaching with worked examples: auditing a published example (and, for the course, the pack of sheets)."""

from __future__ import annotations

from stepgrad.api._base import Note, _silent, load_spec
from stepgrad.api.options import AuditOptions
from stepgrad.core.budget import cli_budget
from stepgrad.core.errors import StepgradError


def audit_solution(solution: str, *, spec: str | None = None, options: AuditOptions = AuditOptions(),
                   note: Note = _silent) -> tuple[str, bool]:
    """Audit a published worked example: the configuration that best explains its printed figures, and the slips.

    Args:
        solution: the example's printed figures as `name = value` lines (the `stepgrad check` format; figures
            after training as NAME@ITERATIONS = value, e.g. out_o1@10000 = 0.015912196).
        spec: the network the example is about; None for the seed deck's network.
        options: the settings to vary (update_order, reduction, half, update_biases; None: all that apply) and
            the page's format (text, markdown, html, json).
        note: called with lines for the reader (none yet: the page says everything).

    Returns:
        (the page, True when every figure is explained: correct, carried forward, or by a configuration).

    Example:
        >>> from importlib import resources
        >>> deck = str(resources.files("stepgrad.examples") / "seed-deck-solution.txt")
        >>> page, ok = audit_solution(deck, options=AuditOptions(fmt="markdown"))
        >>> "follows the sequential update order" in page, ok
        (True, False)
    """
    from stepgrad.teach.audit import audit
    from stepgrad.teach.audit_page import render
    from stepgrad.teach.check import load as load_answers

    net = load_spec(spec)
    net.require_samples(spec or "<built-in>")
    cli_budget(None).check_trace(net)
    answers = load_answers(solution)
    from stepgrad.core.budget import samples_of

    most = 1000 + 10 * samples_of(net) * (net.parameter_count + sum(net.layers))  # as check_solution allows
    if len(answers.answers) > most:
        raise StepgradError(f"{len(answers.answers):,} figures, more than this network has quantities "
                            f"(the limit is {most:,}); see `stepgrad names`", where=answers.source)
    settings = [s.strip() for s in options.settings.split(",") if s.strip()] if options.settings else None
    from stepgrad.teach.audit import configurations

    trainings = {int(g.name.partition("@")[2]) for g in answers.answers
                 if "@" in g.name and g.name.partition("@")[2].strip().isdigit()}
    if trainings:  # every configuration trains as long as each training figure asks
        cli_budget(None).check_train(net, sum(trainings) * len(configurations(net, settings)))
    result = audit(net, answers, settings)
    return render(result, options.fmt), not any(f.kind == "slip" for f in result.figures)
