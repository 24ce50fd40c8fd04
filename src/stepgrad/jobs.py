"""What each `stepgrad` command does, as library calls: the commands hold only their options.

Each job takes the command's arguments as keywords and returns what the command shows: text (or a
rich renderable, printed as it is) for the terminal or the output file. Notes for the reader ("wrote
FILE") go to `note`, which the CLI points at standard error.

    >>> text = explain_job(None, only="w5", fmt="markdown")   # what `stepgrad explain --only w5 --format markdown` prints
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .budget import cli_budget
from .errors import StepgradError
from .files import write_atomic
from .spec import Network, builtin, load

if TYPE_CHECKING:
    from .train import History

Note = Callable[[str], None]


def _silent(message: str) -> None:
    """The default `note`: say nothing."""


def _quiet_numbers(job: Callable) -> Callable:
    """Run `job(spec, ...)` without numpy's overflow warnings: a value that overflows is reported once,
    as one error line naming it (engine.check_finite, diverge.check_trained), not as warnings before
    it; an error that names no file names the spec file."""

    @functools.wraps(job)
    def run(spec: str | None, *args: Any, **kwargs: Any) -> Any:
        try:
            with np.errstate(all="ignore"):
                return job(spec, *args, **kwargs)
        except StepgradError as exc:
            if exc.where is None and spec is not None and type(exc).__init__ is StepgradError.__init__:
                raise type(exc)(exc.message, where=spec) from None
            raise

    return run


def load_spec(spec: str | None) -> Network:
    """The network from a spec file, or the built-in seed network when none is given."""
    return builtin() if spec is None else load(spec)


# -- explain ------------------------------------------------------------------------------------
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

    `sample` is 1-based; `only` follows stepgrad.only's rule; slides train `train_iterations` for
    the deck's closing table (a run that cannot train leaves the table out, with a note).
    `decimals` (up to N decimals, as the deck prints) replaces `digits` (significant digits);
    `group="weight"` tells the step one weight at a time; `derive` adds how each local derivative
    is obtained; `deck` puts the seed deck's printed figure beside each quantity; `view="matrix"`
    shows the step as vectors and matrices; `check_numeric` adds central finite differences; `full`
    gives slides every derivation (a large network's deck summarises the passes otherwise); Markdown
    written to `output` gets the network's SVG beside it (same name, .svg), linked from the page.
    `max_work` replaces the command line's work budget (stepgrad.budget).
    """
    from .explain import explain
    from .only import resolve_only
    from .render import render
    from .render.formula import Decimals

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
    _warn_targets(net, note)
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
        from .render.matrix import render_matrix

        if names:
            raise StepgradError("the matrix view shows the whole step; leave out --only", where="--view")
        return render_matrix(trace, fmt, digits)
    digits = precision  # type: ignore[assignment]
    if fmt == "text" and console:
        from .render.text import rich_renderable

        return rich_renderable(trace.select(names) if names else trace, digits)
    options: dict[str, Any] = {"full": True} if full and fmt == "slides" else {}
    if fmt == "markdown" and output and output != "-":
        options["diagram"] = _diagram_beside(trace, output, note)
    if fmt == "slides" and train_iterations:
        from .train import train

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
    from .data import check_fits, training_split
    from .train import epoch_order

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

    from .diagram import network_from_trace, network_svg
    from .files import write_atomic

    net = network_from_trace(trace)
    if net is None:
        return None
    path = Path(output).with_suffix(".svg")
    write_atomic(path, network_svg(net, trace))
    note(f"wrote {path}")
    return path.name


def _warn_targets(net: Network, note: Note) -> None:
    from .spec import target_warnings

    for warning in target_warnings(net):
        note(f"stepgrad: warning: {warning}")


def _dressed(net: Network, trace: Any, *, group: str, derive: bool, deck: bool, check_numeric: bool) -> Any:
    """The trace with what the reader asked for added: numerical checks, derivations, the deck's figures,
    grouped by layer or by weight (the values are the trace's own throughout)."""
    if check_numeric:
        from .numeric import check_numeric as with_numeric

        trace = with_numeric(net, trace)
    if derive:
        from .derive import derive as with_derivations

        trace = with_derivations(trace)
    if deck:
        from .deck_figures import annotate

        trace = annotate(trace)
    from .group import group as grouped

    return grouped(trace, group)


