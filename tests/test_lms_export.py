"""LMS export: Moodle XML round-trips through an XML parser, GIFT through an independent GIFT parser
(pygiftparser, where installed) and a strict reading of the format, QTI through text2qti's zip."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile

import pytest

from stepgrad.teach import lms
from stepgrad.teach.check import CLOSE_RELATIVE
from stepgrad.teach.exercise import generate
from stepgrad.tracing.build import explain

EXERCISES = [("s1", generate(seed=7)), ("s2", generate(seed=8))]


def computed(ex) -> dict[str, float]:
    """The quantities a student computes: every step of the exercise's trace that has a formula."""
    return {s.name: s.value for s in explain(ex.network) if s.text}


def test_moodle_xml_round_trips_into_the_same_questions_answers_and_tolerances():
    root = ET.fromstring(lms.moodle_xml(EXERCISES).encode())
    assert root.tag == "quiz"
    numerical = root.findall("question[@type='numerical']")
    assert len(numerical) == sum(len(computed(ex)) for _, ex in EXERCISES)
    categories = [q.findtext("category/text") for q in root.findall("question[@type='category']")]
    assert categories == [f"$course$/stepgrad/{label}" for label, _ in EXERCISES]  # one category per variant
    category = None
    for q in root.findall("question"):  # a category's questions follow it: each is its own variant's
        if q.get("type") == "category":
            category = q.findtext("category/text").rsplit("/", 1)[1]
        else:
            assert q.findtext("name/text").startswith(f"{category}: ")
    for label, ex in EXERCISES:
        for name, value in computed(ex).items():
            (q,) = [q for q in numerical if q.findtext("name/text") == f"{label}: {name}"]
            answers = q.findall("answer")
            right = [a for a in answers if a.get("fraction") == "100"]
            assert len(right) == 1
            assert float(right[0].findtext("text")) == pytest.approx(value, rel=1e-11)
            tol = float(right[0].findtext("tolerance"))
            assert tol >= CLOSE_RELATIVE * abs(value)
            for written in _three_digit_answers(value):  # what `check` calls correct at 3 significant digits
                assert abs(written - value) <= tol * (1 + 1e-9), (name, value, written, tol)
            for wrong in answers:
                if wrong.get("fraction") == "0":  # a known mistake: outside the right range, with its diagnosis
                    assert abs(float(wrong.findtext("text")) - value) > 2 * float(right[0].findtext("tolerance"))
                    assert ":" in wrong.findtext("feedback/text")


def test_moodle_tolerance_follows_min_digits():
    root = ET.fromstring(lms.moodle_xml(EXERCISES[:1], min_digits=3).encode())
    q = root.find("question[@type='numerical']")
    value = float(q.findtext("answer/text"))  # net_h1 of seed 7, about 0.6: half a unit of the 3rd digit
    assert 0.1 <= abs(value) < 10
    expected = 0.001 if abs(value) < 1 else 0.01  # one unit of the 3rd digit: rounded or truncated answers
    assert float(q.findtext("answer/tolerance")) == pytest.approx(expected)


def _three_digit_answers(value: float) -> list[float]:
    """value written with 3 significant digits, rounded half up and truncated (independent of lms.py)."""
    from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

    d = Decimal(repr(value))
    quantum = Decimal(1).scaleb(d.adjusted() - 2)
    return [float(d.quantize(quantum, ROUND_HALF_UP)), float(d.quantize(quantum, ROUND_DOWN))]


def test_every_qti_range_holds_its_exact_answer_and_the_three_digit_ones():
    pytest.importorskip("text2qti")
    text = lms._qti_text(EXERCISES, None)
    found = re.findall(r"^Title: (.+): (\S+)\n.*\n=   \[(-?[\d.]+), (-?[\d.]+)\]$", text, re.M)
    assert found
    exact = {(label, name): value for label, ex in EXERCISES for name, value in computed(ex).items()}
    for label, name, low, high in found:
        value = exact[(label, name)]
        assert float(low) <= value <= float(high)
        assert all(float(low) <= w <= float(high) for w in _three_digit_answers(value))
    lms.qti_zip(EXERCISES)  # text2qti reads every range


