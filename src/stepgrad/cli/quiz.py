"""`stepgrad quiz`: practise one training step in the terminal, with immediate, diagnosed feedback."""

from __future__ import annotations

import sys

import click

from stepgrad.api import load_spec
from stepgrad.cli._common import digits_option, spec_argument, update_order_option
from stepgrad.teach.quiz_session import run, terminal_read


@click.command("quiz")
@spec_argument
@click.option("--only", default=None, metavar="NAMES", help="Only the quantities these derivations need, e.g. w5,w1.")
@click.option("--round", "round_to", type=click.IntRange(0, 15), default=None, metavar="K",
              help="Hand-calculation mode: expect every value rounded to K decimals and carried on.")
@update_order_option
@click.option("--save", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Save your answers as a solution file for `stepgrad check`. In a terminal you are asked at the end.")
@digits_option
def command(spec, **options):
    """Practise one training step: type each quantity in the derivation's order and get a verdict at
    once (correct, follows from your own earlier values, close, or wrong with a diagnosis of the
    mistake). ? gives a hint: the formula, then the formula with the numbers. Answers can come
    from a pipe, one per line.

    \b
    Examples:
      stepgrad quiz --only w5
      stepgrad quiz net.toml --round 4 --save answers.txt
      printf '0.5933\\n0.7514\\n' | stepgrad quiz --only w5
    """
    sys.exit(run(load_spec(spec), read=terminal_read, write=click.echo, spec=spec, ask_to_save=sys.stdin.isatty(), **options))
