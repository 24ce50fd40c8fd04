"""The class workflow: names from LMS folders, JSON for folders, the other-network hint, decimal commas."""

from __future__ import annotations

import json

import rounded_students as students
import stepgrad
from conftest import run_cli
from stepgrad.teach.check import check, loads
from stepgrad.teach.classroom import mark_class
from stepgrad.teach.exercise import generate


def _full(net) -> str:
    return students.solve(net, ("significant", 5))[0]


def test_a_moodle_folder_with_two_files_keeps_the_students_name(tmp_path):
    net = stepgrad.builtin()
    returned = tmp_path / "returned"
    anna = returned / "Anna Smith_1234_assignsubmission_file_"
    anna.mkdir(parents=True)
    (anna / "solution.txt").write_text(_full(net))
    (anna / "draft.txt").write_text("out_h1 = 0.5933\n")
    ben = returned / "Ben Jones_1240_assignsubmission_file_"
    ben.mkdir()
    (ben / "answers.txt").write_text(_full(net))
    book = mark_class(str(returned), lambda student: net)
    assert sorted(r.student for r in book.rows) == ["Anna Smith (draft.txt)", "Anna Smith (solution.txt)", "Ben Jones"]


def test_check_folder_format_json_prints_the_gradebook(tmp_path):
    returned = tmp_path / "returned"
    returned.mkdir()
    (returned / "anna.txt").write_text(_full(stepgrad.builtin()))
    (returned / "ben.txt").write_text("net_h1 = 0.3775\n")
    proc = run_cli("check", str(returned), "--format", "json", "--gradebook", str(tmp_path / "marked"))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    by = {s["student"]: s for s in data["students"]}
    assert by["anna"]["ok"] and not by["ben"]["ok"] and len(by["ben"]["missing"]) == 27
    assert data == {**json.loads((tmp_path / "marked" / "gradebook.json").read_text()), "gradebook": str(tmp_path / "marked")}


def test_a_solution_for_another_network_gets_a_hint():
    mine, theirs = generate(seed=1).network, generate(seed=2).network
    report = check(theirs, loads(_full(mine)))
    assert report.counts["correct"] <= report.answered // 10
    assert "another network" in report.meta["hint"]
    assert "hint" not in check(mine, loads(_full(mine))).meta


def test_a_class_with_decimal_commas_is_marked(tmp_path):
    net = stepgrad.builtin()
    returned = tmp_path / "returned"
    returned.mkdir()
    (returned / "anna.txt").write_text(_full(net).replace(".", ","))
    (row,) = mark_class(str(returned), lambda student: net).rows
    assert row.report is not None and row.report.ok and row.report.counts["wrong"] == 0
