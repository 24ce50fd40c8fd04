"""`check --round K` on layer-table networks (conv, pool, residual; rnn, attention, normalization): a student who
rounds every value to K decimals and carries it on is marked correct everywhere, never wrong.

Two kinds of simulated students, both independent of the checker:
- the replaying student (rounded_students.py's way): each step's formula text (the trace's, itself tested against
  PyTorch and finite differences) evaluated with Python's own math on the student's rounded numbers, rounded half up
  as a calculator's digits show, written with K decimals; the error after the update from a forward pass with the
  student's rounded new parameters, computed the same way;
- the hand-calculating student of conv_students.py (plain loops over nested lists), rounding what they write.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest

from conv_gallery import STRIDED, random_spec
from rounded_students import evaluate
from seq_gallery import random_attention_spec, random_norm_spec, random_rnn_spec
from seq_trace_gallery import GALLERY as SEQ_GALLERY
from stepgrad.core.errors import StepgradError
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.teach.check import check, solution
from stepgrad.tracing.layered import explain_layers


def rounded(x: float, k: int) -> float:
    return float(Decimal(f"{x:.15g}").quantize(Decimal(1).scaleb(-k), ROUND_HALF_UP))


def replay(trace, k: int, v: dict[str, float] | None = None) -> dict[str, float]:
    """Every step's value as the student computes it: the formula on their rounded values, rounded."""
    v = {} if v is None else v
    for step in trace:
        v[step.name] = rounded(evaluate(step.text, v), k) if step.text else step.value
    return v


def student(net: LayerNetwork, k: int) -> tuple[str, dict[str, float]]:
    """(the sheet, every value) of the replaying student."""
    trace = explain_layers(net)
    v = replay(trace, k)
    params = {}
    for layer in net.all_layers():
        for role, array in layer.params.items():
            new = np.array(array, dtype=float)
            for index in np.ndindex(*array.shape):
                name = layer.parameter_name(role, tuple(i + 1 for i in index)) + "+"
                new[index] = v.get(name, new[index])
            params[(layer.label, role)] = new
    again = explain_layers(net.with_parameters(params))
    forward = [s for s in again if not s.name.startswith("d") and "+" not in s.name and s.name != "E_total+"]
    if "E_total+" in v:
        v["E_total+"] = replay(forward, k)["E_total"]
    written = [s.name for s in trace if s.text or s.name == "E_total+"]
    return "\n".join(f"{n} = {v[n]:.{k}f}" for n in written) + "\n", v


def ties_by_rounding(net: LayerNetwork, v: dict[str, float]) -> bool:
    """Whether the student's rounded values tie a max-pool window that the exact values do not (refused)."""
    trace = explain_layers(net)
    for step in trace:
        if step.text.startswith("max("):
            cells = step.operands
            top = [c for c in cells if v[c] == max(v[c] for c in cells)]
            exact = [c for c in cells if trace.values[c] == max(trace.values[c] for c in cells)]
            if top != exact:
                return True
    return False


def kink_by_rounding(net: LayerNetwork, v: dict[str, float]) -> bool:
    """Whether the student's rounded values put a value exactly on a kink (a ReLU's net of 0) that the exact value is
    off, where the two sides of the step's formula differ."""
    import re

    trace = explain_layers(net)
    for step in trace:
        for name in re.findall(r"if «([^»]+)» > 0", step.text):
            if v[name] == 0 and trace.values[name] != 0 and \
                    evaluate(step.text, {**v, name: 1e-300}) != evaluate(step.text, {**v, name: -1e-300}):
                return True
    return False


def conv_specs() -> dict[str, dict]:
    specs = {"strided, residual, avgpool": STRIDED}
    # small ones of conv_gallery's (1-d and 2-d, max and average pools, residual blocks), a batch of 2
    specs.update({f"random conv {seed}": random_spec(seed) for seed in (1, 2, 3, 8, 11, 12)})
    specs["random conv 3, 2 samples"] = random_spec(3, samples=2)
    return specs


def seq_specs() -> dict[str, dict]:
    specs = {f"gallery {key}": spec for key, spec in SEQ_GALLERY.items()}
    specs.update({f"rnn {seed}": random_rnn_spec(seed, truncate=False) for seed in (0, 1, 2)})
    specs.update({f"attention {seed}": random_attention_spec(seed) for seed in (0, 1, 2)})
    specs.update({f"norm {seed}": random_norm_spec(seed) for seed in (0, 1, 3)})
    return specs


SPECS = {**conv_specs(), **seq_specs()}