@_quiet_numbers
def names_job(spec: str | None, *, digits: int = 9, update_order: str | None = None, fmt: str = "text",
              max_work: float | None = None) -> str:
    """Every quantity name of one training step with its value: `name = value` lines by section, or JSON."""
    from .explain import explain
    from .render.formula import number

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
    from .diagram import network_svg
    from .explain import explain

    net = load_spec(spec)
    trace = None
    if net.inputs is not None and len(net.inputs):
        cli_budget(None).check_trace(net)
        trace = explain(net, update_order=update_order)
    if show != "weights" and trace is None:
        raise StepgradError(f"showing {show} needs samples (inputs and targets) in the spec", where="--show")
    return network_svg(net, trace, show=show, max_labels=max_labels, digits=digits)


# -- train --------------------------------------------------------------------------------------
def progress_train(net: Network, iterations: int, order: str, every: int, quiet: bool,
                   optimizer: str = "sgd") -> History:
    """train(), with a transient progress bar on the terminal unless `quiet`."""
    from .train import train

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
    work budget (stepgrad.budget).
    """
    from .train import resume_optimizer

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
        _warn_targets(net, note)
        orders = ["synchronous", "sequential"] if update_order == "both" else [update_order or net.update_order]
        every = every or max(1, iterations // 100)
        budget.check_train(net, iterations * len(orders))
        histories = [progress_train(net, iterations, order, every, quiet, optimizer or "sgd") for order in orders]
    _write_run_files(histories, plot, save, note)
    if fmt == "json":
        data = histories[0].to_dict() if len(histories) == 1 else {"runs": [h.to_dict() for h in histories]}
        return json.dumps(data, indent=2, allow_nan=False)
    from .render.training import fit_report, training_report

    if data_args is not None:
        return fit_report(histories[0], digits, console=console)
    return training_report(histories, digits, console=console)


def _split_columns(value: str | None) -> list[str] | None:
    return [c.strip() for c in value.split(",") if c.strip()] if value else None


def _data_args(net: Network | None, spec: str | None, data_source: str | None, label: str | None,
               input_columns: str | None, target_columns: str | None, classes: str | None) -> dict | None:
    """load_data's arguments from --data or the spec's `data` key (options fill what the spec leaves)."""
    if net is not None and data_source is None and "data" in net.extra:
        from .data import spec_source

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

    from .files import check_writable

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
        from .persist import save as save_network

        save_network(histories[0].network, save, history=histories[0])
        note(f"wrote {save}")
    if plot:
        from .plot import plot_histories

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
    from .data import check_fits, load_data, prepare, recall, remembered
    from .train import default_epochs, default_network, fit

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
        from .render.training import epoch_progress

        done = (net.training.epochs or 0) if net.training is not None else 0
        with epoch_progress(epochs, len(train_data), start=done) as tick:
            history = fit(net, train_data, test_data, progress=tick, **fit_args)
    history.network.extra["data"] = remembered({"source": source, **args}, fraction, seed, standardize,
                                               saved_in=run.save, batch_size=run.batch_size)
    return history


# -- export ---------------------------------------------------------------------------------------
def export_job(spec: str | None, *, output: str | None = None, code: str | None = None,
               optimizer: str | None = None, note: Note = _silent) -> None:
    """Write the network's state_dict to `output` and/or a PyTorch training script to `code`."""
    import io

    if output is None and code is None:
        raise StepgradError("give -o FILE.pt (the weights) or --code FILE.py (a training script)", where="export")
    net = load_spec(spec)
    if code is not None:
        from .torch_code import training_code

        write_atomic(code, training_code(net, optimizer))
        note(f"wrote {code}: run it with python {code}")
    if output is not None:
        from .torch_interop import describe, to_torch, torch_module

        buffer = io.BytesIO()
        torch_module().save(to_torch(net).state_dict(), buffer)
        write_atomic(output, buffer.getvalue())
        note(f"wrote {output}: the state_dict of\n  model = {describe(net)}\n"
             f"load it with: model.load_state_dict(torch.load({output!r}, weights_only=True))")


