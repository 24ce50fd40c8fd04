"""A SymPy expression as stepgrad's plain text or LaTeX, with «role» slots for the trace to fill.

    >>> from stepgrad.core.symbolic.printing import NET, text, latex
    >>> import sympy
    >>> text(1 / (1 + sympy.exp(-NET)))
    '1 / (1 + exp(-«net»))'
    >>> latex(sympy.Piecewise((NET, NET > 0), (sympy.Float(0.01) * NET, True)))
    '\\\\begin{cases} «net» & \\\\text{if } «net» > 0 \\\\\\\\ 0.01 «net» & \\\\text{otherwise} \\\\end{cases}'

The text is what the terminal shows and what the checker's calculator reads: numbers, «slots»,
+ - * / ^, exp ln tanh cosh sinh erf sqrt abs sign, `pi`, and a piecewise function in words
("A if X > B, else C"), never Python's conditional. A `literal` print keeps every factor as
written (the derivation's first line: "2 * 1/2 * («target» - «out»)^(2-1) * (-1)").
"""

from __future__ import annotations

import sympy as sp

NET, OUT, TARGET = sp.symbols("SLOTnet SLOTout SLOTtarget", real=True)
N = sp.Symbol("SLOTn", positive=True, integer=True)
ROLES = {NET: "net", OUT: "out", TARGET: "target", N: "n"}
# the coupled entries' slots for sums over the outputs (tracing/derive.py fills them per network): name, precedence
SUM_EXP, SUM_TARGETS, CROSS_TERMS = sp.symbols("SLOTsum_exp SLOTsum_targets SLOTcross_terms", positive=True)

ADD, MUL, NEG, POW, ATOM = 10, 20, 25, 30, 40
SUMS = {SUM_EXP: ("sum_exp", ADD), SUM_TARGETS: ("sum_targets", ADD), CROSS_TERMS: ("cross_terms", ADD + 1)}
_FUNCTIONS = {"exp": "exp", "log": "ln", "tanh": "tanh", "cosh": "cosh", "sinh": "sinh", "erf": "erf",
              "Abs": "abs", "sign": "sign"}
_LATEX_FUNCTIONS = {"log": r"\ln", "tanh": r"\tanh", "cosh": r"\cosh", "sinh": r"\sinh", "erf": r"\operatorname{erf}",
                    "sign": r"\operatorname{sign}"}


def text(expr: sp.Expr, literal: bool = False, slots: bool = True) -> str:
    """The plain-text form; slots=False writes the roles' bare names (net, out) for rule labels."""
    return _Printer(False, literal, slots).print(expr)[0]


def latex(expr: sp.Expr, literal: bool = False) -> str:
    """The LaTeX form (math mode, without delimiters)."""
    return _Printer(True, literal, True).print(expr)[0]


def ordered_terms(expr: sp.Add) -> list[sp.Expr]:
    """An Add's terms in reading order: numbers first, then the other positive terms, then the negative ones."""
    terms = list(expr.as_ordered_terms())
    positive = [t for t in terms if not t.could_extract_minus_sign()]
    negative = [t for t in terms if t.could_extract_minus_sign()]
    return [t for t in positive if t.is_number] + [t for t in positive if not t.is_number] + negative


def tidy(expr: sp.Expr) -> sp.Expr:
    """The expression with each negative product's sign moved into a sum: -out (out - 1) as out (1 - out)."""
    if expr.is_Atom:
        return expr
    args = [tidy(a) for a in expr.args]
    if expr.is_Mul:
        coefficient, factors = sp.Mul(*args).as_coeff_mul()
        roots = [f for f in factors if f.is_Pow and f.exp == sp.Rational(1, 2) and f.base == coefficient.q]
        if coefficient.is_Rational and coefficient.p == 1 and roots:  # sqrt(2)/2 * net as net / sqrt(2)
            rest = [f for f in factors if f is not roots[0]]
            return sp.Mul(*rest, sp.Pow(roots[0], -1, evaluate=False), evaluate=False)
        sums = [f for f in factors if f.is_Add]
        if coefficient < 0 and sums:
            flipped = [sp.Add(*[-t for t in f.args]) if f is sums[0] else f for f in factors]
            rest = [-coefficient] if coefficient != -1 else []
            return sp.Mul(*rest, *flipped, evaluate=False)
        return sp.Mul(*args, evaluate=False) if len(args) > 1 else args[0]
    return expr.func(*args)


