"""`stepgrad quiz` through a pseudo-terminal: a scripted student who flips a sign.

The student works the seed deck's w5 derivation to 4 significant digits from the published figures
(out_h1 = 0.593269992, out_o1 = 0.75136507, out_o1 (1 - out_o1) = 0.186815602), but writes
dE_total/dout_o1 = out_o1 - target_o1 with the sign flipped, and carries that value on. The quiz
must diagnose the flipped sign, credit the two later answers that follow from it (error carried
forward), and save a solution that `stepgrad check` marks the same way.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

import stepgrad
from stepgrad.teach.quiz import Quiz
from views_gallery import gallery

pexpect = pytest.importorskip("pexpect")

# The student's numbers, each from the previous ones as written (4 significant digits).
OUT_H1, OUT_O1, DOUT_DNET = 0.5933, 0.7514, 0.1868
WRONG_SIGNAL = -(OUT_O1 - 0.01)  # the mistake: -0.7414
GRAD_W5 = WRONG_SIGNAL * DOUT_DNET * OUT_H1  # -0.08217...
NEW_W5 = 0.4 - 0.5 * GRAD_W5
SCRIPT = [("out_h1", f"{OUT_H1}"), ("out_o1", f"{OUT_O1}"), ("dE_total/dout_o1", f"{WRONG_SIGNAL:.4f}"),
          ("dout_o1/dnet_o1", f"{DOUT_DNET}"), ("dE_total/dw5", f"{GRAD_W5:.4g}"), ("w5+", f"{NEW_W5:.5g}")]
VERDICTS = ["correct", "correct", "wrong", "correct", "follows", "follows"]


def spawn(*args: str, cwd=None):
    child = pexpect.spawn(sys.executable, ["-m", "stepgrad", *args], cwd=str(cwd) if cwd else None,
                          env=dict(os.environ), encoding="utf-8", timeout=60, dimensions=(50, 200))
    return child


@pytest.mark.slow  # a process per case: make test (CI)
def test_scripted_student_in_a_terminal(tmp_path, cli):
    child = spawn("quiz", "--only", "w5", cwd=tmp_path)
    transcript = []
    for name, value in SCRIPT:
        child.expect_exact(f"{name} = ")
        if name == "dout_o1/dnet_o1":  # ask for both hints first
            child.sendline("?")
            child.expect_exact("hint: dout_o1/dnet_o1 = out_o1 * (1 - out_o1)")
            child.expect_exact(f"{name} = ")
            child.sendline("?")
            child.expect_exact("= 0.7514 * (1 - 0.7514)")  # the student's own out_o1, not the exact one
            child.expect_exact(f"{name} = ")
        child.sendline(value)
        verdict = child.expect(["  correct", "  follows", "  wrong: ([^\r\n]*)", "  close"])
        transcript.append(["correct", "follows", "wrong", "close"][verdict])
        if verdict == 2:
            assert "flipped sign" in child.match.group(1)
    assert transcript == VERDICTS
    child.expect("3 correct, 2 follows, 0 close, 1 wrong")
    child.expect_exact("File name (empty: don't save): ")
    child.sendline("answers.txt")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1  # something was wrong, as `stepgrad check` says
    saved = tmp_path / "answers.txt"
    checked = cli("check", str(saved), "--format", "json")
    assert checked.returncode == 1, checked.stderr
    report = json.loads(checked.stdout)
    assert [r["verdict"] for r in report["results"]] == VERDICTS
    assert [r["name"] for r in report["results"]] == [name for name, _ in SCRIPT]
    assert report["results"][2]["mistake"] == "flipped_sign"


def test_answers_from_a_pipe(cli, tmp_path):
    answers = "\n".join(value for _, value in SCRIPT) + "\n"
    done = cli("quiz", "--only", "w5", "--save", str(tmp_path / "a.txt"), input=answers)
    assert done.returncode == 1, done.stderr
    assert "flipped sign" in done.stdout and done.stdout.count("follows from your earlier values") == 2
    assert "3 correct, 2 follows, 0 close, 1 wrong (6 of 6 answered)" in done.stdout
    assert (tmp_path / "a.txt").read_text().count(" = ") == 6


def test_end_of_input_stops_and_bad_names_are_one_line(cli):
    done = cli("quiz", "--only", "w5", input="0.5933\n")
    assert done.returncode == 0 and "1 correct, 0 follows, 0 close, 0 wrong (1 of 6 answered)" in done.stdout
    bad = cli("quiz", "--only", "w55")
    assert bad.returncode == 2 and "no quantity named 'w55'" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("name", list(gallery()))
def test_quiz_verdicts_equal_check_on_the_gallery(name):
    """A student right everywhere except one wrong number: the quiz marks each answer as check marks the file."""
    net = gallery()[name]
    quiz = Quiz(net, round_to=4)
    exact = stepgrad.explain(net, round_to=4).values
    verdicts = []
    for i, step in enumerate(quiz.questions[:25]):
        value = exact[step.name] * (1.5 if i == 3 else 1.0)  # one slip, then carried on as the checker expects
        verdicts.append(quiz.answer(step.name, f"{value:.4f}").verdict)
    report = stepgrad.teach.check.check(net, stepgrad.teach.check.loads(quiz.solution()), round_to=4)
    assert [r.verdict for r in report.results] == verdicts
    assert verdicts[3] == "wrong" and verdicts[:3] == ["correct"] * 3


def test_ctrl_c_stops_the_quiz_and_keeps_the_answers(tmp_path):
    child = spawn("quiz", "--only", "w5", cwd=tmp_path)
    child.expect_exact("out_h1 = ")
    child.sendline("0.5933")
    child.expect_exact("out_o1 = ")
    child.sendintr()
    child.expect("1 correct, 0 follows, 0 close, 0 wrong")
    child.expect_exact("File name (empty: don't save): ")
    child.sendline("")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
