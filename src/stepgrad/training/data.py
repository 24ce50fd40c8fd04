"""Training data: samples from the spec, a CSV file, an .npz file, or a bundled data set.

    >>> data = load_data("xor")
    >>> data.inputs.shape, data.targets.shape
    ((4, 2), (4, 1))
    >>> train, test = load_data("digits").split(0.2, seed=0)   # needs the [datasets] extra

Every problem with a file is a DataError whose `where` names the file and the row:
`digits.csv, row 7 (line 8), column 'x3': 'abc' is not a number`.

Conventions: inputs and targets are float64 arrays with one sample per row. A label column
becomes one-hot targets, one column per class (the classes sorted, or given).
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from stepgrad.core.errors import DataError
from stepgrad.core.files import read_text

BUNDLED = ("xor", "digits", "sequence_sums")
# what a CSV cell may hold (nan and inf are then refused as "not a finite number")
NUMBER = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|nan|inf|infinity)", re.IGNORECASE)
MAX_NPZ_BYTES = 512 * 1024 * 1024  # an array unpacked from an .npz (a small file can unpack to gigabytes)


@dataclass
class Dataset:
    """Samples in rows: inputs (n, features) and targets (n, outputs); `classes` names one-hot columns."""

    inputs: np.ndarray
    targets: np.ndarray
    name: str = ""
    input_names: list[str] = field(default_factory=list)
    target_names: list[str] = field(default_factory=list)
    classes: list[str] | None = None  # set when the targets are one-hot labels

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def task(self) -> str:
        """'multiclass' (one-hot targets), 'binary' (one 0/1 target) or 'regression'."""
        t = self.targets
        if t.shape[1] > 1 and np.all((t == 0) | (t == 1)) and np.all(t.sum(axis=1) == 1):
            return "multiclass"
        if t.shape[1] == 1 and np.all((t == 0) | (t == 1)):
            return "binary"
        return "regression"

    def split(self, test_fraction: float, seed: int = 0) -> tuple[Dataset, Dataset | None]:
        """(train, test): a seeded random `test_fraction` of the rows held out (None when 0)."""
        n_test = int(round(len(self) * test_fraction))
        if n_test <= 0:
            return self, None
        if n_test >= len(self):
            raise DataError(f"--test-fraction {test_fraction} leaves no training rows ({len(self)} rows)", where=self.name)
        order = np.random.default_rng(seed).permutation(len(self))
        test, train = order[:n_test], order[n_test:]
        return self.take(train), self.take(test)

    def take(self, rows: np.ndarray) -> Dataset:
        """The rows `rows` (indices) as a new data set."""
        return replace(self, inputs=self.inputs[rows], targets=self.targets[rows])

    def standardizer(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, scale) per input column; a constant column keeps scale 1."""
        mean = self.inputs.mean(axis=0)
        scale = self.inputs.std(axis=0)
        scale[scale == 0] = 1.0
        return mean, scale

    def standardized(self, mean: np.ndarray, scale: np.ndarray) -> Dataset:
        """Inputs shifted by `mean` and divided by `scale` (take both from the training part)."""
        return replace(self, inputs=(self.inputs - mean) / scale)


def load_data(source: str, *, inputs: list[str] | None = None, targets: list[str] | None = None,
              label: str | None = None, classes: list[str] | None = None) -> Dataset:
    """A bundled data set by name (xor, digits, sequence_sums), or a .csv / .npz file."""
    if source in BUNDLED and not Path(source).exists():
        return bundled(source)
    path = Path(source)
    if path.suffix.lower() == ".npz":
        return from_npz(path, label=label, classes=classes)
    if path.suffix.lower() in (".csv", ".txt", ".tsv") or path.exists():
        return from_csv(path, inputs=inputs, targets=targets, label=label, classes=classes)
    raise DataError(f"no such file or bundled data set (bundled: {', '.join(BUNDLED)})", where=source)


def from_spec(net, source: str = "<spec>") -> Dataset:
    """The spec's own [[samples]]."""
    x, t = net.require_samples(source)
    return Dataset(x, t, source)


