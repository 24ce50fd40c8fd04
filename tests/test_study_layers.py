"""`stepgrad quiz --study` on a conv network in the terminal (teach/study_layers.run): worked, faded, then a problem;
a slip in the problem's kernel gradient is wrong with a hint from the rule, and the new weight computed from it
follows, naming the student's value. The student's numbers are the exact values, or one slip carried by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stepgrad.api import run_quiz
from stepgrad.api.options import Marking
from stepgrad.core.errors import StepgradError
from stepgrad.teach.exercise_layers import generate_conv

CONV = generate_conv(seed=3)


def test_a_student_studies_a_conv_network_in_the_terminal(tmp_path: Path) -> None:
    spec = tmp_path / "cnn.json"
    spec.write_text(json.dumps(CONV.spec))
    values = CONV.trace.values
    gradient, entry = "dE_total/dk1[1,1,2,2]", "k1[1,1,2,2]"
    slipped = values[gradient] + 0.1
    answers = {gradient: f"{slipped:.6g}", f"{entry}+": f"{values[entry] - CONV.spec['learning_rate'] * slipped:.6g}"}
    asked: list[str] = []

    def read(prompt: str) -> str:
        if prompt.lstrip().startswith("Which rule"):
            return "a"
        name = prompt.removesuffix(" = ")
        asked.append(name)
        return answers.get(name, f"{values[name]:.9g}")

    lines: list[str] = []
    status = run_quiz(str(spec), study=True, read=read, write=lines.append)
    text = "\n".join(lines)
    assert lines[0] == ("stepgrad quiz --study: a worked example (w_d1[1,1], k1[1,1,1,1]), a faded one (w_d1[1,4], "
                        "k1[1,1,1,2]), then a problem (w_d1[2,3], k1[1,1,2,2]).")
    assert asked.count(gradient) == 2  # wrong, so a second try (the same slip again)
    assert f"  hint: the sum over positions: {gradient} = " in text
    assert f"follows: right from your {gradient} = {slipped:.6g}" in text
    assert status == 1 and lines[-1].strip() == f"{len(set(asked)) - 1} of {len(set(asked))} blanks right (or right from your " \
                                         "own earlier values)."


def test_options_that_do_not_apply_are_refused(tmp_path: Path) -> None:
    spec = tmp_path / "cnn.json"
    spec.write_text(json.dumps(CONV.spec))
    with pytest.raises(StepgradError, match="studied as it is"):
        run_quiz(str(spec), study=True, marking=Marking(round_to=4), read=lambda p: None, write=lambda line: None)
    with pytest.raises(StepgradError, match="layer tables"):  # the plain quiz walks dense networks
        run_quiz(str(spec), read=lambda p: None, write=lambda line: None)
