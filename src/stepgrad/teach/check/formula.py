"""Evaluate a step's formula from operand values: the checker's small, safe calculator.

A trace step's plain-text template (`«w1» * «i1» + «w2» * «i2» + «b1» * 1`, `1 / (1 + exp(-«net_h1»))`,
`«w5» - «eta» * «dE_total/dw5»`) is parsed once into a tree of tuples and evaluated with any
values for its «name» slots: the exact ones, the student's own, or with a mistake applied.

    >>> tree = parse("«w5» - «eta» * «g»")
    >>> evaluate(tree, {"w5": 0.4, "eta": 0.5, "g": 0.08}.__getitem__)
    0.36000000000000004

Only the grammar the registry's templates use is understood (numbers, slots, + - * / ^, unary
minus, exp/ln/log1p/tanh/cosh/sinh/erf/sign/sqrt/abs/max/min, pi, `A if X > B, else C`); nothing is
ever handed to Python's eval().
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import lru_cache

Tree = tuple

_TOKEN = re.compile(r"\s*(?:(«[^»]+»)|(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+)|([A-Za-z_][A-Za-z_0-9]*)|(.))")
FUNCTIONS: dict[str, Callable[..., float]] = {
    "exp": math.exp, "ln": math.log, "log1p": math.log1p, "tanh": math.tanh, "sqrt": math.sqrt,
    "abs": abs, "max": max, "min": min, "cosh": math.cosh, "sinh": math.sinh, "erf": math.erf,
    "sign": lambda x: (x > 0) - (x < 0),
}


class FormulaError(ValueError):
    """A template this calculator does not understand (a bug in the trace, not user input)."""


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
        if self.accept("word", "if"):
            left = self.sum()
            self.take("op", ">")
            right = self.sum()
            self.accept("op", ",")  # "A if X > B, else C": the registry's words for a piecewise function
            self.take("word", "else")
            return ("if", left, right, then, self.expression())
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


@lru_cache(maxsize=4096)
def parse(text: str) -> Tree:
    """The formula tree of a plain-text template (cached: templates repeat)."""
    parser = _Parser(text)
    tree = parser.expression()
    trailing = parser.peek()
    if trailing is not None:
        raise FormulaError(f"cannot read formula {text!r}: trailing {trailing[1]!r}")
    return tree


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
        return float(FUNCTIONS[tree[1]](*(evaluate(a, value) for a in tree[2])))
    if op == "if":
        chosen = tree[3] if evaluate(tree[1], value) > evaluate(tree[2], value) else tree[4]
        return evaluate(chosen, value)
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

