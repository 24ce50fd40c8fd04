"""Worked sheets for `stepgrad exercise`: faded worked examples and find-the-error sheets, written or exported,
and the marking of a find-the-error answer by `stepgrad check`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stepgrad.api._base import Note
from stepgrad.api.options import Problem
from stepgrad.core.errors import StepgradError
from stepgrad.core.files import write_atomic

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
    note(f"wrote {len(sheets)} sheets to {folder / 'students'} and their keys to {folder / 'keys'}")
    return ""


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
    if problem.find_error is not None or fmt == "gift":
        raise StepgradError("LMS exports of worked sheets: a faded example (--fade K or --fade-names) as moodle or qti",
                            where="--format")
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


# -- marking a find-the-error answer --------------------------------------------------------------------

def find_error_key(spec: str | None, solution: str) -> dict[str, Any] | None:
    """The key beside the network when the solution is a find-the-error answer (line/mistake/corrected), else None."""
    if spec is None or solution == "-" or not Path(solution).is_file():
        return None
    path = Path(spec).parent / KEY_FILE
    if not path.is_file():
        return None
    from stepgrad.core.files import read_text

    text = read_text(Path(solution))
    keys = {line.split("=", 1)[0].strip().split(" ")[0].lower() for line in text.splitlines() if "=" in line
            and not line.lstrip().startswith("#")}
    if not keys or not keys <= {"line", "mistake", "corrected"}:
        return None
    try:
        key = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise StepgradError(f"not valid JSON: {exc.msg}", where=str(path)) from None
    if not _valid_key(key):
        raise StepgradError("not a find-the-error key (written by stepgrad exercise --find-error)", where=str(path))
    return key


def _valid_key(key: Any) -> bool:
    """The shape find-error.json has: the numbered lines and each planted mistake's line, name, key, label, value."""
    if not isinstance(key, dict) or key.get("find_error") != 1 or not isinstance(key.get("lines"), list) \
            or not all(isinstance(n, str) for n in key["lines"]) or not isinstance(key.get("planted"), list) \
            or not key["planted"]:
        return False
    fields: dict[str, type | tuple[type, ...]] = {"line": int, "name": str, "key": str, "label": str,
                                                  "corrected": (int, float)}
    return all(isinstance(p, dict) and all(isinstance(p.get(f), t) and not isinstance(p.get(f), bool)
                                           for f, t in fields.items()) for p in key["planted"])


def mark_find_error(key: dict[str, Any], solution: str, fmt: str) -> tuple[str, bool]:
    """(the marks as text or JSON, True with full marks)."""
    from stepgrad.core.files import read_text
    from stepgrad.teach.find_error import mark

    score = mark(key, read_text(Path(solution)), solution)
    if fmt == "json":
        return json.dumps(score.to_dict(), indent=2) + "\n", score.ok
    return score.text(), score.ok
