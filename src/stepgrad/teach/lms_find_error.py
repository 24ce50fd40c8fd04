"""Find-the-error sheets as LMS quizzes: per planted mistake, which line (multiple choice), which mistake (multiple
choice) and the corrected value (numerical, with the tolerance of stepgrad.teach.lms).

    >>> from stepgrad.teach.exercise import generate
    >>> from stepgrad.teach.find_error import plant
    >>> [kind for kind, _ in items(plant(generate(seed=7), keys=("learning_rate",)))]
    ['line', 'mistake', 'corrected']

A variant per student, as the problem exports keep them (stepgrad.teach.lms): Moodle XML and GIFT put each
student's questions in a category of their own ($course$/stepgrad/find-error/<id>), QTI (Canvas, built by text2qti) writes a
quiz per student (quiz-qti/<id>.zip). The line's choices are the planted line, the line after it (computed
correctly from it), the line before it and one more; the mistake's choices the planted one and three others of
the catalogue. The corrected value is right within the tolerance of `check` at 3 significant digits (or
`min_digits`); from the second mistake on, the value computed from the corrected lines above (every line
recomputed, as `check` credits it) is right too (Moodle, GIFT; QTI takes one range). The value the sheet shows is
a 0 % answer saying so.
"""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass

from stepgrad.formats import escape
from stepgrad.teach.classroom import file_names
from stepgrad.teach.exercise import _WRITERS
from stepgrad.teach.find_error import ErrorSheet, catalogue
from stepgrad.teach.lms import (
    Answer,
    Question,
    _gift_escape,
    build_qti,
    category_xml,
    gift_numerical,
    numbered,
    numerical_xml,
    qti_range,
    tolerance,
    xml_text,
)

CHOICES = 4  # choices per multiple-choice question


@dataclass(frozen=True)
class Choice:
    text: str
    right: bool
    feedback: str


@dataclass(frozen=True)
class Choices:
    """One single-answer multiple-choice question."""

    title: str
    text: str
    choices: tuple[Choice, ...]


Item = tuple[str, "Choices | Question"]  # ("line" | "mistake" | "corrected", the question)


def _who(sheet: ErrorSheet, label: str) -> str:
    return escape.plain(label).replace("/", "-").strip() if label else f"seed {sheet.exercise.seed}"


def items(sheet: ErrorSheet, label: str = "", min_digits: int | None = None) -> list[Item]:
    """The questions of one sheet: for every planted mistake, its line, its mistake and its corrected value."""
    numbered = sheet.numbered
    text = _WRITERS["markdown"](sheet.solution_blocks(label or None), "markdown")
    who = _who(sheet, label)
    rng = random.Random(sheet.exercise.seed)
    out: list[Item] = []
    for k, p in enumerate(sheet.planted):
        after = sheet.planted[k - 1].line if k else 0
        n = len(sheet.planted)
        suffix = "" if n == 1 else f" {k + 1}"
        ask = ("Which line is the first wrong one?" if k == 0 else
               f"Which is the first line after line {after} whose value is not its formula on the lines above it?")
        lines = {p.line, *(m for m in (p.line + 1, p.line - 1) if after < m <= len(numbered))}
        rest = [m for m in range(after + 1, len(numbered) + 1) if m not in lines and m not in {q.line for q in sheet.planted}]
        lines |= set(rng.sample(rest, min(len(rest), CHOICES - len(lines))))
        out.append(("line", Choices(f"{who}: wrong line{suffix}", f"{text}\n\n**{ask}**", tuple(
            Choice(f"line {m}: {numbered[m - 1]}", m == p.line,
                   f"Right: line {m} is wrong ({p.label})." if m == p.line else
                   f"Not line {m}: its value is what its formula gives on the lines above it. Recompute each line "
                   "from the lines above it until one differs.") for m in sorted(lines)))))
        fits = _fitting(sheet, p.name) - {p.key}  # mistakes that give this line another value: plausible readings
        others = [m.key for m in catalogue() if m.key not in fits and m.key != p.key]
        picked = {p.key, *rng.sample(sorted(fits), min(len(fits), CHOICES - 1))}
        picked |= set(rng.sample(others, min(len(others), CHOICES - len(picked))))
        out.append(("mistake", Choices(f"{who}: mistake{suffix}", f"{text}\n\n**Which mistake was made in line {p.line} "
                                       f"({p.name})?**", tuple(
            Choice(m.label, m.key == p.key, f"Right: {p.detail}." if m.key == p.key else
                   f"Not {m.label}: compare line {p.line} with its formula on the lines above it.")
            for m in catalogue() if m.key in picked))))
        tol = tolerance(p.corrected, min_digits)
        answers = [Answer(p.corrected, tol, 100, f"Right: line {p.line}'s formula on the lines above it.")]
        exact = sheet.exercise.trace.values[p.name]
        if k and abs(exact - p.corrected) > 2 * max(tol, tolerance(exact, min_digits)):
            answers.append(Answer(exact, tolerance(exact, min_digits), 100, "Right: from the corrected lines above it "
                                  "(every line after the first mistake recomputed)."))
        if all(abs(p.value - a.value) > 2 * max(tol, a.tolerance) for a in answers):
            answers.append(Answer(p.value, tol, 0, f"That is the value the sheet shows, with the mistake: {p.label}."))
        out.append(("corrected", Question(p.name, f"{who}: corrected value{suffix}",
                                          f"{text}\n\n**What should line {p.line} ({p.name}) be, computed from the "
                                          "lines above it?**", tuple(answers))))
    return out


