"""Faded worked examples on conv and sequence networks (`stepgrad exercise --layers conv|rnn|... --fade K`): worked on
one problem, faded on a second, then a third as the problem; marked by `stepgrad check` with error carried forward.

The students are simulated independently of stepgrad's engine: the conv student is tests/conv_students.py's plain-Python
hand calculation (with its slip switch), the rnn student a plain-Python BPTT written here. Each writes the faded sheet's
blanks into its solution template (whose worked values are given) and is marked as `stepgrad check` marks it.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from conv_students import Problem as ConvProblem
from conv_students import Slips, solve
from stepgrad.api import Problem, make_exercise
from stepgrad.core import names
from stepgrad.core.errors import StepgradError
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.formats.maps import ENTRIES, Table
from stepgrad.teach.check import Rules, check, loads
from stepgrad.teach.check.required import required
from stepgrad.teach.exercise_layers import SHAPES
from stepgrad.teach.fading_layers import KINDS, YOURS, LayerFaded, draw, require_rule, stages, worked_faded_problem
from stepgrad.teach.prompts_layers import RULES, layer_prompt


def _filled(faded: LayerFaded, answers: dict[str, float]) -> str:
    """The solution template with each blank answered from `answers` (6 significant digits, as a student writes)."""
    lines = []
    for line in faded.template().splitlines():
        name = line[:-2] if line.endswith(" =") else None
        lines.append(f"{line} {answers[name]:.6g}" if name in faded.blanks and name in answers else line)
    return "\n".join(lines) + "\n"


def _mark(faded: LayerFaded, text: str) -> dict[str, str]:
    net = LayerNetwork.from_dict(faded.exercise.spec)
    report = check(net, loads(text), rules=Rules(required=require_rule(faded.trace, faded.blanks)))
    assert not report.missing
    return {r.name: r.verdict for r in report.results}


def _conv_problem(spec: dict) -> ConvProblem:
    conv, pool, dense = spec["layers"][1], spec["layers"][2], spec["layers"][4]
    image = spec["samples"][0]["inputs"]
    image = [image] if not isinstance(image[0][0], list) else image
    return ConvProblem(inputs=[image], targets=[spec["samples"][0]["targets"]], kernel=conv["weights"], bias=conv["biases"],
                       stride=conv.get("stride", 1), padding=conv.get("padding", 0), pool=pool["type"][:3],
                       pool_kernel=pool["kernel"], pool_stride=pool["stride"], weights=dense["weights"],
                       dense_bias=dense["biases"], learning_rate=spec["learning_rate"], activation=conv["activation"])


def _conv_student(spec: dict, slips: Slips | None = None) -> dict[str, float]:
    """conv_students.solve's sheet with what it leaves out, by hand as well: the local derivatives (dout/dnet from
    out, dnet/dk as the input cell the weight met) and the dense layer's new weights."""
    p = _conv_problem(spec)
    sheet = solve(p, slips)
    for name, value in list(sheet.items()):
        if name.startswith("out_c1["):
            at = name[len("out_c1"):]
            sheet[f"dout_c1{at}/dnet_c1{at}"] = 1 - value ** 2 if p.activation == "tanh" else float(value > 0)
    x, k = p.inputs[0], len(p.kernel[0][0])
    positions = [tuple(int(v) - 1 for v in n[len("net_c1["):-1].split(",")) for n in sheet if n.startswith("net_c1[")]
    for o, r, c in positions:
        for i in range(len(x)):
            for a in range(k):
                for b in range(k):
                    row, col = r * p.stride + a - p.padding, c * p.stride + b - p.padding
                    if 0 <= row < len(x[0]) and 0 <= col < len(x[0][0]):
                        sheet[f"dnet_c1[{o + 1},{r + 1},{c + 1}]/dk1[{o + 1},{i + 1},{a + 1},{b + 1}]"] = x[i][row][col]
    pooled = [v for n, v in sheet.items() if n.startswith("out_p1[")]  # channel by channel, row by row: flatten's order
    for j, weights in enumerate(p.weights):
        delta = sheet[f"dE_total/dnet_d1[{j + 1}]"]
        for u, w in enumerate(weights):
            sheet[f"w_d1[{j + 1},{u + 1}]+"] = w - p.learning_rate * delta * pooled[u]
        sheet[f"b_d1[{j + 1}]+"] = p.dense_bias[j] - p.learning_rate * delta
    return sheet


