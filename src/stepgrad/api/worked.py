"""Worked sheets for `stepgrad exercise`: faded worked examples and find-the-error sheets, written or exported,
and the marking of a find-the-error answer by `stepgrad check`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stepgrad.api._base import Note, load_spec, quiz_files
from stepgrad.api.options import Problem
from stepgrad.core.errors import StepgradError
from stepgrad.core.files import write_atomic
from stepgrad.core.spec import Network

KEY_FILE = "find-error.json"  # beside the network: `stepgrad check` marks a find-the-error answer against it


def _sheets(problem: Problem, roster: str | None) -> list[tuple[str, str, Any]]:
    """(student id, name, sheet) for the roster, or one ("", "", sheet): a Faded or an ErrorSheet."""
    from stepgrad.teach.exercise import generate
    from stepgrad.teach.fading import fade
    from stepgrad.teach.find_error import plant
    from stepgrad.teach.variants import variants

    options = problem.generator_options()
    exercises = [(sid, name, ex) for sid, name, ex in variants(roster, problem.seed, **options)] if roster else \
        [("", "", generate(seed=problem.seed, **options))]
    keys = tuple(k.strip() for k in problem.mistakes.split(",") if k.strip()) if problem.mistakes else None
    if problem.find_error is not None:
        return [(sid, name, plant(ex, problem.find_error, seed=ex.seed, keys=keys)) for sid, name, ex in exercises]
    return [(sid, name, fade(ex, problem.fade or 0, problem.fade_names)) for sid, name, ex in exercises]


def make_worked(problem: Problem, *, fmt: str, output: str | None, roster: str | None, pdf: bool,
                min_digits: int | None, force: bool, note: Note) -> str:
    """The faded or find-the-error sheet (returned), or its files written to `output` (see make_exercise)."""
    folder = Path(output) if output else None
    if problem.fade_sequence:
        return _sequence(problem, fmt, folder, roster, pdf, force, note)
    if fmt in ("moodle", "qti", "gift"):
        return _quiz(problem, fmt, folder, roster, min_digits, note)
    sheets = _sheets(problem, roster)
    if folder is None:
        if roster or pdf:
            raise StepgradError("these sheets are files: add -o DIR", where="--roster" if roster else "--pdf")
        return sheets[0][2].sheet(fmt)
    if roster is None:
        _write(folder, sheets[0][2].files(fmt), force, note)
        if pdf:
            _pdf(sheets[0][2], folder, "")
        return ""
    for sid, name, sheet in sheets:
        files = sheet.files(fmt, student=name or sid)
        key_names = [n for n in files if "key" in n or n == KEY_FILE]
        home = folder / "students" / _safe(sid)
        _write(home, {n: t for n, t in files.items() if n not in key_names}, force, None)
        _write(folder / "keys" / _safe(sid), {n: t for n, t in files.items() if n in key_names or n == "network.toml"},
               force, None)
        if pdf:
            _pdf(sheet, home, name)
    if problem.find_error is not None:
        _write(folder, {"keys.csv": _keys_csv(sheets)}, force, None)
    note(f"wrote {len(sheets)} sheets to {folder / 'students'} and their keys to {folder / 'keys'}")
    return ""


def _keys_csv(sheets: list[tuple[str, str, Any]]) -> str:
    """Every student's planted mistakes in one table (id, name: the roster `check --variants` names rows with)."""
    import csv
    import io

    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    count = len(sheets[0][2].planted)
    out.writerow(["id", "name", "seed", *(f"{what} {k}" for k in range(1, count + 1)
                                          for what in ("line", "quantity", "mistake", "corrected"))])
    for sid, name, sheet in sheets:
        out.writerow([sid, name, sheet.exercise.seed, *(cell for p in sheet.planted
                                                         for cell in (p.line, p.name, p.key, f"{p.corrected:.9g}"))])
    return buffer.getvalue()


def _safe(sid: str) -> str:
    from stepgrad.teach.variants import _safe as safe

    return safe(sid)


def _pdf(sheet: Any, folder: Path, student: str) -> None:
    from stepgrad.pictures.tikz import pdf as compile_pdf

    stem = "find-error" if hasattr(sheet, "planted") else "faded"
    compile_pdf(sheet.sheet("latex", student=student or None), folder / f"{stem}.pdf")


def _write(folder: Path, files: dict[str, str], force: bool, note: Note | None) -> None:
    if folder.exists() and not folder.is_dir():
        raise StepgradError("not a folder", where=str(folder))
    changed = [n for n, text in files.items() if (folder / n).is_file() and (folder / n).read_text(encoding="utf-8",
                                                                                                    errors="replace") != text]
    if changed and not force:
        raise StepgradError(f"{', '.join(changed)} already there with other contents; use --force to replace, "
                            "or another folder", where=str(folder))
    folder.mkdir(parents=True, exist_ok=True)
    for n, text in files.items():
        write_atomic(folder / n, text)
    if note is not None:
        note(f"wrote {', '.join(files)} to {folder}")


