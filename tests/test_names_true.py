"""Every name in a trace is true: a formula refers only to quantities defined before it, and a
quantity named dA/dB is the partial derivative of A with respect to B, both as named: with several
samples dE_total[k]/dout_o1[k] is sample k's own error's, and dE_total/dout_o1[k] (the batch error's,
a name `stepgrad check` reads) is 1/N of it with the mean over N samples.

The reference is a central finite difference taken through the trace's own forward definitions
(net, out, E): B is moved by ±h, everything that depends on B is recomputed from its formula with
the checker's calculator, and A is read off. Networks are drawn at random over every activation
and loss of the registry (functions.ACTIVATIONS, functions.LOSSES), so a new entry is tested here
the moment it exists.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import stepgrad
from stepgrad.core import names
from stepgrad.core.errors import SpecError
from stepgrad.core.functions import ACTIVATIONS, LOSSES
from stepgrad.teach.check.aliases import batch_scale
from stepgrad.teach.check.formula import evaluate, parse

SEEDS = 15  # 15 seeds x every (output activation, loss) the spec accepts: about 200 networks
QUICK_SEEDS = 3  # the seeds `make check` runs (the others are marked slow)
COMBINATIONS = list(itertools.product(ACTIVATIONS, LOSSES))  # (output activation, loss)


def _network(output: str, loss: str, seed: int) -> stepgrad.Network | None:
    """A random network with `output` activation and `loss`, or None if the spec refuses the pair."""
    rng = np.random.default_rng(seed)
    hidden_choices = list(ACTIVATIONS)
    depth = int(rng.integers(1, 4))
    layers = [int(n) for n in rng.integers(1, 5, size=depth + 1)] + [int(rng.integers(2, 4))]
    hidden = [hidden_choices[(seed + l) % len(hidden_choices)] for l in range(depth)]
    samples = int(rng.integers(1, 4))
    targets = rng.dirichlet(np.ones(layers[-1]), size=samples)  # sums to 1: every loss accepts it
    biases = [float(rng.normal(0, 0.5)) if rng.random() < 0.5 else rng.normal(0, 0.5, size=n).tolist()
              for n in layers[1:]]
    spec = {
        "layers": layers, "activations": hidden + [output], "loss": loss, "learning_rate": 0.3,
        "weights": [rng.normal(0, 1.0, size=(layers[l + 1], layers[l])).tolist() for l in range(len(layers) - 1)],
        "biases": biases,
        "samples": [{"inputs": rng.normal(0, 1, size=layers[0]).tolist(), "targets": t.tolist()} for t in targets],
    }
    for hidden_act in (hidden, ["sigmoid"] * depth):  # an activation that is not allowed hidden: try sigmoid
        spec["activations"] = hidden_act + [output]
        try:
            return stepgrad.Network.from_dict(spec)
        except SpecError:
            continue
    return None


def _case_list():
    """Every (output activation, loss, seed) whose network the spec accepts."""
    for output, loss in COMBINATIONS:
        for seed in range(SEEDS):
            if _network(output, loss, seed) is not None:
                yield pytest.param(output, loss, seed, id=f"{output}-{loss}-{seed}",
                                   marks=pytest.mark.slow if seed >= QUICK_SEEDS else ())


def test_every_registry_entry_is_covered():
    """Every activation and loss builds at least one network here (a refused entry would test nothing)."""
    built = [(o, l, s) for o, l in COMBINATIONS for s in range(SEEDS) if _network(o, l, s) is not None]
    assert {o for o, _, _ in built} | {a for o, l, s in built for a in _network(o, l, s).activations} == set(ACTIVATIONS)
    assert {l for _, l, _ in built} == set(LOSSES)


class _Forward:
    """The trace's forward definitions (net, out, E), recomputable with one quantity moved."""

    def __init__(self, trace: stepgrad.Trace):
        self.values = trace.values
        self.steps = [s for key in ("forward", "error") for s in trace.section(key).steps]
        self.trees = {s.name: parse(s.text) for s in self.steps}
        self.operands = {s.name: set(s.operands) for s in self.steps}

    def moved(self, name: str, to: float) -> dict[str, float]:
        values = dict(self.values)
        values[name] = to
        changed = {name}
        for step in self.steps:
            if step.name != name and self.operands[step.name] & changed:
                values[step.name] = evaluate(self.trees[step.name], values.__getitem__)
                changed.add(step.name)
        return values


