"""stepgrad course-pack: one folder with every part, each marked by check as the README says; gallery networks too."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

import gallery
import stepgrad
from stepgrad.api import ClassOptions, PackOptions, check_solution, make_course_pack
from stepgrad.core.persist import dumps


def _fill(template: str, values: dict[str, float]) -> str:
    return re.sub(r"^(\S+)(\s+)=$", lambda m: f"{m.group(1)}{m.group(2)}= {values[m.group(1)]!r}", template, flags=re.M)


def _marked(solution, network) -> tuple[dict, bool]:
    report, ok = check_solution(str(solution), spec=str(network), fmt="json")
    return json.loads(report), ok


@pytest.mark.slow  # writes slides, notes, sheets, every student's problem and a quiz: a second or more
@pytest.mark.parametrize("key", ["deck", "3-4-2 tanh/softmax CE, 2 samples"])
def test_every_part_is_there_and_marks(tmp_path, key):
    spec = None
    if key != "deck":
        spec = tmp_path / "net.toml"
        spec.write_text(dumps(gallery.network(key)))
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\nada,Ada\nbob,Bob\n")
    pack = tmp_path / "pack"
    make_course_pack(None if spec is None else str(spec), output=str(pack), options=PackOptions(roster=str(roster)))
    assert "\\begin{frame}" in (pack / "1-worked" / "slides.tex").read_text()
    # the faded example, its blanks answered with the engine's values
    net = stepgrad.load(str(pack / "2-faded" / "network.toml"))
    values = stepgrad.explain(net).values
    (pack / "filled.txt").write_text(_fill((pack / "2-faded" / "solution-template.txt").read_text(), values))
    report, ok = _marked(pack / "filled.txt", pack / "2-faded" / "network.toml")
    assert ok, report["summary"]
    # a find-the-error sheet per student, on numbers other than their problem's: Ada answers hers right, Bob
    # answers with Ada's key (someone else's sheet)
    spot = pack / "3-find-error"
    assert (spot / "students" / "ada" / "find-error.md").is_file() and not (spot / "students" / "ada" / "find-error.json").exists()
    assert (spot / "students" / "ada" / "network.toml").read_text() != (pack / "4-problems" / "students" / "ada" /
                                                                        "network.toml").read_text()
    planted = json.loads((spot / "keys" / "ada" / "find-error.json").read_text())["planted"][0]
    answer = f"line = {planted['line']}\nmistake = {planted['key']}\ncorrected = {planted['corrected']:.6g}\n"
    returned = tmp_path / "returned"
    returned.mkdir()
    (returned / "ada.txt").write_text(answer)
    (returned / "bob.txt").write_text(answer)
    summary, _ = check_solution(str(returned), whole_class=ClassOptions(variants=str(spot)), fmt="json")
    points = {r["student"]: r["points"] for r in json.loads(summary)["students"]}
    assert points["ada"] == 3 and points["bob"] < 3
    # a problem per student, each with its own network and key
    students = sorted(p.name for p in (pack / "4-problems" / "students").iterdir())
    assert students == ["ada", "bob"]
    nets = [(pack / "4-problems" / "students" / s / "network.toml").read_text() for s in students]
    assert nets[0] != nets[1]
    # one LMS export: the prompts, the blanks and the problems' bank
    quiz = ET.parse(pack / "5-lms" / "quiz.xml").getroot()
    kinds = [q.get("type") for q in quiz]
    assert "multichoice" in kinds and "numerical" in kinds and "category" in kinds
    categories = [q.findtext("category/text") for q in quiz if q.get("type") == "category"]
    assert categories == ["$course$/stepgrad/find-error/ada", "$course$/stepgrad/find-error/bob",
                          "$course$/stepgrad/ada", "$course$/stepgrad/bob"]
    names = [q.findtext("name/text") for q in quiz if q.get("type") != "category"]
    assert names.index("ada: wrong line") < names.index("bob: wrong line")
    assert "stepgrad check returned/ --variants 3-find-error" in (pack / "README.md").read_text()


def test_a_network_the_generator_cannot_vary_is_refused_in_one_line(tmp_path):
    spec = tmp_path / "net.toml"
    spec.write_text(dumps(gallery.network("8-6-4")))
    with pytest.raises(stepgrad.StepgradError, match="1 to 6 neurons"):
        make_course_pack(str(spec), output=str(tmp_path / "pack"))
    assert not (tmp_path / "pack").exists()  # refused before anything is written