# -- exercise, import ---------------------------------------------------------------------------
def exercise_job(*, layers: str = "2-2-2", activation: str = "sigmoid", seed: int = 0,
                 learning_rate: float | None = None, round_to: int | None = None, fmt: str = "markdown",
                 digits: int = 9, output: str | None = None, note: Note = _silent, loss: str = "half_squared_error",
                 output_activation: str | None = None, samples: int = 1, roster: str | None = None,
                 min_digits: int | None = None, pdf: bool = False, force: bool = False) -> str:
    """The problem sheet; with `output` (a folder), writes sheet, key, templates and network there instead.
    With `roster`, one exercise per student (variants.py); `fmt` moodle/gift/qti: a quiz to import (lms.py).
    A file already there with other contents (an edited key, another exercise) is replaced only with `force`."""
    from .exercise import generate, parse_layers

    options = dict(layers=parse_layers(layers), activation=activation, round_to=round_to,
                   learning_rate=learning_rate, loss=loss, output=output_activation, samples=samples)
    folder = Path(output) if output else None
    if folder is not None and folder.exists() and not folder.is_dir():
        raise StepgradError("not a folder", where=str(folder))
    if fmt in ("moodle", "gift", "qti"):
        return _quiz(fmt, roster, seed, options, min_digits, folder, note)
    if roster:
        if folder is None:
            raise StepgradError("one exercise per student needs a folder to write them to: add -o DIR", where="--roster")
        from .variants import write_variants

        made = write_variants(roster, str(folder), base=seed, fmt=fmt, digits=digits, min_digits=min_digits, pdf=pdf,
                              **options)
        note(f"wrote {len(made)} exercises to {folder / 'students'}, the keys to {folder / 'keys'} and {folder / 'keys.csv'}")
        return ""
    exercise = generate(seed=seed, **options)  # type: ignore[arg-type]
    if folder is None:
        if pdf:
            raise StepgradError("a PDF sheet is a file: add -o DIR", where="--pdf")
        return exercise.sheet(fmt)
    folder.mkdir(parents=True, exist_ok=True)
    files = exercise.files(fmt, digits)
    if min_digits is not None or round_to is not None:
        rules = {"min_digits": min_digits, "round": round_to}
        files["check.toml"] = "[check]\n" + "".join(f"{k} = {v}\n" for k, v in rules.items() if v is not None)
    changed = [name for name, text in files.items() if (folder / name).is_file() and not _same(folder / name, text)]
    if changed and not force:
        raise StepgradError(f"{', '.join(changed)} already there with other contents (edited by hand, or another "
                            "exercise); use --force to replace, or another folder", where=str(folder))
    for name, text in files.items():
        write_atomic(folder / name, text)
    if pdf:
        from .tikz import pdf as compile_pdf

        compile_pdf(exercise.sheet("latex", diagram="tikz"), folder / "sheet.pdf")
        files["sheet.pdf"] = ""
    note(f"wrote {', '.join(files)} to {folder}")
    return ""


def _same(path: Path, text: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False


def _quiz(fmt: str, roster: str | None, seed: int, options: dict[str, Any], min_digits: int | None,
          folder: Path | None, note: Note) -> str:
    """The exercise (or every student's variant) as a quiz in `fmt`; written into `folder` when given."""
    from .exercise import generate
    from .lms import WRITERS
    from .variants import variants

    chosen = [(sid, ex) for sid, _, ex in variants(roster, seed, **options)] if roster else \
        [("", generate(seed=seed, **options))]
    name, writer = WRITERS[fmt]
    data = writer(chosen, min_digits)
    if folder is None:
        if isinstance(data, bytes):
            raise StepgradError("a QTI quiz is a zip file: add -o DIR", where="--format qti")
        return data
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / name, data)
    note(f"wrote {folder / name}")
    return ""


