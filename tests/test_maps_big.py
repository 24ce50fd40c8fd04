"""The maps page of a conv network too large to trace while the page waits (web/maps_big.py): its answer, read from
the engine's step, is the trace's answer (every map, kernel value, gradient and update, the network and E_total equal
to the last digit) on every network small enough to have both; the 2x16x16 course-sized network is answered from the
engine in a fraction of a second, says so, and gives each kernel its geometry for the page to find a weight's
positions (checked in Chromium by tests/test_layer_big_browser.py)."""

from __future__ import annotations

import copy
import time

import pytest

from big_layer_nets import BIG_CONV
from conv_gallery import CNN, STRIDED, random_spec
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.web import maps, maps_big
from test_layer_edit import CONV

SPECS = {"conv": CONV, "strided": STRIDED, "cnn": CNN, **{f"random{seed}": random_spec(seed) for seed in range(4)}}


@pytest.mark.parametrize("name", list(SPECS))
def test_the_engines_answer_is_the_traces(name: str) -> None:
    net = LayerNetwork.from_dict(copy.deepcopy(SPECS[name]))
    assert not maps_big.too_big_to_trace(net)
    for sample in range(1, len(net.require_samples()[0]) + 1):
        traced, read = maps._maps(sample, net), maps_big.engine_maps(net, sample, maps.Reader)
        assert read["maps"] == traced["maps"] and read["network"] == traced["network"]
        assert read["error"] == traced["error"] and read["convolution"] == traced["convolution"]
        assert len(read["kernels"]) == len(traced["kernels"])
        for mine, theirs in zip(read["kernels"], traced["kernels"]):
            assert {k: mine[k] for k in ("name", "layer", "input", "shape", "output")} == \
                   {k: theirs[k] for k in ("name", "layer", "input", "shape", "output")}
            for a, b in zip(mine["entries"], theirs["entries"], strict=True):
                assert (a["name"], a["value"], a["gradient"], a["updated"]) == \
                       (b["name"], b["value"], b["gradient"], b["updated"])
                assert a["touches"] is None and b["touches"]  # the page finds them from the geometry


def test_a_course_sized_conv_network_is_answered_from_the_engine_quickly() -> None:
    net = LayerNetwork.from_dict(copy.deepcopy(BIG_CONV))
    assert maps_big.touches(net) == 4 * 2 * 9 * 256 + 2 * 4 * 4 * 9 * 64 and maps_big.too_big_to_trace(net)
    began = time.perf_counter()
    answer = maps._maps(2, net)
    assert time.perf_counter() - began < 3.0  # 0.3 s idle; by the trace: 5 s
    assert "36,864 output positions" in answer["summarised"] and answer["sample"] == 2
    k2 = next(k for k in answer["kernels"] if k["name"] == "k2")
    assert k2["geometry"] == {"kernel": [3, 3], "stride": [1, 1], "padding": [1, 1], "flipped": False, "one_d": False,
                              "in_shape": [4, 8, 8], "out_shape": [4, 8, 8], "signal": "dE_total/dnet_c2"}
    assert k2["input"] == "out_p1" and len(answer["maps"]["out_c1"]) == 4
    assert len(answer["maps"]["out_c1"][0]["rows"]) == 16 and answer["maps"]["out_d1"][0]["rows"][0][0] > 0
