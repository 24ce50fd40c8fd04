"""`stepgrad audit`: the configuration that best explains a published example's figures, and its slips
(stepgrad.api.audit_solution)."""

from __future__ import annotations

import sys

import click

from stepgrad.api import AuditOptions, audit_solution
from stepgrad.cli._common import api_option, emit, note, output_option

API = audit_solution


@click.command("audit")
@click.argument("solution", type=click.Path(dir_okay=False))
@api_option(API, "--network", "spec", type=click.Path(dir_okay=False),
            help="The network the example is about (TOML or JSON). Default: the seed deck's network.")
@api_option(API, "--settings", metavar="NAMES",
            help="The settings to vary: update_order, reduction, half, update_biases (comma-separated). "
                 "Default: every one the network allows.")
@api_option(API, "--format", "fmt", type=click.Choice(["text", "markdown", "html", "json"]))
@output_option
def command(solution, spec, settings, fmt, output):
    """Audit a published worked example before teaching from it: every printed figure marked in each
    configuration the example may have used without saying so (update order, mean or sum over the
    batch, ½ in the error or not, biases updated or not); the page names the configuration that
    explains the figures best, the figures another configuration gives, the ones that carry an
    earlier slip forward, and the slips, each with its reason.

    SOLUTION holds the example's figures as `name = value` lines (`stepgrad names`); figures after
    training as NAME@ITERATIONS = value. Exit status: 0 every figure explained, 1 slips remain,
    2 unusable input.

    \b
    Examples:
      stepgrad audit examples/seed-deck-solution.txt
      stepgrad audit textbook.txt --network textbook.toml --format html -o audit.html
    """
    page, ok = audit_solution(solution, spec=spec, options=AuditOptions(settings=settings, fmt=fmt), note=note)
    emit(page, output)
    sys.exit(0 if ok else 1)
