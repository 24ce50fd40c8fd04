"""The network spec: what the network is, read from TOML or JSON (one schema) or built in Python.

This module owns the file schema, saved networks included: every key, `format_version`, the
`[training]` table (a typed TrainingState) and the `[history]` table are read and checked here;
persist.py writes them.

    >>> net = Network.from_dict({"layers": [2, 2, 2], "weights": [[[0.15, 0.2], [0.25, 0.3]],
    ...     [[0.4, 0.45], [0.5, 0.55]]], "biases": [0.35, 0.6],
    ...     "samples": [{"inputs": [0.05, 0.1], "targets": [0.01, 0.99]}]})

Weights are one matrix per layer, a row per neuron and a column per input to it. A bias given as
one number is shared by the layer (the seed deck's b1, b2); a list gives one bias per neuron.
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from stepgrad.core import hooks
from stepgrad.core.errors import SpecError
from stepgrad.core.functions import ACTIVATIONS, LOSSES, class_label, target_problem
from stepgrad.core.training_state import UPDATE_ORDERS, TrainingState

if TYPE_CHECKING:
    from stepgrad.core.trace import Trace

__all__ = ["FORMAT_VERSION", "UPDATE_ORDERS", "Network", "TrainingState", "builtin", "load", "loads", "parse"]
INITIALIZERS = ("xavier", "he", "uniform")
KNOWN_KEYS = {
    "layers", "activation", "activations", "loss", "learning_rate", "update_biases", "update_order",
    "weights", "biases", "samples", "seed", "init", "name", "format_version", "training", "data",
    "history", "reduction", "torch", "update_weights",
}
REDUCTIONS = ("mean", "sum")  # E_total of a batch: the mean (stepgrad's, PyTorch's default) or the sum over samples
FORMAT_VERSION = 1
MAX_PARAMETERS = 10**7  # weights and biases (80 MB): refused before the arrays are made
MAX_DEPTH = 32  # nesting of lists and tables in a spec file; the schema itself needs 4


@dataclass
class Network:
    """A small feed-forward network with its training samples. Arrays are float64 numpy."""

    layers: list[int]
    activations: list[str]
    loss: str = "half_squared_error"
    learning_rate: float = 0.5
    update_biases: bool = False
    update_order: str = "synchronous"
    weights: list[np.ndarray] = field(default_factory=list)  # W[l]: (layers[l+1], layers[l])
    biases: list[np.ndarray] = field(default_factory=list)  # b[l]: (1,) shared or (layers[l+1],)
    inputs: np.ndarray | None = None  # (samples, layers[0])
    targets: np.ndarray | None = None  # (samples, layers[-1])
    shared_biases: list[bool] | None = None  # per layer: one bias shared by the layer (default: b has 1 entry)
    name: str = ""
    seed: int = 0
    training: TrainingState | None = None  # where training stopped (a trained or saved network)
    extra: dict[str, Any] = field(default_factory=dict)  # the other saved keys (data, history, ...), kept on save
    reduction: str = "mean"  # the batch's E_total: mean or sum over samples (PyTorch's reduction=)
    # per parameter tensor, in optimizer order (every layer's weights, then every layer's biases): whether it trains;
    # None: every weight, and the biases when update_biases is on (`trains()`; a frozen torch parameter is False)
    trainable: list[bool] | None = None

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<spec>") -> Network:
        """Validate a spec dictionary (parsed TOML/JSON) and build the network."""
        return _build(data, source)

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain data (round-trips through from_dict, TOML and JSON)."""
        d: dict[str, Any] = {"layers": list(self.layers)}
        if len(set(self.activations)) == 1:
            d["activation"] = self.activations[0]
        else:
            d["activations"] = list(self.activations)
        flags = self.trains()
        d.update(
            loss=self.loss, learning_rate=self.learning_rate, update_biases=_per_layer(flags[self.depth:]),
            update_order=self.update_order,
            weights=[w.tolist() for w in self.weights],
            biases=[float(b[0]) if self.shared_bias(l) else b.tolist() for l, b in enumerate(self.biases)],
        )
        if self.inputs is not None and self.targets is not None:
            d["samples"] = [
                {"inputs": x.tolist(), "targets": t.tolist()} for x, t in zip(self.inputs, self.targets)
            ]
        if not all(flags[:self.depth]):
            d["update_weights"] = _per_layer(flags[:self.depth])
        if self.name:
            d["name"] = self.name
        if self.reduction != "mean":
            d["reduction"] = self.reduction
        if self.training is not None:
            d["training"] = self.training.to_dict()
        d.update(copy.deepcopy(self.extra))
        return d

    def copy(self) -> Network:
        """A deep copy (weights and samples are not shared)."""
        return copy.deepcopy(self)

    # -- shape helpers ------------------------------------------------------------------------
    @property
    def depth(self) -> int:
        """Number of weight layers (non-input layers)."""
        return len(self.layers) - 1

    def __post_init__(self) -> None:
        """Check a network built directly (from_dict has checked a file's keys already, naming file and key):
        arrays become float64, and a wrong shape or name is one SpecError naming the field."""
        _check_network(self)
        if self.shared_biases is None:
            self.shared_biases = [b.shape == (1,) and n > 1 for b, n in zip(self.biases, self.layers[1:])]
        elif len(self.shared_biases) != self.depth:
            raise SpecError(f"expected {self.depth} entries, one per non-input layer", where="Network.shared_biases")
        _check_trainable(self)

    def trains(self) -> list[bool]:
        """Per parameter tensor, in optimizer order (every layer's weights, then every layer's biases): whether the
        step moves it. A tensor that does not train keeps its value (its gradient is still computed and shown)."""
        if self.trainable is not None:
            return list(self.trainable)
        return [True] * self.depth + [bool(self.update_biases)] * self.depth

    @property
    def partly_frozen(self) -> bool:
        """Whether some weights are held fixed, or some biases train and others not (per-tensor flags in use)."""
        return self.trainable is not None

    def shared_bias(self, layer: int) -> bool:
        """True when weight layer `layer` (0-based) has one bias shared by all its neurons."""
        return bool(self.shared_biases[layer])  # type: ignore[index]

    @property
    def parameter_count(self) -> int:
        return sum(w.size for w in self.weights) + sum(b.size for b in self.biases)

    def require_samples(self, source: str = "<spec>") -> tuple[np.ndarray, np.ndarray]:
        if self.inputs is None or self.targets is None or len(self.inputs) == 0:
            raise SpecError("no samples: add [[samples]] with inputs and targets", where=f"{source}: samples")
        return self.inputs, self.targets

    # -- conveniences: implemented by the layers above, plugged in through core.hooks ------------
    def _repr_svg_(self) -> str:
        """Jupyter shows the network as its diagram (stepgrad.pictures)."""
        return hooks.call("network.svg", self)

    def explain(self, sample: int | None = None, update_order: str | None = None) -> Trace:
        """The step-by-step trace of one training step (all samples, or just `sample`, 0-based): `stepgrad.explain`."""
        return hooks.call("network.explain", self, sample=sample, update_order=update_order)

    def train(self, iterations: int, update_order: str | None = None, every: int = 1) -> Any:
        """Train a copy for `iterations` full-batch steps; returns a History (with .network): `stepgrad.train`."""
        return hooks.call("network.train", self, iterations, update_order=update_order, every=every)


