"""`stepgrad exercise --layers conv|rnn|attention|layernorm|batchnorm --fade K`: worked -> faded -> problem on three
problems of one kind (stepgrad.teach.fading_layers), one set per student with a roster, LaTeX/PDF, Moodle/QTI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stepgrad.api._base import Note
from stepgrad.api.options import Problem
from stepgrad.core.errors import StepgradError
from stepgrad.core.files import write_atomic

SHEETS = ("markdown", "latex", "html", "text")


def _course(problem: Problem, seed: int) -> Any:
    from stepgrad.teach.fading_layers import worked_faded_problem

    return worked_faded_problem(problem.layers, seed, problem.fade, problem.shape)


def layer_worked(problem: Problem, fmt: str, digits: int, output: str | None, roster: str | None, pdf: bool,
                 force: bool, note: Note) -> str:
    """The three parts as one sheet (returned), or written to `output` (1-worked, 2-faded, 3-problem; with a roster
    students/<id>/... and keys/<id>/...), or the faded example as a Moodle XML / QTI quiz."""
    if problem.find_error is not None:
        raise StepgradError(f"a find-the-error sheet on --layers {problem.layers} is not made yet; --fade K gives "
                            "worked, faded and problem", where="--find-error")
    if problem.fade_names is not None:  # a worked stage's grids would show a chosen blank's value
        raise StepgradError(f"--layers {problem.layers} fades whole stages: use --fade K", where="--fade-names")
    folder = Path(output) if output else None
    if folder is not None and folder.exists() and not folder.is_dir():
        raise StepgradError("not a folder", where=str(folder))
    if problem.fade_sequence:
        return _sequence(problem, fmt, folder, roster, pdf, force, note)
    if fmt not in SHEETS:
        return _quiz(problem, fmt, folder, roster, note)
    if folder is None:
        if roster or pdf:
            raise StepgradError("these sheets are files: add -o DIR", where="--roster" if roster else "--pdf")
        return str(_course(problem, problem.seed).sheet(fmt))
    if roster is None:
        course = _course(problem, problem.seed)
        files = _with_rules(course.files(fmt, digits), problem.min_digits)
        _write(folder, files, force)
        if pdf:
            _pdf(course, {part: folder / part for part in ("1-worked", "2-faded", "3-problem")}, None)
        note(f"wrote 1-worked, 2-faded and 3-problem to {folder} (mark the faded one with: stepgrad check "
             f"{folder / '2-faded' / 'solution-template.txt'} --network {folder / '2-faded' / 'network.json'})")
        return ""
    return _roster(problem, fmt, digits, folder, roster, pdf, force, note)


def _roster(problem: Problem, fmt: str, digits: int, folder: Path, roster: str, pdf: bool, force: bool,
            note: Note) -> str:
    """Part by part, as `check --variants` reads a class: PART/students/<id>/ (sheet, template, network.json), the
    keys in PART/keys/<id>/ and PART/keys.csv, PART/check.toml the class's marking rules."""
    from stepgrad.teach.classroom import _safe, iter_students
    from stepgrad.teach.variants import seed_for

    made = [(sid, name, _course(problem, seed_for(sid, problem.seed))) for sid, name in iter_students(roster)]
    homes = [_safe(sid) for sid, _, _ in made]
    if len(set(homes)) != len(homes):
        raise StepgradError("two students would share a folder: give ids that differ in letters or digits",
                            where="--roster")
    files: dict[str, str] = {}
    for (sid, name, course), home in zip(made, homes):
        for path, text in _with_rules(course.files(fmt, digits, student=name or sid), problem.min_digits).items():
            part, file = path.split("/", 1)
            files[f"{part}/{'keys' if 'key' in file else 'students'}/{home}/{file}"] = text
    digits_rule = f"min_digits = {problem.min_digits}\n" if problem.min_digits is not None else ""
    # a class's returned templates: every line of the template (the worked values are already written in it)
    files["2-faded/check.toml"] = '[check]\nrequire = "template"\n' + digits_rule
    if digits_rule:
        files["3-problem/check.toml"] = "[check]\n" + digits_rule
    files["2-faded/keys.csv"] = _keys_csv([(sid, name, c.faded.exercise.seed, c.faded.trace, c.faded.blanks)
                                           for sid, name, c in made], digits)
    files["3-problem/keys.csv"] = _keys_csv([(sid, name, c.problem.seed, c.problem.trace,
                                              tuple(s.name for s in c.problem.trace if s.text)) for sid, name, c in made],
                                            digits)
    _write(folder, files, force)
    if pdf:
        for (sid, name, course), home in zip(made, homes):
            _pdf(course, {part: folder / part / "students" / home for part in ("1-worked", "2-faded", "3-problem")},
                 name or sid)
    note(f"wrote {len(made)} sets to {folder}: 1-worked, 2-faded and 3-problem, each with students/<id>/ (the keys in "
         f"keys/ and keys.csv); mark a class with: stepgrad check RETURNED --variants {folder / '2-faded'}")
    return ""


