"""`stepgrad explain`: the step-by-step derivation of one training step."""

from __future__ import annotations

import click

from ..jobs import explain_job
from ._common import (
    FORMAT_CHOICES,
    OPTIMIZER_CHOICES,
    digits_option,
    emit,
    note,
    output_option,
    spec_argument,
    update_order_option,
)


@click.command("explain")
@spec_argument
@click.option("--only", default=None, metavar="NAMES",
              help="Comma-separated names to derive, e.g. w5,w1 or out_h1 (with the factors they need); "
                   "a neuron (h1) for its net and out, 'error' for E_total and each output's error.")
@digits_option
@update_order_option
@click.option("--format", "fmt", default="text", show_default=True,
              type=click.Choice(FORMAT_CHOICES), help="Output format.")
@click.option("--sample", type=click.IntRange(1), default=None, help="Explain only this sample (1-based).")
@click.option("--optimizer", type=click.Choice(OPTIMIZER_CHOICES), default="sgd", show_default=True,
              help="Show this optimizer's update: momentum's velocity v_w5, Adam's moments m_w5, s_w5 and m_hat_w5, s_hat_w5.")
@click.option("--round", "round_to", type=click.IntRange(0, 15), default=None, metavar="K",
              help="Hand-calculation mode: round every computed value to K decimals and carry the rounded value on.")
@click.option("--train-iterations", type=click.IntRange(0), default=10_000, show_default=True, metavar="N",
              help="Slides: train N iterations for the deck's closing table (0 leaves it out).")
@output_option
def command(spec, only, digits, update_order, fmt, sample, optimizer, round_to, train_iterations, output):
    """Show every quantity of one training step: formula, numbers, value.

    SPEC is a TOML or JSON network spec; without it, the seed deck's network.

    \b
    Examples:
      stepgrad explain --only w5,w1
      stepgrad explain --only h1,error     # a neuron's net and out; the errors
      stepgrad explain net.toml --format json -o step.json
      stepgrad explain --optimizer adam --only w5
      stepgrad explain --round 4          # as a person with a calculator gets it
      stepgrad explain --format slides -o deck.tex && pdflatex deck.tex
    """
    emit(explain_job(spec, only=only, digits=digits, update_order=update_order, fmt=fmt, sample=sample,
                     optimizer=optimizer, round_to=round_to, train_iterations=train_iterations,
                     console=fmt == "text" and output is None, note=note), output)