def _check_network(net: Network) -> None:
    """Network(...)'s checks: the shapes follow `layers`, names are in the registries, numbers are usable."""
    def fail(field: str, message: str) -> NoReturn:
        raise SpecError(message, where=f"Network.{field}")

    layers = net.layers
    if (not isinstance(layers, (list, tuple)) or len(layers) < 2
            or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1 for n in layers)):
        fail("layers", f"expected a list of at least 2 positive integers, got {_short(layers)}")
    net.layers = [int(n) for n in layers]
    depth = len(layers) - 1
    if not isinstance(net.activations, (list, tuple)) or len(net.activations) != depth:
        fail("activations", f"expected {depth} activation names, one per non-input layer, got {_short(net.activations)}")
    for l, name in enumerate(net.activations):
        if not isinstance(name, str) or name not in ACTIVATIONS:
            fail(f"activations[{l}]", f"unknown activation {_short(name)}; choose from {', '.join(ACTIVATIONS)}")
        if not ACTIVATIONS[name].hidden_ok and l < depth - 1:
            fail(f"activations[{l}]", f"{name} is allowed only in the output layer")
    if not isinstance(net.loss, str) or net.loss not in LOSSES:
        fail("loss", f"unknown loss {_short(net.loss)}; choose from {', '.join(LOSSES)}")
    problem = LOSSES[net.loss].problem(net.activations[-1])
    if problem:
        fail("loss", str(problem))
    rate = net.learning_rate
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0:
        fail("learning_rate", f"expected a positive number, got {_short(rate)}")
    if not isinstance(net.update_biases, bool):
        fail("update_biases", f"expected True or False, got {_short(net.update_biases)}")
    if net.update_order not in UPDATE_ORDERS:
        fail("update_order", f"expected one of {', '.join(UPDATE_ORDERS)}, got {_short(net.update_order)}")
    if net.reduction not in REDUCTIONS:
        fail("reduction", f"expected one of {', '.join(REDUCTIONS)}, got {_short(net.reduction)}")
    if not isinstance(net.weights, (list, tuple)) or len(net.weights) != depth:
        got = len(net.weights) if isinstance(net.weights, (list, tuple)) else _short(net.weights)
        fail("weights", f"expected {depth} matrices, one per non-input layer (rows: neurons, columns: inputs), got {got}")
    net.weights = [_array(w, f"weights[{l}]", (layers[l + 1], layers[l])) for l, w in enumerate(net.weights)]
    if not isinstance(net.biases, (list, tuple)) or len(net.biases) != depth:
        got = len(net.biases) if isinstance(net.biases, (list, tuple)) else _short(net.biases)
        fail("biases", f"expected {depth} arrays, one per non-input layer (1 entry: shared), got {got}")
    net.biases = [_array(b, f"biases[{l}]", (layers[l + 1],), shared=True) for l, b in enumerate(net.biases)]
    if (net.inputs is None) != (net.targets is None):
        fail("inputs" if net.inputs is None else "targets", "give inputs and targets together, or neither")
    if net.inputs is not None and net.targets is not None:
        net.inputs = _array(net.inputs, "inputs", (-1, layers[0]))
        net.targets = _array(net.targets, "targets", (len(net.inputs), layers[-1]))