@pytest.mark.parametrize("shape", SHAPES)
def test_the_conv_student_fills_the_blanks_and_is_marked_right(shape: str) -> None:
    faded = worked_faded_problem("conv", seed=11, fade=3, shape=shape).faded
    student = _conv_student(faded.exercise.spec)
    assert set(faded.blanks) <= set(student)
    verdicts = _mark(faded, _filled(faded, student))
    assert {verdicts[n] for n in faded.blanks} == {"correct"}
    assert all(v == "correct" for v in verdicts.values())


def test_a_conv_students_slip_in_a_blank_is_wrong_and_carried_forward() -> None:
    faded = worked_faded_problem("conv", seed=11, fade=3).faded
    slipped = "dE_total/dout_p1[1,1,2]"
    assert slipped in faded.blanks
    student = _conv_student(faded.exercise.spec, Slips(slip={slipped: 0.05}))
    verdicts = _mark(faded, _filled(faded, student))
    assert verdicts[slipped] == "wrong"
    follows = [n for n in faded.blanks if verdicts[n] == "follows"]
    assert follows and all(n.startswith(("dE_total/d", "k1", "b_c1")) for n in follows)
    assert {verdicts[n] for n in faded.blanks} <= {"correct", "follows", "wrong"}
    assert [n for n in faded.blanks if verdicts[n] == "wrong"] == [slipped]


def _rnn_student(spec: dict, slip: dict[str, float] | None = None) -> dict[str, float]:
    """A student's BPTT by hand (plain Python): an Elman rnn passing on its last state, a sigmoid unit, ½(t - out)²."""
    slip = slip or {}
    sheet: dict[str, float] = {}

    def put(name: str, value: float) -> float:
        sheet[name] = value + slip.get(name, 0.0)
        return sheet[name]

    rnn, dense = spec["layers"][1], spec["layers"][2]
    wx, wh, b = rnn["weights_x"], rnn["weights_h"], rnn["biases"]
    w, bd, eta = dense["weights"][0], dense["biases"][0], spec["learning_rate"]
    xs, target = spec["samples"][0]["inputs"], spec["samples"][0]["targets"][0]
    steps, units = len(xs), len(b)
    h = [[0.0] * units]
    for t in range(1, steps + 1):
        nets = [put(f"net_h1_t{t}[{j + 1}]", wx[j][0] * xs[t - 1][0] + sum(wh[j][k] * h[t - 1][k] for k in range(units))
                    + b[j]) for j in range(units)]
        h.append([put(f"h1_t{t}[{j + 1}]", math.tanh(n)) for j, n in enumerate(nets)])
    net = put("net_d1[1]", sum(w[j] * h[steps][j] for j in range(units)) + bd)
    out = put("out_d1[1]", 1 / (1 + math.exp(-net)))
    put("E_total", put("E_d1[1]", 0.5 * (target - out) ** 2))
    d_out = put("dE_total/dout_d1[1]", -(target - out))
    delta = put("dE_total/dnet_d1[1]", d_out * put("dout_d1[1]/dnet_d1[1]", out * (1 - out)))
    grads: dict[str, float] = {}
    for j in range(units):
        grads[f"w_d1[1,{j + 1}]"] = put(f"dE_total/dw_d1[1,{j + 1}]", delta * put(f"dnet_d1[1]/dw_d1[1,{j + 1}]", h[steps][j]))
    grads["b_d1[1]"] = put("dE_total/db_d1[1]", delta)
    d_net: dict[int, list[float]] = {}
    for t in range(steps, 0, -1):
        d_h = [delta * w[j] if t == steps else sum(d_net[t + 1][k] * wh[k][j] for k in range(units))
               for j in range(units)]
        d_net[t] = []
        for j in range(units):
            dh = put(f"dE_total/dh1_t{t}[{j + 1}]", d_h[j])
            slope = put(f"dh1_t{t}[{j + 1}]/dnet_h1_t{t}[{j + 1}]", 1 - h[t][j] ** 2)
            d_net[t].append(put(f"dE_total/dnet_h1_t{t}[{j + 1}]", dh * slope))
    for j in range(units):
        grads[f"Wx1[{j + 1},1]"] = put(f"dE_total/dWx1[{j + 1},1]", sum(d_net[t][j] * xs[t - 1][0] for t in range(1, steps + 1)))
        for k in range(units):
            grads[f"Wh1[{j + 1},{k + 1}]"] = put(f"dE_total/dWh1[{j + 1},{k + 1}]",
                                                 sum(d_net[t][j] * h[t - 1][k] for t in range(1, steps + 1)))
        grads[f"bh1[{j + 1}]"] = put(f"dE_total/dbh1[{j + 1}]", sum(d_net[t][j] for t in range(1, steps + 1)))
    old = {f"Wx1[{j + 1},1]": wx[j][0] for j in range(units)} | {f"bh1[{j + 1}]": b[j] for j in range(units)}
    old |= {f"Wh1[{j + 1},{k + 1}]": wh[j][k] for j in range(units) for k in range(units)}
    old |= {f"w_d1[1,{j + 1}]": w[j] for j in range(units)} | {"b_d1[1]": bd}
    for name, value in old.items():
        put(f"{name}+", value - eta * grads[name])
    return sheet


