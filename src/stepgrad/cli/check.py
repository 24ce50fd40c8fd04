"""`stepgrad check`: mark a hand-computed solution, number by number, or a whole class (stepgrad.api.check_solution)."""

from __future__ import annotations

import sys

import click

from stepgrad.api import ClassOptions, Display, Marking, check_solution
from stepgrad.cli._common import (
    api_option,
    decimals_option,
    digits_option,
    emit,
    max_work_option,
    note,
    output_option,
    update_order_option,
)

API = check_solution


@click.command("check")
@click.argument("solution", type=click.Path(allow_dash=True))
@api_option(API, "--network", "spec", type=click.Path(dir_okay=False),
            help="The network spec the solution is for (TOML or JSON). Default: the seed deck's network.")
@update_order_option(API)
@api_option(API, "--round", "round_to", type=click.IntRange(0, 15), metavar="K",
            help="Hand-calculation mode: expect every intermediate value rounded to K decimals and carried on.")
@api_option(API, "--min-digits", type=click.IntRange(1, 17), metavar="K",
            help="The precision the sheet asks for: fewer significant digits is only close. "
                 "Default: from check.toml beside the network (written by `stepgrad exercise`).")
@api_option(API, "--require", metavar="RULE",
            help="What a solution must answer to pass: answers (the step's results: forward values, errors, "
                 "gradients, new weights, E_total+), template (every line of the exercise's template), none, "
                 "or name patterns ('dE_total/dw*,w*+'). Default: answers, or require in check.toml.")
@api_option(API, "--order", type=click.Choice(["derivation", "given"]),
            help="Rows in the derivation's order or in the order the solution wrote them.")
@api_option(API, "--points", type=click.Path(dir_okay=False),
            help="A class: the points scheme (TOML: [verdicts] shares, [points] per quantity pattern).")
@api_option(API, "--variants", type=click.Path(file_okay=False),
            help="A class: the folder of `stepgrad exercise --roster`; each student checked against their own network.")
@api_option(API, "--roster", type=click.Path(dir_okay=False),
            help="A class: a CSV with columns id and name: every gradebook row and feedback file gets the student's "
                 "name (default: the --variants folder's keys.csv).")
@api_option(API, "--gradebook", type=click.Path(file_okay=False),
            help="A class: the folder for gradebook.csv/.json and feedback/ (default: SOLUTION-marked).")
@api_option(API, "--force", is_flag=True,
            help="A class: replace a gradebook or feedback already there with other contents (edited by hand).")
@api_option(API, "--format", "fmt", type=click.Choice(["text", "json"]))
@digits_option(API)
@decimals_option(API)
@max_work_option(API)
@output_option
def command(solution, spec, update_order, round_to, min_digits, require, order, points, variants, roster, gradebook,
            force, fmt,
            digits, decimals, max_work, output):
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

    An answer to a find-the-error sheet (`line =`, `mistake =`, `corrected =`; the network beside
    its find-error.json, written by `stepgrad exercise --find-error`) gets a point each for the
    line found, the mistake named and the corrected value. A folder of such answers with --variants
    (the folder of `stepgrad exercise --find-error --roster`) is marked against each student's own
    sheet: gradebook, feedback per student and class-report.md.

    \b
    Examples:
      stepgrad check examples/seed-deck-solution.txt
      stepgrad check --network exercise/network.toml answers.txt --format json
      stepgrad check --round 4 --min-digits 4 homework.yaml
      stepgrad check returned/ --network week3/network.toml --points points.toml
      stepgrad check returned.zip --variants week3 --gradebook marked
      stepgrad check returned/ --network week3/network.toml --roster students.csv
      stepgrad check spotted/ --variants spot        # find-the-error answers, each student's own sheet
    """
    report, ok = check_solution(
        solution, spec=spec, fmt=fmt, display=Display(digits=digits, decimals=decimals, console=output is None),
        marking=Marking(update_order=update_order, round_to=round_to, min_digits=min_digits, require=require,
                        order=order),
        whole_class=ClassOptions(points=points, variants=variants, gradebook=gradebook, force=force,
                                 roster=roster), max_work=max_work, note=note)
    emit(report, output)
    sys.exit(0 if ok else 1)
