"""The check and exercise jobs: one solution or a whole class, one problem or one per student."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stepgrad.api._base import Note, _silent, load_spec
from stepgrad.core.budget import cli_budget
from stepgrad.core.errors import StepgradError
from stepgrad.core.files import write_atomic
from stepgrad.core.spec import builtin


def exercise_job(*, layers: str = "2-2-2", activation: str = "sigmoid", seed: int = 0,
                 learning_rate: float | None = None, round_to: int | None = None, fmt: str = "markdown",
                 digits: int = 9, output: str | None = None, note: Note = _silent, loss: str = "half_squared_error",
                 output_activation: str | None = None, samples: int = 1, roster: str | None = None,
                 min_digits: int | None = None, pdf: bool = False, force: bool = False) -> str:
    """The problem sheet; with `output` (a folder), writes sheet, key, templates and network there instead.
    With `roster`, one exercise per student (variants.py); `fmt` moodle/gift/qti: a quiz to import (lms.py).
    A file already there with other contents (an edited key, another exercise) is replaced only with `force`."""
    from stepgrad.teach.exercise import generate, parse_layers

    options = dict(layers=parse_layers(layers), activation=activation, round_to=round_to,
                   learning_rate=learning_rate, loss=loss, output=output_activation, samples=samples)
    folder = Path(output) if output else None
    if folder is not None and folder.exists() and not folder.is_dir():
        raise StepgradError("not a folder", where=str(folder))
    if fmt in ("moodle", "gift", "qti"):
        return _quiz(fmt, roster, seed, options, min_digits, folder, note)
    if roster:
        if folder is None:
            raise StepgradError("one exercise per student needs a folder to write them to: add -o DIR", where="--roster")
        from stepgrad.teach.variants import write_variants

        made = write_variants(roster, str(folder), base=seed, fmt=fmt, digits=digits, min_digits=min_digits, pdf=pdf,
                              **options)
        note(f"wrote {len(made)} exercises to {folder / 'students'}, the keys to {folder / 'keys'} and {folder / 'keys.csv'}")
        return ""
    exercise = generate(seed=seed, **options)  # type: ignore[arg-type]
    if folder is None:
        if pdf:
            raise StepgradError("a PDF sheet is a file: add -o DIR", where="--pdf")
        return exercise.sheet(fmt)
    folder.mkdir(parents=True, exist_ok=True)
    files = exercise.files(fmt, digits)
    if min_digits is not None or round_to is not None:
        rules = {"min_digits": min_digits, "round": round_to}
        files["check.toml"] = "[check]\n" + "".join(f"{k} = {v}\n" for k, v in rules.items() if v is not None)
    changed = [name for name, text in files.items() if (folder / name).is_file() and not _same(folder / name, text)]
    if changed and not force:
        raise StepgradError(f"{', '.join(changed)} already there with other contents (edited by hand, or another "
                            "exercise); use --force to replace, or another folder", where=str(folder))
    for name, text in files.items():
        write_atomic(folder / name, text)
    if pdf:
        from stepgrad.pictures.tikz import pdf as compile_pdf

        compile_pdf(exercise.sheet("latex", diagram="tikz"), folder / "sheet.pdf")
        files["sheet.pdf"] = ""
    note(f"wrote {', '.join(files)} to {folder}")
    return ""


def _same(path: Path, text: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False


def _quiz(fmt: str, roster: str | None, seed: int, options: dict[str, Any], min_digits: int | None,
          folder: Path | None, note: Note) -> str:
    """The exercise (or every student's variant) as a quiz in `fmt`; written into `folder` when given."""
    from stepgrad.teach.exercise import generate
    from stepgrad.teach.lms import WRITERS
    from stepgrad.teach.variants import variants

    chosen = [(sid, ex) for sid, _, ex in variants(roster, seed, **options)] if roster else \
        [("", generate(seed=seed, **options))]
    name, writer = WRITERS[fmt]
    data = writer(chosen, min_digits)
    if folder is None:
        if isinstance(data, bytes):
            raise StepgradError("a QTI quiz is a zip file: add -o DIR", where="--format qti")
        return data
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / name, data)
    note(f"wrote {folder / name}")
    return ""


