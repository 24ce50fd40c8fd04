"""Differentiation by named rules, as the deck writes it, and the derivative's "in terms of out" form.

`by_rules(f, x)` differentiates without simplifying: the power rule writes k * u^(k-1) * u', the
chain rule multiplies by the inner derivative, the quotient rule (u'v - uv')/v^2, and tanh is
derived from its definition as sinh/cosh. The result is an unevaluated expression (printed
literally) and the rules used; `fold` then multiplies out the numbers, and `in_terms_of_out`
finds a polynomial in out = f(net) equal to the derivative (sigmoid: out (1 - out)), verified
symbolically.

    >>> from stepgrad.core.symbolic.printing import NET, text
    >>> import sympy
    >>> d, rules = by_rules(1 / (1 + sympy.exp(-NET)), NET)
    >>> text(d, literal=True), rules
    ('-1 * (1 + exp(-«net»))^(-2) * exp(-«net») * (-1)', ['power rule', 'chain rule', 'exp rule'])
"""

from __future__ import annotations

import sympy as sp

from stepgrad.core.symbolic.printing import OUT


def _M(*factors: sp.Expr) -> sp.Expr:
    """An unevaluated product, nested products flattened and factors of 1 dropped."""
    flat: list[sp.Expr] = []
    for f in map(sp.sympify, factors):
        flat.extend(f.args if f.is_Mul and not _signed(f) else (f,))
    factors = tuple(f for f in flat if f != 1) or (sp.Integer(1),)
    return factors[0] if len(factors) == 1 else sp.Mul(*factors, evaluate=False)


def _signed(e: sp.Expr) -> bool:
    """-x: a product written with a sign, kept whole."""
    return len(e.args) == 2 and e.args[0] == -1 and e.args[1].is_Symbol


def by_rules(f: sp.Expr, x: sp.Symbol) -> tuple[sp.Expr, list[str]]:
    """(df/dx unevaluated, the rules used in order)."""
    rules: list[str] = []

    def use(rule: str) -> None:
        if rule not in rules:
            rules.append(rule)

    def chain(u: sp.Expr, outer: sp.Expr) -> sp.Expr:
        if u == x:
            return outer
        use("chain rule")
        inner = d(u)
        return _M(outer, inner) if inner != 1 else outer

    def d(e: sp.Expr) -> sp.Expr:
        if not e.has(x):
            return sp.Integer(0)
        if e == x:
            return sp.Integer(1)
        if e.is_Add:
            terms = [t for t in (d(a) for a in e.args) if t != 0]
            if len(terms) > 1:
                use("sum rule")
            return terms[0] if len(terms) == 1 else sp.Add(*terms, evaluate=False)
        if e.is_Mul:
            const = [a for a in e.args if not a.has(x)]
            var = [a for a in e.args if a.has(x)]
            numer = [a for a in var if not (a.is_Pow and a.exp.is_number and a.exp < 0)]
            denom = [a for a in var if a.is_Pow and a.exp.is_number and a.exp < 0]
            if numer and denom:  # u / v: the quotient rule
                use("quotient rule")
                u, v = sp.Mul(*numer), sp.Mul(*[1 / a for a in denom])
                top = sp.Add(_M(d(u), v), _M(sp.Integer(-1), u, d(v)), evaluate=False)
                return _M(*const, top, sp.Pow(v, -2, evaluate=False))
            if len(var) > 1:
                use("product rule")
                terms = [_M(d(a), *[b for b in var if b is not a]) for a in var]
                return _M(*const, sp.Add(*terms, evaluate=False))
            inner = d(var[0])
            if inner.is_Mul and inner.args[0].is_number and var[0].is_Pow:  # the deck: 2 * 1/2 * (...)^(2-1)
                return _M(inner.args[0], *const, *inner.args[1:])
            return _M(*const, inner)
        if e.is_Pow:
            base, k = e.args
            if k.has(x):
                if base == sp.E:
                    return d(sp.exp(k))
                raise ValueError(f"no rule for a variable exponent in {e}")
            use("power rule")
            exponent = sp.Add(k, -1, evaluate=False) if k.is_Integer and k > 0 else k - 1
            return chain(base, _M(k, sp.Pow(base, exponent, evaluate=False)))
        if isinstance(e, sp.exp):
            use("exp rule")
            return chain(e.args[0], e)
        if isinstance(e, sp.log):
            use("ln rule")
            return chain(e.args[0], sp.Pow(e.args[0], -1, evaluate=False))
        if isinstance(e, sp.tanh):  # tanh = sinh / cosh, by the quotient rule
            use("tanh = sinh/cosh")
            use("quotient rule")
            u = e.args[0]
            s, c = sp.sinh(u), sp.cosh(u)
            top = sp.Add(_M(c, c), _M(sp.Integer(-1), s, s), evaluate=False)
            return chain(u, _M(top, sp.Pow(c, -2, evaluate=False)))
        if isinstance(e, sp.cosh):
            use("cosh' = sinh")
            return chain(e.args[0], sp.sinh(e.args[0]))
        if isinstance(e, sp.sinh):
            use("sinh' = cosh")
            return chain(e.args[0], sp.cosh(e.args[0]))
        if isinstance(e, sp.erf):
            use("erf' = 2/sqrt(pi) exp(-u^2)")
            u = e.args[0]
            return chain(u, _M(sp.Integer(2), sp.Pow(sp.sqrt(sp.pi), -1, evaluate=False), sp.exp(-u ** 2)))
        if isinstance(e, sp.Abs):
            use("the slope of |u| is sign(u)")
            return chain(e.args[0], sp.sign(e.args[0]))
        if isinstance(e, sp.Piecewise):
            use("each piece")
            return sp.Piecewise(*[(d(p.expr), p.cond) for p in e.args])
        raise ValueError(f"no derivative rule for {type(e).__name__} in {e}")

    return d(f), rules


