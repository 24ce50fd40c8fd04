"""Exercises as quizzes a learning-management system imports: Moodle XML, GIFT, and QTI (Canvas) via text2qti.

One numerical question per quantity to compute. The right answer earns 100 % within a tolerance that
accepts every answer `stepgrad check` accepts with at least 3 significant digits (with `min_digits` K,
K digits): one unit of that digit, for a last digit rounded or truncated. Known mistakes' values
(diagnoses.py, recomputed on the exact step) are 0 %
answers whose feedback is the diagnosis, when they lie clearly outside the right answer's range.
Several exercises (one per student, exercise --roster) stay apart, since every question of a variant
refers to that variant's network: Moodle XML and GIFT put each variant's questions in a category of
its own (`$course$/stepgrad/<id>`), and QTI writes one quiz (one zip, `quiz-qti/<id>.zip`) per variant.

    >>> from stepgrad.teach.exercise import generate
    >>> questions(generate(seed=7))[0].name
    'net_h1'
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass

from stepgrad.core.errors import StepgradError
from stepgrad.formats import escape
from stepgrad.teach.check import CLOSE_RELATIVE
from stepgrad.teach.check.context import build
from stepgrad.teach.check.diagnoses import MISTAKES
from stepgrad.teach.check.solution import Solution
from stepgrad.teach.classroom import file_names
from stepgrad.teach.exercise import Exercise

MAX_WRONG = 4  # known mistakes offered per question (the most common first, as the registry orders them)


@dataclass(frozen=True)
class Answer:
    value: float
    tolerance: float
    fraction: int  # percent of the question's points
    feedback: str


@dataclass(frozen=True)
class Question:
    """One numerical question: the quantity, the exercise it belongs to, its text and its answers."""

    name: str
    title: str
    text: str
    answers: tuple[Answer, ...]


ANSWER_DIGITS = 3  # significant digits an LMS answer needs when the sheet asks for none (check calls fewer close)


def tolerance(value: float, min_digits: int | None = None) -> float:
    """The absolute tolerance that accepts every answer `stepgrad check` calls correct when written with at
    least `min_digits` (default ANSWER_DIGITS) significant digits: rounded or truncated in its last digit,
    so one unit of that digit (an LMS sees the number, not the digits written)."""
    digits = min_digits or ANSWER_DIGITS
    magnitude = math.floor(math.log10(abs(value))) if value else 0
    return max(10.0 ** (magnitude - digits + 1), CLOSE_RELATIVE * abs(value), 1e-12)


def questions(ex: Exercise, min_digits: int | None = None, label: str = "", only: tuple[str, ...] | None = None,
              sheet: str | None = None) -> list[Question]:
    """Every quantity of the exercise's step (or the names `only`) as a numerical question with its mistakes'
    answers; `sheet`: the text the question shows (default: the exercise's problem sheet)."""
    ctx = build(ex.network, Solution("<key>", ()), round_to=ex.round_to, prepared=(ex.trace, None))
    sheet = ex.sheet("markdown") if sheet is None else sheet
    found = []
    for step in ex.trace:
        if not step.text or (only is not None and step.name not in only):
            continue
        tol = tolerance(step.value, min_digits)
        answers = [Answer(step.value, tol, 100, "Correct.")]
        for m in MISTAKES:
            if m.key == "power_of_ten" or ctx.network_kind not in m.networks:
                continue  # ten candidates, none of them a likely slip: no use as a quiz answer (or another kind of network's)
            if len(answers) > MAX_WRONG:
                break
            for value, detail in m.candidates(ctx, step, ctx.exact):
                if math.isfinite(value) and all(abs(value - a.value) > 2 * max(tol, a.tolerance) for a in answers):
                    shown = f"{value:.9g}"
                    text = detail.replace("{value}", shown) if "{value}" in detail else f"{detail} = {shown}"
                    answers.append(Answer(value, tol, 0, f"{m.label}: {text}"))
                    break
        title = f"{escape.plain(label) if label else f'seed {ex.seed}'}: {step.name}"
        found.append(Question(step.name, title, f"{sheet}\n\n**Compute `{step.name}`.**", tuple(answers)))
    return found


def _number(x: float) -> str:
    return f"{x:.12g}"


def _variant(label: str, ex: Exercise) -> str:
    """The variant's name in a category path: the student id (one line, no '/': Moodle's separator), or the seed."""
    return escape.plain(label).replace("/", "-").strip() or f"seed {ex.seed}"


def numbered(names: list[str]) -> list[str]:
    """The names made unique in order: a name already taken gets " #2", " #3", ... (the first free number)."""
    taken: list[str] = []
    for base in names:
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base} #{n}"
        taken.append(name)
    return taken