def _keys_csv(rows: list[tuple[str, str, int, Any, tuple[str, ...]]], digits: int) -> str:
    """id, name, seed and each asked quantity's value, a row per student (empty where not asked of them)."""
    import csv
    import io

    names = list(dict.fromkeys(n for *_, asked in rows for n in asked))
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    out.writerow(["id", "name", "seed", *names])
    for sid, name, seed, trace, asked in rows:
        wanted = set(asked)
        out.writerow([sid, name, seed, *(f"{trace.step(n).value:.{digits}g}" if n in wanted else "" for n in names)])
    return buffer.getvalue()


def _with_rules(files: dict[str, str], min_digits: int | None) -> dict[str, str]:
    """check.toml of the faded part and the problem with the precision the sheet asks for."""
    if min_digits is None:
        return files
    files = dict(files)
    files["2-faded/check.toml"] += f"min_digits = {min_digits}\n"
    files["3-problem/check.toml"] = f"[check]\nmin_digits = {min_digits}\n"
    return files


def _write(folder: Path, files: dict[str, str], force: bool) -> None:
    changed = [n for n, text in files.items() if (folder / n).is_file() and
               (folder / n).read_text(encoding="utf-8", errors="replace") != text]
    if changed and not force:
        raise StepgradError(f"{', '.join(changed[:3])} already there with other contents; use --force to replace, "
                            "or another folder", where=str(folder))
    for n, text in files.items():
        (folder / n).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / n, text)


def _pdf(course: Any, folders: dict[str, Path], student: str | None) -> None:
    """worked.pdf, faded.pdf and sheet.pdf beside their .tex (pdflatex), in each part's folder."""
    from stepgrad.pictures.tikz import pdf as compile_pdf

    compile_pdf(course.worked.sheet("latex", student), folders["1-worked"] / "worked.pdf")
    compile_pdf(course.faded.sheet("latex", student), folders["2-faded"] / "faded.pdf")
    compile_pdf(course.problem.sheet("latex", student=student), folders["3-problem"] / "sheet.pdf")


def _sequence(problem: Problem, fmt: str, folder: Path | None, roster: str | None, pdf: bool, force: bool,
              note: Note) -> str:
    """fade-0 (worked) ... fade-N (the problem alone) on one problem, one more stage blank each."""
    from stepgrad.pictures.tikz import pdf as compile_pdf
    from stepgrad.teach.fading_layers import LayerFaded, draw, stages

    if folder is None:
        raise StepgradError("a sequence of sheets is a folder of them: add -o DIR", where="--fade-sequence")
    if roster:
        raise StepgradError("a fade sequence is one network for the class; use --fade K with --roster", where="--roster")
    if fmt not in SHEETS:
        raise StepgradError("a fade sequence is sheets: markdown, latex, html or text", where="--format")
    exercise = draw(problem.layers, problem.seed, problem.shape)
    count = len(stages(exercise.trace))
    for k in range(count + 1):
        faded = LayerFaded(exercise, k)
        _write(folder / f"fade-{k}", faded.files(fmt), force)
        if pdf:
            compile_pdf(faded.sheet("latex"), folder / f"fade-{k}" / "faded.pdf")
    note(f"wrote {count + 1} sheets to {folder}/fade-0 (worked) … fade-{count} (the problem)")
    return ""


def _quiz(problem: Problem, fmt: str, folder: Path | None, roster: str | None, note: Note) -> str:
    """The faded example (every student's with a roster) as Moodle XML or a QTI zip: prompts and blanks."""
    if fmt == "gift":
        raise StepgradError("a faded example is exported as moodle or qti", where="--format")
    from stepgrad.teach.classroom import iter_students
    from stepgrad.teach.lms_faded import WRITERS
    from stepgrad.teach.variants import seed_for

    chosen = [(sid, _course(problem, seed_for(sid, problem.seed)).faded) for sid, _ in iter_students(roster)] if roster \
        else [("", _course(problem, problem.seed).faded)]
    name, writer = WRITERS[fmt]
    data: str | bytes = writer(chosen, problem.min_digits)
    if folder is None:
        if isinstance(data, bytes):
            raise StepgradError("a QTI quiz is a zip file: add -o DIR", where="--format qti")
        return data
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / name, data)
    note(f"wrote {folder / name}")
    return ""
