"""Every generated form of one formula: templates, derivative, derivation lines, numpy, scalar Python, torch.

`activation_forms(entry)` and `loss_forms(entry)` return plain data (strings, tuples, dicts) that
`generate` writes into the package, or that `functions.register` compiles at run time.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.pycode import PythonCodePrinter
from sympy.printing.pytorch import TorchPrinter

from stepgrad.core import _stable
from stepgrad.core.symbolic.printing import NET, OUT, ROLES, latex, text, tidy
from stepgrad.core.symbolic.rules import by_rules, equal, fold, in_terms_of_out

Line = tuple[str, str, str]


class _NumPy(NumPyPrinter):
    def _print_erf(self, e: sp.Expr) -> str:
        return f"_erf({self._print(e.args[0])})"

    def _print_Piecewise(self, e: sp.Piecewise) -> str:
        *pieces, last = e.args
        code = self._print(last.expr)
        for p in reversed(pieces):
            code = f"numpy.where({self._print(p.cond)}, {self._print(p.expr)}, {code})"
        return code


class _Torch(TorchPrinter):
    def _print_Piecewise(self, e: sp.Piecewise) -> str:
        *pieces, last = e.args
        code = self._print(last.expr)
        for p in reversed(pieces):
            code = f"torch.where({self._print(p.cond)}, {self._print(p.expr)}, {code})"
        return code


def _numbers(e: sp.Expr) -> sp.Expr:
    """Every constant subexpression (1/2, sqrt(2/pi)) as one float, so numpy, Python and numba agree to the bit."""
    if e.is_number and not e.is_Integer:
        return sp.Float(e.evalf(17), 17)
    if e.is_Atom or not e.args:
        return e
    return e.func(*[_numbers(a) for a in e.args])


def _code(printer: Any, expr: sp.Expr, names: dict[str, str]) -> str:
    code = printer.doprint(_numbers(sp.sympify(expr).doit()))
    for symbol in sorted(ROLES, key=lambda s: -len(s.name)):
        code = code.replace(symbol.name, names[ROLES[symbol]])
    return code


class _Python(PythonCodePrinter):
    def _print_Float(self, e: sp.Float) -> str:
        return repr(float(e))


_NUMPY = _NumPy()
_PYTHON = _Python({"fully_qualified_modules": False})
_SLOTS = {role: "{" + role + "}" for role in ROLES.values()}
_NAMES = {role: role for role in ROLES.values()}


def python(expr: sp.Expr) -> str:
    """Scalar Python (math's functions, unqualified) with {net}, {out}, {target}, {n} slots."""
    return _code(_PYTHON, expr, _SLOTS)


def numpy(expr: sp.Expr) -> str:
    """numpy code in the names net, out, target, n (numpy as `numpy`, erf as `_erf`)."""
    return _code(_NUMPY, expr, _NAMES)


def torch(expr: sp.Expr) -> str:
    """torch code in the names output, target (n: output.shape[-1])."""
    names = {"net": "output", "out": "output", "target": "target", "n": "output.shape[-1]"}
    return _code(_Torch(), expr, names)


def _both(expr: sp.Expr, literal: bool = False) -> tuple[str, str]:
    shown = expr if literal else tidy(expr)
    return latex(shown, literal), text(shown, literal)


def derivation(f: sp.Expr, x: sp.Symbol, final: sp.Expr, final_rule: str, out: sp.Expr | None = None) -> tuple[Line, ...]:
    """The lines from f to `final` (its derivative): by rules, multiplied out, simplified, `final`. Every
    line is kept, however long (gelu_tanh's rule by rule is over 400 characters): the writers break it."""
    d, rules = by_rules(f, x)
    label = (", ".join(rules) or "power rule") + f" on {text(tidy(f), slots=False)}"
    lines: list[Line] = [(label, *_both(d, literal=True))]
    derived = sp.diff(f, x)
    steps = [("multiplied out", fold(d)), ("simplified", derived), (final_rule, final)]
    if out is None:  # a loss: the final form is the multiplied-out one or the simplified one
        steps = [steps[0], steps[2]]
    for rule, step in steps:
        if not equal(step.subs(OUT, out) if out is not None else step, derived):
            raise ValueError(f"derivation step {step} of {f} is not its derivative")
        shown = _both(step)
        if shown[1] != lines[-1][2]:
            lines.append((rule, *shown))
    return tuple(lines)


def activation_forms(entry: Any) -> dict[str, Any]:
    """The generated data of one activation formula (see `core/symbolic/formulas.py`)."""
    f = entry.formula
    derived = sp.diff(f, NET)
    in_out = in_terms_of_out(f, derived, NET)
    shown = in_out if in_out is not None else derived
    stable = _stable.PYTHON.get(entry.name, (None, None)) if entry.stable else (None, None)
    return {
        "latex": latex(tidy(f)), "text": text(tidy(f)),
        "derivative_latex": latex(tidy(shown)), "derivative_text": text(tidy(shown)),
        "derivation": derivation(f, NET, shown, "with out = " + text(tidy(f), slots=False) if in_out is not None
                                 else "simplified", out=f),
        "python": (stable[0] or python(f), stable[1] or python(shown)),
        "numpy": (None if entry.stable else numpy(f),
                  None if entry.stable and hasattr(_stable, f"{entry.name}_derivative") else numpy(shown)),
        "torch_module": entry.torch_module, "torch_functional": entry.torch_functional,
        "torch_kwargs": dict(entry.torch_kwargs),
    }


def loss_forms(entry: Any) -> dict[str, Any]:
    """The generated data of one loss formula (see `core/symbolic/formulas.py`)."""
    e = entry.formula
    gradient = fold(by_rules(e, OUT)[0])
    simplest = sp.simplify(sp.diff(e, OUT))
    if sp.count_ops(simplest) + 1 < sp.count_ops(gradient):  # -(target - out) stays as the deck writes it
        gradient = simplest
    stable = _stable.PYTHON.get(entry.name, (None, None)) if entry.stable else (None, None)
    if entry.torch_functional:
        kwargs = "".join(f", {k}={v!r}" for k, v in entry.torch_kwargs.items())
        scale = f"{entry.torch_scale!r} * " if entry.torch_scale != 1.0 else ""
        per_sample = f"{scale}{entry.torch_functional}(output, target, reduction='none'{kwargs}).{entry.torch_reduce}(dim=-1)"
    else:
        per_sample = f"({torch(e)}).sum(dim=-1)"
    return {
        "latex": latex(tidy(e)), "text": text(tidy(e)),
        "gradient_latex": latex(tidy(gradient)), "gradient_text": text(tidy(gradient)),
        "derivation": derivation(e, OUT, gradient, "simplified"),
        "python": (stable[0] or python(e), python(gradient)),
        "numpy": (None if entry.stable else numpy(e), numpy(gradient)),
        "torch_module": entry.torch_module, "torch_functional": entry.torch_functional,
        "torch_kwargs": dict(entry.torch_kwargs), "torch_per_sample": per_sample,
    }

