"""Study mode in the explorer (POST /api/study/*): worked -> faded -> problem for the served network, every answer
marked by the checker with the student's other answers as their own earlier values. The expected values are the
engine's (stepgrad.explain), the slip is the classic one (one path only for a hidden neuron) carried by hand."""

from __future__ import annotations

import warnings

import pytest

import gallery
import stepgrad

pytest.importorskip("starlette")
with warnings.catch_warnings():  # starlette's note on its httpx test client
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from stepgrad.api.study_routes import routes  # noqa: E402
from stepgrad.web.app import create_app  # noqa: E402

VALUES = stepgrad.explain(stepgrad.builtin()).values
ONE_PATH = VALUES["dE_o1/dout_h2"]  # dE_total/dout_h2 with the second path forgotten
SLIPPED_DW3 = ONE_PATH * VALUES["dout_h2/dnet_h2"] * VALUES["i1"]  # dE_total/dw3 carried forward from that slip


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(extra_routes=routes()), base_url="http://127.0.0.1:8000")


def test_the_plan_is_worked_faded_problem_and_shows_no_blank_or_prompt_answer(client):
    plan = client.post("/api/study/plan", json={}).json()
    assert [p["kind"] for p in plan["parts"]] == ["worked", "faded", "problem"]
    worked, faded, problem = plan["parts"]
    assert worked["title"] == "1. Worked: w5, w1" and not any(s["blank"] for s in worked["steps"])
    assert all(s["line"].endswith(f"{VALUES[s['name']]:.9g}") for s in worked["steps"])
    prompts = [s["prompt"] for s in worked["steps"] if s["prompt"]]
    assert prompts and all(set(p) == {"question", "choices"} for p in prompts)  # the right choice stays on the server
    blanks = [s for s in faded["steps"] if s["blank"]]
    assert blanks and all(set(s) == {"name", "blank"} for s in blanks)
    assert faded["steps"][-1]["blank"] and not faded["steps"][0]["blank"]  # backward fading: the last steps are blank
    assert {s["name"] for s in problem["steps"] if s["blank"]} >= {"dE_total/dw7", "dE_total/dout_h2", "dE_total/dw3"}


def _answer(client, name, answers):
    r = client.post("/api/study/answer", json={"name": name, "answers": answers})
    assert r.status_code == 200, r.text
    return r.json()


def test_right_wrong_and_carried_forward_answers(client):
    right = _answer(client, "dE_total/dw7", {"dE_total/dw7": f"{VALUES['dE_total/dw7']:.6g}"})
    assert right["verdict"] == "correct" and right["hint"] is None
    slip = {"dE_total/dout_h2": f"{ONE_PATH:.9g}"}
    wrong = _answer(client, "dE_total/dout_h2", slip)
    assert wrong["verdict"] == "wrong" and "one path only" in wrong["message"]
    assert wrong["hint"].startswith("sum rule: dE_total/dout_h2 = dE_o1/dout_h2 + dE_o2/dout_h2")
    assert f"{VALUES['dE_total/dout_h2']:.4g}" not in wrong["message"] + wrong["hint"]  # never the value
    carried = {**slip, "dout_h2/dnet_h2": f"{VALUES['dout_h2/dnet_h2']:.9g}", "dE_total/dw3": f"{SLIPPED_DW3:.9g}"}
    follows = _answer(client, "dE_total/dw3", carried)
    assert follows["verdict"] == "follows"
    assert follows["used"] == {"dE_total/dout_h2": slip["dE_total/dout_h2"], "dout_h2/dnet_h2": carried["dout_h2/dnet_h2"]}
    assert f"your dE_total/dout_h2 = {slip['dE_total/dout_h2']}" in follows["message"]


def test_the_rule_prompt_is_marked_on_the_server(client):
    r = client.post("/api/study/rule", json={"name": "dE_total/dw5", "choice": 1}).json()
    assert r["right"] and r["message"].startswith("right: chain rule.")
    r = client.post("/api/study/rule", json={"name": "dout_o1/dnet_o1", "choice": 0}).json()
    assert not r["right"] and r["message"].startswith("not power rule: it is the activation's derivative.")


@pytest.mark.parametrize(("path", "body", "field"), [
    ("answer", {"name": "nonsense", "answers": {"nonsense": "1"}}, "name"),
    ("answer", {"name": "w3+", "answers": {"w3+": "one"}}, "answers"),
    ("answer", {"name": "w3+", "answers": {}}, "answers"),
    ("answer", {"name": "w3+", "answers": {"w3+": "0.1", "import os": "1"}}, "answers"),
    ("rule", {"name": "w5+", "choice": "b"}, "choice"),
    ("plan", {"spec": {"layers": [2, 2]}, "nonsense": 1}, "nonsense"),
])
def test_bad_requests_are_one_line(client, path, body, field):
    r = client.post(f"/api/study/{path}", json=body)
    assert r.status_code == 422 and r.json()["field"] == field and "\n" not in r.json()["error"]


@pytest.mark.parametrize("key", gallery.SMALL)
def test_study_mode_on_the_gallery(key):
    """Every part planned; the first and last blank of the problem answered with the engine's value is correct."""
    net = gallery.network(key)
    client = TestClient(create_app(net, extra_routes=routes()), base_url="http://127.0.0.1:8000")
    values = stepgrad.explain(net).values
    plan = client.post("/api/study/plan", json={}).json()
    assert [p["kind"] for p in plan["parts"]] == ["worked", "faded", "problem"], plan
    blanks = [s["name"] for s in plan["parts"][2]["steps"] if s["blank"]]
    assert blanks
    answers: dict[str, str] = {}
    for name in (blanks[0], blanks[-1]):
        answers[name] = f"{values[name]:.9g}"
        r = client.post("/api/study/answer", json={"name": name, "answers": answers}).json()
        assert r["verdict"] == "correct", (key, name, r)


def test_stepgrad_serve_has_study_mode(monkeypatch):
    """The app `stepgrad serve` runs answers the study endpoints (added from the API layer)."""
    import uvicorn

    from stepgrad.api import serve_explorer

    served = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append(app))
    serve_explorer()
    plan = TestClient(served[0], base_url="http://127.0.0.1:8000").post("/api/study/plan", json={})
    assert plan.status_code == 200 and len(plan.json()["parts"]) == 3