GIFT_ANSWER = re.compile(r"=(?:%(?P<fraction>-?\d+)%)?(?P<value>-?\d+(?:\.\d+)?(?:e-?\d+)?):(?P<tolerance>\d+(?:\.\d+)?(?:e-?\d+)?)"
                         r"(?:#(?P<feedback>(?:[^\\=~#{}]|\\.)*))?")


def strict_gift(text: str) -> list[dict]:
    """A strict reading of GIFT: categories, then ::title::[markdown]text{#answers} questions, nothing else."""
    questions, category = [], None
    for block in text.strip().split("\n\n"):
        block = block.strip()
        if block.startswith("$CATEGORY:"):
            category = block.split(":", 1)[1].strip()
            continue
        m = re.fullmatch(r"::((?:[^:\\]|\\.)+)::\[markdown\]((?:[^{}\\]|\\.)*)\{#(.*)\}", block, re.S)
        assert m, block[:200]
        answers = []
        rest = m.group(3).strip()
        while rest:
            a = GIFT_ANSWER.match(rest)
            assert a, rest[:100]
            answers.append(a.groupdict())
            rest = rest[a.end():].strip()
        questions.append({"category": category, "title": m.group(1).replace("\\", ""), "answers": answers})
    return questions


def test_gift_reads_back_strictly_into_the_same_answers():
    parsed = strict_gift(lms.gift(EXERCISES))
    assert len(parsed) == sum(len(computed(ex)) for _, ex in EXERCISES)
    for label, ex in EXERCISES:
        for name, value in computed(ex).items():
            (q,) = [q for q in parsed if q["title"] == f"{label}: {name}"]
            assert q["category"] == f"$course$/stepgrad/{label}"  # a category per variant
            right = [a for a in q["answers"] if a["fraction"] is None]
            assert len(right) == 1 and float(right[0]["value"]) == pytest.approx(value, rel=1e-11)
            assert all(a["fraction"] == "0" for a in q["answers"] if a["fraction"] is not None)


def test_qti_zip_from_text2qti_holds_one_item_per_quantity(tmp_path):
    pytest.importorskip("text2qti")
    data = lms.qti_zip(EXERCISES[:1])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "imsmanifest.xml" in archive.namelist()
        (assessment,) = [n for n in archive.namelist() if n.endswith(".xml") and "assessment_meta" not in n
                         and n != "imsmanifest.xml"]
        root = ET.fromstring(archive.read(assessment))
    items = [e for e in root.iter() if e.tag.endswith("item")]
    assert len(items) == len(computed(EXERCISES[0][1]))


def _qti_ranges(zip_bytes: bytes) -> tuple[str, dict[str, tuple[float, float]]]:
    """(the quiz's title, item title -> its accepted [low, high]) read from a QTI zip's assessment XML."""
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        (meta,) = [n for n in archive.namelist() if n.endswith("assessment_meta.xml")]
        (assessment,) = [n for n in archive.namelist() if n.endswith(".xml") and n != meta and n != "imsmanifest.xml"]
        title = ET.fromstring(archive.read(meta)).findtext("{*}title")
        root = ET.fromstring(archive.read(assessment))
    ranges = {}
    for item in root.iterfind(".//{*}item"):
        low, high = item.findtext(".//{*}vargte"), item.findtext(".//{*}varlte")
        ranges[item.get("title")] = (float(low), float(high))
    return title, ranges


def test_one_qti_quiz_per_variant_read_back_by_text2qti():
    pytest.importorskip("text2qti")
    from text2qti.config import Config
    from text2qti.quiz import Question, Quiz

    files = lms.qti_quizzes(EXERCISES)
    assert sorted(files) == ["quiz-qti/s1.zip", "quiz-qti/s2.zip"]  # one quiz (one zip) per student
    for label, ex in EXERCISES:
        title, ranges = _qti_ranges(files[f"quiz-qti/{label}.zip"])
        assert title == f"stepgrad backpropagation exercise: {label}"
        config = Config()
        config.load()
        read = [q for q in Quiz(lms._qti_text([(label, ex)], None), config=config, source_name="<test>")
                .questions_and_delims if isinstance(q, Question)]  # text2qti's own reader of the quiz source
        assert [q.title_raw for q in read] == list(ranges)
        asked = {t.split(": ", 1)[1]: r for t, r in ranges.items()}
        assert all(t.startswith(f"{label}: ") for t in ranges)  # only this variant's questions
        exact = computed(ex)
        assert set(asked) <= set(exact) and len(asked) >= len(exact) - 3  # quantities below 1e-4 left out
        for q in read:
            name = q.title_raw.split(": ", 1)[1]
            assert (float(q.numerical_min_html_xml), float(q.numerical_max_html_xml)) == asked[name]
            assert asked[name][0] <= exact[name] <= asked[name][1]
    assert list(lms.qti_quizzes([("", EXERCISES[0][1])])) == ["quiz-qti.zip"]  # no roster: one quiz


