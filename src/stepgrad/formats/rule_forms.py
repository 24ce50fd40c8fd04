"""A general rule as a small formula tree (`explain --derive`, formats/seq_rules.py): its text and LaTeX come from it.

A rule is a left-hand side, one or more equal right-hand sides and the index letters it holds for. Its
quantities are Refs: each a function from the bound letters to a quantity's name that core.names builds, so
the rule names what the trace names. The rule's text is the same name with letters for numbers: the name is
built once with a placeholder number for each letter (100000 for the first, 200000 for the next, ...; t-1 is
99999 more than t's) and each placeholder is read back as its letter:

    >>> h = Ref("value", lambda b: f"h1_t{b['t'] - 1}[{b['k']}]")
    >>> h.text()
    'h1_t<t-1>[k]'
    >>> Op("*", h, Num(0.5)).text()
    'h1_t<t-1>[k] * 0.5'

The tree holds no numbers of a step: a test evaluates it with a trace's values (Ref.name gives each name,
Sum.values each letter's range, Indicator.holds each condition) to show the stated rule is true.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from stepgrad.core import names

Bind = Mapping[str, int]
LETTERS = ("s", "t", "i", "j", "k", "c", "f", "o", "l", "p", "m", "u", "j'", "n", "e")  # index letters, in placeholder order
_BASE = 100000


def placeholders() -> dict[str, int]:
    """Each letter bound to its placeholder number."""
    return {letter: _BASE * (n + 1) for n, letter in enumerate(LETTERS)}


def _letter(number: int) -> str:
    n = round(number / _BASE)
    offset = number - n * _BASE
    return LETTERS[n - 1] + (f"{offset:+d}" if offset else "")


_PLACED = re.compile(r"(_t|e)?(\d{5,})")


def _read_back(text: str, angle: bool) -> str:
    """The placeholders in a built name read back as letters (a time step after "_t" in <...> when `angle`)."""
    def swap(m: re.Match) -> str:
        letter = _letter(int(m.group(2)))
        if m.group(1):  # a time step (h1_t<t-1>) or a truncated sum's entry step (bptt2e<e>_h1_t<t>)
            return f"{m.group(1)}<{letter}>" if angle else m.group(1) + letter
        return letter
    return _PLACED.sub(swap, text)


@dataclass(frozen=True)
class Context:
    """What a rule's names depend on besides its letters: several samples (names carry [s]); samples mixed
    (batchnorm in training mode: a signal is the batch error's, dE_total/dq[s])."""

    samples: int = 1
    mixing: bool = False
    window: int | None = None  # truncated BPTT(k): below the truncated rnn, signals are the sums bptt<k>_...
    cut: frozenset[str] = frozenset()

    def tag(self, bind: Bind) -> int | None:
        return bind["s"] if self.samples > 1 else None

    def truncated(self, quantity: str) -> bool:
        """Whether what reaches `quantity` is a truncated-BPTT sum (not a derivative)."""
        label = names.label_of(quantity)
        return self.window is not None and (label is None or label in self.cut)


class Expr:
    """A node of a rule's formula."""

    precedence = 9

    def text(self) -> str:
        raise NotImplementedError

    def latex(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Ref(Expr):
    """A named quantity. kind: "value" (a sample's), "shared" (a parameter, a batch statistic), "signal"
    (dE_total/d of a sample's value), "batch_signal" (dE_total/d of a batch statistic), "gradient" (of a
    parameter: the sample's, or the batch's where samples mix or there is one), "sample_gradient" (sample s's
    gradient of a parameter, dE_total[s]/dp), "local" (d top/d bottom, both the sample's), "above" (what the
    layer above sends back to a quantity; no name of the trace), "part" (truncated BPTT: the part of a sum that
    entered at step e, bptt2e<e>_...). Below a truncated rnn signals and gradients are its sums (bptt2_...).
    `sampled`: the text shows the sample letter."""

    kind: str
    build: Callable[[Bind], str]
    bottom: Callable[[Bind], str] | None = None
    ctx: Context = field(default_factory=Context)
    sampled: bool = False

    def name(self, bind: Bind) -> str:
        """The quantity's name for bound letters (the sample's from bind["s"])."""
        return self._name(bind, self.ctx.tag(bind))

    def _name(self, bind: Bind, tag: int | None) -> str:
        q, kind = self.build(bind), self.kind
        if kind == "shared":
            return q
        if kind == "part" or kind in ("signal", "gradient", "sample_gradient") and self.ctx.truncated(q):
            assert self.ctx.window is not None
            sample = None if kind == "gradient" and self.ctx.mixing else tag
            return names.truncated(q, self.ctx.window, sample, entry=bind["e"] if kind == "part" else None)
        if kind == "value":
            return names.at(q, tag)
        if kind == "batch_signal":
            return names.gradient(q)
        if kind == "signal":
            return names.batch_partial(names.TOTAL, q, tag) if self.ctx.mixing and tag else names.partial(names.TOTAL, q, tag)
        if kind == "gradient":
            return names.gradient(q, None if self.ctx.mixing else tag)
        if kind == "sample_gradient":
            return names.gradient(q, tag)
        if kind == "local":
            assert self.bottom is not None
            return names.partial(q, self.bottom(bind), tag)
        if kind == "above":
            return f"above:{names.at(q, tag)}"
        raise ValueError(f"unknown kind of reference {kind!r}")

    def _shown(self) -> str:
        bind = placeholders()
        return self._name(bind, bind["s"] if self.sampled or self.kind == "sample_gradient" else None)

    def text(self) -> str:
        shown = self._shown()
        if self.kind == "above":
            return f"above({_read_back(shown.removeprefix('above:'), True)})"
        return _read_back(shown, True)

    def latex(self) -> str:
        shown = self._shown()
        if self.kind == "above":
            return rf"\mathrm{{above}}\left({_read_back(names.latex_symbol(shown.removeprefix('above:')), False)}\right)"
        return _read_back(names.latex_symbol(shown), False)


@dataclass(frozen=True)
class Num(Expr):
    """A number of the layer's settings (eps, 1/sqrt(d_k), a group's size), written as `shown` when given."""

    value: float
    shown: str = ""
    shown_latex: str = ""

    def text(self) -> str:
        return self.shown or (f"({self.value:g})" if self.value < 0 else f"{self.value:g}")

    def latex(self) -> str:
        return self.shown_latex or self.text()


_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}
_LATEX_OPS = {"+": "+", "-": "-", "*": r"\cdot"}


@dataclass(frozen=True)
class Op(Expr):
    """left op right: + - * /."""

    op: str
    left: Expr
    right: Expr

    @property
    def precedence(self) -> int:  # type: ignore[override]
        return _PRECEDENCE[self.op]

    def _side(self, e: Expr, right: bool, latex: bool) -> str:
        written = e.latex() if latex else e.text()
        tight = e.precedence < self.precedence or (right and e.precedence == self.precedence and self.op in "-/")
        if isinstance(e, Sum) and (right or self.op in "*/"):
            tight = True
        if not tight:
            return written
        return rf"\left({written}\right)" if latex else f"({written})"

    def text(self) -> str:
        return f"{self._side(self.left, False, False)} {self.op} {self._side(self.right, True, False)}"

    def latex(self) -> str:
        left, right = self._side(self.left, False, True), self._side(self.right, True, True)
        if self.op == "/":
            return rf"\frac{{{self.left.latex()}}}{{{self.right.latex()}}}"
        return f"{left} {_LATEX_OPS[self.op]} {right}"


@dataclass(frozen=True)
class Call(Expr):
    """A function of one argument: sqrt, exp."""

    function: str
    argument: Expr

    def text(self) -> str:
        return f"{self.function}({self.argument.text()})"

    def latex(self) -> str:
        argument = self.argument.latex()
        if self.function == "sqrt":
            return rf"\sqrt{{{argument}}}"
        if self.function == "exp":
            return rf"e^{{{argument}}}"
        return (r"\tanh" if self.function == "tanh" else rf"\operatorname{{{self.function}}}") + rf"\left({argument}\right)"


@dataclass(frozen=True)
class Power(Expr):
    """base ^ exponent (a number: -3/2, 2)."""

    base: Expr
    exponent: Num

    def text(self) -> str:
        base, exponent = self.base.text(), self.exponent.text()
        return (base if self.base.precedence > 2 else f"({base})") + "^" + (exponent if exponent.isdigit() else f"({exponent})")

    def latex(self) -> str:
        return rf"\left({self.base.latex()}\right)^{{{self.exponent.latex()}}}"


@dataclass(frozen=True)
class Indicator(Expr):
    """1 where a condition on the letters holds, else 0: [j' = j]."""

    shown: str
    shown_latex: str
    holds: Callable[[Bind], bool]

    def text(self) -> str:
        return f"[{self.shown}]"

    def latex(self) -> str:
        return rf"[{self.shown_latex}]"


@dataclass(frozen=True)
class Positive(Expr):
    """1 where the argument is above 0, else 0 (relu's derivative)."""

    argument: Expr

    def text(self) -> str:
        return f"[{self.argument.text()} > 0]"

    def latex(self) -> str:
        return rf"[{self.argument.latex()} > 0]"


@dataclass(frozen=True)
class Sum(Expr):
    """The sum over a letter of the body; `values(bind)` the letter's values (1-based), `span` how it is written."""

    letter: str
    values: Callable[[Bind], Iterable[int]]
    span: str
    body: Expr
    precedence = 1

    def text(self) -> str:
        body = self.body.text()
        return f"sum over {self.span} of " + (f"({body})" if self.body.precedence < 2 else body)

    def latex(self) -> str:
        body = self.body.latex()
        return rf"\sum_{{{_span_latex(self.span)}}} " + (rf"\left({body}\right)" if self.body.precedence < 2 else body)


def _span_latex(span: str) -> str:
    m = re.fullmatch(r"(\w+'?) in (\S+)\.\.(\S+)", span)
    return rf"{m.group(1)}={m.group(2)}}}^{{{m.group(3)}" if m else rf"\text{{{span}}}"


Domain = tuple[tuple[str, Callable[[Bind], Iterable[int]]], ...]


@dataclass(frozen=True)
class Rule:
    """lhs = forms[0] (= forms[1] ...) for every value of the domain's letters (in order; a later letter's
    values may depend on the earlier ones); `where` says which, in words."""

    lhs: Ref
    forms: tuple[Expr, ...]
    domain: Domain
    where: str = ""

    def text(self) -> str:
        return " = ".join([self.lhs.text(), *(f.text() for f in self.forms)]) + (f"   ({self.where})" if self.where else "")

    def latex(self) -> str:
        shown = self.where.replace("_", r"\_").replace("<=", r"$\le$")
        where = rf"\quad \text{{({shown})}}" if self.where else ""
        return " = ".join([self.lhs.latex(), *(f.latex() for f in self.forms)]) + where


def plus(*terms: Expr) -> Expr:
    """terms[0] + terms[1] + ..."""
    result = terms[0]
    for term in terms[1:]:
        result = Op("+", result, term)
    return result


def times(*factors: Expr) -> Expr:
    """factors[0] * factors[1] * ..."""
    result = factors[0]
    for factor in factors[1:]:
        result = Op("*", result, factor)
    return result


def span(letter: str, count: int) -> tuple[str, Callable[[Bind], range], str]:
    """A letter running over 1..count: (letter, its values, how a sum writes it)."""
    return letter, (lambda _b: range(1, count + 1)), f"{letter} in 1..{count}"
