"""Faded worked examples: every blank marked correct when answered exactly, follows when answered consistently
from an earlier slip (computed by the engine on the slipped weights), a prompt for every rule, every format."""

from __future__ import annotations

import re

import numpy as np
import pytest

import gallery
import stepgrad
from conftest import require_tool, slow_after
from stepgrad.api import Problem, check_solution, make_exercise
from stepgrad.core.functions import ACTIVATIONS, LOSSES
from stepgrad.core.spec import Network
from stepgrad.teach.exercise import generate
from stepgrad.teach.fading import fade, sequence, stages
from stepgrad.teach.prompts import RULES, prompt
from stepgrad.tracing.derive import derive


def _fill(template: str, values: dict[str, float]) -> str:
    return re.sub(r"^(\S+)(\s+)=$", lambda m: f"{m.group(1)}{m.group(2)}= {values[m.group(1)]!r}", template, flags=re.M)


def _check(folder, solution: str):
    (folder / "solution.txt").write_text(solution)
    import json

    report, ok = check_solution(str(folder / "solution.txt"), spec=str(folder / "network.toml"), fmt="json")
    return json.loads(report), ok


@pytest.mark.parametrize("count", [1, 3, 7])
def test_blanks_answered_exactly_are_correct_and_pass(tmp_path, count):
    make_exercise(Problem(seed=7, fade=count), output=str(tmp_path))
    faded = fade(generate(seed=7), count)
    template = (tmp_path / "solution-template.txt").read_text()
    assert template.count("\n") > 40
    values = stepgrad.explain(stepgrad.load(str(tmp_path / "network.toml"))).values  # the engine's, not the sheet's
    report, ok = _check(tmp_path, _fill(template, values))
    assert ok, report["summary"]
    verdicts = {r["name"]: r["verdict"] for r in report["results"]}
    assert all(verdicts[name] == "correct" for name in faded.blanks)
    # the blank template (only the worked values written) does not pass: the blanks are required
    report, ok = _check(tmp_path, template)
    assert not ok and {r["name"] for r in report["results"] if r["verdict"] == "unanswered"} == set(faded.blanks)


def test_blank_after_a_slip_follows(tmp_path):
    """A slip in w1+ carried into the forward pass with the new weights: marked follows, not wrong."""
    make_exercise(Problem(seed=7, fade=3), output=str(tmp_path))
    net = stepgrad.load(str(tmp_path / "network.toml"))
    values = dict(stepgrad.explain(net).values)
    values["w1+"] += 0.01  # the slip
    weights = [np.array([[values[f"w{4 * l + 2 * j + i + 1}+"] for i in range(2)] for j in range(2)]) for l in range(2)]
    moved = Network.from_dict({**net.to_dict(), "weights": [w.tolist() for w in weights]}, "<slipped>")
    after = stepgrad.explain(moved).values  # the engine's forward pass on the student's new weights
    for name in ("net_h1", "net_h2", "out_h1", "out_h2", "net_o1", "net_o2", "out_o1", "out_o2", "E_o1", "E_o2", "E_total"):
        values[name + "+"] = after[name]
    report, ok = _check(tmp_path, _fill((tmp_path / "solution-template.txt").read_text(), values))
    verdicts = {r["name"]: r["verdict"] for r in report["results"]}
    assert verdicts["w1+"] == "wrong"
    assert verdicts["net_h1+"] == "follows" and verdicts["E_total+"] == "follows"
    assert all(verdicts[f"w{k}+"] == "correct" for k in range(2, 9))
    # every blank: right, or carried forward when the slip moved it
    exact = stepgrad.explain(net).values
    blanks = [n for n in fade(generate(seed=7), 3).blanks if n != "w1+"]
    moved = [n for n in blanks if abs(values[n] - exact[n]) > 1e-9 * max(abs(exact[n]), 1e-9)]
    # w1 feeds h1, h1 feeds both outputs: everything after the update but h2's own values moves
    assert set(moved) == {"net_h1+", "out_h1+", "net_o1+", "net_o2+", "out_o1+", "out_o2+", "E_o1+", "E_o2+", "E_total+"}
    assert all(verdicts[n] == "follows" for n in moved)
    assert all(verdicts[n] == "correct" for n in blanks if n not in moved)


