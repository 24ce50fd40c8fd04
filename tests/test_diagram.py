"""The network diagram: valid SVG, one labelled edge per weight with the deck's values, clickable
elements (id + data-name), the deck's gradients and new weights on the edges, and a 64-32-10
network that stays small and unlabelled."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

import stepgrad
from stepgrad.core.errors import StepgradError
from stepgrad.pictures.diagram import network_from_trace, network_svg

SVG = "{http://www.w3.org/2000/svg}"
# the seed deck's figures: weights, dE_total/dw and the new weights (typed in from the deck)
WEIGHTS = {"w1": 0.15, "w2": 0.20, "w3": 0.25, "w4": 0.30, "w5": 0.40, "w6": 0.45, "w7": 0.50, "w8": 0.55}
GRADIENTS = {"w5": 0.082167041, "w6": 0.0826676278, "w7": -0.0226025404, "w8": -0.0227402422, "w1": 0.000438568}
UPDATED = {"w5": 0.35891648, "w6": 0.408666186, "w7": 0.511301270, "w8": 0.561370121, "w1": 0.149780716,
           "w2": 0.19956143, "w3": 0.24975114, "w4": 0.29950229}


def labels(svg: str) -> dict[str, str]:
    """data-name -> the edge label's text ('w5 = 0.4')."""
    root = ET.fromstring(svg)
    return {g.get("data-name"): g.find(f"{SVG}text").text for g in root.iter(f"{SVG}g")
            if (g.get("id") or "").startswith("label-")}


def label_number(text: str) -> float:
    value = text.rsplit("= ", 1)[1].replace("−", "-")
    m = re.fullmatch(r"(-?[\d.]+)(?:×10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+))?", value)
    assert m, text
    exponent = m.group(2).translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")) if m.group(2) else "0"
    return float(f"{m.group(1)}e{exponent}")


def close(shown: float, published: float, digits: int = 4) -> bool:
    return shown == float(f"{published:.{digits}g}")


def test_seed_network_has_one_labelled_edge_per_weight():
    svg = network_svg(stepgrad.builtin())
    root = ET.fromstring(svg)
    edges = [e for e in root.iter(f"{SVG}line") if (e.get("id") or "").startswith("edge-")]
    assert sorted(e.get("data-name") for e in edges) == sorted(WEIGHTS)
    assert all(e.get("id") == f"edge-{e.get('data-name')}" for e in edges)
    assert {e.get("data-name"): float(e.get("data-value")) for e in edges} == WEIGHTS
    shown = labels(svg)
    assert sorted(shown) == sorted(WEIGHTS)
    for name, text in shown.items():
        assert text.startswith(f"{name} = ") and label_number(text) == WEIGHTS[name]


def test_neurons_and_biases_are_clickable_with_unique_ids():
    root = ET.fromstring(network_svg(stepgrad.builtin()))
    neurons = {g.get("data-name") for g in root.iter(f"{SVG}g") if (g.get("id") or "").startswith("neuron-")}
    assert neurons == {"i1", "i2", "h1", "h2", "o1", "o2"}
    biases = {g.get("data-name"): g.find(f"{SVG}text").text for g in root.iter(f"{SVG}g")
              if (g.get("id") or "").startswith("bias-")}
    assert biases == {"b1": "b1 = 0.35", "b2": "b2 = 0.6"}
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids))


def test_trace_values_on_neurons_and_gradients_on_edges():
    net = stepgrad.builtin()
    trace = stepgrad.explain(net)
    svg = network_svg(net, trace, show="gradients")
    root = ET.fromstring(svg)
    h1 = root.find(f".//{SVG}g[@id='neuron-h1']")
    assert [t.text for t in h1.iter(f"{SVG}text")] == ["h1", "net = 0.3775", "out = 0.5933"]  # the deck's
    shown = labels(svg)
    for name, published in GRADIENTS.items():
        assert shown[name].startswith(f"∂E/∂{name} = ")
        assert close(label_number(shown[name]), published), (name, shown[name])
    assert "−0.0226" in shown["w7"]  # negative values with a real minus sign
    w7 = root.find(f".//{SVG}line[@id='edge-w7']")
    assert "sg-neg" in w7.get("class")


def test_after_update_from_the_cli(cli, tmp_path):
    out = tmp_path / "after.svg"
    result = cli("diagram", "--after-update", "--digits", "6", "-o", str(out))
    assert result.returncode == 0, result.stderr
    shown = labels(out.read_text())
    for name, published in UPDATED.items():
        assert shown[name].startswith(f"{name}+ = ")
        assert close(label_number(shown[name]), published, 6), (name, shown[name])


def test_cli_refuses_gradients_without_samples(cli, tmp_path):
    spec = tmp_path / "net.json"
    spec.write_text(json.dumps({"layers": [3, 2], "seed": 1}))
    result = cli("diagram", str(spec), "--show", "gradients")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--show" in result.stderr and "samples" in result.stderr
    assert cli("diagram", str(spec)).stdout.startswith("<svg")


def test_small_numbers_as_powers_of_ten():
    net = stepgrad.Network.from_dict({"layers": [1, 1], "weights": [[[3.51e-05]]], "biases": [[-0.25]]})
    shown = labels(network_svg(net))
    assert shown["w1"] == "w1 = 3.51×10⁻⁵"


def test_large_network_stays_small_and_unlabelled(tmp_path):
    net = stepgrad.Network.from_dict({"layers": [64, 32, 10], "seed": 3,
                                      "samples": [{"inputs": [0.5] * 64, "targets": [0] * 9 + [1]}]})
    svg = network_svg(net, stepgrad.explain(net), show="gradients")
    assert len(svg.encode()) < 500_000
    root = ET.fromstring(svg)
    edges = [e for e in root.iter(f"{SVG}line") if (e.get("id") or "").startswith("edge-")]
    assert len(edges) == 64 * 32 + 32 * 10
    assert len({e.get("data-name") for e in edges}) == len(edges)
    assert not labels(svg)  # labels fade out
    widths = [float(e.get("stroke-width")) for e in edges]
    assert max(widths) <= 1.5 and min(widths) < 0.5  # thinner edges, width by |gradient|
    neurons = [g for g in root.iter(f"{SVG}g") if (g.get("id") or "").startswith("neuron-")]
    assert len(neurons) == 106


def test_network_from_a_selected_trace():
    trace = stepgrad.explain(stepgrad.builtin()).select(["w5"])
    net = network_from_trace(trace)
    assert [w.tolist() for w in net.weights] == [[[0.15, 0.2], [0.25, 0.3]], [[0.4, 0.45], [0.5, 0.55]]]
    assert labels(network_svg(net, trace))["w5"] == "w5 = 0.4"


def test_unknown_show_is_a_clear_error():
    with pytest.raises(StepgradError, match="choose from weights, gradients, updated"):
        network_svg(stepgrad.builtin(), show="deltas")
    with pytest.raises(StepgradError, match="needs a trace"):
        network_svg(stepgrad.builtin(), show="updated")


def test_network_repr_svg_for_notebooks():
    assert stepgrad.builtin()._repr_svg_().startswith("<svg")