def _check_trainable(net: Network) -> None:
    """Network.trainable: 2 x depth flags agreeing with update_biases (on exactly when some bias trains); the
    default flags (every weight, biases as update_biases) become None, so a network without frozen parts has none."""
    flags, depth = net.trainable, net.depth
    if flags is None:
        return
    if (not isinstance(flags, (list, tuple)) or len(flags) != 2 * depth
            or not all(isinstance(f, (bool, np.bool_)) for f in flags)):
        raise SpecError(f"expected {2 * depth} true/false values: every layer's weights, then every layer's biases",
                        where="Network.trainable")
    flags = [bool(f) for f in flags]
    if any(flags[depth:]) != net.update_biases:
        raise SpecError(f"update_biases is {net.update_biases} but {'some' if any(flags[depth:]) else 'no'} bias "
                        "trains here", where="Network.trainable")
    net.trainable = None if flags == [True] * depth + [net.update_biases] * depth else flags


def _per_layer(flags: list[bool]) -> bool | list[bool]:
    """One true/false for every layer when they agree, else the list (the spec's update_weights/update_biases)."""
    return flags[0] if len(set(flags)) == 1 else list(flags)


def _flags(data: dict[str, Any], key: str, default: bool, depth: int, source: str) -> list[bool]:
    """The spec's `update_weights` / `update_biases`: one true/false for every layer, or a list of one per layer."""
    value = data.get(key, default)
    if isinstance(value, bool):
        return [value] * depth
    if not isinstance(value, list) or len(value) != depth or not all(isinstance(v, bool) for v in value):
        raise SpecError(f"expected true or false, or a list of {depth} (one per non-input layer), got {_short(value)}",
                        where=f"{source}: {key}")
    return list(value)