def _agrees(value: float, forward: _Forward, a: str, b: str) -> bool | None:
    """Whether `value` is dA/dB by central differences through the forward definitions (None on a kink)."""
    x, h = forward.values[b], 1e-6 * max(1.0, abs(forward.values[b]))
    up, down, here = forward.moved(b, x + h)[a], forward.moved(b, x - h)[a], forward.values[a]
    if not np.isclose((up - here) / h, (here - down) / h, rtol=1e-3, atol=1e-6):
        return None  # B sits on a kink (relu at 0): no derivative to compare with
    fd = (up - down) / (2 * h)
    if value == pytest.approx(fd, rel=1e-5, abs=1e-7):
        return True
    # A saturated output (a sigmoid at 1 - 1e-5 under cross-entropy's ln(1 - out)) leaves the error few
    # correct digits, too few for a step of 1e-6: then the fourth-order difference with a wider step
    wide = 100 * h
    far = [forward.moved(b, x + k * wide)[a] for k in (2, 1, -1, -2)]
    fd = (-far[0] + 8 * far[1] - 8 * far[2] + far[3]) / (12 * wide)
    return value == pytest.approx(fd, rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("output, loss, seed", list(_case_list()))
def test_names_are_true(output, loss, seed):
    net = _network(output, loss, seed)
    assert net is not None
    traces = [stepgrad.explain(net), stepgrad.explain(net, update_order="sequential")]
    for trace in traces:  # every formula refers only to names defined earlier
        defined: set[str] = set()
        for step in trace:
            missing = [op for op in step.operands if op not in defined]
            assert not missing, f"{step.name} uses {missing} before they are defined"
            defined.add(step.name)

    trace = traces[0]  # synchronous: every gradient is the derivative of the error before the update
    forward = _Forward(trace)
    samples = int(trace.meta.get("samples") or 1)
    checked = kinks = batch = 0
    for step in trace:
        p = names.parse(step.name)
        if p.kind != "partial":
            continue
        a, b = names.sides(step.name)  # dA/dB: both sides are quantities of the trace, as named
        assert a in forward.values and b in forward.values, f"{step.name}: {a} or {b} is not a quantity of the trace"
        if p.sample is not None:  # sample k's derivative: its own error E_total[k] (never the batch's E_total)
            assert not p.batch and a != names.error() and names.parse(a).sample == p.sample, step.name
        agrees = _agrees(step.value, forward, a, b)
        if agrees is None:
            kinks += 1
            continue
        assert agrees, f"{step.name} = {step.value} is not d{a}/d{b} by finite differences"
        checked += 1
        if p.sample is not None and a == names.at(names.error(), p.sample) and b != str(p.bottom):
            # the batch error's derivative with respect to sample k's quantity: the name the rule keeps for it
            whole = names.batch_partial(names.error(), str(p.bottom), p.sample)
            assert names.sides(whole) == (names.error(), b)
            mean = batch_scale(net) * step.value  # what `stepgrad check` expects under that name
            assert _agrees(mean, forward, names.error(), b), f"{whole} = {mean} is not its finite difference"
            batch += 1
    assert checked > 0 and kinks <= checked // 10
    assert (batch > 0) == (samples > 1)


def test_the_deck_keeps_its_names_and_softmax_gets_true_ones():
    deck = stepgrad.explain(stepgrad.builtin()).values
    for name in ("dE_o1/dnet_o1", "dE_o2/dnet_o2", "dE_o1/dout_h1", "dE_o2/dout_h2", "dE_total/dout_h1"):
        assert name in deck
    for loss in LOSSES:
        net = _network("softmax", loss, 0)
        if net is None:
            continue
        trace_names = set(stepgrad.explain(net).values)
        assert "dE_total/dnet_o1" in trace_names
        assert not any(n.startswith(("dE_o", "dE_h")) for n in trace_names), loss
