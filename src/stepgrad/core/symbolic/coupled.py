"""The coupled entries' generated forms: softmax and each loss combined with its output activation.

A combination's E_o is written over the whole output vector (`formulas.COMBINATIONS`); here it is
first made numerically stable by the REWRITES below (each a rule stated once, applied to every
entry), then differentiated by SymPy: the stable primitives carry their own derivatives (softplus' =
sigmoid, logsumexp' = softmax), so dE_total/dnet_0 comes out as softmax_0 (t_0 + t_1 + t_2) - t_0 and,
with the targets summing to 1 where that is needed, out - target. Every derivation line is proved
equal to SymPy's derivative of the original formula; the numpy, scalar and torch forms are printed
from the same expressions.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.pycode import PythonCodePrinter

from stepgrad.core import _stable
from stepgrad.core.symbolic.forms import python as slot_python
from stepgrad.core.symbolic.formulas import (
    NETS,
    TARGETS,
    CombinationFormula,
    CoupledActivationFormula,
    sigmoid_of,
    softmax_of,
)
from stepgrad.core.symbolic.printing import CROSS_TERMS, NET, OUT, SUM_EXP, SUM_TARGETS, TARGET, N, latex, text, tidy
from stepgrad.core.symbolic.rules import _M, by_rules, equal, fold

Line = tuple[str, str, str]
X0, T0 = NETS[0], TARGETS[0]


class Softplus(sp.Function):
    """ln(1 + exp(x)), computed as max(x, 0) + ln(1 + exp(-|x|))."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return Sigmoid(self.args[0])


class Sigmoid(sp.Function):
    """1 / (1 + exp(-x)), computed with exp of -|x| only."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return Sigmoid(self.args[0]) * (1 - Sigmoid(self.args[0]))


class Softmax(sp.Function):
    """exp(net_k) / sum of exp(net_j) (args: k, then every net), computed as exp(net_k - m) / sum of exp(net_j - m)."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        k, nets = int(self.args[0]), self.args[1:]
        j = argindex - 2
        return Softmax(k, *nets) * ((1 if j == k else 0) - Softmax(j, *nets))


class LogSumExp(sp.Function):
    """ln of the sum of exp(net_j) (args: every net), computed as m + ln(sum of exp(net_j - m)), m the largest."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return Softmax(argindex - 1, *self.args)


REWRITES = (
    "ln(exp(net_k) / sum of exp(net_j)) = net_k - logsumexp(net), with logsumexp = m + ln(sum of exp(net_j - m))",
    "exp(net_k) / sum of exp(net_j) = softmax_k(net), each exp(net_j - m) over their sum (m the largest net)",
    "ln(1 + exp(x)) = softplus(x) = max(x, 0) + ln(1 + exp(-|x|))",
    "ln(sigmoid(x)) = x - softplus(x) and ln(1 - sigmoid(x)) = -softplus(x)",
    "1 / (1 + exp(-x)) = sigmoid(x), with exp of -|x| only",
)


def stable(e: sp.Expr) -> sp.Expr:
    """`e` with every REWRITES pattern replaced by its stable primitive (no exp of a large net is left)."""
    if isinstance(e, sp.log):
        a = e.args[0]
        for k, x in enumerate(NETS):
            if a == softmax_of(NETS, k):
                return x - LogSumExp(*NETS)
            if a == 1 + sp.exp(x):
                return Softplus(x)
            if a == sigmoid_of(x):
                return x - Softplus(x)
            if a == 1 - sigmoid_of(x):
                return -Softplus(x)
    for k, x in enumerate(NETS):
        if e == softmax_of(NETS, k):
            return Softmax(k, *NETS)
        if e == sigmoid_of(x):
            return Sigmoid(x)
    if e.is_Atom or not e.args:
        return e
    return e.func(*[stable(a) for a in e.args])


def unstable(e: sp.Expr) -> sp.Expr:
    """The primitives written out again (to prove a stable form equal to the formula)."""
    return e.replace(Softplus, lambda x: sp.log(1 + sp.exp(x))).replace(Sigmoid, sigmoid_of).replace(
        LogSumExp, lambda *xs: sp.log(sp.Add(*[sp.exp(x) for x in xs]))).replace(
        Softmax, lambda k, *xs: softmax_of(xs, int(k)))


class _NumPy(NumPyPrinter):
    def _print_Softplus(self, e: sp.Expr) -> str:
        return f"_stable.softplus_value({self._print(e.args[0])})"

    def _print_Sigmoid(self, e: sp.Expr) -> str:
        return f"_stable.sigmoid_value({self._print(e.args[0])})"


class _Python(PythonCodePrinter):
    def _print_Float(self, e: sp.Float) -> str:
        return repr(float(e))

    def _print_Softplus(self, e: sp.Expr) -> str:
        return self._own(e, _stable.PYTHON["softplus"][0])

    def _print_Sigmoid(self, e: sp.Expr) -> str:
        return self._own(e, _stable.PYTHON["sigmoid"][0])

    @staticmethod
    def _own(e: sp.Expr, template: str) -> str:
        """The stable scalar template, which is written in the output's own {net} only."""
        if e.args[0] != X0:
            raise ValueError(f"{e}: the scalar stable forms take this output's net only")
        return template


