"""stepgrad quiz --study: worked (with rule prompts) → faded → problem on new weights; feedback names the earlier
values an answer used; a wrong answer gets the diagnosis and a hint, never the value."""

from __future__ import annotations

import re

import pytest

import gallery
import stepgrad
from stepgrad.api import Marking, run_quiz
from stepgrad.teach.quiz import Quiz
from stepgrad.teach.study import parts


def _session(net_or_spec, answers: dict[str, str], rules: dict[str, str] | None = None, spec: str | None = None):
    """Run a study session answering each blank from `answers` (s when absent) and each rule prompt by letter."""
    lines: list[str] = []

    def read(prompt: str) -> str:
        rule = re.match(r"\s+Which rule gives (\S+)\?  (.*): $", prompt)
        if rule:
            wanted = (rules or {}).get(rule.group(1))
            choices = dict((text, letter) for letter, text in re.findall(r"([a-c])\) (.+?)(?=  [a-c]\)|$)", rule.group(2)))
            return choices.get(wanted, "s") if wanted else "s"
        lines.append(prompt)
        return answers.get(prompt.removesuffix(" = "), "s")

    code = run_quiz(spec, marking=Marking(), study=True, read=read, write=lines.append)
    return code, "\n".join(lines)


def test_the_deck_walks_worked_faded_problem():
    exact = stepgrad.explain(stepgrad.builtin()).values
    rules = {"dE_total/dout_h1": "sum rule", "dE_total/dw5": "chain rule", "dout_o1/dnet_o1": "power rule"}
    blanks = ["w2+", "w6+", "dE_total/dw7", "dE_o1/dout_h2", "dE_o2/dout_h2", "dE_total/dout_h2",
              "dout_h2/dnet_h2", "dE_total/dw3", "w3+", "w7+"]
    code, out = _session(None, {n: f"{exact[n]:.9g}" for n in blanks}, rules)
    assert "== 1. Worked: w5, w1 ==" in out and "== 2. Faded: w6, w2" in out and "== 3. Problem: w7, w3 ==" in out
    assert "right: sum rule." in out and "right: chain rule." in out
    assert "not power rule: it is the activation's derivative." in out
    assert code == 0 and f"{len(blanks)} of {len(blanks)} blanks right" in out
    # a blank of part 3 computed from the student's own earlier answer is credited, and the feedback names it
    assert "correct, from your dE_total/dout_h2 = " in out


def test_a_wrong_answer_gets_a_diagnosis_and_a_hint_not_the_value():
    values = stepgrad.explain(stepgrad.builtin()).values
    one_path = values["dE_o1/dout_h2"]  # the hidden neuron's first path only: the classic slip
    slipped_dw3 = one_path * values["dout_h2/dnet_h2"] * values["i1"]  # carried forward by hand
    answers = {"dE_total/dout_h2": f"{one_path:.9g}", "dout_h2/dnet_h2": f"{values['dout_h2/dnet_h2']:.9g}",
               "dE_total/dw3": f"{slipped_dw3:.9g}"}
    code, out = _session(None, answers)
    assert code == 1
    wrong = out[out.index("dE_total/dout_h2 = "):]
    assert "wrong: one path only for a hidden neuron" in wrong and f"{values['dE_o2/dout_h2']:.6g}" not in wrong
    assert "hint: sum rule: dE_total/dout_h2 = dE_o1/dout_h2 + dE_o2/dout_h2." in wrong
    assert f"{values['dE_total/dout_h2']:.6g}"[:7] not in out.split("== 3.")[1]  # the right value is never shown
    assert re.search(r"follows: right from your dE_total/dout_h2 = \S+, dout_h2/dnet_h2 = \S+", out)


@pytest.mark.parametrize("key", [k for k in gallery.SMALL if k != "deck"])
def test_every_part_asks_something_new_on_the_gallery(tmp_path, key):
    net = gallery.network(key)
    found = parts(Quiz(net), net)
    assert all(steps for _, steps in found) and len({s.name for _, st in found for s in st}) == sum(len(st) for _, st in found)
    (tmp_path / "net.toml").write_text(stepgrad.core.persist.dumps(net))
    exact = stepgrad.explain(net).values
    names = [s.name for s in found[2][1]]
    code, out = _session(None, {n: repr(exact[n]) for n in names}, spec=str(tmp_path / "net.toml"))
    problem = out.split("== 3. Problem")[1].splitlines()
    asked = [line for line in problem if line.endswith(" = ")]
    assert asked and len([line for line in problem if line.startswith("  correct")]) == len(asked)
    assert code == 1  # the faded part's blanks were skipped


def test_study_refuses_only_and_save():
    with pytest.raises(stepgrad.StepgradError, match="study mode"):
        run_quiz(only="w5", study=True, read=lambda p: None, write=lambda t: None)