def check_job(solution: str, *, spec: str | None = None, update_order: str | None = None,
              round_to: int | None = None, fmt: str = "text", digits: int = 9, console: bool = False,
              min_digits: int | None = None, require: str | None = None, order: str = "derivation",
              points: str | None = None,
              variants: str | None = None, gradebook: str | None = None, max_work: float | None = None,
              note: Note = _silent) -> tuple[str, bool]:
    """Mark a solution file: (the report in `fmt`, True when nothing is wrong). With `console` a text
    report is printed as a table (at least 140 columns when not a terminal) and "" returned.
    A folder or a .zip of solutions is a class: marked into a gradebook (see classroom.py)."""
    from stepgrad.teach.check import Rules, check
    from stepgrad.teach.check import load as load_answers
    from stepgrad.teach.check.report import render_json, render_text, rich_table

    settings = _check_settings(variants or spec)
    round_to = settings.get("round") if round_to is None else round_to
    rules = Rules(min_digits=settings.get("min_digits") if min_digits is None else min_digits, order=order,
                  required=require or settings.get("require", "answers"))
    if Path(solution).is_dir() or solution.lower().endswith(".zip"):
        return _class_job(solution, spec, variants, update_order, round_to, rules, points, gradebook, note, fmt)
    from stepgrad.core.budget import samples_of

    alternatives = {"the seed deck's network (check without --network)": builtin()} if spec else {}
    net = load_spec(spec)
    cli_budget(max_work).check_trace(net)
    answers = load_answers(solution, lenient=True)
    most = 1000 + 10 * samples_of(net) * (net.parameter_count + sum(net.layers))  # every quantity, many times over
    if len(answers.answers) > most:
        raise StepgradError(f"{len(answers.answers):,} answers, more than this network has quantities "
                            f"(the limit is {most:,}); see `stepgrad names`", where=answers.source)
    report = check(net, answers, update_order=update_order, round_to=round_to, rules=rules,
                   alternatives=alternatives)
    if fmt == "json":
        return render_json(report) + "\n", report.ok
    if not console:
        return render_text(report, digits), report.ok
    from rich.console import Console

    screen = Console(highlight=False)
    if not screen.is_terminal:
        screen = Console(highlight=False, width=max(screen.width, 140))
    screen.print(rich_table(report, digits))
    return "", report.ok


def _check_settings(spec: str | None) -> dict[str, Any]:
    """[check] min_digits / round from the exercise's check.toml beside the network spec (or in the variants folder)."""
    if spec is None:
        return {}
    here = Path(spec) if Path(spec).is_dir() else Path(spec).parent
    # beside the network, or at the top of a roster's folder (students/<id>/network.toml)
    path = next((p for p in (here / "check.toml", here.parent.parent / "check.toml")
                 if p.is_file() and (p.parent == here or here.parent.name == "students")), None)
    if path is None:
        return {}
    import tomllib

    from stepgrad.core.files import read_text

    try:
        table = tomllib.loads(read_text(path)).get("check", {})
    except tomllib.TOMLDecodeError as exc:
        raise StepgradError(f"not valid TOML: {exc}", where=str(path)) from None
    for key, value in table.items():
        if key == "require" and isinstance(value, str):
            continue
        if key not in ("min_digits", "round") or not isinstance(value, int) or not 0 <= value <= 17:
            raise StepgradError(f"[check] {key}: expected min_digits or round, a whole number 0..17, "
                                "or require (answers, template, none or name patterns)", where=str(path))
    return table


def _class_job(folder: str, spec: str | None, variants: str | None, update_order: str | None,
               round_to: int | None, rules: Any, points: str | None, gradebook: str | None,
               note: Note, fmt: str = "text") -> tuple[str, bool]:
    """Mark a class; writes the gradebook and feedback; (a one-line summary, True: the class was marked)."""
    from stepgrad.teach.classroom import iter_students, mark_class, points_scheme
    from stepgrad.teach.variants import network_for

    net = load_spec(spec)
    pick = network_for(variants) if variants else (lambda student: net)
    roster = Path(variants) / "keys.csv" if variants else None  # id, name of every student
    names = dict(iter_students(str(roster))) if roster is not None and roster.is_file() else {}
    book = mark_class(folder, pick, update_order=update_order, round_to=round_to, rules=rules,
                      scheme=points_scheme(points), names=names)
    target = gradebook or str(Path(folder.rstrip("/")).with_suffix("")) + "-marked"
    written = book.write(target)
    note(f"wrote {', '.join(written)}")
    passed = sum(bool(r.report and r.report.ok) for r in book.rows)
    if fmt == "json":  # the gradebook itself, as gradebook.json holds it
        return json.dumps({**book.to_dict(), "gradebook": target}, indent=2) + "\n", True
    return f"{len(book.rows)} solutions marked, {passed} passed; gradebook in {target}\n", True