def bundled(name: str) -> Dataset:
    """xor (4 samples), digits (scikit-learn's 1,797 8x8 images, pixels scaled to 0..1) or sequence_sums (600
    sequences of 6 numbers from -1 to 1, class 1 "negative" or 2 "positive" by the sign of their sum: a toy
    task for a recurrent layer, read as steps = 6, features = 1)."""
    if name == "xor":
        x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        return Dataset(x, np.array([[0.0], [1.0], [1.0], [0.0]]), "xor", ["a", "b"], ["a_xor_b"])
    if name == "digits":
        try:
            from sklearn.datasets import load_digits
        except ImportError:
            raise DataError("the digits data set ships with scikit-learn: pip install 'stepgrad[datasets]'",
                            where="--data digits") from None
        d = load_digits()
        labels = d.target.astype(int)
        return Dataset(d.data.astype(np.float64) / 16.0, np.eye(10)[labels], "digits",
                       [f"pixel_{r}_{c}" for r in range(8) for c in range(8)], [str(k) for k in range(10)],
                       [str(k) for k in range(10)])
    if name == "sequence_sums":
        rng = np.random.default_rng(2026)  # fixed: the same 600 sequences everywhere
        x = rng.uniform(-1.0, 1.0, (600, 6))
        labels = (x.sum(axis=1) > 0).astype(int)
        return Dataset(x, np.eye(2)[labels], "sequence_sums", [f"step_{t}" for t in range(1, 7)],
                       ["negative", "positive"], ["negative", "positive"])
    raise DataError(f"no bundled data set {name!r} (choose from {', '.join(BUNDLED)})", where="--data")


# -- CSV ------------------------------------------------------------------------------------------


def _where(path: Path, row: int, line: int, column: str | None = None) -> str:
    return f"{path}, row {row} (line {line})" + (f", column {column!r}" if column else "")


def _float(text: str, where: str) -> float:
    try:
        if not NUMBER.fullmatch(text.strip()):  # float() would also take 1_000, "infinity", other scripts' digits
            raise ValueError(text)
        value = float(text)
    except ValueError:
        raise DataError(f"{text.strip()!r} is not a number" if text.strip() else "empty value, expected a number",
                        where=where) from None
    if not math.isfinite(value):
        raise DataError(f"{text.strip()} is not a finite number", where=where)
    return value


def _columns(wanted: list[str], header: list[str], path: Path, option: str) -> list[int]:
    missing = [c for c in wanted if c not in header]
    if missing:
        raise DataError(f"no column named {missing[0]!r} (the header has: {', '.join(header)})",
                        where=f"{path}, header (line 1), {option}")
    return [header.index(c) for c in wanted]


def from_csv(path: str | Path, *, inputs: list[str] | None = None, targets: list[str] | None = None,
             label: str | None = None, classes: list[str] | None = None) -> Dataset:
    """Rows of a CSV file whose header names the columns.

    Targets: the `targets` columns, or one-hot from the `label` column, or else the last column.
    Inputs: the `inputs` columns, or else every other column.
    """
    path = Path(path)
    text = read_text(path, DataError, encoding="utf-8-sig")
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    rows = _csv_rows(text, delimiter, path)
    rows = [(n, r) for n, r in rows if any(cell.strip() for cell in r)]  # blank lines are skipped
    if not rows:
        raise DataError("empty file (expected a header row naming the columns, then one row per sample)", where=str(path))
    header_line, header = rows[0]
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise DataError(f"column {dup!r} appears twice in the header", where=f"{path}, header (line {header_line})")
    if len(rows) == 1:
        raise DataError("no data rows after the header", where=str(path))
    if label is not None and targets:
        raise DataError("give either a label column or target columns, not both", where=str(path))
    if label is not None:
        target_idx = _columns([label], header, path, "--label")
    elif targets:
        target_idx = _columns(targets, header, path, "--targets")
    else:
        target_idx = [len(header) - 1]
    if inputs:
        input_idx = _columns(inputs, header, path, "--inputs")
    else:
        input_idx = [k for k in range(len(header)) if k not in target_idx]
    if not input_idx:
        raise DataError("no input columns left (the header names only the target)", where=str(path))
    both = [header[k] for k in input_idx if k in target_idx]
    if both:
        raise DataError(f"column {both[0]!r} is both an input and a target", where=f"{path}, --inputs")

    xs, ts, labels = [], [], []
    for row, (line, cells) in enumerate(rows[1:], start=1):
        if len(cells) != len(header):
            raise DataError(f"expected {len(header)} values (one per header column), got {len(cells)}",
                            where=_where(path, row, line))
        xs.append([_float(cells[k], _where(path, row, line, header[k])) for k in input_idx])
        if label is not None:
            labels.append((cells[target_idx[0]].strip(), _where(path, row, line, label)))
        else:
            ts.append([_float(cells[k], _where(path, row, line, header[k])) for k in target_idx])
    x = np.array(xs, dtype=np.float64)
    input_names = [header[k] for k in input_idx]
    if label is None:
        return Dataset(x, np.array(ts, dtype=np.float64), str(path), input_names, [header[k] for k in target_idx])
    return _one_hot(x, labels, classes, str(path), input_names)


