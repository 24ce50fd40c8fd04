"""Jobs on layer-table networks (convolution, pooling, residual blocks): one training step explained, its names.

`explain_document` and `quantity_names` hand a spec whose layers hold tables to these; every option
they cannot honour yet is refused in one line naming it (never ignored, never treated as dense).
"""

from __future__ import annotations

import json
from typing import Any

from stepgrad.api.options import Display, Extras, StepOptions
from stepgrad.core.errors import StepgradError
from stepgrad.core.layers.spec import LayerNetwork

LAYER_FORMATS = ("text", "markdown", "json", "latex", "html", "slides")
MAX_VALUES = 2 * 10**5  # named scalars of one explained step


def _unsupported(step: StepOptions, extras: Extras) -> str | None:
    """The first option a layer-table explanation does not support yet, as its flag."""
    checks = [
        (step.round_to is not None and (step.sample is not None or step.optimizer not in (None, "sgd")), "--round"),
        (step.data is not None, "--data"), (step.batch is not None, "--batch"),
        (extras.group != "layer", "--group weight"), (extras.deck, "--deck"),
        (extras.check_numeric, "--check-numeric"),
    ]
    return next((flag for bad, flag in checks if bad), None)


SEQUENTIAL = ("the sequential update order is not defined for layer-table networks: its signals would not be the "
              "derivatives their names claim, and a residual block's input has no single layer above it; use "
              "--update-order synchronous")


def _trace(net: LayerNetwork, spec: str, sample: int | None, optimizer: str | None = None) -> Any:
    from stepgrad.tracing.layered import explain_layers

    inputs, _ = net.require_samples(spec)
    if sample is not None and sample > len(inputs):
        raise StepgradError(f"there are only {len(inputs)} samples", where="--sample")
    count = (1 if sample is not None else len(inputs)) * sum(
        _scalars(layer) for layer in net.all_layers()) + 4 * net.parameter_count
    if count > MAX_VALUES:
        raise StepgradError(f"the step has about {count:,} named values, more than an explanation shows "
                            f"({MAX_VALUES:,}); explain one sample with --sample, or a smaller network", where=spec)
    return explain_layers(net, None if sample is None else sample - 1, optimizer or "sgd")


def _scalars(layer: Any) -> int:
    import numpy as np

    per_position = 6 if layer.has_activation else 2  # net, out, dout/dnet, dE/dout, dE/dnet (+ factors)
    factors = sum(p.size for p in layer.params.values()) * int(np.prod(layer.out_shape[1:] or (1,)))
    return per_position * int(np.prod(layer.out_shape)) + 2 * factors


def explain_layers_document(net: LayerNetwork, spec: str, fmt: str, display: Display, step: StepOptions,
                            extras: Extras) -> str:
    """One training step of a layer-table network explained in `fmt` (text, markdown, json, latex or html)."""
    from stepgrad.formats import render
    if step.update_order == "sequential":
        raise StepgradError(SEQUENTIAL, where="--update-order")
    flag = _unsupported(step, extras)
    if flag is not None:
        raise StepgradError(f"{flag} is not supported for layer-table networks (conv2d, pooling, residual) yet",
                            where=flag.split()[0])
    if fmt not in LAYER_FORMATS:
        raise StepgradError(f"the {fmt} format does not show layer-table networks (conv2d, pooling, residual) yet; "
                            f"choose from {', '.join(LAYER_FORMATS)}", where="--format")
    from stepgrad.api.layer_kinds import pictured

    if fmt == "slides" and not pictured(net):  # the lecture: conv networks, or sequence models without a residual block
        raise StepgradError("the slides format shows conv, pooling and residual networks and sequence models (rnn, "
                            "attention, layernorm, batchnorm) without a residual block; not this network yet",
                            where="--format")
    if extras.derive and not pictured(net):  # the rules: conv and sequence networks (maps_rules, seq_rules)
        raise StepgradError("--derive shows conv, pooling, residual and sequence networks; a sequence layer inside "
                            "a residual block is not in it yet", where="--derive")
    trace = _trace(net, spec, step.sample, step.optimizer)
    if step.round_to is not None:  # hand calculation: every value rounded and carried on (as check --round marks)
        from stepgrad.teach.check.rounded_layers import rounded_layers

        trace = rounded_layers(net, step.round_to)
    only = _only(trace, extras.only)
    if fmt == "json":
        return render(trace, "json", digits=display.precision, only=only)
    if only:
        raise StepgradError("--only works with --format json for layer-table networks; the text and Markdown "
                            "explanations derive one position in full and show the rest as grids (--all: every one)",
                            where="--only")
    return render(trace, fmt, digits=display.precision, full=extras.full, matrix=extras.view == "matrix",
                  derive=extras.derive)


