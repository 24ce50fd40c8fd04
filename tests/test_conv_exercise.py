"""Conv + pool + dense exercises: fair numbers (no saturation, no kink, no max-pool tie), the same seed the same
exercise, and the key's values marked correct by `check` against the exercise's own network.json."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stepgrad.core.layers import engine
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.teach.check import check, solution
from stepgrad.teach.exercise_layers import MAX_CONV_NET, MIN_GAP, MIN_MISS, generate_conv


@pytest.mark.parametrize("seed", range(6))
def test_numbers_are_fair(seed: int) -> None:
    ex = generate_conv(seed)
    net = LayerNetwork.from_dict(json.loads(ex.files()["network.json"]))
    fwd = engine.forward(net, net.inputs, net.targets)
    z, out = fwd.values["c1"].net[0, 0], fwd.values["c1"].out[0, 0]
    if net.layers[0].activation == "tanh":
        assert np.abs(z).max() <= MAX_CONV_NET
    else:
        assert np.abs(z).min() >= 0.05
    for r in range(2):
        for c in range(2):
            top = np.sort(out[r:r + 2, c:c + 2].ravel())
            assert top[-1] - top[-2] >= MIN_GAP  # one clear maximum: the route is unambiguous
    assert np.abs(fwd.output - net.targets).min() >= MIN_MISS
    assert generate_conv(seed).spec == ex.spec


def test_the_key_is_correct_and_the_template_blank() -> None:
    ex = generate_conv(2)
    net = LayerNetwork.from_dict(json.loads(ex.files()["network.json"]))
    answers = "\n".join(f"{s.name} = {s.value:.6g}" for s in ex.trace if s.text)
    report = check(net, solution.loads(answers))
    assert report.ok and report.counts["correct"] == len([s for s in ex.trace if s.text])
    blank = check(net, solution.loads(ex.template()))
    assert not blank.ok and blank.counts["unanswered"] == report.counts["correct"]


def test_the_command_writes_the_files(tmp_path, capsys) -> None:
    from stepgrad.cli import main

    main(["exercise", "--layers", "conv", "--seed", "4", "-o", str(tmp_path / "conv")])
    written = sorted(p.name for p in (tmp_path / "conv").iterdir())
    assert written == ["key-values.txt", "key.md", "network.json", "sheet.md", "solution-template.txt"]
    with pytest.raises(SystemExit) as exit_:
        main(["exercise", "--layers", "conv", "--round", "3"])
    assert exit_.value.code == 2 and "--round:" in capsys.readouterr().err


ROSTER = "id,name\ns1,Ada Lovelace\ns2,Émile Borel\ns3,Grace Hopper\ns4,Kurt Gödel\n"


def _roster(tmp_path) -> str:
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER, encoding="utf-8")
    return str(path)


def test_one_exercise_per_student_and_every_key_marked_correct(tmp_path) -> None:
    """exercise --layers conv --roster: each student's own numbers; each key (keys.csv's row) marked all correct by
    `check` against that student's network.json, read as `check --variants` reads it."""
    import csv

    from stepgrad.api import Problem, make_exercise
    from stepgrad.teach.variants import network_for

    out = tmp_path / "week5"
    make_exercise(Problem(layers="conv", seed=11, min_digits=4), roster=_roster(tmp_path), output=str(out))
    rows = list(csv.DictReader((out / "keys.csv").open(encoding="utf-8")))
    assert [r["id"] for r in rows] == ["s1", "s2", "s3", "s4"]
    assert len({r["seed"] for r in rows}) == 4  # a different problem per student
    assert (out / "check.toml").read_text() == "[check]\nmin_digits = 4\n"
    pick = network_for(str(out))
    for row in rows:
        home = out / "students" / row["id"]
        assert sorted(p.name for p in home.iterdir()) == ["network.json", "sheet.md", "solution-template.txt"]
        assert row["name"] in (home / "sheet.md").read_text(encoding="utf-8")
        assert "stride 1x1, padding 0x0, cross-correlation" in (home / "sheet.md").read_text(encoding="utf-8")
        net = pick(row["id"])
        key = solution.loads("\n".join(f"{name} = {value}" for name, value in row.items()
                                       if name not in ("id", "name", "seed") and value))
        report = check(net, key)
        assert report.ok and report.counts["correct"] == len(key.answers), report.summary()
        assert (out / "keys" / f"{row['id']}.md").is_file()


