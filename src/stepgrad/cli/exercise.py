"""`stepgrad exercise`: a new problem with nice numbers (or one per student), its answer key, a template, a quiz."""

from __future__ import annotations

import click

from stepgrad.api import exercise_job
from stepgrad.cli._common import LOSS_CHOICES, digits_option, emit, note
from stepgrad.teach.exercise import ACTIVATION_CHOICES


@click.command("exercise")
@click.option("--layers", default="2-2-2", show_default=True, help="Neurons per layer, inputs first.")
@click.option("--activation", default="sigmoid", show_default=True, type=click.Choice(ACTIVATION_CHOICES))
@click.option("--output-activation", default=None, type=click.Choice(["softmax", *ACTIVATION_CHOICES]),
              help="The output layer's activation (softmax with --loss cross_entropy). Default: --activation.")
@click.option("--loss", default="half_squared_error", show_default=True, type=click.Choice(LOSS_CHOICES))
@click.option("--samples", type=click.IntRange(1, 4), default=1, show_default=True,
              help="Samples in the batch (the gradient is their mean).")
@click.option("--seed", type=int, default=0, show_default=True, help="The same seed gives the same exercise.")
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Default: chosen by the seed from 0.5, 0.25, 0.1.")
@click.option("--round", "round_to", type=click.IntRange(0, 15), default=None, metavar="K",
              help="Hand-calculation key: every value rounded to K decimals and carried on, as by hand.")
@click.option("--min-digits", type=click.IntRange(1, 17), default=None, metavar="K",
              help="The precision the sheet asks for (written to check.toml, used by `stepgrad check`).")
@click.option("--roster", type=click.Path(dir_okay=False), default=None,
              help="A CSV with an `id` column: one exercise per student, seeded by their id (needs -o).")
@click.option("--format", "fmt", type=click.Choice(["markdown", "latex", "html", "text", "moodle", "gift", "qti"]),
              default="markdown", show_default=True,
              help="Format of the sheet and the key, or a quiz for an LMS (moodle XML, gift, qti zip for Canvas).")
@click.option("--pdf", is_flag=True, help="Also sheet.pdf (pdflatex; the network drawn with TikZ).")
@digits_option
@click.option("-o", "--output", type=click.Path(file_okay=False), default=None,
              help="Write sheet, key, solution-template.txt, key-values.txt and network.toml into this folder.")
@click.option("--force", is_flag=True, help="With -o: replace files in the folder that differ from this exercise's.")
def command(layers, activation, output_activation, loss, samples, seed, learning_rate, round_to, min_digits,
            roster, fmt, pdf, digits, output, force):
    """Generate an exercise: a problem sheet, its answer key and a blank solution template.

    Without -o, prints the problem sheet. With -o DIR, writes sheet.EXT, key.EXT (the full
    derivation), solution-template.txt (the `stepgrad check` format), key-values.txt (the template
    filled with the key's values) and network.toml, the network to check solutions against. With
    --roster, DIR gets students/<id>/ (sheet, template, network) for everyone, keys/ and keys.csv.

    \b
    Examples:
      stepgrad exercise --seed 7 -o week3
      stepgrad exercise --layers 2-3-2 --activation tanh --round 4 --format latex -o sheet
      stepgrad exercise --roster students.csv --min-digits 4 --pdf -o week3
      stepgrad exercise --roster students.csv --format moodle -o week3-quiz
      stepgrad check returned/ --variants week3
    """
    emit(exercise_job(layers=layers, activation=activation, seed=seed, learning_rate=learning_rate,
                      round_to=round_to, fmt=fmt, digits=digits, output=output, note=note, loss=loss,
                      output_activation=output_activation, samples=samples, roster=roster, min_digits=min_digits, pdf=pdf,
                      force=force),
         None)