def _array(value: Any, field: str, shape: tuple[int, ...], shared: bool = False) -> np.ndarray:
    """`value` as a float64 array of `shape` (-1: any length; `shared`: a single entry is allowed too)."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise SpecError(f"expected numbers of shape {shape}, got {_short(value)}", where=f"Network.{field}") from None
    fits = array.ndim == len(shape) and all(want in (-1, got) for want, got in zip(shape, array.shape))
    if not fits and not (shared and array.shape == (1,)):
        wanted = " x ".join("any" if n == -1 else str(n) for n in shape) + (" (or 1: shared)" if shared else "")
        raise SpecError(f"expected shape {wanted}, got {' x '.join(map(str, array.shape)) or 'a single number'}",
                        where=f"Network.{field}")
    return array


# ------------------------------------------------------------------------------------------------
# loading


def builtin(name: str = "mazur") -> Network:
    """A network shipped with stepgrad; `mazur` is the seed deck's 2-2-2 network."""
    try:
        text = resources.files("stepgrad.examples").joinpath(f"{name}.toml").read_text()
    except FileNotFoundError:
        raise SpecError(f"no built-in network named {name!r}") from None
    return loads(text, fmt="toml", source=f"<built-in {name}>")


def load(path: str | Path) -> Network:
    """Read a spec from a .toml or .json file (the extension picks the parser)."""
    from stepgrad.core.files import read_text

    p = Path(path)
    text = read_text(p, SpecError)
    fmt = "json" if p.suffix.lower() == ".json" else "toml"
    return loads(text, fmt=fmt, source=str(p))


def loads(text: str, fmt: str = "toml", source: str = "<spec>") -> Network:
    """Parse spec text in `fmt` ("toml" or "json") and build the network."""
    return Network.from_dict(parse(text, fmt, source), source)


def parse(text: str, fmt: str, source: str) -> dict[str, Any]:
    """Spec text to a dictionary; syntax errors become one SpecError line with the line number."""
    if fmt == "json":
        try:
            data = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=unique_keys)
        except json.JSONDecodeError as exc:
            raise SpecError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", where=source) from None
        except ValueError as exc:
            raise SpecError(str(exc), where=source) from None
        except RecursionError:
            raise SpecError(f"nested more than {MAX_DEPTH} levels deep", where=source) from None
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(f"not valid TOML: {exc}", where=source) from None
        except RecursionError:
            raise SpecError(f"nested more than {MAX_DEPTH} levels deep", where=source) from None
    if not isinstance(data, dict):
        raise SpecError("the spec must be a table/object at the top level", where=source)
    check_depth(data, source)
    return data


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json.loads' object hook: a key given twice is an error, not the last one silently winning."""
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise ValueError(f"the key {key!r} is given twice")
        data[key] = value
    return data


def check_depth(data: Any, source: str, limit: int = MAX_DEPTH) -> None:
    """SpecError when lists and tables nest deeper than `limit`, or a text holds a lone surrogate
    (which no file or terminal can show); checked without recursion."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            raise SpecError(f"nested more than {limit} levels deep", where=source)
        if isinstance(value, dict):
            for key in value:
                _check_text(key, source)
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, (list, dict, str)))
        elif isinstance(value, str):
            _check_text(value, source)


def _check_text(text: str, source: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SpecError(f"text with a lone surrogate ({text[exc.start]!r}) is not text", where=source) from None


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number a network can use")


def _closest(word: str, choices) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"expected a number, got {_short(value)}", where=where)
    try:
        number = float(value)
    except OverflowError:
        raise SpecError("the number is too large for a float", where=where) from None
    if not math.isfinite(number):
        raise SpecError(f"{value} is not a finite number", where=where)
    return number


def sample_tables(data: dict[str, Any], source: str) -> list[tuple[str, dict[str, Any]]]:
    """The spec's `samples` list checked as {inputs, targets} tables, each with where it is (for error lines)."""
    samples = data["samples"]
    if not isinstance(samples, list) or not samples:
        raise SpecError("expected a non-empty list of {inputs, targets} tables", where=f"{source}: samples")
    tables = []
    for s, sample in enumerate(samples):
        where = f"{source}: samples[{s}]"
        if not isinstance(sample, dict):
            raise SpecError("expected a table with inputs and targets", where=where)
        for k in sample:
            if k not in ("inputs", "targets"):
                raise SpecError(f"unknown key {k!r}", where=f"{where}.{k}")
        for k in ("inputs", "targets"):
            if k not in sample:
                raise SpecError(f"missing key {k!r}", where=f"{where}.{k}")
        tables.append((where, sample))
    return tables