class _Printer:
    def __init__(self, tex: bool, literal: bool, slots: bool) -> None:
        self.tex, self.literal, self.slots = tex, literal, slots

    def paren(self, s: str) -> str:
        if self.tex and ("\\frac" in s or "\\begin" in s):  # tall content: growing parentheses
            return rf"\left({s}\right)"
        return f"({s})"

    def at_least(self, expr: sp.Expr, prec: int) -> str:
        s, p = self.print(expr)
        return self.paren(s) if p < prec else s

    def print(self, e: sp.Expr) -> tuple[str, int]:
        if e in ROLES:
            role = ROLES[e]
            return (f"«{role}»" if self.slots else role), ATOM
        if e in SUMS:
            role, precedence = SUMS[e]
            return (f"«{role}»" if self.slots else role.replace("_", " ")), precedence
        if e is sp.pi:
            return (r"\pi" if self.tex else "pi"), ATOM
        if e.is_Integer:
            return str(int(e)), (NEG if e < 0 else ATOM)
        if e.is_Rational:
            if self.tex:
                sign = "-" if e < 0 else ""
                return rf"{sign}\frac{{{abs(e.p)}}}{{{e.q}}}", (NEG if e < 0 else ATOM)
            return f"{e.p}/{e.q}", MUL
        if e.is_Float:
            return repr(float(e)), (NEG if e < 0 else ATOM)
        if e.is_Add:
            return self.add(e), ADD
        if e.is_Mul:
            return self.mul(e)
        if e.is_Pow:
            return self.pow(e)
        if isinstance(e, sp.Piecewise):
            text = self.piecewise(e)
            return text, (ATOM if text.startswith(("max(", r"\max(")) else 0)
        name = type(e).__name__
        if name in _FUNCTIONS and len(e.args) == 1:
            return self.function(name, e.args[0]), ATOM
        raise ValueError(f"no stepgrad notation for {name} in {e}")

    def add(self, e: sp.Add) -> str:
        terms = ordered_terms(e)
        if self.literal and all(t.is_number for t in terms) and len(terms) == 2 and not self.tex:
            a, b = terms  # an exponent as the deck writes it: 2-1
            return f"{self.print(a)[0]}-{self.print(-b)[0]}" if b < 0 else f"{self.print(a)[0]}+{self.print(b)[0]}"
        out = ""
        for k, t in enumerate(terms):
            if k and t.could_extract_minus_sign() and not (t.is_Mul and not self._mul_starts_negative(t)):
                out += " - " + self.at_least(-t, ADD + 1)
            elif k:
                out += " + " + self.at_least(t, ADD + 1)
            else:
                out += self.at_least(t, ADD)
        return out

    @staticmethod
    def _mul_starts_negative(t: sp.Expr) -> bool:
        return bool(t.args) and t.args[0].is_number and t.args[0] < 0

    def mul(self, e: sp.Mul) -> tuple[str, int]:
        factors = list(e.args)
        sign = ""
        signed = len(factors) == 2 and factors[0] == -1 and (factors[1].is_Symbol or not self.literal)
        if factors[0].is_number and factors[0] < 0 and (signed or not self.literal):
            sign = "-"
            factors[0] = -factors[0]
            if factors[0] == 1:
                factors = factors[1:]
        num, den = [], []
        for f in factors:
            if not self.literal and f.is_Pow and f.exp.is_number and f.exp < 0:
                den.append(f.base if f.exp == -1 else sp.Pow(f.base, -f.exp, evaluate=False))
            else:
                num.append(f)
        if self.tex:
            return sign + self._tex_product(num, den), (NEG if sign else MUL)
        parts = []
        for k, f in enumerate(num):
            s, p = self.print(f)
            if p < MUL or (k and p == NEG) or (p == MUL and f.is_Mul):
                s = self.paren(s)
            parts.append(s)
        top = " * ".join(parts) if parts else "1"
        if den:
            bottom = " * ".join(self.at_least(d, POW) for d in den)
            top = f"{top} / {bottom if len(den) == 1 else self.paren(bottom)}"
        return sign + top, (NEG if sign else MUL)

    def _tex_product(self, num: list[sp.Expr], den: list[sp.Expr]) -> str:
        def joined(fs: list[sp.Expr]) -> str:
            sep = r" \cdot " if self.literal or any(f.is_number for f in fs[1:]) else " "
            parts = []
            for k, f in enumerate(fs):
                s, p = self.print(f)
                parts.append(self.paren(s) if p < MUL or (k and p == NEG) else s)
            return sep.join(parts) if parts else "1"
        if not den:
            return joined(num)
        top = self.print(num[0])[0] if len(num) == 1 else joined(num)
        bottom = self.print(den[0])[0] if len(den) == 1 else joined(den)
        return rf"\frac{{{top}}}{{{bottom}}}"

    def pow(self, e: sp.Pow) -> tuple[str, int]:
        base, exp = e.base, e.exp
        if exp == sp.Rational(1, 2):
            s = self.print(base)[0]
            return (rf"\sqrt{{{s}}}" if self.tex else f"sqrt({s})"), ATOM
        if not self.literal and exp.is_number and exp < 0:
            inverse = base if exp == -1 else sp.Pow(base, -exp, evaluate=False)
            return self.mul(sp.Mul(sp.Integer(1), sp.Pow(inverse, -1, evaluate=False), evaluate=False))
        b = self.at_least(base, ATOM)
        if exp == -1 and base.is_Symbol:  # a constant's inverse as the deck writes it: 1/n
            return (rf"\frac{{1}}{{{b}}}" if self.tex else f"1/{b}"), (ATOM if self.tex else MUL)
        if self.tex:
            return f"{b}^{{{self.print(exp)[0]}}}", POW
        x, p = self.print(exp)
        return (f"{b}^{x}" if p == ATOM and not x.startswith("-") else f"{b}^({x})"), POW

    def function(self, name: str, arg: sp.Expr) -> str:
        a = self.print(arg)[0]
        if not self.tex:
            return f"{_FUNCTIONS[name]}({a})"
        if name == "exp":
            return f"e^{{{a}}}"
        if name == "Abs":
            return rf"\left|{a}\right|"
        return rf"{_LATEX_FUNCTIONS[name]}\left({a}\right)"

    def condition(self, c: sp.Basic) -> str:
        if isinstance(c, sp.StrictGreaterThan):
            a, b = c.lhs, c.rhs
        elif isinstance(c, sp.StrictLessThan):
            a, b = c.rhs, c.lhs
        else:
            raise ValueError(f"write conditions with > or < (stepgrad's calculator reads >): {c}")
        return f"{self.print(a)[0]} > {self.print(b)[0]}"

    def piecewise(self, e: sp.Piecewise) -> str:
        pieces = list(e.args)
        if len(pieces) == 2 and pieces[1].expr == 0 and pieces[0].cond == sp.StrictGreaterThan(pieces[0].expr, 0):
            x = self.print(pieces[0].expr)[0]  # x if x > 0, else 0: the deck's max(0, x)
            return rf"\max(0, {x})" if self.tex else f"max(0, {x})"
        if pieces[-1].cond is not sp.true:
            raise ValueError(f"a piecewise function needs an 'otherwise' piece: {e}")
        if self.tex:
            rows = [rf"{self.print(x)[0]} & \text{{if }} {self.condition(c)}" for x, c in pieces[:-1]]
            rows.append(rf"{self.print(pieces[-1].expr)[0]} & \text{{otherwise}}")
            return r"\begin{cases} " + r" \\ ".join(rows) + r" \end{cases}"
        parts = [f"{self.at_least(x, ADD)} if {self.condition(c)}" for x, c in pieces[:-1]]
        return ", else ".join(parts + [self.at_least(pieces[-1].expr, ADD)])