def _code(printer: Any, e: sp.Expr, names: dict[sp.Symbol, str]) -> str:
    """Code for output 0 of the vector: net_0 -> `net`, target_0 -> `target`; any other output's symbol
    left (outside a vector primitive) is an error: the code works on whole arrays, elementwise."""
    e = e.xreplace({Softmax(0, *NETS): sp.Symbol("SOFTMAXVECTOR"), LogSumExp(*NETS): sp.Symbol("LSEVECTOR")})
    if e.free_symbols & set(NETS[1:] + TARGETS[1:]):
        raise ValueError(f"{e} needs other outputs' values: not elementwise code")
    code = printer.doprint(e)
    code = code.replace("SOFTMAXVECTOR", "_stable.softmax(net)").replace("LSEVECTOR", "_stable.logsumexp(net)")
    for symbol, name in sorted(names.items(), key=lambda kv: -len(kv[0].name)):
        code = code.replace(symbol.name, name)
    return code


def numpy(e: sp.Expr) -> str:
    """numpy code in net, target, n (arrays; the vector primitives over the last axis)."""
    return _code(_NumPy(), e, {X0: "net", T0: "target", N: "n"})


def python(e: sp.Expr) -> str:
    """Scalar Python with {net}, {target}, {n} slots (math's functions)."""
    return _code(_Python({"fully_qualified_modules": False}), e, {X0: "{net}", T0: "{target}", N: "{n}"})


def _slots(e: sp.Expr, activation: str) -> sp.Expr:
    """A stable-form expression of output 0 in the documents' slots: the output activation's value is
    «out» (the raw score itself for a linear output: exp(«out») / «sum_exp»), target_0 «target»."""
    sums = {sp.Add(*TARGETS): SUM_TARGETS}
    if activation == "softmax":
        e = e.xreplace({Softmax(0, *NETS): OUT})
    elif activation == "sigmoid":
        e = e.xreplace({Sigmoid(X0): OUT})
    else:
        e = e.xreplace({Softmax(0, *NETS): sp.exp(OUT) / SUM_EXP, Sigmoid(X0): 1 / (1 + sp.exp(-OUT)), X0: OUT})
    e = e.subs(sums).xreplace({T0: TARGET})
    if e.free_symbols & set(NETS + TARGETS):
        raise ValueError(f"{e}: not written in the slots")
    return e


def _meaning(e: sp.Expr, activation: str) -> sp.Expr:
    """A slot expression of output 0 back in the vector's symbols (to prove it)."""
    out = {"softmax": softmax_of(NETS, 0), "sigmoid": sigmoid_of(X0)}.get(activation, X0)
    return e.subs({SUM_EXP: sp.Add(*[sp.exp(x) for x in NETS]), SUM_TARGETS: sp.Add(*TARGETS)}).subs(
        {OUT: out, TARGET: T0})


def _both(e: sp.Expr, literal: bool = False) -> tuple[str, str]:
    shown = e if literal else tidy(e)
    return latex(shown, literal), text(shown, literal)