def test_the_rnn_student_is_marked_right_and_a_slip_is_carried_through_time() -> None:
    faded = worked_faded_problem("rnn", seed=4, fade=3).faded
    student = _rnn_student(faded.exercise.spec)
    assert set(faded.blanks) <= set(student)
    assert set(_mark(faded, _filled(faded, student)).values()) == {"correct"}
    steps = faded.exercise.spec["layers"][0]["steps"]
    slipped = f"dE_total/dh1_t{steps}[1]"
    verdicts = _mark(faded, _filled(faded, _rnn_student(faded.exercise.spec, {slipped: 0.03})))
    assert verdicts[slipped] == "wrong"
    assert verdicts["dE_total/dWh1[1,1]"] == "follows" and verdicts["Wh1[1,1]+"] == "follows"
    assert verdicts["dE_total/dh1_t1[1]"] == "follows"  # the slip carried back through time
    assert verdicts["dE_total/dw_d1[1,1]"] == "correct"  # not computed from the slip


@pytest.mark.parametrize("kind", KINDS)
def test_the_blanks_are_exactly_the_keys_quantities_and_fade_backwards(kind: str, tmp_path: Path) -> None:
    make_exercise(Problem(layers=kind, seed=2, fade=2), output=str(tmp_path))
    faded = worked_faded_problem(kind, seed=2, fade=2).faded
    key = dict(line.split(" = ") for line in (tmp_path / "2-faded" / "faded-key-values.txt").read_text().splitlines())
    assert tuple(key) == faded.blanks
    template = (tmp_path / "2-faded" / "solution-template.txt").read_text().splitlines()
    assert [line[:-2] for line in template if line.endswith(" =")] == list(faded.blanks)
    last_two = stages(faded.trace)[-2:]  # backward fading: the last stages are the blank ones
    assert list(faded.blanks) == [s.name for sec in last_two for s in sec.steps if s.text]
    toml = (tmp_path / "2-faded" / "check.toml").read_text()
    rule = toml.split('require = "')[1].split('"')[0]
    assert required(faded.trace, rule) == list(faded.blanks)
    answered = "".join(line + (f" {key[line[:-2]]}" if line.endswith(" =") else "") + "\n" for line in template)
    verdicts = _mark(faded, answered)
    assert set(verdicts.values()) == {"correct"} and len(verdicts) == sum(1 for s in faded.trace if s.text)
    seeds = [int(p.split("seed ")[1].split(")")[0]) for p in
             [(tmp_path / "1-worked" / "worked.md").read_text().splitlines()[0],
              (tmp_path / "2-faded" / "faded.md").read_text().splitlines()[0],
              (tmp_path / "3-problem" / "sheet.md").read_text().splitlines()[0]]]
    assert seeds == [2, 3, 4]  # three different problems


@pytest.mark.parametrize("kind", KINDS)
def test_a_worked_stage_never_shows_a_blanks_value(kind: str) -> None:
    exercise = draw(kind, 5)
    for count in range(1, len(stages(exercise.trace))):
        faded = LayerFaded(exercise, count)
        blank = set(faded.blanks)
        text = faded.sheet("text")
        assert not [name for name in blank if f"{name} = " in text], count  # no blank derived
        for block in faded.items():
            if isinstance(block, Table) and block.header == ENTRIES:  # the other entries: value, gradient, new value
                for row in block.rows:
                    for cell, name in zip(row[2:], (names.gradient(row[0]), names.updated(row[0]))):
                        assert cell == YOURS if name in blank else cell != YOURS
            elif isinstance(block, Table) and block.header != ("quantity", "your value"):
                for row in block.rows:
                    assert not any(cell in blank and row[k + 1] != YOURS for k, cell in enumerate(row[:-1]))


def test_every_worked_line_has_a_prompt_from_the_layer_rules() -> None:
    for kind in KINDS:
        worked = worked_faded_problem(kind, seed=1).worked
        assert worked.prompts and len(worked.prompts) == len(worked.shown)
        text = worked.sheet("text")
        for p in worked.prompts:
            assert p.rule in RULES and p.choices[p.answer] == p.rule and f"Which rule gives {p.name}?" in text
    trace = worked_faded_problem("conv", seed=1, shape="avgpool").worked.trace
    rules = {layer_prompt(trace, s).rule for s in trace if s.text}
    assert {"cross-correlation", "the window's mean", "the average pool's share", "flatten", "the sum over positions",
            "gradient descent"} <= rules


