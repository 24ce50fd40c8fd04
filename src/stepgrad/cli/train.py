"""`stepgrad train`: full-batch steps on the spec's samples, or mini-batch epochs on a data set."""

from __future__ import annotations

import click

from stepgrad.api import train_job
from stepgrad.cli._common import (
    OPTIMIZER_CHOICES,
    UPDATE_ORDER_CHOICES,
    digits_option,
    emit,
    max_work_option,
    note,
    output_option,
    spec_argument,
)


@click.command("train")
@spec_argument
@click.option("--iterations", "-n", type=click.IntRange(0), default=10_000, show_default=True,
              help="Full-batch gradient-descent steps on the spec's samples (without --data).")
@click.option("--update-order", type=click.Choice([*UPDATE_ORDER_CHOICES, "both"]), default=None,
              help="Default: the spec's; 'both' trains once per order and compares.")
@click.option("--every", type=click.IntRange(1), default=None,
              help="Record E_total every K iterations (default: about 100 points); with --data, every K epochs.")
@click.option("--data", "data_source", default=None, metavar="NAME|FILE",
              help="Train on a data set: xor, digits (the [datasets] extra), a .csv or an .npz file.")
@click.option("--epochs", type=click.IntRange(1), default=None,
              help="Passes over the data (with --data; default 20, or 1,000 steps' worth for a tiny data set such as xor).")
@click.option("--batch-size", type=click.IntRange(1), default=32, show_default=True, help="Samples per step (with --data).")
@click.option("--optimizer", type=click.Choice(OPTIMIZER_CHOICES), default=None,
              help="The update rule (default: the one a saved network was trained with, else sgd): "
                   + ", ".join(OPTIMIZER_CHOICES) + ".")
@click.option("--reset-optimizer", is_flag=True,
              help="Resume a trained network with another --optimizer, from a fresh state.")
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Override the spec's learning rate.")
@click.option("--seed", type=int, default=None,
              help="Seeds the shuffling, the split and a default network (default: a saved run's, else 0).")
@click.option("--test-fraction", type=click.FloatRange(0, 1, max_open=True), default=None,
              help="Rows held out for testing (default 0.2 with 20 rows or more, else 0).")
@click.option("--standardize", is_flag=True, help="Shift and scale each input column to mean 0, spread 1 (from the training rows).")
@click.option("--dtype", type=click.Choice(["float64", "float32"]), default="float64", show_default=True,
              help="float32 is faster on larger networks; float64 reproduces the engine's numbers.")
@click.option("--inputs", "input_columns", default=None, metavar="COLUMNS", help="CSV: the input columns (default: all but the targets).")
@click.option("--targets", "target_columns", default=None, metavar="COLUMNS", help="CSV: the target columns (default: the last).")
@click.option("--label", default=None, metavar="COLUMN", help="CSV/.npz: a class label column, one-hot encoded.")
@click.option("--classes", default=None, metavar="NAMES", help="The labels' classes in order (default: the sorted labels).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--plot", type=click.Path(dir_okay=False), default=None, help="Save the loss curve (.png or .svg; needs the [plot] extra).")
@click.option("--save", type=click.Path(dir_okay=False), default=None, help="Save the trained network (.toml or .json) to resume later.")
@digits_option
@max_work_option
@output_option
def command(spec, output, **options):
    """Train for N iterations and report the error history, outputs and trained weights.

    With --data (or a `data` key in the spec), train on a data set in shuffled mini-batches
    instead, with a progress bar and the loss and accuracy of every epoch. Without a SPEC the
    network is the default recipe for the data: one tanh hidden layer of 32 neurons.

    \b
    Examples:
      stepgrad train --iterations 10000 --update-order sequential
      stepgrad train net.toml -n 5000 --format json -o run.json
      stepgrad train --data digits --epochs 20 --batch-size 32 --optimizer adam --seed 0
      stepgrad train net.toml --data iris.csv --label species --standardize
      stepgrad train --data digits --save dig.toml && stepgrad train dig.toml --epochs 2   # resume
    """
    console = output is None and options["fmt"] != "json"
    emit(train_job(spec, console=console, note=note, **options), output)
