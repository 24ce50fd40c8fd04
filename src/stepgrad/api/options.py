"""The API's option records: small frozen dataclasses that group a function's options and check them when made.

Each field's default is the one default of that option: the command line reads it from here (through the
API function's signature), so a command and a library call do the same thing with nothing given.

    >>> Display(decimals=3).precision
    Decimals(places=3)
    >>> Display(digits=0)
    Traceback (most recent call last):
    ...
    stepgrad.core.errors.StepgradError: Display.digits: expected a whole number from 1 to 17, got 0
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from stepgrad.core.errors import StepgradError
from stepgrad.formats.formula import Decimals, Precision

__all__ = ["Display", "StepOptions", "Extras", "TrainOptions", "DataSet", "RunFiles", "Marking", "ClassOptions",
           "Problem", "ImportOptions", "AuditOptions", "PackOptions"]


def _where(record: object, name: str) -> str:
    return f"{type(record).__name__}.{name}"


def _whole(record: object, name: str, low: int, high: int | None = None) -> None:
    """The field `name` is None or a whole number from `low` (to `high`)."""
    value = getattr(record, name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        span = f"from {low} to {high}" if high is not None else f">= {low}"
        raise StepgradError(f"expected a whole number {span}, got {value!r}", where=_where(record, name))


def _one_of(record: object, name: str, choices: Iterable[str]) -> None:
    """The field `name` is None or one of `choices`."""
    value, allowed = getattr(record, name), list(choices)
    if value is not None and value not in allowed:
        raise StepgradError(f"expected one of {', '.join(allowed)}, got {value!r}", where=_where(record, name))


def _positive(record: object, name: str, upper: float | None = None) -> None:
    """The field `name` is None or a finite number above 0 (and below `upper`)."""
    import math

    value = getattr(record, name)
    if value is None:
        return
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0
            or (upper is not None and value >= upper)):
        span = f"between 0 and {upper}" if upper is not None else "above 0"
        raise StepgradError(f"expected a number {span}, got {value!r}", where=_where(record, name))


def _text(record: object, name: str) -> None:
    value = getattr(record, name)
    if value is not None and not isinstance(value, str):
        raise StepgradError(f"expected text, got {value!r}", where=_where(record, name))


@dataclass(frozen=True)
class Display:
    """How the numbers are shown: `digits` significant digits, or up to `decimals` decimals as the seed deck
    prints them (replaces `digits`); `console`: the result goes to a terminal, so a text result may be a rich
    table (returned as a renderable or printed) instead of plain text.

        >>> Display(digits=4).precision
        4
    """

    digits: int = 9
    decimals: int | None = None
    console: bool = False

    def __post_init__(self) -> None:
        _whole(self, "digits", 1, 17)
        _whole(self, "decimals", 0, 15)

    @property
    def precision(self) -> Precision:
        """What the writers take: the number of significant digits, or Decimals(n)."""
        return self.digits if self.decimals is None else Decimals(self.decimals)


@dataclass(frozen=True)
class StepOptions:
    """Which training step is explained: the update order (None: the spec's), the optimizer, hand rounding to
    `round_to` decimals, one `sample` (1-based), or rows of a data set (`data`: a name or file; `batch`: the
    0-based mini-batch of the next epoch's shuffle); `dtype` "float32": computed in float32 (None: float64)."""

    update_order: str | None = None
    optimizer: str | None = None  # None: the one a saved network was trained with (and its state), else sgd
    round_to: int | None = None
    sample: int | None = None
    data: str | None = None
    batch: int | None = None
    dtype: str | None = None

    def __post_init__(self) -> None:
        from stepgrad.core.optim import OPTIMIZERS
        from stepgrad.core.spec import UPDATE_ORDERS

        _one_of(self, "update_order", UPDATE_ORDERS)
        _one_of(self, "optimizer", OPTIMIZERS)
        _whole(self, "round_to", 0, 15)
        _whole(self, "sample", 1)
        _whole(self, "batch", 0)
        _one_of(self, "dtype", ("float64", "float32"))
        _text(self, "data")


@dataclass(frozen=True)
class Extras:
    """What the document holds besides the plain derivation, and which part of it.

    `only`: names to derive (stepgrad.tracing.only's rule); `group`: "layer" or "weight" (one weight at a time,
    as the deck tells it); `derive`: how each local derivative is obtained; `deck`: the seed deck's printed
    figure beside each quantity; `check_numeric`: central finite differences beside each gradient; `view`:
    "steps" or "matrix" (vectors and matrices); `train_iterations`: slides train this long for the deck's
    closing table (0 leaves it out); `full`: everything in full (every derivation, not "as for o1"; slides:
    every neuron of a large network); `lecture`: the slides tell the deck's whole story (weight by weight with
    derivations, the error after the update and the training table in both update orders, and for the seed's
    network the deck's own mistakes); None: the lecture exactly when slides of the seed network are asked for
    with no other option.
    """

    only: str | None = None
    group: str = "layer"
    derive: bool = False
    deck: bool = False
    check_numeric: bool = False
    view: str = "steps"
    train_iterations: int = 10_000
    full: bool = False
    lecture: bool | None = None

    def __post_init__(self) -> None:
        from stepgrad.tracing.group import GROUPINGS

        _text(self, "only")
        _one_of(self, "group", GROUPINGS)
        _one_of(self, "view", ("steps", "matrix"))
        _whole(self, "train_iterations", 0)


@dataclass(frozen=True)
class TrainOptions:
    """How a run trains: full-batch `iterations` on the spec's samples, or `epochs` of mini-batches of
    `batch_size` on a data set. None means the spec's (or the saved run's) value, else the documented default:
    `update_order` the spec's ("both" trains once per order), `every` about 100 points (data sets: ~25 rows),
    `epochs` 20 (or 1,000 steps' worth for a tiny data set), `optimizer` a saved network's, else sgd; `seed` a
    saved run's, else 0. `reset_optimizer` resumes a trained network with another optimizer from a fresh state.
    Every run is checked for signs that it learns nothing (stepgrad.training.diagnose), said as warnings;
    with `strict` such a run fails (exit status 1)."""

    iterations: int = 10_000
    update_order: str | None = None
    every: int | None = None
    epochs: int | None = None
    batch_size: int = 32
    optimizer: str | None = None
    learning_rate: float | None = None
    seed: int | None = None
    reset_optimizer: bool = False
    dtype: str | None = None  # None: the spec's [torch] dtype, else float64
    strict: bool = False  # a run that learns nothing (flat error, dead or saturated neurons, divergence) fails

    def __post_init__(self) -> None:
        from stepgrad.core.optim import OPTIMIZERS
        from stepgrad.core.spec import UPDATE_ORDERS

        _whole(self, "iterations", 0)
        _one_of(self, "update_order", (*UPDATE_ORDERS, "both"))
        _whole(self, "every", 1)
        _whole(self, "epochs", 1)
        _whole(self, "batch_size", 1)
        _one_of(self, "optimizer", OPTIMIZERS)
        _positive(self, "learning_rate")
        _whole(self, "seed", 0)
        _one_of(self, "dtype", ("float64", "float32"))


@dataclass(frozen=True)
class DataSet:
    """A data set to train on: `source` (xor, digits, a .csv or .npz file; None: the spec's `data` key, if any),
    its columns (comma-separated names: `inputs`, `targets`, a class `label` one-hot encoded, its `classes` in
    order), the share held out for testing (None: 0.2 with 20 rows or more, else 0) and standardisation."""

    source: str | None = None
    inputs: str | None = None
    targets: str | None = None
    label: str | None = None
    classes: str | None = None
    test_fraction: float | None = None
    standardize: bool = False

    def __post_init__(self) -> None:
        for name in ("source", "inputs", "targets", "label", "classes"):
            _text(self, name)
        value = self.test_fraction
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not 0 <= value < 1):
            raise StepgradError(f"expected a number from 0 up to (not including) 1, got {value!r}",
                                where=_where(self, "test_fraction"))


@dataclass(frozen=True)
class RunFiles:
    """What a training run leaves behind besides its report: the loss curve (`plot`, .png or .svg) and the
    trained network (`save`, .toml or .json, to resume from)."""

    plot: str | None = None
    save: str | None = None

    def __post_init__(self) -> None:
        _text(self, "plot")
        _text(self, "save")


@dataclass(frozen=True)
class Marking:
    """How a solution is marked: against the step in `update_order` (None: the spec's), with every value rounded
    to `round_to` decimals when the sheet asks for hand calculation, at least `min_digits` significant digits
    (None for both: the exercise's check.toml, if any); what a solution must answer to pass (`require`: answers,
    template, none or name patterns); rows in the `order` of the derivation or as given."""

    update_order: str | None = None
    round_to: int | None = None
    min_digits: int | None = None
    require: str | None = None  # what a pass needs: answers, template, none or name patterns (None: check.toml's, else answers)
    order: str = "derivation"

    def __post_init__(self) -> None:
        from stepgrad.core.spec import UPDATE_ORDERS

        _one_of(self, "update_order", UPDATE_ORDERS)
        _whole(self, "round_to", 0, 15)
        _whole(self, "min_digits", 1, 17)
        _text(self, "require")
        _one_of(self, "order", ("derivation", "given"))


@dataclass(frozen=True)
class ClassOptions:
    """Marking a class (a folder or .zip of solutions): the `points` scheme (TOML), the `variants` folder of
    `stepgrad exercise --roster` (each student checked against their own network), the `gradebook` folder,
    `force`: replace a gradebook or feedback already there with other contents (edited by hand), and a
    `roster` (CSV: id, name) giving every student's name (default: the variants folder's keys.csv)."""

    points: str | None = None
    variants: str | None = None
    gradebook: str | None = None
    force: bool = False
    roster: str | None = None

    def __post_init__(self) -> None:
        for name in ("points", "variants", "gradebook", "roster"):
            _text(self, name)


@dataclass(frozen=True)
class Problem:
    """The exercise to generate: `layers` ("2-2-2", inputs first), the hidden `activation` and the output's
    (None: the same), the `loss`, 1 to 4 `samples`, the `seed` (the same seed, the same exercise), the
    `learning_rate` (None: chosen by the seed from 0.5, 0.25, 0.1), hand rounding to `round_to` decimals, and
    the precision the sheet asks for (`min_digits`, written to check.toml for `stepgrad check`).

    A worked sheet instead of the problem alone: a faded worked example with the last `fade` stages blank (0:
    fully worked) or the quantities matching `fade_names` blank ("dE_total/dw*,w*+"), a `fade_sequence` (worked,
    then one more stage blank each, down to the problem), or a worked solution with `find_error` planted mistakes
    (1 to 5; `mistakes`: only these catalogue keys, comma-separated) for the student to find, name and correct.
    With layers "conv", `shape` picks the convention the problem drills (teach/exercise_layers.SHAPES: basic,
    strided, channels, avgpool)."""

    layers: str = "2-2-2"
    activation: str = "sigmoid"
    output_activation: str | None = None
    loss: str = "half_squared_error"
    samples: int = 1
    seed: int = 0
    learning_rate: float | None = None
    round_to: int | None = None
    min_digits: int | None = None
    fade: int | None = None
    fade_names: str | None = None
    fade_sequence: bool = False
    find_error: int | None = None
    mistakes: str | None = None
    shape: str = "basic"

    def __post_init__(self) -> None:
        from stepgrad.core.functions import LOSSES
        from stepgrad.teach.exercise import ACTIVATION_CHOICES, parse_layers

        _whole(self, "fade", 0, 20)
        _text(self, "fade_names")
        _whole(self, "find_error", 1, 5)
        _text(self, "mistakes")
        chosen = [n for n, on in (("fade", self.fade is not None), ("fade_names", self.fade_names is not None),
                                  ("fade_sequence", bool(self.fade_sequence)),
                                  ("find_error", self.find_error is not None)) if on]
        if len(chosen) > 1:
            raise StepgradError(f"choose one kind of worked sheet, got {' and '.join(chosen)}",
                                where=_where(self, chosen[1]))
        if self.mistakes is not None and self.find_error is None:
            raise StepgradError("only with find_error", where=_where(self, "mistakes"))

        _text(self, "layers")
        from stepgrad.teach.exercise_sequences import KINDS as SEQUENCE_KINDS

        if self.layers not in ("conv", *SEQUENCE_KINDS):  # conv: teach/exercise_layers.py; rnn ...: exercise_sequences
            parse_layers(self.layers)
        from stepgrad.teach.exercise_layers import SHAPES

        _one_of(self, "shape", SHAPES)
        if self.shape != "basic" and self.layers != "conv":
            raise StepgradError("a problem shape is for --layers conv only", where=_where(self, "shape"))
        _one_of(self, "activation", ACTIVATION_CHOICES)
        _one_of(self, "output_activation", ("softmax", *ACTIVATION_CHOICES))
        _one_of(self, "loss", LOSSES)
        _whole(self, "samples", 1, 4)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise StepgradError(f"expected a whole number, got {self.seed!r}", where=_where(self, "seed"))
        _positive(self, "learning_rate")
        _whole(self, "round_to", 0, 15)
        _whole(self, "min_digits", 1, 17)

    @property
    def worked(self) -> bool:
        """True when a worked sheet (faded, a fade sequence, find the error) is asked for."""
        return self.fade is not None or self.fade_names is not None or bool(self.fade_sequence) or \
            self.find_error is not None

    def generator_options(self) -> dict[str, Any]:
        """The keywords of stepgrad.teach.exercise.generate (and variants), the seed and min_digits aside."""
        from stepgrad.teach.exercise import parse_layers

        return {"layers": parse_layers(self.layers), "activation": self.activation, "round_to": self.round_to,
                "learning_rate": self.learning_rate, "loss": self.loss, "output": self.output_activation,
                "samples": self.samples}


@dataclass(frozen=True)
class ImportOptions:
    """What a PyTorch state_dict does not hold, for the imported spec (None: from the `like` spec, else the
    default in brackets): `layers` ("2-2-2", checked against the shapes; read from them), `activation` (one, or
    one per layer "tanh,softmax"; sigmoid), `loss` (half_squared_error), `learning_rate` (0.5), `update_biases`
    (True, as PyTorch does); `shared_biases` "auto" gives a layer whose biases are all equal one shared bias;
    `dtype` "float32": the spec's steps are computed in float32, as PyTorch computes a float32 model ([torch]
    dtype; None: float64, every digit exact)."""

    layers: str | None = None
    activation: str | None = None
    loss: str | None = None
    learning_rate: float | None = None
    update_biases: bool | None = None
    shared_biases: str = "auto"
    dtype: str | None = None

    def __post_init__(self) -> None:
        from stepgrad.core.functions import LOSSES

        _text(self, "layers")
        _text(self, "activation")
        _one_of(self, "loss", LOSSES)
        _positive(self, "learning_rate")
        if self.update_biases is not None and not isinstance(self.update_biases, bool):
            raise StepgradError(f"expected True, False or None, got {self.update_biases!r}",
                                where=_where(self, "update_biases"))
        _one_of(self, "shared_biases", ("auto", "yes", "no"))
        _one_of(self, "dtype", ("float64", "float32"))


@dataclass(frozen=True)
class AuditOptions:
    """What `audit` may vary to explain the printed figures (None: every setting the spec and the figures allow):
    `settings`, comma-separated from update_order, reduction, half, update_biases; the report's `fmt` (text,
    markdown, html, json)."""

    settings: str | None = None
    fmt: str = "text"

    def __post_init__(self) -> None:
        _text(self, "settings")
        _one_of(self, "fmt", ("text", "markdown", "html", "json"))
        for name in (self.settings or "").split(","):
            if name.strip() and name.strip() not in ("update_order", "reduction", "half", "update_biases"):
                raise StepgradError(f"expected update_order, reduction, half or update_biases, got {name.strip()!r}",
                                    where=_where(self, "settings"))


@dataclass(frozen=True)
class PackOptions:
    """What a course pack holds: a problem per student of the `roster` (a CSV with an `id` column; None: one
    problem), the `seed`, the stages the faded example leaves blank (`fade`; None: half of them), the mistakes
    planted in the find-the-error sheet (`find_error`), the sheets' format (`fmt`), `pdf` sheets too, and
    `force`: replace files already there with other contents."""

    roster: str | None = None
    seed: int = 0
    fade: int | None = None
    find_error: int = 1
    fmt: str = "markdown"
    pdf: bool = False
    force: bool = False

    def __post_init__(self) -> None:
        _text(self, "roster")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise StepgradError(f"expected a whole number, got {self.seed!r}", where=_where(self, "seed"))
        _whole(self, "fade", 0, 20)
        _whole(self, "find_error", 1, 5)
        _one_of(self, "fmt", ("markdown", "latex", "html", "text"))
