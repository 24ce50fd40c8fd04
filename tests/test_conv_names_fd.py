"""Every derivative name of a layer-table network is true: central finite differences, name by name.

For each name in named_values: dE_total[2]/dnet_c1[1,2,2][2] nudges net_c1 at channel 1, row 2,
column 2 of sample 2 (everything before it held) and watches sample 2's E_total; dout/dnet watches
the layer's out at the same place; dE_total/dk1[...] nudges the kernel weight and watches the batch's
E_total (with a sample: that sample's). Step 1e-6; |numeric - named| <= 1e-6 * max(|named|, 1e-2).
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import slow_after
from conv_gallery import random_spec
from layer_helpers import parameter_key
from stepgrad.core import names
from stepgrad.core.layers import engine
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.layers.values import named_values

STEP, RTOL, FLOOR = 1e-6, 1e-6, 1e-2


def numeric(net: LayerNetwork, name: str) -> float:
    n = names.parse(name)
    assert n.kind == "partial" and n.top is not None and n.bottom is not None
    s = 0 if n.sample is None else n.sample - 1
    bottom, top = n.bottom, n.top
    x, t = net.inputs, net.targets

    def measure(fwd: engine.Forward) -> float:
        if top.kind == "error":
            return float(fwd.sample_errors[s]) if n.sample is not None or bottom.kind in ("net", "out") else fwd.error
        assert top.kind == "out" and top.neuron == bottom.neuron and top.position == bottom.position
        return float(fwd.values[str(top.neuron)].out[(s, *(p - 1 for p in top.position))])

    if bottom.kind in ("net", "out"):
        index = (s, *(p - 1 for p in bottom.position))
        up = engine.forward(net, x, t, nudge=(str(bottom.neuron), bottom.kind, index, STEP))
        down = engine.forward(net, x, t, nudge=(str(bottom.neuron), bottom.kind, index, -STEP))
        return (measure(up) - measure(down)) / (2 * STEP)
    assert bottom.kind in ("weight", "bias")
    key = parameter_key(net, str(bottom.but(after=False, sample=None)))
    params = {(layer.label, role): value for layer in net.all_layers() for role, value in layer.params.items()}
    found = []
    for sign in (1, -1):
        moved = dict(params)
        moved[key[:2]] = params[key[:2]].copy()
        moved[key[:2]][key[2]] += sign * STEP
        found.append(measure(engine.forward(net, x, t, params=moved)))
    return (found[0] - found[1]) / (2 * STEP)


def check_all(net: LayerNetwork) -> int:
    values = named_values(net, engine.step(net, net.inputs, net.targets))
    checked = 0
    for name, value in values.items():
        if names.parse(name).kind != "partial":
            continue
        got = numeric(net, name)
        assert abs(got - value) <= RTOL * max(abs(value), FLOOR), f"{name}: named {value}, numeric {got}"
        checked += 1
    return checked


@pytest.mark.parametrize("seed", slow_after(3, range(20)))
def test_every_name_of_random_networks_by_finite_differences(seed: int) -> None:
    spec = random_spec(seed, smooth=True, samples=2 if seed % 2 else 1)
    assert check_all(LayerNetwork.from_dict(spec)) > 0


def test_names_round_trip_through_the_parser() -> None:
    net = LayerNetwork.from_dict(random_spec(5, samples=2))
    for name in named_values(net, engine.step(net, net.inputs, net.targets)):
        assert str(names.parse(name)) == name


@pytest.mark.parametrize("seed", [1, 4, 7, 8])
def test_max_pool_names_by_finite_differences(seed: int) -> None:
    # random values have no ties, so the max is smooth around the point
    spec = random_spec(seed, smooth=True, samples=2)
    spec["layers"][1:1] = [{"type": "maxpool", "kernel": 2, "stride": 1}]
    spec["layers"][0]["shape"][1:] = [n + 1 for n in spec["layers"][0]["shape"][1:]]
    for sample in spec["samples"]:
        sample["inputs"] = np.random.default_rng(seed).uniform(-1, 1, spec["layers"][0]["shape"]).tolist()
    net = LayerNetwork.from_dict(spec)
    assert any(layer.kind == "maxpool" for layer in net.all_layers())
    assert check_all(net) > 0
