"""Find-the-error sheets in the LMS exports, read back: Moodle XML with an XML parser, GIFT with a strict reading,
QTI with text2qti's own reader and the zip's assessment XML. The right line and the corrected value are checked
against the number-by-number checker on the lines the question prints (not against the sheet's key)."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import pytest

from stepgrad.api import Problem, check_solution, make_exercise
from stepgrad.core.persist import dumps
from stepgrad.teach import lms_find_error
from stepgrad.teach.exercise import generate
from stepgrad.teach.find_error import plant

SHEETS = [("s1", plant(generate(seed=3), 2, seed=3)),
          ("s2", plant(generate(layers=(2, 3, 2), activation="relu", seed=5), 1, seed=5))]


def _printed(text: str) -> tuple[list[str], str]:
    """(the printed lines' quantities in order, the solution they print) from a question's sheet text."""
    found = re.findall(r"^\s*(\d+)\. (\S+) = .* = (\S+)$", text, re.M)
    assert found
    assert [int(n) for n, _, _ in found] == list(range(1, len(found) + 1))
    return [name for _, name, _ in found], "".join(f"{name} = {value}\n" for _, name, value in found)


def _checked(tmp_path, label: str, text: str) -> list[dict]:
    """The checker's rows for the solution a question's sheet prints, against that variant's network."""
    sheet = dict(SHEETS)[label]
    (tmp_path / "network.toml").write_text(dumps(sheet.exercise.network))
    (tmp_path / "printed.txt").write_text(_printed(text)[1])
    report, _ = check_solution(str(tmp_path / "printed.txt"), spec=str(tmp_path / "network.toml"), fmt="json")
    return json.loads(report)["results"]


def _written(value: float) -> list[float]:
    """value written with 3 significant digits, rounded and truncated (independent of stepgrad)."""
    d = Decimal(repr(value))
    q = Decimal(1).scaleb(d.adjusted() - 2)
    return [float(d.quantize(q, ROUND_HALF_UP)), float(d.quantize(q, ROUND_DOWN))]


def test_moodle_xml_asks_the_line_the_mistake_and_the_corrected_value_per_variant(tmp_path):
    root = ET.fromstring(lms_find_error.moodle_xml(SHEETS).encode())
    categories = [q.findtext("category/text") for q in root.findall("question[@type='category']")]
    assert categories == ["$course$/stepgrad/find-error/s1", "$course$/stepgrad/find-error/s2"]
    by_label: dict[str, list[ET.Element]] = {}
    label = None
    for q in root.findall("question"):
        if q.get("type") == "category":
            label = q.findtext("category/text").rsplit("/", 1)[1]
        else:
            by_label.setdefault(label, []).append(q)
    for label, sheet in SHEETS:
        questions = by_label[label]
        assert [q.get("type") for q in questions] == ["multichoice", "multichoice", "numerical"] * len(sheet.planted)
        text = questions[0].findtext("questiontext/text")
        names, _ = _printed(text)
        results = _checked(tmp_path, label, text)
        wrong = [r for r in results if r["verdict"] == "wrong"]
        assert len(wrong) == len(sheet.planted)  # every other printed line is correct or carried forward
        for k, r in enumerate(wrong):
            line_q, mistake_q, value_q = questions[3 * k: 3 * k + 3]
            (right,) = [a.findtext("text") for a in line_q.findall("answer") if a.get("fraction") == "100"]
            assert right == f"line {names.index(r['name']) + 1}: {r['name']}"  # the checker's wrong line
            assert len(line_q.findall("answer")) == 4
            (named,) = [a.findtext("text") for a in mistake_q.findall("answer") if a.get("fraction") == "100"]
            assert r["mistake"] is not None and named.lower() in r["diagnosis"].lower()
            answers = value_q.findall("answer")
            value, tol = float(answers[0].findtext("text")), float(answers[0].findtext("tolerance"))
            assert answers[0].get("fraction") == "100"
            assert value == pytest.approx(r["expected_from_own"], rel=1e-9)
            assert all(abs(w - value) <= tol * (1 + 1e-9) for w in _written(value))
            shown = [a for a in answers if a.get("fraction") == "0"]
            assert all(abs(float(a.findtext("text")) - value) > 2 * tol for a in shown)


GIFT_QUESTION = re.compile(r"::((?:[^:\\]|\\.)+)::\[markdown\]((?:[^{}\\]|\\.)*)\{(.*)\}", re.S)


def test_gift_reads_back_strictly():
    text = lms_find_error.gift(SHEETS)
    blocks = [b.strip() for b in text.strip().split("\n\n") if b.strip()]
    assert [b for b in blocks if b.startswith("$CATEGORY")] == ["$CATEGORY: $course$/stepgrad/find-error/s1",
                                                                 "$CATEGORY: $course$/stepgrad/find-error/s2"]
    questions = [GIFT_QUESTION.fullmatch(b) for b in blocks if not b.startswith("$CATEGORY")]
    assert all(questions) and len(questions) == 3 * sum(len(s.planted) for _, s in SHEETS)
    for m in questions:
        answers = m.group(3).strip()
        if answers.startswith("#"):  # numerical: =value:tolerance#feedback ...
            assert re.fullmatch(r"#(\s*=(%-?\d+%)?-?[\d.e-]+:[\d.e-]+#(?:[^\\=~#{}]|\\.)*)+", answers), answers[:200]
        else:  # multiple choice: one =right and ~wrong choices, each with its #feedback
            choices = re.findall(r"([=~])((?:[^\\=~#{}]|\\.)*)#((?:[^\\=~#{}]|\\.)*)", answers)
            assert [c[0] for c in choices].count("=") == 1 and len(choices) == 4


def test_qti_read_back_by_text2qti_and_from_the_zip():
    pytest.importorskip("text2qti")
    from text2qti.config import Config
    from text2qti.quiz import Question, Quiz

    files = lms_find_error.qti_quizzes(SHEETS)
    assert sorted(files) == ["quiz-qti/s1.zip", "quiz-qti/s2.zip"]
    for label, sheet in SHEETS:
        config = Config()
        config.load()
        read = [q for q in Quiz(lms_find_error.qti_text(label, sheet), config=config, source_name="<test>")
                .questions_and_delims if isinstance(q, Question)]
        assert [q.type for q in read][:3] == ["multiple_choice_question", "multiple_choice_question",
                                              "numerical_question"]
        for k, p in enumerate(sheet.planted):
            line_q, mistake_q, value_q = read[3 * k: 3 * k + 3]
            assert [c.choice_raw.replace("\\", "") for c in line_q.choices if c.correct] == [f"line {p.line}: {p.name}"]
            assert all(c.feedback_raw for c in line_q.choices)
            assert [c.choice_raw.replace("\\", "") for c in mistake_q.choices if c.correct] == [p.label]
            assert float(value_q.numerical_min_html_xml) <= p.corrected <= float(value_q.numerical_max_html_xml)
        with zipfile.ZipFile(io.BytesIO(files[f"quiz-qti/{label}.zip"])) as archive:
            (name,) = [n for n in archive.namelist() if n.endswith(".xml") and "assessment_meta" not in n
                       and n != "imsmanifest.xml"]
            items = list(ET.fromstring(archive.read(name)).iterfind(".//{*}item"))
        assert len(items) == len(read)


def test_the_exercise_command_writes_find_error_quizzes(tmp_path):
    (tmp_path / "roster.csv").write_text("id,name\nada,Ada\nbob,Bob\n")
    gift = make_exercise(Problem(seed=3, find_error=1), fmt="gift")
    assert gift.count("::seed") == 3
    make_exercise(Problem(find_error=2), fmt="moodle", roster=str(tmp_path / "roster.csv"), output=str(tmp_path / "m"))
    root = ET.fromstring((tmp_path / "m" / "quiz.xml").read_bytes())
    assert len(root.findall("question[@type='category']")) == 2 and len(root.findall("question[@type='numerical']")) == 4
    pytest.importorskip("text2qti")
    make_exercise(Problem(find_error=1), fmt="qti", roster=str(tmp_path / "roster.csv"), output=str(tmp_path / "q"))
    assert sorted(p.name for p in (tmp_path / "q" / "quiz-qti").iterdir()) == ["ada.zip", "bob.zip"]
