"""The trace of a layer-table network: every step's formula gives its value, the values are the engine's,
the new factor names (dnet_c1[...]/dk1[...]) are true by finite differences, and the JSON round-trips."""

from __future__ import annotations

import pytest

from conftest import slow_after
from conv_gallery import random_spec
from layer_helpers import factor_by_differences
from stepgrad.core import names
from stepgrad.core.layers import engine
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.layers.values import named_values
from stepgrad.core.trace import Trace
from stepgrad.teach.check.formula import evaluate, parse
from stepgrad.tracing.layered import explain_layers
from test_conv_names_fd import STEP


@pytest.mark.parametrize("seed", slow_after(6, range(40)))
def test_every_formula_gives_its_value(seed: int) -> None:
    net = LayerNetwork.from_dict(random_spec(seed))
    trace = explain_layers(net)
    values = trace.values
    engine_values = named_values(net, engine.step(net, net.inputs, net.targets, after=True))
    checked = 0
    for step in trace:
        if step.name in engine_values:
            assert step.value == engine_values[step.name], step.name
        if step.text:
            got = evaluate(parse(step.text), values.__getitem__)
            assert got == pytest.approx(step.value, rel=1e-9, abs=1e-12), (step.name, step.text)
            checked += 1
    assert checked > 0
    assert set(engine_values) <= set(values)  # every engine name is in the trace


def test_factor_names_by_finite_differences() -> None:
    net = LayerNetwork.from_dict(random_spec(11, smooth=True, samples=2))
    trace = explain_layers(net)
    factors = [s for s in trace if s.kind == "partial" and names.parse(s.name).top.kind == "net"]
    assert factors
    for step in factors:
        got = factor_by_differences(net, names.parse(step.name), STEP)
        assert got == pytest.approx(step.value, rel=1e-6, abs=1e-8), step.name


def test_json_round_trip() -> None:
    trace = explain_layers(LayerNetwork.from_dict(random_spec(2)))
    again = Trace.from_dict(trace.to_dict())
    assert again.values == trace.values and again.meta == trace.meta