def _csv_rows(text: str, delimiter: str, path: Path) -> list[tuple[int, list[str]]]:
    """(line, cells) of every CSV record; a quoted cell may span lines (and then is no number)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    try:
        for cells in reader:
            rows.append((reader.line_num, cells))
    except csv.Error as exc:
        raise DataError(f"not valid CSV: {exc}", where=f"{path}, line {reader.line_num}") from None
    return rows


def _one_hot(x: np.ndarray, labels: list[tuple[str, str]], classes: list[str] | None, name: str,
             input_names: list[str]) -> Dataset:
    if classes is None:
        found = sorted({value for value, _ in labels}, key=_label_order)
    else:
        found = list(classes)
        for value, where in labels:
            if value not in found:
                raise DataError(f"label {value!r} is not one of the classes {', '.join(found)}", where=where)
    index = {c: k for k, c in enumerate(found)}
    targets = np.zeros((len(labels), len(found)))
    targets[np.arange(len(labels)), [index[v] for v, _ in labels]] = 1.0
    return Dataset(x, targets, name, input_names, list(found), list(found))


def _label_order(value: str) -> tuple:
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)


# -- .npz -----------------------------------------------------------------------------------------

_INPUT_KEYS = ("inputs", "X", "x")
_TARGET_KEYS = ("targets", "y", "Y", "labels")


def from_npz(path: str | Path, *, label: str | None = None, classes: list[str] | None = None) -> Dataset:
    """Arrays `inputs` (or X, x) and `targets` (or y, labels) of an .npz file; 1-D integer targets are labels."""
    path = Path(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError("no such file", where=str(path)) from None
    except Exception as exc:  # zipfile, pickle and format errors all mean: not a readable .npz
        raise DataError(f"not a readable .npz file ({type(exc).__name__}: {exc})", where=str(path)) from None
    with archive:
        keys = list(archive.files)
        if not keys:
            raise DataError("empty file (no arrays)", where=str(path))
        x_key = next((k for k in _INPUT_KEYS if k in keys), None)
        t_key = label if label is not None else next((k for k in _TARGET_KEYS if k in keys), None)
        if x_key is None or t_key is None or t_key not in keys:
            need = "inputs" if x_key is None else repr(t_key) if t_key else "targets"
            raise DataError(f"no array named {need} (the file has: {', '.join(keys)})", where=str(path))
        for key in (x_key, t_key):
            size = archive.zip.getinfo(f"{key}.npy").file_size if f"{key}.npy" in archive.zip.namelist() else 0
            if size > MAX_NPZ_BYTES:
                raise DataError(f"array {key!r} unpacks to {size:,} bytes, more than the limit of {MAX_NPZ_BYTES:,}",
                                where=str(path))
        try:
            x, t = archive[x_key], archive[t_key]
        except Exception as exc:
            raise DataError(f"cannot read the arrays ({exc})", where=str(path)) from None
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or len(x) == 0:
        raise DataError(f"{x_key} must be a 2-D array with a row per sample, got shape {x.shape}", where=str(path))
    if len(t) != len(x):
        raise DataError(f"{x_key} has {len(x)} rows but {t_key} has {len(t)}", where=str(path))
    x = _numeric(x, x_key, path)
    if t.ndim == 1 and (t.dtype.kind in "iuUSb" or label is not None):
        labels = [(str(v.item() if hasattr(v, "item") else v), f"{path}, row {r + 1}, array {t_key!r}") for r, v in enumerate(t)]
        return _one_hot(x, labels, classes, str(path), [f"x{k + 1}" for k in range(x.shape[1])])
    if t.ndim == 1:
        t = t[:, None]
    t = _numeric(t, t_key, path)
    return Dataset(x, t, str(path), [f"x{k + 1}" for k in range(x.shape[1])], [f"y{k + 1}" for k in range(t.shape[1])])


def _numeric(a: np.ndarray, key: str, path: Path) -> np.ndarray:
    if a.dtype.kind not in "iufb":
        raise DataError(f"array {key!r} holds {a.dtype} values, not numbers", where=str(path))
    a = a.astype(np.float64).reshape(len(a), -1)
    bad = np.argwhere(~np.isfinite(a))
    if bad.size:
        raise DataError(f"{a[bad[0][0], bad[0][1]]} is not a finite number",
                        where=f"{path}, row {bad[0][0] + 1}, array {key!r}")
    return a


def prepare(data: Dataset, test_fraction: float | None = None, seed: int = 0,
            standardize: bool = False) -> tuple[Dataset, Dataset | None]:
    """(train, test): a seeded split (default: 0.2 held out with 20 rows or more, else none) and,
    with `standardize`, every input column scaled by the training rows' mean and spread."""
    fraction = test_fraction if test_fraction is not None else (0.2 if len(data) >= 20 else 0.0)
    train, test = data.split(fraction, seed)
    if standardize:
        mean, scale = train.standardizer()
        train = train.standardized(mean, scale)
        test = test.standardized(mean, scale) if test is not None else None
    return train, test


