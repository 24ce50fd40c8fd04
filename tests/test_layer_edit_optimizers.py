"""The Edit and train panel's optimizers and targets (web/layer_optimizer.py): every registry optimizer chosen with
its own hyperparameters takes the steps torch.optim takes on the same network (the curve and every parameter at 1e-9,
its state carried from request to request: one Step, then Train in two requests); a target set on the page is the
target torch's loss uses; a bad optimizer or hyperparameter is refused in one line naming its field.

The references are independent of stepgrad's engine and optimizers: each network's forward pass is written in torch
(tests/test_layer_edit.py's conv_loss and seq_loss), autograd gives the gradients and torch.optim's own opt.step()
moves the parameters.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from stepgrad.core.optim import OPTIMIZERS
from test_layer_edit import CONV, SEQ, _client, conv_loss, seq_loss

# each registry optimizer with hyperparameters other than its defaults, and the same as torch.optim builds it
CHOICES = {
    "sgd": ({}, lambda o, p, lr: o.SGD(p, lr=lr)),
    "momentum": ({"mu": 0.7}, lambda o, p, lr: o.SGD(p, lr=lr, momentum=0.7)),
    "adam": ({"beta1": 0.8, "beta2": 0.99, "epsilon": 1e-7}, lambda o, p, lr: o.Adam(p, lr=lr, betas=(0.8, 0.99), eps=1e-7)),
    "torch_sgd": ({"mu": 0.8, "nesterov": 1, "decay": 0.01},
                  lambda o, p, lr: o.SGD(p, lr=lr, momentum=0.8, nesterov=True, weight_decay=0.01)),
    "torch_adam": ({"beta1": 0.85, "decay": 0.02}, lambda o, p, lr: o.Adam(p, lr=lr, betas=(0.85, 0.999), weight_decay=0.02)),
    "adamw": ({"decay": 0.05, "beta2": 0.98}, lambda o, p, lr: o.AdamW(p, lr=lr, betas=(0.9, 0.98), weight_decay=0.05)),
    "rmsprop": ({"alpha": 0.9, "mu": 0.5, "centered": 1},
                lambda o, p, lr: o.RMSprop(p, lr=lr, alpha=0.9, momentum=0.5, centered=True)),
    "adagrad": ({"lrdecay": 0.01, "initial": 0.1}, lambda o, p, lr: o.Adagrad(p, lr=lr, lr_decay=0.01,
                                                                               initial_accumulator_value=0.1)),
    "nadam": ({"beta1": 0.85, "psi": 0.01, "float32": 1}, lambda o, p, lr: o.NAdam(p, lr=lr, betas=(0.85, 0.999),
                                                                                     momentum_decay=0.01)),
}
LOSSES = {"maps": (CONV, conv_loss), "sequence": (SEQ, seq_loss)}
RATE = 0.05
TOLERANCE = 1e-9


def _close(a, b) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(np.all(np.abs(a - b) <= TOLERANCE * np.maximum(1.0, np.abs(b))))


def test_every_registry_optimizer_is_offered_and_tested() -> None:
    offered = _client(CONV).get("/api/layers/state").json()["optimizers"]
    assert [o["name"] for o in offered] == list(OPTIMIZERS) and set(CHOICES) == set(OPTIMIZERS)
    adam = next(o for o in offered if o["name"] == "adam")
    assert adam["hyper"] == {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8} and adam["notes"]["beta1"]


def _torch_run(kind: str, state: dict, name: str, steps: int, targets: list | None = None, hyper: dict | None = None):
    """E_total before each of `steps` torch.optim steps and after the last, and the parameters after, by torch
    (`hyper`: Adam's beta1 other than CHOICES')."""
    torch = pytest.importorskip("torch")
    spec, loss = LOSSES[kind]
    params = {f"{label}.{role}": torch.tensor(value, dtype=torch.float64, requires_grad=True)
              for label, roles in state["parameters"].items() for role, value in roles.items()}
    # update_biases is about the conv, dense and rnn biases (role "bias"); an attention head's are always trained
    trained = [p for key, p in params.items() if key.split(".")[1] != "bias" or spec.get("update_biases", False)]
    opt = CHOICES[name][1](torch.optim, trained, state["learning_rate"])
    if hyper:
        opt = torch.optim.Adam(trained, lr=state["learning_rate"], betas=(hyper["beta1"], 0.999))
    x = torch.tensor(state["inputs"], dtype=torch.float64)
    t = torch.tensor(targets if targets is not None else [s["targets"] for s in spec["samples"]], dtype=torch.float64)
    errors = []
    for _ in range(steps):
        opt.zero_grad()
        error = loss(params, x, t)
        errors.append(float(error.detach()))
        error.backward()
        opt.step()
    with torch.no_grad():
        errors.append(float(loss(params, x, t)))
    return errors, {key: p.detach().numpy() for key, p in params.items()}


@pytest.mark.slow  # torch
@pytest.mark.parametrize("kind", list(LOSSES))
@pytest.mark.parametrize("name", list(CHOICES))
def test_step_and_train_with_each_optimizer_equal_torch_optim(kind: str, name: str) -> None:
    spec, _ = LOSSES[kind]
    client = _client(spec)
    served = client.get("/api/layers/state").json()["state"]
    start = copy.deepcopy(served) | {"learning_rate": RATE}
    answer = client.post("/api/layers/optimizer", json={"state": start, "name": name,
                                                        "hyper": {k: str(v) for k, v in CHOICES[name][0].items()}})
    assert answer.status_code == 200, answer.text
    chosen = answer.json()
    assert chosen["optimizer"]["name"] == name and chosen["optimizer"]["t"] == 0
    errors, params = _torch_run(kind, start, name, 8)
    assert _close(chosen["E_total"], errors[0])
    stepped = client.post("/api/layers/step", json={"state": chosen["state"]}).json()
    assert _close(stepped["step"]["E_total"], errors[0]) and _close(stepped["step"]["E_total+"], errors[1])
    assert stepped["optimizer"]["t"] == 1
    state, curve = stepped["state"], [errors[0], errors[1]]
    for chunk in (4, 3):  # the optimizer's state travels from one request to the next
        trained = client.post("/api/layers/train", json={"state": state, "iterations": chunk, "every": 1}).json()
        curve += [point["E_total"] for point in trained["history"][1:]]
        state = trained["state"]
    assert state["iteration"] == 8 and state["optimizer"]["name"] == name and len(curve) == 9
    assert _close(curve, errors), (name, kind)
    for label, roles in state["parameters"].items():
        for role, value in roles.items():
            if (label, role) == ("a1", "bias_k") and name not in ("sgd", "momentum", "torch_sgd"):
                # adding bias_k adds q[i]·bias_k to every key's score of row i: the softmax does not change, so its
                # gradient is 0 up to rounding (1e-17 either side), and an optimizer that divides by the gradient's
                # size (Adam, RMSprop, ...) moves it by ±lr with the sign of that rounding, torch's or ours
                assert _close(np.abs(value), np.abs(params["a1.bias_k"])) or np.max(np.abs(value)) <= 8 * RATE
                continue
            assert _close(value, params[f"{label}.{role}"]), (name, label, role)


@pytest.mark.slow  # torch
def test_a_target_set_on_the_page_is_the_one_torch_trains_towards() -> None:
    client = _client(CONV)
    state = client.get("/api/layers/state").json()["state"]
    page = client.post("/api/layers/page", json={"state": state}).json()
    assert [t["name"] for t in page["targets"]] == ["target_d1[1][1]", "target_d1[2][1]", "target_d1[1][2]",
                                                    "target_d1[2][2]"]
    edited = client.post("/api/layers/edit", json={"state": state, "name": "target_d1[2][2]", "value": "0.9"}).json()
    assert edited["state"]["targets"][1] == [0.7, 0.9]
    targets = [s["targets"] for s in CONV["samples"]]
    targets[1][1] = 0.9
    errors, params = _torch_run("maps", state | {"learning_rate": RATE}, "sgd", 1, targets)
    stepped = client.post("/api/layers/step", json={"state": edited["state"] | {"learning_rate": RATE}}).json()
    assert _close(stepped["step"]["E_total"], errors[0]) and _close(stepped["step"]["E_total+"], errors[1])
    assert _close(stepped["state"]["parameters"]["c1"]["kernel"], params["c1.kernel"])


BAD = [
    ({"name": "lbfgs"}, "name", "must be one of sgd, momentum, adam"),
    ({"name": "adam", "hyper": {"beta1": "1.0"}}, "hyper.beta1", "must be in [0, 1)"),
    ({"name": "adam", "hyper": {"beta3": 0.5}}, "hyper.beta3", "adam has no hyperparameter 'beta3'"),
    ({"name": "adam", "hyper": {"epsilon": "-1e-8"}}, "hyper.epsilon", "must be 0 or more"),
    ({"name": "adam", "hyper": {"epsilon": "__import__('os')"}}, "hyper.epsilon", "must be a number"),
    ({"name": "momentum", "hyper": {"mu": "nan"}}, "hyper.mu", "must be a number"),
    ({"name": "torch_sgd", "hyper": {"nesterov": 1}}, "hyper.nesterov", "needs momentum mu > 0 and dampening 0"),
    ({"name": "rmsprop", "hyper": {"centered": 0.5}}, "hyper.centered", "a switch: 0 or 1"),
    ({"name": "adam", "hyper": [0.9]}, "hyper", "must be an object"),
    ({"hyper": {}}, "name", "missing 'name'"),
]


@pytest.mark.parametrize("body,field,words", BAD)
def test_a_bad_optimizer_is_refused_in_one_line(body: dict, field: str, words: str) -> None:
    client = _client(CONV)
    state = client.get("/api/layers/state").json()["state"]
    answer = client.post("/api/layers/optimizer", json={"state": state, **body})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field and words in answer.json()["error"], answer.json()
    assert "\n" not in answer.json()["error"] and "Traceback" not in answer.text


def test_a_bad_optimizer_state_is_refused_naming_it() -> None:
    client = _client(CONV)
    state = client.get("/api/layers/state").json()["state"]
    adam = client.post("/api/layers/optimizer", json={"state": state, "name": "adam"}).json()["state"]
    stepped = client.post("/api/layers/step", json={"state": adam}).json()["state"]
    assert stepped["optimizer"]["t"] == 1 and len(stepped["optimizer"]["slots"]["m"]) == 4
    cases = []
    bad = copy.deepcopy(stepped)
    bad["optimizer"]["slots"]["m"][0] = [1.0]
    cases.append((bad, "does not match the network's shape"))
    bad = copy.deepcopy(stepped)
    bad["optimizer"]["hyper"]["beta2"] = 1.5
    cases.append((bad, "must be in [0, 1)"))
    bad = copy.deepcopy(stepped)
    bad["optimizer"]["name"] = "eval"
    cases.append((bad, "unknown optimizer 'eval'"))
    bad = copy.deepcopy(stepped)
    bad["targets"][0] = [0.1, "x"]
    cases.append((bad, "expected a finite number"))
    for body, words in cases:
        answer = client.post("/api/layers/step", json={"state": body})
        assert answer.status_code == 422 and words in answer.json()["error"], answer.json()
        assert "\n" not in answer.json()["error"]


def test_the_same_optimizer_keeps_its_state_and_another_starts_from_zero() -> None:
    client = _client(SEQ)
    state = client.get("/api/layers/state").json()["state"]
    adam = client.post("/api/layers/optimizer", json={"state": state, "name": "adam"}).json()["state"]
    stepped = client.post("/api/layers/step", json={"state": adam}).json()["state"]
    again = client.post("/api/layers/optimizer", json={"state": stepped, "name": "adam", "hyper": {"beta1": 0.5}}).json()
    assert again["optimizer"] == {"name": "adam", "title": "Adam", "hyper": {"beta1": 0.5, "beta2": 0.999,
                                                                              "epsilon": 1e-8}, "t": 1}
    assert again["state"]["optimizer"]["slots"] == stepped["optimizer"]["slots"]
    other = client.post("/api/layers/optimizer", json={"state": stepped, "name": "rmsprop"}).json()
    assert other["optimizer"]["t"] == 0 and not np.any(np.concatenate(
        [np.ravel(a) for a in other["state"]["optimizer"]["slots"]["s"]]))


@pytest.mark.slow  # 10,100 weights' state sent back and forth: a few seconds
def test_an_optimizer_whose_state_would_not_fit_a_request_is_refused() -> None:
    """10,100 weights fit a request with gradient descent, not with Adam's two moments per weight."""
    wide = {"layers": [{"type": "input", "shape": [100]}, {"type": "dense", "neurons": 100}], "seed": 1,
            "samples": [{"inputs": [0.01 * i for i in range(100)], "targets": [0.5] * 100}]}
    client = _client(wide)
    served = client.get("/api/layers/state").json()
    assert served["refused"] is None
    answer = client.post("/api/layers/optimizer", json={"state": served["state"], "name": "adam"})
    assert answer.status_code == 422 and answer.json()["field"] == "name"
    assert answer.json()["error"].startswith("adam keeps 2 values per parameter: with them this network's state")
    assert client.post("/api/layers/optimizer", json={"state": served["state"], "name": "sgd"}).status_code == 200
