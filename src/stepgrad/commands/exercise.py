"""`stepgrad exercise`: a new problem with nice numbers, its answer key and a solution template."""

from __future__ import annotations

import click

from ..exercise import ACTIVATION_CHOICES
from ..jobs import exercise_job
from ._common import digits_option, emit, note


@click.command("exercise")
@click.option("--layers", default="2-2-2", show_default=True, help="Neurons per layer, inputs first.")
@click.option("--activation", default="sigmoid", show_default=True,
              type=click.Choice(ACTIVATION_CHOICES))
@click.option("--seed", type=int, default=0, show_default=True, help="The same seed gives the same exercise.")
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Default: chosen by the seed from 0.5, 0.25, 0.1.")
@click.option("--round", "round_to", type=click.IntRange(0, 15), default=None, metavar="K",
              help="Hand-calculation key: every value rounded to K decimals and carried on, as by hand.")
@click.option("--format", "fmt", type=click.Choice(["markdown", "latex", "html", "text"]), default="markdown",
              show_default=True, help="Format of the sheet and the answer key.")
@digits_option
@click.option("-o", "--output", type=click.Path(file_okay=False), default=None,
              help="Write sheet, key, solution-template.txt, key-values.txt and network.toml into this folder.")
@click.option("--force", is_flag=True, help="With -o: replace files in the folder that differ from this exercise's.")
def command(layers, activation, seed, learning_rate, round_to, fmt, digits, output, force):
    """Generate an exercise: a problem sheet, its answer key and a blank solution template.

    Without -o, prints the problem sheet. With -o DIR, writes sheet.EXT, key.EXT (the full
    derivation), solution-template.txt (the `stepgrad check` format), key-values.txt (the template
    filled with the key's values) and network.toml, the network to check solutions against.

    \b
    Examples:
      stepgrad exercise --seed 7 -o week3
      stepgrad exercise --layers 2-3-2 --activation tanh --round 4 --format latex -o sheet
      stepgrad check --network week3/network.toml returned/anna.txt --format json
    """
    emit(exercise_job(layers=layers, activation=activation, seed=seed, learning_rate=learning_rate,
                      round_to=round_to, fmt=fmt, digits=digits, output=output, force=force, note=note), None)
