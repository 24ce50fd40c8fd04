"""Faded worked examples as LMS quizzes: a numerical question per blank, a multiple-choice question per prompt.

    >>> from stepgrad.teach.exercise import generate
    >>> from stepgrad.teach.fading import fade
    >>> xml = moodle_xml([("", fade(generate(seed=7), 2))])
    >>> xml.count('type="multichoice"') > 0, xml.count('type="numerical"')
    (True, 11)

Moodle XML: the blanks are numerical questions with the tolerance and the mistakes' answers of lms.py, the
prompts single-answer multiple-choice questions (the rule, with feedback from the derivation). Canvas: the
same as a QTI zip built by text2qti (numerical ranges, multiple choice).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

from stepgrad.formats import escape
from stepgrad.teach.fading import Faded
from stepgrad.teach.lms import Question, _number, build_qti, qti_range, questions
from stepgrad.teach.prompts import Prompt


def _numerical(faded: Faded, min_digits: int | None, label: str) -> list[Question]:
    return questions(faded.exercise, min_digits, label, only=faded.blanks, sheet=faded.sheet("markdown"))


def _steps(faded: Faded) -> dict[str, list[str]]:
    return {s.name: faded.worked_lines(s) for sec in faded.worked for s in sec.steps if s.text}


def _text(node: ET.Element, tag: str, text: str, fmt: str | None = None) -> None:
    ET.SubElement(ET.SubElement(node, tag, {"format": fmt} if fmt else {}), "text").text = text


def moodle_xml(sheets: list[tuple[str, Faded]], min_digits: int | None = None) -> str:
    """A Moodle XML quiz: the blanks as numerical questions, the prompts as multiple-choice questions."""
    quiz = ET.Element("quiz")
    for label, faded in sheets:
        who = escape.plain(label) if label else f"seed {faded.exercise.seed}"
        lines = _steps(faded)
        for p in faded.prompts:
            node = ET.SubElement(quiz, "question", type="multichoice")
            _text(node, "name", f"{who}: rule of {p.name}")
            shown = "\n".join("    " + line for line in lines[p.name])
            _text(node, "questiontext", f"{shown}\n\n**{p.question}**", fmt="markdown")
            ET.SubElement(node, "defaultgrade").text = "1"
            ET.SubElement(node, "single").text = "true"
            ET.SubElement(node, "shuffleanswers").text = "true"
            ET.SubElement(node, "answernumbering").text = "abc"
            for k, choice in enumerate(p.choices):
                answer = ET.SubElement(node, "answer", fraction="100" if k == p.answer else "0", format="plain_text")
                ET.SubElement(answer, "text").text = choice
                _text(answer, "feedback", _feedback(p, k), fmt="markdown")
        for q in _numerical(faded, min_digits, label):
            node = ET.SubElement(quiz, "question", type="numerical")
            _text(node, "name", q.title)
            _text(node, "questiontext", q.text, fmt="markdown")
            ET.SubElement(node, "defaultgrade").text = "1"
            for a in q.answers:
                answer = ET.SubElement(node, "answer", fraction=str(a.fraction), format="moodle_auto_format")
                ET.SubElement(answer, "text").text = _number(a.value)
                ET.SubElement(answer, "tolerance").text = _number(a.tolerance)
                _text(answer, "feedback", a.feedback, fmt="markdown")
    ET.indent(quiz)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(quiz, encoding="unicode") + "\n"


def _feedback(p: Prompt, chosen: int) -> str:
    if chosen == p.answer:
        return f"Right: {p.rule}. {p.why}"
    return f"Not {p.choices[chosen]}: look at how the step is built. {p.why}"


def _qti_text(sheets: list[tuple[str, Faded]], min_digits: int | None) -> str:
    body: list[str] = []
    number = 0
    for label, faded in sheets:
        lines = _steps(faded)
        for p in faded.prompts:
            number += 1
            shown = escape.markdown(lines[p.name][0])
            body += [f"Title: {escape.plain(p.name)} (rule)", f"{number}.  {shown}: {escape.markdown(p.question)}"]
            body += [f"{'*' if k == p.answer else ''}{chr(97 + k)}) {escape.markdown(c)}" for k, c in enumerate(p.choices)]
            body.append("")
        for q in _numerical(faded, min_digits, label):
            span = qti_range(q.answers[0])
            if span is None:
                continue  # QTI numbers have 4 decimals (lms.py); the Moodle export asks these
            low, high = span
            number += 1
            body += [f"Title: {escape.plain(q.title)}", f"{number}.  compute `{q.name}` on the faded sheet.",
                     f"=   [{low:.4f}, {high:.4f}]", ""]
    return "\n".join(["Quiz title: stepgrad faded worked example",
                      "Quiz description: the worked steps' rules, then the blanks computed.", "", *body])


def qti_zip(sheets: list[tuple[str, Faded]], min_digits: int | None = None) -> bytes:
    """A QTI 1.2 zip (Canvas) built by text2qti: multiple choice per prompt, numerical per blank."""
    return build_qti(_qti_text(sheets, min_digits))


Writer = Callable[[list[tuple[str, Faded]], int | None], str | bytes]
WRITERS: dict[str, tuple[str, Writer]] = {"moodle": ("quiz.xml", moodle_xml), "qti": ("quiz-qti.zip", qti_zip)}
