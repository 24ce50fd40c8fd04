"""The terminal side of `stepgrad quiz`: ask, mark, hint, summarise, save; answers typed or piped.

    >>> answers = iter(["0.5933", "q"])
    >>> code = run(stepgrad.builtin(), only="w5", read=lambda prompt: next(answers, None), write=lambda text: None)

`run` talks through two functions (read a line after a prompt; write a line), so the same session
runs in a terminal, from a pipe and in tests. The marking is `stepgrad.teach.quiz.Quiz`, which is the
checker's: the saved file gets the same verdicts from `stepgrad check`.
"""

from __future__ import annotations

from collections.abc import Callable

from stepgrad.core.errors import StepgradError
from stepgrad.core.files import write_atomic
from stepgrad.core.spec import Network
from stepgrad.formats.formula import number
from stepgrad.teach.check import Result

HELP = "Type the value (e.g. 0.5933), ? for a hint (twice: with the numbers), s to skip, q to stop."
Read = Callable[[str], "str | None"]
Write = Callable[[str], None]


def terminal_read(prompt: str) -> str | None:
    """One line of input after the prompt; None at the end of input (a pipe, Ctrl-D or Ctrl-C)."""
    import sys

    import click

    click.echo(prompt, nl=False)
    sys.stdout.flush()
    try:
        line = sys.stdin.readline()
    except KeyboardInterrupt:  # stop here, but keep the answers: the summary and saving follow
        line = ""
    if not line:
        click.echo()
        return None
    if not sys.stdin.isatty():
        click.echo(line.rstrip("\n"))  # a scripted answer shows in the transcript as if typed
    return line.strip()


def feedback(result: Result, digits: int) -> str:
    """The verdict on one answer as the quiz says it."""
    if result.verdict == "correct":
        return "  correct" + (f" ({result.note})" if result.note else "")
    expected = number(result.expected or 0.0, digits)
    if result.verdict == "follows":
        return f"  follows from your earlier values (error carried forward); the exact value is {expected}"
    if result.verdict == "close":
        why = result.diagnosis or f"rounding drift (relative error {result.relative_error:.1e})"
        return f"  close: {why}; exact {expected}"
    own = result.expected_from_own
    lines = [f"  wrong: {result.diagnosis or 'no known mistake explains this value'}",
             f"  expected {expected}" + (f" (from your values: {number(own, digits)})"
                                         if own is not None and abs(own - (result.expected or 0.0)) > 1e-12 else "")]
    if result.formula:
        lines.append(f"  {result.formula}")
    return "\n".join(lines)


def run(net: Network, *, read: Read, write: Write, spec: str | None = None, only: str | None = None,
        round_to: int | None = None, update_order: str | None = None, save: str | None = None,
        digits: int = 9, ask_to_save: bool = False) -> int:
    """One quiz session; returns the exit status (0: nothing wrong, 1: something wrong)."""
    from stepgrad.teach.quiz import Quiz
    from stepgrad.tracing.only import resolve_only

    net.require_samples(spec or "<built-in>")
    quiz = Quiz(net, None, update_order, round_to)
    wanted = resolve_only(quiz.trace, only)
    if wanted:
        quiz = Quiz(net, wanted, update_order, round_to)
    total = len(quiz.questions)
    write(f"stepgrad quiz: {total} quantities of one training step"
          + (f", every value rounded to {round_to} decimals" if round_to is not None else "") + ".")
    write(HELP)
    section = None
    for position, step in enumerate(quiz.questions, start=1):
        if quiz.section_of[step.name] != section:
            section = quiz.section_of[step.name]
            write(f"\n== {section} ==")
        if not _ask(quiz, step.name, f"[{position}/{total}] {step.name} = ", read, write, digits):
            break
    report = quiz.report()
    write(f"\n{report.summary()} ({len(quiz.answers)} of {total} answered)")
    if save is None and ask_to_save and quiz.answers:
        save = read("Save your answers for `stepgrad check`? File name (empty: don't save): ") or None
    if save:
        command_line = ("stepgrad check " + save + (f" --network {spec}" if spec else "")
                        + (f" --round {round_to}" if round_to is not None else "") + f" --update-order {quiz.update_order}")
        write_atomic(save, quiz.solution(f"stepgrad quiz answers; mark them again with:\n{command_line}"))
        write(f"saved {save} (check it with: {command_line})")
    return 0 if report.ok else 1


def _ask(quiz, name: str, prompt: str, read: Read, write: Write, digits: int) -> bool:
    """Ask for one quantity until it is answered or skipped; False when the student stops."""
    hints = 0
    while True:
        text = read(prompt)
        if text is None or text.lower() in ("q", "quit"):
            return False
        if text in ("?", "h", "hint"):
            hints += 1
            write("  hint: " + quiz.hint(name, hints, digits))
            continue
        if text.lower() in ("", "s", "skip"):
            write("  skipped")
            return True
        try:
            result = quiz.answer(name, text)
        except StepgradError as exc:
            write(f"  {exc}")
            continue
        write(feedback(result, digits))
        return True