def combination_forms(c: CombinationFormula) -> dict[str, Any]:
    """Every generated form of one combination (see core/entries.py's Combination)."""
    terms = [c.term(NETS, t, k) for k, t in enumerate(TARGETS)]
    total = sp.Add(*terms)
    exact = sp.diff(total, X0)  # SymPy's derivative of the formula as written
    steady = [sp.factor_terms(sp.expand(stable(t))) for t in terms]  # the fewest operations: sp(x) - t x
    if not equal(unstable(steady[0]), terms[0]):
        raise ValueError(f"the stable form of {c.loss} with {c.activation} is not its formula")
    signal = sp.diff(sp.Add(*steady), X0)
    if signal.has(Softmax):  # softmax_0 times the sum of the targets
        signal = sp.collect(sp.expand(signal), [Softmax(0, *NETS)])
    if not equal(unstable(signal), exact):
        raise ValueError(f"dE_total/dnet of {c.loss} with {c.activation} is not the formula's derivative")
    one = {TARGETS[-1]: 1 - sp.Add(*TARGETS[:-1])}  # the targets sum to 1
    summed = signal.subs(sp.Add(*TARGETS), 1)  # the collected sum of the targets, set to 1
    distribution = summed != signal
    final = summed
    if not equal(unstable(final).subs(one), exact.subs(one)):
        raise ValueError(f"{final} is not dE_total/dnet of {c.loss} with {c.activation} for targets summing to 1")
    final_slots = _slots(final, c.activation)
    plain = final_slots == OUT - TARGET
    lines = _derivation(c, signal, final, distribution)
    value, delta = steady[0], None if plain else final
    data: dict[str, Any] = {
        "latex": latex(tidy(c.shown)), "text": text(tidy(c.shown)),
        "delta_latex": _both(final_slots)[0], "delta_text": _both(final_slots)[1],
        "derivation": lines, "distribution": distribution, "coupled": delta is not None and delta.has(Softmax),
        "delta_note": c.note, "kernel": c.kernel,
        "torch_module": c.torch_module, "torch_functional": c.torch_functional, "torch_kwargs": {"reduction": "none"},
        "torch_per_sample": f"{c.torch_functional}(output, target, reduction='none')"
                            + (f".{c.torch_reduce}(dim=-1)" if c.torch_reduce else ""),
        "numpy": (numpy(value), None if delta is None else numpy(delta)),
    }
    separable = not (value.free_symbols & set(NETS[1:])) and not value.has(LogSumExp, Softmax)
    data["python"] = (python(value), slot_python(final_slots) if plain else python(delta)) if separable else None
    return data


def _derivation(c: CombinationFormula, signal: sp.Expr, final: sp.Expr, distribution: bool) -> tuple[Line, ...]:
    """How dE_total/dnet_0 is obtained, each line proved equal to the formula's derivative."""
    exact = sp.diff(sp.Add(*[c.term(NETS, t, k) for k, t in enumerate(TARGETS)]), X0)
    one = {TARGETS[-1]: 1 - sp.Add(*TARGETS[:-1])}
    dE = sp.diff(c.shown, OUT)  # one output's dE_o/dout_o, as the documents write E_o
    lines: list[tuple[str, sp.Expr, bool]] = []  # (rule, slot expression, literal)
    if c.activation == "softmax":
        own = OUT * (1 - OUT)
        label = (f"chain rule through every output: dE/dout_k = {text(tidy(dE), slots=False)}, "
                 f"dout_j/dnet_j = {text(own, slots=False)}, dout_k/dnet_j = -out_k out_j")
        lines.append((label, sp.Add(_M(dE, own), CROSS_TERMS, evaluate=False), True))
    elif c.activation == "sigmoid":
        own = OUT * (1 - OUT)
        lines.append((f"chain rule: dE/dout times dout/dnet = {text(own, slots=False)}", _M(dE, own), True))
        lines.append(("multiplied out", sp.Add(*[sp.factor(t * own) for t in sp.Add.make_args(dE)], evaluate=False),
                      False))
    else:
        d, rules = by_rules(c.shown, OUT)
        if not distribution:
            lines.append((", ".join(rules) + f" on {text(tidy(c.shown), slots=False)}", d, True))
            lines.append(("multiplied out", fold(d), False))
    # the chain rule's product printed factor by factor: -target / out * out * (1 - out) + «cross_terms»
    chain = {e: _chain(dE, OUT * (1 - OUT), c.activation == "softmax") for _, e, _ in lines[:1]
             if c.activation != "linear"}
    if distribution:
        rule = "multiplied out" if c.activation == "softmax" else (
            "E_total in its stable form, (sum of targets) logsumexp(out) - sum of target_k out_k, differentiated by "
            "this out (logsumexp' = softmax)")
        lines.append((rule, _slots(signal, c.activation), False))
        lines.append(("the targets sum to 1", _slots(final, c.activation), False))
    else:
        lines.append(("simplified", _slots(final, c.activation), False))
    out: list[Line] = []
    for rule, e, literal in lines:
        meaning = _meaning(e.subs(CROSS_TERMS, _cross(dE)), c.activation) if e.has(CROSS_TERMS) else \
            _meaning(e, c.activation)
        if not (equal(meaning, exact) or (distribution and equal(meaning.subs(one), exact.subs(one)))):
            raise ValueError(f"derivation line {e} of {c.loss} with {c.activation} is not dE_total/dnet")
        shown = chain.get(e) or _both(e, literal)
        if not out or shown[1] != out[-1][2]:
            out.append((rule, *shown))
    return tuple(out)


