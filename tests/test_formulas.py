"""Every generated form of every registry formula against the formula itself (and torch, and finite differences).

Parametrized over `core/symbolic/formulas.py`, so a new entry is tested here the moment it exists. The
references are independent of the generated code: mpmath evaluates the SymPy formula (and
SymPy's own derivative) at 50 digits; the finite differences use only the generated value.
"""

from __future__ import annotations

import math
import re

import mpmath
import numpy as np
import pytest
import sympy

from stepgrad.core.functions import ACTIVATIONS, LOSSES, fill
from stepgrad.core.symbolic import formulas, generate
from stepgrad.core.symbolic.printing import NET, OUT, TARGET, N
from stepgrad.teach.check.formula import evaluate, parse
from stepgrad.training import pure, tiny

ACTS = {a.name: a for a in formulas.ACTIVATIONS}
LOSS = {l.name: l for l in formulas.LOSSES}
# both sides of every kink (0 for the activations; out - target = 0 and ±1 for the losses), and far out
NETS = np.array(sorted({*np.linspace(-4, 4, 33).tolist(), -1e-3, 1e-3, -1.001, -0.999, 0.999, 1.001, -12.5, 12.5}))
FAR = np.array([-800.0, -60.0, 60.0, 800.0])
N_OUT = 3


def _reference(expr: sympy.Expr, *symbols: sympy.Symbol):
    f = sympy.lambdify(symbols, expr, "mpmath")

    def value(*args: float) -> float:
        with mpmath.workdps(50):
            return float(f(*[mpmath.mpf(a) for a in args]))
    return value


def _close(got: np.ndarray, want: np.ndarray, rtol: float = 1e-12, what: str = "") -> None:
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-14, err_msg=what)


def _kernel():
    if not tiny.available():
        return None
    from stepgrad.training import _tiny_kernel

    return _tiny_kernel


@pytest.mark.slow  # regenerates with SymPy: make test (CI)
def test_generated_files_are_what_the_formulas_give():
    """Regenerating changes nothing (else: python -m stepgrad.core.symbolic.generate)."""
    assert generate.GENERATED.read_text() == generate.generated_source()
    assert generate.KERNEL.read_text() == generate.kernel_source(generate.KERNEL.read_text())


@pytest.mark.parametrize("name", ACTS)
def test_activation_code_equals_the_formula(name):
    formula, entry = ACTS[name], ACTIVATIONS[name]
    value, slope = _reference(formula.formula, NET), _reference(sympy.diff(formula.formula, NET), NET)
    nets = np.concatenate([NETS, FAR]) if formula.stable else NETS
    want = np.array([value(x) for x in nets])
    want_slope = np.array([slope(x) for x in nets])  # at a kink: the piece torch takes (relu: 0 at 0)
    out = entry.forward(nets)
    _close(out, want, what="numpy value")
    # the derivative (in terms of out where it is written so) equals SymPy's derivative of the formula
    _close(entry.derivative(nets, out), want_slope, what="numpy derivative")
    _close(np.array([entry.scalar.value(x) for x in nets]), want, what="scalar value")
    _close(np.array([entry.scalar.derivative(x) for x in nets]), want_slope, what="scalar derivative")
    namespace = dict(pure._MATH)
    value_py = eval(f"lambda net: {entry.python.value.format(net='net')}", namespace)  # noqa: S307 (generated)
    slope_py = eval(f"lambda net, out: {entry.python.derivative.format(net='net', out='out')}", namespace)  # noqa: S307
    _close(np.array([value_py(x) for x in nets]), want, what="pure backend value")
    _close(np.array([slope_py(x, value_py(x)) for x in nets]), want_slope, what="pure backend derivative")
    kernel = _kernel()
    if kernel is not None:
        code = entry.kernel
        _close(np.array([kernel._activation(code, x) for x in nets]), want, what="numba value")
        _close(np.array([kernel._derivative(code, x, kernel._activation(code, x)) for x in nets]), want_slope,
               what="numba derivative")