def fold(e: sp.Expr) -> sp.Expr:
    """A derivative by rules with its numbers multiplied out and powers of 1 dropped; sums stay as written."""
    if e.is_Atom:
        return e
    args = [fold(a) for a in e.args]
    if e.is_Mul:
        args = [b for a in args for b in (a.args if a.is_Mul else (a,))]
        numbers = [a for a in args if a.is_number]
        rest = [a for a in args if not a.is_number]
        c = sp.Mul(*numbers)
        if c == 0:
            return sp.Integer(0)
        if not rest:
            return c
        return _M(c, *rest) if c != 1 else _M(*rest)
    if e.is_Pow:
        base, k = args
        k = sp.sympify(k).doit() if k.is_number else k
        if k == 1:
            return base
        if k == 0:
            return sp.Integer(1)
        return sp.Pow(base, k, evaluate=False)
    if e.is_Add:
        terms = [a for a in args if a != 0]
        return sp.Add(*terms) if terms else sp.Integer(0)
    if isinstance(e, sp.Piecewise):
        return sp.Piecewise(*[(fold(p.expr), p.cond) for p in e.args])
    return e.func(*args)


def equal(a: sp.Expr, b: sp.Expr) -> bool:
    """Whether two expressions are equal, proved by SymPy (simplify, or with exp rewritten)."""
    diff = sp.simplify(sp.sympify(a).doit() - sp.sympify(b).doit())
    if diff == 0:
        return True
    return bool(sp.simplify(diff.rewrite(sp.exp)) == 0)


def in_terms_of_out(f: sp.Expr, derivative: sp.Expr, x: sp.Symbol) -> sp.Expr | None:
    """A polynomial in out (degree <= 2) equal to df/dx with out = f, proved; per piece; else None."""
    if isinstance(f, sp.Piecewise):
        pieces = []
        for p in f.args:
            dp = sp.diff(p.expr, x)
            found = in_terms_of_out(p.expr, dp, x)
            pieces.append((found if found is not None else dp, p.cond))
        if all(not piece.has(OUT) for piece, _ in pieces):
            return None
        return sp.Piecewise(*pieces)
    if not derivative.has(x):
        return None  # a constant: nothing to write in terms of out
    # fit a + b out + c out^2 numerically first (cheap); a fit that holds is made exact and proved
    value, slope = sp.lambdify(x, f, "math"), sp.lambdify(x, derivative, "math")
    points = [-1.4, 0.4, 0.9, -0.3, 1.7, 2.3]
    try:
        rows = [[1.0, value(p), value(p) ** 2] for p in points]
        fitted = _least_squares(rows, [slope(p) for p in points])
    except (ValueError, OverflowError, ZeroDivisionError, TypeError):
        return None
    if fitted is None:
        return None
    a, b, c = (sp.nsimplify(v, rational=True, tolerance=1e-9) for v in fitted)
    found = _readable(a + b * OUT + c * OUT ** 2)
    if not found.has(OUT) or not equal(found.subs(OUT, f), derivative):
        return None
    return found


def _readable(polynomial: sp.Expr) -> sp.Expr:
    """The factored form when it is a product with one sum (out (1 - out)), else the expanded one (1 - out^2)."""
    factored = sp.factor(polynomial)
    sums = [f for f in sp.Mul.make_args(factored) if f.is_Add]
    coefficient = factored.as_coeff_Mul()[0]
    return factored if len(sums) <= 1 and abs(coefficient) == 1 else sp.expand(polynomial)


def _least_squares(rows: list[list[float]], values: list[float]) -> list[float] | None:
    """Coefficients fitting every row exactly (to 1e-9), or None."""
    import numpy as np

    matrix, target = np.array(rows, dtype=float), np.array(values, dtype=float)
    coefficients, *_ = np.linalg.lstsq(matrix, target, rcond=None)
    if not np.allclose(matrix @ coefficients, target, rtol=0, atol=1e-9):
        return None
    return [float(round(v, 9)) for v in coefficients]
