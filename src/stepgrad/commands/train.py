"""`stepgrad train`: repeat the training step, with a progress bar, the error history and the result."""

from __future__ import annotations

import json

import click

from ..errors import StepgradError
from ._common import digits_option, emit, load_spec, output_option, spec_argument


def _progress_train(net, iterations, order, every, quiet):
    from ..train import train

    if quiet:
        return train(net, iterations, update_order=order, every=every)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn(f"training ({order})"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True) as bar:
        task = bar.add_task("train", total=iterations)
        step = max(1, iterations // 200)

        def tick(done: int) -> None:
            if done % step == 0 or done == iterations:
                bar.update(task, completed=done)

        return train(net, iterations, update_order=order, every=every, progress=tick)


@click.command("train")
@spec_argument
@click.option("--iterations", "-n", type=click.IntRange(0), default=10_000, show_default=True,
              help="Full-batch gradient-descent steps.")
@click.option("--update-order", type=click.Choice(["synchronous", "sequential", "both"]), default=None,
              help="Default: the spec's; 'both' trains once per order and compares.")
@click.option("--every", type=click.IntRange(1), default=None, help="Record E_total every K iterations (default: about 100 points).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--plot", type=click.Path(dir_okay=False), default=None, help="Save the loss curve (.png or .svg; needs the [plot] extra).")
@click.option("--save", type=click.Path(dir_okay=False), default=None, help="Save the trained network (.toml or .json) to resume later.")
@digits_option
@output_option
def command(spec, iterations, update_order, every, fmt, plot, save, digits, output):
    """Train for N iterations and report the error history, outputs and trained weights.

    \b
    Examples:
      stepgrad train --iterations 10000 --update-order sequential
      stepgrad train net.toml -n 5000 --format json -o run.json
    """
    net = load_spec(spec)
    net.require_samples(spec or "<built-in>")
    orders = ["synchronous", "sequential"] if update_order == "both" else [update_order or net.update_order]
    every = every or max(1, iterations // 100)
    quiet = fmt == "json" or output is not None
    histories = [_progress_train(net, iterations, order, every, quiet) for order in orders]
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
    from ..render.training import training_report

    emit(training_report(histories, digits), output) if output else training_report(histories, digits, console=True)
