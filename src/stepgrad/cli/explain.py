"""`stepgrad explain`: the step-by-step derivation of one training step (stepgrad.api.explain_document)."""

from __future__ import annotations

import click

from stepgrad.api import Display, Extras, StepOptions, explain_document
from stepgrad.cli._common import (
    FORMAT_CHOICES,
    OPTIMIZER_CHOICES,
    api_option,
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

API = explain_document


@click.command("explain")
@spec_argument
@api_option(API, "--only", metavar="NAMES",
            help="Comma-separated names to derive, e.g. w5,w1 or out_h1 (with the factors they need); "
                 "a neuron (h1) for its net and out, 'error' for E_total and each output's error.")
@digits_option(API)
@decimals_option(API)
@update_order_option(API)
@api_option(API, "--format", "fmt", type=click.Choice(FORMAT_CHOICES), help="Output format.")
@api_option(API, "--sample", type=click.IntRange(1),
            help="Explain only this sample (1-based; with --data, a row of the training split).")
@api_option(API, "--data", metavar="NAME|FILE",
            help="Explain a step on a data set's rows (a saved network remembers its data and split).")
@api_option(API, "--batch", type=click.IntRange(0), metavar="K",
            help="With --data: explain mini-batch K (0-based) of the next epoch's shuffle.")
@api_option(API, "--optimizer", type=click.Choice(OPTIMIZER_CHOICES),
            help="Show this optimizer's update: momentum's velocity v_w5, Adam's moments m_w5, s_w5 and m_hat_w5, "
                 "s_hat_w5 (default: the one a saved network was trained with, with its state; else sgd).")
@api_option(API, "--round", "round_to", type=click.IntRange(0, 15), metavar="K",
            help="Hand-calculation mode: round every computed value to K decimals and carry the rounded value on.")
@api_option(API, "--train-iterations", type=click.IntRange(0), metavar="N",
            help="Slides: train N iterations for the deck's closing table (0 leaves it out).")
@api_option(API, "--group", type=click.Choice(GROUPINGS),
            help="layer: as computed, layer by layer; weight: as the deck tells it, one weight at a time "
                 "(its factors, its gradient, its new value).")
@api_option(API, "--derive", is_flag=True, help="Show how each local derivative is obtained (power, sum and chain rule).")
@api_option(API, "--deck", is_flag=True,
            help="Beside each quantity, the figure the seed deck prints and whether it is right (the deck's network only).")
@api_option(API, "--view", type=click.Choice(["steps", "matrix"]),
            help="steps: the scalar chain rule; matrix: the same numbers as vectors and matrices.")
@api_option(API, "--check-numeric", is_flag=True,
            help="Put the central finite difference (and the relative difference) beside every gradient.")
@api_option(API, "--all", "full", is_flag=True,
            help="Slides: every derivation in full (a network beyond 40 weights gets a summary by default); "
                 "a layer-table network (conv2d, pooling): every position and kernel entry derived, not one and a table.")
@max_work_option(API)
@output_option
def command(spec, only, digits, decimals, update_order, fmt, sample, data, batch, optimizer, round_to,
            train_iterations, group, derive, deck, view, check_numeric, full, max_work, output):
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
      stepgrad explain cnn.toml --all      # a conv network: every position derived
    """
    emit(explain_document(
        spec, fmt=fmt, display=Display(digits=digits, decimals=decimals, console=output is None),
        step=StepOptions(update_order=update_order, optimizer=optimizer, round_to=round_to, sample=sample,
                         data=data, batch=batch),
        extras=Extras(only=only, group=group, derive=derive, deck=deck, check_numeric=check_numeric, view=view,
                      train_iterations=train_iterations, full=full),
        output=output, max_work=max_work, note=note), output)
