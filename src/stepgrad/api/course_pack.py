"""A week of backpropagation teaching for one network, as one folder: the worked example (slides and notes), a
faded example, a find-the-error sheet, a problem per student with keys, and one LMS export."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

from stepgrad.api._base import Note, _silent, load_spec
from stepgrad.api.options import Display, Extras, PackOptions, Problem
from stepgrad.core.budget import cli_budget
from stepgrad.core.errors import StepgradError
from stepgrad.core.files import write_atomic


def make_course_pack(spec: str | None = None, *, output: str | None = None, options: PackOptions = PackOptions(),
                     note: Note = _silent) -> str:
    """A course pack for the network in `spec`: worked example, faded example, find-the-error sheet, problems, LMS quiz.

    Args:
        spec: the network spec file; None for the seed deck's network.
        output: the folder to write (1-worked, 2-faded, 3-find-error, 4-problems, 5-lms, README.md); required.
        options: the roster (a problem per student), the seed, the stages faded (None: half of them), the
            mistakes planted, the sheets' format, PDFs, and `force` to replace files edited by hand.
        note: called with "wrote ..." lines.

    Returns:
        "" (the files are written to `output`).

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> make_course_pack(output=folder)
        ''
        >>> sorted(p.name for p in Path(folder).iterdir())
        ['1-worked', '2-faded', '3-find-error', '4-problems', '5-lms', 'README.md']
    """
    from stepgrad.api.explain import explain_document
    from stepgrad.api.worked import _write
    from stepgrad.teach.exercise import EXTENSIONS, Exercise
    from stepgrad.teach.fading import Faded, stages
    from stepgrad.teach.find_error import plant
    from stepgrad.teach.lms_faded import moodle_xml
    from stepgrad.teach.lms_find_error import moodle_xml as find_error_xml
    from stepgrad.tracing.build import explain

    if not output:
        raise StepgradError("a course pack is a folder: add -o DIR", where="--output")
    folder = Path(output)
    if folder.exists() and not folder.is_dir():
        raise StepgradError("not a folder", where=str(folder))
    net = load_spec(spec)
    net.require_samples(spec or "<built-in>")
    cli_budget(None).check_trace(net)
    problem = _problem(net, options)  # checked before anything is written
    ext = EXTENSIONS[options.fmt]
    worked = {"slides.tex": explain_document(spec, fmt="slides", extras=Extras(group="weight", derive=True,
                                                                             train_iterations=0)),
              f"notes.{ext}": explain_document(spec, fmt=options.fmt, extras=Extras(derive=True), display=Display())}
    _write(folder / "1-worked", worked, options.force, None)
    example = Exercise(options.seed, net, explain(net))
    count = options.fade if options.fade is not None else len(stages(example.trace)) // 2
    if count > len(stages(example.trace)):
        raise StepgradError(f"this derivation has {len(stages(example.trace))} stages", where="--fade")
    faded = Faded(example, count)
    _write(folder / "2-faded", faded.files(options.fmt), options.force, None)
    from stepgrad.api.classroom import make_exercise

    # with a roster, a find-the-error sheet per student, on numbers of their own (another base seed than the
    # problems': a student's sheet never shows the worked solution of their problem)
    spot = replace(problem, seed=options.seed + 1, find_error=options.find_error)
    if options.roster:
        make_exercise(spot, fmt=options.fmt, output=str(folder / "3-find-error"), roster=options.roster,
                      pdf=options.pdf, force=options.force)
        spotted = make_exercise(spot, fmt="moodle", roster=options.roster)
    else:
        sheet = plant(example, options.find_error, seed=options.seed)
        _write(folder / "3-find-error", sheet.files(options.fmt), options.force, None)
        spotted = find_error_xml([("", sheet)])
    if options.pdf:
        from stepgrad.pictures.tikz import pdf as compile_pdf

        compile_pdf(faded.sheet("latex"), folder / "2-faded" / "faded.pdf")
        if not options.roster:
            compile_pdf(sheet.sheet("latex"), folder / "3-find-error" / "find-error.pdf")
    make_exercise(problem, fmt=options.fmt, output=str(folder / "4-problems"), roster=options.roster,
                  pdf=options.pdf, force=options.force)
    quiz = _merged(moodle_xml([("", faded)]), spotted)
    if options.roster:
        quiz = _merged(quiz, make_exercise(problem, fmt="moodle", roster=options.roster))
    _write(folder / "5-lms", {"quiz.xml": quiz}, options.force, None)
    write_atomic(folder / "README.md", _readme(net.name or "the seed deck's network", count, options, ext))
    note(f"wrote the course pack to {folder}: 1-worked, 2-faded, 3-find-error, 4-problems, 5-lms, README.md")
    return ""


def _problem(net, options: PackOptions) -> Problem:
    """The problems: new numbers on the network's layers, activations, loss and batch size (the exercise generator's)."""
    from stepgrad.teach.exercise import ACTIVATION_CHOICES

    hidden = net.activations[0] if net.depth > 1 else net.activations[-1]
    output = net.activations[-1] if net.activations[-1] != hidden else None
    samples = 1 if net.inputs is None else len(net.inputs)
    if hidden not in ACTIVATION_CHOICES or len(set(net.activations[:-1])) > 1 or samples > 4 or \
            not all(1 <= n <= 6 for n in net.layers):
        raise StepgradError("the problems are generated with the network's layers (1 to 6 neurons each), one hidden "
                            f"activation ({', '.join(ACTIVATION_CHOICES)}) and up to 4 samples; this network has "
                            f"{'-'.join(map(str, net.layers))}, {', '.join(net.activations)} and {samples} samples",
                            where="course-pack")
    return Problem(layers="-".join(map(str, net.layers)), activation=hidden, output_activation=output, loss=net.loss,
                   samples=samples, seed=options.seed)


def _merged(first: str, second: str) -> str:
    """Two Moodle XML quizzes as one."""
    quiz = ET.fromstring(first.split("\n", 1)[1])
    for question in ET.fromstring(second.split("\n", 1)[1]):
        quiz.append(question)
    ET.indent(quiz)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(quiz, encoding="unicode") + "\n"


def _readme(name: str, fade: int, options: PackOptions, ext: str) -> str:
    planted = f"{options.find_error} planted mistake(s)"
    lms_roster = "/ID per student), and the problems' question bank, one variant per student" if options.roster else ")"
    spot_text = (f"a worked solution per student of the roster, on numbers of their own, with {planted} "
                 "(students/ID/ for them, keys/ID/ and keys.csv for you); the student names the line, the mistake "
                 "and the corrected value in `answer-template.txt`. Mark the class with\n"
                 "   `stepgrad check returned/ --variants 3-find-error` (gradebook, feedback, class-report.md)."
                 if options.roster else
                 f"a worked solution with {planted}; the student names the line, the mistake and the corrected "
                 "value in `answer-template.txt`. Mark it with\n"
                 "   `stepgrad check answer.txt --network 3-find-error/network.toml` (the key `find-error.json` "
                 f"stays there:\n   hand out only `find-error.{ext}` and `answer-template.txt`).")
    per_student = ("one per student of the roster (students/ID/ for them, keys/ and keys.csv for you)"
                   if options.roster else "one problem (add --roster for one per student)")
    return f"""# Course pack: backpropagation on {name}

1. `1-worked/`: the worked example: `slides.tex` (Beamer, two pdflatex runs) and `notes.{ext}`, every local
   derivative derived.
2. `2-faded/`: the same network with its last {fade} stage(s) blank and a self-explanation prompt after every
   worked step; the key is `faded-key.{ext}`. Mark a returned template with
   `stepgrad check solution.txt --network 2-faded/network.toml`.
3. `3-find-error/`: {spot_text}
4. `4-problems/`: new numbers on the same layers, activations and loss: {per_student}. Mark a class with
   `stepgrad check returned/ --variants 4-problems` (or `--network 4-problems/network.toml`).
5. `5-lms/quiz.xml`: Moodle XML: the faded example's prompts (multiple choice) and blanks (numerical), the
   find-the-error sheet's line and mistake (multiple choice) and corrected values (numerical, category
   stepgrad/find-error{lms_roster}.

Made by `stepgrad course-pack`; the same network and seed make the same pack.
"""
