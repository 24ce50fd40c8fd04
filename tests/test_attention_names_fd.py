"""Every derivative name of a network with an attention head is true, by finite differences (test_norm_names_fd's).

dE_total/dscore_a1[i,j] nudges one score before the softmax (the row's weights follow);
dE_total/da_a1[i,j] nudges one weight after it (z follows, the other weights of the row do not);
q, k, v, z and out are nudged inside the head, the rest recomputed.
"""

from __future__ import annotations

import pytest

from conftest import slow_after
from seq_gallery import random_attention_spec
from stepgrad.core.layers import engine
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.layers.values import named_values
from test_norm_names_fd import check_all

HEAD = {"layers": [{"type": "sequence", "steps": 3, "features": 2},
                   {"type": "attention", "scale": True, "causal": False, "output": "last", "bias": False,
                    "weights_q": [[1.0, 0.5], [-0.5, 1.0]], "weights_k": [[0.8, -0.3], [0.2, 1.1]],
                    "weights_v": [[1.0, 0.0], [0.0, 1.0]], "weights_o": [[0.6, -0.4], [0.3, 0.9]]},
                   {"type": "dense", "neurons": 1, "activation": "sigmoid", "weights": [[0.7, -0.2]]}],
        "samples": [{"inputs": [[1.0, 0.2], [-0.4, 0.9], [0.3, -0.6]], "targets": [0.8]}]}


@pytest.mark.parametrize("seed", slow_after(4, range(24)))
def test_every_name_of_random_attention_networks(seed: int) -> None:
    assert {"q", "k", "v", "score", "a", "z"} <= check_all(LayerNetwork.from_dict(random_attention_spec(seed, smooth=True)))


def test_the_weights_are_a_softmax_over_the_keys_and_scaled() -> None:
    net = LayerNetwork.from_dict(HEAD)
    values = named_values(net, engine.step(net, net.inputs, net.targets))
    for i in (1, 2, 3):
        assert sum(values[f"a_a1[{i},{j}]"] for j in (1, 2, 3)) == pytest.approx(1.0, rel=1e-15)
    q = [values[f"q_a1[1,{c}]"] for c in (1, 2)]
    k = [values[f"k_a1[2,{c}]"] for c in (1, 2)]
    assert values["score_a1[1,2]"] == pytest.approx((q[0] * k[0] + q[1] * k[1]) / 2 ** 0.5, rel=1e-14)
    # through the softmax: dE/dscore[i,j] = a[i,j] * (dE/da[i,j] - sum over j' of a[i,j'] dE/da[i,j'])
    row = [(values[f"a_a1[3,{j}]"], values[f"dE_total/da_a1[3,{j}]"]) for j in (1, 2, 3)]
    mean = sum(a * d for a, d in row)
    assert values["dE_total/dscore_a1[3,1]"] == pytest.approx(row[0][0] * (row[0][1] - mean), rel=1e-12)
    assert check_all(net) >= {"q", "k", "v", "score", "a", "z", "out"}


def test_a_causal_mask_leaves_the_later_keys_out() -> None:
    spec = {**HEAD, "layers": [HEAD["layers"][0], {**HEAD["layers"][1], "causal": True}, HEAD["layers"][2]]}
    net = LayerNetwork.from_dict(spec)
    values = named_values(net, engine.step(net, net.inputs, net.targets))
    assert values["a_a1[1,1]"] == 1.0 and "a_a1[1,2]" not in values and "score_a1[2,3]" not in values
    assert check_all(net)