def _vector(value: Any, length: int, where: str, what: str) -> np.ndarray:
    if not isinstance(value, list):
        raise SpecError(f"expected a list of {length} numbers ({what}), got {_short(value)}", where=where)
    if len(value) != length:
        raise SpecError(f"expected {length} numbers ({what}), got {len(value)}", where=where)
    return np.array([_number(v, f"{where}[{i}]") for i, v in enumerate(value)], dtype=np.float64)


LAYER_TABLE_READERS = "stepgrad explain, names, check and train; in Python stepgrad.load_layers"


def has_layer_tables(data: Any) -> bool:
    """Whether a parsed spec's `layers` holds a table (conv2d, maxpool, ...): a layer-table network (core/layers)."""
    layers = data.get("layers") if isinstance(data, dict) else None
    return isinstance(layers, list) and any(isinstance(layer, dict) for layer in layers)


def _build(data: dict[str, Any], source: str) -> Network:
    if not isinstance(data, dict):
        raise SpecError("the spec must be a table/object at the top level", where=source)
    check_depth(data, source)
    if has_layer_tables(data):  # read by core/layers/spec.py; everything reading a Network refuses it here
        kinds = sorted({str(layer.get("type")) for layer in data["layers"] if isinstance(layer, dict)} - {"input", "sequence"})
        raise SpecError(f"layer tables ({', '.join(kinds)}) are not supported here yet: this reads networks of "
                        f"dense layer sizes (layers = [2, 2, 2]); layer tables are read by {LAYER_TABLE_READERS}",
                        where=f"{source}: layers")
    for key in data:
        if key not in KNOWN_KEYS:
            raise SpecError(f"unknown key {key!r}{_closest(key, KNOWN_KEYS)}", where=f"{source}: {key}")
    version = data.get("format_version", FORMAT_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise SpecError(f"expected a whole number >= 1, got {_short(version)}", where=f"{source}: format_version")
    if version > FORMAT_VERSION:
        raise SpecError(
            f"this file has format_version {version}, newer than this stepgrad reads ({FORMAT_VERSION}); upgrade stepgrad",
            where=f"{source}: format_version",
        )
    training = TrainingState.from_dict(data["training"], source) if "training" in data else None
    if training is not None and training.optimizer is not None:  # as strict as the spec: no surprise when resuming
        from stepgrad.core.optim import OptimizerState

        OptimizerState.from_dict(training.optimizer, where=f"{source}: training.optimizer")
    if "history" in data:
        _check_history(data["history"], source)
    if "layers" not in data:
        raise SpecError("missing key 'layers' (neurons per layer, inputs first, e.g. [2, 2, 2])", where=f"{source}: layers")
    layers = data["layers"]
    if (
        not isinstance(layers, list) or len(layers) < 2
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in layers)
    ):
        raise SpecError(f"expected a list of at least 2 positive integers, got {_short(layers)}", where=f"{source}: layers")
    depth = len(layers) - 1
    parameters = sum(a * b + b for a, b in zip(layers, layers[1:]))
    if parameters > MAX_PARAMETERS:
        raise SpecError(f"network too large: {parameters:,} weights and biases, the limit is {MAX_PARAMETERS:,}",
                        where=f"{source}: layers")

    if "activation" in data and "activations" in data:
        raise SpecError("give either 'activation' or 'activations', not both", where=f"{source}: activations")
    if "activations" in data:
        acts = data["activations"]
        key = "activations"
        if not isinstance(acts, list) or len(acts) != depth:
            raise SpecError(f"expected a list of {depth} activation names, one per non-input layer", where=f"{source}: activations")
    else:
        act = data.get("activation", "sigmoid")
        key = "activation"
        acts = [act] * depth
    for l, a in enumerate(acts):
        where = f"{source}: {key}" + (f"[{l}]" if key == "activations" else "")
        if not isinstance(a, str) or a not in ACTIVATIONS:
            hint = _closest(a if isinstance(a, str) else "", ACTIVATIONS)
            raise SpecError(f"unknown activation {_short(a)}{hint}; choose from {', '.join(ACTIVATIONS)}", where=where)
        if not ACTIVATIONS[a].hidden_ok and l < depth - 1:
            raise SpecError(f"{a} is allowed only in the output layer", where=where)

    loss = data.get("loss", "half_squared_error")
    if not isinstance(loss, str) or loss not in LOSSES:
        hint = _closest(loss if isinstance(loss, str) else "", LOSSES)
        raise SpecError(f"unknown loss {_short(loss)}{hint}; choose from {', '.join(LOSSES)}", where=f"{source}: loss")
    entry = LOSSES[loss]
    if entry.problem(acts[-1]):
        raise SpecError(str(entry.problem(acts[-1])), where=f"{source}: loss")

    learning_rate = _number(data.get("learning_rate", 0.5), f"{source}: learning_rate")
    if learning_rate <= 0:
        raise SpecError("must be positive", where=f"{source}: learning_rate")
    trainable = _flags(data, "update_weights", True, depth, source) + _flags(data, "update_biases", False, depth, source)
    if not any(trainable):
        raise SpecError("no weight and no bias trains: nothing would change", where=f"{source}: update_weights")
    update_biases = any(trainable[depth:])
    update_order = data.get("update_order", "synchronous")
    if update_order not in UPDATE_ORDERS:
        raise SpecError(f"expected one of {', '.join(UPDATE_ORDERS)}, got {_short(update_order)}", where=f"{source}: update_order")
    reduction = data.get("reduction", "mean")
    if reduction not in REDUCTIONS:
        raise SpecError(f"expected one of {', '.join(REDUCTIONS)}, got {reduction!r}", where=f"{source}: reduction")
    seed = data.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**64:
        raise SpecError(f"expected a whole number from 0 to 2**64 - 1, got {_short(seed)}", where=f"{source}: seed")
    init = data.get("init", "xavier")
    if init not in INITIALIZERS:
        raise SpecError(f"expected one of {', '.join(INITIALIZERS)}, got {_short(init)}", where=f"{source}: init")

    if "weights" in data:
        ws = data["weights"]
        if not isinstance(ws, list) or len(ws) != depth:
            raise SpecError(f"expected {depth} matrices, one per non-input layer", where=f"{source}: weights")
        weights = []
        for l, w in enumerate(ws):
            rows, cols = layers[l + 1], layers[l]
            where = f"{source}: weights[{l}]"
            if not isinstance(w, list) or len(w) != rows:
                got = len(w) if isinstance(w, list) else repr(w)
                raise SpecError(f"expected {rows} rows (one per neuron of layer {l + 1}), got {got}", where=where)
            weights.append(np.stack([
                _vector(r, cols, f"{where}[{j}]", "one per input to the neuron") for j, r in enumerate(w)
            ]))
    else:
        rng = np.random.default_rng(seed)  # only here: numpy.random costs start-up time
        weights = [_initial(init, rng, layers[l + 1], layers[l]) for l in range(depth)]

    if "biases" in data:
        bs = data["biases"]
        if not isinstance(bs, list) or len(bs) != depth:
            raise SpecError(f"expected {depth} entries, one per non-input layer (a number = shared, a list = per neuron)",
                            where=f"{source}: biases")
        biases = []
        for l, b in enumerate(bs):
            where = f"{source}: biases[{l}]"
            if isinstance(b, list):
                biases.append(_vector(b, layers[l + 1], where, "one per neuron"))
            else:
                biases.append(np.array([_number(b, where)]))
    else:
        biases = [np.zeros(layers[l + 1]) for l in range(depth)]
    shared = [not isinstance(b, list) for b in data.get("biases", [[]] * depth)]

    inputs = targets = None
    if "samples" in data:
        xs, ts = [], []
        for where, sample in sample_tables(data, source):
            xs.append(_vector(sample["inputs"], layers[0], f"{where}.inputs", "one per input neuron"))
            ts.append(_vector(class_label(sample["targets"], layers[-1], loss, acts[-1], f"{where}.targets"),
                              layers[-1], f"{where}.targets", "one per output neuron"))
        inputs, targets = np.stack(xs), np.stack(ts)
        problem = target_problem(loss, acts[-1], targets)
        if problem:
            raise SpecError(problem, where=f"{source}: samples")

    extra: dict[str, Any] = {k: copy.deepcopy(data[k]) for k in ("data", "format_version", "history") if k in data}
    if "torch" in data:  # the PyTorch model the weights came from (core/torch_record.py)
        from stepgrad.core.torch_record import check

        extra["torch"] = check(data["torch"], depth, source)
    if "seed" in data:
        extra["seed"] = seed
    if "init" in data:
        extra["init"] = init
    net = Network(
        layers=list(layers), activations=list(acts), loss=loss, learning_rate=learning_rate,
        update_biases=update_biases, update_order=update_order, weights=weights, biases=biases,
        inputs=inputs, targets=targets, shared_biases=shared, name=str(data.get("name", "")),
        seed=seed, training=training, extra=extra, reduction=reduction, trainable=trainable,
    )
    return net


