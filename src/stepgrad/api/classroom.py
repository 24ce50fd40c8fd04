"""The classroom: marking one solution or a whole class, making one exercise or one per student."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from stepgrad.api._base import Note, _silent, load_spec, quiz_files
from stepgrad.api.options import ClassOptions, Display, Marking, Problem
from stepgrad.core.budget import cli_budget
from stepgrad.core.errors import StepgradError
from stepgrad.core.files import write_atomic
from stepgrad.core.spec import Network, builtin

if TYPE_CHECKING:
    from stepgrad.teach.quiz_session import Read, Write


def make_exercise(problem: Problem = Problem(), *, fmt: str = "markdown", digits: int = 9, output: str | None = None,
                  roster: str | None = None, pdf: bool = False, force: bool = False,
                  note: Note = _silent) -> str:
    """A new exercise with nice numbers: the problem sheet, or sheet, key, templates and network written to a folder.

    Args:
        problem: the network to draw (layers, activations, loss, samples, seed, learning rate, rounding), and
            the kind of sheet: the problem, or a worked sheet: a faded worked example (`fade` stages blank, or a
            `fade_sequence` of sheets) with self-explanation prompts, or a worked solution with `find_error`
            planted mistakes (stepgrad.teach.fading, stepgrad.teach.find_error), marked by `check_solution`.
        fmt: the sheet's and key's format (markdown, latex, html, text), or a quiz for an LMS (moodle, gift, qti).
        digits: significant digits in the key.
        output: a folder: write sheet.EXT, key.EXT, solution-template.txt, key-values.txt and network.toml
            there (and check.toml with the marking rules) instead of returning the sheet.
        roster: a CSV with an `id` column: one exercise per student, seeded by their id (needs `output`).
        pdf: also sheet.pdf (pdflatex; the network drawn with TikZ; needs `output`).
        force: replace files in `output` that differ from this exercise's (an edited key, another exercise).
        note: called with "wrote ..." lines.

    Returns:
        The problem sheet (or the quiz) as text, or "" when the files were written to `output`.

    Example:
        >>> sheet = make_exercise(Problem(seed=7, layers="2-3-2"))
        >>> "w1" in sheet
        True
    """
    from stepgrad.teach.exercise import generate

    if problem.layers == "conv":
        return _conv_exercise(problem, fmt, output, roster, pdf, force, note)
    if problem.layers in ("rnn", "attention", "layernorm", "batchnorm"):  # teach/exercise_sequences.KINDS
        from stepgrad.api.exercise_sequences import sequence_exercise

        return sequence_exercise(problem, fmt, digits, output, roster, pdf, force, note)
    options = problem.generator_options()
    seed, min_digits, round_to = problem.seed, problem.min_digits, problem.round_to
    folder = Path(output) if output else None
    if folder is not None and folder.exists() and not folder.is_dir():
        raise StepgradError("not a folder", where=str(folder))
    if problem.worked:
        from stepgrad.api.worked import make_worked

        return make_worked(problem, fmt=fmt, output=output, roster=roster, pdf=pdf, min_digits=min_digits,
                           force=force, note=note)
    if fmt in ("moodle", "gift", "qti"):
        return _quiz(fmt, roster, seed, options, min_digits, folder, note)
    if roster:
        if folder is None:
            raise StepgradError("one exercise per student needs a folder to write them to: add -o DIR", where="--roster")
        from stepgrad.teach.variants import write_variants

        made = write_variants(roster, str(folder), base=seed, fmt=fmt, digits=digits, min_digits=min_digits, pdf=pdf,
                              force=force, **options)
        note(f"wrote {len(made)} exercises to {folder / 'students'}, the keys to {folder / 'keys'} and {folder / 'keys.csv'}")
        return ""
    exercise = generate(seed=seed, **options)
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


LMS_FORMATS = ("moodle", "gift", "qti")


def _conv_exercise(problem: Problem, fmt: str, output: str | None, roster: str | None, pdf: bool, force: bool,
                   note: Note) -> str:
    """The conv + max-pool + dense exercise: its sheet, or sheet, key, template and network.json in `output`; one per
    student with `roster`; a quiz for an LMS with fmt moodle, gift or qti; a find-the-error sheet with find_error."""
    from stepgrad.teach.exercise_layers import generate_conv

    faded = problem.fade is not None or bool(problem.fade_names) or problem.fade_sequence
    planted = problem.find_error is not None
    for flag, used in (("--layers conv with --fade", faded),
                       ("--find-error with --roster or a quiz", planted and (bool(roster) or fmt in LMS_FORMATS)),
                       ("--find-error with --round or --samples", planted and (problem.round_to is not None
                                                                             or problem.samples != 1))):
        if used:
            raise StepgradError("the conv exercise is a problem sheet or one find-the-error sheet of one sample, exact "
                                "(not a faded one, nor one per student) for now", where=flag)
    drawn: dict[str, Any] = {"samples": problem.samples, "round_to": problem.round_to}
    folder = Path(output) if output else None
    if folder is not None and folder.exists() and not folder.is_dir():
        raise StepgradError("not a folder", where=str(folder))
    if fmt in LMS_FORMATS:
        from stepgrad.teach.variants_layers import conv_variants

        chosen = [(sid, ex) for sid, _, ex in conv_variants(roster, problem.seed, problem.shape, **drawn)] if roster \
            else [("", generate_conv(problem.seed, problem.shape, **drawn))]
        return _write_quiz(fmt, chosen, problem.min_digits, folder, note)
    if roster:
        if folder is None:
            raise StepgradError("one exercise per student needs a folder to write them to: add -o DIR", where="--roster")
        from stepgrad.teach.variants_layers import write_conv_variants

        written = write_conv_variants(roster, str(folder), base=problem.seed, fmt=fmt, min_digits=problem.min_digits,
                                      pdf=pdf, force=force, shape=problem.shape, **drawn)
        note(f"wrote {len(written)} exercises to {folder / 'students'}, the keys to {folder / 'keys'} and "
             f"{folder / 'keys.csv'}")
        return ""
    exercise = generate_conv(problem.seed, problem.shape, **drawn)
    made: Any = exercise
    if planted:  # a worked solution with planted conv mistakes (teach/find_error.py)
        from stepgrad.teach.exercise import Exercise
        from stepgrad.teach.find_error import plant

        keys = tuple(k.strip() for k in problem.mistakes.split(",") if k.strip()) if problem.mistakes else None
        made = plant(Exercise(exercise.seed, exercise.network, exercise.trace), problem.find_error,  # type: ignore[arg-type]
                     seed=problem.seed, keys=keys)
    if folder is None:
        if pdf:
            raise StepgradError("a PDF sheet is a file: add -o DIR", where="--pdf")
        return str(made.sheet(fmt))
    folder.mkdir(parents=True, exist_ok=True)
    files = made.files(fmt)
    rules = {"min_digits": problem.min_digits, "round": problem.round_to}  # what `check` applies beside network.json
    if any(v is not None for v in rules.values()):
        files["check.toml"] = "[check]\n" + "".join(f"{k} = {v}\n" for k, v in rules.items() if v is not None)
    changed = [name for name, text in files.items() if (folder / name).is_file() and not _same(folder / name, text)]
    if changed and not force:
        raise StepgradError(f"{', '.join(changed)} already there with other contents; use --force to replace, "
                            "or another folder", where=str(folder))
    for name, text in files.items():
        write_atomic(folder / name, text)
    if pdf:
        from stepgrad.teach.variants_layers import pdf_sheet

        pdf_sheet(exercise, folder / "sheet.pdf")
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
    from stepgrad.teach.variants import variants

    chosen = [(sid, ex) for sid, _, ex in variants(roster, seed, **options)] if roster else \
        [("", generate(seed=seed, **options))]
    return _write_quiz(fmt, chosen, min_digits, folder, note)


def _write_quiz(fmt: str, chosen: list[tuple[str, Any]], min_digits: int | None, folder: Path | None, note: Note) -> str:
    """The exercises (label, exercise) as a quiz in `fmt` (teach/lms.py's writers); written into `folder` when given."""
    from stepgrad.teach.lms import WRITERS

    return quiz_files(WRITERS[fmt](chosen, min_digits), folder, note)


def check_solution(solution: str, *, spec: str | None = None, fmt: str = "text", display: Display = Display(),
                   marking: Marking = Marking(), whole_class: ClassOptions = ClassOptions(),
                   max_work: float | None = None, note: Note = _silent) -> tuple[str, bool]:
    """Mark a hand-computed solution file, number by number; a folder or .zip of solutions is a class.

    Args:
        solution: `name = value` lines (or a YAML/JSON mapping of the same names); a folder or a .zip of
            them is a class, marked into a gradebook with a feedback file per student; an answer to a
            find-the-error sheet (line, mistake, corrected; find-error.json beside `spec`) is marked against
            that sheet's key.
        spec: the network spec the solution is for; None for the seed deck's network.
        fmt: "text" or "json" (the report).
        display: digits (or decimals) of the report; with `display.console` a text report is printed as
            a table (at least 140 columns when not a terminal) and "" is returned.
        marking: update order, hand rounding, the precision asked for, the order of the rows
            (None: from the exercise's check.toml beside the network, if any).
        whole_class: the points scheme, the variants folder, the gradebook folder and the roster (names), for a class.
        max_work: the work budget in multiply-adds (default: the command line's, stepgrad.core.budget).
        note: called with "wrote ..." lines.

    Returns:
        (the report, True when nothing is wrong); for a class, (a one-line summary, True).

    Example:
        >>> from importlib import resources
        >>> deck = str(resources.files("stepgrad.examples") / "seed-deck-solution.txt")
        >>> report, ok = check_solution(deck, fmt="json")
        >>> ok
        False
    """
    from stepgrad.teach.check import Rules, check
    from stepgrad.teach.check import load as load_answers
    from stepgrad.teach.check.report import render_json, render_text, rich_table

    if fmt not in ("text", "json"):
        raise StepgradError(f"expected text or json, got {fmt!r}", where="--format")
    variants = whole_class.variants
    from stepgrad.api.worked import find_error_key, mark_find_error

    key = find_error_key(spec, solution)  # an answer to a find-the-error sheet: line, mistake, corrected value
    if key is not None:
        return mark_find_error(key, solution, fmt, spec)
    settings = _check_settings(variants or spec)
    round_to = settings.get("round") if marking.round_to is None else marking.round_to
    rules = Rules(min_digits=settings.get("min_digits") if marking.min_digits is None else marking.min_digits,
                  order=marking.order, required=marking.require or settings.get("require", "answers"))
    update_order = marking.update_order
    if Path(solution).is_dir() or solution.lower().endswith(".zip"):
        return _class_job(solution, spec, whole_class, update_order, round_to, rules, note, fmt)
    if whole_class.roster is not None:  # never silently unused
        raise StepgradError("a roster names the students of a class folder or zip; leave it out for one file",
                            where="--roster")
    from stepgrad.core.budget import samples_of

    alternatives: dict[str, Any] = {"the seed deck's network (check without --network)": builtin()} if spec else {}
    net = load_spec(spec, layer_tables=True)
    answers = load_answers(solution, lenient=True)
    if isinstance(net, Network):
        cli_budget(max_work).check_trace(net)
        most = 1000 + 10 * samples_of(net) * (net.parameter_count + sum(net.layers))  # every quantity, many times over
    else:  # a layer-table network (conv, pooling): its own step, its own diagnoses
        alternatives = {}
        most = 1000 + 20 * net.parameter_count + 10 * sum(int(np.prod(layer.out_shape)) for layer in net.all_layers())
    if len(answers.answers) > most:
        raise StepgradError(f"{len(answers.answers):,} answers, more than this network has quantities "
                            f"(the limit is {most:,}); see `stepgrad names`", where=answers.source)
    report = check(net, answers, update_order=update_order, round_to=round_to, rules=rules,
                   alternatives=alternatives)
    digits: Any = display.precision
    if fmt == "json":
        return render_json(report) + "\n", report.ok
    if not display.console:
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


def _roster_names(whole_class: ClassOptions) -> dict[str, str]:
    """student id -> name: from --roster, else the variants folder's keys.csv (id, name of every student)."""
    from stepgrad.teach.classroom import iter_students

    if whole_class.roster is not None:
        if not Path(whole_class.roster).is_file():
            raise StepgradError("no such file", where=whole_class.roster)
        return dict(iter_students(whole_class.roster))
    keys = Path(whole_class.variants) / "keys.csv" if whole_class.variants else None
    return dict(iter_students(str(keys))) if keys is not None and keys.is_file() else {}


def _class_job(folder: str, spec: str | None, whole_class: ClassOptions, update_order: str | None,
               round_to: int | None, rules: Any, note: Note, fmt: str = "text") -> tuple[str, bool]:
    """Mark a class; writes the gradebook and feedback; (a one-line summary, True: the class was marked)."""
    from stepgrad.api.worked import find_error_class
    from stepgrad.teach.classroom import mark_class, points_scheme
    from stepgrad.teach.variants import network_for

    marked = find_error_class(folder, spec, whole_class, _roster_names(whole_class), note, fmt)
    if marked is not None:  # answers to find-the-error sheets: line, mistake, corrected value per student
        return marked
    net = load_spec(spec)
    variants = whole_class.variants
    pick = network_for(variants) if variants else (lambda student: net)
    names = _roster_names(whole_class)
    book = mark_class(folder, pick, update_order=update_order, round_to=round_to, rules=rules,
                      scheme=points_scheme(whole_class.points), names=names)
    target = whole_class.gradebook or str(Path(folder.rstrip("/")).with_suffix("")) + "-marked"
    written = book.write(target, force=whole_class.force)
    note(f"wrote {', '.join(written)}")
    passed = sum(bool(r.report and r.report.ok) for r in book.rows)
    if fmt == "json":  # the gradebook itself, as gradebook.json holds it
        return json.dumps({**book.to_dict(), "gradebook": target}, indent=2) + "\n", True
    return f"{len(book.rows)} solutions marked, {passed} passed; gradebook in {target}\n", True


def run_quiz(spec: str | None = None, *, only: str | None = None, marking: Marking = Marking(),
             save: str | None = None, digits: int = 9, study: bool = False,
             read: Read | None = None, write: Write | None = None) -> int:
    """Practise one training step: ask each quantity in the derivation's order, with a verdict at once.

    Args:
        spec: the network spec file; None for the seed deck's network.
        only: only the quantities these derivations need, e.g. "w5,w1".
        marking: the step's update order (None: the spec's) and hand-calculation mode (`round_to`: expect
            every value rounded to this many decimals and carried on).
        save: save the answers as a solution file for `stepgrad check`.
        digits: significant digits of the expected values shown.
        study: study mode (stepgrad.teach.study): a worked example with self-explanation prompts, a faded
            example, then a problem, each on new weights of the network; feedback names the earlier values
            an answer used, and a wrong answer gets the diagnosis and a hint from the step's rule, not the value.
        read: reads one answer after a prompt (None at the end); None: the terminal, which asks at the
            end whether to save when it is interactive.
        write: writes one line; None: standard output.

    Returns:
        The exit status: 0 nothing wrong, 1 something wrong or unanswered.

    Example:
        >>> answers = iter(["0.5933", "0.6", "q"])   # out_h1 right, out_o1 wrong (it is 0.75136507), stop
        >>> run_quiz(only="w5", read=lambda prompt: next(answers, None), write=lambda line: None)
        1
    """
    import sys

    import click

    from stepgrad.teach.quiz_session import run, terminal_read

    net = load_spec(spec)
    cli_budget(None).check_trace(net)  # the quiz derives the whole step first
    round_to, update_order = marking.round_to, marking.update_order
    if study:
        from stepgrad.teach import study as studying

        if only or save:
            raise StepgradError("study mode chooses its own weights and saves nothing", where="--only" if only else "--save")
        return studying.run(net, read=read or terminal_read, write=write or click.echo, round_to=round_to,
                            update_order=update_order, digits=digits)
    ask_to_save = read is None and sys.stdin.isatty()
    return run(net, read=read or terminal_read, write=write or click.echo, spec=spec, only=only,
               round_to=round_to, update_order=update_order, save=save, digits=digits, ask_to_save=ask_to_save)
