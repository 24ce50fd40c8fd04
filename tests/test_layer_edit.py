"""Editing and training on the maps and sequence pages (web/layer_routes.py, web/layer_state.py): after an edit, a
step and N steps of training, the numbers the page is sent equal PyTorch's for the same network.

The references are independent of stepgrad's engine: each network's forward pass is written here in torch
(F.conv2d, max_pool2d, an Elman recurrence, a causal attention head), autograd gives the gradients and the test
itself takes the SGD steps; interop/compare_layers.py (torch's own modules built from the state) checks the
trained state once more. A bad value is refused in one line naming its field.
"""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest

from stepgrad.core.layers.spec import LayerNetwork

with warnings.catch_warnings():  # starlette 1.x suggests httpx2 for its TestClient; httpx works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from stepgrad.web.app import create_app  # noqa: E402

CONV = {"activation": "relu", "loss": "half_squared_error", "learning_rate": 0.3, "seed": 5, "update_biases": True,
        "layers": [{"type": "input", "shape": [1, 4, 4]},
                   {"type": "conv2d", "out_channels": 2, "kernel": 2, "padding": 1},
                   {"type": "maxpool", "kernel": 2}, {"type": "flatten"},
                   {"type": "dense", "neurons": 2, "activation": "sigmoid"}],
        "samples": [{"inputs": [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8], [0.9, 1.0, 0.0, 0.1], [0.2, 0.3, 0.4, 0.5]],
                     "targets": [0.2, 0.8]},
                    {"inputs": [[0.6, -0.2, 0.3, 0.1], [0.0, 0.4, -0.7, 0.8], [0.3, 0.2, 0.5, -0.1], [0.9, 0.3, 0.1, 0.2]],
                     "targets": [0.7, 0.1]}]}
SEQ = {"name": "rnn and attention", "loss": "half_squared_error", "learning_rate": 0.2, "step_reduction": "mean",
       "seed": 3, "layers": [{"type": "sequence", "steps": 3, "features": 2},
                             {"type": "rnn", "hidden": 2, "output": "sequence"},
                             {"type": "attention", "causal": True, "key_size": 2},
                             {"type": "dense", "neurons": 1, "activation": "tanh"}],
       "samples": [{"inputs": [[0.3, 0.1], [-0.2, 0.4], [0.5, -0.6]], "targets": [0.2, -0.1, 0.4]},
                   {"inputs": [[-0.7, 0.2], [0.1, 0.3], [0.4, 0.8]], "targets": [0.1, 0.3, -0.2]}]}
TOLERANCE = 1e-9


def _client(spec: dict, **options) -> TestClient:
    return TestClient(create_app(LayerNetwork.from_dict(spec), **options), base_url="http://127.0.0.1:8000")


def _torch():
    """torch, imported when a test needs it (the other tests of this file run without it, and fast)."""
    return pytest.importorskip("torch")


def _t(value):
    torch = _torch()
    return torch.tensor(value, dtype=torch.float64, requires_grad=True)


def conv_loss(params: dict, x, targets, keep: dict | None = None):
    """CONV's forward pass and E_total (the mean over samples of 1/2 the squared errors), in torch; `keep` gets
    the maps out_c1."""
    torch = _torch()
    F = torch.nn.functional
    out = F.relu(F.conv2d(x, params["c1.kernel"], params["c1.bias"], padding=1))
    (keep if keep is not None else {})["out_c1"] = out.detach().numpy()
    flat = F.max_pool2d(out, 2).flatten(1)
    y = torch.sigmoid(flat @ params["d1.weight"].T + params["d1.bias"])
    return (0.5 * (targets - y) ** 2).sum(dim=1).mean()


