"""LaTeX formulas as MathML (latex2mathml), so a page shows typeset math offline in any browser.

    >>> to_mathml(r"3.51 \\times 10^{-5}")
    '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline"><semantics>...'

The LaTeX source rides along as an <annotation>, so copying a formula from the page gives its LaTeX.
Speed: a formula is cut at its top-level = + - and \\cdot, and each piece is converted once and
cached; the symbols and fractions that recur thousands of times in a large trace cost nothing after
the first (a 16-16-10 page: 11 s -> about 1 s). The pieces, side by side, are the same MathML as
the whole.
"""

from __future__ import annotations

import re
from functools import lru_cache
from html import escape

from stepgrad.core.errors import StepgradError

_OPEN = '<math xmlns="http://www.w3.org/1998/Math/MathML" display="{}">'
_OPERATORS = {" = ": "&#x0003D;", " + ": "&#x0002B;", " - ": "&#x02212;", r" \cdot ": "&#x000B7;"}


def _split(latex: str) -> list[str]:
    """Pieces and operators: 'a + \\frac{b}{c} = d' -> ['a', ' + ', '\\frac{b}{c}', ' = ', 'd']."""
    parts, start, depth, i = [], 0, 0, 0
    while i < len(latex):
        c = latex[i]
        if c == "{" or latex.startswith((r"\left", r"\begin{"), i):
            depth += 1
        elif c == "}" or latex.startswith((r"\right", r"\end{"), i):
            depth -= 1
        elif depth == 0:
            op = next((o for o in _OPERATORS if latex.startswith(o, i)), None)
            if op:
                parts += [latex[start:i], op]
                i += len(op)
                start = i
                continue
        i += 1
    parts.append(latex[start:])
    return parts


_INDEX = re.compile(r"\{(\d+)\}")  # a whole group of digits: the 257 of w_{257}, the 1 of h_{1}


@lru_cache(maxsize=100_000)
def _piece(latex: str) -> str:
    """One piece as MathML; pieces that differ only in their index groups share one conversion (w_{1} ...
    w_{416}: the converter runs once for w_{1}, and each index is put in its place)."""
    indices = _INDEX.findall(latex)
    if indices:
        template = _convert(_INDEX.sub("{1}", latex))
        slots = template.split("<mn>1</mn>")
        if len(slots) == len(indices) + 1:  # every <mn>1</mn> is an index group, in order
            return slots[0] + "".join(f"<mn>{n}</mn>{slot}" for n, slot in zip(indices, slots[1:]))
    return _convert(latex)


@lru_cache(maxsize=10_000)
def _convert(latex: str) -> str:
    from latex2mathml.converter import convert

    try:
        converted = convert(latex)
    except Exception as exc:  # the converter raises its own exception types on unknown commands
        raise StepgradError(f"cannot convert this formula to MathML: {latex!r} ({exc})") from None
    return _spaced(converted[converted.index(">") + 1:converted.rindex("</math>")])


_MINUS = "<mo>&#x02212;</mo>"
# a minus right after one of these is a sign: (−0.019), [−1, a row's first entry, = −2, · −1
_SIGN_AFTER = re.compile("(<mrow>|<mtd>|&#x00028;</mo>|&#x0005B;</mo>|<mo>&#x0003D;</mo>|<mo>&#x000B7;</mo>|"
                         f"<mo>&#x0002B;</mo>|{_MINUS})" + re.escape(_MINUS) + "<mn>")
_FUNCTION = re.compile(r"<mi>(ln|log|exp|tanh|sinh|cosh|sech|max|min|sgn|erf)</mi>(?=(<mo stretchy=\"false\">&#x00028;)?)")


def _spaced(mathml: str) -> str:
    """Spacing as a typesetter would: a sign joins its number (−0.019 is one number, not a subtraction), and
    ln, exp ... are functions applied to what follows (U+2061) with a thin space around them as in TeX."""
    mathml = _SIGN_AFTER.sub(lambda m: f"{m[1]}<mn>&#x02212;", mathml)

    def function(m: re.Match[str]) -> str:
        after = "" if m[2] else '<mspace width="0.1667em"/>'  # ln 0.57 gets a space, exp(x) none
        before = "" if m.string.endswith("<mrow>", 0, m.start()) else '<mspace width="0.1667em"/>'
        return f'{before}<mi>{m[1]}</mi><mo>&#x2061;</mo>{after}'

    return _FUNCTION.sub(function, mathml)


def mathml_inner(latex: str) -> str:
    """The MathML of `latex` without its <math> element, to build a larger formula from (a matrix's entries)."""
    return "".join(f"<mo>{_OPERATORS[p]}</mo>" if p in _OPERATORS else _piece(p.strip())
                   for p in _split(latex.strip()) if p.strip() or p in _OPERATORS)


@lru_cache(maxsize=50_000)
def to_mathml(latex: str, display: bool = False) -> str:
    """One <math> element for `latex` (block layout when `display`), with the LaTeX as annotation."""
    mode = "block" if display else "inline"
    text = latex.strip()
    body = []
    if text.startswith("= "):  # a continued line: '= numbers'
        body.append(f"<mo>{_OPERATORS[' = ']}</mo>")
        text = text[2:]
    for part in _split(text):
        if part in _OPERATORS:
            body.append(f"<mo>{_OPERATORS[part]}</mo>")
        elif part.strip():
            body.append(_piece(part.strip()))
    annotation = f'<annotation encoding="application/x-tex">{escape(latex, quote=False)}</annotation>'
    return f"{_OPEN.format(mode)}<semantics><mrow>{''.join(body)}</mrow>{annotation}</semantics></math>"



def to_mathml_terms(latex: str) -> list[str]:
    """The formula as inline <math> elements, one per top-level term with the operator before it
    ('a + b = c' -> 'a', '+ b', '= c'; never inside parentheses), so that a page can wrap a long
    formula between its terms. Each piece carries its own LaTeX; side by side they read (and copy)
    as the whole formula."""
    text = latex.strip()
    lead = text.startswith("= ")
    terms: list[list[str]] = []  # [operator, LaTeX of the term]
    operator, depth = " = " if lead else "", 0
    for part in _split(text[2:] if lead else text):
        if depth > 0:  # inside parentheses: the term goes on
            terms[-1][1] += part
        elif part in _OPERATORS:
            operator = part
            continue
        elif part.strip():
            terms.append([operator, part])
            operator = ""
        depth += part.count("(") - part.count(")")
    out = []
    for operator, term in terms:
        whole = to_mathml(term.strip())
        body = whole[whole.index("<mrow>") + 6:whole.rindex("</mrow><annotation")]
        mo = f'<mo form="infix">{_OPERATORS[operator]}</mo>' if operator else ""
        annotation = f'<annotation encoding="application/x-tex">{escape((operator + term).strip(), quote=False)}</annotation>'
        out.append(f'{_OPEN.format("inline")}<semantics><mrow>{mo}{body}</mrow>{annotation}</semantics></math>')
    return out
