"""Every derivative name of a network with layernorm or batchnorm is true, by central finite differences.

dE_total[s]/dq[s] for a per-sample quantity q (net, out, xhat, and layernorm's mu and var) nudges
q in sample s (everything before it held, everything after recomputed: xhat and var follow a nudged
mu) and watches the sum of all samples' errors (the samples do not mix: that is sample s's own
E_total); dE_total/dq[s] (samples mixed by batchnorm in training mode) watches the batch's E_total;
a batch quantity (batchnorm's mu_n1[j], var_n1[j], a parameter) watches the batch's E_total;
dE_total[s]/dgamma_n1[j] (samples not mixed) watches sample s's. Steps 1e-6 and 5e-7, extrapolated
(Richardson); |numeric - named| <= 1e-6 * max(|named|, 1e-2).
"""

from __future__ import annotations

import re

import pytest

from conftest import slow_after
from layer_helpers import parameter_key
from seq_gallery import random_norm_spec
from stepgrad.core import names
from stepgrad.core.layers import engine
from stepgrad.core.layers.attention import Attention
from stepgrad.core.layers.norm import Norm
from stepgrad.core.layers.rnn import Rnn
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.core.layers.values import named_values

STEP, RTOL, FLOOR = 1e-6, 1e-6, 1e-2
RECURRENT = re.compile(r"h(\d+)_t(\d+)")  # a recurrent layer's label and time step


def numeric(net: LayerNetwork, name: str) -> float:
    """Richardson's extrapolation of two central differences (steps STEP and STEP/2): a small var + eps
    curves 1/sqrt(var + eps) too much for one central difference to reach 1e-6."""
    return (4 * central(net, name, STEP / 2) - central(net, name, STEP)) / 3


def central(net: LayerNetwork, name: str, step: float) -> float:
    n = names.parse(name)
    assert n.kind == "partial" and n.top is not None and n.bottom is not None
    bottom, top = n.bottom, n.top
    assert top.kind == "error" or (top.kind == "out" and bottom.kind == "net")
    s = 0 if n.sample is None else n.sample - 1
    x, t = net.inputs, net.targets
    count = len(x)
    per_sample = n.sample is not None or count == 1 or bottom.kind in ("net", "out") or (
        bottom.kind == "inner" and bottom.symbol not in ("mu", "var"))
    position = tuple(p - 1 for p in bottom.position)

    recurrent = RECURRENT.fullmatch(str(bottom.neuron)) if bottom.kind in ("net", "out") else None

    def measure(fwd: engine.Forward) -> float:
        if top.kind == "out" and recurrent:  # dh1_t2[j]/dnet_h1_t2[j]: the state in the layer's record
            return float(fwd.values[f"h{recurrent.group(1)}"].cache["h"][s, int(recurrent.group(2)) - 1, position[0]])
        if top.kind == "out":
            return float(fwd.values[str(top.neuron)].out[(s, *position)])
        if n.batch:  # dE_total/dq[s] in a batch whose samples mix: the batch error's derivative
            return fwd.error
        if bottom.kind in ("weight", "bias") and n.sample is not None:
            return float(fwd.sample_errors[s])  # only where samples do not mix
        return float(fwd.sample_errors.sum()) if per_sample and bottom.kind not in ("weight", "bias") else fwd.error

    def run(sign: int) -> engine.Forward:
        if recurrent:  # net_h1_t2[j] or h1_t2[j]: nudged inside the unrolled layer, the later steps recomputed
            twin = net.copy()
            layer = next(layer for layer in twin.all_layers() if layer.label == f"h{recurrent.group(1)}")
            assert isinstance(layer, Rnn)
            which = "net" if bottom.kind == "net" else "h"
            layer.nudge = (which, (s, int(recurrent.group(2)) - 1, position[0]), sign * step)
            return engine.forward(twin, x, t)
        if str(bottom.neuron).startswith("a") and bottom.kind in ("inner", "out"):  # attention: inside the head
            twin = net.copy()
            head = next(layer for layer in twin.all_layers() if layer.label == bottom.neuron)
            assert isinstance(head, Attention)
            head.nudge = (str(bottom.symbol or "out"), (s, *position), sign * step)
            return engine.forward(twin, x, t)
        if bottom.kind in ("net", "out"):
            return engine.forward(net, x, t, nudge=(str(bottom.neuron), bottom.kind, (s, *position), sign * step))
        if bottom.kind == "inner":
            twin = net.copy()
            layer = next(layer for layer in twin.all_layers() if layer.label == bottom.neuron)
            assert isinstance(layer, Norm)
            batch_statistic = bottom.symbol != "xhat" and 0 in layer.axes(2)
            layer.nudge = (str(bottom.symbol), position if batch_statistic else (s, *position), sign * step)
            return engine.forward(twin, x, t)
        key = parameter_key(net, str(bottom.but(after=False, sample=None)))
        params = {(layer.label, role): value for layer in net.all_layers() for role, value in layer.params.items()}
        moved = dict(params)
        moved[key[:2]] = params[key[:2]].copy()
        moved[key[:2]][key[2]] += sign * step
        return engine.forward(net, x, t, params=moved)

    return (measure(run(1)) - measure(run(-1))) / (2 * step)


