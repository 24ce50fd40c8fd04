"""Truncated BPTT explained honestly: its sums carry bptt<k>_ names, hold to PyTorch with detached states, and the step uses them.

An rnn with truncate = k shorter than its sequence: every sum the explanation names bptt<k>_... (the signals at the
rnn's states and below it, each entry's part bptt<k>e<e>_..., each parameter's sum) equals PyTorch's gradient with the
state detached k steps back (tests/seq_torch_written.py, and the interop's recurrent_module with truncate through
compare_with_torch) at 1e-9; the update moves each weight by its sum; the names JSON, the document and `check`
use the same names. No name of the truncated step claims a derivative that is not one: every dE_total/d... and
d.../d... it still names (the layers above the rnn, the local derivatives) is true by finite differences.
"""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pytest

import stepgrad
from conftest import slow_after
from seq_gallery import random_rnn_spec
from seq_trace_gallery import GALLERY
from stepgrad.api import Display, explain_document, quantity_names
from stepgrad.core import names
from stepgrad.core.layers import engine
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.teach.check import check, solution
from stepgrad.tracing.layered import explain_layers

torch = pytest.importorskip("torch")
from seq_torch_written import written_step  # noqa: E402  (needs torch)
from test_norm_names_fd import FLOOR, RTOL, numeric  # noqa: E402  (finite differences of every named derivative)


def _truncated(seed: int, samples: int | None = None) -> dict:
    spec = random_rnn_spec(seed, smooth=True, truncate=True, samples=samples)
    rnn = next(layer for layer in spec["layers"] if layer["type"] == "rnn")
    rnn["truncate"] = max(1, min(rnn["truncate"], spec["layers"][0]["steps"] - 1))
    return spec


def _sequence(k: int) -> dict:
    spec = copy.deepcopy(GALLERY["rnn_sequence"])
    spec["layers"][1]["truncate"] = k
    return spec


SPECS = {"rnn_sequence k=1": _sequence(1), "rnn_sequence k=2": _sequence(2),
         **{f"random-{seed}": _truncated(seed) for seed in range(16) if random_rnn_spec(seed)["layers"][0]["steps"] > 1}}


def _torch(net: LayerNetwork) -> dict[str, float]:
    found = written_step(net, list(range(len(net.inputs))), False)
    if len(net.inputs) > 1:
        for s in range(len(net.inputs)):
            found.update(written_step(net, [s], False))
    return found


@pytest.mark.parametrize("key", slow_after(4, sorted(SPECS)))
def test_every_truncated_sum_is_torchs_with_detached_states(key) -> None:
    trace = explain_layers(LayerNetwork.from_dict(copy.deepcopy(SPECS[key])))
    reference = _torch(LayerNetwork.from_dict(copy.deepcopy(SPECS[key])))
    sums = [name for name in trace.values if names.parse(name).kind == "truncated"]
    assert any(name.startswith("bptt") and "Wh1" in name for name in sums)
    for name in sums:
        assert trace.values[name] == pytest.approx(reference[name], rel=1e-9, abs=1e-12), name
    k = trace.meta["truncated"]["window"]
    for name, value in trace.values.items():  # the step uses the sums: p+ = p - eta * bptt<k>_p
        n = names.parse(name)
        if n.kind in ("weight", "bias") and n.after:
            before = str(n.but(after=False))
            used = names.truncated(before, k) if names.label_of(before) in trace.meta["truncated"]["layers"] \
                else names.gradient(before)
            assert f"«{used}»" in trace.step(name).text
            assert value == pytest.approx(trace.values[before] - trace.values["eta"] * trace.values[used], rel=1e-12)


@pytest.mark.parametrize("key", slow_after(2, sorted(SPECS)))
def test_the_interops_truncated_module_agrees_and_full_bptt_differs(key) -> None:
    net = LayerNetwork.from_dict(copy.deepcopy(SPECS[key]))
    model = stepgrad.to_torch(net)  # the interop's recurrent_module with truncate = k: detached k steps back
    result = stepgrad.compare_with_torch(model, net.inputs, net.targets, loss=net.loss, lr=net.learning_rate,
                                         step_reduction=net.step_reduction)
    assert result.agrees(), str(result)
    trace = explain_layers(LayerNetwork.from_dict(copy.deepcopy(SPECS[key])))
    k, rnn = trace.meta["truncated"]["window"], next(layer for layer in net.all_layers() if layer.kind == "rnn")
    full = LayerNetwork.from_dict(copy.deepcopy(SPECS[key]))
    next(layer for layer in full.all_layers() if layer.kind == "rnn").truncate = None
    exact = engine.step(full, full.inputs, full.targets).grads[(rnn.label, "weight_x")]  # (Wh's term at step 1
    sums = np.array([[trace.values[names.truncated(rnn.parameter_name("weight_x", (j + 1, i + 1)), k)]  # is 0 if h0 is)
                      for i in range(rnn.in_shape[1])] for j in range(rnn.hidden)])
    assert np.abs(sums - exact).max() > 1e-9  # the terms it drops are not 0: the sums are not the derivatives