def seq_loss(params: dict, x, targets, keep: dict | None = None):
    """SEQ's forward pass in torch: h_t = tanh(Wx x_t + Wh h_t-1 + b), a causal head scaled by 1/sqrt(2), a tanh
    dense layer at every step; E_total the mean over samples of the steps' mean of 1/2 the squared errors.
    `keep` gets the states h and the attention weights a."""
    torch = _torch()
    h, states = torch.zeros(x.shape[0], 2, dtype=torch.float64), []
    for t in range(x.shape[1]):
        h = torch.tanh(x[:, t] @ params["h1.weight_x"].T + h @ params["h1.weight_h"].T + params["h1.bias"])
        states.append(h)
    hs = torch.stack(states, dim=1)
    q, k, v = (hs @ params[f"a1.weight_{p}"].T + params[f"a1.bias_{p}"] for p in "qkv")
    score = q @ k.transpose(1, 2) / math.sqrt(2)
    mask = torch.triu(torch.ones(3, 3, dtype=torch.bool), diagonal=1)
    a = torch.softmax(score.masked_fill(mask, float("-inf")), dim=2)
    if keep is not None:
        keep.update(h=hs.detach().numpy(), a=a.detach().numpy())
    out = (a @ v) @ params["a1.weight_o"].T + params["a1.bias_o"]
    y = torch.tanh(out @ params["d1.weight"].T + params["d1.bias"]).flatten(1)
    return ((0.5 * (targets - y) ** 2).sum(dim=1) / 3).mean()


REFERENCES = {"maps": (CONV, conv_loss), "sequence": (SEQ, seq_loss)}


def torch_params(state: dict) -> dict:
    return {f"{label}.{role}": _t(value) for label, roles in state["parameters"].items() for role, value in roles.items()}


def torch_step(state: dict, loss, rows: slice = slice(None), keep: dict | None = None
               ) -> tuple[float, dict[str, np.ndarray], dict[str, np.ndarray], float]:
    """E_total, the gradients, the parameters after one SGD step (the biases kept unless update_biases), E_total
    after it: by torch autograd, on the samples `rows`."""
    torch = _torch()
    params = torch_params(state)
    spec = REFERENCES[state["kind"]][0]
    x = torch.tensor(state["inputs"], dtype=torch.float64)[rows]
    targets = torch.tensor([s["targets"] for s in spec["samples"]], dtype=torch.float64)[rows]
    error = loss(params, x, targets, keep)
    error.backward()
    # update_biases is about the dense, conv and rnn biases (role "bias"); an attention head's are always trained
    trains = {name: name.split(".")[1] != "bias" or spec.get("update_biases", False) for name in params}
    new = {name: (p - state["learning_rate"] * p.grad if trains[name] else p).detach() for name, p in params.items()}
    after = float(loss(new, x, targets))
    return float(error.detach()), {n: p.grad.numpy() for n, p in params.items()}, {n: p.numpy() for n, p in new.items()}, after


def _close(a, b, tolerance: float = TOLERANCE) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(np.all(np.abs(a - b) <= tolerance * np.maximum(1.0, np.abs(b))))


def _tables(answer: dict) -> dict[str, dict[str, float]]:
    return {e["name"]: e for table in answer["parameters"] for e in table["entries"]}


def _names(answer: dict) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Each listed entry's torch parameter ("c1.kernel") and index, from the table it is listed in."""
    found = {}
    for table in answer["parameters"]:
        for index, entry in zip(np.ndindex(*table["shape"]), table["entries"]):
            found[entry["name"]] = (f"{table['layer']}.{table['role']}", index)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["maps", "sequence"])