@pytest.mark.parametrize("name", ACTS)
def test_activation_derivative_equals_a_central_difference(name):
    entry = ACTIVATIONS[name]
    h = 1e-6
    nets = NETS[np.abs(NETS) > 2 * h]  # both sides of the kink at 0, never across it
    numeric = (entry.forward(nets + h) - entry.forward(nets - h)) / (2 * h)
    np.testing.assert_allclose(entry.derivative(nets, entry.forward(nets)), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", ACTS)
def test_activation_templates_evaluate_to_the_values(name):
    entry = ACTIVATIONS[name]
    for x in NETS:
        values = {"x": float(x), "y": float(entry.scalar.value(x))}
        text = fill(entry.text, net="«x»")
        assert math.isclose(evaluate(parse(text), values.__getitem__), values["y"], rel_tol=1e-12, abs_tol=1e-15)
        slope = fill(entry.derivative_text, net="«x»", out="«y»")
        # the calculator calls the entry's numpy form; against the scalar form a sum with cancellation (gelu_tanh
        # at -4) keeps about 11 digits
        assert math.isclose(evaluate(parse(slope), values.__getitem__), entry.scalar.derivative(x), rel_tol=1e-10,
                            abs_tol=1e-15)
        for rule, _, line in entry.derivation:
            got = evaluate(parse(fill(line, net="«x»", out="«y»")), values.__getitem__)
            assert math.isclose(got, entry.scalar.derivative(x), rel_tol=1e-10, abs_tol=1e-13), (rule, line)
    assert entry.derivation[-1][2] == entry.derivative_text
    _readable(entry.text, entry.derivative_text, *(line for _, _, line in entry.derivation))


@pytest.mark.parametrize("name", ACTS)
def test_every_derivation_starts_from_the_rules_and_no_line_is_left_out(name):
    """The first line is the rule-by-rule derivative of the formula, however long (gelu_tanh's is over 400
    characters: the writers break it over rows), and it names the rules used."""
    from stepgrad.core.symbolic.printing import text
    from stepgrad.core.symbolic.rules import by_rules, fold

    entry, formula = ACTIVATIONS[name], ACTS[name].formula
    by_hand, rules = by_rules(formula, NET)
    first_rule, _, first = entry.derivation[0]
    assert first_rule.startswith(", ".join(rules) or "power rule")
    assert first == text(by_hand, literal=True) or len(entry.derivation) == 1
    if name == "gelu_tanh":  # the product, quotient and chain rule line and the multiplied-out one are both shown
        assert [rule.split(",")[0] for rule, _, _ in entry.derivation] == ["product rule", "multiplied out", "simplified"]
        assert len(first) > 400 and entry.derivation[1][2] == text(fold(by_hand))


def _readable(*texts: str) -> None:
    for text in texts:
        assert not re.search(r" if [^,]* else ", text), f"Python's conditional in {text!r}"
        assert text.replace("«", "").replace("»", "").isascii(), text


@pytest.mark.parametrize("name", LOSS)
def test_loss_code_equals_the_formula(name):
    formula, entry = LOSS[name], LOSSES[name]
    value = _reference(formula.formula, OUT, TARGET, N)
    slope = _reference(sympy.diff(formula.formula, OUT), OUT, TARGET, N)
    rng = np.random.default_rng(3)
    target = rng.normal(0, 1, N_OUT)
    outs = target + NETS[:, None]  # out - target on the grid, both sides of every kink
    if formula.stable:
        outs = np.concatenate([outs, target + FAR[:, None]])
    want = np.array([[value(o, t, N_OUT) for o, t in zip(row, target)] for row in outs])
    kinks = np.isin(np.round(outs - target, 12), [0.0])
    want_slope = np.array([[slope(o, t, N_OUT) for o, t in zip(row, target)] for row in outs])
    want_slope[kinks] = 0.0  # the subgradient torch uses at |d| = 0: sign(0) = 0
    targets = np.broadcast_to(target, outs.shape)
    _close(entry.value(outs, targets), want, what="numpy value")
    _close(entry.gradient(outs, targets), want_slope, what="numpy gradient")
    pairs = [(o, t) for row in outs for o, t in zip(row, target)]
    _close(np.array([entry.scalar.value(o, t, N_OUT) for o, t in pairs]), want.ravel(), what="scalar value")
    _close(np.array([entry.scalar.derivative(o, t, N_OUT) for o, t in pairs]), want_slope.ravel(),
           what="scalar gradient")
    kernel = _kernel()
    if kernel is not None:
        _close(np.array([kernel._loss_value(entry.kernel, o, t, N_OUT) for o, t in pairs]), want.ravel(),
               what="numba value")
        _close(np.array([kernel._loss_gradient(entry.kernel, o, t, N_OUT) for o, t in pairs]), want_slope.ravel(),
               what="numba gradient")


@pytest.mark.parametrize("name", LOSS)
def test_loss_gradient_equals_a_central_difference_and_its_templates_evaluate(name):
    entry = LOSSES[name]
    h = 1e-6
    target = np.array([0.3, -0.2, 1.1])
    for d in NETS[np.abs(np.abs(NETS) - 1) > 2 * h]:
        out = target + d
        if abs(d) > 2 * h:
            numeric = (entry.value(out + h, target) - entry.value(out - h, target)) / (2 * h)
            np.testing.assert_allclose(entry.gradient(out, target), numeric, rtol=1e-6, atol=1e-8)
        for k in range(N_OUT):
            values = {"o": float(out[k]), "t": float(target[k])}
            roles = {"out": "«o»", "target": "«t»", "n": str(N_OUT)}
            assert math.isclose(evaluate(parse(fill(entry.text, **roles)), values.__getitem__),
                                entry.value(out, target)[k], rel_tol=1e-12, abs_tol=1e-15)
            for rule, _, line in entry.derivation:
                got = evaluate(parse(fill(line, **roles)), values.__getitem__)
                assert math.isclose(got, entry.gradient(out, target)[k], rel_tol=1e-10, abs_tol=1e-13), (rule, line)
    assert entry.derivation[-1][2] == entry.gradient_text
    _readable(entry.text, entry.gradient_text, *(line for _, _, line in entry.derivation))


@pytest.mark.parametrize("name", ACTS)
def test_activation_torch_counterpart_equals_torch(name):
    torch = pytest.importorskip("torch")
    entry = ACTIVATIONS[name]
    z = torch.tensor(np.concatenate([NETS, FAR]), dtype=torch.float64)
    ours = torch.tensor(entry.forward(z.numpy()))
    torch.testing.assert_close(entry.torch()(z), ours, rtol=1e-12, atol=1e-14)
    if entry.torch_functional:
        namespace = {"torch": torch, "F": torch.nn.functional}
        functional = eval(entry.torch_functional, namespace)  # noqa: S307 (the registry's own name)
        torch.testing.assert_close(functional(z, **entry.torch_kwargs), ours, rtol=1e-12, atol=1e-14)
    zg = z.clone().requires_grad_(True)
    entry.torch()(zg).sum().backward()
    ours_slope = torch.tensor(entry.derivative(z.numpy(), entry.forward(z.numpy())))
    torch.testing.assert_close(zg.grad, ours_slope, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", LOSS)
def test_loss_torch_counterpart_equals_torch(name):
    torch = pytest.importorskip("torch")
    entry = LOSSES[name]
    rng = np.random.default_rng(5)
    target = rng.normal(0, 1, (7, N_OUT))
    out = target + rng.choice(NETS, size=(7, N_OUT))
    out[0, 0] = target[0, 0]  # a kink: out = target
    o = torch.tensor(out, requires_grad=True)
    per_sample = entry.torch()(o, torch.tensor(target))
    torch.testing.assert_close(per_sample, torch.tensor(entry.value(out, target).sum(axis=-1)), rtol=1e-12, atol=1e-14)
    per_sample.sum().backward()
    torch.testing.assert_close(o.grad, torch.tensor(entry.gradient(out, target)), rtol=1e-12, atol=1e-14)


def test_running_stepgrad_never_imports_sympy():
    """SymPy writes the generated code; stepgrad itself (and its registry) runs without it."""
    import subprocess
    import sys

    code = ("import sys, stepgrad, stepgrad.core.functions, stepgrad.cli; "
            "assert 'sympy' not in sys.modules, 'sympy imported'; print('ok')")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout == "ok\n"