@pytest.mark.parametrize("k", [2, 3, 4, 6])
@pytest.mark.parametrize("key", list(SPECS))
def test_a_student_rounding_every_value_is_correct(key: str, k: int) -> None:
    net = LayerNetwork.from_dict(SPECS[key])
    sheet, values = student(net, k)
    try:
        report = check(net, solution.loads(sheet), round_to=k)
    except StepgradError as exc:  # a tie or a kink rounding makes: refused in one line, never marked
        assert "\n" not in str(exc)
        assert ties_by_rounding(net, values) if "ties" in str(exc) else kink_by_rounding(net, values)
        return
    bad = {r.name: (r.given, r.verdict, r.expected, r.diagnosis) for r in report.results if r.verdict != "correct"}
    assert not bad
    assert report.ok and report.meta["round_to"] == k


@pytest.mark.parametrize("key", ["strided, residual, avgpool", "gallery rnn_last", "gallery attention_causal"])
def test_the_same_sheet_unrounded_is_not_marked_correct_everywhere(key: str) -> None:
    """The rounded world is not the exact one: at 2 decimals some carried values differ from the exact step."""
    net = LayerNetwork.from_dict(SPECS[key])
    sheet, _ = student(net, 2)
    exact = check(net, solution.loads(sheet))
    assert exact.counts["wrong"] == 0
    rounded_key = check(net, solution.loads(sheet), round_to=2)
    assert rounded_key.counts["correct"] == len(rounded_key.results)
    trace = explain_layers(net)
    _, values = student(net, 2)
    assert any(abs(values[s.name] - s.value) > 0.006 for s in trace if s.text)  # the drift is real


def test_a_wrong_value_in_rounded_mode_is_wrong_and_what_follows_follows() -> None:
    net = LayerNetwork.from_dict(STRIDED)
    trace = explain_layers(net)
    first = next(s.name for s in trace if s.name.startswith("net_c1"))
    v: dict[str, float] = {}
    for step in trace:
        v[step.name] = rounded(evaluate(step.text, v), 3) if step.text else step.value
        if step.name == first:
            v[first] += 0.2
    sheet = "\n".join(f"{s.name} = {v[s.name]:.3f}" for s in trace if s.text and s.name != "E_total+")
    report = check(net, solution.loads(sheet), round_to=3)
    got = {r.name: r.verdict for r in report.results}
    assert got[first] == "wrong"
    assert sum(v == "wrong" for v in got.values()) == 1
    # what follows from it is credited; at 3 decimals a carried value may coincide with an operand or be 0 (the
    # checker's cap on trivial routes): close then, never wrong
    assert sum(v == "follows" for v in got.values()) > 40 and sum(v == "close" for v in got.values()) <= 3


TIE = {"activation": "linear", "loss": "half_squared_error", "learning_rate": 0.5,
       "layers": [{"type": "input", "shape": [1, 2, 2]},
                  {"type": "conv2d", "out_channels": 1, "kernel": 1, "bias": False, "weights": [[[[1.0]]]]},
                  {"type": "maxpool", "kernel": 2, "stride": 2}, {"type": "flatten"},
                  {"type": "dense", "neurons": 1, "activation": "sigmoid", "weights": [[0.6]], "biases": [0.1]}],
       "samples": [{"inputs": [[0.501, 0.504], [0.2, 0.3]], "targets": [0.9]}]}


def test_a_tie_made_by_rounding_is_refused_in_one_line() -> None:
    """0.501 and 0.504 are one maximum exactly, a tie at 2 decimals (0.50 = 0.50): the student's rule gives the
    gradient to the first cell, the exact route to the second; no marking is exact: refused in one line."""

    net = LayerNetwork.from_dict(TIE)
    sheet, _ = student(net, 3)
    assert check(net, solution.loads(sheet), round_to=3).ok  # at 3 decimals the cells stay apart
    with pytest.raises(StepgradError, match="ties") as refused:
        check(net, solution.loads("net_c1[1,1,1] = 0.50"), round_to=2)
    assert "\n" not in str(refused.value) and "--round 3" in str(refused.value)


@pytest.mark.slow
def test_the_cli_refuses_a_tie_made_by_rounding_with_status_2() -> None:
    import json
    import tempfile
    from pathlib import Path

    from conftest import run_cli

    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "tie.json"
        spec.write_text(json.dumps(TIE))
        proc = run_cli("check", "-", "--network", str(spec), "--round", "2", input="net_c1[1,1,1] = 0.50\n")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "--round 3" in proc.stderr


