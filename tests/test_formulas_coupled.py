"""softmax and the loss combinations, generated from their vector formulas, against the formulas themselves.

The reference is the SymPy formula over K outputs evaluated by mpmath at 400 digits (and SymPy's own
derivative of E_total), independent of the generated code and of the stable rewrites; the grid reaches
|net| = 800, where the plain formula overflows in floating point and the stable form must not.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy

from stepgrad.core.functions import ACTIVATIONS, LOSSES
from stepgrad.core.symbolic import formulas
from stepgrad.core.symbolic.formulas import NETS, TARGETS
from stepgrad.core.symbolic.printing import N

COMBOS = {f"{c.loss}-{c.activation}": c for c in formulas.COMBINATIONS}
RNG = np.random.default_rng(5)
ROWS = np.concatenate([RNG.normal(0, 2, (12, formulas.K)), [[800.0, -800.0, 3.0], [-60.0, 60.0, 0.5], [0.0, 0.0, 0.0]]])
TARGET_ROWS = RNG.dirichlet(np.ones(formulas.K), len(ROWS))  # probabilities summing to 1


def _mp(expr, symbols):
    f = sympy.lambdify(symbols, expr, "mpmath")

    def value(*args: float) -> float:
        with mpmath.workdps(400):  # 1 - sigmoid(800) is about 1e-348: the reference must hold it
            return float(f(*[mpmath.mpf(float(a)) for a in args]))
    return value


def _activation_of(name: str, nets: np.ndarray) -> np.ndarray:
    if name == "linear":
        return nets
    return ACTIVATIONS[name].forward(nets)


@pytest.mark.parametrize("key", COMBOS)
def test_combination_value_and_signal_equal_the_formula(key):
    c = COMBOS[key]
    entry = LOSSES[c.loss].combination(c.activation)
    symbols = (*NETS, *TARGETS, N)
    terms = [_mp(c.term(NETS, TARGETS[k], k), symbols) for k in range(formulas.K)]
    total = sum(c.term(NETS, TARGETS[k], k) for k in range(formulas.K))
    slopes = [_mp(sympy.diff(total, NETS[k]), symbols) for k in range(formulas.K)]
    values = entry.value(ROWS, TARGET_ROWS)
    signal = entry.signal(ROWS, _activation_of(c.activation, ROWS), TARGET_ROWS)
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(signal))  # stable at |net| = 800
    for row, t, got, delta in zip(ROWS, TARGET_ROWS, values, signal):
        args = (*row, *t, formulas.K)
        # a term next to a large ln-sum-exp (800) is exact to a few units of 800's last digit
        np.testing.assert_allclose(got, [term(*args) for term in terms], rtol=1e-12, atol=1e-13 * abs(row).max())
        # dE_total/dnet_k: SymPy's derivative of the formula as written (the targets sum to 1 here)
        np.testing.assert_allclose(delta, [slope(*args) for slope in slopes], rtol=1e-10, atol=1e-14)


def test_softmax_forward_and_backward_equal_the_formula():
    entry = ACTIVATIONS["softmax"]
    outs = [_mp(formulas.softmax_of(NETS, k), NETS) for k in range(formulas.K)]
    grads = RNG.normal(0, 1, ROWS.shape)
    got, back = entry.forward(ROWS), entry.backward(entry.forward(ROWS), grads)
    # dE/dnet_j = sum_k g_k dout_k/dnet_j, from SymPy's Jacobian of the formula
    jacobian = [[_mp(sympy.diff(formulas.softmax_of(NETS, k), NETS[j]), NETS) for j in range(formulas.K)]
                for k in range(formulas.K)]
    for row, g, out, b in zip(ROWS, grads, got, back):
        np.testing.assert_allclose(out, [f(*row) for f in outs], rtol=1e-12, atol=1e-300)
        matrix = np.array([[f(*row) for f in fs] for fs in jacobian])
        np.testing.assert_allclose(b, matrix.T @ g, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("key", COMBOS)
def test_the_scalar_code_equals_the_numpy_code(key):
    c = COMBOS[key]
    entry = LOSSES[c.loss].combination(c.activation)
    if entry.python is None:
        assert c.activation == "softmax" or entry.coupled  # the pure backend declines a vector entry
        return
    scope = {"exp": math.exp, "log1p": math.log1p, "log": math.log, "abs": abs, "max": max}
    values = entry.value(ROWS, TARGET_ROWS)
    outs = _activation_of(c.activation, ROWS)
    signal = entry.signal(ROWS, outs, TARGET_ROWS)
    for k, (x, t, o) in enumerate(zip(ROWS.ravel().tolist(), TARGET_ROWS.ravel().tolist(), outs.ravel().tolist())):
        here = {"net": x, "target": t, "out": o, "n": formulas.K}
        names = {name: name for name in here}  # the pure backend fills the slots with variable names
        value = eval(entry.python.value.format(**names), scope, here)  # noqa: S307 (generated code)
        slope = eval(entry.python.derivative.format(**names), scope, here)  # noqa: S307
        # math's log1p and exp against numpy's: the last bit may differ
        assert math.isclose(value, values.ravel()[k], rel_tol=1e-14, abs_tol=1e-300), (x, t)
        assert math.isclose(slope, signal.ravel()[k], rel_tol=1e-14, abs_tol=1e-300), (x, t)


def test_the_stable_forms_come_from_the_stated_rewrite_rules():
    """No exp or ln of a raw score is left in a combination's generated value or signal: every one became a
    stable primitive (softmax, logsumexp, softplus, sigmoid) by a rewrite rule."""
    import inspect
    import re

    from stepgrad.core import _generated

    for (loss, activation), g in _generated.COMBINATIONS.items():
        for function in (g["value"], g["delta"]):
            if function is None:
                continue
            source = inspect.getsource(function)
            assert not re.search(r"numpy\.(exp|log)\b", source), (loss, activation, source)
            assert "_stable." in source