def test_edit_step_and_train_equal_torch(kind: str) -> None:
    spec, loss = REFERENCES[kind]
    client = _client(spec)
    served = client.get("/api/layers/state").json()
    assert served["kind"] == kind
    state = served["state"]
    first = client.post("/api/layers/page", json={"state": state}).json()
    weight = first["parameters"][0]["entries"][1]["name"]  # k1[1,1,1,2] / Wx1[1,2]
    edited = client.post("/api/layers/edit", json={"state": state, "name": weight, "value": "-0.45"}).json()
    cell = edited["inputs"][5 if kind == "maps" else 3]  # row 2, column 2 of the image; step 2, feature 2
    assert cell["name"] == ("x[1,2,2][1]" if kind == "maps" else "x[2,2][1]")  # sample 1 of 2
    edited = client.post("/api/layers/edit", json={"state": edited["state"], "name": cell["name"], "value": 0.35}).json()
    edited = client.post("/api/layers/edit", json={"state": edited["state"], "name": "learning_rate",
                                                   "value": "0.25"}).json()

    # the edited network, by the test's own hand (not the server's state): its step in torch
    mine = copy.deepcopy(state) | {"kind": kind, "learning_rate": 0.25}
    where, index = _names(first)[weight]
    label, role = where.split(".")
    np_value = np.array(mine["parameters"][label][role])
    np_value[index] = -0.45
    mine["parameters"][label][role] = np_value.tolist()
    inputs = np.array(mine["inputs"])
    inputs[(0, *(int(p) - 1 for p in cell["position"].split(",")))] = 0.35
    mine["inputs"] = inputs.tolist()
    forward: dict = {}
    error, grads, new, after = torch_step(mine, loss, keep=forward)
    assert _close(edited["E_total"], error) and _close(edited["E_total+"], after)
    names = _names(edited)
    for name, entry in _tables(edited).items():
        where, index = names[name]
        assert _close(entry["gradient"], grads[where][index]), name
        fixed = where.split(".")[1] == "bias" and not spec.get("update_biases", False)
        assert _close(entry["updated"], entry["value"] if fixed else new[where][index]), name
    if kind == "maps":  # the maps the page draws are a step on the chosen sample alone (its kernel weights' plans)
        one_error, one_grads, one_new, _ = torch_step(mine, loss, slice(0, 1))
        for kernel in edited["page"]["kernels"]:
            for entry in kernel["entries"]:
                where, index = names[entry["name"]]
                assert _close(entry["gradient"], one_grads[where][index]), entry["name"]
                assert _close(entry["updated"], one_new[where][index]), entry["name"]
        assert edited["page"]["error"] == pytest.approx(one_error, rel=TOLERANCE)
        assert edited["page"]["maps"]["x"][0]["rows"][1][1] == 0.35
        for grid in edited["page"]["maps"]["out_c1"]:  # sample 1's maps, as torch's conv and relu give them
            assert _close(grid["rows"], forward["out_c1"][0, grid["channel"] - 1])
    else:
        assert edited["page"]["E_total"] == pytest.approx(error, rel=TOLERANCE)
        panels = edited["page"]["panels"]
        weights = next(p for p in panels if p["kind"] == "heatmap" and p["which"] == "a")["cells"]
        assert _close([[c["value"] if c else 0.0 for c in row] for row in weights], forward["a"][0])
        assert [[c is None for c in row] for row in weights] == [[j > i for j in range(3)] for i in range(3)]
        states = next(p for p in panels if p["kind"] == "steps" and p["title"].startswith("rnn h1"))["rows"]
        for j in range(2):
            row = next(r for r in states if r["label"] == f"h1[{j + 1}]")["cells"]
            assert _close([c["value"] for c in row[1:]], forward["h"][0, :, j])
        inputs_panel = next(p for p in panels if p["title"].startswith("input"))
        assert next(c for r in inputs_panel["rows"] for c in r["cells"] if c["name"] == "x[2,2][1]")["value"] == 0.35

    # one step: the step's parameters and E_total+, and the page after it
    stepped = client.post("/api/layers/step", json={"state": edited["state"]}).json()
    assert stepped["step"]["iteration"] == 1 and stepped["iteration"] == 1
    assert _close(stepped["step"]["E_total"], error) and _close(stepped["step"]["E_total+"], after)
    assert _close(stepped["E_total"], after)
    for name, entry in _tables(stepped).items():
        where, index = names[name]
        fixed = where.split(".")[1] == "bias" and not spec.get("update_biases", False)
        assert _close(entry["value"], _tables(edited)[name]["value"] if fixed else new[where][index]), name

    # train 7 steps in two requests: the history and the parameters equal 1 + 7 SGD steps in torch
    trained, history = stepped["state"], []
    for count in (3, 4):
        answer = client.post("/api/layers/train", json={"state": trained, "iterations": count, "every": 1}).json()
        history += answer["history"]
        trained = answer["state"]
    assert trained["iteration"] == 8
    reference = mine
    errors = {}
    for step in range(8):
        error_k, _, new_k, _ = torch_step(reference, loss)
        errors[step] = error_k
        reference = reference | {"parameters": {
            label: {role: (value if role == "bias" and not spec.get("update_biases", False)
                           else new_k[f"{label}.{role}"].tolist()) for role, value in roles.items()}
            for label, roles in reference["parameters"].items()}}
    errors[8] = torch_step(reference, loss)[0]
    for point in history:
        assert _close(point["E_total"], errors[point["iteration"]]), point
    assert {p["iteration"] for p in history} == set(range(1, 9))
    for label, roles in trained["parameters"].items():
        for role, value in roles.items():
            assert _close(value, reference["parameters"][label][role]), (label, role)
    page = client.post("/api/layers/page", json={"state": trained, "sample": 2}).json()
    assert _close(page["E_total"], errors[8]) and page["page"]["sample"] == 2