def _derivation_rules():
    found = [(f"activation {name}", rule) for name, entry in ACTIVATIONS.items() for rule, _, _ in entry.derivation]
    found += [(f"loss {name}", rule) for name, entry in LOSSES.items() for rule, _, _ in entry.derivation]
    return found


@pytest.mark.parametrize("key", gallery.SMALL)
def test_every_derived_step_of_the_gallery_has_a_prompt(key):
    trace = derive(stepgrad.explain(gallery.network(key)))
    prompts = [prompt(s) for s in trace if s.text]
    assert len(prompts) == sum(1 for s in trace if s.text)
    for p in prompts:
        assert p.choices[p.answer] == p.rule and len(set(p.choices)) == 3 and p.why.endswith("?")
    # a local derivative with a derivation line (a registry entry's named rule) is asked about its rule
    derived = [s for s in trace if s.derivation]
    assert derived and all(prompt(s).rule in ("power rule", "the activation's derivative", "the loss's derivative")
                           for s in derived)


def test_every_rule_has_its_distractors():
    for rule, others in RULES.items():
        assert rule not in others and all(o in RULES for o in others), rule
    assert _derivation_rules()  # every registry entry's derivation rule is reached through its step kind


def test_sequence_fades_one_stage_more_each():
    ex = generate(seed=3)
    sheets = sequence(ex)
    assert [f.fade for f in sheets] == list(range(len(stages(ex.trace)) + 1))
    blanks = [set(f.blanks) for f in sheets]
    assert blanks[0] == set() and all(a < b for a, b in zip(blanks, blanks[1:]))
    assert not sheets[-1].prompts  # the last is the problem alone


def test_fade_out_of_range_is_one_line():
    with pytest.raises(stepgrad.StepgradError, match="fade 0 to 7"):
        fade(generate(seed=7), 9)


@pytest.mark.parametrize("fmt", ["markdown", "html", "latex"])
def test_every_format_holds_the_prompts_and_the_blanks(fmt):
    sheet = fade(generate(seed=7, layers=(2, 3, 2), activation="tanh"), 2).sheet(fmt)
    assert "Which rule gives" in sheet and "E_total+ = ____________" in sheet
    assert "<script" not in sheet


@pytest.mark.latex
def test_the_latex_sheet_compiles(tmp_path):
    require_tool("pdflatex")
    make_exercise(Problem(seed=5, layers="2-3-2", activation="relu", fade=2), fmt="latex", output=str(tmp_path),
                  pdf=True)
    assert (tmp_path / "faded.pdf").read_bytes().startswith(b"%PDF")


def test_sequence_folders(tmp_path):
    make_exercise(Problem(seed=7, fade_sequence=True), output=str(tmp_path))
    folders = sorted(p.name for p in tmp_path.iterdir() if p.is_dir())
    assert folders == [f"fade-{k}" for k in range(8)]
    assert "require = \"none\"" in (tmp_path / "fade-0" / "check.toml").read_text()


def test_moodle_and_qti_exports(tmp_path):
    xml = make_exercise(Problem(seed=7, fade=2), fmt="moodle")
    assert xml.count('type="multichoice"') > 30 and xml.count('type="numerical"') == 11
    pytest.importorskip("text2qti")
    make_exercise(Problem(seed=7, fade=2), fmt="qti", output=str(tmp_path))
    assert (tmp_path / "quiz-qti.zip").stat().st_size > 1000


def _network(hidden: str, output: str, loss: str) -> Network | None:
    data = {"layers": [2, 2, 2], "activations": [hidden, output], "loss": loss, "learning_rate": 0.5,
            "weights": [[[0.15, 0.2], [0.25, 0.3]], [[0.4, 0.45], [0.5, 0.55]]], "biases": [0.35, 0.6],
            "samples": [{"inputs": [0.05, 0.1], "targets": [1.0, 0.0] if output == "softmax" else [0.01, 0.99]}]}
    try:
        return Network.from_dict(data, "<prompt test>")
    except stepgrad.StepgradError:
        return None


@pytest.mark.parametrize("name", [n for n, e in ACTIVATIONS.items() if e.hidden_ok])
def test_every_activations_derivation_is_asked_about(name):
    trace = derive(stepgrad.explain(_network(name, "sigmoid", "half_squared_error")))
    derived = [s for s in trace if s.derivation and "h1" in s.name and s.name.startswith("dout")]
    for step in derived:
        p = prompt(step)
        assert p.rule == "the activation's derivative" and step.derivation[0].rule.split(" on ")[0] in p.why, name


