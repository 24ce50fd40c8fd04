"""Evaluate a step's formula from operand values: the checker's small, safe calculator.

A trace step's plain-text template (`«w1» * «i1» + «w2» * «i2» + «b1» * 1`, `1 / (1 + exp(-«net_h1»))`,
`«w5» - «eta» * «dE_total/dw5»`) is parsed once into a tree of tuples and evaluated with any
values for its «name» slots: the exact ones, the student's own, or with a mistake applied.

    >>> tree = parse("«w5» - «eta» * «g»")
    >>> evaluate(tree, {"w5": 0.4, "eta": 0.5, "g": 0.08}.__getitem__)
    0.36000000000000004

A registry entry's formula (an activation's value or derivative, a loss's value or gradient) is not
parsed: the filled template is recognised and evaluated by calling the entry itself (registry_forms),
so any function the registry holds is understood, in whatever notation its template prints. The rest
(sums, chain-rule products, updates, softmax's and the combined losses' formulas) is read with a small
grammar: numbers, slots, + - * / ^, unary minus, exp/ln/log1p/tanh/cosh/sinh/erf/sign/sqrt/abs/max/min, pi, `A if X > B, else C`.
Nothing is ever handed to Python's eval(). A formula read neither way is a FormulaError: a bug in
stepgrad, never a quiet nan.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from stepgrad.core.trace import SLOT
from stepgrad.teach.check.registry_forms import Form, forms, registry_key

Tree = tuple

_TOKEN = re.compile(r"\s*(?:(«[^»]+»)|(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+)|([A-Za-z_][A-Za-z_0-9]*)|(<=|>=|.))")
_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">": lambda a, b: a > b, "<": lambda a, b: a < b, ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b,
    "≥": lambda a, b: a >= b, "≤": lambda a, b: a <= b}
FUNCTIONS: dict[str, Callable[..., float]] = {
    "exp": math.exp, "ln": math.log, "log1p": math.log1p, "tanh": math.tanh, "sqrt": math.sqrt,
    "abs": abs, "max": max, "min": min, "cosh": math.cosh, "sinh": math.sinh, "erf": math.erf,
    "sign": lambda x: (x > 0) - (x < 0),
}


class FormulaError(RuntimeError):
    """A template this calculator does not understand: a bug in the trace or the registry, not user input
    (a RuntimeError, so no `except ValueError` around arithmetic takes it for a value out of range)."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out = []
    for slot, num, word, op in _TOKEN.findall(text):
        if slot:
            out.append(("var", slot[1:-1]))
        elif num:
            out.append(("num", num))
        elif word:
            out.append(("word", word))
        elif op.strip():
            out.append(("op", op))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, kind: str | None = None, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (kind and tok[0] != kind) or (value and tok[1] != value):
            raise FormulaError(f"cannot read formula {self.text!r} at token {self.i}")
        self.i += 1
        return tok

    def accept(self, kind: str, value: str) -> bool:
        if self.peek() == (kind, value):
            self.i += 1
            return True
        return False

    def expression(self) -> Tree:
        then = self.sum()
        if self.accept("word", "if"):  # A if X > B, else C (the comma optional; > < >= <= ≥ ≤)
            left = self.sum()
            comparison = self.take("op")[1]
            if comparison not in _COMPARISONS:
                raise FormulaError(f"cannot read formula {self.text!r}: {comparison!r} is not a comparison")
            right = self.sum()
            self.accept("op", ",")  # "A if X > B, else C": the registry's words for a piecewise function
            self.take("word", "else")
            return ("if" + comparison, left, right, then, self.expression())  # every part a tree
        return then

    def sum(self) -> Tree:
        tree = self.product()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            tree = (op, tree, self.product())
        return tree

    def product(self) -> Tree:
        tree = self.unary()
        while self.peek() in (("op", "*"), ("op", "/")):
            op = self.take()[1]
            tree = (op, tree, self.unary())
        return tree

    def unary(self) -> Tree:
        if self.accept("op", "-"):
            return ("neg", self.unary())
        return self.power()

    def power(self) -> Tree:
        base = self.atom()
        if self.accept("op", "^"):
            return ("^", base, self.unary())
        return base

    def atom(self) -> Tree:
        kind, value = self.take()
        if kind == "num":
            return ("num", float(value))
        if kind == "var":
            return ("var", value)
        if (kind, value) == ("word", "pi"):
            return ("num", math.pi)
        if kind == "word" and value in FUNCTIONS:
            self.take("op", "(")
            args = [self.expression()]
            while self.accept("op", ","):
                args.append(self.expression())
            self.take("op", ")")
            return ("call", value, tuple(args))
        if (kind, value) == ("op", "("):
            tree = self.expression()
            self.take("op", ")")
            return tree
        raise FormulaError(f"cannot read formula {self.text!r}: unexpected {value!r}")


