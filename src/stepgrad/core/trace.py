"""The trace: a plain, frozen record of named steps, grouped in sections, that round-trips through JSON.

    >>> trace = stepgrad.explain(stepgrad.builtin())
    >>> trace.values["dE_total/dw5"]
    0.08216704...
    >>> from stepgrad.formats.formula import substituted
    >>> substituted(trace.step("w5+"), trace, digits=9)
    '0.4 - 0.5 * 0.0821670406'

Each step holds its name, its value, and its formula as a template (LaTeX and plain text) whose
«name» slots refer to other quantities of the trace, so the same step renders symbolically
(w_5 - \\eta ...) or with the numbers substituted, at any number of digits. Renderers only format a
trace; nothing here computes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any

from stepgrad.core import hooks
from stepgrad.core.names import parse

SLOT = re.compile(r"«([^»]+)»")

# Kinds of step, in the deck's vocabulary.
KINDS = ("given", "net", "out", "error", "partial", "delta", "gradient", "update")


@dataclass(frozen=True)
class Path:
    """One path from a hidden weight to an output: the factors whose product is its share of the gradient."""

    factors: tuple[str, ...]
    value: float


@dataclass(frozen=True)
class Derivation:
    """One line of how a local derivative is obtained: the rule used and the expression it gives.

    The expression is a template with «name» slots like a step's formula, so it can be shown in
    symbols or with the numbers substituted, and evaluated: every line equals the step's value.
    """

    rule: str
    latex: str
    text: str


@dataclass(frozen=True)
class Step:
    """One named quantity: name = formula = numbers substituted = value."""

    name: str
    value: float
    kind: str
    latex: str = ""  # template of the right-hand side, «name» slots; empty for given values
    text: str = ""
    factors: tuple[str, ...] = ()  # for chain-rule products and sums: the named operands
    paths: tuple[Path, ...] = ()  # for hidden weights: every path to the outputs
    path_count: int = 0  # number of paths (paths may be left out when there are very many)
    subject: str = ""  # the weight, bias or neuron the step is about (w5, h1, o1)
    note: str = ""
    derivation: tuple[Derivation, ...] = ()  # how a local derivative is obtained (explain --derive)

    @property
    def operands(self) -> list[str]:
        """Every name the formula refers to, in order of first appearance."""
        seen: dict[str, None] = {}
        for m in SLOT.finditer(self.text or self.latex):
            seen.setdefault(m.group(1))
        return list(seen)

    def fill(self, style: str, slot: Callable[[str], str]) -> str:
        """The formula in `style` ('latex' or 'text') with every «name» slot replaced by slot(name)."""
        template = self.latex if style == "latex" else self.text
        return SLOT.sub(lambda m: slot(m.group(1)), template)


@dataclass(frozen=True)
class Section:
    """A group of steps: forward pass, error, backward pass of one layer, update, error after."""

    key: str
    title: str
    steps: tuple[Step, ...]
    intro: str = ""
    plan: tuple[str, ...] = ()  # steps whose formula opens the section, in symbols: where it is going


@dataclass(frozen=True)
class Trace:
    """Everything one training step computed, under the deck's names. `values` maps name -> number."""

    sections: tuple[Section, ...]
    meta: dict[str, Any] = field(default_factory=dict)
    context: dict[str, float] = field(default_factory=dict)  # values referred to but not shown (after select)

    def __iter__(self) -> Iterator[Step]:
        for section in self.sections:
            yield from section.steps

    @property
    def values(self) -> dict[str, float]:
        """Every quantity by name, in the order computed."""
        return {s.name: s.value for s in self}

    @cached_property
    def _by_name(self) -> dict[str, Step]:
        # name -> first step of that name; built once, so renderers look names up in O(1)
        index: dict[str, Step] = {}
        for s in self:
            index.setdefault(s.name, s)
        return index

    def lookup(self, name: str) -> float:
        """The value of `name`, shown in this trace or only referred to by it."""
        step = self._by_name.get(name)
        return step.value if step is not None else self.context[name]

    def step(self, name: str) -> Step:
        """The step called `name` (KeyError if there is none)."""
        return self._by_name[name]

    def section(self, key: str) -> Section:
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)

    def select(self, names: list[str]) -> Trace:
        """A trace with just the steps about `names` (e.g. ["w5", "out_h1"]) and, recursively, the
        backward-pass factors they need; the values they refer to but do not show stay in `context`."""
        derived = {s.name: s for sec in self.sections if sec.key.startswith(_DERIVED) for s in sec.steps}
        keep: set[str] = set()
        todo = [s.name for s in self if any(_about(s.name, n) for n in names)]
        while todo:
            name = todo.pop()
            if name in keep:
                continue
            keep.add(name)
            step = derived.get(name)
            if step is not None and step.kind != "update":
                todo.extend(step.operands)
        sections = []
        for sec in self.sections:
            steps = tuple(s for s in sec.steps if s.name in keep)
            if steps:
                sections.append(Section(sec.key, sec.title, steps, sec.intro, tuple(p for p in sec.plan if p in keep)))
        all_values = self.values
        all_values.update(self.context)
        shown = {s.name for sec in sections for s in sec.steps}
        context = {k: v for k, v in all_values.items() if k not in shown}
        return Trace(tuple(sections), dict(self.meta, only=list(names)), context)

    def unknown(self, names: list[str]) -> list[str]:
        """The names in `names` that select nothing in this trace."""
        return [n for n in names if not any(_about(s.name, n) for s in self)]

    # -- JSON ------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain data: {"meta", "values", "sections": [{"key", "title", "steps": [...]}]}."""
        return {
            "meta": self.meta,
            "values": self.values,
            "context": self.context,
            "sections": [
                {"key": sec.key, "title": sec.title, "intro": sec.intro, "steps": [_step_dict(s) for s in sec.steps],
                 **({"plan": list(sec.plan)} if sec.plan else {})}
                for sec in self.sections
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trace:
        sections = []
        for sec in data["sections"]:
            steps = []
            for s in sec["steps"]:
                s = dict(s)
                s["factors"] = tuple(s.get("factors", ()))
                s["paths"] = tuple(Path(tuple(p["factors"]), p["value"]) for p in s.get("paths", ()))
                s["derivation"] = tuple(Derivation(**d) for d in s.get("derivation", ()))
                steps.append(Step(**s))
            sections.append(Section(sec["key"], sec["title"], tuple(steps), sec.get("intro", ""),
                                    tuple(sec.get("plan", ()))))
        return cls(tuple(sections), data.get("meta", {}), data.get("context", {}))

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    # -- notebook / rich display: the writers in stepgrad.formats plug these in (core.hooks) ------
    def __rich__(self) -> Any:
        return hooks.call("trace.rich", self)

    def _repr_html_(self) -> str:
        return hooks.call("trace.html", self)

    def _repr_markdown_(self) -> str:
        return hooks.call("trace.markdown", self)


# Sections whose steps `select` pulls in as factors; forward values are only referred to.
_DERIVED = ("backward_", "update", "weight_", "bias_")  # weight_/bias_: `group(trace, "weight")`


def _about(step_name: str, wanted: str) -> bool:
    """True when step `step_name` is about the quantity `wanted` (w5: w5, w5+, m_w5, dE_total/dw5)."""
    if step_name == wanted:
        return True
    whole = step_name if "[" not in step_name else str(parse(step_name).but(sample=None, batch=False))
    if wanted not in whole:  # every match below contains the wanted name (without samples): a fast reject
        return False
    name = parse(whole)
    if wanted in (str(name), str(name.but(after=False))):  # w5, w5+ (and out_o1[2]) for w5
        return True
    if name.kind == "state":  # the optimizer's state: m_w5, m_w5+ for w5
        return name.parameter == wanted
    # dE_total/dw5, dnet_o1/dw5 for wanted w5
    return name.kind == "partial" and str(name.bottom) == wanted


def _step_dict(s: Step) -> dict[str, Any]:
    # the fields as they are (all immutable); factors and paths become lists below. Same as
    # dataclasses.asdict, without its deep copies (which dominated rendering large traces).
    d = {f.name: getattr(s, f.name) for f in fields(Step)}
    d["factors"] = list(s.factors)
    d["paths"] = [{"factors": list(p.factors), "value": p.value} for p in s.paths]
    d["derivation"] = [{"rule": x.rule, "latex": x.latex, "text": x.text} for x in s.derivation]
    return d
