"""`stepgrad check`: mark a hand-computed solution, number by number."""

from __future__ import annotations

import sys

import click

from ..jobs import check_job
from ._common import digits_option, emit, max_work_option, output_option, update_order_option


@click.command("check")
@click.argument("solution", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--network", "spec", default=None, type=click.Path(dir_okay=False),
              help="The network spec the solution is for (TOML or JSON). Default: the seed deck's network.")
@update_order_option
@click.option("--round", "round_to", type=click.IntRange(0, 15), default=None, metavar="K",
              help="Hand-calculation mode: expect every intermediate value rounded to K decimals and carried on.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@digits_option
@max_work_option
@output_option
def command(solution, spec, update_order, round_to, fmt, digits, max_work, output):
    """Check a hand-computed solution: a verdict for every number.

    SOLUTION has one `name = value` per line (# comments; names as in `stepgrad names`), or is a
    YAML/JSON mapping of the same names. Verdicts: correct (at the precision written, rounded or
    truncated), follows (wrong, but what your own earlier numbers give), close (rounding drift,
    within 0.1 %), wrong (with the expected value, the formula and a diagnosis when a known mistake
    explains the number). Exit status: 0 nothing wrong, 1 something wrong, 2 unusable input.

    \b
    Examples:
      stepgrad check examples/seed-deck-solution.txt
      stepgrad check --network exercise/network.toml answers.txt --format json
      stepgrad check --round 4 homework.yaml
    """
    report, ok = check_job(solution, spec=spec, update_order=update_order, round_to=round_to, fmt=fmt,
                           digits=digits, console=fmt == "text" and output is None, max_work=max_work)
    emit(report, output)
    sys.exit(0 if ok else 1)
