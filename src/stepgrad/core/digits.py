"""How a number is shown: to a number of significant digits, or to fixed decimals as the seed deck prints.

    >>> number(0.0821670405642, 4), number(0.3775, Decimals(9)), number(3.51e-05, 3, style="latex")
    ('0.08217', '0.3775', '3.51 \\\\times 10^{-5}')

Every writer shows numbers through `number`, and so do the views below the writers (the graph's
DOT labels), so a value reads the same everywhere. Values are float64; `digits` is the number of
significant digits shown (default 9, as in the seed deck).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