def target_warnings(net: Network) -> list[str]:
    """Targets the output activation cannot reach (a sigmoid target of 2), and softmax targets that do
    not sum to 1: training still runs, toward the nearest reachable output, but that is rarely meant.

        >>> target_warnings(Network.from_dict({"layers": [1, 1], "samples": [{"inputs": [0], "targets": [2]}]}))
        ['sample 1: target 2 of o1 is outside what sigmoid outputs can reach (0 to 1)']
    """
    if net.targets is None:
        return []
    name = net.activations[-1]
    probe = np.array([[-1e6, 1e6], [-50.0, 50.0], [0.0, 0.0]])  # the extremes of each output
    with np.errstate(all="ignore"):
        reach = ACTIVATIONS[name].forward(probe)
    low, high = float(np.nanmin(reach)), float(np.nanmax(reach))
    found = []
    for k, row in enumerate(net.targets):
        outside = [(j, t) for j, t in enumerate(row) if t < low - 1e-12 or t > high + 1e-12]
        if outside:
            j, t = outside[0]
            span = f"{low:g} to {high:g}" if high < 1e5 else f"{low:g} and up"
            found.append(f"sample {k + 1}: target {t:g} of o{j + 1} is outside what {name} outputs can reach ({span})")
        elif name == "softmax" and abs(row.sum() - 1.0) > 1e-9:
            found.append(f"sample {k + 1}: softmax outputs sum to 1 but these targets sum to {row.sum():g}")
    return found[:3]


