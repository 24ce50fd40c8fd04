"""Numbers and formulas for every renderer: a step's symbolic form and its numbers substituted.

Precision: values are float64; `digits` is the number of significant digits shown (default 9, as
in the seed deck). Exponents are written 3.51e-05 in text and 3.51 \\times 10^{-5} in LaTeX.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from stepgrad.core.names import latex_symbol
from stepgrad.core.trace import SLOT, Step, Trace

DEFAULT_DIGITS = 9


@dataclass(frozen=True)
class Decimals:
    """Fixed decimals, as the seed deck prints: `number(x, Decimals(9))` shows up to 9 decimals.

    Trailing zeros are dropped (0.3775, not 0.377500000), as in the deck. A value too small to
    show four significant digits at that many decimals is written with `places` significant digits
    instead (3.51018778e-05 rather than 0.000035102), so nothing shrinks to 0.
    """

    places: int

    def __str__(self) -> str:
        return f"{self.places} decimals"


Precision = int | Decimals  # an int is a number of significant digits


def number(x: float, digits: Precision = DEFAULT_DIGITS, style: str = "text") -> str:
    """x to `digits` significant digits (or Decimals(n): up to n decimals); LaTeX style writes exponents as \\times 10^{n}."""
    if isinstance(digits, Decimals):
        s = _fixed(x, digits.places)
        if s is not None:
            return s
        digits = digits.places
    s = f"{x:.{digits}g}"
    if s in ("-0", "-0.0"):
        s = "0"
    if "e" in s:
        mantissa, exponent = s.split("e")
        if style == "latex":
            return rf"{mantissa} \times 10^{{{int(exponent)}}}"
        if style == "unicode":
            sup = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
            return f"{mantissa}×10{str(int(exponent)).translate(sup)}"
    return s


def _fixed(x: float, places: int) -> str | None:
    """x to `places` decimals without trailing zeros, or None when that would lose the value."""
    if not math.isfinite(x) or (x != 0 and abs(x) < 10.0 ** (3 - places)) or abs(x) >= 1e15:
        return None
    s = f"{x:.{places}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def symbol(name: str, style: str) -> str:
    """The name as written in a formula: LaTeX symbol or the plain name.

    A LaTeX symbol that carries a superscript (w_{5}^{+}, out^{[2]}) is braced, so a template's
    own ^{2} after it stays valid LaTeX.
    """
    if style != "latex":
        return name
    s = latex_symbol(name)
    return "{" + s + "}" if "^" in s else s


def operand(value: float, digits: Precision, style: str) -> str:
    """A number inside a formula: in parentheses when negative or a power of ten."""
    s = number(value, digits, style)
    return f"({s})" if value < 0 or (style == "latex" and "times" in s) else s


def symbolic(step: Step, style: str = "text") -> str:
    """The step's formula in symbols: 'w5 - eta * dE_total/dw5'."""
    return step.fill(style, lambda n: symbol(n, style))


def substituted(step: Step, trace: Trace, digits: Precision = DEFAULT_DIGITS, style: str = "text") -> str:
    """The step's formula with every quantity replaced by its value (negatives in parentheses,
    unless the template already puts the quantity alone in brackets: tanh(-0.49), not tanh((-0.49)))."""
    template = step.latex if style == "latex" else step.text

    def value(m: re.Match) -> str:
        x = trace.lookup(m.group(1))
        bracketed = template[m.start() - 1:m.start()] == "(" and template[m.end():m.end() + 1] == ")"
        return number(x, digits, style) if bracketed else operand(x, digits, style)

    return SLOT.sub(value, template)


def derivation_rows(step: Step, style: str = "text") -> list[tuple[str, str]]:
    """(expression in symbols, the rule that gives it): the step's derivation lines, then its own
    formula unless the last line already is it. Empty when the step has no derivation."""
    if not step.derivation:
        return []
    slot = lambda n: symbol(n, style)  # noqa: E731
    rows = [(SLOT.sub(lambda m: slot(m.group(1)), d.latex if style == "latex" else d.text), d.rule)
            for d in step.derivation]
    formula = symbolic(step, style)
    if rows[-1][0] != formula:
        rows.append((formula, ""))
    return rows


def shows_numbers(step: Step) -> bool:
    """False for a formula that is one quantity alone (dnet_o1/dw5 = out_h1): its numbers would
    only repeat the value, so the line is name = formula = value."""
    template = (step.text or step.latex).strip()
    return bool(template) and SLOT.fullmatch(template) is None


def equation(step: Step, trace: Trace, digits: Precision = DEFAULT_DIGITS, style: str = "text") -> str:
    """name = formula = numbers = value (the deck's line), or name = value for given quantities."""
    lhs = symbol(step.name, style)
    val = number(step.value, digits, style)
    if not (step.latex if style == "latex" else step.text):
        return f"{lhs} = {val}"
    if not shows_numbers(step):
        return f"{lhs} = {symbolic(step, style)} = {val}"
    return f"{lhs} = {symbolic(step, style)} = {substituted(step, trace, digits, style)} = {val}"