def parse(text: str) -> Tree:
    """The formula tree of a plain-text template: a registry formula is one call of its entry (cached:
    templates repeat; a registry entry added or replaced starts a new cache)."""
    return _parse(text, registry_key())


@lru_cache(maxsize=4096)
def _parse(text: str, key: tuple[int, ...]) -> Tree:
    call = _registry_call(text, key)
    if call is not None:
        return call
    parser = _Parser(text)
    tree = parser.expression()
    trailing = parser.peek()
    if trailing is not None:
        raise FormulaError(f"cannot read formula {text!r}: trailing {trailing[1]!r}")
    return tree


@lru_cache(maxsize=8)
def _patterns(key: tuple[int, ...]) -> tuple[tuple[re.Pattern, Form], ...]:
    """Each registry form's template as a pattern of its filled text: a «role» slot matches any «name»
    (the same name wherever the role repeats), «n» a count."""
    out = []
    for form in forms():
        pattern, seen = [], set()
        for k, piece in enumerate(SLOT.split(form.template)):
            if k % 2 == 0:
                pattern.append(re.escape(piece))
            elif piece in seen:
                pattern.append(f"(?P={piece})")
            else:
                seen.add(piece)
                pattern.append(rf"(?P<{piece}>\d+)" if piece == "n" else rf"(?P<{piece}>«[^»]+»)")
        out.append((re.compile("".join(pattern)), form))
    return tuple(out)


def _registry_call(text: str, key: tuple[int, ...]) -> Tree | None:
    """("call", form name, operand trees in the form's role order) when `text` is a filled registry formula."""
    for pattern, form in _patterns(key):
        m = pattern.fullmatch(text)
        if m is not None:
            args = tuple(("num", float(m[r])) if r == "n" else ("var", m[r][1:-1]) for r in form.roles)
            return ("call", form.name, args)
    return None


def _call(name: str, args: list[float]) -> float:
    if name in FUNCTIONS:
        return float(FUNCTIONS[name](*args))
    form = _forms_by_name(registry_key()).get(name)
    if form is None:
        raise FormulaError(f"no function {name!r} in the calculator or the registry")
    with np.errstate(all="ignore"):  # the student's values may leave the domain: nan, as math would refuse
        return form.function(**dict(zip(form.roles, args)))


@lru_cache(maxsize=8)
def _forms_by_name(key: tuple[int, ...]) -> dict[str, Form]:
    return {form.name: form for _, form in _patterns(key)}


def evaluate(tree: Tree, value: Callable[[str], float]) -> float:
    """The formula's value, with value(name) giving each «name» slot's number."""
    op = tree[0]
    if op == "num":
        return tree[1]
    if op == "var":
        return float(value(tree[1]))
    if op == "neg":
        return -evaluate(tree[1], value)
    if op == "call":
        return _call(tree[1], [evaluate(a, value) for a in tree[2]])
    if op.startswith("if"):
        _, left, right, then, otherwise = tree
        holds = _COMPARISONS[op[2:]](evaluate(left, value), evaluate(right, value))
        return evaluate(then if holds else otherwise, value)
    a, b = evaluate(tree[1], value), evaluate(tree[2], value)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b
    if op == "^":
        return a ** b
    raise FormulaError(f"unknown operation {op!r}")

