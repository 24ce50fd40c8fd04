"""A training run for the terminal: error history, outputs against targets, trained weights."""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich.console import Console, Group
from rich.table import Table

from stepgrad.core.names import layout
from stepgrad.formats.formula import number
from stepgrad.training.loop import History

MAX_SAMPLE_ROWS = 20  # samples shown with their outputs; the rest are counted
MAX_CELL_VALUES = 10  # values listed in one cell (a sample's inputs or outputs); the rest are counted


def _cell(neurons: Sequence[str], values, digits: int) -> str:
    shown = [f"{n} = {number(v, digits)}" for n, v in zip(neurons[:MAX_CELL_VALUES], values)]
    if len(neurons) > MAX_CELL_VALUES:
        shown.append(f"... ({len(neurons)} in all)")
    return "\n".join(shown)


def _report(histories: list[History], digits: int) -> Group:
    first = histories[0]
    net = first.network
    inputs, targets = net.require_samples()
    names = layout(net.layers, net.shared_biases)  # type: ignore[arg-type]
    parts = []
    hist = Table(title="E_total during training")
    hist.add_column("iteration", justify="right")
    for h in histories:
        hist.add_column(f"E_total ({h.update_order})", justify="right")
    rows = list(zip(*[list(zip(h.recorded, h.errors)) for h in histories]))
    shown = rows if len(rows) <= 12 else rows[:: max(1, len(rows) // 10)] + [rows[-1]]
    seen = set()
    for row in shown:
        if row[0][0] in seen:
            continue
        seen.add(row[0][0])
        hist.add_row(str(row[0][0]), *[number(e, digits) for _, e in row])
    parts.append(hist)

    outs = Table(title=f"After {first.start + first.iterations:,} iterations")
    multi = inputs.shape[0] > 1
    if multi:
        outs.add_column("sample", justify="right")
    outs.add_column("inputs")
    for h in histories:
        outs.add_column(f"new outputs ({h.update_order})")
    outs.add_column("targets")
    results = [h.network_outputs() for h in histories]
    for s in range(min(inputs.shape[0], MAX_SAMPLE_ROWS)):
        line = [str(s + 1)] if multi else []
        line.append(_cell(names.neurons[0], inputs[s], digits))
        for r in results:
            line.append(_cell(names.neurons[-1], r[s], digits))
        line.append(_cell(names.neurons[-1], targets[s], digits))
        outs.add_row(*line)
    if inputs.shape[0] > MAX_SAMPLE_ROWS:
        outs.add_row(*([""] if multi else []), f"... {inputs.shape[0] - MAX_SAMPLE_ROWS:,} more samples", "")
    outs.add_row(*([""] if multi else []), "E_total", *[number(h.final_error, digits) for h in histories], "")
    parts.append(outs)

    parameters = names.all_weights + [b for bs in names.biases for b in bs]
    if len(parameters) > MAX_WEIGHT_ROWS:
        parts.append(_weights_summary(histories, digits))
        return Group(*parts)
    weights = Table(title="Trained weights")
    weights.add_column("name")
    for h in histories:
        weights.add_column(h.update_order, justify="right")
    per = [h.values() for h in histories]
    for w in parameters:
        weights.add_row(w, *[number(v[w], digits) for v in per])
    parts.append(weights)
    return Group(*parts)


MAX_WEIGHT_ROWS = 200  # beyond this, the trained weights are summarised per layer (a table of 90k rows helps no one)


def _weights_summary(histories: list[History], digits: int) -> Table:
    """Per weight layer: its shape and the smallest, largest and mean absolute trained weight."""
    table = Table(title="Trained weights, per layer (every value: --save FILE, or explain --format json)")
    for header in ("layer", "weights", "run", "min", "max", "mean |w|"):
        table.add_column(header, justify="left" if header in ("layer", "run") else "right")
    for l in range(len(histories[0].network.weights)):
        for h in histories:
            w = h.network.weights[l]
            table.add_row(str(l + 1), f"{w.shape[0]} x {w.shape[1]}", h.update_order, number(float(w.min()), digits),
                          number(float(w.max()), digits), number(float(abs(w).mean()), digits))
    return table


def _show(group: Group, console: bool) -> str:
    """Print to the terminal (returns ""), or return plain text 110 columns wide."""
    if console:
        Console(highlight=False).print(group)
        return ""
    buffer = io.StringIO()
    Console(file=buffer, width=110, no_color=True, highlight=False).print(group)
    return buffer.getvalue()


def training_report(histories: list[History], digits: int = 9, console: bool = False) -> str:
    """Tables for one or more runs (one per update order); printed when `console`, else returned as text."""
    return _show(_report(histories, digits), console)


# -- mini-batch training on a data set --------------------------------------------------------------

_METRICS = (("loss", "loss"), ("train_accuracy", "train acc"), ("test_loss", "test loss"), ("test_accuracy", "test acc"))


def _fit_group(history: History, digits: int) -> Group:
    net = history.network
    title = (f"{history.data}: {'-'.join(map(str, net.layers))} {'/'.join(net.activations)}, {net.loss.replace('_', ' ')}, "
             f"{history.optimizer} (learning rate {net.learning_rate:g}), {history.dtype}")
    table = Table(title=title)
    keys = [(k, label) for k, label in _METRICS if any(k in e for e in history.epochs)]
    table.add_column("epoch", justify="right")
    table.add_column("iteration", justify="right")
    for _, label in keys:
        table.add_column(label, justify="right")
    table.add_column("seconds", justify="right")
    for e in history.epochs:
        table.add_row(str(e["epoch"]), f"{e['iteration']:,}", *[_metric(e.get(k), digits) for k, _ in keys],
                      f"{e['seconds']:.3f}")
    summary = ", ".join(f"{label} {_metric(history.metrics[k], digits)}" for k, label in _METRICS if k in history.metrics)
    resumed = f", {history.iterations:,} in this run" if history.start else ""
    return Group(table, f"Final (iteration {history.start + history.iterations:,}{resumed}): {summary}")


def _metric(value, digits: int) -> str:
    return "" if value is None else number(value, min(digits, 6))


def fit_report(history: History, digits: int = 9, console: bool = False) -> str:
    """The per-epoch table and final metrics of a data-set run; printed when `console`, else returned."""
    return _show(_fit_group(history, digits), console)


class epoch_progress:
    """A rich progress bar over epochs showing the loss, the accuracy and samples per second.

        with epoch_progress(20, 1437) as tick:
            fit(..., progress=tick)
    """

    def __init__(self, epochs: int, samples: int, start: int = 0):  # start: epochs done before (a resumed run)
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.samples, self.start = samples, start
        self.bar = Progress(TextColumn("epoch"), MofNCompleteColumn(), BarColumn(), TextColumn("{task.fields[info]}"),
                            TimeElapsedColumn(), console=Console(stderr=True))
        self.task = self.bar.add_task("fit", total=start + epochs, completed=start, info="")

    def __enter__(self):
        self.bar.__enter__()
        return self.tick

    def __exit__(self, *exc) -> None:
        if exc[0] is not None:  # an error: leave only its one line on the terminal
            self.bar.live.transient = True
        self.bar.__exit__(*exc)

    def tick(self, record: dict) -> None:
        speed = (record["epoch"] - self.start) * self.samples / max(record["seconds"], 1e-9)
        parts = [f"loss {record['loss']:.4f}"]
        if "train_accuracy" in record:
            parts.append(f"acc {record['train_accuracy']:.3f}")
        if "test_accuracy" in record:
            parts.append(f"test {record['test_accuracy']:.3f}")
        parts.append(f"{speed:,.0f} samples/s")
        self.bar.update(self.task, completed=record["epoch"], info="  ".join(parts))
