"""`stepgrad check`: mark a hand-computed solution, number by number, or a whole class into a gradebook."""

from __future__ import annotations

import sys

import click

from stepgrad.api import check_job
from stepgrad.cli._common import digits_option, emit, max_work_option, note, output_option, update_order_option


@click.command("check")
@click.argument("solution", type=click.Path(allow_dash=True))
@click.option("--network", "spec", default=None, type=click.Path(dir_okay=False),
              help="The network spec the solution is for (TOML or JSON). Default: the seed deck's network.")
@update_order_option
@click.option("--round", "round_to", type=click.IntRange(0, 15), default=None, metavar="K",
              help="Hand-calculation mode: expect every intermediate value rounded to K decimals and carried on.")
@click.option("--min-digits", type=click.IntRange(1, 17), default=None, metavar="K",
              help="The precision the sheet asks for: fewer significant digits is only close. "
                   "Default: from check.toml beside the network (written by `stepgrad exercise`).")
@click.option("--require", default=None, metavar="RULE",
              help="What a solution must answer to pass: answers (the step's results: forward values, errors, "
                   "gradients, new weights, E_total+), template (every line of the exercise's template), none, "
                   "or name patterns ('dE_total/dw*,w*+'). Default: answers, or require in check.toml.")
@click.option("--order", type=click.Choice(["derivation", "given"]), default="derivation", show_default=True,
              help="Rows in the derivation's order or in the order the solution wrote them.")
@click.option("--points", type=click.Path(dir_okay=False), default=None,
              help="A class: the points scheme (TOML: [verdicts] shares, [points] per quantity pattern).")
@click.option("--variants", type=click.Path(file_okay=False), default=None,
              help="A class: the folder of `stepgrad exercise --roster`; each student checked against their own network.")
@click.option("--gradebook", type=click.Path(file_okay=False), default=None,
              help="A class: the folder for gradebook.csv/.json and feedback/ (default: SOLUTION-marked).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@digits_option
@max_work_option
@output_option
def command(solution, spec, update_order, round_to, min_digits, require, order, points, variants, gradebook, fmt, digits,
            max_work, output):
    """Check a hand-computed solution: a verdict for every number.

    SOLUTION has one `name = value` per line (# comments; names as in `stepgrad names`), or is a
    YAML/JSON mapping of the same names. Verdicts: correct (at the precision written, rounded or
    truncated, or within the rounding your own earlier numbers carry), follows (wrong, but what your
    own earlier numbers give, along any standard route), close (rounding drift, within 0.1 %, or one
    significant digit: write more), wrong (with the expected value, the formula and a diagnosis when
    a known mistake explains the number), unanswered (blank), unreadable (with its line). Decimal
    commas and notations such as δ_o1, w5_new, ∂E/∂w5 are read (the report says so).
    A solution passes when every required answer is given (--require) and nothing is wrong.
    Exit status: 0 passed, 1 something wrong, unanswered or missing, 2 unusable input.

    SOLUTION may be a folder or a .zip of solutions (one per student): a gradebook (CSV and JSON,
    points per quantity) and a Markdown feedback file per student are written.

    \b
    Examples:
      stepgrad check examples/seed-deck-solution.txt
      stepgrad check --network exercise/network.toml answers.txt --format json
      stepgrad check --round 4 --min-digits 4 homework.yaml
      stepgrad check returned/ --network week3/network.toml --points points.toml
      stepgrad check returned.zip --variants week3 --gradebook marked
    """
    report, ok = check_job(solution, spec=spec, update_order=update_order, round_to=round_to, fmt=fmt,
                           digits=digits, console=fmt == "text" and output is None, min_digits=min_digits, require=require,
                           order=order, points=points, variants=variants, gradebook=gradebook, note=note,
                           max_work=max_work)
    emit(report, output)
    sys.exit(0 if ok else 1)
