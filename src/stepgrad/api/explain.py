"""The explain, names, diagram and graph jobs: one training step, shown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from stepgrad.api._base import Note, _quiet_numbers, _silent, load_spec, warn_targets
from stepgrad.api.train import _data_args
from stepgrad.core.budget import cli_budget
from stepgrad.core.errors import StepgradError
from stepgrad.core.files import write_atomic
from stepgrad.core.spec import Network

PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".pdf", ".webp")


@_quiet_numbers
def explain_job(spec: str | None, *, only: str | None = None, digits: int = 9, decimals: int | None = None,
                update_order: str | None = None, fmt: str = "text", sample: int | None = None,
                optimizer: str = "sgd", round_to: int | None = None, train_iterations: int = 0,
                group: str = "layer", derive: bool = False, deck: bool = False, view: str = "steps",
                check_numeric: bool = False, data_source: str | None = None, batch: int | None = None,
                full: bool = False, output: str | None = None, console: bool = False,
                max_work: float | None = None, note: Note = _silent) -> Any:
    """The derivation of one training step in `fmt`; with `console` (text to a terminal), a rich renderable.

    `sample` is 1-based; `only` follows stepgrad.tracing.only's rule; slides train `train_iterations` for
    the deck's closing table (a run that cannot train leaves the table out, with a note).
    `decimals` (up to N decimals, as the deck prints) replaces `digits` (significant digits);
    `group="weight"` tells the step one weight at a time; `derive` adds how each local derivative
    is obtained; `deck` puts the seed deck's printed figure beside each quantity; `view="matrix"`
    shows the step as vectors and matrices; `check_numeric` adds central finite differences; `full`
    gives slides every derivation (a large network's deck summarises the passes otherwise); Markdown
    written to `output` gets the network's SVG beside it (same name, .svg), linked from the page.
    `max_work` replaces the command line's work budget (stepgrad.core.budget).
    """
    from stepgrad.formats import render
    from stepgrad.formats.formula import Decimals
    from stepgrad.tracing.build import explain
    from stepgrad.tracing.only import resolve_only

    if output and Path(output).suffix.lower() in PICTURE_SUFFIXES:
        raise StepgradError(f"explain writes a document ({fmt}), not a picture; for the network as a picture use "
                            f"`stepgrad diagram -o {Path(output).name}`", where="--output")
    net = load_spec(spec)
    if data_source is not None or batch is not None or (net.inputs is None and "data" in net.extra):
        if sample is None and batch is None:
            raise StepgradError("the network trains on a data set: explain one of its rows with --sample N "
                                "or a mini-batch with --batch K", where=spec or "<built-in>")
        _take_data_rows(net, spec, data_source, sample, batch)
        sample = None
    net.require_samples(spec or "<built-in>")
    if sample is not None:
        inputs, _ = net.require_samples(spec or "<built-in>")
        if sample > len(inputs):
            raise StepgradError(f"there are only {len(inputs)} samples", where="--sample")
    net.require_samples(spec or "<built-in>")  # named by its file
    warn_targets(net, note)
    budget = cli_budget(max_work)
    budget.check_trace(net, samples=1 if sample is not None else None)
    if optimizer != "sgd" and update_order is None:
        update_order = "synchronous"  # momentum and Adam take the synchronous gradients
    if deck and spec is not None:
        raise StepgradError("the deck's figures belong to the seed deck's network: leave out SPEC", where="--deck")
    trace = explain(net, sample=None if sample is None else sample - 1, update_order=update_order,
                    optimizer=optimizer, round_to=round_to)
    precision = digits if decimals is None else Decimals(decimals)
    trace = _dressed(net, trace, group=group, derive=derive, deck=deck, check_numeric=check_numeric)
    names = resolve_only(trace, only) or None
    if view == "matrix":
        from stepgrad.formats.matrix_writers import render_matrix

        if names:
            raise StepgradError("the matrix view shows the whole step; leave out --only", where="--view")
        return render_matrix(trace, fmt, digits)
    digits = precision  # type: ignore[assignment]
    if fmt == "text" and console:
        from stepgrad.formats.text import rich_renderable

        return rich_renderable(trace.select(names) if names else trace, digits)
    options: dict[str, Any] = {"full": True} if full and fmt == "slides" else {}
    if fmt == "markdown" and output and output != "-":
        options["diagram"] = _diagram_beside(trace, output, note)
    if fmt == "slides" and train_iterations:
        from stepgrad.training.loop import train

        try:
            budget.check_train(net, train_iterations)
            options["history"] = train(net, train_iterations, update_order=trace.meta.get("update_order"),
                                       every=max(1, train_iterations // 100), optimizer=optimizer)
        except StepgradError as exc:  # the derivation stands without the closing table
            note(f"note: the deck has no training table: {exc}")
    return render(trace, fmt, digits=digits, only=names, **options)


def _take_data_rows(net: Network, spec: str | None, data_source: str | None, sample: int | None,
                    batch: int | None) -> None:
    """Make one training row (`sample`, 1-based) or mini-batch (`batch`, 0-based, of the next epoch's
    shuffle) of the network's data set its samples: the remembered data, split and standardisation."""
    from stepgrad.training.data import check_fits, training_split
    from stepgrad.training.loop import epoch_order

    remembered = net.extra.get("data")
    use_memory = remembered is not None and (data_source is None or data_source == (
        remembered.get("source") if isinstance(remembered, dict) else remembered))
    data_args = _data_args(net if use_memory else None, spec, None if use_memory else data_source,
                           None, None, None, None)
    if data_args is None:
        raise StepgradError("the network remembers no data set: name one with --data", where="--batch")
    train, split = training_split(data_args)
    check_fits(train, net.layers, train.name)
    if sample is not None and batch is not None:
        raise StepgradError("give --sample or --batch, not both", where="--batch")
    if batch is not None:
        size = int(split.get("batch_size", 32))
        epoch = (net.training.epochs or 0) + 1 if net.training is not None else 1
        rows = epoch_order(int(split.get("seed", 0)), epoch, len(train))[batch * size:(batch + 1) * size]
        if not len(rows):
            raise StepgradError(f"there are only {-(-len(train) // size)} batches of {size} (0..)", where="--batch")
    else:
        k = 1 if sample is None else sample
        if k > len(train):
            raise StepgradError(f"the training split has only {len(train)} rows", where="--sample")
        rows = np.array([k - 1])
    net.inputs, net.targets = train.inputs[rows], train.targets[rows]


def _diagram_beside(trace: Any, output: str, note: Note) -> str | None:
    """Write the network's SVG beside `output` (step.md -> step.svg); its file name, for the link."""
    from pathlib import Path

    from stepgrad.core.files import write_atomic
    from stepgrad.pictures.diagram import network_from_trace, network_svg

    net = network_from_trace(trace)
    if net is None:
        return None
    path = Path(output).with_suffix(".svg")
    write_atomic(path, network_svg(net, trace))
    note(f"wrote {path}")
    return path.name


def _dressed(net: Network, trace: Any, *, group: str, derive: bool, deck: bool, check_numeric: bool) -> Any:
    """The trace with what the reader asked for added: numerical checks, derivations, the deck's figures,
    grouped by layer or by weight (the values are the trace's own throughout)."""
    if check_numeric:
        from stepgrad.tracing.numeric import check_numeric as with_numeric

        trace = with_numeric(net, trace)
    if derive:
        from stepgrad.tracing.derive import derive as with_derivations

        trace = with_derivations(trace)
    if deck:
        from stepgrad.teach.deck_figures import annotate

        trace = annotate(trace)
    from stepgrad.tracing.group import group as grouped

    return grouped(trace, group)


@_quiet_numbers
def names_job(spec: str | None, *, digits: int = 9, update_order: str | None = None, fmt: str = "text",
              max_work: float | None = None) -> str:
    """Every quantity name of one training step with its value: `name = value` lines by section, or JSON."""
    from stepgrad.formats.formula import number
    from stepgrad.tracing.build import explain

    net = load_spec(spec)
    net.require_samples(spec or "<built-in>")
    cli_budget(max_work).check_trace(net)
    trace = explain(net, update_order=update_order)
    if fmt == "json":
        return json.dumps(trace.values, indent=2)
    width = max(len(n) for n in trace.values)
    lines = []
    for section in trace.sections:
        lines.append(f"# {section.title}")
        lines += [f"{step.name:<{width}} = {number(step.value, digits)}" for step in section.steps]
    return "\n".join(lines) + "\n"


def diagram_job(spec: str | None, *, show: str = "weights", max_labels: int = 40, digits: int = 4,
                update_order: str | None = None) -> str:
    """The network as SVG; `show` weights, gradients or updated (the last two need samples)."""
    from stepgrad.pictures.diagram import network_svg
    from stepgrad.tracing.build import explain

    net = load_spec(spec)
    trace = None
    if net.inputs is not None and len(net.inputs):
        cli_budget(None).check_trace(net)
        trace = explain(net, update_order=update_order)
    if show != "weights" and trace is None:
        raise StepgradError(f"showing {show} needs samples (inputs and targets) in the spec", where="--show")
    return network_svg(net, trace, show=show, max_labels=max_labels, digits=digits)


GRAPH_FORMATS = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".pdf": "pdf", ".png": "png"}