def import_job(model: str, *, layers: str | None = None, activation: str | None = None, loss: str | None = None,
               learning_rate: float | None = None, update_biases: bool | None = None, shared_biases: str = "auto",
               like: str | None = None, fmt: str = "toml", note: Note = _silent) -> str:
    """A PyTorch state_dict file as spec text in `fmt`; what the file lacks comes from the options or `like`."""
    from . import persist
    from .torch_interop import (
        build_network,
        check_layers,
        linear_layers,
        read_state_dict,
    )

    base = load(like) if like else None
    wanted = _layers(layers) or (base.layers if base else None)
    names, weights, biases = linear_layers(read_state_dict(model), model)
    if wanted is not None:
        check_layers(weights, wanted, model, names, "--layers" if layers else f"--like {like}")
    options: dict[str, Any] = {
        "loss": loss or (base.loss if base else "half_squared_error"),
        "learning_rate": learning_rate if learning_rate is not None else (base.learning_rate if base else 0.5),
        "update_biases": update_biases if update_biases is not None else (base.update_biases if base else True),
        "update_order": base.update_order if base else "synchronous",
        "shared_biases": {"auto": "auto", "yes": True, "no": False}[shared_biases],
        "name": base.name if base else "",
    }
    if base is not None:
        options.update(inputs=base.inputs, targets=base.targets)
    acts = _activations(activation, len(weights)) if activation or base is None else base.activations
    net = build_network(weights, biases, acts, source=model, **options)
    if net.inputs is None:
        note("note: the spec has no samples yet; add [[samples]] (or import with --like SPEC) "
             "before `stepgrad explain` or `train`")
    return persist.dumps(net, fmt)


