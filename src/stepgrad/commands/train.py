"""`stepgrad train`: full-batch steps on the spec's samples, or mini-batch epochs on a data set."""

from __future__ import annotations

import json

import click

from ..errors import StepgradError
from ._common import digits_option, emit, load_spec, output_option, spec_argument


def _progress_train(net, iterations, order, every, quiet, optimizer="sgd"):
    from ..train import train

    if quiet:
        return train(net, iterations, update_order=order, every=every, optimizer=optimizer)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn(f"training ({order})"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True) as bar:
        task = bar.add_task("train", total=iterations)
        step = max(1, iterations // 200)

        def tick(done: int) -> None:
            if done % step == 0 or done == iterations:
                bar.update(task, completed=done)

        return train(net, iterations, update_order=order, every=every, progress=tick, optimizer=optimizer)


def _split_columns(value: str | None) -> list[str] | None:
    return [c.strip() for c in value.split(",") if c.strip()] if value else None


@click.command("train")
@spec_argument
@click.option("--iterations", "-n", type=click.IntRange(0), default=10_000, show_default=True,
              help="Full-batch gradient-descent steps on the spec's samples (without --data).")
@click.option("--update-order", type=click.Choice(["synchronous", "sequential", "both"]), default=None,
              help="Default: the spec's; 'both' trains once per order and compares.")
@click.option("--every", type=click.IntRange(1), default=None, help="Record E_total every K iterations (default: about 100 points).")
@click.option("--data", "data_source", default=None, metavar="NAME|FILE",
              help="Train on a data set: xor, digits (the [datasets] extra), a .csv or an .npz file.")
@click.option("--epochs", type=click.IntRange(1), default=20, show_default=True, help="Passes over the data (with --data).")
@click.option("--batch-size", type=click.IntRange(1), default=32, show_default=True, help="Samples per step (with --data).")
@click.option("--optimizer", type=click.Choice(["sgd", "momentum", "adam"]), default="sgd", show_default=True)
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Override the spec's learning rate.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds the shuffling, the split and a default network.")
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
@output_option
def command(spec, iterations, update_order, every, data_source, epochs, batch_size, optimizer, learning_rate, seed,
            test_fraction, standardize, dtype, input_columns, target_columns, label, classes, fmt, plot, save,
            digits, output):
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
    """
    quiet = fmt == "json" or output is not None
    net = None if spec is None and data_source else load_spec(spec)
    if net is not None and data_source is None and "data" in net.extra:
        from ..data import spec_source

        data_args = spec_source(net.extra["data"], spec or "<built-in>")
    elif data_source is not None:
        data_args = {"source": data_source}
    else:
        data_args = None
    if data_args is not None:
        if update_order == "both":
            raise StepgradError("--update-order both compares full-batch runs; pick one order with --data",
                                where="--update-order")
        data_args.setdefault("label", label)
        for key, value in (("inputs", input_columns), ("targets", target_columns), ("classes", classes)):
            data_args.setdefault(key, _split_columns(value))
        history = _fit(net, data_args, epochs, batch_size, optimizer, learning_rate, seed, test_fraction,
                       standardize, dtype, update_order, quiet)
        histories = [history]
    else:
        if learning_rate is not None:
            net.learning_rate = learning_rate
        net.require_samples(spec or "<built-in>")
        orders = ["synchronous", "sequential"] if update_order == "both" else [update_order or net.update_order]
        every = every or max(1, iterations // 100)
        histories = [_progress_train(net, iterations, order, every, quiet, optimizer) for order in orders]
    if plot:
        from ..plot import plot_histories

        plot_histories(histories, plot)
        click.echo(f"wrote {plot}", err=True)
    if save:
        if len(histories) != 1:
            raise StepgradError("--save needs one update order, not both", where="--save")
        from ..persist import save as save_network

        save_network(histories[0].network, save, history=histories[0])
        click.echo(f"wrote {save}", err=True)
    if fmt == "json":
        data = histories[0].to_dict() if len(histories) == 1 else {"runs": [h.to_dict() for h in histories]}
        emit(json.dumps(data, indent=2, allow_nan=False), output)
        return
    if data_args is not None:
        from ..render.training import fit_report

        text = fit_report(histories[0], digits, console=output is None)
        if output:
            emit(text, output)
        return
    from ..render.training import training_report

    emit(training_report(histories, digits), output) if output else training_report(histories, digits, console=True)


def _fit(net, data_args, epochs, batch_size, optimizer, learning_rate, seed, test_fraction, standardize, dtype,
         update_order, quiet):
    import numpy as np

    from ..data import check_fits, load_data, prepare
    from ..train import default_network, fit

    data = load_data(data_args.pop("source"), **data_args)
    if net is None:
        net = default_network(data, seed=seed, optimizer=optimizer)
    check_fits(data, net.layers, data.name)
    if learning_rate is not None:
        net.learning_rate = learning_rate
    train_data, test_data = prepare(data, test_fraction, seed, standardize)
    args = dict(epochs=epochs, batch_size=batch_size, optimizer=optimizer, seed=seed, dtype=np.dtype(dtype),
                update_order=update_order)
    if quiet:
        return fit(net, train_data, test_data, **args)
    from ..render.training import epoch_progress

    with epoch_progress(epochs, len(train_data)) as tick:
        return fit(net, train_data, test_data, progress=tick, **args)
