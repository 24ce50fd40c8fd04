"""Sequence-model exercises (rnn, attention, layernorm, batchnorm): fair numbers, the same seed the same exercise,
a different one per student, keys `check` marks correct, and quizzes by teach/lms.py's writers.

Fairness is checked on values computed here independently of the generator's own test: the rnn's states by a
numpy tanh recurrence, the attention weights by a numpy softmax with and without the scale, the variances by
numpy over the group; the BPTT terms from those states."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.teach.check import check, solution
from stepgrad.teach.exercise_sequences import (
    KINDS,
    MAX_OUT_NET,
    MAX_TANH_NET,
    MIN_LATER_SHARE,
    MIN_MISS,
    MIN_SCALE_EFFECT,
    MIN_VARIANCE,
    WEIGHT_RANGE,
    generate_sequence,
    variants,
)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _spec_net(ex) -> LayerNetwork:
    return LayerNetwork.from_dict(json.loads(ex.files()["network.json"]))


@pytest.mark.parametrize("seed", range(4))
def test_rnn_numbers_are_fair_by_a_recurrence_computed_here(seed: int) -> None:
    spec = generate_sequence("rnn", seed).spec
    rnn, dense = spec["layers"][1], spec["layers"][2]
    wx, wh, b = (np.array(rnn[k]) for k in ("weights_x", "weights_h", "biases"))
    x = np.array(spec["samples"][0]["inputs"])
    h, states, nets = np.zeros(2), [np.zeros(2)], []
    for t in range(len(x)):
        nets.append(wx @ x[t] + wh @ h + b)
        h = np.tanh(nets[-1])
        states.append(h)
    assert np.abs(nets).max() <= MAX_TANH_NET
    out_net = np.array(dense["weights"]) @ h + np.array(dense["biases"])
    out = _sigmoid(out_net)
    target = np.array(spec["samples"][0]["targets"])
    assert np.abs(out_net).max() <= MAX_OUT_NET and np.abs(out - target).min() >= MIN_MISS
    # BPTT by hand: dE/dnet_h at each step, then each Wh entry's terms; the earlier steps matter
    d_h = (out - target) * out * (1 - out) @ np.array(dense["weights"])
    deltas = [None] * len(x)
    for t in reversed(range(len(x))):
        deltas[t] = d_h * (1 - np.tanh(nets[t]) ** 2)
        d_h = deltas[t] @ wh
    for j in range(2):
        for k in range(2):
            terms = [deltas[t][j] * states[t][k] for t in range(len(x))]
            assert abs(sum(terms) - terms[-1]) >= MIN_LATER_SHARE * abs(sum(terms))


@pytest.mark.parametrize("seed", range(4))
def test_attention_weights_are_spread_and_the_scale_shows(seed: int) -> None:
    spec = generate_sequence("attention", seed).spec
    head = spec["layers"][1]
    x = np.array(spec["samples"][0]["inputs"])
    q, k = x @ np.array(head["weights_q"]).T, x @ np.array(head["weights_k"]).T

    def weights(scale: float) -> np.ndarray:
        scores = scale * q @ k.T
        if head["causal"]:
            scores = np.where(np.triu(np.ones((3, 3), bool), 1), -np.inf, scores)
        e = np.exp(scores - scores.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    a = weights(1 / math.sqrt(2))
    for i in range(3):
        keys = a[i, :i + 1] if head["causal"] else a[i]
        if len(keys) > 1:
            assert WEIGHT_RANGE[0] <= keys.min() and keys.max() <= WEIGHT_RANGE[1]
    assert np.abs(weights(1.0)[-1] - a[-1]).max() >= MIN_SCALE_EFFECT


@pytest.mark.parametrize("kind", ["layernorm", "batchnorm"])
@pytest.mark.parametrize("seed", range(3))
def test_normalization_groups_have_a_real_variance(kind: str, seed: int) -> None:
    spec = generate_sequence(kind, seed).spec
    xs = np.array([s["inputs"] for s in spec["samples"]])
    if kind == "layernorm":
        assert xs.var(axis=1).min() >= MIN_VARIANCE
    else:
        dense = np.tanh(xs @ np.array(spec["layers"][1]["weights"]).T)
        assert np.abs(xs @ np.array(spec["layers"][1]["weights"]).T).max() <= MAX_TANH_NET
        assert dense.var(axis=0).min() >= MIN_VARIANCE  # over the batch of 3, each feature


@pytest.mark.parametrize("kind", KINDS)
def test_the_same_seed_the_same_exercise_and_the_key_is_marked_correct(kind: str) -> None:
    ex = generate_sequence(kind, 5)
    assert generate_sequence(kind, 5).spec == ex.spec and generate_sequence(kind, 6).spec != ex.spec
    answers = "\n".join(f"{s.name} = {s.value:.9g}" for s in ex.trace if s.text)
    report = check(_spec_net(ex), solution.loads(answers))
    asked = len([s for s in ex.trace if s.text])
    assert report.ok and report.counts["correct"] == asked
    template = ex.template()
    assert template.count(" = \n") == asked and "= 0" not in template  # blank: no value given away
    assert "seed 5" in ex.sheet() and "Forward pass" not in ex.sheet()


def test_a_slip_in_the_rnn_sheet_is_wrong_and_what_follows_follows() -> None:
    ex = generate_sequence("rnn", 2)
    values = {s.name: s.value for s in ex.trace if s.text}
    first = next(n for n in values if n.startswith("h1_t1["))
    student = dict(values)
    student[first] = values[first] + 0.01  # a slip at step 1
    report = check(_spec_net(ex), solution.loads("\n".join(f"{k} = {v:.9g}" for k, v in student.items())))
    verdicts = {r.name: r.verdict for r in report.results}
    assert verdicts[first] == "wrong" and not report.ok


def test_a_roster_gives_each_student_their_own_numbers(tmp_path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\ns1,Ada\ns2,Grace\ns3,Alan\n")
    made = variants("attention", str(roster))
    assert [sid for sid, _, _ in made] == ["s1", "s2", "s3"]
    assert len({json.dumps(ex.spec) for _, _, ex in made}) == 3
    assert variants("attention", str(roster))[1][2].spec == made[1][2].spec  # seeded by the id


def test_quizzes_come_from_the_lms_writers_one_category_per_student(tmp_path) -> None:
    from stepgrad.teach.lms import WRITERS, questions

    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\ns1,Ada\ns2,Grace\n")
    chosen = [(sid, ex) for sid, _, ex in variants("rnn", str(roster))]
    xml = WRITERS["moodle"](chosen, None)["quiz.xml"]
    assert xml.count("$course$/stepgrad/s1") == 1 and xml.count("$course$/stepgrad/s2") == 1
    ex = chosen[0][1]
    asked = questions(ex)
    assert [q.name for q in asked] == [s.name for s in ex.trace if s.text]
    for q in asked:  # the right answer is the trace's value, within the tolerance check accepts
        right = next(a for a in q.answers if a.fraction == 100)
        assert right.value == ex.trace.values[q.name]
    gift = WRITERS["gift"](chosen, None)["quiz.gift"]
    assert "Wh1[1,1]" in gift


def test_exercise_command_writes_the_files_and_refuses_what_it_cannot(tmp_path) -> None:
    from stepgrad.api.classroom import make_exercise
    from stepgrad.api.options import Problem
    from stepgrad.core.errors import StepgradError

    written: list[str] = []
    assert make_exercise(Problem(layers="batchnorm", seed=1), output=str(tmp_path / "bn"), note=written.append) == ""
    assert sorted(p.name for p in (tmp_path / "bn").iterdir()) == ["key.md", "network.json", "sheet.md",
                                                                   "solution-template.txt"]
    assert "Batch normalization exercise" in make_exercise(Problem(layers="batchnorm", seed=1))
    with pytest.raises(StepgradError, match="without rounding") as info:
        make_exercise(Problem(layers="rnn", round_to=4))
    assert "\n" not in str(info.value)


def test_a_class_of_sequence_variants_is_marked_against_each_students_network(tmp_path) -> None:
    import csv

    from stepgrad.api.classroom import check_solution, make_exercise
    from stepgrad.api.options import ClassOptions, Problem

    roster = tmp_path / "students.csv"
    roster.write_text("id,name\nanna,Anna A\nben,Ben B\n")
    make_exercise(Problem(layers="layernorm"), roster=str(roster), output=str(tmp_path / "v"))
    anna = (tmp_path / "v" / "students" / "anna" / "network.json").read_text()
    assert anna != (tmp_path / "v" / "students" / "ben" / "network.json").read_text()
    keys = {r["id"]: r for r in csv.DictReader((tmp_path / "v" / "keys.csv").open())}
    names = [n for n in keys["anna"] if n not in ("id", "name", "seed")]
    returned = tmp_path / "returned"
    returned.mkdir()
    (returned / "anna.txt").write_text("".join(f"{n} = {keys['anna'][n]}\n" for n in names))
    (returned / "ben.txt").write_text("".join(f"{n} = {keys['anna'][n]}\n" for n in names))  # Anna's numbers
    summary, _ = check_solution(str(returned), whole_class=ClassOptions(variants=str(tmp_path / "v"),
                                                                         gradebook=str(tmp_path / "marked")))
    rows = {r["student"]: r for r in csv.DictReader((tmp_path / "marked" / "gradebook.csv").open())}
    assert rows["anna"]["status"] == "pass" and rows["ben"]["status"] == "fail", summary
    assert rows["anna"]["name"] == "Anna A"


@pytest.mark.parametrize("fmt", ["latex", "html", "text"])
def test_sheet_and_key_in_every_format(fmt: str) -> None:
    ex = generate_sequence("attention", 4)
    files = ex.files(fmt)
    ext = {"latex": "tex", "html": "html", "text": "txt"}[fmt]
    assert set(files) == {f"sheet.{ext}", f"key.{ext}", "solution-template.txt", "network.json"}
    assert "Attention head exercise" in files[f"sheet.{ext}"]
    assert {"latex": "\\begin{document}", "html": "<!DOCTYPE html>", "text": "Key: Attention head"}[fmt] in (
        files[f"sheet.{ext}"] + files[f"key.{ext}"])


@pytest.mark.latex
def test_the_pdf_sheet_compiles(tmp_path) -> None:
    from conftest import require_tool
    from stepgrad.api.classroom import make_exercise
    from stepgrad.api.options import Problem

    require_tool("pdflatex")
    make_exercise(Problem(layers="rnn", seed=3), fmt="latex", output=str(tmp_path), pdf=True)
    assert (tmp_path / "sheet.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "key.tex").is_file()