def check_fits(data: Dataset, layers: list[int], source: str) -> None:
    """DataError unless the data has as many inputs/targets as the network has input/output neurons."""
    if data.inputs.shape[1] != layers[0]:
        raise DataError(f"the network has {layers[0]} inputs but the data has {data.inputs.shape[1]} input columns"
                        f" ({', '.join(data.input_names[:6])}{', ...' if len(data.input_names) > 6 else ''})", where=source)
    if data.targets.shape[1] != layers[-1]:
        raise DataError(f"the network has {layers[-1]} outputs but the data has {data.targets.shape[1]} target columns",
                        where=source)


def spec_source(value, source: str) -> dict:
    """The spec's `data` key as load_data arguments: "digits", "train.csv", or a table
    {source = "train.csv", label = "digit"} (also inputs, targets, classes: lists of column names).
    A relative path is relative to the spec file."""
    if isinstance(value, str):
        value = {"source": value}
    if not isinstance(value, dict) or not isinstance(value.get("source"), str):
        raise DataError('expected a data set name, a file name, or a table with source = "file.csv"',
                        where=f"{source}: data")
    allowed = {"source", "label", "inputs", "targets", "classes", *MEMORY}
    for key in value:
        if key not in allowed:
            raise DataError(f"unknown key {key!r} (allowed: {', '.join(sorted(allowed))})", where=f"{source}: data.{key}")
    args = dict(value)
    path = Path(args["source"])
    if args["source"] not in BUNDLED and not path.is_absolute() and source not in ("<spec>", "<built-in>"):
        args["source"] = str(Path(source).parent / path)
    return args


# -- the data source a saved model remembers --------------------------------------------------------

MEMORY = ("sha256", "test_fraction", "split_seed", "standardize", "batch_size")  # spec `data` keys beside load_data's


def content_hash(source: str) -> str | None:
    """The sha256 of a data file's bytes (None for a bundled data set)."""
    import hashlib

    if source in BUNDLED and not Path(source).exists():
        return None
    return hashlib.sha256(Path(source).read_bytes()).hexdigest()


def remembered(args: dict, test_fraction: float, seed: int, standardize: bool, saved_in: str | None = None,
               batch_size: int | None = None) -> dict:
    """The spec's `data` table for a model trained on load_data(**args): where the data came from
    (a bundled name, or a file path with its sha256), and the split and standardisation it used.
    A file path is written relative to `saved_in` (the saved spec's directory) when it can be."""
    memory = {k: v for k, v in args.items() if v is not None}
    source = str(memory["source"])
    digest = content_hash(source)
    if digest is not None:
        memory["sha256"] = digest
        path = Path(source).resolve()
        if saved_in is not None:
            with contextlib.suppress(ValueError):  # elsewhere on the disk: keep the absolute path
                path = path.relative_to(Path(saved_in).resolve().parent)
        memory["source"] = str(path)
    memory.update(test_fraction=float(test_fraction), split_seed=int(seed), standardize=bool(standardize))
    if batch_size is not None:
        memory["batch_size"] = int(batch_size)
    return memory


def recall(args: dict) -> tuple[dict, dict]:
    """(load_data's arguments, the remembered split: test_fraction, seed, standardize) of a `data` table;
    a DataError when the file's content is no longer what the model was trained on."""
    args = dict(args)
    memory = {k: args.pop(k) for k in MEMORY if k in args}
    expected = memory.pop("sha256", None)
    if expected is not None:
        source = str(args["source"])
        if not Path(source).is_file():
            raise DataError("the data file this model was trained on is gone", where=source)
        if content_hash(source) != expected:
            raise DataError("the data file changed since this model was trained on it (its sha256 differs); "
                            "pass --data to train on the new content", where=source)
    split = {"test_fraction": memory.get("test_fraction"), "seed": memory.get("split_seed"),
             "standardize": memory.get("standardize"), "batch_size": memory.get("batch_size")}
    return args, {k: v for k, v in split.items() if v is not None}


def training_split(data_args: dict) -> tuple[Dataset, dict]:
    """(the training rows, standardised as in training; the remembered split) of a `data` table."""
    args, split = recall(data_args)
    data = load_data(args.pop("source"), **args)
    fraction = split.get("test_fraction")
    train, _ = prepare(data, fraction, int(split.get("seed", 0)), bool(split.get("standardize", False)))
    return train, split
