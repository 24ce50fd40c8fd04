"""Every derivative name of a recurrent network is true, by finite differences (test_norm_names_fd's).

dE_total/dh1_t2[j] nudges the state of step 2 inside the unrolled layer, so that steps 3, 4, ... are
recomputed from it: the total derivative through every later step (what BPTT carries back), not only
the path to the output at step 2. dE_total/dnet_h1_t2[j] likewise; dh1_t2[j]/dnet_h1_t2[j] watches
the state; dE_total/dWh1[j,k] nudges the shared weight (every step uses it). With truncated BPTT the
gradients through the rnn are not derivatives: they are not named (test_truncated_... checks that).
"""

from __future__ import annotations

import pytest

from conftest import slow_after
from seq_gallery import random_rnn_spec
from stepgrad.core import names
from stepgrad.core.layers import engine
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.layers.values import named_values
from test_norm_names_fd import check_all


@pytest.mark.parametrize("seed", slow_after(4, range(24)))
def test_every_name_of_random_recurrent_networks(seed: int) -> None:
    checked = check_all(LayerNetwork.from_dict(random_rnn_spec(seed, smooth=True, truncate=False)))
    assert {"net", "out", "weight"} <= checked


TWO_UNITS = {
    "layers": [{"type": "sequence", "steps": 3, "features": 1},
               {"type": "rnn", "hidden": 2, "output": "last", "weights_x": [[0.5], [-0.4]],
                "weights_h": [[0.3, -0.2], [0.6, 0.1]], "biases": [0.1, -0.1]},
               {"type": "dense", "neurons": 1, "activation": "sigmoid", "weights": [[0.8, -0.5]]}],
    "samples": [{"inputs": [[0.3], [-0.2], [0.5]], "targets": [0.9]}]}


def test_the_state_derivative_is_the_total_through_later_steps() -> None:
    # loss at the last step only: dE_total/dh1_t1 is not 0 although no output reads h1_t1 directly
    net = LayerNetwork.from_dict(TWO_UNITS)
    values = named_values(net, engine.step(net, net.inputs, net.targets))
    assert abs(values["dE_total/dh1_t1[1]"]) > 1e-3
    # one term per time step: dE_total/dWh1[1,2] = sum over t of dE_total/dnet_h1_t<t>[1] * h1_t<t-1>[2]
    terms = [values[f"dE_total/dnet_h1_t{t}[1]"] * values[f"h1_t{t - 1}[2]"] for t in (1, 2, 3)]
    assert values["dE_total/dWh1[1,2]"] == pytest.approx(sum(terms), rel=1e-14)
    assert values["dE_total/dWh1[1,2]"] != pytest.approx(terms[-1], rel=1e-3)  # not the last step's alone
    assert check_all(net) >= {"net", "out", "weight", "bias"}


def test_truncated_bptt_names_no_gradient_through_the_rnn() -> None:
    net = LayerNetwork.from_dict(random_rnn_spec(5, smooth=True, truncate=True, samples=2))
    values = named_values(net, engine.step(net, net.inputs, net.targets))
    partials = [names.parse(name) for name in values if names.parse(name).kind == "partial"]
    through = [p for p in partials if p.top.kind == "error" and (
        str(p.bottom.parameter or "").startswith(("Wx", "Wh", "bh")) or "_t" in str(p.bottom.neuron))]
    assert not through
    assert "Wh1[1,1]+" in values  # the truncated step's new weights are still shown
    assert check_all(net)  # whatever is named is true


@pytest.mark.parametrize("role,position", [("weight_h", (1, 2)), ("weight_x", (2, 1)), ("bias", (1,))])
def test_the_bptt_plan_has_one_term_per_step_adding_up_to_the_gradient(role: str, position: tuple) -> None:
    net = LayerNetwork.from_dict(TWO_UNITS)
    rec = engine.step(net, net.inputs, net.targets)
    values = named_values(net, rec)
    rnn = net.layers[0]
    terms = rnn.plan(rec.forward.values["h1"].cache, role, position)
    assert [t for t, *_ in terms] == [1, 2, 3]
    for _step, delta, factor, contribution in terms:  # each term is the product of two named values
        assert contribution[0] == pytest.approx(values[delta] * (1.0 if factor == "1" else values[factor]), rel=1e-15)
    name = rnn.parameter_name(role, position)
    assert sum(c[0] for *_, c in terms) == pytest.approx(values[names.gradient(name)], rel=1e-14)
