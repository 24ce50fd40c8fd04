"""Training: full-batch runs and data-set epochs, with progress, plot and save."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from stepgrad.api._base import Note, _quiet_numbers, _silent, load_spec, warn_targets
from stepgrad.api.options import DataSet, Display, RunFiles, TrainOptions
from stepgrad.core.budget import cli_budget
from stepgrad.core.errors import NotLearning, StepgradError
from stepgrad.core.spec import Network
from stepgrad.core.torch_record import dtype_of

if TYPE_CHECKING:
    from stepgrad.training.loop import History


def progress_train(net: Network, iterations: int, order: str, every: int, quiet: bool,
                   optimizer: str = "sgd", dtype: str | None = None) -> History:
    """train(), with a transient progress bar on the terminal unless `quiet`."""
    from rich import get_console

    from stepgrad.training.loop import train

    if quiet or not get_console().is_terminal:  # piped: no bar, and no empty lines where it would have been
        return train(net, iterations, update_order=order, every=every, optimizer=optimizer, dtype=dtype)
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

        return train(net, iterations, update_order=order, every=every, progress=tick, optimizer=optimizer,
                     dtype=dtype)


@_quiet_numbers
def train_network(spec: str | None = None, *, fmt: str = "text", display: Display = Display(),
                  run: TrainOptions = TrainOptions(), data: DataSet = DataSet(), files: RunFiles = RunFiles(),
                  max_work: float | None = None, note: Note = _silent) -> str:
    """Train the network in `spec` (full-batch on its samples, or mini-batch epochs on a data set) and report.

    Args:
        spec: the network spec file; None for the seed deck's network, or with `data.source` the default
            recipe for the data (one tanh hidden layer of 32 neurons).
        fmt: "text" (tables) or "json" (the history, the outputs and the trained weights).
        display: the report's significant digits; with `display.console` the text report is printed in
            colour with progress bars and "" is returned.
        run: iterations or epochs, update order, optimizer, learning rate, seed, dtype.
        data: the data set and its columns (None: the spec's `data` key, if any: then epochs on it).
        files: the loss curve to plot and the trained network to save; both are checked before training.
        max_work: the work budget in multiply-adds (default: the command line's, stepgrad.core.budget).
        note: called with "wrote FILE" and warnings.

    A trained network resumes with its optimizer (another one only with `run.reset_optimizer`) and, for
    a data set, with the data, split and seed it remembers.

    Example:
        >>> import json
        >>> report = json.loads(train_network(fmt="json", run=TrainOptions(iterations=100)))
        >>> report["final_error"] < 0.298371109   # E_total before training (the deck's)
        True
    """
    from stepgrad.training.loop import resume_optimizer

    if fmt not in ("text", "json"):
        raise StepgradError(f"expected text or json, got {fmt!r}", where="--format")
    if display.decimals is not None:
        raise StepgradError("the training report shows significant digits; give digits, not decimals",
                            where="Display.decimals")
    quiet = not (display.console and fmt == "text")
    budget = cli_budget(max_work)
    _check_run_files(files.plot, files.save, run.update_order)
    loaded = None if spec is None and data.source else load_spec(spec, layer_tables=True)
    if loaded is not None and not isinstance(loaded, Network):  # a layer-table network (conv, pooling)
        from stepgrad.api.layers import train_layers

        return train_layers(loaded, str(spec), run, data, files, fmt, budget, note)
    net = loaded
    data_args = _data_args(net, spec, data)
    optimizer = run.optimizer
    if net is not None:
        optimizer = resume_optimizer(net, optimizer, run.reset_optimizer, run.learning_rate)
    if data_args is not None:
        if run.update_order == "both":
            raise StepgradError("--update-order both compares full-batch runs; pick one order with --data",
                                where="--update-order")
        histories = [_fit(net, data_args, run, optimizer or "sgd", data, files.save, quiet, budget)]
    else:
        assert net is not None
        if run.learning_rate is not None:
            net.learning_rate = run.learning_rate
        net.require_samples(spec or "<built-in>")
        warn_targets(net, note)
        orders = ["synchronous", "sequential"] if run.update_order == "both" else [run.update_order or net.update_order]
        every = run.every or max(1, run.iterations // 100)
        budget.check_train(net, run.iterations * len(orders))
        dtype = run.dtype or dtype_of(net)
        if dtype != "float64":  # say it: the numbers are float32's, not every digit exact
            why = "as --dtype asks" if run.dtype else "as the spec's [torch] table says (--dtype float64: every digit exact)"
            note(f"note: computed in {dtype}, {why}")
        histories = [progress_train(net, run.iterations, order, every, quiet, optimizer or "sgd", dtype)
                     for order in orders]
    _write_run_files(histories, files.plot, files.save, note)
    warnings = _not_learning(histories, None if data_args is not None else net)
    for line in warnings:
        note(f"warning: {line}")
    if fmt == "json":
        result = histories[0].to_dict() if len(histories) == 1 else {"runs": [h.to_dict() for h in histories]}
        report = json.dumps(result, indent=2, allow_nan=False)
    else:
        from stepgrad.formats.training_report import fit_report, training_report

        report = (fit_report(histories[0], display.digits, console=not quiet) if data_args is not None
                  else training_report(histories, display.digits, console=not quiet))
    if warnings and run.strict:
        raise NotLearning(f"the run did not learn: {warnings[0].split(': ')[0]}; see the warnings above",
                          output=report)
    return report


def _not_learning(histories: Sequence[History], net: Network | None) -> list[str]:
    """The warnings of stepgrad.training.diagnose for every run (named by update order when there are two)."""
    from stepgrad.training.diagnose import not_learning

    inputs = net.inputs if net is not None else None
    lines = []
    for h in histories:
        prefix = f"{h.update_order}: " if len(histories) > 1 else ""
        lines += [prefix + line for line in not_learning(h, inputs)]
    return lines


def _split_columns(value: str | None) -> list[str] | None:
    return [c.strip() for c in value.split(",") if c.strip()] if value else None


def _data_args(net: Network | None, spec: str | None, data: DataSet) -> dict | None:
    """load_data's arguments from `data.source` or the spec's `data` key (options fill what the spec leaves)."""
    if net is not None and data.source is None and "data" in net.extra:
        from stepgrad.training.data import spec_source

        data_args = spec_source(net.extra["data"], spec or "<built-in>")
    elif data.source is not None:
        data_args = {"source": data.source}
    else:
        return None
    data_args.setdefault("label", data.label)
    for key, value in (("inputs", data.inputs), ("targets", data.targets), ("classes", data.classes)):
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


def _fit(net: Network | None, data_args: dict, run: TrainOptions, optimizer: str, data_set: DataSet,
         save: str | None, quiet: bool, budget: Any) -> History:
    """Epochs of mini-batches on the data set; the options not given come from the saved run, else the defaults."""
    from stepgrad.training.data import check_fits, load_data, prepare, recall, remembered
    from stepgrad.training.loop import default_epochs, default_network, fit

    args, split = recall(data_args)
    source = args.pop("source")
    data = load_data(source, **args)
    seed = run.seed if run.seed is not None else split.get("seed", 0)
    fraction = data_set.test_fraction if data_set.test_fraction is not None else split.get("test_fraction")
    fraction = fraction if fraction is not None else (0.2 if len(data) >= 20 else 0.0)
    standardize = data_set.standardize or bool(split.get("standardize", False))
    if net is None:
        net = default_network(data, seed=seed, optimizer=optimizer)
    check_fits(data, net.layers, data.name)
    budget.check_train(net, run.epochs or default_epochs(len(data), run.batch_size), samples=len(data.inputs))
    if run.learning_rate is not None:
        net.learning_rate = run.learning_rate
    train_data, test_data = prepare(data, fraction, seed, standardize)
    epochs = run.epochs or default_epochs(len(train_data), run.batch_size)
    fit_args: dict[str, Any] = {"epochs": epochs, "batch_size": run.batch_size, "optimizer": optimizer, "seed": seed,
                "dtype": np.dtype(run.dtype or dtype_of(net)), "update_order": run.update_order,
                "evaluate_every": run.every or (1 if run.epochs else max(1, epochs // 25))}  # default runs: ~25 rows
    if quiet:
        history = fit(net, train_data, test_data, **fit_args)
    else:
        from stepgrad.formats.training_report import epoch_progress

        done = (net.training.epochs or 0) if net.training is not None else 0
        with epoch_progress(epochs, len(train_data), start=done) as tick:
            history = fit(net, train_data, test_data, progress=tick, **fit_args)
    history.network.extra["data"] = remembered({"source": source, **args}, fraction, seed, standardize,
                                               saved_in=save, batch_size=run.batch_size)
    return history