def test_latex_sheet_and_key(tmp_path) -> None:
    from stepgrad.api import Problem, make_exercise

    make_exercise(Problem(layers="conv", seed=5), fmt="latex", output=str(tmp_path / "tex"))
    sheet = (tmp_path / "tex" / "sheet.tex").read_text(encoding="utf-8")
    assert sheet.startswith("\\documentclass") and "\\title{Convolution exercise (seed 5)}" in sheet
    assert "cross-correlation" in sheet and sheet.rstrip().endswith("\\end{document}")
    assert (tmp_path / "tex" / "key.tex").is_file()


@pytest.mark.latex
def test_pdf_sheets_compile(tmp_path) -> None:
    from conftest import require_tool
    from stepgrad.api import Problem, make_exercise

    require_tool("pdflatex")
    make_exercise(Problem(layers="conv", seed=5), pdf=True, roster=_roster(tmp_path), output=str(tmp_path / "pdf"))
    for sid in ("s1", "s2", "s3", "s4"):
        assert (tmp_path / "pdf" / "students" / sid / "sheet.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.slow
def test_lms_quizzes_parse(tmp_path) -> None:
    """Moodle XML (a category and a numerical question per quantity, per student), GIFT (read back by the strict
    reader of test_lms_export) and QTI zips (one per student) of the conv exercises; the right answer is the key's."""
    import io
    import xml.etree.ElementTree as ET
    import zipfile

    from stepgrad.api import Problem, make_exercise
    from stepgrad.teach.variants_layers import conv_variants
    from test_lms_export import strict_gift

    roster = _roster(tmp_path)
    exercises = {sid: ex for sid, _, ex in conv_variants(roster, 2)}
    keys = {sid: {s.name: s.value for s in ex.trace if s.text} for sid, ex in exercises.items()}
    xml = make_exercise(Problem(layers="conv", seed=2), fmt="moodle", roster=roster)
    root = ET.fromstring(xml.encode())
    categories = [q.findtext("category/text") for q in root.findall("question[@type='category']")]
    assert categories == [f"$course$/stepgrad/{sid}" for sid in keys]
    numerical = root.findall("question[@type='numerical']")
    assert len(numerical) == sum(len(k) for k in keys.values())
    for q in numerical:
        sid, name = q.findtext("name/text").split(": ", 1)
        right = [a for a in q.findall("answer") if a.get("fraction") == "100"]
        assert float(right[0].findtext("text")) == pytest.approx(keys[sid][name], rel=1e-11)
    named = {a.findtext("feedback/text").split(":")[0] for q in numerical for a in q.findall("answer")
             if a.get("fraction") == "0"}
    assert {"kernel flipped", "max-pool gradient sent to every cell"} <= named  # the conv mistakes as wrong answers
    parsed = strict_gift(make_exercise(Problem(layers="conv", seed=2), fmt="gift", roster=roster))
    assert len(parsed) == len(numerical)
    pytest.importorskip("text2qti")
    make_exercise(Problem(layers="conv", seed=2), fmt="qti", roster=roster, output=str(tmp_path / "qti"))
    for sid in keys:
        with zipfile.ZipFile(io.BytesIO((tmp_path / "qti" / "quiz-qti" / f"{sid}.zip").read_bytes())) as archive:
            assert "imsmanifest.xml" in archive.namelist()
            for name in archive.namelist():
                if name.endswith(".xml"):
                    ET.fromstring(archive.read(name))
