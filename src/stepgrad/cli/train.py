"""`stepgrad train`: full-batch steps on the spec's samples, or mini-batch epochs on a data set (stepgrad.api.train_network)."""

from __future__ import annotations

import click

from stepgrad.api import DataSet, Display, RunFiles, TrainOptions, train_network
from stepgrad.cli._common import (
    OPTIMIZER_CHOICES,
    UPDATE_ORDER_CHOICES,
    api_option,
    digits_option,
    emit,
    max_work_option,
    note,
    output_option,
    spec_argument,
)

API = train_network


@click.command("train")
@spec_argument
@api_option(API, "--iterations", "-n", type=click.IntRange(0),
            help="Full-batch gradient-descent steps on the spec's samples (without --data).")
@api_option(API, "--update-order", type=click.Choice([*UPDATE_ORDER_CHOICES, "both"]),
            help="Default: the spec's; 'both' trains once per order and compares.")
@api_option(API, "--every", type=click.IntRange(1),
            help="Record E_total every K iterations (default: about 100 points); with --data, every K epochs.")
@api_option(API, "--data", "source", metavar="NAME|FILE",
            help="Train on a data set: xor, digits (the [datasets] extra), sequence_sums (a toy sequence task), a .csv or an .npz file.")
@api_option(API, "--epochs", type=click.IntRange(1),
            help="Passes over the data (with --data; default 20, or 1,000 steps' worth for a tiny data set such as xor).")
@api_option(API, "--batch-size", type=click.IntRange(1), help="Samples per step (with --data).")
@api_option(API, "--optimizer", type=click.Choice(OPTIMIZER_CHOICES),
            help="The update rule (default: the one a saved network was trained with, else sgd): "
                 + ", ".join(OPTIMIZER_CHOICES) + ".")
@api_option(API, "--reset-optimizer", is_flag=True, help="Resume a trained network with another --optimizer, from a fresh state.")
@api_option(API, "--learning-rate", type=click.FloatRange(min=0, min_open=True), help="Override the spec's learning rate.")
@api_option(API, "--seed", type=click.IntRange(0),
            help="Seeds the shuffling, the split and a default network (default: a saved run's, else 0).")
@api_option(API, "--test-fraction", type=click.FloatRange(0, 1, max_open=True),
            help="Rows held out for testing (default 0.2 with 20 rows or more, else 0).")
@api_option(API, "--standardize", is_flag=True, help="Shift and scale each input column to mean 0, spread 1 (from the training rows).")
@api_option(API, "--dtype", type=click.Choice(["float64", "float32"]),
            help="float32 is faster on larger networks; float64 reproduces the engine's numbers "
                 "(default: the spec's [torch] dtype, else float64).")
@api_option(API, "--inputs", metavar="COLUMNS", help="CSV: the input columns (default: all but the targets).")
@api_option(API, "--targets", metavar="COLUMNS", help="CSV: the target columns (default: the last).")
@api_option(API, "--label", metavar="COLUMN", help="CSV/.npz: a class label column, one-hot encoded.")
@api_option(API, "--classes", metavar="NAMES", help="The labels' classes in order (default: the sorted labels).")
@api_option(API, "--strict", is_flag=True,
            help="Fail (exit status 1) when the run learns nothing: a flat error, dead or saturated neurons, divergence.")
@api_option(API, "--format", "fmt", type=click.Choice(["text", "json"]))
@api_option(API, "--plot", type=click.Path(dir_okay=False), help="Save the loss curve (.png or .svg; needs the [plot] extra).")
@api_option(API, "--save", type=click.Path(dir_okay=False), help="Save the trained network (.toml or .json) to resume later.")
@digits_option(API)
@max_work_option(API)
@output_option
def command(spec, iterations, update_order, every, source, epochs, batch_size, optimizer, reset_optimizer,
            learning_rate, seed, test_fraction, standardize, dtype, inputs, targets, label, classes, strict, fmt, plot,
            save, digits, max_work, output):
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
    run = TrainOptions(iterations=iterations, update_order=update_order, every=every, epochs=epochs,
                       batch_size=batch_size, optimizer=optimizer, learning_rate=learning_rate, seed=seed,
                       reset_optimizer=reset_optimizer, dtype=dtype, strict=strict)
    data = DataSet(source=source, inputs=inputs, targets=targets, label=label, classes=classes,
                   test_fraction=test_fraction, standardize=standardize)
    emit(train_network(spec, fmt=fmt, display=Display(digits=digits, console=output is None), run=run, data=data,
                       files=RunFiles(plot=plot, save=save), max_work=max_work, note=note), output)
