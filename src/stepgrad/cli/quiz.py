"""`stepgrad quiz`: practise one training step in the terminal, with immediate, diagnosed feedback (stepgrad.api.run_quiz)."""

from __future__ import annotations

import sys

import click

from stepgrad.api import Marking, run_quiz
from stepgrad.cli._common import api_option, digits_option, spec_argument, update_order_option

API = run_quiz


@click.command("quiz")
@spec_argument
@api_option(API, "--only", metavar="NAMES", help="Only the quantities these derivations need, e.g. w5,w1.")
@api_option(API, "--round", "round_to", type=click.IntRange(0, 15), metavar="K",
            help="Hand-calculation mode: expect every value rounded to K decimals and carried on.")
@update_order_option(API)
@api_option(API, "--save", type=click.Path(dir_okay=False), metavar="FILE",
            help="Save your answers as a solution file for `stepgrad check`. In a terminal you are asked at the end.")
@digits_option(API)
@api_option(API, "--study", is_flag=True,
            help="Study mode: a worked example with self-explanation prompts, a faded one, then a problem, each on "
                 "new weights; a wrong answer gets the diagnosis and a hint, not the value. Also on a layer-table "
                 "network (conv, rnn, attention, normalization).")
def command(spec, only, round_to, update_order, save, digits, study):
    """Practise one training step: type each quantity in the derivation's order and get a verdict at
    once (correct, follows from your own earlier values, close, or wrong with a diagnosis of the
    mistake). ? gives a hint: the formula, then the formula with the numbers. Answers can come
    from a pipe, one per line.

    \b
    Examples:
      stepgrad quiz --only w5
      stepgrad quiz net.toml --round 4 --save answers.txt
      printf '0.5933\\n0.7514\\n' | stepgrad quiz --only w5
      stepgrad quiz --study
    """
    sys.exit(run_quiz(spec, only=only, marking=Marking(update_order=update_order, round_to=round_to), save=save,
                      digits=digits, study=study))