def check_all(net: LayerNetwork) -> set[str]:
    """Check every derivative name; returns the kinds of quantity checked (inner ones by symbol)."""
    values = named_values(net, engine.step(net, net.inputs, net.targets))
    checked: set[str] = set()
    for name, value in values.items():
        n = names.parse(name)
        if n.kind != "partial":
            continue
        got = numeric(net, name)
        assert abs(got - value) <= RTOL * max(abs(value), FLOOR), f"{name}: named {value}, numeric {got}"
        checked.add(str(n.bottom.symbol or n.bottom.kind))
    return checked


@pytest.mark.parametrize("seed", slow_after(4, range(24)))
def test_every_name_of_random_normalization_networks(seed: int) -> None:
    assert check_all(LayerNetwork.from_dict(random_norm_spec(seed, smooth=True))) >= {"xhat", "out"}


@pytest.mark.parametrize("kind,mode", [("layernorm", None), ("batchnorm", "training"), ("batchnorm", "evaluation")])
def test_each_normalization_names_its_three_paths(kind: str, mode: str | None) -> None:
    spec = random_norm_spec(11, smooth=True, samples=3, kind=kind)
    norm = next(t for t in spec["layers"] if isinstance(t, dict) and t.get("type") == kind)
    norm.pop("affine", None)
    norm.update(gamma=[1.2] * 8, beta=[0.1] * 8)
    size = spec["layers"][spec["layers"].index(norm) - 1]
    features = size["neurons"] if size.get("type") == "dense" else size.get("out_channels", size.get("shape", [0])[0])
    norm.update(gamma=[1.2] * features, beta=[0.1] * features)
    if mode:
        norm["mode"] = mode
    checked = check_all(LayerNetwork.from_dict(spec))
    inner = {"xhat", "mu", "var"} if mode != "evaluation" else {"xhat"}
    assert inner | {"weight", "bias"} <= checked


def test_batch_statistics_make_per_sample_parameter_gradients_unnamed() -> None:
    spec = random_norm_spec(2, samples=3, kind="batchnorm")
    norm = next(t for t in spec["layers"] if isinstance(t, dict) and t.get("type") == "batchnorm")
    norm["mode"] = "training"
    net = LayerNetwork.from_dict(spec)
    values = named_values(net, engine.step(net, net.inputs, net.targets))
    assert not [name for name in values if names.parse(name).kind == "partial" and names.parse(name).sample
                and names.parse(name).bottom.kind in ("weight", "bias")]
    assert [name for name in values if name.startswith("dE_total/dmu_n1[")]