def _written(value: float, digits: int, rounding) -> float:
    """value written with `digits` significant digits (decimal rounding, independent of stepgrad)."""
    from decimal import Decimal

    d = Decimal(repr(value))
    return float(d.quantize(Decimal(1).scaleb(d.adjusted() - digits + 1), rounding))


# beyond the default sheet: softmax with cross-entropy, tanh over a batch of 2, ReLU with mean squared error
VARIED = [("s3", generate(seed=9, loss="cross_entropy", output="softmax", layers=(2, 3, 3))),
          ("s4", generate(seed=10, activation="tanh", samples=2)),
          ("s5", generate(seed=11, activation="relu", loss="mean_squared_error"))]


@pytest.mark.parametrize(("min_digits", "exercises"), [
    pytest.param(None, EXERCISES, id="3 digits"), pytest.param(4, EXERCISES, id="4 digits"),
    pytest.param(None, VARIED, id="other networks", marks=pytest.mark.slow)])  # a few seconds: make test (CI)
def test_the_lms_accepts_every_answer_check_accepts(min_digits, exercises):
    """Every value `stepgrad check` marks correct (3 to 6 significant digits, rounded or truncated) is inside the
    Moodle/GIFT tolerance and the QTI range of its own variant's question."""
    pytest.importorskip("text2qti")
    from decimal import ROUND_DOWN, ROUND_HALF_UP

    from stepgrad.teach.check import Rules, check
    from stepgrad.teach.check.solution import loads

    files = lms.qti_quizzes(exercises, min_digits)
    root = ET.fromstring(lms.moodle_xml(exercises, min_digits).encode())
    accepted = 0
    for label, ex in exercises:
        _, qti = _qti_ranges(files[f"quiz-qti/{label}.zip"])
        moodle = {q.findtext("name/text"): q.find("answer[@fraction='100']")
                  for q in root.findall("question[@type='numerical']")}
        exact = computed(ex)
        for digits in (3, 4, 5, 6):
            for rounding in (ROUND_HALF_UP, ROUND_DOWN):
                values = {name: _written(v, digits, rounding) for name, v in exact.items()}
                text = "\n".join(f"{name} = {values[name]:.{digits}g}" for name in values)
                report = check(ex.network, loads(text), round_to=ex.round_to, rules=Rules(min_digits=min_digits))
                for r in report.results:
                    if r.verdict != "correct":
                        continue
                    accepted += 1
                    value, title = values[r.name], f"{label}: {r.name}"
                    right = moodle[title]
                    assert abs(value - float(right.findtext("text"))) <= float(right.findtext("tolerance")) * (1 + 1e-9)
                    if title in qti:
                        assert qti[title][0] <= value <= qti[title][1], (title, value, qti[title])
    assert accepted > 300


@pytest.mark.slow  # a process per case: make test (CI)
def test_cli_writes_the_quiz_files(tmp_path):
    roster = tmp_path / "students.csv"
    roster.write_text("id,name\ns1,Anna\ns2,Ben\n")
    for fmt, name in (("moodle", "quiz.xml"), ("gift", "quiz.gift")):
        proc = subprocess.run([sys.executable, "-m", "stepgrad", "exercise", "--roster", str(roster), "--format", fmt,
                               "-o", str(tmp_path / fmt)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert (tmp_path / fmt / name).stat().st_size > 1000
    proc = subprocess.run([sys.executable, "-m", "stepgrad", "exercise", "--roster", str(roster), "--format", "qti",
                           "-o", str(tmp_path / "qti")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "qti" / "quiz-qti").iterdir()) == ["s1.zip", "s2.zip"]
    proc = subprocess.run([sys.executable, "-m", "stepgrad", "exercise", "--format", "qti"], capture_output=True, text=True)
    assert proc.returncode == 2 and "add -o DIR" in proc.stderr and "Traceback" not in proc.stderr
