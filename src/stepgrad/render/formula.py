"""Numbers and formulas for every renderer: a step's symbolic form and its numbers substituted.

Precision: values are float64; `digits` is the number of significant digits shown (default 9, as
in the seed deck). Exponents are written 3.51e-05 in text and 3.51 \\times 10^{-5} in LaTeX.
"""

from __future__ import annotations

from ..names import latex_symbol
from ..trace import Step, Trace

DEFAULT_DIGITS = 9


def number(x: float, digits: int = DEFAULT_DIGITS, style: str = "text") -> str:
    """x to `digits` significant digits; LaTeX style writes exponents as \\times 10^{n}."""
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


def symbol(name: str, style: str) -> str:
    """The name as written in a formula: LaTeX symbol or the plain name."""
    return latex_symbol(name) if style == "latex" else name


def symbolic(step: Step, style: str = "text") -> str:
    """The step's formula in symbols: 'w5 - eta * dE_total/dw5'."""
    return step.fill(style, lambda n: symbol(n, style))


def substituted(step: Step, trace: Trace, digits: int = DEFAULT_DIGITS, style: str = "text") -> str:
    """The step's formula with every quantity replaced by its value (negatives in parentheses)."""

    def value(name: str) -> str:
        v = trace.lookup(name)
        s = number(v, digits, style)
        return f"({s})" if v < 0 else s

    return step.fill(style, value)


def equation(step: Step, trace: Trace, digits: int = DEFAULT_DIGITS, style: str = "text") -> str:
    """name = formula = numbers = value (the deck's line), or name = value for given quantities."""
    lhs = symbol(step.name, style)
    val = number(step.value, digits, style)
    if not (step.latex if style == "latex" else step.text):
        return f"{lhs} = {val}"
    return f"{lhs} = {symbolic(step, style)} = {substituted(step, trace, digits, style)} = {val}"
