"""LaTeX formulas as MathML (latex2mathml), so a page shows typeset math offline in any browser.

    >>> to_mathml(r"3.51 \\times 10^{-5}")
    '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline"><semantics>...'

The LaTeX source rides along as an <annotation>, so copying a formula from the page gives its LaTeX.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape

from ..errors import StepgradError

_OPEN = '<math xmlns="http://www.w3.org/1998/Math/MathML" display="{}">'


@lru_cache(maxsize=50_000)
def to_mathml(latex: str, display: bool = False) -> str:
    """One <math> element for `latex` (block layout when `display`), with the LaTeX as annotation."""
    from latex2mathml.converter import convert

    mode = "block" if display else "inline"
    try:
        converted = convert(latex, display=mode)
    except Exception as exc:  # the converter raises its own exception types on unknown commands
        raise StepgradError(f"cannot convert this formula to MathML: {latex!r} ({exc})") from None
    start = converted.index(">") + 1
    end = converted.rindex("</math>")
    body = converted[start:end]
    annotation = f'<annotation encoding="application/x-tex">{escape(latex, quote=False)}</annotation>'
    return f"{_OPEN.format(mode)}<semantics><mrow>{body}</mrow>{annotation}</semantics></math>"