def by_variant(exercises: list[tuple[str, Exercise]], min_digits: int | None = None) -> dict[str, list[Question]]:
    """Every variant's category name -> its questions, in the derivation's order (a name used twice is numbered)."""
    names = numbered([_variant(label, ex) for label, ex in exercises])
    return {name: questions(ex, min_digits, label) for name, (label, ex) in zip(names, exercises)}


def moodle_xml(exercises: list[tuple[str, Exercise]], min_digits: int | None = None) -> str:
    """A Moodle XML quiz: a category per variant (student), a numerical question per quantity in it."""
    quiz = ET.Element("quiz")
    for name, group in by_variant(exercises, min_digits).items():
        category_xml(quiz, name)
        for q in group:
            numerical_xml(quiz, q)
    return xml_text(quiz)


def category_xml(quiz: ET.Element, name: str) -> None:
    """A Moodle category question: the questions after it go into $course$/stepgrad/<name>."""
    category = ET.SubElement(ET.SubElement(quiz, "question", type="category"), "category")
    ET.SubElement(category, "text").text = f"$course$/stepgrad/{name}"


def numerical_xml(quiz: ET.Element, q: Question) -> None:
    """One Moodle numerical question: every answer with its fraction, tolerance and feedback."""
    node = ET.SubElement(quiz, "question", type="numerical")
    ET.SubElement(ET.SubElement(node, "name"), "text").text = q.title
    text = ET.SubElement(node, "questiontext", format="markdown")
    ET.SubElement(text, "text").text = q.text
    ET.SubElement(node, "defaultgrade").text = "1"
    for a in q.answers:
        answer = ET.SubElement(node, "answer", fraction=str(a.fraction), format="moodle_auto_format")
        ET.SubElement(answer, "text").text = _number(a.value)
        ET.SubElement(answer, "tolerance").text = _number(a.tolerance)
        ET.SubElement(ET.SubElement(answer, "feedback", format="markdown"), "text").text = a.feedback


def xml_text(quiz: ET.Element) -> str:
    """The Moodle XML document of `quiz`, indented."""
    ET.indent(quiz)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(quiz, encoding="unicode") + "\n"


def _gift_escape(text: str) -> str:
    for c in "\\~=#{}:":
        text = text.replace(c, "\\" + c)
    return text.replace("\n", "\\n")


def gift(exercises: list[tuple[str, Exercise]], min_digits: int | None = None) -> str:
    """The same quiz in GIFT (a category per variant): numerical questions
    {#=value:tolerance#feedback =%0%value:tolerance#diagnosis}."""
    out = []
    for name, group in by_variant(exercises, min_digits).items():
        out.append(f"$CATEGORY: $course$/stepgrad/{_gift_escape(name)}\n")
        out += [gift_numerical(q) for q in group]
    return "\n".join(out)


def gift_numerical(q: Question) -> str:
    """One GIFT numerical question: {#=value:tolerance#feedback =%0%value:tolerance#diagnosis}."""
    answers = " ".join(f"={'%' + str(a.fraction) + '%' if a.fraction != 100 else ''}"
                       f"{_number(a.value)}:{_number(a.tolerance)}#{_gift_escape(a.feedback)}" for a in q.answers)
    return f"::{_gift_escape(q.title)}::[markdown]{_gift_escape(q.text)}{{#{answers}}}\n"


QTI_SMALLEST = 1e-4  # text2qti writes a numerical answer's range to 4 decimals and refuses anything smaller


