"""Numbers and formulas for every renderer: a step's symbolic form and its numbers substituted.

Precision: values are float64; `digits` is the number of significant digits shown (default 9, as
in the seed deck). Exponents are written 3.51e-05 in text and 3.51 \\times 10^{-5} in LaTeX. How one
number is shown (`number`, `Decimals`) lives in `stepgrad.core.digits`, below the views that use it too.
"""

from __future__ import annotations

import re

# the writers import these from here; their home is core.digits (the views below the writers use them too)
from stepgrad.core.digits import DEFAULT_DIGITS as DEFAULT_DIGITS
from stepgrad.core.digits import Decimals as Decimals
from stepgrad.core.digits import Precision as Precision
from stepgrad.core.digits import number as number
from stepgrad.core.names import latex_symbol
from stepgrad.core.trace import SLOT, Step, Trace


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


_JUXTAPOSED = re.compile(r"(?:\d|»|\^\{[^{}]*\}|\\sqrt\{[^{}]*\}|\\frac\{[^{}]*\}\{[^{}]*\}) $")


def substituted(step: Step, trace: Trace, digits: Precision = DEFAULT_DIGITS, style: str = "text") -> str:
    """The step's formula with every quantity replaced by its value (negatives in parentheses,
    unless the template already puts the quantity alone in brackets: tanh(-0.49), not tanh((-0.49)))."""
    template = step.latex if style == "latex" else step.text

    def value(m: re.Match) -> str:
        x = trace.lookup(m.group(1))
        bracketed = template[m.start() - 1:m.start()] == "(" and template[m.end():m.end() + 1] == ")"
        shown = number(x, digits, style) if bracketed else operand(x, digits, style)
        # LaTeX writes a product by juxtaposition (0.044715 «net»^{3}): two numbers side by side need a dot
        return rf"\cdot {shown}" if style == "latex" and _JUXTAPOSED.search(template, 0, m.start()) else shown

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
