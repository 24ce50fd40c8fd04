"""One training step, shown: the explained document, the quantity names, the network diagram, the computation graph."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from stepgrad.api._base import Note, _quiet_numbers, _silent, load_spec, warn_targets
from stepgrad.api.options import DataSet, Display, Extras, StepOptions
from stepgrad.api.train import _data_args
from stepgrad.core.budget import cli_budget
from stepgrad.core.errors import StepgradError
from stepgrad.core.files import write_atomic
from stepgrad.core.spec import Network

PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".pdf", ".webp")


@_quiet_numbers
def explain_document(spec: str | None = None, *, fmt: str = "text", display: Display = Display(),
                     step: StepOptions = StepOptions(), extras: Extras = Extras(), output: str | None = None,
                     max_work: float | None = None, note: Note = _silent) -> Any:
    """One training step of the network in `spec` (a TOML or JSON file; None: the seed deck's), explained in `fmt`.

    Args:
        spec: the network spec file; None for the seed deck's 2-2-2 network.
        fmt: one of stepgrad.formats.FORMATS (text, json, markdown, latex, slides, html, ...).
        display: digits or decimals, in every format and view; with `display.console` a text result is
            a rich renderable for the terminal.
        step: which step: update order, optimizer, hand rounding, one sample, data-set rows.
        extras: what the document holds: `only` some derivations, grouping, derivations of the local
            derivatives, the deck's figures, numerical checks, the matrix view, the slides' training table.
        output: the file the result is for: a Markdown file gets the network's SVG beside it (same
            name, .svg), linked from the page; a picture name is refused (that is `network_diagram`).
        max_work: the work budget in multiply-adds (default: the command line's, stepgrad.core.budget).
        note: called with lines for the reader ("wrote FILE", notes and warnings).

    Returns:
        The document as text (or, for `display.console` and text, a rich renderable).

    Example:
        >>> text = explain_document(fmt="markdown", extras=Extras(only="w5"), display=Display(decimals=4))
        >>> "w_{5}^{+}" in text and "0.08217" in text   # w5+ from dE_total/dw5, at 4 decimals (4 digits when small)
        True
    """
    from stepgrad.formats import render
    from stepgrad.tracing.build import explain
    from stepgrad.tracing.only import resolve_only

    if output and Path(output).suffix.lower() in PICTURE_SUFFIXES:
        raise StepgradError(f"explain writes a document ({fmt}), not a picture; for the network as a picture use "
                            f"`stepgrad diagram -o {Path(output).name}`", where="--output")
    _check_format(fmt)
    net = load_spec(spec, layer_tables=True)
    if not isinstance(net, Network):  # a layer-table network: convolution, pooling, residual blocks
        from stepgrad.api.layers import explain_layers_document

        return explain_layers_document(net, str(spec), fmt, display, step, extras)
    sample = step.sample
    if step.data is not None or step.batch is not None or (net.inputs is None and "data" in net.extra):
        if sample is None and step.batch is None:
            raise StepgradError("the network trains on a data set: explain one of its rows with --sample N "
                                "or a mini-batch with --batch K", where=spec or "<built-in>")
        _take_data_rows(net, spec, step.data, sample, step.batch)
        sample = None
    inputs, _ = net.require_samples(spec or "<built-in>")  # named by its file
    if sample is not None and sample > len(inputs):
        raise StepgradError(f"there are only {len(inputs)} samples", where="--sample")
    warn_targets(net, note)
    budget = cli_budget(max_work)
    budget.check_trace(net, samples=1 if sample is not None else None)
    update_order = step.update_order
    optimizer = step.optimizer or _saved_optimizer(net)  # a network trained with Adam is explained with Adam
    if optimizer != "sgd" and update_order is None:
        update_order = "synchronous"  # momentum and Adam take the synchronous gradients
    if extras.deck and spec is not None:
        raise StepgradError("the deck's figures belong to the seed deck's network: leave out SPEC", where="--deck")
    if _lecture(net, fmt, display, step, extras):
        return _lecture_slides(net, display, extras, budget, note)
    trace = explain(net, sample=None if sample is None else sample - 1, update_order=update_order,
                    optimizer=optimizer, round_to=step.round_to, dtype=step.dtype)
    trace = _dressed(net, trace, extras)
    names = resolve_only(trace, extras.only) or None
    precision = display.precision
    if extras.view == "matrix":
        from stepgrad.formats.matrix_writers import render_matrix

        if names:
            raise StepgradError("the matrix view shows the whole step; leave out --only", where="--view")
        return render_matrix(trace, fmt, precision)
    if fmt == "text" and display.console:
        from stepgrad.formats import shown
        from stepgrad.formats.text import rich_renderable

        return rich_renderable(shown(trace, names, extras.full), precision)
    options: dict[str, Any] = {"full": True} if extras.full else {}
    if fmt == "markdown" and output and output != "-":
        options["diagram"] = _diagram_beside(trace, output, note)
    if fmt == "slides" and extras.train_iterations:
        from stepgrad.training.loop import train

        iterations = extras.train_iterations
        try:
            budget.check_train(net, iterations)
            options["history"] = train(net, iterations, update_order=trace.meta.get("update_order"),
                                       every=max(1, iterations // 100), optimizer=optimizer)
        except StepgradError as exc:  # the derivation stands without the closing table
            note(f"note: the deck has no training table: {exc}")
    return render(trace, fmt, digits=precision, only=names, **options)


def _lecture(net: Network, fmt: str, display: Display, step: StepOptions, extras: Extras) -> bool:
    """Whether the slides are the lecture: asked for (--lecture), or slides of the seed network with no other
    option (`stepgrad explain --format slides`)."""
    if extras.lecture is None:
        return (fmt == "slides" and display.digits == Display().digits and display.decimals is None
                and step == StepOptions() and extras == Extras() and _is_seed(net))
    if not extras.lecture:
        return False
    if fmt != "slides":
        raise StepgradError("the lecture is a slide deck: add --format slides", where="--lecture")
    if extras.only or extras.view != "steps" or step.sample or step.data or step.batch is not None \
            or step.update_order or step.optimizer not in (None, "sgd") or step.round_to is not None:
        raise StepgradError("the lecture tells the whole step in both update orders: leave out --only, --view, "
                            "--sample, --data, --batch, --update-order, --optimizer and --round", where="--lecture")
    return True


def _is_seed(net: Network) -> bool:
    """Whether `net` is the seed deck's network (whatever it is named)."""
    from stepgrad.core.spec import builtin

    def plain(n: Network) -> dict:
        return {k: v for k, v in n.to_dict().items() if k not in ("name", "seed")}

    return plain(net) == plain(builtin())


def _lecture_slides(net: Network, display: Display, extras: Extras, budget: Any, note: Note) -> str:
    """The lecture: the deck's story in Beamer, derived in the synchronous order (as the deck derives), with the
    sequential order beside it after the update and in the training table, and the deck's own mistakes."""
    from stepgrad.formats import render
    from stepgrad.formats.formula import Decimals
    from stepgrad.tracing.build import explain
    from stepgrad.tracing.derive import derive
    from stepgrad.tracing.group import group

    budget.check_trace(net)
    trace = group(derive(explain(net, update_order="synchronous")), "weight")
    other = explain(net, update_order="sequential")
    histories = []
    if extras.train_iterations:
        from stepgrad.training.loop import train

        iterations = extras.train_iterations
        try:
            budget.check_train(net, iterations)
            histories = [train(net, iterations, update_order=order, every=max(1, iterations // 100))
                         for order in ("sequential", "synchronous")]
        except StepgradError as exc:
            note(f"note: the deck has no training table: {exc}")
    mistakes = []
    if _is_seed(net):
        from stepgrad.teach.deck_figures import slips

        mistakes = [(s.name, s.printed, s.exact, s.verdict, s.reason) for s in slips()]
    default = display.digits == Display().digits and display.decimals is None
    precision = Decimals(9) if default else display.precision  # the deck's 9 decimals
    return render(trace, "slides", digits=precision, full=True if extras.full else None, history=histories or None,
                  other=other, mistakes=mistakes)


def _check_format(fmt: str) -> None:
    from stepgrad.formats import FORMATS

    if fmt not in FORMATS:
        raise StepgradError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}", where="--format")


def _take_data_rows(net: Network, spec: str | None, data_source: str | None, sample: int | None,
                    batch: int | None) -> None:
    """Make one training row (`sample`, 1-based) or mini-batch (`batch`, 0-based, of the next epoch's
    shuffle) of the network's data set its samples: the remembered data, split and standardisation."""
    from stepgrad.training.data import check_fits, training_split
    from stepgrad.training.loop import epoch_order

    remembered = net.extra.get("data")
    use_memory = remembered is not None and (data_source is None or data_source == (
        remembered.get("source") if isinstance(remembered, dict) else remembered))
    data_args = _data_args(net if use_memory else None, spec, DataSet(None if use_memory else data_source))
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


def _dressed(net: Network, trace: Any, extras: Extras) -> Any:
    """The trace with what the reader asked for added: numerical checks, derivations, the deck's figures,
    grouped by layer or by weight (the values are the trace's own throughout)."""
    if extras.check_numeric:
        from stepgrad.tracing.numeric import check_numeric as with_numeric

        trace = with_numeric(net, trace)
    if extras.derive:
        from stepgrad.tracing.derive import derive as with_derivations

        trace = with_derivations(trace)
    if extras.deck:
        from stepgrad.teach.deck_figures import annotate

        trace = annotate(trace)
    from stepgrad.tracing.group import group as grouped

    return grouped(trace, extras.group)


@_quiet_numbers
def quantity_names(spec: str | None = None, *, fmt: str = "text", display: Display = Display(),
                   update_order: str | None = None, max_work: float | None = None) -> str:
    """Every quantity name of one training step with its value: `name = value` lines by section, or JSON.

    These are the names `stepgrad check`, the JSON document and the web page use. `fmt` is "text" or
    "json" (full precision); `update_order` None is the spec's.

    Example:
        >>> print(quantity_names(display=Display(decimals=4)).splitlines()[1])
        i1                  = 0.05
    """
    from stepgrad.formats.text import name_listing
    from stepgrad.tracing.build import explain

    if fmt not in ("text", "json"):
        raise StepgradError(f"expected text or json, got {fmt!r}", where="--format")
    net = load_spec(spec, layer_tables=True)
    if not isinstance(net, Network):
        from stepgrad.api.layers import layer_names

        return layer_names(net, str(spec), fmt, display, update_order)
    net.require_samples(spec or "<built-in>")
    cli_budget(max_work).check_trace(net)
    return name_listing(explain(net, update_order=update_order), fmt, display.precision)


def network_diagram(spec: str | None = None, *, show: str = "weights", max_labels: int = 40, digits: int = 4,
                    update_order: str | None = None, output: str | None = None, max_work: float | None = None,
                    note: Note = _silent) -> str:
    """The network as an SVG picture: neurons in columns, each weight's name and value on its edge.

    Args:
        spec: the network spec file; None for the seed deck's network.
        show: what the edges carry: "weights", "gradients" (dE_total/dw) or "updated" (after one step);
            the last two need samples.
        max_labels: label the edges of networks with at most this many weights.
        digits: significant digits on the labels.
        update_order: the step's update order (None: the spec's).
        output: write the picture here (.svg, or .png drawn by cairosvg or Chromium) and return "".
        max_work: the work budget in multiply-adds (default: the command line's, stepgrad.core.budget).
        note: called with "wrote FILE".

    Returns:
        The SVG document, or "" when it was written to `output`.

    Example:
        >>> network_diagram().startswith("<svg")
        True
    """
    from stepgrad.pictures.diagram import network_svg
    from stepgrad.pictures.picture_file import picture_format, write_picture
    from stepgrad.tracing.build import explain

    to_file = output if output is not None and output != "-" else None
    from stepgrad.api.layer_kinds import pictured
    from stepgrad.api.layer_pictures import layer_diagram

    loaded = load_spec(spec, layer_tables=True)
    if pictured(loaded):  # a conv or sequence network: a map-level picture (api/layer_pictures.py)
        result = layer_diagram(loaded, str(spec), show=show, max_labels=max_labels, digits=digits,
                               update_order=update_order, output=to_file)
        if to_file:
            note(f"wrote {to_file}")
        return result
    if to_file:
        picture_format(to_file)  # refuse a wrong suffix before any work
    net = load_spec(spec)  # a dense network (other layer tables: refused in one line)
    trace = None
    budget = cli_budget(max_work)
    budget.check_trace(net, samples=1)  # a picture of every weight is as large as one sample's derivation
    if net.inputs is not None and len(net.inputs):
        budget.check_trace(net)
        trace = explain(net, update_order=update_order)
    if show != "weights" and trace is None:
        raise StepgradError(f"showing {show} needs samples (inputs and targets) in the spec", where="--show")
    svg = network_svg(net, trace, show=show, max_labels=max_labels, digits=digits)
    if not to_file:
        return svg
    write_picture(svg, to_file)
    note(f"wrote {to_file}")
    return ""


GRAPH_FORMATS = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".pdf": "pdf", ".png": "png"}


def step_graph(spec: str | None = None, *, only: str | None = None, sample: int | None = None,
               display: Display = Display(digits=6), update_order: str | None = None, output: str | None = None,
               max_work: float | None = None, note: Note = _silent) -> str:
    """The computation graph of one training step: every scalar operation with its value and gradient.

    Args:
        spec: the network spec file; None for the seed deck's network.
        only: keep the subgraph this weight's or bias's gradient flows through (e.g. "w1"), with every operand of its nodes (dashed).
        sample: only this sample (1-based).
        display: digits (or decimals) of the values and gradients.
        update_order: the step's update order (None: the spec's).
        output: .svg, .pdf or .png are laid out by Graphviz and written there ("" is returned);
            .dot/.gv or None: the DOT text is returned.
        max_work: the work budget in multiply-adds (default: the command line's, stepgrad.core.budget).
        note: called with "wrote FILE".

    Example:
        >>> step_graph(only="w5").startswith("digraph")
        True
    """
    from stepgrad.tracing.build import explain
    from stepgrad.tracing.graph import computation_graph

    fmt = "dot"
    if output and output != "-":
        suffix = Path(output).suffix.lower()
        if suffix not in GRAPH_FORMATS:
            raise StepgradError(f"unknown graph format {suffix or '(none)'!r}; use one of {', '.join(GRAPH_FORMATS)}",
                                where="--output")
        fmt = GRAPH_FORMATS[suffix]
    from stepgrad.api.layer_kinds import pictured
    from stepgrad.api.layer_pictures import layer_graph

    loaded = load_spec(spec, layer_tables=True)
    if pictured(loaded):  # a conv or sequence network: the step drawn by maps (api/layer_pictures.py)
        result = layer_graph(loaded, str(spec), only=only, sample=sample, digits=display.precision,
                             update_order=update_order, output=output)
        if output and output != "-":
            note(f"wrote {output}")
        return result
    net = load_spec(spec)  # a dense network (other layer tables: refused in one line)
    inputs, _ = net.require_samples(spec or "<built-in>")
    if sample is not None and sample > len(inputs):
        raise StepgradError(f"there are only {len(inputs)} samples", where="--sample")
    cli_budget(max_work).check_trace(net, samples=1 if sample is not None else None)
    graph = computation_graph(explain(net, sample=None if sample is None else sample - 1, update_order=update_order))
    if only:
        graph = graph.only(only.strip())
    digits: Any = display.precision
    if fmt == "dot":
        return graph.to_dot(digits)
    assert output is not None
    write_atomic(output, graph.render(fmt, digits))
    note(f"wrote {output}")
    return ""


def _saved_optimizer(net: Network) -> str:
    """The optimizer a saved network was trained with (its state is in net.training), else sgd."""
    from stepgrad.core.training_state import TrainingState

    state = TrainingState.of(net).optimizer
    return str(state.get("name", "sgd")) if state else "sgd"