def _only(trace: Any, only: str | None) -> list[str] | None:
    """The names --only asks for: an entry (k1[1,1,2,2], out_c1[1,2,2]) or all entries of a name (k1, out_c1)."""
    from stepgrad.core import names

    if not only:
        return None
    wanted: list[str] = []
    for token in (t.strip() for t in only.split(",")):
        if not token:
            continue
        found = {str(names.parse(n).but(after=False, sample=None)) for n in trace.values
                 if names.parse(n).kind != "partial" and n.split("[")[0].rstrip("+") == token}
        if not found and not trace.unknown([token]) == []:
            raise StepgradError(f"no quantity {token!r} in this step; `stepgrad names` lists them", where="--only")
        wanted += sorted(found) or [token]
    return wanted


def layer_names(net: LayerNetwork, spec: str, fmt: str, display: Display, update_order: str | None) -> str:
    """Every quantity name of a layer-table network's training step with its value (text or json)."""
    from stepgrad.formats.text import name_listing

    if update_order == "sequential":
        raise StepgradError(SEQUENTIAL, where="--update-order")
    return name_listing(_trace(net, spec, None), fmt, display.precision)


def train_layers(net: LayerNetwork, spec: str, run: Any, data: Any, files: Any, fmt: str, budget: Any,
                 note: Any) -> str:
    """Train a layer-table network in mini-batches (training/layered.py; SGD or a registry optimizer) on a data set
    read as images of the network's input shape, or full-batch on its own samples; the report per epoch (text or json)."""
    from stepgrad.core.optim import get as get_optimizer
    from stepgrad.training.data import Dataset, load_data
    from stepgrad.training.layered import as_images, fit_layers, train_work

    if run.update_order not in (None, "synchronous"):
        raise StepgradError(SEQUENTIAL, where="--update-order")
    unsupported = [(files.plot is not None, "--plot"), (files.save is not None, "--save"),
                   (run.dtype not in (None, "float64"), "--dtype"),
                   (run.strict, "--strict"), (data.inputs or data.targets or data.label or data.classes, "--inputs"),
                   (data.standardize, "--standardize")]
    flag = next((flag for bad, flag in unsupported if bad), None)
    if flag is not None:
        raise StepgradError(f"{flag} is not supported for layer-table networks (conv2d, pooling, residual) yet",
                            where=flag)
    if run.learning_rate is not None:
        net.learning_rate = run.learning_rate
    if data.source is not None:
        train, test = as_images(load_data(data.source), net.input_shape).split(
            0.2 if data.test_fraction is None else data.test_fraction, seed=run.seed or 0)
        epochs, batch = run.epochs or 5, run.batch_size
    else:
        inputs, targets = net.require_samples(spec)
        train, test = Dataset(inputs, targets, spec), None
        epochs, batch = run.iterations, len(inputs)  # full batch: one step per iteration
    budget.check(train_work(net, epochs, len(train)), "training")
    optimizer = run.optimizer or "sgd"
    history = fit_layers(net, train, test, epochs=epochs, batch_size=batch, seed=run.seed or 0, optimizer=optimizer)
    if fmt == "json":
        return json.dumps({"epochs": history.epochs, "E_total": history.errors, "test_accuracy": history.accuracies},
                          indent=2)
    title = "SGD" if optimizer == "sgd" else get_optimizer(optimizer).title
    lines = [f"Trained {net.name or spec}: {epochs} {'epochs' if data.source else 'iterations'}, {title}, learning rate "
             f"{net.learning_rate:g}" + (f", batches of {batch}" if data.source else " (full batch)")]
    shown = history.epochs if len(history.epochs) <= 25 else history.epochs[:: max(1, len(history.epochs) // 20)]
    for epoch in shown:
        k = epoch - 1
        accuracy = f"  test accuracy {history.accuracies[k]:.3f}" if history.accuracies else ""
        lines.append(f"{'epoch' if data.source else 'iteration'} {epoch:>5}  E_total {history.errors[k]:.6g}{accuracy}")
    return "\n".join(lines) + "\n"