def graph_job(spec: str | None, *, output: str | None = None, only: str | None = None, sample: int | None = None,
              digits: int = 6, update_order: str | None = None, note: Note = _silent) -> str:
    """The step's computation graph: DOT text to show, or (for .svg/.pdf/.png) written to `output` by Graphviz."""
    from stepgrad.tracing.build import explain
    from stepgrad.tracing.graph import computation_graph

    fmt = "dot"
    if output and output != "-":
        suffix = Path(output).suffix.lower()
        if suffix not in GRAPH_FORMATS:
            raise StepgradError(f"unknown graph format {suffix or '(none)'!r}; use one of {', '.join(GRAPH_FORMATS)}",
                                where="--output")
        fmt = GRAPH_FORMATS[suffix]
    net = load_spec(spec)
    inputs, _ = net.require_samples(spec or "<built-in>")
    if sample is not None and sample > len(inputs):
        raise StepgradError(f"there are only {len(inputs)} samples", where="--sample")
    cli_budget(None).check_trace(net, samples=1 if sample is not None else None)
    graph = computation_graph(explain(net, sample=None if sample is None else sample - 1, update_order=update_order))
    if only:
        graph = graph.only(only.strip())
    if fmt == "dot":
        return graph.to_dot(digits)
    assert output is not None
    write_atomic(output, graph.render(fmt, digits))
    note(f"wrote {output}")
    return ""
