"""The checker marks a correct hand calculation of every registry activation and loss as correct.

A solution worked as a person with a calculator works it (every value rounded to 4 decimals and carried
on: `explain --round 4`, which test_check_round checks against an independent by-hand computation) is
written as `name = value` lines and checked in hand-calculation mode: every answer is correct. The
registry is iterated, so a new entry is checked the moment it exists. A formula the calculator cannot evaluate is an error that names it,
never a quiet `wrong`: a throwaway entry shows both sides.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import stepgrad
from stepgrad.core.functions import ACTIVATIONS, LOSSES
from stepgrad.core.trace import Step
from stepgrad.teach.check import check, loads
from stepgrad.teach.check.context import build
from stepgrad.teach.check.formula import FormulaError

ROUND = 4


def network(activation: str, loss: str, hidden: str | None = None) -> stepgrad.Network:
    """2-2-2 (3-3-3 under a softmax output) ending in `activation` with `loss`, biases updated; targets
    that reach both pieces of a piecewise loss, or a distribution for a combined one."""
    out = ACTIVATIONS[activation]
    hidden = hidden or (activation if out.hidden_ok else "tanh")
    size = 2 if out.hidden_ok else 3
    combined = LOSSES[loss].combination(activation) is not None
    targets = [1.0] + [0.0] * (size - 1) if combined else [2.6] + [0.3 * k for k in range(size - 1)]
    inputs = [0.35, -0.8, 0.5][:size]
    return stepgrad.Network.from_dict({
        "name": f"{activation} {loss}", "layers": [size, size, size], "activations": [hidden, activation],
        "loss": loss, "learning_rate": 0.5, "seed": 5, "update_biases": True, "biases": [[0.1, -0.3, 0.2][:size], 0.2],
        "samples": [{"inputs": inputs, "targets": targets}, {"inputs": [-x / 2 for x in inputs], "targets": targets}]})


def solution(net: stepgrad.Network) -> str:
    """Every computed quantity of one step, rounded to ROUND decimals and carried on, as `name = value` lines."""
    trace = stepgrad.explain(net, round_to=ROUND)
    return "\n".join(f"{s.name} = {s.value:.{ROUND}f}" for s in trace if s.text)


PAIRS = [(a, l) for a in ACTIVATIONS for l, entry in LOSSES.items() if entry.problem(a) is None]


def test_every_entry_is_in_a_pair():
    assert {a for a, _ in PAIRS} == set(ACTIVATIONS) and {l for _, l in PAIRS} == set(LOSSES)


@pytest.mark.parametrize(("activation", "loss"), PAIRS, ids=[f"{a}-{l}" for a, l in PAIRS])
def test_a_correct_hand_calculation_is_never_wrong(activation, loss):
    net = network(activation, loss)
    answers = loads(solution(net))
    rounded = check(net, answers, round_to=ROUND)
    assert rounded.counts["wrong"] == 0, [(r.name, r.given, r.expected) for r in rounded.results if r.verdict == "wrong"]
    assert rounded.counts["correct"] == len(rounded.results), rounded.summary()


# -- a throwaway entry: softsign, written in a notation the calculator's grammar does not read ---------------

def _softsign(net):
    return net / (1 + np.abs(net))


SOFTSIGN = replace(ACTIVATIONS["tanh"], name="softsign", forward=_softsign,
                   derivative=lambda net, out: (1 - np.abs(out)) ** 2,
                   latex=r"\frac{«net»}{1 + |«net»|}", text="«net» / (1 + |«net»|)",
                   derivative_latex=r"(1 - |«out»|)^{2}", derivative_text="(1 - |«out»|)^2",
                   python=None, inplace=None, kernel=None, derivation=())


LOG_COSH = replace(LOSSES["half_squared_error"], name="log_cosh",
                   value=lambda out, target: np.log(np.cosh(out - target)),
                   gradient=lambda out, target: np.tanh(out - target),
                   latex=r"\ln\cosh(«out» - «target»)", text="ln(cosh(«out» - «target»))",
                   gradient_latex=r"\tanh(«out» - «target»)", gradient_text="tanh(«out» - «target»)",
                   python=None, kernel=None, derivation=())


def test_a_registry_function_the_grammar_cannot_read_is_evaluated_by_its_entry(monkeypatch):
    monkeypatch.setitem(ACTIVATIONS, "softsign", SOFTSIGN)  # | .. | and cosh: not in the grammar
    monkeypatch.setitem(LOSSES, "log_cosh", LOG_COSH)
    net = network("softsign", "log_cosh")
    trace = stepgrad.explain(net)
    assert trace.values["out_h1[1]"] == pytest.approx(_softsign(trace.values["net_h1[1]"]), rel=1e-15)
    report = check(net, loads(solution(net)), round_to=ROUND)
    assert report.counts["correct"] == len(report.results) > 20, report.summary()
    # and a slip is still found (the values after it follow from it)
    wrong = check(net, loads(_shifted(solution(net), "out_h1[1]", 0.5)), round_to=ROUND)
    assert [r.name for r in wrong.results if r.verdict == "wrong"] == ["out_h1[1]"]


def _shifted(text: str, name: str, by: float) -> str:
    """The solution with `name`'s value moved by `by`."""
    lines = []
    for line in text.splitlines():
        key, _, value = line.partition(" = ")
        lines.append(f"{key} = {float(value) + by:.{ROUND}f}" if key == name else line)
    return "\n".join(lines)


def test_a_formula_the_calculator_cannot_evaluate_is_an_error_naming_it(monkeypatch):
    # its derivative needs net, but the template names only out: the entry cannot be called from the text
    broken = replace(SOFTSIGN, derivative=lambda net, out: 1 / (1 + np.abs(net)) ** 2)
    monkeypatch.setitem(ACTIVATIONS, "softsign", broken)
    net = network("softsign", "half_squared_error")
    with pytest.raises(FormulaError, match=r"cannot evaluate dout_o1\[1\]/dnet_o1\[1\] = \(1 - \|«out_o1\[1\]»\|\)\^2"):
        check(net, loads("out_h1 = 0.5"), round_to=ROUND)


def test_recompute_refuses_an_unknown_function_loudly():
    ctx = build(stepgrad.builtin(), loads("net_h1 = 0.3775"))
    step = Step("y", 0.5, "out", text="gamma(«net_h1»)")
    with pytest.raises(FormulaError, match=r"y = gamma\(«net_h1»\)"):
        ctx.recompute(step, ctx.own)
    assert np.isnan(ctx.recompute(replace(step, text="ln(0 - «net_h1»)"), ctx.own))  # out of its domain: no value


@pytest.mark.parametrize(("text", "b", "want"), [
    ("(1 if «b» > 0, else 0.01)", -2.0, 0.01), ("(1 if «b» > 0 else 0.01)", 2.0, 1.0),
    ("(«b» / 2 if abs(«b») <= 1, else 7)", 1.0, 0.5), ("(«b» if «b» ≥ 3, else 0)", 2.0, 0.0),
])
def test_the_grammar_reads_a_piecewise_formula_in_words(text, b, want):
    from stepgrad.teach.check.formula import evaluate, parse

    assert evaluate(parse(text), {"b": b}.__getitem__) == want
