"""`stepgrad exercise --layers rnn|attention|layernorm|batchnorm`: a sequence-model exercise, one per student, or a quiz."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from stepgrad.api._base import Note, quiz_files
from stepgrad.api.options import Problem
from stepgrad.core.errors import StepgradError
from stepgrad.core.files import write_atomic


def sequence_exercise(problem: Problem, fmt: str, digits: int, output: str | None, roster: str | None, pdf: bool,
                      force: bool, note: Note) -> str:
    """The exercise's sheet (Markdown), its files in `output`, every student's in `output` with a roster, or a
    quiz (moodle, gift, qti: teach/lms.py's writers, a category or quiz per student)."""
    from stepgrad.teach.exercise_sequences import generate_sequence, variants

    kind = problem.layers
    for flag, used in (("--round", problem.round_to is not None), ("--samples", problem.samples != 1)):
        if used:
            raise StepgradError(f"the {kind} exercise comes with its own samples and without rounding for now",
                                where=flag)
    if problem.worked:  # worked -> faded -> problem (api/exercise_layers_fade.py)
        from stepgrad.api.exercise_layers_fade import layer_worked

        return layer_worked(problem, fmt, digits, output, roster, pdf, force, note)
    folder = Path(output) if output else None
    if folder is not None and folder.exists() and not folder.is_dir():
        raise StepgradError("not a folder", where=str(folder))
    made = variants(kind, roster, problem.seed) if roster else [("", "", generate_sequence(kind, problem.seed))]
    if fmt in ("moodle", "gift", "qti"):
        return _quiz(fmt, [(sid, ex) for sid, _, ex in made], problem.min_digits, folder, note)
    if folder is None:
        if roster or pdf:
            raise StepgradError("one exercise per student, or a PDF sheet, needs a folder to write to: add -o DIR",
                                where="--roster" if roster else "--pdf")
        return made[0][2].sheet(fmt)
    files = _roster_files(made, fmt, digits) if roster else made[0][2].files(fmt, digits)
    if problem.min_digits is not None:
        files["check.toml"] = f"[check]\nmin_digits = {problem.min_digits}\n"
    changed = [name for name, text in files.items() if (folder / name).is_file() and not _same(folder / name, text)]
    if changed and not force:
        raise StepgradError(f"{', '.join(changed[:3])} already there with other contents; use --force to replace, "
                            "or another folder", where=str(folder))
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / name, text)
    if pdf:  # the LaTeX sheet through pdflatex, beside each sheet written
        from stepgrad.pictures.tikz import pdf as compile_pdf
        from stepgrad.teach.classroom import _safe

        for sid, name, ex in made:
            home = folder / "students" / _safe(sid) if roster else folder
            compile_pdf(ex.sheet("latex", student=name or None), home / "sheet.pdf")
    if roster:
        note(f"wrote {len(made)} exercises to {folder / 'students'}, the keys to {folder / 'keys'} and "
             f"{folder / 'keys.csv'}")
    else:
        note(f"wrote {', '.join([*files, *(['sheet.pdf'] if pdf else [])])} to {folder}")
    return ""


def _roster_files(made: list[tuple[str, str, Any]], fmt: str, digits: int) -> dict[str, str]:
    """students/<id>/sheet.EXT, solution-template.txt, network.json; keys/<id>.EXT; keys.csv (a row per student)."""
    from stepgrad.teach.classroom import _safe, file_names
    from stepgrad.teach.exercise_sequences import EXTENSIONS

    homes = file_names([sid for sid, _, _ in made])
    clash = [sid for sid, _, _ in made if homes[sid] != _safe(sid)]
    if clash:
        raise StepgradError(f"student {clash[0]!r} would share a folder with another: give ids that differ in "
                            "letters or digits", where="--roster")
    files: dict[str, str] = {}
    names: list[str] = []
    rows = []
    for sid, name, ex in made:
        ext = EXTENSIONS[fmt]
        own = ex.files(fmt, digits)
        home = f"students/{_safe(sid)}"
        files[f"{home}/sheet.{ext}"] = ex.sheet(fmt, student=name)
        files[f"{home}/solution-template.txt"] = own["solution-template.txt"]
        files[f"{home}/network.json"] = own["network.json"]
        files[f"keys/{_safe(sid)}.{ext}"] = own[f"key.{ext}"]
        values = {s.name: s.value for s in ex.trace if s.text}
        names = names or list(values)
        rows.append([sid, name, ex.seed, *(f"{values[n]:.{digits}g}" if n in values else "" for n in names)])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "name", "seed", *names])
    writer.writerows(rows)
    files["keys.csv"] = buffer.getvalue()
    return files


def _quiz(fmt: str, chosen: list[tuple[str, Any]], min_digits: int | None, folder: Path | None, note: Note) -> str:
    """teach/lms.py's writer for `fmt` over the exercises (the same questions and mistakes' answers as a dense one's)."""
    from stepgrad.teach.lms import WRITERS

    return quiz_files(WRITERS[fmt](chosen, min_digits), folder, note)


def _same(path: Path, text: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False
