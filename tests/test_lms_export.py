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
    assert len(categories) == len(computed(EXERCISES[0][1]))  # a bank: one category per quantity
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
            assert q["category"] == f"$course$/stepgrad/{name}"
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


@pytest.mark.slow  # a process per case: make test (CI)
def test_cli_writes_the_quiz_files(tmp_path):
    roster = tmp_path / "students.csv"
    roster.write_text("id,name\ns1,Anna\ns2,Ben\n")
    for fmt, name in (("moodle", "quiz.xml"), ("gift", "quiz.gift")):
        proc = subprocess.run([sys.executable, "-m", "stepgrad", "exercise", "--roster", str(roster), "--format", fmt,
                               "-o", str(tmp_path / fmt)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert (tmp_path / fmt / name).stat().st_size > 1000
    proc = subprocess.run([sys.executable, "-m", "stepgrad", "exercise", "--format", "qti"], capture_output=True, text=True)
    assert proc.returncode == 2 and "add -o DIR" in proc.stderr and "Traceback" not in proc.stderr