@pytest.mark.slow
def test_the_trained_state_agrees_with_torch_modules() -> None:
    """compare_with_torch on nn.Conv2d/nn.RNN modules built from the trained state: engine and torch agree."""
    from stepgrad.interop.compare_layers import compare_torch_layers
    from stepgrad.web.layer_state import network_from

    for spec in (CONV, SEQ):
        client = _client(spec)
        state = client.get("/api/layers/state").json()["state"]
        state = client.post("/api/layers/train", json={"state": state, "iterations": 5}).json()["state"]
        net = network_from(LayerNetwork.from_dict(spec), state)
        model = __import__("stepgrad").to_torch(net)
        result = compare_torch_layers(model, net.inputs, net.targets, loss=net.loss, lr=net.learning_rate,
                                      step_reduction=net.step_reduction)
        assert result.agrees(), str(result)
        page = client.post("/api/layers/page", json={"state": state}).json()
        assert page["E_total"] == pytest.approx(result.loss_torch, rel=1e-9)


BAD_EDITS = [
    ({"name": "k1[1,1,1,1]", "value": "abc"}, "value", "must be a number"),
    ({"name": "k1[1,1,1,1]", "value": "1e999"}, "value", "too large"),
    ({"name": "k1[1,1,1,1]", "value": "2**10"}, "value", "must be a number"),
    ({"name": "k1[1,1,1,1]", "value": "__import__('os').system('true')"}, "value", "must be a number"),
    ({"name": "k1[1,1,1,1]", "value": "nan"}, "value", "must be a number"),
    ({"name": "k1[1,1,1,1]", "value": [1]}, "value", "must be a number"),
    ({"name": "k1[1,1,1,1]", "value": True}, "value", "must be a number"),
    ({"name": "k1[9,1,1,1]", "value": 1}, "name", "is not a weight, bias or input"),
    ({"name": "x[1,1,1]", "value": 1}, "name", "is not a weight"),  # two samples: x[1,1,1][1]
    ({"name": "learning_rate", "value": "-0.1"}, "value", "must be positive"),
    ({"name": "k1[1,1,1,1]"}, "value", "missing 'value'"),
    ({"name": 5, "value": 1}, "name", "must be the name"),
    ({"name": "k1[1,1,1,1]", "value": 1, "sample": 3}, "sample", "from 1 to 2"),
    ({"name": "k1[1,1,1,1]", "value": 1, "valeu": 2}, "valeu", "did you mean 'value'"),
]


