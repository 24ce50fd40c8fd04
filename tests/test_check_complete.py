"""Incomplete work never passes: the required answers, what is missing, and how a teacher sets the rule."""

from __future__ import annotations

import csv
import io
import json

import pytest

import rounded_students as students
import stepgrad
from conftest import run_cli
from gallery import SMALL
from gallery import network as gallery_network
from stepgrad.teach.check import Rules, check, loads
from stepgrad.teach.classroom import mark_class

FORWARD = ("net_", "out_", "E_")


def _solution(net, keep=lambda name: True) -> str:
    trace = stepgrad.explain(net)
    return "\n".join(f"{s.name} = {s.value:.6g}" for s in trace if s.text and keep(s.name)) + "\n"


def _forward_only(name: str) -> bool:
    return name.startswith(FORWARD) and "+" not in name


@pytest.mark.parametrize("key", SMALL)
def test_a_forward_pass_alone_does_not_pass_and_the_backward_pass_is_listed(key):
    net = gallery_network(key)
    report = check(net, loads(_solution(net, _forward_only)))
    assert report.counts["wrong"] == 0 and report.answered > 0
    assert not report.ok
    trace = stepgrad.explain(net)
    gradients = [s.name for s in trace if s.name.startswith("dE_total/d") and "[" not in s.name
                 and s.name.split("/d", 1)[1].startswith(("w", "b"))]
    updates = [s.name for s in trace if s.kind == "update"]
    assert set(report.missing) == {*gradients, *updates, "E_total+"}
    text = report.meta["missing_text"]
    assert text.startswith(f"{len(report.missing)} answers missing: the gradients")
    assert "the new weights" in text and gradients[0] in text


def test_one_line_does_not_pass_and_says_how_much_is_missing():
    report = check(stepgrad.builtin(), loads("net_h1 = 0.3775"))
    assert report.counts["correct"] == 1 and not report.ok
    assert len(report.missing) == 27
    assert report.summary() == "1 correct, 0 follows, 0 close, 0 wrong, 27 missing"
    assert report.to_dict()["summary"]["missing"] == 27


@pytest.mark.parametrize("key", students.KEYS)
def test_a_complete_rounded_solution_passes(key):
    net = students.network(key)
    text, _ = students.solve(net, ("decimals", 4))
    report = check(net, loads(text))
    assert not report.missing
    assert report.counts["wrong"] == 0 and report.ok, report.summary()


def test_intermediate_factors_may_stay_in_the_calculator():
    net = stepgrad.builtin()
    text, _ = students.solve(net, ("significant", 4), skip=lambda n: n.startswith("d") and "/dw" not in n)
    report = check(net, loads(text))
    assert report.ok and not report.missing


def test_template_rule_requires_every_line_but_pure_copies():
    net = stepgrad.builtin()
    text = _solution(net, lambda name: not name.startswith("dnet_"))  # dnet_o1/dw5 = out_h1: a copy
    assert check(net, loads(text), rules=Rules(required="template")).ok
    text = _solution(net, lambda name: name != "dout_h1/dnet_h1")
    report = check(net, loads(text), rules=Rules(required="template"))
    assert report.missing == ("dout_h1/dnet_h1",) and not report.ok
    assert check(net, loads(text)).ok  # the default asks for results, not every factor


def test_patterns_and_none():
    net = stepgrad.builtin()
    text = _solution(net, lambda name: name.startswith("dE_total/dw"))
    assert check(net, loads(text), rules=Rules(required="dE_total/dw*")).ok
    assert not check(net, loads(text), rules=Rules(required="dE_total/dw*,w*+")).ok
    assert check(net, loads("out_h1 = 0.5933"), rules=Rules(required="none")).ok


def test_the_gradebook_counts_missing_answers_and_fails_them(tmp_path):
    net = stepgrad.builtin()
    returned = tmp_path / "returned"
    returned.mkdir()
    (returned / "anna.txt").write_text(_solution(net))
    (returned / "ben.txt").write_text(_solution(net, _forward_only))
    book = mark_class(str(returned), lambda student: net)
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(book.to_csv()))}
    assert rows["anna"]["status"] == "pass" and rows["anna"]["missing"] == "0"
    assert rows["ben"]["status"] == "fail" and int(rows["ben"]["missing"]) == 17
    assert float(rows["ben"]["total"]) < float(rows["ben"]["max"]) == float(rows["anna"]["total"])
    feedback = book.feedback(next(r for r in book.rows if r.student == "ben"))
    assert "Not a pass yet: 17 answers missing: the gradients" in feedback
    data = book.to_dict()
    assert len(next(s for s in data["students"] if s["student"] == "ben")["missing"]) == 17


def test_check_toml_sets_the_rule(tmp_path):
    spec = tmp_path / "network.json"
    spec.write_text(json.dumps(stepgrad.builtin().to_dict()))
    solution = tmp_path / "s.txt"
    solution.write_text("out_h1 = 0.5933\n")
    (tmp_path / "check.toml").write_text('[check]\nrequire = "none"\n')
    proc = run_cli("check", str(solution), "--network", str(spec), "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["missing"] == []
    (tmp_path / "check.toml").write_text('[check]\nrequire = "answers"\n')
    proc = run_cli("check", str(solution), "--network", str(spec), "--format", "json")
    assert proc.returncode == 1 and len(json.loads(proc.stdout)["missing"]) == 27
    proc = run_cli("check", str(solution), "--network", str(spec), "--require", "none")  # the option wins
    assert proc.returncode == 0