def _short(value: Any, limit: int = 60) -> str:
    """repr(value), cut to `limit` characters (a huge number or list stays one short line)."""
    if isinstance(value, int) and abs(value) >= 10**50:  # repr of a 5,000-digit integer is an error itself
        return f"an integer of about {int(value.bit_length() * 0.30103)} digits"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _check_history(history: Any, source: str) -> None:
    """The `[history]` table of a saved network: equal-length lists `iteration` and `E_total`."""
    where = f"{source}: history"
    if not isinstance(history, dict) or set(history) != {"iteration", "E_total"}:
        raise SpecError("expected a table with the lists 'iteration' and 'E_total'", where=where)
    its, errors = history["iteration"], history["E_total"]
    if not isinstance(its, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in its):
        raise SpecError("expected a list of whole numbers", where=f"{where}.iteration")
    if not isinstance(errors, list) or not all(
        isinstance(e, (int, float)) and not isinstance(e, bool) and math.isfinite(e) for e in errors
    ):
        raise SpecError("expected a list of finite numbers", where=f"{where}.E_total")
    if len(its) != len(errors):
        raise SpecError(f"'iteration' has {len(its)} entries but 'E_total' has {len(errors)}", where=where)


def _initial(init: str, rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    if init == "xavier":
        limit = math.sqrt(6.0 / (rows + cols))
    elif init == "he":
        limit = math.sqrt(6.0 / cols)
    else:
        limit = 0.5
    return rng.uniform(-limit, limit, size=(rows, cols))