def qti_range(right: Answer) -> tuple[float, float] | None:
    """A numerical answer's range as text2qti writes it (4 decimals, widened outward so it still holds the
    answer), or None where it cannot be asked in QTI (a bound below 0.0001 in magnitude, or a range around 0)."""
    low = math.floor((right.value - right.tolerance) * 10**4) / 10**4
    high = math.ceil((right.value + right.tolerance) * 10**4) / 10**4
    if min(abs(low), abs(high)) < QTI_SMALLEST or low < 0 < high:
        return None
    return low, high


def _qti_text(exercises: list[tuple[str, Exercise]], min_digits: int | None) -> str:
    """The text2qti source of one quiz: numerical questions with a range each (text2qti has no wrong-answer feedback).
    A quantity whose range holds a number below 0.0001 in magnitude cannot be a QTI question: it is left
    out, and the quiz's description says how many (Moodle XML and GIFT keep every quantity)."""
    body: list[str] = []
    number = left_out = 0
    for label, ex in exercises:
        for q in questions(ex, min_digits, label):
            span = qti_range(q.answers[0])
            if span is None:
                left_out += 1
                continue
            low, high = span
            number += 1
            who = escape.markdown(label) if label else f"seed {ex.seed}"  # a roster id is text, never markup
            text = f"{escape.markdown(q.title)}: compute `{q.name}` for the network of the exercise sheet ({who})."
            body += [f"Title: {escape.plain(q.title)}", f"{number}.  {text}",
                     f"=   [{low:.4f}, {high:.4f}]", ""]
    description = "One training step of a small network, computed by hand."
    if left_out:
        description += (f" {left_out} quantities smaller than 0.0001 are not asked here (QTI numbers have 4 "
                        "decimals); the Moodle XML and GIFT exports ask them.")
    labels = [escape.plain(label) for label, _ in exercises if label]
    title = "stepgrad backpropagation exercise" + (f": {labels[0]}" if len(exercises) == 1 and labels else "")
    return "\n".join([f"Quiz title: {title}", f"Quiz description: {description}", "", *body])


def qti_zip(exercises: list[tuple[str, Exercise]], min_digits: int | None = None) -> bytes:
    """A QTI 1.2 zip (Canvas's import format) built by text2qti: one quiz, one item per quantity and exercise."""
    return build_qti(_qti_text(exercises, min_digits))


def build_qti(text: str) -> bytes:
    """A QTI 1.2 zip built by text2qti from its quiz text; what text2qti refuses is one line, never a traceback."""
    try:
        from text2qti.config import Config  # type: ignore[import-untyped]
        from text2qti.err import Text2qtiError  # type: ignore[import-untyped]
        from text2qti.qti import QTI  # type: ignore[import-untyped]
        from text2qti.quiz import Quiz  # type: ignore[import-untyped]
    except ImportError:
        raise StepgradError("QTI export needs text2qti: pip install 'stepgrad[lms]'", where="--format qti") from None
    config = Config()
    config.load()
    try:
        return QTI(Quiz(text, config=config, source_name="<stepgrad>")).zip_bytes()
    except Text2qtiError as exc:
        raise StepgradError(f"text2qti cannot build this quiz: {' '.join(str(exc).split())}", where="--format qti") from None


def qti_quizzes(exercises: list[tuple[str, Exercise]], min_digits: int | None = None) -> dict[str, bytes]:
    """One QTI quiz per variant: file name -> zip. A roster's variants are quiz-qti/<id>.zip each (ids that
    would share a file are numbered); one exercise without a student is quiz-qti.zip."""
    if len(exercises) == 1 and not exercises[0][0]:
        return {"quiz-qti.zip": qti_zip(exercises, min_digits)}
    homes = file_names([label for label, _ in exercises])
    return {f"quiz-qti/{homes[label]}.zip": qti_zip([(label, ex)], min_digits) for label, ex in exercises}


Writer = Callable[[list[tuple[str, Exercise]], int | None], dict[str, str] | dict[str, bytes]]
WRITERS: dict[str, Writer] = {
    "moodle": lambda exercises, digits: {"quiz.xml": moodle_xml(exercises, digits)},
    "gift": lambda exercises, digits: {"quiz.gift": gift(exercises, digits)},
    "qti": qti_quizzes,
}
