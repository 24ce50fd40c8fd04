"""Find the error: for every mistake of the catalogue a sheet whose printed solution the checker marks with the
planted line wrong and the planted mistake named; a right answer earns full marks; one variant per student."""

from __future__ import annotations

import json
import re
from functools import cache

import pytest

import gallery
import stepgrad
from conftest import require_tool
from stepgrad.api import Problem, check_solution, make_exercise
from stepgrad.core.persist import dumps
from stepgrad.core.spec import Network
from stepgrad.teach.exercise import Exercise, generate
from stepgrad.teach.find_error import catalogue, plant
from stepgrad.teach.find_error_mark import mark


@cache
def _networks() -> list[tuple[str, Exercise]]:
    found = [("exercise 2-2-2", generate(seed=7)), ("exercise 2-3-2 relu", generate(layers=(2, 3, 2), activation="relu", seed=5)),
             ("exercise softmax, 2 samples", generate(layers=(2, 3, 2), activation="tanh", output="softmax",
                                                       loss="cross_entropy", samples=2, seed=3))]
    for key in gallery.SMALL:
        net = gallery.network(key)
        found.append((key, Exercise(0, net, stepgrad.explain(net))))
    biased = Network.from_dict({**stepgrad.builtin().to_dict(), "update_biases": True}, "<deck, biases updated>")
    found.append(("deck, biases updated", Exercise(0, biased, stepgrad.explain(biased))))
    frozen = Network.from_dict({**stepgrad.builtin().to_dict(), "update_weights": [True, False]}, "<deck, w5..w8 fixed>")
    found.append(("deck, w5..w8 held fixed", Exercise(0, frozen, stepgrad.explain(frozen))))
    return found


def _printed(sheet_text: str) -> str:
    """The solution as the sheet prints it: each numbered line's last number, under its quantity."""
    lines = re.findall(r"^\s*\d+\. (\S+) = .* = (\S+)$", sheet_text, re.M)
    assert lines
    return "".join(f"{name} = {value}\n" for name, value in lines)


@pytest.mark.parametrize("key", [m.key for m in catalogue()])
def test_every_mistake_is_planted_found_and_named(tmp_path, key):
    for _label, ex in _networks():
        try:
            sheet = plant(ex, keys=(key,))
        except stepgrad.StepgradError:
            continue
        break
    else:
        pytest.fail(f"{key}: planted in none of the networks")
    (tmp_path / "network.toml").write_text(dumps(ex.network))
    (tmp_path / "solution.txt").write_text(_printed(sheet.sheet("markdown")))
    report, ok = check_solution(str(tmp_path / "solution.txt"), spec=str(tmp_path / "network.toml"), fmt="json")
    results = json.loads(report)["results"]
    first = next(r for r in results if r["verdict"] == "wrong")
    planted = sheet.planted[0]
    assert (first["name"], first["mistake"]) == (planted.name, key), _label
    assert not ok
    assert all(r["verdict"] in ("correct", "follows", "close") for r in results if r["name"] != planted.name)
    # the value the line should have: what its formula gives on the printed lines above it
    assert first["expected_from_own"] == pytest.approx(planted.corrected, rel=1e-6)
    # an answer naming that line, that mistake and the checker's value gets full marks; naming another does not
    label = next(m.label for m in catalogue() if m.key == key)
    score = mark(sheet.key(), f"line = {planted.line}\nmistake = {label}\ncorrected = {first['expected_from_own']:.6g}\n",
                 network=ex.network)
    assert (score.points, score.total) == (3, 3)
    other = next(m for m in catalogue() if m.key != key)
    assert mark(sheet.key(), f"line = {planted.name}\nmistake = {other.label}\n").points == 1


def _answer(folder, text: str):
    (folder / "answer.txt").write_text(text)
    report, ok = check_solution(str(folder / "answer.txt"), spec=str(folder / "network.toml"), fmt="json")
    return json.loads(report), ok