def _fitting(sheet: ErrorSheet, name: str) -> set[str]:
    """The catalogue's mistakes that, made on line `name` of this sheet, give it a value other than the right one."""
    from stepgrad.teach.check.context import build
    from stepgrad.teach.find_error import _solution

    ctx = build(sheet.exercise.network, _solution(sheet.values, sheet.show), None, sheet.exercise.round_to)
    step, right = ctx.steps[name], ctx.from_own[name]
    found = set()
    for m in catalogue():
        for value, _ in m.candidates(ctx, step, ctx.own):
            if abs(value - right) > 1e-9 * max(abs(right), 1e-9):
                found.add(m.key)
                break
    return found


def _variants(sheets: list[tuple[str, ErrorSheet]], min_digits: int | None) -> dict[str, list[Item]]:
    """Every variant's category name -> its questions (a name used twice is numbered)."""
    names = numbered([_who(sheet, label) for label, sheet in sheets])
    return {name: items(sheet, label, min_digits) for name, (label, sheet) in zip(names, sheets)}


def moodle_xml(sheets: list[tuple[str, ErrorSheet]], min_digits: int | None = None) -> str:
    """A Moodle XML quiz: a category per variant, two multiple-choice and one numerical question per mistake."""
    quiz = ET.Element("quiz")
    for name, group in _variants(sheets, min_digits).items():
        category_xml(quiz, f"find-error/{name}")
        for _, q in group:
            if isinstance(q, Question):
                numerical_xml(quiz, q)
                continue
            node = ET.SubElement(quiz, "question", type="multichoice")
            ET.SubElement(ET.SubElement(node, "name"), "text").text = q.title
            ET.SubElement(ET.SubElement(node, "questiontext", format="markdown"), "text").text = q.text
            for tag, value in (("defaultgrade", "1"), ("single", "true"), ("shuffleanswers", "false"),
                               ("answernumbering", "abc")):
                ET.SubElement(node, tag).text = value
            for c in q.choices:
                answer = ET.SubElement(node, "answer", fraction="100" if c.right else "0", format="plain_text")
                ET.SubElement(answer, "text").text = c.text
                ET.SubElement(ET.SubElement(answer, "feedback", format="markdown"), "text").text = c.feedback
    return xml_text(quiz)


def gift(sheets: list[tuple[str, ErrorSheet]], min_digits: int | None = None) -> str:
    """The same quiz in GIFT: {=right#feedback ~wrong#feedback} and numerical questions, a category per variant."""
    out = []
    for name, group in _variants(sheets, min_digits).items():
        out.append(f"$CATEGORY: $course$/stepgrad/find-error/{_gift_escape(name)}\n")
        for _, q in group:
            if isinstance(q, Question):
                out.append(gift_numerical(q))
                continue
            choices = " ".join(f"{'=' if c.right else '~'}{_gift_escape(c.text)}#{_gift_escape(c.feedback)}"
                               for c in q.choices)
            out.append(f"::{_gift_escape(q.title)}::[markdown]{_gift_escape(q.text)}{{{choices}}}\n")
    return "\n".join(out)


def qti_text(label: str, sheet: ErrorSheet, min_digits: int | None = None) -> str:
    """The text2qti source of one variant's quiz: the questions refer to the student's printed sheet."""
    who = escape.markdown(label) if label else f"seed {sheet.exercise.seed}"
    body: list[str] = []
    left_out = number = 0
    for _, q in items(sheet, label, min_digits):
        ask = escape.markdown(q.text.rsplit("**", 2)[-2])  # the question below the sheet, without the sheet
        if isinstance(q, Choices):
            number += 1
            body += [f"Title: {escape.plain(q.title)}", f"{number}.  On your find-the-error sheet ({who}): {ask}"]
            for i, c in enumerate(q.choices):
                body += [f"{'*' if c.right else ''}{chr(97 + i)}) {escape.markdown(c.text)}",
                         f"... {escape.markdown(c.feedback)}"]
            body.append("")
            continue
        bounds = qti_range(q.answers[0])
        if bounds is None:
            left_out += 1
            continue
        number += 1
        body += [f"Title: {escape.plain(q.title)}", f"{number}.  On your find-the-error sheet ({who}): {ask}",
                 f"=   [{bounds[0]:.4f}, {bounds[1]:.4f}]", ""]
    description = "Find the error in a worked backpropagation step: the line, the mistake, the corrected value."
    if left_out:
        description += f" {left_out} corrected values smaller than 0.0001 are not asked here (QTI numbers have 4 decimals)."
    title = "stepgrad find the error" + (f": {escape.plain(label)}" if label else "")
    return "\n".join([f"Quiz title: {title}", f"Quiz description: {description}", "", *body])


def qti_quizzes(sheets: list[tuple[str, ErrorSheet]], min_digits: int | None = None) -> dict[str, bytes]:
    """One QTI quiz per variant: quiz-qti/<id>.zip each, or quiz-qti.zip for one sheet without a student."""
    if len(sheets) == 1 and not sheets[0][0]:
        return {"quiz-qti.zip": build_qti(qti_text("", sheets[0][1], min_digits))}
    homes = file_names([label for label, _ in sheets])
    return {f"quiz-qti/{homes[label]}.zip": build_qti(qti_text(label, sheet, min_digits)) for label, sheet in sheets}


Writer = Callable[[list[tuple[str, ErrorSheet]], int | None], dict[str, str] | dict[str, bytes]]
WRITERS: dict[str, Writer] = {
    "moodle": lambda sheets, digits: {"quiz.xml": moodle_xml(sheets, digits)},
    "gift": lambda sheets, digits: {"quiz.gift": gift(sheets, digits)},
    "qti": qti_quizzes,
}