def _chain(dE: sp.Expr, own: sp.Expr, coupled: bool) -> tuple[str, str]:
    """The chain rule's product as the deck writes it, each factor printed on its own (-t / out * out (1 - out)),
    then the other outputs' «cross_terms» when softmax couples them (LaTeX, text)."""
    tex, plain = [], []
    for factor in (tidy(dE), own):
        (t, x), wide = _both(factor), factor.is_Add
        tex.append(rf"\left({t}\right)" if wide else t)
        plain.append(f"({x})" if wide else x)
    cross = (" + «cross_terms»", " + «cross_terms»") if coupled else ("", "")
    return " ".join(tex) + cross[0], " * ".join(plain) + cross[1]


def _cross(dE: sp.Expr) -> sp.Expr:
    """The other outputs' terms of the chain rule through softmax: sum over k > 0 of dE/dout_k * (-out_k out_0)."""
    outs = [softmax_of(NETS, k) for k in range(len(NETS))]
    return sp.Add(*[dE.subs({OUT: outs[k], TARGET: TARGETS[k]}) * (-outs[k] * OUT) for k in range(1, len(NETS))])


def activation_forms(a: CoupledActivationFormula) -> dict[str, Any]:
    """softmax's generated forms: templates with «sum_exp», the stable forward, and the backward (dE/dnet_0
    from every dE/dout_k through the Jacobian), derived and written over whole arrays."""
    out0 = a.formula(NETS)
    shown = out0.subs(sp.Add(*[sp.exp(x) for x in NETS]), SUM_EXP).xreplace({X0: NET})
    outs = sp.symbols(f"O0:{len(NETS)}", real=True)
    grads = sp.symbols(f"G0:{len(NETS)}", real=True)
    steady = [stable(a.formula_of(NETS, k)) for k in range(len(NETS))]
    through = sp.Add(*[g * sp.diff(s, X0) for g, s in zip(grads, steady)])
    through = through.xreplace({Softmax(k, *NETS): o for k, o in enumerate(outs)})
    dot = sp.Symbol("DOT")
    backward = sp.factor(through).subs(sp.Add(*[g * o for g, o in zip(grads, outs)]), dot)
    if backward.free_symbols - {outs[0], grads[0], dot}:
        raise ValueError(f"{a.name}'s backward {backward} is not elementwise in out, grad_out and their dot product")
    check = backward.subs(dot, sp.Add(*[g * o for g, o in zip(grads, outs)])) - through
    if sp.simplify(check) != 0:
        raise ValueError(f"{a.name}'s backward is not its Jacobian")
    code = _NumPy().doprint(backward)
    for symbol, name in ((dot, "(grad_out * out).sum(axis=-1, keepdims=True)"), (outs[0], "out"), (grads[0], "grad_out")):
        code = code.replace(symbol.name, name)
    return {"latex": latex(shown), "text": text(shown), "forward": numpy(stable(out0)), "backward": code,
            "torch_module": a.torch_module, "torch_functional": a.torch_functional,
            "torch_kwargs": dict(a.torch_kwargs), "kernel": a.kernel}
