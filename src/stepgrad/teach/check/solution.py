"""Read a hand-computed solution: `name = value` lines, or YAML/JSON with the same names.

    # my homework
    out_h1 = 0.5933
    dE_total/dw5 = .0822        # values as people write them: -0.0226, 3.51e-5, 3.51 x 10^-5, 0,0822
    w5+ = 0.4 - 0.5 * 0.0822 = 0.3589    # a worked line: the value is after the last '='

Each value keeps the precision it was written with (`places`: decimal places of its last written
digit), because "correct" means "equal to the exact value at the precision written". A line with
nothing after '=' is an unanswered question (a blank template line): kept in `unanswered`. Malformed
lines, duplicate names and things that are not numbers are a StepgradError naming file and line;
with `lenient=True` every such line is collected in `problems` instead (all of them, with their line
numbers) and the readable lines are still read.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from stepgrad.core.errors import StepgradError
from stepgrad.core.files import read_stdin, read_text

# Linear-time patterns: a run of digits can be read one way only (no backtracking on a 1 MB line).
_PLAIN = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# 3.51 x 10^-5, 3.51×10^(-5), 3.51 * 10**-5
_TIMES_TEN = re.compile(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*(?:[x×*·]|\\times)\s*10\s*(?:\^|\*\*)\s*\(?\s*([+-]?\d+)\s*\)?")
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+(?![\d,.])")
NUMBER_HINT = "write a number such as 0.593, -0.0226, .5, 3.51e-5 or 3.51 x 10^-5"
MAX_DIGITS = 60  # digits written in one number (a float holds 17)
MAX_NUMBER_CHARS = 200  # characters of one written number, spaces and an exponent included
MAX_EXPONENT = 400  # |exponent| of a written number (floats end near 1e308 and 1e-324)


@dataclass(frozen=True)
class Given:
    """One answer: the name, the number as written, its value and the precision it was written with."""

    name: str
    text: str
    decimal: Decimal
    line: int

    @property
    def value(self) -> float:
        return float(self.decimal)

    @property
    def places(self) -> int:
        """Decimal places of the last written digit (0.0226 -> 4, 3.51e-5 -> 7, 21707153 -> 0)."""
        return -int(self.decimal.as_tuple().exponent)


@dataclass(frozen=True)
class Problem:
    """A line that could not be read: its number and what is wrong with it."""

    line: int
    message: str


@dataclass(frozen=True)
class Solution:
    """The answers of one solution file, in the order written; blank and unreadable lines kept apart."""

    source: str
    answers: tuple[Given, ...]
    unanswered: tuple[tuple[str, int], ...] = ()  # (name, line) of every `name =` left blank
    problems: tuple[Problem, ...] = ()  # unreadable lines (lenient reading only)

    def __iter__(self):
        return iter(self.answers)

    @property
    def values(self) -> dict[str, float]:
        return {a.name: a.value for a in self.answers}

    @property
    def decimal_commas(self) -> int:
        """How many values were written with a decimal comma (0,5933)."""
        return sum("," in a.text for a in self.answers)


def parse_number(text: str) -> Decimal | None:
    """The number a person wrote (precision kept: Decimal('0.50') has 2 places), or None."""
    s = text.strip().replace("\u2212", "-")  # a typeset minus sign
    for ellipsis in ("...", "\u2026"):  # 0.593269992... : the digits written are what counts
        s = s.removesuffix(ellipsis)
    if len(s) > MAX_NUMBER_CHARS:
        return None
    s = re.sub(r"^([+-])\s+", r"\1", s)  # "- 0.5"
    if _DECIMAL_COMMA.match(s):
        s = s.replace(",", ".", 1)  # 0,5933: a decimal comma (one comma, no point: unambiguous here)
    try:
        if _PLAIN.fullmatch(s):
            return Decimal(s)
        m = _TIMES_TEN.fullmatch(s)
        if m:
            return Decimal(m.group(1)).scaleb(int(m.group(2)))
    except InvalidOperation:
        return None
    return None


def _normal_name(name: str) -> str:
    return re.sub(r"\s+", "", name)


def _answer(name: str, raw: str, line: int, source: str) -> Given | None:
    where = f"{source}: line {line}"
    name = _normal_name(name)
    if not name:
        raise StepgradError("a value without a name (expected 'name = value')", where=where)
    if raw.strip() == "":
        return None  # unanswered
    number = parse_number(raw)
    if number is None:
        raise StepgradError(f"{name}: {_cut(raw.strip())!r} is not a number ({NUMBER_HINT})", where=where)
    shape = number.as_tuple()
    if len(shape.digits) > MAX_DIGITS or abs(int(shape.exponent)) > MAX_EXPONENT:
        raise StepgradError(f"{name}: {_cut(raw.strip())} has more digits or a larger exponent than any float "
                            f"({NUMBER_HINT})", where=where)
    if not math.isfinite(float(number)) or abs(float(number)) > 1e300:
        raise StepgradError(f"{name}: {raw.strip()} is too large for any quantity of a training step", where=where)
    return Given(name, raw.strip(), number, line)


def _cut(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _collect(items: list[tuple[str, str, int]], source: str, problems: list[Problem] | None = None) -> Solution:
    """The answers; a bad line raises, or (with a `problems` list) is added to it and skipped."""
    seen: dict[str, int] = {}
    answers, blank = [], []
    for name, raw, line in items:
        key = _normal_name(name)
        try:
            try:
                (key + raw).encode("utf-8")
            except UnicodeEncodeError:
                raise StepgradError(f"{key!r}: a lone surrogate is not text", where=f"{source}: line {line}") from None
            if key in seen:
                raise StepgradError(f"{key} is given twice (first on line {seen[key]})", where=f"{source}: line {line}")
            seen[key] = line
            answer = _answer(name, raw, line, source)
        except StepgradError as exc:
            if problems is None:
                raise
            problems.append(Problem(line, exc.message))
            continue
        if answer is not None:
            answers.append(answer)
        else:
            blank.append((key, line))
    return Solution(source, tuple(answers), tuple(blank), tuple(sorted(problems or (), key=lambda p: p.line)))


def parse_text(text: str, source: str = "<solution>", lenient: bool = False) -> Solution:
    """`name = value` lines with # comments."""
    items = []
    problems: list[Problem] | None = [] if lenient else None
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.split("#", 1)[0].strip()
        if not line:
            continue
        if "=" not in line:
            message = f"expected 'name = value', got {line!r}"
            if problems is None:
                raise StepgradError(message, where=f"{source}: line {number}")
            problems.append(Problem(number, message))
            continue
        name, _, rest = line.partition("=")
        value = rest.rsplit("=", 1)[-1]  # a worked line "name = formula = value": the value comes last
        items.append((name, value, number))
    return _collect(items, source, problems)