@pytest.mark.parametrize("loss", list(LOSSES))
def test_every_losss_derivation_is_asked_about(loss):
    net = next(filter(None, (_network("sigmoid", out, loss) for out in ("sigmoid", "softmax", "linear"))), None)
    assert net is not None, f"no output activation takes {loss}"
    trace = derive(stepgrad.explain(net))
    first = [s for s in trace if s.text and s.kind in ("partial", "delta") and "o1" in s.name][0]
    assert prompt(first).rule in ("the loss's derivative", "the activation's derivative"), (loss, first.name)
    assert all(prompt(s).choices[prompt(s).answer] == prompt(s).rule for s in trace if s.text)


def test_chosen_quantities_blank(tmp_path):
    make_exercise(Problem(seed=7, fade_names="dE_total/dw*,w5+"), output=str(tmp_path))
    faded = fade(generate(seed=7), names="dE_total/dw*,w5+")
    assert faded.blanks == tuple(f"dE_total/dw{k}" for k in (5, 6, 7, 8, 1, 2, 3, 4)) + ("w5+",)
    sheet = (tmp_path / "faded.md").read_text()
    assert "dE_total/dw5 = ____________" in sheet and "Which rule gives w6+?" in sheet and "Which rule gives w5+?" not in sheet
    values = stepgrad.explain(stepgrad.load(str(tmp_path / "network.toml"))).values
    report, ok = _check(tmp_path, _fill((tmp_path / "solution-template.txt").read_text(), values))
    assert ok and sum(r["verdict"] == "correct" for r in report["results"]) > 40
    with pytest.raises(stepgrad.StepgradError, match="no quantity"):
        fade(generate(seed=7), names="w99+")
    with pytest.raises(stepgrad.StepgradError, match="choose one kind"):
        Problem(fade=2, fade_names="w5+")


@pytest.mark.parametrize("key", slow_after(1, [k for k in gallery.SMALL if k != "deck"]))
def test_the_gallery_faded_after_the_update(key):
    """The gallery's networks faded from the new weights on: exact answers correct; a slip in the first new weight
    carried into the forward pass with the new weights (the engine's, on the student's weights) follows."""
    from stepgrad.core import names
    from stepgrad.teach.check import check, loads
    from stepgrad.teach.exercise import Exercise

    net = gallery.network(key)
    faded = fade(Exercise(0, net, stepgrad.explain(net)), 3)
    values = dict(stepgrad.explain(net).values)
    report = check(net, loads(_fill(faded.template(), values)), rules=_rules(faded))
    assert report.ok, report.summary()
    where = names.layout(net.layers, net.shared_biases)
    first = where.weights[0][0][0]
    values[f"{first}+"] *= 1.05  # the slip
    data = net.to_dict()
    data["weights"] = [[[values[f"{w}+"] for w in row] for row in layer] for layer in where.weights]
    if net.update_biases:
        data["biases"] = [[values[f"{b}+"] for b in layer] for layer in where.biases]
    after = stepgrad.explain(Network.from_dict(data, "<slipped>")).values
    for s in faded.trace:
        parts = names.parse(s.name)
        if s.name in faded.blanks and parts.after and parts.kind in ("net", "out", "error"):
            values[s.name] = after[str(parts.but(after=False))]
    verdicts = {r.name: r.verdict for r in check(net, loads(_fill(faded.template(), values)), rules=_rules(faded)).results}
    assert verdicts[f"{first}+"] == "wrong"
    assert verdicts[names.error(after=True)] == "follows", key
    assert all(v in ("correct", "follows") for n, v in verdicts.items() if n != f"{first}+"), key


def _rules(faded):
    from stepgrad.teach.check import Rules

    return Rules(required=tuple(b.replace("[", "[[]") for b in faded.blanks))


@pytest.mark.parametrize("reduction,rule", [("mean", "mean over the samples"), ("sum", "sum over the samples")])
def test_the_batch_rule_follows_the_reduction(reduction, rule):
    net = gallery.network("3-4-2 tanh/softmax CE, 2 samples")
    trace = stepgrad.explain(Network.from_dict({**net.to_dict(), "reduction": reduction}, "<batch>"))
    assert prompt(trace.step("dE_total/dw13")).rule == rule == prompt(trace.step("E_total")).rule