def _layers(value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        layers = [int(n) for n in value.replace(",", "-").split("-")]
    except ValueError:
        layers = []
    if len(layers) < 2 or min(layers) < 1:
        raise StepgradError(f"expected neurons per layer like 2-2-2, got {value!r}", where="--layers")
    return layers


def _activations(value: str | None, depth: int) -> list[str]:
    from .functions import ACTIVATIONS

    names = [a.strip() for a in (value or "sigmoid").split(",") if a.strip()]
    for name in names:
        if name not in ACTIVATIONS:
            raise StepgradError(f"unknown activation {name!r}; choose from {', '.join(ACTIVATIONS)}", where="--activation")
    if len(names) == 1:
        return names * depth
    if len(names) != depth:
        raise StepgradError(f"give one activation or {depth} (one per layer), got {len(names)}", where="--activation")
    return names


# -- check --------------------------------------------------------------------------------------
def check_job(solution: str, *, spec: str | None = None, update_order: str | None = None,
              round_to: int | None = None, fmt: str = "text", digits: int = 9, console: bool = False,
              min_digits: int | None = None, order: str = "derivation", points: str | None = None,
              variants: str | None = None, gradebook: str | None = None, max_work: float | None = None,
              note: Note = _silent) -> tuple[str, bool]:
    """Mark a solution file: (the report in `fmt`, True when nothing is wrong). With `console` a text
    report is printed as a table (at least 140 columns when not a terminal) and "" returned.
    A folder or a .zip of solutions is a class: marked into a gradebook (see classroom.py)."""
    from .check import Rules, check
    from .check import load as load_answers
    from .check.report import render_json, render_text, rich_table

    settings = _check_settings(variants or spec)
    round_to = settings.get("round") if round_to is None else round_to
    rules = Rules(min_digits=settings.get("min_digits") if min_digits is None else min_digits, order=order)
    if Path(solution).is_dir() or solution.lower().endswith(".zip"):
        return _class_job(solution, spec, variants, update_order, round_to, rules, points, gradebook, note)
    from .budget import samples_of

    alternatives = {"the seed deck's network (check without --network)": builtin()} if spec else {}
    net = load_spec(spec)
    cli_budget(max_work).check_trace(net)
    answers = load_answers(solution, lenient=True)
    most = 1000 + 10 * samples_of(net) * (net.parameter_count + sum(net.layers))  # every quantity, many times over
    if len(answers.answers) > most:
        raise StepgradError(f"{len(answers.answers):,} answers, more than this network has quantities "
                            f"(the limit is {most:,}); see `stepgrad names`", where=answers.source)
    report = check(net, answers, update_order=update_order, round_to=round_to, rules=rules,
                   alternatives=alternatives)
    if fmt == "json":
        return render_json(report) + "\n", report.ok
    if not console:
        return render_text(report, digits), report.ok
    from rich.console import Console

    screen = Console(highlight=False)
    if not screen.is_terminal:
        screen = Console(highlight=False, width=max(screen.width, 140))
    screen.print(rich_table(report, digits))
    return "", report.ok


def _check_settings(spec: str | None) -> dict[str, Any]:
    """[check] min_digits / round from the exercise's check.toml beside the network spec (or in the variants folder)."""
    if spec is None:
        return {}
    here = Path(spec) if Path(spec).is_dir() else Path(spec).parent
    # beside the network, or at the top of a roster's folder (students/<id>/network.toml)
    path = next((p for p in (here / "check.toml", here.parent.parent / "check.toml")
                 if p.is_file() and (p.parent == here or here.parent.name == "students")), None)
    if path is None:
        return {}
    import tomllib

    from .files import read_text

    try:
        table = tomllib.loads(read_text(path)).get("check", {})
    except tomllib.TOMLDecodeError as exc:
        raise StepgradError(f"not valid TOML: {exc}", where=str(path)) from None
    for key, value in table.items():
        if key not in ("min_digits", "round") or not isinstance(value, int) or not 0 <= value <= 17:
            raise StepgradError(f"[check] {key}: expected min_digits or round, a whole number 0..17", where=str(path))
    return table


def _class_job(folder: str, spec: str | None, variants: str | None, update_order: str | None,
               round_to: int | None, rules: Any, points: str | None, gradebook: str | None,
               note: Note) -> tuple[str, bool]:
    """Mark a class; writes the gradebook and feedback; (a one-line summary, True: the class was marked)."""
    from .classroom import mark_class, points_scheme
    from .variants import network_for

    net = load_spec(spec)
    pick = network_for(variants) if variants else (lambda student: net)
    book = mark_class(folder, pick, update_order=update_order, round_to=round_to, rules=rules,
                      scheme=points_scheme(points))
    target = gradebook or str(Path(folder.rstrip("/")).with_suffix("")) + "-marked"
    written = book.write(target)
    note(f"wrote {', '.join(written)}")
    passed = sum(bool(r.report and r.report.ok) for r in book.rows)
    return f"{len(book.rows)} solutions marked, {passed} passed; gradebook in {target}\n", True


# -- serve --------------------------------------------------------------------------------------
def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: addresses only this machine can reach."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_job(spec: str | None, *, host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False,
              allow_hosts: Sequence[str] = (), max_work: float | None = None, time_limit: float | None = None,
              note: Note = _silent) -> None:
    """Serve the explorer for `spec` until interrupted (needs the [web] extra). Requests must name
    a loopback host, `host` or one of `allow_hosts` ("*" for any); each training request may ask
    for `max_work` multiply-adds and run `time_limit` seconds (defaults: stepgrad.web.app's)."""
    net = load_spec(spec)
    try:
        import uvicorn

        from .web.app import create_app
    except ModuleNotFoundError as exc:
        raise StepgradError(f"stepgrad serve needs the web extra ({exc.name} is missing): "
                            "pip install 'stepgrad[web]'") from None
    if not is_loopback(host):
        note(f"stepgrad: warning: listening on {host}, not loopback: other machines can reach this "
             "server (it has no authentication)")
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{port}/"
    note(f"stepgrad explorer on {url} (Ctrl-C to stop)")
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    settings: dict[str, Any] = {"host": host, "allow_hosts": tuple(allow_hosts)}
    if max_work is not None:
        settings["max_work"] = max_work
    if time_limit is not None:
        settings["time_limit"] = time_limit
    uvicorn.run(create_app(net, **settings), host=host, port=port, log_level="warning")


# -- graph --------------------------------------------------------------------------------------
GRAPH_FORMATS = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".pdf": "pdf", ".png": "png"}


def graph_job(spec: str | None, *, output: str | None = None, only: str | None = None, sample: int | None = None,
              digits: int = 6, update_order: str | None = None, note: Note = _silent) -> str:
    """The step's computation graph: DOT text to show, or (for .svg/.pdf/.png) written to `output` by Graphviz."""
    from .explain import explain
    from .graph import computation_graph

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