def parse_yaml(text: str, source: str = "<solution>", lenient: bool = False) -> Solution:
    """A YAML mapping name: value (all scalars read as written, so precision is kept)."""
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.BaseLoader)
    except RecursionError:
        raise StepgradError("not valid YAML: nested too deeply", where=source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}: line {mark.line + 1}" if mark else source
        raise StepgradError(f"not valid YAML: {getattr(exc, 'problem', exc)}", where=where) from None
    if node is None:
        return Solution(source, ())
    node = _values_node(node)
    if not isinstance(node, yaml.MappingNode):
        raise StepgradError("expected a mapping of name: value", where=f"{source}: line {node.start_mark.line + 1}")
    items = []
    for key, value in node.value:
        line = key.start_mark.line + 1
        if not isinstance(key, yaml.ScalarNode) or not isinstance(value, yaml.ScalarNode):
            raise StepgradError("expected 'name: value' with a single number", where=f"{source}: line {line}")
        raw = "" if value.value in ("~", "null") else value.value
        items.append((key.value, raw, line))
    return _collect(items, source, [] if lenient else None)


def _values_node(node):
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "values" and isinstance(value, yaml.MappingNode):
                return value
    return node


def parse_json(text: str, source: str = "<solution>", lenient: bool = False) -> Solution:
    """A JSON object name -> number (or `explain --format json` output: its "values" object)."""
    try:
        data = json.loads(text, object_pairs_hook=lambda pairs: pairs, parse_float=str, parse_int=str,
                          parse_constant=_reject)
    except json.JSONDecodeError as exc:
        raise StepgradError(f"not valid JSON: {exc.msg}", where=f"{source}: line {exc.lineno}") from None
    except ValueError as exc:
        raise StepgradError(str(exc), where=source) from None
    except RecursionError:
        raise StepgradError("not valid JSON: nested too deeply", where=source) from None
    if not isinstance(data, list) or not all(isinstance(p, tuple) for p in data):
        raise StepgradError("expected an object of name: value", where=source)
    for key, value in data:
        if key == "values" and isinstance(value, list):
            data = value
            break
    lines = _json_lines(text)
    items = []
    for key, value in data:
        line = lines.get(key, []).pop(0) if lines.get(key) else 1
        if value is None:
            raw = ""
        elif isinstance(value, str):
            raw = value
        else:
            what = "true/false" if isinstance(value, bool) else "a list or object"
            raise StepgradError(f"{key}: expected a number, got {what}", where=f"{source}: line {line}")
        items.append((key, raw, line))
    return _collect(items, source, [] if lenient else None)


def _reject(name: str) -> float:
    raise ValueError(f"{name} is not a number")


def _json_lines(text: str) -> dict[str, list[int]]:
    """Line numbers of every "key": in the JSON text, in order (json reports none per key)."""
    found: dict[str, list[int]] = {}
    line, counted = 1, 0  # line numbers counted incrementally: linear in the text, however many keys
    for m in re.finditer(r'"((?:[^"\\]|\\.)*)"\s*:', text):
        key = json.loads(f'"{m.group(1)}"')
        line += text.count("\n", counted, m.start())
        counted = m.start()
        found.setdefault(key, []).append(line)
    return found


def load(path: str, lenient: bool = False) -> Solution:
    """Read a solution file; the extension picks the reader (.yaml/.yml, .json, anything else: text)."""
    if path == "-":
        text, source = read_stdin(), "<stdin>"
    else:
        text, source = read_text(path), path
    return loads(text, _format_of(source, text), source, lenient)


def _format_of(source: str, text: str) -> str:
    suffix = Path(source).suffix.lower()
    if suffix in (".yaml", ".yml"):
        return "yaml"
    if suffix == ".json" or (source == "<stdin>" and text.lstrip().startswith("{")):
        return "json"
    return "text"


def loads(text: str, fmt: str = "text", source: str = "<solution>", lenient: bool = False) -> Solution:
    """Parse solution text in `fmt` ("text", "yaml" or "json"); `lenient`: collect bad lines, read the rest."""
    return {"text": parse_text, "yaml": parse_yaml, "json": parse_json}[fmt](text, source, lenient)
