"""Study mode on conv and sequence networks (POST /api/study/layers/*, api/study_layer_routes.py): worked -> faded ->
problem on the served network, answers marked by the checker with the student's earlier answers.

A student's wrong values are made here by hand from the exact ones: the mirrored kernel entry's gradient (the kernel
flipped), a slip in dE_total/dh1_t1 carried into the next factor by one multiplication, k1+ from a slipped gradient."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from stepgrad.api.study_routes import routes
from stepgrad.teach.exercise_layers import generate_conv
from stepgrad.teach.exercise_sequences import KINDS, generate_sequence
from stepgrad.web.app import create_app

CONV = generate_conv(seed=3)
RNN = generate_sequence("rnn", seed=3)


def client(net=None) -> TestClient:
    return TestClient(create_app(net, extra_routes=routes()), base_url="http://127.0.0.1:8000")


def answer(c: TestClient, name: str, answers: dict[str, str]) -> dict:
    r = c.post("/api/study/layers/answer", json={"name": name, "answers": answers})
    assert r.status_code == 200, r.text
    return r.json()


def test_the_conv_plan_walks_worked_faded_problem_on_other_kernel_entries() -> None:
    plan = client(CONV.network).post("/api/study/layers/plan", json={}).json()
    assert [p["kind"] for p in plan["parts"]] == ["worked", "faded", "problem"]
    focus = [p["focus"] for p in plan["parts"]]
    assert len({f[1] for f in focus}) == 3 and all(f[1].startswith("k1[") for f in focus)
    worked, faded, problem = plan["parts"]
    assert not any(s["blank"] for s in worked["steps"])
    values = CONV.trace.values
    for s in worked["steps"]:  # each worked line ends in the trace's value
        assert float(s["line"].rsplit(" = ", 1)[1]) == pytest.approx(values[s["name"]], rel=1e-8, abs=1e-12)
    rules = [s["prompt"] for s in worked["steps"] if s["prompt"]]
    assert rules and all(p["question"].startswith("Which rule gives") for p in rules)
    blanks = [s["name"] for s in faded["steps"] if s["blank"]]
    computed = [s["name"] for s in faded["steps"] if s["blank"] or "=" in s["line"].split(" = ", 2)[1]]
    assert blanks and blanks == [n for n in computed if n in blanks][-len(blanks):]  # backward fading: the last ones
    assert {s["name"] for s in problem["steps"] if s["blank"]} >= {f"dE_total/d{focus[2][1]}", f"{focus[2][1]}+"}


def test_the_kernel_flipped_is_named_and_the_hint_never_gives_the_value() -> None:
    c = client(CONV.network)
    entry = c.post("/api/study/layers/plan", json={}).json()["parts"][2]["focus"][1]  # k1[1,1,2,2]
    gradient = f"dE_total/d{entry}"
    values = CONV.trace.values
    mirrored = "k1[1,1,1,1]" if entry == "k1[1,1,2,2]" else pytest.skip(f"{entry} is not a corner")
    said = answer(c, gradient, {gradient: f"{values[f'dE_total/d{mirrored}']:.6g}"})
    assert said["verdict"] == "wrong" and "kernel flipped" in said["message"]
    assert said["hint"].startswith("the sum over positions: ") and f"{values[gradient]:.4g}" not in said["hint"]
    right = answer(c, gradient, {gradient: f"{values[gradient]:.6g}"})
    assert right["verdict"] == "correct"
    # the new weight from a slipped gradient (0.1 too large): follows, naming the student's value
    slipped = values[gradient] + 0.1
    new = values[entry] - CONV.spec["learning_rate"] * slipped
    said = answer(c, f"{entry}+", {gradient: f"{slipped:.6g}", f"{entry}+": f"{new:.6g}"})
    assert said["verdict"] == "follows" and said["used"] == {gradient: f"{slipped:.6g}"}
    assert f"your {gradient} = {slipped:.6g}" in said["message"]


def test_a_slip_carried_through_time_follows_on_the_sequence_page() -> None:
    c = client(RNN.network)
    plan = c.post("/api/study/layers/plan", json={}).json()
    blanks = [s["name"] for p in plan["parts"] for s in p["steps"] if s["blank"]]
    slip_at, next_ = "dE_total/dh1_t1[2]", "dE_total/dnet_h1_t1[2]"
    assert slip_at in blanks and next_ in blanks
    values = RNN.trace.values
    slipped = values[slip_at] * 1.5
    assert answer(c, slip_at, {slip_at: f"{slipped:.6g}"})["verdict"] == "wrong"
    carried = slipped * values["dh1_t1[2]/dnet_h1_t1[2]"]
    said = answer(c, next_, {slip_at: f"{slipped:.6g}", next_: f"{carried:.6g}"})
    assert said["verdict"] == "follows" and slip_at in said["used"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_sequence_kind_has_three_parts_and_marks_its_blanks(kind: str) -> None:
    ex = generate_sequence(kind, seed=1)
    c = client(ex.network)
    plan = c.post("/api/study/layers/plan", json={}).json()
    assert [p["title"][:3] for p in plan["parts"]] == ["1. ", "2. ", "3. "]
    last = [s["name"] for s in plan["parts"][2]["steps"] if s["blank"]][-1]
    assert answer(c, last, {last: f"{ex.trace.values[last]:.8g}"})["verdict"] == "correct"


def test_rule_prompts_answer_with_the_layer_rule() -> None:
    c = client(CONV.network)
    r = c.post("/api/study/layers/rule", json={"name": "out_p1[1,1,1]", "choice": 0}).json()
    assert r == {"right": False, "message": "not the activation: it is the window's maximum. Which cell of the window "
                                            "is the largest, and what happens on a tie?"}
    assert c.post("/api/study/layers/rule", json={"name": "out_p1[1,1,1]", "choice": 1}).json()["right"] is True


def test_bad_requests_get_one_line() -> None:
    c = client(CONV.network)
    for body, field in (({"update_order": "sequential"}, "update_order"), ({"spec": [1, 2]}, "spec"),
                        ({"spec": {"layers": "x"}}, "spec")):
        r = c.post("/api/study/layers/plan", json=body)
        assert r.status_code == 422 and r.json()["field"] == field
    r = c.post("/api/study/layers/answer", json={"name": "w5", "answers": {"w5": "1"}})
    assert r.status_code == 422 and "not a quantity" in r.json()["error"]
    r = c.post("/api/study/layers/answer", json={"name": "k1[1,1,1,1]+", "answers": {"k1[1,1,1,1]+": "abc"}})
    assert r.status_code == 422 and "not a number" in r.json()["error"]
    dense = client()
    r = dense.post("/api/study/layers/plan", json={})
    assert r.status_code == 422 and "/api/study/plan" in r.json()["error"]
    assert dense.post("/api/study/layers/plan", json={"spec": RNN.spec}).status_code == 200  # the page's network
    r = c.post("/api/study/plan", json={})
    assert r.status_code == 422 and "/api/study/layers/plan" in r.json()["error"]


def test_the_pages_load_the_study_module() -> None:
    for net in (CONV.network, RNN.network):
        page = client(net).get("/").text
        assert page.count('src="/static/study_layers.js"') == 1 and "study_layers.css" in page


def _giveaways(parts) -> list[tuple[str, list[str]]]:
    blanks = set().union(*(p.blanks for p in parts))
    return [(s.name, [o for o in s.operands if o in blanks]) for p in parts for s in p.steps
            if s.name not in p.blanks and any(o in blanks for o in s.operands)]


def test_no_shown_line_has_a_blank_among_its_numbers() -> None:
    """A copy such as dnet_o1/dw15 = out_h3 = 0.71 would give the blank out_h3 away (it did on the 3-4-2 gallery
    network, in the dense study mode too)."""
    from gallery import ALL, network
    from stepgrad.teach import study
    from stepgrad.teach.quiz import Quiz
    from stepgrad.teach.study_layers import LayerQuiz, session

    for key in ALL:
        net = network(key)
        parts = study.session(Quiz(net), net)
        assert parts[2].blanks and not _giveaways(parts), key
    for ex in (CONV, generate_conv(3, "channels"), generate_conv(3, "strided"),
               *(generate_sequence(kind, seed) for kind in KINDS for seed in (1, 3))):
        parts = session(LayerQuiz(ex.network))
        assert parts[2].blanks and not _giveaways(parts)


def test_the_edit_panels_state_is_studied() -> None:
    """POST /api/layers/edit's state (web/layer_state.py) sent as 'state': the plan and the marking use its values."""
    c = client(CONV.network)
    state = c.get("/api/layers/state").json()["state"]
    edited = c.post("/api/layers/edit", json={"state": state, "name": "learning_rate", "value": "0.125"}).json()["state"]
    plan = c.post("/api/study/layers/plan", json={"state": edited}).json()
    update = next(s for s in plan["parts"][0]["steps"] if s["name"] == "k1[1,1,1,1]+")
    assert " - 0.125 * " in update["line"]
    entry = "k1[1,1,2,2]"
    right = CONV.trace.values[entry] - 0.125 * CONV.trace.values[f"dE_total/d{entry}"]  # the gradient is unchanged
    r = c.post("/api/study/layers/answer", json={"state": edited, "name": f"{entry}+", "answers": {f"{entry}+": f"{right:.8g}"}})
    assert r.json()["verdict"] == "correct"
    r = c.post("/api/study/layers/plan", json={"state": edited, "spec": CONV.spec})
    assert r.status_code == 422 and r.json()["field"] == "state"
    r = c.post("/api/study/layers/plan", json={"state": {"parameters": 1}})
    assert r.status_code == 422