def test_a_roster_gives_each_student_their_own_set_and_a_class_is_marked(tmp_path: Path) -> None:
    import csv

    from stepgrad.api import check_solution
    from stepgrad.api.options import ClassOptions

    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\nanna,Anna A\nben,Ben B\n")
    week = tmp_path / "week"
    make_exercise(Problem(layers="attention", fade=3), roster=str(roster), output=str(week))
    specs = [(week / "2-faded" / "students" / sid / "network.json").read_text() for sid in ("anna", "ben")]
    assert specs[0] != specs[1]
    for part, sheet in (("1-worked", "worked.md"), ("2-faded", "faded.md"), ("3-problem", "sheet.md")):
        for sid in ("anna", "ben"):
            home = week / part / "students" / sid
            assert (home / sheet).is_file() and not list(home.rglob("*key*"))  # the keys stay with the teacher
    keys = {r["id"]: r for r in csv.DictReader((week / "2-faded" / "keys.csv").open())}
    returned = tmp_path / "returned"
    returned.mkdir()
    for sid, numbers in (("anna", "anna"), ("ben", "anna")):  # Ben hands in Anna's numbers
        template = (week / "2-faded" / "students" / sid / "solution-template.txt").read_text().splitlines()
        (returned / f"{sid}.txt").write_text("".join(
            line + (f" {keys[numbers][line[:-2]]}" if line.endswith(" =") else "") + "\n" for line in template))
    check_solution(str(returned), whole_class=ClassOptions(variants=str(week / "2-faded"),
                                                            gradebook=str(tmp_path / "marked")))
    rows = {r["student"]: r for r in csv.DictReader((tmp_path / "marked" / "gradebook.csv").open())}
    assert rows["anna"]["status"] == "pass" and rows["ben"]["status"] == "fail"


def test_one_clear_line_for_what_is_not_made() -> None:
    with pytest.raises(StepgradError, match="find-the-error"):
        make_exercise(Problem(layers="rnn", find_error=1))
    with pytest.raises(StepgradError, match="stages"):
        make_exercise(Problem(layers="layernorm", fade=20))
    with pytest.raises(StepgradError, match="-o DIR"):
        make_exercise(Problem(layers="conv", fade=2), pdf=True)


def test_the_faded_example_as_a_moodle_quiz() -> None:
    xml = make_exercise(Problem(layers="batchnorm", seed=1, fade=2), fmt="moodle")
    faded = worked_faded_problem("batchnorm", seed=1, fade=2).faded
    assert xml.count('type="numerical"') == len(faded.blanks)
    assert xml.count('type="multichoice"') == len(faded.prompts)


@pytest.mark.latex
def test_the_three_parts_compile_to_pdf(tmp_path: Path) -> None:
    from conftest import require_tool

    require_tool("pdflatex")
    for kind in ("conv", "attention"):
        make_exercise(Problem(layers=kind, seed=1, fade=3), fmt="latex", pdf=True, output=str(tmp_path / kind))
        for part in ("1-worked/worked.pdf", "2-faded/faded.pdf", "3-problem/sheet.pdf"):
            assert (tmp_path / kind / part).read_bytes().startswith(b"%PDF")


def test_every_layer_rule_is_asked_somewhere() -> None:
    """Every rule of prompts_layers.RULES is the answer to some step of the conv and sequence galleries (random conv,
    pooling and residual networks in both convolution modes; rnn, attention with and without its scale, norms)."""
    import copy

    from conv_gallery import random_spec
    from seq_trace_gallery import GALLERY
    from stepgrad.teach.prompts_layers import layer_rule
    from stepgrad.tracing.layered import explain_layers

    unscaled = copy.deepcopy(GALLERY["attention_causal"])
    next(layer for layer in unscaled["layers"] if layer["type"] == "attention")["scale"] = False
    found: set[str] = set()
    # random conv gallery networks 2 (cross-correlation, average pool, a residual block) and 13 (true convolution,
    # max and average pools, a residual block)
    for spec in (random_spec(2), random_spec(13), *GALLERY.values(), unscaled):
        trace = explain_layers(LayerNetwork.from_dict(copy.deepcopy(spec)))
        found |= {layer_rule(trace, s) for s in trace if s.text}
    assert found == set(RULES)