def test_a_right_answer_gets_full_marks_and_a_partial_one_part(tmp_path):
    make_exercise(Problem(seed=11, find_error=2), output=str(tmp_path))
    key = json.loads((tmp_path / "find-error.json").read_text())
    first, second = key["planted"]
    right = (f"line 1 = {first['line']}\nmistake 1 = {first['key']}\ncorrected 1 = {first['corrected']:.6g}\n"
             f"line 2 = {second['name']}\nmistake 2 = {second['label']}\ncorrected 2 = {second['corrected']:.5g}\n")
    marks, ok = _answer(tmp_path, right)
    assert ok and marks["points"] == marks["total"] == 6
    wrong_value = -first["corrected"] if first["corrected"] else 1.0
    marks, ok = _answer(tmp_path, f"line 1 = {first['line']}\nmistake 1 = flipped sign\ncorrected 1 = {wrong_value:.6g}\n")
    assert not ok and marks["mistakes"][0]["line_found"] and marks["points"] <= 2
    assert sum(r["line_found"] for r in marks["mistakes"]) == 1
    # an ordinary solution beside the same network is still checked number by number
    (tmp_path / "sol.txt").write_text("out_h1 = 0.5\n")
    report, _ = check_solution(str(tmp_path / "sol.txt"), spec=str(tmp_path / "network.toml"), fmt="json")
    assert "results" in json.loads(report)


def test_one_variant_per_student(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\nada,Ada\nbob,Bob\n")
    make_exercise(Problem(find_error=1), output=str(tmp_path / "out"), roster=str(roster))
    sheets = [(tmp_path / "out" / "students" / s / "find-error.md").read_text() for s in ("ada", "bob")]
    assert sheets[0] != sheets[1] and "Find the error for Ada" in sheets[0]
    assert not (tmp_path / "out" / "students" / "ada" / "find-error.json").exists()  # the key stays with the teacher
    assert (tmp_path / "out" / "keys" / "bob" / "find-error.json").is_file()


def test_planted_values_are_carried_forward_by_the_engine():
    """After the planted line the sheet equals the engine's step on the mistaken value: a weight update slip
    carried into the forward pass with the new weights is what explain gives for those new weights."""
    ex = generate(seed=7)
    sheet = plant(ex, keys=("learning_rate",))
    p = sheet.planted[0]
    assert p.name.startswith("w") and p.name.endswith("+")
    new = [[[sheet.values[f"w{4 * l + 2 * j + i + 1}+"] for i in range(2)] for j in range(2)] for l in range(2)]
    moved = Network.from_dict({**ex.network.to_dict(), "weights": new}, "<moved>")
    after = stepgrad.explain(moved).values
    assert sheet.values["E_total+"] == pytest.approx(after["E_total"], rel=1e-9)


def test_bad_mistake_key_is_one_line():
    with pytest.raises(stepgrad.StepgradError, match="no mistake named"):
        make_exercise(Problem(find_error=1, mistakes="nonsense"))


@pytest.mark.parametrize("bad", ['{"find_error": 1}', '{"find_error": 1, "lines": [], "planted": [{"line": "x"}]}', "[1]",
                                 "{not json"])
def test_an_edited_key_is_refused_in_one_line(tmp_path, bad):
    make_exercise(Problem(seed=3, find_error=1), output=str(tmp_path))
    (tmp_path / "find-error.json").write_text(bad)
    (tmp_path / "answer.txt").write_text("line = 3\nmistake = 1\ncorrected = 0.5\n")
    with pytest.raises(stepgrad.StepgradError, match="find-error.json"):
        check_solution(str(tmp_path / "answer.txt"), spec=str(tmp_path / "network.toml"))


@pytest.mark.latex
def test_the_latex_sheet_compiles(tmp_path):
    require_tool("pdflatex")
    make_exercise(Problem(seed=3, layers="2-3-2", activation="tanh", find_error=2), fmt="latex", output=str(tmp_path),
                  pdf=True)
    assert (tmp_path / "find-error.pdf").read_bytes().startswith(b"%PDF")
