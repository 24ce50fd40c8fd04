"""`stepgrad explain`: the step-by-step derivation of one training step."""

from __future__ import annotations

import click

from stepgrad.api import explain_job
from stepgrad.cli._common import (
    FORMAT_CHOICES,
    OPTIMIZER_CHOICES,
    decimals_option,
    digits_option,
    emit,
    max_work_option,
    note,
    output_option,
    spec_argument,
    update_order_option,
)
from stepgrad.tracing.group import GROUPINGS


@click.command("explain")
@spec_argument
@click.option("--only", default=None, metavar="NAMES",
              help="Comma-separated names to derive, e.g. w5,w1 or out_h1 (with the factors they need); "
                   "a neuron (h1) for its net and out, 'error' for E_total and each output's error.")
@digits_option
@decimals_option
@update_order_option
@click.option("--format", "fmt", default="text", show_default=True,
              type=click.Choice(FORMAT_CHOICES), help="Output format.")
@click.option("--sample", type=click.IntRange(1), default=None,
              help="Explain only this sample (1-based; with --data, a row of the training split).")
@click.option("--data", "data_source", default=None, metavar="NAME|FILE",
              help="Explain a step on a data set's rows (a saved network remembers its data and split).")
@click.option("--batch", type=click.IntRange(0), default=None, metavar="K",
              help="With --data: explain mini-batch K (0-based) of the next epoch's shuffle.")
@click.option("--optimizer", type=click.Choice(OPTIMIZER_CHOICES), default="sgd", show_default=True,
              help="Show this optimizer's update: momentum's velocity v_w5, Adam's moments m_w5, s_w5 and m_hat_w5, s_hat_w5.")
@click.option("--round", "round_to", type=click.IntRange(0, 15), default=None, metavar="K",
              help="Hand-calculation mode: round every computed value to K decimals and carry the rounded value on.")
@click.option("--train-iterations", type=click.IntRange(0), default=10_000, show_default=True, metavar="N",
              help="Slides: train N iterations for the deck's closing table (0 leaves it out).")
@click.option("--group", type=click.Choice(GROUPINGS), default="layer", show_default=True,
              help="layer: as computed, layer by layer; weight: as the deck tells it, one weight at a time "
                   "(its factors, its gradient, its new value).")
@click.option("--derive", is_flag=True, help="Show how each local derivative is obtained (power, sum and chain rule).")
@click.option("--deck", is_flag=True,
              help="Beside each quantity, the figure the seed deck prints and whether it is right (the deck's network only).")
@click.option("--view", type=click.Choice(["steps", "matrix"]), default="steps", show_default=True,
              help="steps: the scalar chain rule; matrix: the same numbers as vectors and matrices.")
@click.option("--check-numeric", is_flag=True,
              help="Put the central finite difference (and the relative difference) beside every gradient.")
@click.option("--all", "full", is_flag=True,
              help="Slides: every derivation in full (a network beyond 40 weights gets a summary by default).")
@max_work_option
@output_option
def command(spec, output, fmt, **options):
    """Show every quantity of one training step: formula, numbers, value.

    SPEC is a TOML or JSON network spec; without it, the seed deck's network.

    \b
    Examples:
      stepgrad explain --only w5,w1
      stepgrad explain --only h1,error     # a neuron's net and out; the errors
      stepgrad explain net.toml --format json -o step.json
      stepgrad explain --optimizer adam --only w5
      stepgrad explain --round 4          # as a person with a calculator gets it
      stepgrad explain --format slides -o deck.tex && pdflatex deck.tex && pdflatex deck.tex
      stepgrad explain --group weight --derive --decimals 9 --deck   # side by side with the deck
      stepgrad explain --view matrix --format markdown
    """
    emit(explain_job(spec, fmt=fmt, output=output, console=fmt == "text" and output is None, note=note, **options),
         output)