def test_the_truncated_sum_is_not_the_derivative_and_is_not_named_as_one() -> None:
    spec = _sequence(1)
    trace = explain_layers(LayerNetwork.from_dict(copy.deepcopy(spec)))
    full = explain_layers(LayerNetwork.from_dict(copy.deepcopy(GALLERY["rnn_sequence"])))
    assert trace.values["bptt1_Wh1[1,2]"] != pytest.approx(full.values["dE_total/dWh1[1,2]"], rel=1e-3)
    assert not any(name.startswith("dE_total") and names.label_of(str(names.parse(name).bottom)) in ("h1", None)
                   for name in trace.values)
    # what is dropped is stated: step 1's sum lacks the errors entering at steps 2 and 3
    note = trace.step("bptt1_h1_t1[1]").note
    assert "dropped" in note and "2, 3" in note
    assert "BPTT(1)" in trace.section("backward_h1").intro and "not the derivatives" in trace.section("backward_h1").intro


@pytest.mark.parametrize("key", slow_after(2, sorted(SPECS)[:8]))
def test_every_derivative_still_named_is_true_by_finite_differences(key) -> None:
    net = LayerNetwork.from_dict(copy.deepcopy(SPECS[key]))
    trace = explain_layers(net)
    checked = 0
    for name, value in trace.values.items():
        n = names.parse(name)
        if n.kind != "partial" or n.top is None or n.top.kind not in ("error", "out"):
            continue  # a weighted sum's factor dnet/dw is the input the weight met: no derivative to check
        got = numeric(LayerNetwork.from_dict(copy.deepcopy(SPECS[key])), name)
        assert abs(got - value) <= RTOL * max(abs(value), FLOOR), f"{name}: named {value}, numeric {got}"
        checked += 1
    assert checked > 0


def test_names_json_document_and_check_use_the_same_names(tmp_path) -> None:
    path = tmp_path / "net.json"
    path.write_text(json.dumps(_sequence(2)))
    listing = json.loads(quantity_names(str(path), fmt="json"))
    document = json.loads(explain_document(str(path), fmt="json"))
    assert {n for n in listing if n.startswith("bptt")} == {n for n in document["values"] if n.startswith("bptt")}
    text = explain_document(str(path), fmt="text", display=Display(digits=6))
    assert "bptt2_Wh1[1,1]" in text and "bptt2e3_h1_t2[1] = bptt2e3_net_h1_t3[1] * Wh1[1,1]" in " ".join(text.split())
    net = LayerNetwork.from_dict(_sequence(2))
    full = explain_layers(LayerNetwork.from_dict(copy.deepcopy(GALLERY["rnn_sequence"])))
    answers = {"bptt2_Wh1[1,2]": listing["bptt2_Wh1[1,2]"],  # right
               "bptt2_Wx1[1,1]": full.values["dE_total/dWx1[1,1]"]}  # full BPTT's derivative where the sum is asked
    report = check(net, solution.loads("\n".join(f"{k} = {v!r}" for k, v in answers.items())))
    verdicts = {r.name: r.verdict for r in report.results}
    assert verdicts == {"bptt2_Wh1[1,2]": "correct", "bptt2_Wx1[1,1]": "wrong"}


def test_the_sequence_page_shows_the_sums_by_their_names() -> None:
    from stepgrad.web.sequence import panels

    page = json.dumps(panels(LayerNetwork.from_dict(_sequence(2)), 1), ensure_ascii=False)
    assert "bptt2_Wh1[1,2]" in page and "bptt2_net_h1_t2[1] · h1_t1[2]" in page
    assert not re.search(r"dE_total/d(net_)?h1|dE_total/d[WB][xh]1|dE_total/dbh1", page)


def test_an_optimizer_with_truncated_bptt_is_refused_in_one_line() -> None:
    from stepgrad.core.errors import StepgradError

    with pytest.raises(StepgradError, match="truncated BPTT") as info:
        explain_layers(LayerNetwork.from_dict(_sequence(2)), optimizer="adam")
    assert "\n" not in str(info.value)


def test_the_pictures_draw_the_sums_by_their_names(tmp_path) -> None:
    from stepgrad.api import network_diagram, step_graph

    path = tmp_path / "net.json"
    path.write_text(json.dumps(_sequence(2)))
    for drawn in (step_graph(str(path)), network_diagram(str(path), show="gradients")):
        assert "bptt2 sums for Wh1" in drawn
        assert not re.search(r"dE_total/d(net_)?h1|dE_total/d[Wb][xh]1", drawn)
