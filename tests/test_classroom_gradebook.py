"""A whole class: 50 generated submissions (correct, blank, empty, unreadable, with a mistake) -> the
gradebook a marker expects, from a folder and from a zip, with feedback per student; variants per
student from a roster, each checked against their own network."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import zipfile

import pytest

import stepgrad
from conftest import require_tool, slow_after
from stepgrad.core.errors import StepgradError
from stepgrad.teach.classroom import mark_class, points_scheme
from test_classroom_students import at, by_hand, written

QUANTITIES = len(by_hand())  # 66 computed quantities in the deck's step
SLIP = at("dE_total/dout_o1", lambda x, v: -x)  # flipped sign, carried forward


def template() -> str:
    return "# the sheet's template\n" + "\n".join(f"{name} =" for name in by_hand()) + "\n"


def make_class(folder) -> dict[str, str]:
    """50 students: kind by student."""
    folder.mkdir()
    kinds = {}
    for k in range(50):
        kind = ["correct"] * 6 + ["blank", "empty", "unreadable", "mistake"]
        kind = kind[k % 10]
        student = f"s{k:02d}"
        kinds[student] = kind
        if kind == "correct":
            text = written(by_hand())
        elif kind == "blank":
            text = template()
        elif kind == "empty":
            text = ""
        elif kind == "unreadable":
            text = written(by_hand()).replace("out_h1 = 0.59327", "out_h1 = about 0.59327")  # (0,59327 is read)
        else:
            text = written(by_hand(SLIP))
        (folder / f"{student}.txt").write_text(text)
    return kinds


def mistake_follows() -> int:
    """How many quantities differ from the exact step after the flipped sign (all but the slip follow)."""
    exact, slipped = by_hand(), by_hand(SLIP)
    return sum(abs(slipped[n] - exact[n]) > 1e-9 * max(1, abs(exact[n])) for n in exact) - 1


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    kinds = make_class(root / "returned")
    return root, kinds


def test_the_gradebook_a_marker_expects(klass):
    root, kinds = klass
    book = mark_class(str(root / "returned"), lambda student: stepgrad.builtin())
    assert book.quantities == list(by_hand())
    assert book.maximum == QUANTITIES
    rows = {r.student: r for r in book.rows}
    assert len(rows) == 50
    for student, kind in kinds.items():
        row = rows[student]
        c = row.report.counts
        if kind == "correct":
            assert (row.total, c["correct"], row.report.ok) == (QUANTITIES, QUANTITIES, True)
        elif kind in ("blank", "empty"):
            assert (row.total, c["unanswered"], row.report.ok) == (0, QUANTITIES, False)
        elif kind == "unreadable":
            assert (row.total, c["unreadable"], c["correct"], row.report.ok) == (QUANTITIES - 1, 1, QUANTITIES - 1, False)
            assert row.points["out_h1"] == 0
        else:
            # what the slip changed follows from it (or, within 0.1 % of the exact value, is close)
            assert (c["wrong"], c["follows"] + c["close"]) == (1, mistake_follows())
            assert row.total == QUANTITIES - 1 and not row.report.ok


def test_partial_credit_from_a_points_scheme(klass, tmp_path):
    root, kinds = klass
    scheme = tmp_path / "points.toml"
    scheme.write_text('[verdicts]\nfollows = 0.5\n[points]\ndefault = 1\n"dE_total/dw*" = 2\n')
    book = mark_class(str(root / "returned"), lambda student: stepgrad.builtin(), scheme=points_scheme(str(scheme)))
    assert book.maximum == QUANTITIES + 8  # eight gradients count twice
    slipped = next(r for r in book.rows if kinds[r.student] == "mistake")
    follows = [r.name for r in slipped.report.results if r.verdict == "follows"]
    lost = sum(book.scheme.weight(n) * 0.5 for n in follows) + 1  # half of each follows, all of the slip
    assert slipped.total == pytest.approx(book.maximum - lost)


def test_a_bad_points_scheme_is_one_clear_error(tmp_path):
    scheme = tmp_path / "points.toml"
    scheme.write_text("[verdicts]\nfollows = 2\n")
    with pytest.raises(StepgradError, match="share between 0 and 1"):
        points_scheme(str(scheme))


def test_cli_writes_csv_json_and_feedback_from_a_folder_and_a_zip(klass, tmp_path):
    root, kinds = klass
    archive = tmp_path / "returned.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted((root / "returned").iterdir()):
            z.write(path, f"returned/{path.name}" if path.name < "s25" else path.name)
    tables = []
    for source, out in ((root / "returned", tmp_path / "a"), (archive, tmp_path / "b")):
        proc = subprocess.run([sys.executable, "-m", "stepgrad", "check", str(source), "--gradebook", str(out)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert "50 solutions marked, 30 passed" in proc.stdout
        rows = list(csv.DictReader((out / "gradebook.csv").open()))
        tables.append({r["student"]: (r["total"], r["status"], r["unanswered"], r["unreadable"]) for r in rows})
        data = json.loads((out / "gradebook.json").read_text())
        assert len(data["students"]) == 50 and data["max"] == QUANTITIES
        assert len(list((out / "feedback").glob("*.md"))) == 50
        assert len(list((out / "feedback").glob("*.html"))) == 50
    assert tables[0] == tables[1]
    feedback = (tmp_path / "a" / "feedback" / "s09.md").read_text()  # a student with the flipped sign
    assert "flipped sign" in feedback and "follows" in feedback and f"of {QUANTITIES} points" in feedback
    page = (tmp_path / "a" / "feedback" / "s09.html").read_text()  # the same feedback as a page
    assert page.startswith("<!doctype html>") and "flipped sign" in page and f"of {QUANTITIES} points" in page
    from html.parser import HTMLParser

    HTMLParser().feed(page)  # well-formed enough for a parser to read


def test_variants_from_a_roster_are_reproducible_and_checked_against_each_students_network(tmp_path):
    roster = tmp_path / "students.csv"
    roster.write_text("id,name\nanna,Anna A\nben,Ben B\n")
    for out in ("v1", "v2"):
        proc = subprocess.run([sys.executable, "-m", "stepgrad", "exercise", "--roster", str(roster), "--round", "4",
                               "--min-digits", "3", "-o", str(tmp_path / out)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    anna = (tmp_path / "v1" / "students" / "anna" / "network.toml").read_text()
    assert anna == (tmp_path / "v2" / "students" / "anna" / "network.toml").read_text()  # seeded by the id
    assert anna != (tmp_path / "v1" / "students" / "ben" / "network.toml").read_text()
    assert (tmp_path / "v1" / "check.toml").read_text() == "[check]\nmin_digits = 3\nround = 4\n"
    keys = {r["id"]: r for r in csv.DictReader((tmp_path / "v1" / "keys.csv").open())}
    returned = tmp_path / "returned"
    returned.mkdir()
    for student in ("anna", "ben"):  # each hands in their own key's values, rounded as the sheet asks
        lines = [f"{n} = {float(v):.4f}" for n, v in keys[student].items() if n not in ("id", "name", "seed")]
        (returned / f"{student}.txt").write_text("\n".join(lines))
    (returned / "carl.txt").write_text("out_h1 = 0.5\n")  # not on the roster
    (returned / "anna.txt").rename(returned / "anna-own.txt")
    (returned / "ben.txt").write_text((returned / "anna-own.txt").read_text())  # Ben hands in Anna's numbers
    (returned / "anna-own.txt").rename(returned / "anna.txt")
    proc = subprocess.run([sys.executable, "-m", "stepgrad", "check", str(returned), "--variants", str(tmp_path / "v1"),
                           "--gradebook", str(tmp_path / "marked")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    rows = {r["student"]: r for r in csv.DictReader((tmp_path / "marked" / "gradebook.csv").open())}
    assert rows["anna"]["status"] == "pass" and rows["ben"]["status"] == "fail"
    assert (rows["anna"]["name"], rows["ben"]["name"], rows["carl"]["name"]) == ("Anna A", "Ben B", "carl")  # roster
    assert (tmp_path / "marked" / "feedback" / "anna.md").read_text().startswith("# Feedback for Anna A")
    book = json.loads((tmp_path / "marked" / "gradebook.json").read_text())
    ben = next(r for r in book["students"] if r["student"] == "ben")
    assert "fit the exercise of anna better" in ben["hint"]
    assert "fit the exercise of anna" in (tmp_path / "marked" / "feedback" / "ben.md").read_text()
    assert "not on the roster" in rows["carl"]["status"]
    # Anna's values are wrong for Ben's network: checked against the wrong network, she would fail
    swapped = subprocess.run([sys.executable, "-m", "stepgrad", "check", str(returned / "anna.txt"), "--network",
                              str(tmp_path / "v1" / "students" / "ben" / "network.toml")], capture_output=True, text=True)
    assert swapped.returncode == 1


@pytest.mark.parametrize("options", slow_after(1, [
    ["--loss", "cross_entropy", "--output-activation", "softmax"],
    ["--samples", "2"],
    ["--loss", "mean_squared_error", "--activation", "tanh"],
]))
def test_exercise_variants_of_the_problem_check_against_their_own_key(tmp_path, options):
    out = tmp_path / "ex"
    proc = subprocess.run([sys.executable, "-m", "stepgrad", "exercise", *options, "--seed", "3", "-o", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "![The network with its weights](network.svg)" in (out / "sheet.md").read_text()
    assert (out / "network.svg").read_text().lstrip().startswith("<svg")
    check = subprocess.run([sys.executable, "-m", "stepgrad", "check", str(out / "key-values.txt"), "--network",
                            str(out / "network.toml"), "--format", "json"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr
    summary = json.loads(check.stdout)["summary"]
    assert summary["correct"] > 20 and summary["wrong"] == summary["unanswered"] == 0
    blank = subprocess.run([sys.executable, "-m", "stepgrad", "check", str(out / "solution-template.txt"), "--network",
                            str(out / "network.toml"), "--format", "json"], capture_output=True, text=True)
    assert blank.returncode == 1 and json.loads(blank.stdout)["summary"]["unanswered"] == summary["correct"]


@pytest.mark.latex
def test_pdf_sheets_with_the_network_drawn(tmp_path):
    require_tool("pdflatex")  # under CI=true a missing one fails
    roster = tmp_path / "students.csv"
    roster.write_text("id\nanna\nben\n")
    proc = subprocess.run([sys.executable, "-m", "stepgrad", "exercise", "--roster", str(roster), "--pdf", "--layers",
                           "2-3-2", "-o", str(tmp_path / "w")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for student in ("anna", "ben"):
        assert (tmp_path / "w" / "students" / student / "sheet.pdf").read_bytes().startswith(b"%PDF")


def test_the_exercise_file_sets_the_precision_check_asks_for(tmp_path):
    roster = tmp_path / "students.csv"
    roster.write_text("id\nanna\n")
    for args in (["--seed", "5", "-o", str(tmp_path / "one")], ["--roster", str(roster), "-o", str(tmp_path / "many")]):
        proc = subprocess.run([sys.executable, "-m", "stepgrad", "exercise", "--min-digits", "4", *args],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    for network in (tmp_path / "one" / "network.toml", tmp_path / "many" / "students" / "anna" / "network.toml"):
        net = stepgrad.load(str(network))
        exact = stepgrad.explain(net).values["out_h1"]
        answer = tmp_path / "answer.txt"
        answer.write_text(f"out_h1 = {exact:.3g}\n")  # three significant digits: the sheet asks for four
        proc = subprocess.run([sys.executable, "-m", "stepgrad", "check", str(answer), "--network", str(network),
                               "--format", "json"], capture_output=True, text=True)
        (result,) = json.loads(proc.stdout)["results"]
        assert (result["verdict"], result["mistake"]) == ("close", "too_few_digits"), result
        assert json.loads(proc.stdout)["min_digits"] == 4


def test_a_roster_names_every_row_without_variants(tmp_path, capsys):
    """`check DIR --roster R` (no --variants): every row and feedback file carries the roster's name."""
    from click.testing import CliRunner

    from stepgrad.cli import cli, main

    roster = tmp_path / "students.csv"
    roster.write_text("\ufeffid,name\ns01,Anna Åberg\ns02,Ben B\n")
    returned = tmp_path / "returned"
    returned.mkdir()
    (returned / "s01.txt").write_text(written(by_hand()))
    (returned / "s02.txt").write_text(written(by_hand(SLIP)))
    (returned / "s03.txt").write_text("out_h1 = 0.5\n")  # not on the roster: the file's name stays
    result = CliRunner().invoke(cli, ["check", str(returned), "--roster", str(roster), "--gradebook",
                                       str(tmp_path / "marked")])
    assert result.exit_code == 0, result.output
    rows = {r["student"]: r for r in csv.DictReader((tmp_path / "marked" / "gradebook.csv").open(encoding="utf-8"))}
    assert {s: r["name"] for s, r in rows.items()} == {"s01": "Anna Åberg", "s02": "Ben B", "s03": "s03"}
    assert rows["s01"]["status"] == "pass" and rows["s02"]["status"] == "fail"
    assert (tmp_path / "marked" / "feedback" / "s02.md").read_text(encoding="utf-8").startswith("# Feedback for Ben B")
    data = json.loads((tmp_path / "marked" / "gradebook.json").read_text(encoding="utf-8"))
    assert [r["name"] for r in data["students"]] == ["Anna Åberg", "Ben B", "s03"]
    with pytest.raises(SystemExit) as exited:
        main(["check", str(returned), "--roster", str(tmp_path / "nope.csv")])
    error = capsys.readouterr().err
    assert exited.value.code == 2 and "nope.csv" in error and "Traceback" not in error


def test_a_roster_with_one_file_is_refused_not_ignored(tmp_path, capsys):
    """`check FILE --roster R`: a roster names a class's rows; with one file it would do nothing, so it is refused."""
    from stepgrad.cli import main

    roster = tmp_path / "students.csv"
    roster.write_text("id,name\ns01,Anna\n")
    answer = tmp_path / "s01.txt"
    answer.write_text(written(by_hand()))
    with pytest.raises(SystemExit) as exited:
        main(["check", str(answer), "--roster", str(roster)])
    error = capsys.readouterr().err
    assert exited.value.code == 2 and "--roster" in error and "Traceback" not in error
    assert len(error.strip().splitlines()) == 1
