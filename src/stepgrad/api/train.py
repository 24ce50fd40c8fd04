"""The train job: full-batch runs and data-set epochs, with progress, plot and save."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from stepgrad.api._base import Note, _quiet_numbers, _silent, load_spec, warn_targets
from stepgrad.core.budget import cli_budget
from stepgrad.core.errors import StepgradError
from stepgrad.core.spec import Network

if TYPE_CHECKING:
    from stepgrad.training.loop import History


def progress_train(net: Network, iterations: int, order: str, every: int, quiet: bool,
                   optimizer: str = "sgd") -> History:
    """train(), with a transient progress bar on the terminal unless `quiet`."""
    from stepgrad.training.loop import train

    if quiet:
        return train(net, iterations, update_order=order, every=every, optimizer=optimizer)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn(f"training ({order})"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True) as bar:
        task = bar.add_task("train", total=iterations)
        step = max(1, iterations // 200)

        def tick(done: int) -> None:
            if done % step == 0 or done == iterations:
                bar.update(task, completed=done)

        return train(net, iterations, update_order=order, every=every, progress=tick, optimizer=optimizer)


@_quiet_numbers
def train_job(spec: str | None, *, iterations: int = 10_000, update_order: str | None = None,
              every: int | None = None, data_source: str | None = None, epochs: int | None = None,
              batch_size: int = 32, optimizer: str | None = None, learning_rate: float | None = None,
              seed: int | None = None, test_fraction: float | None = None, standardize: bool = False,
              dtype: str = "float64", input_columns: str | None = None, target_columns: str | None = None,
              label: str | None = None, classes: str | None = None, fmt: str = "text", plot: str | None = None,
              save: str | None = None, reset_optimizer: bool = False, digits: int = 9, console: bool = False,
              max_work: float | None = None, note: Note = _silent) -> str:
    """Train (full-batch on the spec's samples, or mini-batch epochs on a data set) and report.

    Returns the report in `fmt` ("text" or "json"); with `console` a text report is printed with
    colour and progress bars are shown, and "" is returned. Writes the loss curve to `plot` and the
    trained network to `save` when given. A trained network resumes with its optimizer (another
    one only with `reset_optimizer`) and, for a data set, with the data, split and seed it remembers.
    The plot and save paths are checked before training; `max_work` replaces the command line's
    work budget (stepgrad.core.budget).
    """
    from stepgrad.training.loop import resume_optimizer

    quiet = not console
    if seed is not None and seed < 0:
        raise StepgradError(f"expected a whole number >= 0, got {seed}", where="--seed")
    budget = cli_budget(max_work)
    _check_run_files(plot, save, update_order)
    net = None if spec is None and data_source else load_spec(spec)
    data_args = _data_args(net, spec, data_source, label, input_columns, target_columns, classes)
    if net is not None:
        optimizer = resume_optimizer(net, optimizer, reset_optimizer, learning_rate)
    if data_args is not None:
        if update_order == "both":
            raise StepgradError("--update-order both compares full-batch runs; pick one order with --data",
                                where="--update-order")
        run = FitRun(epochs, batch_size, optimizer or "sgd", learning_rate, seed, test_fraction, standardize,
                     dtype, update_order, every, save)
        histories = [_fit(net, data_args, run, quiet, budget)]
    else:
        assert net is not None
        if learning_rate is not None:
            net.learning_rate = learning_rate
        net.require_samples(spec or "<built-in>")
        warn_targets(net, note)
        orders = ["synchronous", "sequential"] if update_order == "both" else [update_order or net.update_order]
        every = every or max(1, iterations // 100)
        budget.check_train(net, iterations * len(orders))
        histories = [progress_train(net, iterations, order, every, quiet, optimizer or "sgd") for order in orders]
    _write_run_files(histories, plot, save, note)
    if fmt == "json":
        data = histories[0].to_dict() if len(histories) == 1 else {"runs": [h.to_dict() for h in histories]}
        return json.dumps(data, indent=2, allow_nan=False)
    from stepgrad.formats.training_report import fit_report, training_report

    if data_args is not None:
        return fit_report(histories[0], digits, console=console)
    return training_report(histories, digits, console=console)


def _split_columns(value: str | None) -> list[str] | None:
    return [c.strip() for c in value.split(",") if c.strip()] if value else None


def _data_args(net: Network | None, spec: str | None, data_source: str | None, label: str | None,
               input_columns: str | None, target_columns: str | None, classes: str | None) -> dict | None:
    """load_data's arguments from --data or the spec's `data` key (options fill what the spec leaves)."""
    if net is not None and data_source is None and "data" in net.extra:
        from stepgrad.training.data import spec_source

        data_args = spec_source(net.extra["data"], spec or "<built-in>")
    elif data_source is not None:
        data_args = {"source": data_source}
    else:
        return None
    data_args.setdefault("label", label)
    for key, value in (("inputs", input_columns), ("targets", target_columns), ("classes", classes)):
        data_args.setdefault(key, _split_columns(value))
    return data_args


def _check_run_files(plot: str | None, save: str | None, update_order: str | None) -> None:
    """Before training: the plot and the saved network can be written (folder, name, matplotlib)."""
    import importlib.util

    from stepgrad.core.files import check_writable

    if save:
        if update_order == "both":
            raise StepgradError("--save needs one update order, not both", where="--save")
        check_writable(save, "--save")
    if plot:
        if Path(plot).suffix.lower() not in (".png", ".svg"):
            raise StepgradError("the plot file must end in .png or .svg", where="--plot")
        if importlib.util.find_spec("matplotlib") is None:
            raise StepgradError("plots need matplotlib: pip install 'stepgrad[plot]'", where="--plot")
        check_writable(plot, "--plot")


def _write_run_files(histories: Sequence[History], plot: str | None, save: str | None, note: Note) -> None:
    """The trained network first (the result of the work), then the plot; a plot that fails now
    (disk full) is a warning, and the report is still shown."""
    if save:
        from stepgrad.core.persist import save as save_network

        save_network(histories[0].network, save, history=histories[0])
        note(f"wrote {save}")
    if plot:
        from stepgrad.pictures.plot import plot_histories

        try:
            plot_histories(list(histories), plot)
        except (StepgradError, OSError) as exc:
            note(f"stepgrad: warning: the plot was not written: {exc}")
        else:
            note(f"wrote {plot}")


@dataclass(frozen=True)
class FitRun:
    """The options of a data-set run as given (None: the remembered value, else the default)."""

    epochs: int | None
    batch_size: int
    optimizer: str
    learning_rate: float | None
    seed: int | None
    test_fraction: float | None
    standardize: bool
    dtype: str
    update_order: str | None
    every: int | None
    save: str | None


def _fit(net: Network | None, data_args: dict, run: FitRun, quiet: bool, budget: Any) -> History:
    from stepgrad.training.data import check_fits, load_data, prepare, recall, remembered
    from stepgrad.training.loop import default_epochs, default_network, fit

    args, split = recall(data_args)
    source = args.pop("source")
    data = load_data(source, **args)
    seed = run.seed if run.seed is not None else split.get("seed", 0)
    fraction = run.test_fraction if run.test_fraction is not None else split.get("test_fraction")
    fraction = fraction if fraction is not None else (0.2 if len(data) >= 20 else 0.0)
    standardize = run.standardize or bool(split.get("standardize", False))
    if net is None:
        net = default_network(data, seed=seed, optimizer=run.optimizer)
    check_fits(data, net.layers, data.name)
    budget.check_train(net, run.epochs or default_epochs(len(data), run.batch_size), samples=len(data.inputs))
    if run.learning_rate is not None:
        net.learning_rate = run.learning_rate
    train_data, test_data = prepare(data, fraction, seed, standardize)
    epochs = run.epochs or default_epochs(len(train_data), run.batch_size)
    fit_args: dict[str, Any] = {"epochs": epochs, "batch_size": run.batch_size, "optimizer": run.optimizer, "seed": seed,
                "dtype": np.dtype(run.dtype), "update_order": run.update_order,
                "evaluate_every": run.every or (1 if run.epochs else max(1, epochs // 25))}  # default runs: ~25 rows
    if quiet:
        history = fit(net, train_data, test_data, **fit_args)
    else:
        from stepgrad.formats.training_report import epoch_progress

        done = (net.training.epochs or 0) if net.training is not None else 0
        with epoch_progress(epochs, len(train_data), start=done) as tick:
            history = fit(net, train_data, test_data, progress=tick, **fit_args)
    history.network.extra["data"] = remembered({"source": source, **args}, fraction, seed, standardize,
                                               saved_in=run.save, batch_size=run.batch_size)
    return history
