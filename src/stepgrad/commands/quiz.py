"""`stepgrad quiz`: practise one training step in the terminal, with immediate, diagnosed feedback."""

from __future__ import annotations

import sys

import click

from ..errors import StepgradError
from ._common import (
    digits_option,
    load_spec,
    spec_argument,
    split_names,
    update_order_option,
    write_atomic,
)

HELP = "Type the value (e.g. 0.5933), ? for a hint (twice: with the numbers), s to skip, q to stop."


def _read(prompt: str) -> str | None:
    """One line of input after the prompt; None at the end of input (a pipe, Ctrl-D or Ctrl-C)."""
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


def _feedback(result, digits: int) -> str:
    from ..render.formula import number

    if result.verdict == "correct":
        return "  correct"
    if result.verdict == "follows":
        return (f"  follows from your earlier values (error carried forward); "
                f"the exact value is {number(result.expected, digits)}")
    if result.verdict == "close":
        return f"  close: rounding drift (relative error {result.relative_error:.1e}); exact {number(result.expected, digits)}"
    lines = [f"  wrong: {result.diagnosis or 'no known mistake explains this value'}",
             f"  expected {number(result.expected, digits)}"
             + (f" (from your values: {number(result.expected_from_own, digits)})"
                if result.expected_from_own is not None and abs(result.expected_from_own - result.expected) > 1e-12 else "")]
    if result.formula:
        lines.append(f"  {result.formula}")
    return "\n".join(lines)


@click.command("quiz")
@spec_argument
@click.option("--only", default=None, metavar="NAMES", help="Only the quantities these derivations need, e.g. w5,w1.")
@click.option("--round", "round_to", type=click.IntRange(0, 15), default=None, metavar="K",
              help="Hand-calculation mode: expect every value rounded to K decimals and carried on.")
@update_order_option
@click.option("--save", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Save your answers as a solution file for `stepgrad check`. In a terminal you are asked at the end.")
@digits_option
def command(spec, only, round_to, update_order, save, digits):
    """Practise one training step: type each quantity in the derivation's order and get a verdict at
    once (correct, follows from your own earlier values, close, or wrong with a diagnosis of the
    mistake). ? gives a hint: the formula, then the formula with the numbers. Answers can come
    from a pipe, one per line.

    \b
    Examples:
      stepgrad quiz --only w5
      stepgrad quiz net.toml --round 4 --save answers.txt
      printf '0.5933\\n0.7514\\n' | stepgrad quiz --only w5
    """
    from ..quiz import Quiz
    from ..select import unknown

    net = load_spec(spec)
    net.require_samples(spec or "<built-in>")
    names = split_names(only)
    quiz = Quiz(net, names, update_order, round_to)
    if names:
        missing = unknown(quiz.trace, names)
        if missing:
            raise StepgradError(f"no quantity named {missing[0]!r} (see `stepgrad names`)", where="--only")
    total = len(quiz.questions)
    click.echo(f"stepgrad quiz: {total} quantities of one training step"
               + (f", every value rounded to {round_to} decimals" if round_to is not None else "") + ".")
    click.echo(HELP)
    section = None
    stopped = False
    for number, step in enumerate(quiz.questions, start=1):
        if quiz.section_of[step.name] != section:
            section = quiz.section_of[step.name]
            click.echo(f"\n== {section} ==")
        hints = 0
        while True:
            text = _read(f"[{number}/{total}] {step.name} = ")
            if text is None or text.lower() in ("q", "quit"):
                stopped = True
                break
            if text in ("?", "h", "hint"):
                hints += 1
                click.echo("  hint: " + quiz.hint(step.name, hints, digits))
                continue
            if text.lower() in ("", "s", "skip"):
                click.echo("  skipped")
                break
            try:
                result = quiz.answer(step.name, text)
            except StepgradError as exc:
                click.echo(f"  {exc}")
                continue
            click.echo(_feedback(result, digits))
            break
        if stopped:
            break
    report = quiz.report()
    click.echo(f"\n{report.summary()} ({len(quiz.answers)} of {total} answered)")
    if save is None and sys.stdin.isatty() and quiz.answers:
        save = _read("Save your answers for `stepgrad check`? File name (empty: don't save): ") or None
    if save:
        command_line = "stepgrad check " + save + (f" --network {spec}" if spec else "") + (
            f" --round {round_to}" if round_to is not None else "") + f" --update-order {quiz.update_order}"
        write_atomic(save, quiz.solution(f"stepgrad quiz answers; mark them again with:\n{command_line}"))
        click.echo(f"saved {save} (check it with: {command_line})")
    sys.exit(0 if report.ok else 1)
