"""Reading solutions: numbers as people write them, YAML and JSON, and unusable input (exit 2)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

import stepgrad
from conftest import run_cli
from stepgrad.core.errors import StepgradError
from stepgrad.teach.check.solution import loads, parse_number


@pytest.mark.parametrize("text,value,places", [
    ("-0.0226", "-0.0226", 4), ("3.51e-5", "0.0000351", 7), (".5", "0.5", 1), ("-21707153", "-21707153", 0),
    ("3.51 x 10^-5", "0.0000351", 7), ("3.51×10^(-5)", "0.0000351", 7), ("0.50", "0.50", 2),
    ("\u22120.25", "-0.25", 2), ("0.593269992...", "0.593269992", 9), ("+1.5E2", "150", -1),
])
def test_numbers_as_people_write_them(text, value, places):
    d = parse_number(text)
    assert d == Decimal(value)
    assert -d.as_tuple().exponent == places


@pytest.mark.parametrize("text", ["abc", "1.2.3", "0,5,1", "1,234.5", "", "e5", "1e", "--1"])
def test_not_numbers(text):
    assert parse_number(text) is None


def test_text_format():
    sol = loads("""# homework
out_h1 = 0.5933   # comment
dE_total / dw5 = .0822
w5+ = 0.4 - 0.5 * 0.0822 = 0.3589
net_o1 =
""")
    assert [(a.name, a.text, a.line) for a in sol] == [
        ("out_h1", "0.5933", 2), ("dE_total/dw5", ".0822", 3), ("w5+", "0.3589", 4)]


def test_yaml_keeps_the_precision_written(tmp_path):
    sol = loads("out_h1: 0.50\n'dE_total/dw5': 3.51e-5\nw5+: ~\n", "yaml")
    assert [(a.name, a.text, a.places, a.line) for a in sol] == [("out_h1", "0.50", 2, 1), ("dE_total/dw5", "3.51e-5", 7, 2)]


def test_json_and_explain_json_values():
    sol = loads('{\n  "out_h1": 0.50,\n  "E_total+": "0.2910",\n  "w5+": null\n}', "json")
    assert [(a.name, a.text, a.line) for a in sol] == [("out_h1", "0.50", 2), ("E_total+", "0.2910", 3)]
    wrapped = loads(json.dumps({"meta": {}, "values": {"out_h1": 0.593269992}}), "json")
    assert [a.name for a in wrapped] == ["out_h1"]


@pytest.mark.parametrize("fmt,text,line,words", [
    ("text", "out_h1 = 0.59\nnet_o1 1.1\n", 2, "expected 'name = value'"),
    ("text", "out_h1 = 0.59\n\nout_h1 = 0.6\n", 3, "given twice (first on line 1)"),
    ("text", "out_h1 = 0.59\nnet_o1 = one point one\n", 2, "is not a number"),
    ("text", " = 0.59\n", 1, "without a name"),
    ("text", "out_h1 = 0.59\nnet_h1 = 1e400\n", 2, "too large"),
    ("yaml", "out_h1: 0.59\nout_h1: 0.6\n", 2, "given twice"),
    ("yaml", "out_h1: zero\n", 1, "is not a number"),
    ("yaml", "out_h1: [1, 2]\n", 1, "single number"),
    ("json", '{\n"out_h1": 0.59,\n"out_h1": 0.6\n}', 3, "given twice"),
    ("json", '{\n"out_h1": true\n}', 2, "expected a number"),
    ("json", '{\n"out_h1": 0.59,\n}', 3, "not valid JSON"),
])
def test_unusable_input_names_the_line(fmt, text, line, words):
    with pytest.raises(StepgradError) as err:
        loads(text, fmt, "sol")
    assert f"sol: line {line}" in str(err.value)
    assert words in str(err.value)


@pytest.mark.parametrize("name,text,line", [
    # a bad line in a text file is reported in the table (exit 1): test_classroom_students.py
    ("bad.yaml", "out_h1: 0.59\nw5+: [1,\n", 3),
    ("bad.json", '{"out_h1": [0.5]}', 1),
])
def test_cli_unusable_input_exit_2(tmp_path, name, text, line):
    path = tmp_path / name
    path.write_text(text)
    proc = run_cli("check", str(path))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert f"{path}: line {line}" in lines[0]


def test_cli_missing_file_exit_2(tmp_path):
    proc = run_cli("check", str(tmp_path / "nope.txt"))
    assert proc.returncode == 2
    assert "no such file" in proc.stderr


@pytest.mark.parametrize("width", [60, 80, 100, 140])
def test_the_report_never_cuts_a_number_at_any_width(width):
    import re

    from stepgrad.teach.check import check
    from stepgrad.teach.check.report import render_text
    from stepgrad.teach.deck_figures import transcription

    report = check(stepgrad.builtin(), transcription())
    text = render_text(report, width=width)
    assert max(len(line) for line in text.splitlines()) <= width
    shown = set(re.findall(r"-?\d+\.\d+(?:e-?\d+)?", text))
    for r in report.results:  # every given and expected number appears whole
        assert r.given in text, (width, r.name)
        if r.expected is not None and r.verdict != "correct":
            assert any(abs(float(x) - r.expected) <= 1e-8 * abs(r.expected) for x in shown), (width, r.name)  # 9 digits
