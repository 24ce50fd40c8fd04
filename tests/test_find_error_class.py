"""Marking a class's find-the-error answers with --variants: each student against their own planted sheet.

Simulated students: one answers everything right, one points at a wrong line, one finds the lines but corrects a
value wrongly, one corrects the first line with a slip and the second consistently from that slip (carried
forward: the point is earned), one on the roster hands nothing in, and one is not on the roster at all.
The carried-forward value is taken from the number-by-number checker (`check`'s expected_from_own), not from
the find-the-error marking under test.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from stepgrad.api import ClassOptions, Problem, check_solution, make_exercise

ROSTER = ["ada", "bob", "cy", "dee", "eve", "fay", "gus", "hal"]


def _key(spot: Path, sid: str) -> dict:
    return json.loads((spot / "keys" / sid / "find-error.json").read_text())


def _carried(spot: Path, sid: str, slip: float, tmp: Path) -> float:
    """What line 2 of `sid`'s sheet is when line 1 is `slip` and every line between is recomputed from it:
    the checker's expected_from_own on a solution that writes the printed lines above line 1 and the slip."""
    key = _key(spot, sid)
    first, second = key["planted"]
    lines = [f"{name} = {key['shown'][name]!r}" for name in key["lines"][:first["line"] - 1]]
    lines += [f"{first['name']} = {slip!r}", f"{second['name']} = 12345"]
    (tmp / "probe.txt").write_text("\n".join(lines) + "\n")
    report, _ = check_solution(str(tmp / "probe.txt"), spec=str(spot / "keys" / sid / "network.toml"), fmt="json")
    (row,) = [r for r in json.loads(report)["results"] if r["name"] == second["name"]]
    return row["expected_from_own"]


@pytest.fixture(scope="module")
def marked(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("class")
    (tmp / "roster.csv").write_text("id,name\n" + "".join(f"{s},{s.title()} Student\n" for s in ROSTER))
    spot = tmp / "spot"
    make_exercise(Problem(find_error=2, seed=4), output=str(spot), roster=str(tmp / "roster.csv"))
    returned = tmp / "returned"
    returned.mkdir()
    roles: dict[str, str] = {}
    # the follows student needs a sheet whose second planted line depends on the first
    for sid in ROSTER:
        first, second = _key(spot, sid)["planted"]
        slip = first["corrected"] * 1.25 + 0.01
        carried = _carried(spot, sid, slip, tmp)
        if abs(carried - second["corrected"]) > 0.05 * abs(second["corrected"]) + 1e-3:
            roles[sid] = "follows"
            break
    else:
        pytest.fail("no sheet of the class has a second mistake that depends on the first")
    others = [s for s in ROSTER if s not in roles]
    roles |= {others[0]: "right", others[1]: "wrong line", others[2]: "wrong correction", others[3]: "absent"}
    for sid, role in roles.items():
        if role == "absent":
            continue
        first, second = _key(spot, sid)["planted"]
        c1, c2 = f"{first['corrected']:.6g}", f"{second['corrected']:.6g}"
        l1, l2 = str(first["line"]), second["name"]
        if role == "wrong line":
            l1 = str(first["line"] + 1)  # a line that follows from the mistake, not the first wrong one
        if role == "wrong correction":
            c2 = f"{second['corrected'] * 1.5 + 0.1:.6g}"
        if role == "follows":
            slip = first["corrected"] * 1.25 + 0.01
            c1, c2 = f"{slip!r}", f"{_carried(spot, sid, slip, tmp):.6g}"
        (returned / f"{sid}.txt").write_text(f"line 1 = {l1}\nmistake 1 = {first['key']}\ncorrected 1 = {c1}\n"
                                             f"line 2 = {l2}\nmistake 2 = {second['label']}\ncorrected 2 = {c2}\n")
    (returned / "zed.txt").write_text("line 1 = 3\nmistake 1 = 1\ncorrected 1 = 0.5\n")  # not on the roster
    summary, ok = check_solution(str(returned), whole_class=ClassOptions(variants=str(spot)), fmt="json")
    book = json.loads(summary)
    gradebook = Path(book["gradebook"])
    return roles, {r["student"]: r for r in book["students"]}, book, gradebook


def test_each_student_is_marked_against_their_own_sheet(marked):
    roles, rows, _, _ = marked
    by_role = {role: rows.get(sid) for sid, role in roles.items()}
    assert by_role["right"]["points"] == by_role["right"]["total"] == 6
    wrong_line = by_role["wrong line"]["mistakes"]
    assert not wrong_line[0]["line_found"] and wrong_line[0]["mistake_named"] and wrong_line[1]["line_found"]
    assert by_role["wrong line"]["points"] == 5
    wrong = by_role["wrong correction"]["mistakes"]
    assert [m["corrected"] for m in wrong] == ["right", "wrong"] and by_role["wrong correction"]["points"] == 5
    follows = by_role["follows"]["mistakes"]
    assert [m["corrected"] for m in follows] == ["wrong", "follows"]
    assert follows[1]["corrected_right"] and by_role["follows"]["points"] == 5
    assert f"line {follows[0]['line']}" in follows[1]["used"]  # names the earlier value it was computed from
    assert by_role["absent"] is None
    assert "no find-the-error sheet for student 'zed'" in rows["zed"]["error"]


def test_the_gradebook_names_every_student_of_the_roster(marked):
    roles, _, book, gradebook = marked
    rows = {r["student"]: r for r in csv.DictReader((gradebook / "gradebook.csv").open())}
    absent = next(s for s, role in roles.items() if role == "absent")
    assert rows[absent]["status"] == "no answer handed in" and rows[absent]["name"] == f"{absent.title()} Student"
    right = next(s for s, role in roles.items() if role == "right")
    assert rows[right]["status"] == "pass" and rows[right]["points"] == "6"
    follows = next(s for s, role in roles.items() if role == "follows")
    assert rows[follows]["corrected 2"] == "follows"
    feedback = (gradebook / "feedback" / f"{follows}.md").read_text()
    assert "right from your own corrected line" in feedback and f"{follows.title()} Student" in feedback


def test_the_class_report_counts_found_named_and_corrected(marked):
    roles, rows, _, gradebook = marked
    report = (gradebook / "class-report.md").read_text()
    assert "4 answers marked, 1 could not be" in report  # zed has no sheet
    absent = next(s for s, role in roles.items() if role == "absent")
    assert f"No answer from {len(ROSTER) - 4} students" in report and f"{absent.title()} Student" in report
    assert "Full marks: 1 of 4." in report
    assert "1 answer pointed at a line after the planted one" in report
    planted = sum(len(r["mistakes"]) for r in rows.values() if "mistakes" in r)
    table = [line for line in report.splitlines() if line.startswith("| ") and not line.startswith("| mistake")]
    assert sum(int(line.split("|")[2]) for line in table) == planted == 8


def test_one_sheet_for_the_class_beside_the_network(tmp_path):
    make_exercise(Problem(find_error=1, seed=3), output=str(tmp_path / "spot"))
    key = json.loads((tmp_path / "spot" / "find-error.json").read_text())
    (p,) = key["planted"]
    returned = tmp_path / "returned"
    returned.mkdir()
    (returned / "ann.txt").write_text(f"line = {p['line']}\nmistake = {p['key']}\ncorrected = {p['corrected']:.6g}\n")
    (returned / "ben.txt").write_text(f"line = {p['line']}\nmistake = {p['key']}\ncorrected = 0\n")
    summary, _ = check_solution(str(returned), spec=str(tmp_path / "spot" / "network.toml"))
    assert summary.startswith("2 find-the-error answers marked, 1 with full marks")
