"""`--group weight`: the deck's order, one weight at a time, holding exactly the steps of `--group layer`."""

from __future__ import annotations

import pytest

import stepgrad
from gallery import SMALL, network
from stepgrad.tracing.group import group

VARIANTS = [{}, {"update_order": "sequential"}, {"optimizer": "adam", "update_order": "synchronous"}]


def _forward_references(trace) -> set[tuple[str, str]]:
    """(step, operand) pairs where the operand is computed later in the trace (given values excluded)."""
    position = {}
    for k, s in enumerate(trace):
        position.setdefault(s.name, k)
    return {(s.name, op) for k, s in enumerate(trace) for op in s.operands if position.get(op, -1) > k}


@pytest.mark.parametrize("kw", VARIANTS, ids=["synchronous", "sequential", "adam"])
@pytest.mark.parametrize("key", SMALL)
def test_same_steps_and_values_in_both_groupings(key, kw):
    net = network(key)
    if kw.get("update_order") == "sequential" and net.inputs is None:
        pytest.skip("no samples")
    layered = stepgrad.explain(net, **kw)
    by_weight = group(layered, "weight")
    assert sorted((s.name, s.value) for s in layered) == sorted((s.name, s.value) for s in by_weight)
    assert len(list(layered)) == len(list(by_weight))
    # the deck's order introduces a factor before it is used wherever the layer order does
    assert _forward_references(by_weight) <= _forward_references(layered)


def test_the_deck_is_told_weight_by_weight_as_the_slides_do():
    trace = group(stepgrad.explain(stepgrad.builtin()), "weight")
    keys = [s.key for s in trace.sections]
    assert keys == ["given", "forward", "error", "weight_w5", "weight_w6", "weight_w7", "weight_w8",
                    "weight_w1", "weight_w2", "weight_w3", "weight_w4", "after", "error_after"]
    w5 = [s.name for s in trace.section("weight_w5").steps]
    # the slides "Calculating the w5 change": three factors, their product, the new w5
    assert w5.index("dE_total/dout_o1") < w5.index("dout_o1/dnet_o1") < w5.index("dnet_o1/dw5") \
        < w5.index("dE_total/dw5") < w5.index("w5+") == len(w5) - 1
    # w6 refers back to the factors w5 introduced instead of deriving them again
    assert [s.name for s in trace.section("weight_w6").steps] == ["dnet_o1/dw6", "dE_total/dw6", "w6+"]
    assert trace.values["w5+"] == pytest.approx(0.35891648, abs=5e-9)  # the deck's figure


def test_trained_biases_get_their_own_group():
    trace = group(stepgrad.explain(network("2-3-3-1 relu, per-neuron biases")), "weight")
    keys = [s.key for s in trace.sections]
    assert "bias_b_o1" in keys and "bias_b_h1_1" in keys
    assert keys.index("bias_b_o1") < keys.index("weight_w7")  # a layer's biases follow its weights
    assert trace.section("bias_b_o1").steps[-1].name == "b_o1+"


def test_unknown_grouping_is_refused():
    with pytest.raises(ValueError, match="weight"):
        group(stepgrad.explain(stepgrad.builtin()), "neuron")