@pytest.mark.parametrize("body,field,words", BAD_EDITS)
def test_a_bad_edit_is_refused_in_one_line(body: dict, field: str, words: str) -> None:
    client = _client(CONV)
    state = client.get("/api/layers/state").json()["state"]
    answer = client.post("/api/layers/edit", json={"state": state, **body})
    assert answer.status_code == 422
    assert answer.json()["field"] == field and words in answer.json()["error"], answer.json()
    assert "\n" not in answer.json()["error"] and "Traceback" not in answer.text


def test_a_bad_state_is_refused_naming_the_value() -> None:
    client = _client(CONV)
    state = client.get("/api/layers/state").json()["state"]
    cases = []
    bad = copy.deepcopy(state)
    bad["parameters"]["c1"]["kernel"][1][0][1][0] = "0.5"
    cases.append((bad, "state.parameters.c1.kernel[1][0][1][0]", "expected a finite number"))
    bad = copy.deepcopy(state)
    bad["parameters"]["c1"]["kernel"][0][0].append([1.0, 2.0])
    cases.append((bad, "state.parameters.c1.kernel[0][0]", "expected 2 entries"))
    bad = copy.deepcopy(state)
    bad["parameters"]["c2"] = {}
    cases.append((bad, "state.parameters.c2", "which this network does not"))
    bad = copy.deepcopy(state)
    bad["inputs"] = bad["inputs"][:1]
    cases.append((bad, "state.inputs", "expected 2 entries"))
    cases.append((state | {"learning_rate": 0}, "state.learning_rate", "must be positive"))
    cases.append((state | {"iteration": -1}, "state.iteration", "whole number"))
    cases.append((state | {"layers": [2, 2]}, "state.layers", "unknown key"))
    cases.append(({k: v for k, v in state.items() if k != "inputs"}, "state.inputs", "has no 'inputs'"))
    cases.append(("not a state", "state", "must be the page's network state"))
    for bad, field, words in cases:
        answer = client.post("/api/layers/page", json={"state": bad})
        assert answer.status_code == 422 and answer.json()["field"] == field, (field, answer.json())
        assert words in answer.json()["error"], answer.json()
    assert client.post("/api/layers/page", json={}).json()["field"] == "state"
    for body in (b'{"state": NaN}', b'{"state": 1, "state": 2}', b"[" * 100 + b"]" * 100, b"{"):
        answer = client.post("/api/layers/page", content=body, headers={"content-type": "application/json"})
        assert answer.status_code == 400 and "\n" not in answer.json()["error"], body


def test_training_is_limited_as_the_dense_explorer_limits_it() -> None:
    client = _client(CONV, max_work=10**6)
    state = client.get("/api/layers/state").json()["state"]
    for iterations, words in ((0, "between 1 and 100,000"), (100_001, "between 1 and 100,000"),
                              (10_000, "over the work budget"), ("5", "must be an integer")):
        answer = client.post("/api/layers/train", json={"state": state, "iterations": iterations})
        assert answer.status_code == 422 and answer.json()["field"] == "iterations", answer.json()
        assert words in answer.json()["error"]
    assert client.post("/api/layers/train", json={"state": state, "iterations": 2}).status_code == 200
    too_big = client.post("/api/layers/page", content=b"{" + b" " * (600 * 1024) + b"}",
                          headers={"content-type": "application/json"})
    assert too_big.status_code == 413
    assert client.post("/api/layers/page", content=b"{}", headers={"content-type": "text/plain"}).status_code == 415
    linear = _client(CONV | {"activation": "linear", "layers": CONV["layers"][:-1] + [{"type": "dense", "neurons": 2}]})
    state = linear.get("/api/layers/state").json()["state"]
    diverged = linear.post("/api/layers/edit", json={"state": state, "name": "learning_rate", "value": "1e200"})
    assert diverged.status_code == 422 and diverged.json()["error"].startswith("not set: with this value E_total+ is")
    faster = linear.post("/api/layers/edit", json={"state": state, "name": "learning_rate", "value": "3"}).json()
    diverged = linear.post("/api/layers/train", json={"state": faster["state"], "iterations": 2000})
    assert diverged.status_code == 422 and "finite" in diverged.json()["error"], diverged.json()


