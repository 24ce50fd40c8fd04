"""A class's files are data: names, ids and solution lines never become code or markup, links are not
followed, nothing a teacher edited is overwritten, two students never share a row or a file."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

import stepgrad
from conftest import require_tool
from stepgrad.interop.code import training_code
from stepgrad.teach.classroom import mark_class, submissions
from stepgrad.teach.exercise import generate
from stepgrad.teach.lms import _qti_text, moodle_xml, qti_zip
from stepgrad.teach.variants import write_variants

HOSTILE = ["<script>alert(1)</script>", r"\input{/etc/passwd}", r"\write18{touch pwned}", "Anna_Smith",
           "Smith & Jones", "50%", "Jean-Luc #2", "*bold* [link](http://x)", "José Müller", "line\nbreak",
           "esc\x1b]0;title\x07"]


def _roster(tmp_path: Path, names: list[str]) -> Path:
    roster = tmp_path / "roster.csv"
    with roster.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "name"])
        writer.writerows([f"s{i}", name] for i, name in enumerate(names))
    return roster


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


@pytest.mark.parametrize("fmt", ["markdown", "html", "latex"])
def test_a_students_name_is_text_in_every_sheet(tmp_path, fmt):
    write_variants(str(_roster(tmp_path, HOSTILE)), str(tmp_path / "out"), fmt=fmt)
    ext = {"markdown": "md", "html": "html", "latex": "tex"}[fmt]
    for i in range(len(HOSTILE)):
        sheet = (tmp_path / "out" / "students" / f"s{i}" / f"sheet.{ext}").read_text(encoding="utf-8")
        assert "\x1b" not in sheet and "<script>" not in sheet
        if fmt == "html":
            parser = _Elements()
            parser.feed(sheet)
            assert "script" not in parser.tags and "a" not in parser.tags
        if fmt == "latex":
            assert r"\input{" not in sheet and r"\write18" not in sheet
        if fmt == "markdown":
            first = sheet.splitlines()[0]
            assert first.startswith("# Backpropagation exercise for ") and "\n" not in first
            assert "<script>" not in first and "[link](" not in first


@pytest.mark.latex
def test_pdf_sheets_typeset_every_name_and_read_no_file(tmp_path):
    require_tool("pdflatex")
    require_tool("pdftotext")
    names = [*HOSTILE, "李雷"]
    write_variants(str(_roster(tmp_path, names)), str(tmp_path / "out"), pdf=True)
    assert (tmp_path / "out" / "keys.csv").is_file()
    for i, name in enumerate(names):
        pdf = tmp_path / "out" / "students" / f"s{i}" / "sheet.pdf"
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
        title = " ".join(text.split("\n\n")[0].split())
        assert "root:" not in text  # /etc/passwd was not read
        if name.isascii() and name.isprintable():
            word = name.replace("_", " ").replace("[", "").split()[0].strip("*<\\")  # OT1 draws \\_ as a rule
            assert word in title, (name, title)
        if name == "李雷":
            assert "s11" in title  # the fonts have no CJK: the sheet names the student by id
    assert not list(tmp_path.rglob("pwned"))


def test_roster_ids_that_share_a_folder_are_refused_before_anything_is_written(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\na b,Anna\na_b,Ben\n", encoding="utf-8")
    with pytest.raises(stepgrad.StepgradError, match="share one folder"):
        write_variants(str(roster), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_exercises_and_keys_are_not_overwritten_without_force(tmp_path):
    roster = _roster(tmp_path, ["Anna", "Ben"])
    write_variants(str(roster), str(tmp_path / "out"))
    key = tmp_path / "out" / "keys" / "s0.md"
    key.write_text(key.read_text() + "\ncorrected by hand\n")
    with pytest.raises(stepgrad.StepgradError, match="--force"):
        write_variants(str(roster), str(tmp_path / "out"), base=7)
    assert "corrected by hand" in key.read_text()
    write_variants(str(roster), str(tmp_path / "out"), base=7, force=True)
    assert "corrected by hand" not in key.read_text()


def _solution(value: str = "0.593269992") -> str:
    return f"out_h1 = {value}\n"


def test_links_are_reported_never_followed(tmp_path):
    returned = tmp_path / "returned"
    returned.mkdir()
    (returned / "anna.txt").write_text(_solution())
    (returned / "eve.txt").symlink_to("/etc/passwd")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "mallory.txt").write_text("out_h1 = 1\n")
    (returned / "mallory").symlink_to(outside, target_is_directory=True)
    book = mark_class(str(returned), lambda s: stepgrad.builtin())
    rows = {row.student: row for row in book.rows}
    assert rows["anna"].total == 1
    assert "link" in (rows["eve"].error or "") and rows["eve"].total == 0
    written = book.write(str(tmp_path / "marked"))
    everything = "".join(p.read_text() for p in (tmp_path / "marked").rglob("*") if p.is_file())
    assert "root:" not in everything and written
    assert "mallory" not in rows or rows["mallory"].total == 0


def test_students_with_one_display_name_stay_apart(tmp_path):
    returned = tmp_path / "returned"
    for folder, value in (("Anna Smith_1234_assignsubmission_file_", "0.593269992"),
                          ("Anna Smith_5678_assignsubmission_file_", "0.1")):
        (returned / folder).mkdir(parents=True)
        (returned / folder / "solution.txt").write_text(_solution(value))
    book = mark_class(str(returned), lambda s: stepgrad.builtin())
    assert sorted(row.student for row in book.rows) == ["Anna Smith (1234)", "Anna Smith (5678)"]
    assert sorted(row.total for row in book.rows) == [0, 1]
    book.write(str(tmp_path / "marked"))
    assert len(list((tmp_path / "marked" / "feedback").glob("*.md"))) == 2


def test_names_that_map_to_one_file_get_a_file_each_and_long_names_fit(tmp_path):
    returned = tmp_path / "returned"
    returned.mkdir()
    for stem in ("a b", "a_b", "A_B", "x" * 240):
        (returned / f"{stem}.txt").write_text(_solution())
    book = mark_class(str(returned), lambda s: stepgrad.builtin())
    assert len(book.rows) == 4
    book.write(str(tmp_path / "marked"))
    files = list((tmp_path / "marked" / "feedback").glob("*.md"))
    assert len({p.name.lower() for p in files}) == 4
    assert all(len(p.name.encode()) <= 255 for p in files)


def test_an_edited_gradebook_is_not_overwritten_without_force(tmp_path):
    returned = tmp_path / "returned"
    returned.mkdir()
    (returned / "anna.txt").write_text(_solution())
    book = mark_class(str(returned), lambda s: stepgrad.builtin())
    book.write(str(tmp_path / "marked"))
    book.write(str(tmp_path / "marked"))  # the same marks again: nothing is lost, so no refusal
    gradebook = tmp_path / "marked" / "gradebook.csv"
    gradebook.write_text(gradebook.read_text() + "anna,moderated to 2\n")
    with pytest.raises(stepgrad.StepgradError, match="--force"):
        book.write(str(tmp_path / "marked"))
    assert "moderated" in gradebook.read_text()
    book.write(str(tmp_path / "marked"), force=True)
    assert "moderated" not in gradebook.read_text()


def test_a_zip_bomb_entry_is_not_unpacked(tmp_path):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("anna.txt", _solution())
        z.writestr("bomb.txt", b"0" * 30_000_000)
    subs = {s.student: s for s in submissions(str(archive))}
    assert subs["anna"].text == _solution()
    assert subs["bomb"].text is None and "not a solution file" in (subs["bomb"].error or "")


def test_a_huge_solution_file_is_not_read(tmp_path):
    returned = tmp_path / "returned"
    returned.mkdir()
    (returned / "big.txt").write_bytes(b"# " + b"x" * 2_000_000 + b"\n")
    (subm,) = submissions(str(returned))
    assert subm.text is None and "not a solution file" in (subm.error or "")


def test_roster_ids_are_text_in_the_lms_quizzes():
    pytest.importorskip("text2qti")
    ex = generate(seed=1)
    questions = [line for line in _qti_text([("<script>alert(1)</script>", ex)], None).splitlines()
                 if line[:1].isdigit()]  # the question texts: Markdown, rendered as HTML by the LMS
    assert questions and not any("<script>" in line for line in questions)
    for seed in (1, 9, 38):  # values below 0.0001 made text2qti fail with a traceback
        archive = zipfile.ZipFile(io.BytesIO(qti_zip([("<script>alert(1)</script>", generate(seed=seed))], None)))
        assert not any(b"<script>" in archive.read(n) for n in archive.namelist())
    xml = moodle_xml([("<b>s1</b>", ex)], None)
    assert "<b>s1" not in xml


def test_terminal_escapes_in_a_solution_never_reach_the_terminal(tmp_path):
    solution = tmp_path / "s.txt"
    solution.write_text("out_h1 = 0.59\n\x1b]0;pwned\x07w5 = 1\n[red]net_h1 = 0.3775\n")
    env_cols = {"COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-m", "stepgrad", "check", str(solution)], capture_output=True, text=True,
                          env={**__import__("os").environ, **env_cols})
    assert "\x1b" not in proc.stdout.replace("\x1b[", "") and "\x07" not in proc.stdout
    assert "[red]net_h1" in proc.stdout  # shown as written, not taken as a colour


@pytest.mark.parametrize("name", ['x"""\nimport os; open("PWNED", "w").close()\n"""', "x'''\nopen('PWNED','w')\n'''",
                                  "a\\\nopen('PWNED','w')"])
@pytest.mark.slow  # runs a torch script: make test (CI)
def test_a_spec_name_never_becomes_code_in_the_exported_script(tmp_path, name):
    net = stepgrad.builtin()
    net.name = name
    code = training_code(net, iterations=1)
    script = tmp_path / "train.py"
    script.write_text(code)
    compile(code, str(script), "exec")  # a valid script
    pytest.importorskip("torch")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not (tmp_path / "PWNED").exists()