def _sequence(problem: Problem, fmt: str, folder: Path | None, roster: str | None, pdf: bool, force: bool,
              note: Note) -> str:
    from stepgrad.teach.exercise import generate
    from stepgrad.teach.fading import sequence

    if folder is None:
        raise StepgradError("a sequence of sheets is a folder of them: add -o DIR", where="--fade-sequence")
    if roster:
        raise StepgradError("a fade sequence is one network for the class; use --fade K with --roster", where="--roster")
    if fmt not in ("markdown", "latex", "html", "text"):
        raise StepgradError("a fade sequence is sheets: markdown, latex, html or text; export one --fade K to an LMS",
                            where="--format")
    sheets = sequence(generate(seed=problem.seed, **problem.generator_options()))
    for faded in sheets:
        _write(folder / f"fade-{faded.fade}", faded.files(fmt), force, None)
        if pdf:
            _pdf(faded, folder / f"fade-{faded.fade}", "")
    note(f"wrote {len(sheets)} sheets to {folder}/fade-0 (worked) … fade-{len(sheets) - 1} (the problem)")
    return ""


def _quiz(problem: Problem, fmt: str, folder: Path | None, roster: str | None,
          min_digits: int | None, note: Note) -> str:
    if problem.find_error is not None:
        return _find_error_quiz(problem, fmt, folder, roster, min_digits, note)
    if fmt == "gift":
        raise StepgradError("a faded example is exported as moodle or qti; gift takes problems and find-the-error "
                            "sheets", where="--format")
    from stepgrad.teach.lms_faded import WRITERS

    name, writer = WRITERS[fmt]
    data: str | bytes = writer([(sid, sheet) for sid, _, sheet in _sheets(problem, roster)], min_digits)
    if folder is None:
        if isinstance(data, bytes):
            raise StepgradError("a QTI quiz is a zip file: add -o DIR", where="--format qti")
        return data
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / name, data)
    note(f"wrote {folder / name}")
    return ""


def _find_error_quiz(problem: Problem, fmt: str, folder: Path | None, roster: str | None, min_digits: int | None,
                     note: Note) -> str:
    """Find-the-error sheets (one per student of the roster) as a quiz: the line, the mistake, the corrected value."""
    from stepgrad.teach.lms_find_error import WRITERS

    return quiz_files(WRITERS[fmt]([(sid, sheet) for sid, _, sheet in _sheets(problem, roster)], min_digits), folder, note)


# -- marking a find-the-error answer --------------------------------------------------------------------

def find_error_key(spec: str | None, solution: str) -> dict[str, Any] | None:
    """The key beside the network when the solution is a find-the-error answer (line/mistake/corrected), else None."""
    if spec is None or solution == "-" or not Path(solution).is_file():
        return None
    path = Path(spec).parent / KEY_FILE
    if not path.is_file():
        return None
    from stepgrad.core.files import read_text
    from stepgrad.teach.find_error_class import read_key

    text = read_text(Path(solution))
    keys = {line.split("=", 1)[0].strip().split(" ")[0].lower() for line in text.splitlines() if "=" in line
            and not line.lstrip().startswith("#")}
    if not keys or not keys <= {"line", "mistake", "corrected"}:
        return None
    return read_key(path)


def mark_find_error(key: dict[str, Any], solution: str, fmt: str, spec: str | None = None) -> tuple[str, bool]:
    """(the marks as text or JSON, True with full marks); `spec`: the sheet's network (for corrections carried forward)."""
    from stepgrad.core.files import read_text
    from stepgrad.teach.find_error_mark import mark

    net = load_spec(spec, layer_tables=True) if spec else None
    # corrections carried forward are recomputed on a dense network; a layer-table sheet marks against the key alone
    score = mark(key, read_text(Path(solution)), solution, network=net if isinstance(net, Network) else None)
    if fmt == "json":
        return json.dumps(score.to_dict(), indent=2) + "\n", score.ok
    return score.text(), score.ok


def find_error_class(folder: str, spec: str | None, whole_class: Any, names: dict[str, str], note: Note,
                     fmt: str) -> tuple[str, bool] | None:
    """Mark a class's find-the-error answers (the variants folder's keys, or the one key beside `spec`) into a
    gradebook, feedback and a class report; None when the class answered ordinary problems."""
    from stepgrad.teach.find_error_class import is_find_error_folder, keys_in, mark_class, read_key

    if whole_class.variants and is_find_error_folder(whole_class.variants):
        key_for = keys_in(whole_class.variants)
    elif not whole_class.variants and spec is not None and (Path(spec).parent / KEY_FILE).is_file():
        sheet = (read_key(Path(spec).parent / KEY_FILE), load_spec(spec))
        key_for = lambda student: sheet  # noqa: E731  (one sheet for the whole class)
    else:
        return None
    if whole_class.points is not None:
        raise StepgradError("a find-the-error answer earns a point each for line, mistake and corrected value; "
                        "a points scheme is for problems", where="--points")
    book = mark_class(folder, key_for, names)
    target = whole_class.gradebook or str(Path(folder.rstrip("/")).with_suffix("")) + "-marked"
    written = book.write(target, force=whole_class.force)
    note(f"wrote {', '.join(written)}")
    if fmt == "json":
        return json.dumps({**book.to_dict(), "gradebook": target}, indent=2) + "\n", True
    full = sum(bool(r.score and r.score.ok) for r in book.rows)
    return f"{len(book.rows)} find-the-error answers marked, {full} with full marks; gradebook in {target}\n", True