@pytest.mark.parametrize("k", [2, 3, 4])
@pytest.mark.parametrize("variant", [{}, {"pool": "avg"}, {"residual": True}, {"samples": 2}, {"stride": 1, "padding": 0}])
def test_the_hand_calculating_conv_student_rounding_every_value_is_correct(variant: dict, k: int) -> None:
    """conv_students.py's student (plain loops, no stepgrad) writing every value rounded to k decimals."""
    from conv_students import Slips, solve
    from test_conv_students import problem

    p = problem(**variant)
    net = LayerNetwork.from_dict(p.spec())
    sheet = solve(p, Slips(round_to=k, write_flatten=True))
    report = check(net, solution.loads("\n".join(f"{n} = {v:.{k}f}" for n, v in sheet.items())), round_to=k)
    assert report.answered == len(sheet)
    bad = {r.name: (r.given, r.verdict, r.expected) for r in report.results if r.verdict != "correct"}
    assert not bad


KINK = {"loss": "half_squared_error", "learning_rate": 0.5,
        "layers": [{"type": "input", "shape": [1, 1, 2]},
                   {"type": "conv2d", "out_channels": 1, "kernel": 1, "activation": "relu", "weights": [[[[1.0]]]],
                    "biases": [0.0]},
                   {"type": "flatten"},
                   {"type": "dense", "neurons": 1, "activation": "sigmoid", "weights": [[0.6, -0.4]], "biases": [0.1]}],
        "samples": [{"inputs": [[0.0003, 0.5]], "targets": [0.9]}]}


def test_a_relu_net_rounded_onto_its_kink_is_refused_in_one_line() -> None:
    """net_c1[1,1,1] = 0.0003 is 0.000 at 3 decimals: relu's derivative there (1 or 0) is the student's guess."""
    net = LayerNetwork.from_dict(KINK)
    with pytest.raises(StepgradError, match="kink") as refused:
        check(net, solution.loads("net_c1[1,1,1] = 0.000"), round_to=3)
    assert "\n" not in str(refused.value) and "--round 4" in str(refused.value)
    sheet, _ = student(net, 4)
    assert check(net, solution.loads(sheet), round_to=4).ok


ROUNDED_MISTAKES = [({}, {"flip": True}, "kernel_flipped"), ({}, {"pool_route": "all"}, "maxpool_all_cells"),
                    ({"pool": "avg"}, {"avg_unscaled": True}, "avgpool_without_scale"),
                    ({"residual": True}, {"skip_forgotten": True}, "skip_gradient_forgotten"),
                    ({}, {"channels_summed": True}, "channels_summed"), ({}, {"backward_padding": 0}, "padding_off"),
                    ({}, {"backward_stride": 1}, "stride_off"),
                    ({}, {"flatten": "columns", "write_flatten": True}, "flatten_order"),
                    ({"samples": 2}, {"batch_summed": True}, "batch_mean_vs_sum")]


@pytest.mark.parametrize("k", [3, 4])
@pytest.mark.parametrize(("variant", "slip", "key"), ROUNDED_MISTAKES, ids=[m[2] for m in ROUNDED_MISTAKES])
def test_each_classic_mistake_is_named_in_rounded_work(variant: dict, slip: dict, key: str, k: int) -> None:
    """conv_students' students with one classic mistake each, rounding every value to k decimals: marked with
    --round k, the mistake is named where it enters (the sum a mistake gives rounded once, as the student rounds
    it), what follows from it follows, and nothing is wrong without a name."""
    from conv_students import Slips, solve
    from test_conv_students import problem

    p = problem(**variant)
    sheet = solve(p, Slips(round_to=k, **slip))
    report = check(LayerNetwork.from_dict(p.spec()),
                   solution.loads("\n".join(f"{n} = {v:.{k}f}" for n, v in sheet.items())), round_to=k)
    wrong = [r for r in report.results if r.verdict == "wrong"]
    assert wrong and all(r.mistake is not None for r in wrong), [(r.name, r.given) for r in wrong if r.mistake is None]
    assert sum(r.mistake == key for r in wrong) > len(wrong) / 2
    assert any(r.verdict == "follows" for r in report.results)


def test_explain_round_shows_the_key_check_round_marks(tmp_path) -> None:
    """`explain --round 3` on a layer-table network: the values of the hand-rounded key (the replaying student's)."""
    import json

    from stepgrad.api import Display, StepOptions, explain_document

    path = tmp_path / "strided.json"
    path.write_text(json.dumps(STRIDED))
    shown = json.loads(explain_document(str(path), fmt="json", display=Display(digits=9), step=StepOptions(round_to=3)))
    _, values = student(LayerNetwork.from_dict(STRIDED), 3)
    found = {s["name"]: s["value"] for section in shown["sections"] for s in section["steps"]}
    assert found and all(found[n] == pytest.approx(values[n], abs=1e-12) for n in found), \
        {n: (found[n], values[n]) for n in found if found[n] != pytest.approx(values[n], abs=1e-12)}
