"""A training run for the terminal: error history, outputs against targets, trained weights."""

from __future__ import annotations

import io

from rich.console import Console, Group
from rich.table import Table

from ..names import layout
from ..train import History
from .formula import number


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
    for s in range(inputs.shape[0]):
        cells = [f"{names.neurons[0][i]} = {number(x, digits)}" for i, x in enumerate(inputs[s])]
        row = [str(s + 1)] if multi else []
        row.append("\n".join(cells))
        for r in results:
            row.append("\n".join(f"{o} = {number(v, digits)}" for o, v in zip(names.neurons[-1], r[s])))
        row.append("\n".join(f"{o} = {number(v, digits)}" for o, v in zip(names.neurons[-1], targets[s])))
        outs.add_row(*row)
    outs.add_row(*([""] if multi else []), "E_total", *[number(h.final_error, digits) for h in histories], "")
    parts.append(outs)

    weights = Table(title="Trained weights")
    weights.add_column("name")
    for h in histories:
        weights.add_column(h.update_order, justify="right")
    per = [h.values() for h in histories]
    for w in names.all_weights + [b for bs in names.biases for b in bs]:
        weights.add_row(w, *[number(v[w], digits) for v in per])
    parts.append(weights)
    return Group(*parts)


def training_report(histories: list[History], digits: int = 9, console: bool = False) -> str:
    """Tables for one or more runs (one per update order); printed when `console`, else returned as text."""
    group = _report(histories, digits)
    if console:
        Console(highlight=False).print(group)
        return ""
    buffer = io.StringIO()
    Console(file=buffer, width=110, no_color=True, highlight=False).print(group)
    return buffer.getvalue()