def test_a_network_too_large_to_send_back_is_shown_not_edited() -> None:
    """Its state would not fit in a request body (512 KiB): GET /api/layers/state says so in one line."""
    big = {"layers": [{"type": "input", "shape": [1, 12, 12]}, {"type": "conv2d", "out_channels": 4, "kernel": 3},
                      {"type": "flatten"}, {"type": "dense", "neurons": 80}],
           "samples": [{"inputs": [[0.1] * 12] * 12, "targets": [0.5] * 80}]}
    answer = _client(big).get("/api/layers/state").json()
    assert answer["refused"].startswith("this network's values take up to ") and "\n" not in answer["refused"]
    assert _client(CONV).get("/api/layers/state").json()["refused"] is None


def test_a_dense_server_has_no_layer_editing() -> None:
    client = TestClient(create_app(), base_url="http://127.0.0.1:8000")
    assert client.get("/api/layers/state").status_code == 404
    answer = client.post("/api/layers/step", json={"state": {}})
    assert answer.status_code == 404 and "layer-table" in answer.json()["error"]


def _gallery() -> list:
    from conv_gallery import random_spec
    from seq_trace_gallery import GALLERY

    cases = [pytest.param(spec, id=key) for key, spec in GALLERY.items()]
    return cases + [pytest.param(random_spec(seed), id=f"conv-{seed}", marks=pytest.mark.slow) for seed in (1, 3, 7)]


@pytest.mark.parametrize("spec", _gallery())
def test_every_gallery_network_edits_and_steps_as_the_engine_does(spec: dict) -> None:
    """The last parameter entry and the last sample's last input set, one step: the state after it is the engine's
    step of the network edited here by hand (batchnorm's running statistics moved as engine.apply moves them)."""
    from stepgrad.core.layers import engine

    spec = copy.deepcopy(spec)
    client = _client(spec)
    state = client.get("/api/layers/state").json()["state"]
    count = len(state["inputs"])
    first = client.post("/api/layers/page", json={"state": state, "sample": count}).json()
    weight, cell = first["parameters"][-1]["entries"][-1]["name"], first["inputs"][-1]
    edited = client.post("/api/layers/edit", json={"state": state, "name": weight, "value": 0.3}).json()
    edited = client.post("/api/layers/edit", json={"state": edited["state"], "name": cell["name"], "value": -0.2,
                                                   "sample": count}).json()
    stepped = client.post("/api/layers/step", json={"state": edited["state"]}).json()

    net = LayerNetwork.from_dict(spec)
    layer = [layer for layer in net.all_layers() if layer.params][-1]
    role = list(layer.params)[-1]
    layer.params[role].flat[-1] = 0.3
    net.inputs[(count - 1, *(int(p) - 1 for p in cell["position"].split(",")))] = -0.2
    rec = engine.step(net, net.inputs, net.targets, after=True)
    assert _close(stepped["step"]["E_total"], rec.forward.error) and _close(stepped["step"]["E_total+"], rec.after.error)
    engine.apply(net, rec)
    for each in net.all_layers():
        for name, value in each.params.items():
            assert _close(stepped["state"]["parameters"][each.label][name], value), (each.label, name)
        if hasattr(each, "running_mean"):
            assert _close(stepped["state"]["running"][each.label]["running_mean"], each.running_mean)
            assert _close(stepped["state"]["running"][each.label]["running_var"], each.running_var)
    assert stepped["state"]["inputs"] == edited["state"]["inputs"]
    if any(getattr(each, "mode", None) == "training" for each in net.all_layers()):  # a step moved them
        assert stepped["state"]["running"] != state["running"]
